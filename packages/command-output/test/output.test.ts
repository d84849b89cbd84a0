import { describe, expect, it, vi } from 'vitest';
import { MAX_OUTPUT_CHUNK_BYTES } from '@opsconductor/contracts/agent-protocol';
import { OutputStream, encodeOutput, incompleteTailStart, splitOutput, type OutputChunk } from '../src/index.ts';

vi.setConfig({ testTimeout: 30_000 });

describe('splitOutput', () => {
  it('never cuts a UTF-8 character and never exceeds the byte limit', () => {
    const text = 'a€😀ßz'.repeat(1000); // 1, 3, 4, 2, 1 bytes
    const bytes = Buffer.from(text);
    for (const max of [4, 5, 7, 64, 1000]) {
      const pieces = splitOutput(bytes, max);
      expect(Buffer.concat(pieces).equals(bytes)).toBe(true);
      for (const piece of pieces) {
        expect(piece.length).toBeLessThanOrEqual(max);
        expect(piece.length).toBeGreaterThan(0);
        expect(piece.toString('utf8')).not.toContain('\uFFFD');
      }
    }
  });

  it('uses the protocol limit by default and fills chunks to it', () => {
    const pieces = splitOutput(Buffer.from('😀'.repeat(MAX_OUTPUT_CHUNK_BYTES))); // 4 × the limit in bytes
    expect(pieces).toHaveLength(4);
    for (const piece of pieces) expect(piece.length).toBe(MAX_OUTPUT_CHUNK_BYTES);
  });

  it('returns nothing for no bytes, the bytes themselves when they fit, and cuts bytes that are not UTF-8 anywhere', () => {
    expect(splitOutput(Buffer.alloc(0))).toEqual([]);
    expect(splitOutput(Buffer.from('héllo'))).toEqual([Buffer.from('héllo')]);
    const continuation = Buffer.alloc(10, 0x80); // no lead byte to back off to
    expect(splitOutput(continuation, 4).map((p) => p.length)).toEqual([4, 4, 2]);
  });
});

describe('incompleteTailStart and encodeOutput', () => {
  it('finds a character cut at the end, and only that', () => {
    const euro = Buffer.from('€'); // E2 82 AC
    expect(incompleteTailStart(Buffer.concat([Buffer.from('ab'), euro.subarray(0, 2)]))).toBe(2);
    expect(incompleteTailStart(Buffer.concat([Buffer.from('ab'), euro]))).toBe(5);
    expect(incompleteTailStart(Buffer.from([0x61, 0xff]))).toBe(2); // not UTF-8: nothing to wait for
    expect(incompleteTailStart(Buffer.alloc(0))).toBe(0);
  });

  it('sends UTF-8 as text, other bytes as base64 when the server takes it and as lossy text when not', () => {
    expect(encodeOutput(Buffer.from('a\0b€'), true)).toEqual({ data: 'a\0b€' });
    const raw = Buffer.from([0x61, 0xff, 0x00, 0x62]);
    expect(encodeOutput(raw, true)).toEqual({ encoding: 'base64', data: raw.toString('base64') });
    expect(encodeOutput(raw, false)).toEqual({ data: 'a\uFFFD\0b' });
  });
});

describe('OutputStream', () => {
  function collect(options: Partial<ConstructorParameters<typeof OutputStream>[0]> = {}, delayMs = 0) {
    const sent: OutputChunk[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const stream = new OutputStream({
      stream: 'stdout',
      send: async (chunk) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
        sent.push(chunk);
        inFlight--;
      },
      ...options,
    });
    return { stream, sent, maxInFlight: () => maxInFlight };
  }

  it('batches small writes until the flush interval', async () => {
    const { stream, sent } = collect({ flushIntervalMs: 100 });
    stream.write('a');
    stream.write('b');
    stream.write('c');
    expect(sent).toHaveLength(0);
    await vi.waitFor(() => expect(sent, 'the timed flush').toHaveLength(1), { timeout: 15_000, interval: 20 });
    expect(sent[0]).toEqual({ stream: 'stdout', seq: 0, data: 'abc' });
  });

  it('flushes at once when the byte threshold is reached', async () => {
    const { stream, sent } = collect({ flushIntervalMs: 60_000, flushBytes: 10 });
    stream.write('0123456789');
    await vi.waitFor(() => expect(sent, 'the size-triggered flush').toHaveLength(1), { timeout: 15_000, interval: 20 });
  });

  it('sends chunks one at a time with consecutive seq numbers, and close() drains everything', async () => {
    const { stream, sent, maxInFlight } = collect({ flushIntervalMs: 5, maxChunkBytes: 1000 }, 5);
    let expected = '';
    for (let i = 0; i < 50; i++) {
      const line = `line ${i} €\n`.repeat(40);
      expected += line;
      stream.write(line);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await stream.close();
    expect(maxInFlight()).toBe(1);
    expect(sent.map((c) => c.seq)).toEqual(sent.map((_, i) => i));
    expect(sent.map((c) => c.data).join('')).toBe(expected);
    for (const chunk of sent) expect(Buffer.byteLength(chunk.data)).toBeLessThanOrEqual(1000);
    expect(sent.every((c) => c.encoding === undefined)).toBe(true);
    stream.write('after close');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent.map((c) => c.data).join('')).toBe(expected);
  });

  it('drops the oldest unsent output beyond the cap and says so', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const sent: OutputChunk[] = [];
    const stream = new OutputStream({
      stream: 'stderr',
      flushBytes: 1,
      maxPendingBytes: 100,
      send: async (chunk) => {
        await gate; // the server is stuck
        sent.push(chunk);
      },
    });
    stream.write('first'); // in flight, held by the gate
    for (let i = 0; i < 100; i++) stream.write(`${String(i).padStart(3, '0')}-€\n`); // 7 bytes each
    release();
    await stream.close();
    const text = sent.map((c) => c.data).join('');
    expect(text.startsWith('first[opsconductor-agent: ')).toBe(true);
    expect(text).toMatch(/\d+ bytes of earlier output were dropped/);
    expect(text.endsWith('099-€\n')).toBe(true);
    expect(text).not.toContain('000-€');
    expect(text).not.toContain('\uFFFD');
  });

  it('holds an incomplete character back until its last byte arrives, and sends what is left at close', async () => {
    const { stream, sent } = collect({ flushIntervalMs: 5 });
    const euro = Buffer.from('€');
    stream.write(Buffer.concat([Buffer.from('x'), euro.subarray(0, 1)]));
    await vi.waitFor(() => expect(sent, 'the first flush').toHaveLength(1), { timeout: 15_000, interval: 20 });
    expect(sent[0]!.data).toBe('x');
    stream.write(euro.subarray(1));
    stream.write(Buffer.from([0xe2])); // never completed
    await stream.close();
    expect(sent.map((c) => c.data)).toEqual(['x', '€\uFFFD']); // an old server: lossy text
  });

  it('sends bytes that are not UTF-8 exactly, as base64, when the server accepts it', async () => {
    const { stream, sent } = collect({ flushIntervalMs: 5, base64Accepted: () => true });
    const raw = Buffer.from([0x6c, 0x31, 0x00, 0xff, 0x0a]);
    stream.write(raw);
    await stream.close();
    expect(sent).toEqual([{ stream: 'stdout', seq: 0, encoding: 'base64', data: raw.toString('base64') }]);
  });
});
