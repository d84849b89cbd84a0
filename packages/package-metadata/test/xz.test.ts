import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MalformedFile } from '../src/bounded-file.ts';
import { xzDecompress } from '../src/xz.ts';

const xz = (data: Buffer, level: string) =>
  execFileSync('xz', ['-z', '-c', level, '--format=xz'], { input: data, maxBuffer: 64 * 1024 * 1024 });

/** Text with repeats at many distances (matches, reps, long lengths) plus incompressible runs (stored chunks). */
function mixedData(): Buffer {
  const words = ['Package', 'Version', 'Depends', 'libc6', 'amd64', '(>= 2.34)', '\n', ' ', 'control', 'x'];
  const parts: Buffer[] = [];
  let seed = 7;
  for (let i = 0; i < 40_000; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    parts.push(Buffer.from(words[seed % words.length]!));
    if (i % 5000 === 0) parts.push(randomBytes(3000));
  }
  return Buffer.concat(parts);
}

describe('xz', () => {
  it.each(['-0', '-6', '-9e'])('decodes what xz %s writes', (level) => {
    const data = mixedData();
    expect(xzDecompress(xz(data, level), 16 * 1024 * 1024).equals(data)).toBe(true);
  });

  it('stops at the output bound', () => {
    const bomb = xz(Buffer.alloc(4 * 1024 * 1024), '-6');
    expect(() => xzDecompress(bomb, 1024 * 1024)).toThrow(MalformedFile);
  });

  it('truncated or corrupted streams throw MalformedFile only', () => {
    const data = mixedData();
    const compressed = xz(data, '-6');
    for (let length = 0; length < compressed.length; length += Math.max(1, Math.floor(compressed.length / 200))) {
      // A cut in the index or footer after the block still yields the block, whole: nothing else is acceptable.
      try {
        expect(xzDecompress(compressed.subarray(0, length), 16 * 1024 * 1024).equals(data)).toBe(true);
      } catch (error) {
        expect(error).toBeInstanceOf(MalformedFile);
      }
    }
    for (let i = 0; i < 200; i++) {
      const corrupted = Buffer.from(compressed);
      const at = 12 + ((i * 7919) % (corrupted.length - 12));
      corrupted[at] = corrupted[at]! ^ 0x5a;
      try {
        xzDecompress(corrupted, 16 * 1024 * 1024);
      } catch (error) {
        expect(error).toBeInstanceOf(MalformedFile);
      }
    }
  });
});
