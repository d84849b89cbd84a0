/**
 * Per-device output of a run as the page holds it: stdout and stderr text, capped at 1 MiB each. The API
 * sends output as text (bytes that are not UTF-8 already shown as U+FFFD); control characters other than
 * tab, line feed and carriage return are made visible here as their Unicode control pictures (NUL → ␀,
 * ESC → ␛, DEL → ␡), so nothing the process wrote is silently invisible or mangles the page.
 */
import type { OutputChunk } from '@opsconductor/contracts/api';

export const OUTPUT_LIMIT_CHARS = 1024 * 1024;

export type StreamText = { text: string; trimmed: boolean };
export type DeviceOutput = { stdout: StreamText; stderr: StreamText };
export type RunOutput = Record<string, DeviceOutput>;

const empty = (): DeviceOutput => ({ stdout: { text: '', trimmed: false }, stderr: { text: '', trimmed: false } });

const INVISIBLE_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/** Control characters as visible control pictures (U+2400 + code; DEL is U+2421); tab, LF and CR stay. */
export function visibleControls(text: string): string {
  return text.replace(INVISIBLE_CONTROL, (c) => String.fromCharCode(c === '\u007F' ? 0x2421 : 0x2400 + c.charCodeAt(0)));
}

function append(stream: StreamText, data: string): StreamText {
  const text = stream.text + data;
  if (text.length <= OUTPUT_LIMIT_CHARS) return { text, trimmed: stream.trimmed };
  // Keep the tail, starting at a line break when there is one near the cut.
  let tail = text.slice(text.length - OUTPUT_LIMIT_CHARS);
  const nl = tail.indexOf('\n');
  if (nl !== -1 && nl < 4096) tail = tail.slice(nl + 1);
  return { text: tail, trimmed: true };
}

/** Returns a new RunOutput with the chunks appended (the input is not modified). */
export function appendChunks(output: RunOutput, chunks: ReadonlyArray<Pick<OutputChunk, 'deviceId' | 'stream' | 'data'>>): RunOutput {
  if (chunks.length === 0) return output;
  // Join each device's stream once per batch, so trimming to the limit happens once, not per chunk.
  const pieces = new Map<string, { stdout: string[]; stderr: string[] }>();
  for (const chunk of chunks) {
    let p = pieces.get(chunk.deviceId);
    if (!p) pieces.set(chunk.deviceId, (p = { stdout: [], stderr: [] }));
    p[chunk.stream].push(visibleControls(chunk.data));
  }
  const next: RunOutput = { ...output };
  for (const [deviceId, p] of pieces) {
    const current = next[deviceId] ?? empty();
    next[deviceId] = {
      stdout: p.stdout.length ? append(current.stdout, p.stdout.join('')) : current.stdout,
      stderr: p.stderr.length ? append(current.stderr, p.stderr.join('')) : current.stderr,
    };
  }
  return next;
}

/** Compares chunk ids (decimal bigints as strings) without BigInt parsing. */
export function compareChunkIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
