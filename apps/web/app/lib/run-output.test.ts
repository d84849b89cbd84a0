import { describe, expect, it } from 'vitest';
import { OUTPUT_LIMIT_CHARS, appendChunks, compareChunkIds, visibleControls } from './run-output';

const dev = '6f1c2b1e-8a7d-4c55-9a57-0d5c7b1b6a11';

describe('appendChunks', () => {
  it('appends per device and stream without mutating its input', () => {
    const a = appendChunks({}, [{ deviceId: dev, stream: 'stdout', data: 'one\n' }]);
    const b = appendChunks(a, [
      { deviceId: dev, stream: 'stdout', data: 'two\n' },
      { deviceId: dev, stream: 'stderr', data: 'oops\n' },
    ]);
    expect(a[dev]?.stdout.text).toBe('one\n');
    expect(b[dev]?.stdout.text).toBe('one\ntwo\n');
    expect(b[dev]?.stderr.text).toBe('oops\n');
  });

  it('keeps only the last 1 MiB, cut at a line break, and says so', () => {
    const line = `${'x'.repeat(99)}\n`;
    const chunks = Array.from({ length: 12_000 }, (_, i) => ({
      deviceId: dev,
      stream: 'stdout' as const,
      data: i === 11_999 ? 'last\n' : line,
    }));
    const out = appendChunks({}, chunks)[dev]!.stdout;
    expect(out.trimmed).toBe(true);
    expect(out.text.length).toBeLessThanOrEqual(OUTPUT_LIMIT_CHARS);
    expect(out.text.startsWith('x')).toBe(true);
    expect(out.text.endsWith('last\n')).toBe(true);
  });
});

describe('control characters', () => {
  it('shows NUL, ESC, DEL and other controls as control pictures, keeping tab, line breaks and U+FFFD', () => {
    expect(visibleControls('a\0b\u001b[31mred\u007f\tx\r\n\uFFFD')).toBe('a␀b␛[31mred␡\tx\r\n\uFFFD');
    const out = appendChunks({}, [{ deviceId: dev, stream: 'stdout', data: 'line1\0line2\n' }])[dev]!.stdout;
    expect(out.text).toBe('line1␀line2\n');
  });
});

describe('compareChunkIds', () => {
  it('orders decimal bigint strings numerically', () => {
    expect(compareChunkIds('9', '10')).toBeLessThan(0);
    expect(compareChunkIds('100', '99')).toBeGreaterThan(0);
    expect(compareChunkIds('9223372036854775807', '9223372036854775806')).toBeGreaterThan(0);
    expect(compareChunkIds('42', '42')).toBe(0);
  });
});
