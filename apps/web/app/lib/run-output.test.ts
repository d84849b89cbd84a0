import { describe, expect, it } from 'vitest';
import { OUTPUT_LIMIT_CHARS, appendChunks, byStep, compareChunkIds, deviceStepOutput, stepOutputKey, visibleControls } from './run-output';

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

describe('output of a job run, by step', () => {
  const steps = [{ name: 'greet' }, { name: 'check' }, { name: 'report' }];
  const output = appendChunks(
    {},
    [
      { deviceId: dev, step: 0, stream: 'stdout', data: 'hello' },
      { deviceId: dev, step: 1, stream: 'stdout', data: 'optional fails\n' },
      { deviceId: dev, step: 1, stream: 'stderr', data: 'oops\n' },
      { deviceId: dev, step: 2, stream: 'stdout', data: 'report\n' },
      { deviceId: 'other', step: 0, stream: 'stdout', data: 'not mine\n' },
    ],
    byStep,
  );

  it('keeps each step apart', () => {
    expect(output[stepOutputKey(dev, 1)]?.stdout.text).toBe('optional fails\n');
    expect(deviceStepOutput(output, dev, steps, 1)).toEqual({
      stdout: { text: 'optional fails\n', trimmed: false },
      stderr: { text: 'oops\n', trimmed: false },
    });
    expect(deviceStepOutput(output, dev, steps, 2).stderr.text).toBe('');
  });

  it('shows every step in order under a heading, each starting on a line of its own', () => {
    const all = deviceStepOutput(output, dev, steps, 'all');
    expect(all.stdout.text).toBe('── Step 1: greet ──\nhello\n── Step 2: check ──\noptional fails\n── Step 3: report ──\nreport\n');
    expect(all.stderr.text).toBe('── Step 2: check ──\noops\n');
    expect(deviceStepOutput(output, 'nobody', steps, 'all').stdout.text).toBe('');
  });

  it('puts output of no step first, without a heading', () => {
    const more = appendChunks(output, [{ deviceId: dev, step: null, stream: 'stdout', data: 'before' }], byStep);
    expect(deviceStepOutput(more, dev, steps, 'all').stdout.text.startsWith('before\n── Step 1: greet ──\n')).toBe(true);
  });
});
