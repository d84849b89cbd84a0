/** Range headers of resuming downloads (lib/range.ts): one byte range, clamped to the file; anything else is the whole file. */
import { describe, expect, it } from 'vitest';
import { requestedRange } from '../src/lib/range.ts';

describe('requestedRange', () => {
  it('reads one byte range, open-ended or as a suffix, clamped to the file', () => {
    expect(requestedRange('bytes=100-', 1000)).toEqual({ start: 100, end: 999 });
    expect(requestedRange('bytes=10-19', 1000)).toEqual({ start: 10, end: 19 });
    expect(requestedRange('bytes=990-2000', 1000)).toEqual({ start: 990, end: 999 });
    expect(requestedRange('bytes=-5', 1000)).toEqual({ start: 995, end: 999 });
    expect(requestedRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
  });

  it('answers unsatisfiable for a range past the end, an empty suffix, or any range of an empty file', () => {
    expect(requestedRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(requestedRange('bytes=-0', 1000)).toBe('unsatisfiable');
    expect(requestedRange('bytes=0-', 0)).toBe('unsatisfiable');
    expect(requestedRange('bytes=-5', 0)).toBe('unsatisfiable');
  });

  it('ignores what is not a single byte range: the whole file', () => {
    for (const header of [
      undefined,
      '',
      'bytes=-',
      'bytes=20-10',
      'bytes=0-1,5-6',
      'lines=1-2',
      'bytes=1e3-',
      `bytes=${'9'.repeat(17)}-`,
      `bytes=0-${' '.repeat(200)}`,
    ]) {
      expect(requestedRange(header, 1000), String(header)).toBeUndefined();
    }
  });
});
