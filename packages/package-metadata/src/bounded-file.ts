import type { FileHandle } from 'node:fs/promises';

/** Random access to the uploaded file: every read is at an offset and capped, so a multi-GB upload never lands in memory. */
export class BoundedFile {
  private bytesRead = 0;
  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly maxBytesRead: number,
  ) {}

  /** Up to `length` bytes at `offset` (fewer at the end of the file); throws BudgetExceeded past the read budget. */
  async read(offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= this.size || length <= 0) return Buffer.alloc(0);
    const wanted = Math.min(length, this.size - offset);
    if (this.bytesRead + wanted > this.maxBytesRead) throw new BudgetExceeded(this.maxBytesRead);
    this.bytesRead += wanted;
    const buffer = Buffer.alloc(wanted);
    const { bytesRead } = await this.handle.read(buffer, 0, wanted, offset);
    return buffer.subarray(0, bytesRead);
  }
}

/** The parser wanted to read more than the caller allowed: the result is partial, never an error. */
export class BudgetExceeded extends Error {
  constructor(limit: number) {
    super(`read budget of ${limit} bytes exhausted`);
  }
}

/** A structure in the file is not what its header says (truncated, out of range, cyclic): partial result plus warning. */
export class MalformedFile extends Error {}
