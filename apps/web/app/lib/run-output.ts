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
/** By device (`stepOutputKey` in a job's run). */
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

type Chunk = Pick<OutputChunk, 'deviceId' | 'stream' | 'data'> & { step?: number | null };

/** Where a job run keeps one step's output of one device (null: output of no step). */
export const stepOutputKey = (deviceId: string, step: number | null | undefined) => `${deviceId}/${step ?? '-'}`;
/** Output of a job's run is kept per device and step, so that one step's output can be shown alone. */
export const byStep = (chunk: Chunk) => stepOutputKey(chunk.deviceId, chunk.step);
const byDevice = (chunk: Chunk) => chunk.deviceId;

/**
 * Returns a new RunOutput with the chunks appended (the input is not modified): per device, or per whatever
 * `keyOf` says (`byStep` for a job's run).
 */
export function appendChunks(output: RunOutput, chunks: ReadonlyArray<Chunk>, keyOf: (chunk: Chunk) => string = byDevice): RunOutput {
  if (chunks.length === 0) return output;
  // Join each device's stream once per batch, so trimming to the limit happens once, not per chunk.
  const pieces = new Map<string, { stdout: string[]; stderr: string[] }>();
  for (const chunk of chunks) {
    const key = keyOf(chunk);
    let p = pieces.get(key);
    if (!p) pieces.set(key, (p = { stdout: [], stderr: [] }));
    p[chunk.stream].push(visibleControls(chunk.data));
  }
  const next: RunOutput = { ...output };
  for (const [key, p] of pieces) {
    const current = next[key] ?? empty();
    next[key] = {
      stdout: p.stdout.length ? append(current.stdout, p.stdout.join('')) : current.stdout,
      stderr: p.stderr.length ? append(current.stderr, p.stderr.join('')) : current.stderr,
    };
  }
  return next;
}

/**
 * One device's output of a job's run, by step (`stepOutputKey`): one step's alone, or every step's in order, each
 * headed by a line naming the step (output of no step first, without a heading).
 */
export function deviceStepOutput(
  output: RunOutput,
  deviceId: string,
  steps: ReadonlyArray<{ name: string }>,
  step: number | 'all',
): DeviceOutput {
  if (step !== 'all') return output[stepOutputKey(deviceId, step)] ?? empty();
  const parts: Array<{ heading: string | null; output: DeviceOutput }> = [];
  const loose = output[stepOutputKey(deviceId, null)];
  if (loose) parts.push({ heading: null, output: loose });
  const prefix = `${deviceId}/`;
  const indexes = Object.keys(output)
    .map((key) => (key.startsWith(prefix) ? Number(key.slice(prefix.length)) : NaN))
    .filter((n) => Number.isInteger(n))
    .sort((a, b) => a - b);
  for (const i of indexes) {
    const name = steps[i]?.name;
    parts.push({ heading: `── Step ${i + 1}${name ? `: ${name}` : ''} ──`, output: output[stepOutputKey(deviceId, i)]! });
  }
  const join = (stream: 'stdout' | 'stderr'): StreamText => {
    const shown = parts.filter((p) => p.output[stream].text.length > 0);
    // Each step's output starts on a line of its own, after its heading.
    const text = shown
      .map((p, i) => {
        const body = p.output[stream].text;
        const last = i === shown.length - 1;
        return `${p.heading ? `${p.heading}\n` : ''}${body}${last || body.endsWith('\n') ? '' : '\n'}`;
      })
      .join('');
    return { text, trimmed: shown.some((p) => p.output[stream].trimmed) };
  };
  return { stdout: join('stdout'), stderr: join('stderr') };
}

/** Compares chunk ids (decimal bigints as strings) without BigInt parsing. */
export function compareChunkIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
