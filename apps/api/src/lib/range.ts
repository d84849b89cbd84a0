/**
 * HTTP Range requests on a file of known size (RFC 9110 §14): one range of bytes, which is what a resuming download
 * asks for. Several ranges in one header are answered with the whole file (the RFC allows ignoring Range).
 */
import type { ByteRange } from '../services/files.ts';

/** At most this many characters of a Range header are looked at (a longer one is not a single byte range). */
const MAX_RANGE_HEADER = 100;
const SINGLE_RANGE = /^bytes=(\d{0,16})-(\d{0,16})$/;

/**
 * The range a `Range` header asks for in a file of `size` bytes: undefined for the whole file (no header, one that
 * is not a single byte range), `'unsatisfiable'` when it starts at or past the end (answer 416).
 */
export function requestedRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header || header.length > MAX_RANGE_HEADER) return undefined;
  const m = SINGLE_RANGE.exec(header.trim());
  if (!m) return undefined;
  const [, first, last] = m as unknown as [string, string, string];
  if (first === '' && last === '') return undefined;
  // An empty file has no byte to start a range at.
  if (size === 0) return 'unsatisfiable';
  if (first === '') {
    // A suffix: the last N bytes.
    const n = Number(last);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return 'unsatisfiable';
  const end = last === '' ? size - 1 : Number(last);
  if (end < start) return undefined;
  return { start, end: Math.min(end, size - 1) };
}
