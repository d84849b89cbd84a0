/**
 * Batches a command's output per stream into protocol chunks. The executor hands over already-decoded
 * text (a StringDecoder per stream keeps multibyte characters whole across pipe reads); here text is
 * cut into chunks of at most MAX_OUTPUT_CHUNK_BYTES of UTF-8, on character boundaries, and sent one at
 * a time so the server sees each stream's seq in order.
 */
import { MAX_OUTPUT_CHUNK_BYTES, OUTPUT_RETENTION_BYTES } from '@opsconductor/contracts/agent-protocol';

export type StreamName = 'stdout' | 'stderr';
export interface OutputChunk {
  stream: StreamName;
  seq: number;
  data: string;
}

const isContinuationByte = (byte: number) => (byte & 0xc0) === 0x80;

/** Splits `text` into pieces of at most `maxBytes` UTF-8 bytes without cutting a character. */
export function splitUtf8(text: string, maxBytes: number = MAX_OUTPUT_CHUNK_BYTES): string[] {
  if (text === '') return [];
  if (maxBytes < 4) throw new RangeError('maxBytes must fit the longest UTF-8 character (4 bytes)');
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return [text];
  const pieces: string[] = [];
  let start = 0;
  while (start < buf.length) {
    let end = Math.min(start + maxBytes, buf.length);
    // Back off to the first byte of the character that would be cut.
    while (end < buf.length && end > start && isContinuationByte(buf[end]!)) end--;
    pieces.push(buf.toString('utf8', start, end));
    start = end;
  }
  return pieces;
}

export interface OutputStreamOptions {
  stream: StreamName;
  /** Delivers one chunk; resolves once it was delivered or given up on. Must not reject. */
  send: (chunk: OutputChunk) => Promise<void>;
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
  private pending = '';
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

  write(text: string): void {
    if (this.closed || text === '') return;
    this.pending += text;
    this.pendingBytes += Buffer.byteLength(text, 'utf8');
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

  private trim(): void {
    const buf = Buffer.from(this.pending, 'utf8');
    let cut = buf.length - this.maxPendingBytes;
    while (cut < buf.length && isContinuationByte(buf[cut]!)) cut++;
    this.droppedBytes += cut;
    this.pending = buf.toString('utf8', cut);
    this.pendingBytes = buf.length - cut;
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.draining || this.pending === '') return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    // Writes that arrive while a chunk is in flight accumulate in `pending` and go out as one batch.
    while (this.pending !== '') {
      let text = this.pending;
      this.pending = '';
      this.pendingBytes = 0;
      if (this.droppedBytes > 0) {
        text = `[opsconductor-agent: ${this.droppedBytes} bytes of earlier output were dropped because the server could not keep up]\n${text}`;
        this.droppedBytes = 0;
      }
      for (const data of splitUtf8(text, this.maxChunkBytes)) {
        await this.options.send({ stream: this.options.stream, seq: this.seq++, data });
      }
    }
  }
}
