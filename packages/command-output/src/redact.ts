/**
 * Keeps secret values out of a command's output. A command runs with secrets in its environment
 * (`secrets` of shell and script payloads); whatever it prints of them is replaced by `[redacted]` where it
 * runs (on the device, or in the API's relay for an agentless target), before the bytes reach the server.
 *
 * Matching works on bytes (each secret as UTF-8) and across the pipe's reads: the bytes at the end of a
 * write that could still be the start of a secret are held back until the next write shows whether they
 * are, or until `end()`. That is never more than the longest secret's length − 1 bytes, and nothing at all
 * when the end of the data cannot begin a secret. Every occurrence of every secret is covered: where
 * occurrences overlap (one secret inside or a prefix of another, `ababa` for `aba`), the whole stretch
 * they cover becomes one `[redacted]`. Each secret is matched with its own
 * Knuth–Morris–Pratt automaton, so the cost is linear in the output for any secrets.
 */
import type { StreamName } from './output.ts';

export const REDACTED = '[redacted]';
const MARKER = Buffer.from(REDACTED, 'utf8');
const EMPTY = Buffer.alloc(0);

/** Stream offsets [start, end) of the bytes one or more overlapping occurrences of a secret cover. */
interface Occurrence {
  start: number;
  end: number;
}

interface Pattern {
  bytes: Buffer;
  /** fail[i]: length of the longest proper prefix of bytes[0..i] that is also its suffix. */
  fail: Int32Array;
  /** Bytes of the secret matched by the end of the data seen so far. */
  matched: number;
  /** Its latest occurrence while not yet settled: an overlapping next one extends it (`aaaa…` for `aa`). */
  last: Occurrence | undefined;
}

function pattern(bytes: Buffer): Pattern {
  const fail = new Int32Array(bytes.length);
  for (let i = 1, k = 0; i < bytes.length; i++) {
    while (k > 0 && bytes[i] !== bytes[k]) k = fail[k - 1]!;
    if (bytes[i] === bytes[k]) k++;
    fail[i] = k;
  }
  return { bytes, fail, matched: 0, last: undefined };
}

/** Redacts the secrets from one stream of bytes. */
export class SecretRedactor {
  private readonly patterns: Pattern[];
  /** Bytes not yet passed on; they start at stream offset `heldAt`. */
  private held: Buffer = EMPTY;
  private heldAt = 0;
  /** Bytes written so far. */
  private seen = 0;
  /** End (stream offset) of the stretch the last `[redacted]` stands for. */
  private coveredTo = 0;
  /** Occurrences found but not yet settled. */
  private found: Occurrence[] = [];

  /** Empty values are left out (there is nothing to hide in them). */
  constructor(secrets: Iterable<string>) {
    const distinct = new Set([...secrets].filter((s) => s.length > 0));
    this.patterns = [...distinct].map((s) => pattern(Buffer.from(s, 'utf8')));
  }

  /** Whether there is anything to redact; without, `write` returns its input unchanged. */
  get active(): boolean {
    return this.patterns.length > 0;
  }

  /** Takes the next bytes of the stream; returns those that can be passed on now, redacted. */
  write(data: Buffer): Buffer {
    if (!this.active) return data;
    if (data.length === 0) return EMPTY;
    const start = this.seen;
    for (const p of this.patterns) {
      const { bytes, fail } = p;
      const first = bytes[0]!;
      let k = p.matched;
      for (let i = 0; i < data.length; i++) {
        if (k === 0) {
          // Nothing matched: skip to the next byte that can begin the secret (memchr, not this loop).
          i = data.indexOf(first, i);
          if (i < 0) break;
        }
        const byte = data[i];
        while (k > 0 && bytes[k] !== byte) k = fail[k - 1]!;
        if (bytes[k] === byte) k++;
        if (k === bytes.length) {
          const end = start + i + 1;
          if (p.last && end - k < p.last.end) p.last.end = end;
          else this.found.push((p.last = { start: end - k, end }));
          k = fail[k - 1]!;
        }
      }
      p.matched = k;
    }
    this.seen += data.length;
    const buf = this.held.length > 0 ? Buffer.concat([this.held, data]) : data;
    // No secret can begin before the longest partial match at the end: those bytes are settled.
    const partial = Math.max(...this.patterns.map((p) => p.matched));
    return this.settle(buf, this.seen - partial);
  }

  /** The end of the stream: passes on what was held back. A later write starts afresh. */
  end(): Buffer {
    if (!this.active) return EMPTY;
    for (const p of this.patterns) p.matched = 0;
    return this.settle(this.held, this.seen);
  }

  /** Passes on the bytes of `buf` (starting at stream offset heldAt) before stream offset `until`. */
  private settle(buf: Buffer, until: number): Buffer {
    const base = this.heldAt;
    const out: Buffer[] = [];
    let from = base;
    const literal = (to: number) => {
      const begin = Math.max(from, this.coveredTo);
      if (to > begin) out.push(buf.subarray(begin - base, to - base));
    };
    const later: Occurrence[] = [];
    this.found.sort((a, b) => a.start - b.start);
    for (const occurrence of this.found) {
      const { start, end } = occurrence;
      if (start >= until) {
        later.push(occurrence);
        continue;
      }
      if (start >= this.coveredTo) {
        literal(start);
        out.push(MARKER);
        from = start;
      }
      this.coveredTo = Math.max(this.coveredTo, end);
    }
    literal(until);
    this.found = later;
    // A settled occurrence can no longer grow: a later overlapping one is found anew (and merges by coveredTo).
    for (const p of this.patterns) if (p.last && p.last.start < until) p.last = undefined;
    // A copy: a view would keep the whole chunk it was cut from alive.
    this.held = until - base < buf.length ? Buffer.from(buf.subarray(until - base)) : EMPTY;
    this.heldAt = until;
    if (out.length === 1) return out[0]!;
    return out.length === 0 ? EMPTY : Buffer.concat(out);
  }
}

/**
 * A command's output sink with the secrets redacted from each stream; `end()` passes on what the
 * streams still hold back and must be called once the process's pipes are closed.
 */
export function redactOutput(
  secrets: Iterable<string>,
  sink: (stream: StreamName, data: Buffer) => void,
): { output: (stream: StreamName, data: Buffer) => void; end: () => void } {
  const list = [...secrets];
  const streams = { stdout: new SecretRedactor(list), stderr: new SecretRedactor(list) };
  const pass = (stream: StreamName, data: Buffer) => {
    if (data.length > 0) sink(stream, data);
  };
  return {
    output: (stream, data) => pass(stream, streams[stream].write(data)),
    end: () => {
      for (const stream of ['stdout', 'stderr'] as const) pass(stream, streams[stream].end());
    },
  };
}
