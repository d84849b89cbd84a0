import { describe, expect, it, vi } from 'vitest';
import { MAX_OUTPUT_CHUNK_BYTES } from '@opsconductor/contracts/agent-protocol';
import { OutputStream, splitUtf8, type OutputChunk } from '../src/output.ts';
import { waitFor } from './support/util.ts';

vi.setConfig({ testTimeout: 30_000 });

describe('splitUtf8', () => {
  it('never cuts a character and never exceeds the byte limit', () => {
    const text = 'a€😀ßz'.repeat(1000); // 1, 3, 4, 2, 1 bytes
    for (const max of [4, 5, 7, 64, 1000]) {
      const pieces = splitUtf8(text, max);
      expect(pieces.join('')).toBe(text);
      for (const piece of pieces) {
        expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(max);
        expect(piece.length).toBeGreaterThan(0);
        expect(piece).not.toContain('\uFFFD');
      }
    }
  });

  it('uses the protocol limit by default and fills chunks to it', () => {
    const text = '😀'.repeat(MAX_OUTPUT_CHUNK_BYTES); // 4 × the limit in bytes
    const pieces = splitUtf8(text);
    expect(pieces).toHaveLength(4);
    for (const piece of pieces) expect(Buffer.byteLength(piece)).toBe(MAX_OUTPUT_CHUNK_BYTES);
  });

  it('returns nothing for empty text and the text itself when it fits', () => {
    expect(splitUtf8('')).toEqual([]);
    expect(splitUtf8('héllo')).toEqual(['héllo']);
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
    await waitFor(() => sent.length === 1, 'the timed flush');
    expect(sent[0]).toEqual({ stream: 'stdout', seq: 0, data: 'abc' });
  });

  it('flushes at once when the byte threshold is reached', async () => {
    const { stream, sent } = collect({ flushIntervalMs: 60_000, flushBytes: 10 });
    stream.write('0123456789');
    await waitFor(() => sent.length === 1, 'the size-triggered flush');
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
});
