/**
 * Batches a command's output per stream into protocol chunks. The executor hands over the bytes the
 * process wrote; here they are cut into chunks of at most MAX_OUTPUT_CHUNK_BYTES, on UTF-8 character
 * boundaries where the bytes are UTF-8 (an incomplete character at the end waits for the rest), and sent
 * one at a time so the server sees each stream's seq in order. A chunk that is valid UTF-8 goes as text;
 * one that is not goes as base64 when the server accepts it, so the server stores exactly what the
 * process wrote (an older server gets the text with U+FFFD for the bytes that are not UTF-8).
 */
import { isUtf8 } from 'node:buffer';
import { MAX_OUTPUT_CHUNK_BYTES, OUTPUT_RETENTION_BYTES, type OutputRequestBody } from '@opsconductor/contracts/agent-protocol';

export type StreamName = 'stdout' | 'stderr';
export type OutputChunk = OutputRequestBody & { stream: StreamName };

const isContinuationByte = (byte: number) => (byte & 0xc0) === 0x80;

/** Length of the UTF-8 sequence a lead byte starts (1 for ASCII and for bytes that cannot lead one). */
function sequenceLength(lead: number): number {
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  if (lead >= 0xe0) return lead <= 0xef ? 3 : 1;
  if (lead >= 0xc2) return 2;
  return 1;
}

/** Where a UTF-8 character that `buf` ends in the middle of starts, or buf.length when it ends on a boundary. */
export function incompleteTailStart(buf: Buffer): number {
  for (let i = buf.length - 1; i >= 0 && i >= buf.length - 3; i--) {
    if (isContinuationByte(buf[i]!)) continue;
    return buf.length - i < sequenceLength(buf[i]!) ? i : buf.length;
  }
  return buf.length;
}

/**
 * Splits bytes into pieces of at most `maxBytes`, backing off over at most 3 continuation bytes so that
 * UTF-8 characters are not cut (bytes that are not UTF-8 are cut anywhere).
 */
export function splitOutput(buf: Buffer, maxBytes: number = MAX_OUTPUT_CHUNK_BYTES): Buffer[] {
  if (maxBytes < 4) throw new RangeError('maxBytes must fit the longest UTF-8 character (4 bytes)');
  const pieces: Buffer[] = [];
  let start = 0;
  while (start < buf.length) {
    let end = Math.min(start + maxBytes, buf.length);
    let backedOff = 0;
    while (end < buf.length && backedOff < 3 && isContinuationByte(buf[end]!)) {
      end--;
      backedOff++;
    }
    // Still inside a run of continuation bytes: not UTF-8 here, so any cut is as good as another.
    if (end < buf.length && isContinuationByte(buf[end]!)) end = start + maxBytes;
    pieces.push(buf.subarray(start, end));
    start = end;
  }
  return pieces;
}

/** The protocol form of a piece of output: text when it is UTF-8, else base64 (or lossy text for an old server). */
export function encodeOutput(piece: Buffer, base64Accepted: boolean): Pick<OutputRequestBody, 'data' | 'encoding'> {
  if (isUtf8(piece) || !base64Accepted) return { data: piece.toString('utf8') };
  return { encoding: 'base64', data: piece.toString('base64') };
}

export interface OutputStreamOptions {
  stream: StreamName;
  /** Delivers one chunk; resolves once it was delivered or given up on. Must not reject. */
  send: (chunk: OutputChunk) => Promise<void>;
  /** Whether the server accepts `encoding: 'base64'` (it says so at check-in); read for each chunk. */
  base64Accepted?: () => boolean;
  flushIntervalMs?: number;
  flushBytes?: number;
  maxChunkBytes?: number;
  /**
   * Unsent output kept while the server is slow or unreachable. The server only retains the newest
   * OUTPUT_RETENTION_BYTES anyway, so older unsent output is dropped (with a notice) rather than
   * letting a chatty command grow the agent's memory without bound.
   */
  maxPendingBytes?: number;
}

export class OutputStream {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private droppedBytes = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private closed = false;
  private readonly flushIntervalMs: number;
  private readonly flushBytes: number;
  private readonly maxChunkBytes: number;
  private readonly maxPendingBytes: number;

  constructor(private readonly options: OutputStreamOptions) {
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.flushBytes = options.flushBytes ?? 32 * 1024;
    this.maxChunkBytes = options.maxChunkBytes ?? MAX_OUTPUT_CHUNK_BYTES;
    this.maxPendingBytes = options.maxPendingBytes ?? OUTPUT_RETENTION_BYTES;
  }

  /** Number of chunks handed to `send` so far. */
  get chunksSent(): number {
    return this.seq;
  }

  write(data: Buffer | string): void {
    if (this.closed || data.length === 0) return;
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    // Trim only at twice the cap so a flood costs one O(n) copy per cap's worth of output, not per write.
    if (this.pendingBytes > 2 * this.maxPendingBytes) this.trim();
    if (this.pendingBytes >= this.flushBytes) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.flushIntervalMs);
  }

  /** Sends everything still buffered and resolves when the last chunk is delivered (or given up). */
  async close(): Promise<void> {
    this.closed = true;
    this.kick();
    while (this.draining) await this.draining;
  }

  private takePending(): Buffer {
    const all = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return all;
  }

  private trim(): void {
    const buf = this.takePending();
    let cut = buf.length - this.maxPendingBytes;
    for (let i = 0; i < 3 && cut < buf.length && isContinuationByte(buf[cut]!); i++) cut++;
    this.droppedBytes += cut;
    this.pending = [buf.subarray(cut)];
    this.pendingBytes = buf.length - cut;
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.draining || this.pendingBytes === 0) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    // Writes that arrive while a chunk is in flight accumulate in `pending` and go out as one batch.
    while (this.pendingBytes > 0) {
      let bytes = this.takePending();
      // An incomplete character at the end waits for its remaining bytes (or for close()).
      const tail = this.closed ? bytes.length : incompleteTailStart(bytes);
      if (tail < bytes.length) {
        this.pending = [bytes.subarray(tail)];
        this.pendingBytes = bytes.length - tail;
        bytes = bytes.subarray(0, tail);
        if (bytes.length === 0) return;
      }
      if (this.droppedBytes > 0) {
        const notice = `[opsconductor-agent: ${this.droppedBytes} bytes of earlier output were dropped because the server could not keep up]\n`;
        bytes = Buffer.concat([Buffer.from(notice, 'utf8'), bytes]);
        this.droppedBytes = 0;
      }
      for (const piece of splitOutput(bytes, this.maxChunkBytes)) {
        const encoded = encodeOutput(piece, this.options.base64Accepted?.() ?? false);
        await this.options.send({ stream: this.options.stream, seq: this.seq++, ...encoded });
      }
    }
  }
}
