/**
 * A bounded .xz decoder (single LZMA2 filter, as dpkg-deb and xz(1) write by default), for control.tar.xz:
 * no pure-JS xz package without install scripts was vetted, and Node's zlib has no xz. Output stops at
 * `maxOutput`; malformed input throws MalformedFile.
 */
import { MalformedFile } from './bounded-file.ts';

class RangeDecoder {
  range = 0xffffffff;
  code = 0;
  constructor(
    private readonly input: Buffer,
    public pos: number,
  ) {
    if (this.byte() !== 0) throw new MalformedFile('xz: bad LZMA range coder start');
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.byte()) >>> 0;
  }
  private byte(): number {
    if (this.pos >= this.input.length) throw new MalformedFile('xz: truncated');
    return this.input[this.pos++]!;
  }
  private normalize() {
    if (this.range < 0x1000000) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.byte()) >>> 0;
    }
  }
  bit(probs: Uint16Array, index: number): number {
    const p = probs[index]!;
    const bound = (this.range >>> 11) * p;
    let bit: number;
    if (this.code < bound) {
      this.range = bound;
      probs[index] = p + ((2048 - p) >>> 5);
      bit = 0;
    } else {
      this.range -= bound;
      this.code -= bound;
      probs[index] = p - (p >>> 5);
      bit = 1;
    }
    this.normalize();
    return bit;
  }
  direct(count: number): number {
    let result = 0;
    for (let i = 0; i < count; i++) {
      this.range >>>= 1;
      const bit = this.code >= this.range ? 1 : 0;
      if (bit) this.code -= this.range;
      result = ((result << 1) | bit) >>> 0;
      this.normalize();
    }
    return result;
  }
  tree(probs: Uint16Array, offset: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) | this.bit(probs, offset + m);
    return m - (1 << bits);
  }
  reverseTree(probs: Uint16Array, offset: number, bits: number): number {
    let m = 1;
    let result = 0;
    for (let i = 0; i < bits; i++) {
      const bit = this.bit(probs, offset + m);
      m = (m << 1) | bit;
      result |= bit << i;
    }
    return result;
  }
}

const newProbs = (n: number) => new Uint16Array(n).fill(1024);

class LengthDecoder {
  choice = newProbs(2);
  low = newProbs(16 * 8);
  mid = newProbs(16 * 8);
  high = newProbs(256);
  decode(rc: RangeDecoder, posState: number): number {
    if (rc.bit(this.choice, 0) === 0) return rc.tree(this.low, posState * 8, 3);
    if (rc.bit(this.choice, 1) === 0) return 8 + rc.tree(this.mid, posState * 8, 3);
    return 16 + rc.tree(this.high, 0, 8);
  }
}

/** LZMA state shared across LZMA2 chunks: the output (dictionary = everything decoded, bounded) and the models. */
class LzmaDecoder {
  out: number[] = [];
  lc = 0;
  lp = 0;
  pb = 0;
  state = 0;
  reps = [0, 0, 0, 0];
  literal = newProbs(0x300);
  isMatch = newProbs(192);
  isRep = newProbs(12);
  isRep0 = newProbs(12);
  isRep1 = newProbs(12);
  isRep2 = newProbs(12);
  isRep0Long = newProbs(192);
  posSlot = newProbs(4 * 64);
  posSpecial = newProbs(115);
  align = newProbs(16);
  matchLength = new LengthDecoder();
  repLength = new LengthDecoder();
  constructor(readonly maxOutput: number) {}

  setProperties(props: number) {
    if (props >= 225) throw new MalformedFile('xz: bad LZMA properties');
    this.lc = props % 9;
    this.lp = Math.floor(props / 9) % 5;
    this.pb = Math.floor(props / 45);
    if (this.lc + this.lp > 4) throw new MalformedFile('xz: lc + lp > 4');
  }
  resetState() {
    const fresh = new LzmaDecoder(this.maxOutput);
    fresh.setProperties(this.lc + this.lp * 9 + this.pb * 45);
    fresh.literal = newProbs(0x300 << (this.lc + this.lp));
    const out = this.out;
    Object.assign(this, fresh, { out });
  }
  private put(byte: number) {
    if (this.out.length >= this.maxOutput) throw new MalformedFile(`xz: output exceeds ${this.maxOutput} bytes`);
    this.out.push(byte);
  }

  /** Decodes until `outputSize` more bytes exist. */
  decode(rc: RangeDecoder, outputSize: number) {
    const end = this.out.length + outputSize;
    const pbMask = (1 << this.pb) - 1;
    while (this.out.length < end) {
      const posState = this.out.length & pbMask;
      const s = this.state;
      if (rc.bit(this.isMatch, (s << 4) + posState) === 0) {
        const prev = this.out.length > 0 ? this.out[this.out.length - 1]! : 0;
        const lpMask = (1 << this.lp) - 1;
        const base = 0x300 * (((this.out.length & lpMask) << this.lc) + (prev >>> (8 - this.lc)));
        let symbol = 1;
        if (s >= 7) {
          let matchByte = this.out[this.out.length - this.reps[0]! - 1] ?? 0;
          while (symbol < 0x100) {
            const matchBit = (matchByte >>> 7) & 1;
            matchByte <<= 1;
            const bit = rc.bit(this.literal, base + ((1 + matchBit) << 8) + symbol);
            symbol = (symbol << 1) | bit;
            if (matchBit !== bit) break;
          }
        }
        while (symbol < 0x100) symbol = (symbol << 1) | rc.bit(this.literal, base + symbol);
        this.put(symbol - 0x100);
        this.state = s < 4 ? 0 : s < 10 ? s - 3 : s - 6;
        continue;
      }
      let length: number;
      if (rc.bit(this.isRep, s) === 1) {
        if (this.out.length === 0) throw new MalformedFile('xz: rep match at start');
        if (rc.bit(this.isRep0, s) === 0) {
          if (rc.bit(this.isRep0Long, (s << 4) + posState) === 0) {
            this.state = s < 7 ? 9 : 11;
            this.put(this.out[this.out.length - this.reps[0]! - 1]!);
            continue;
          }
        } else {
          let distance: number;
          if (rc.bit(this.isRep1, s) === 0) distance = this.reps[1]!;
          else {
            if (rc.bit(this.isRep2, s) === 0) distance = this.reps[2]!;
            else {
              distance = this.reps[3]!;
              this.reps[3] = this.reps[2]!;
            }
            this.reps[2] = this.reps[1]!;
          }
          this.reps[1] = this.reps[0]!;
          this.reps[0] = distance;
        }
        length = this.repLength.decode(rc, posState);
        this.state = s < 7 ? 8 : 11;
      } else {
        this.reps = [0, this.reps[0]!, this.reps[1]!, this.reps[2]!];
        length = this.matchLength.decode(rc, posState);
        this.state = s < 7 ? 7 : 10;
        const lenState = Math.min(length, 3);
        const slot = rc.tree(this.posSlot, lenState * 64, 6);
        let distance: number;
        if (slot < 4) distance = slot;
        else {
          const directBits = (slot >>> 1) - 1;
          distance = ((2 | (slot & 1)) << directBits) >>> 0;
          if (slot < 14) distance += rc.reverseTree(this.posSpecial, distance - slot, directBits);
          else distance = (distance + rc.direct(directBits - 4) * 16 + rc.reverseTree(this.align, 0, 4)) >>> 0;
        }
        if (distance === 0xffffffff) break;
        this.reps[0] = distance;
      }
      const distance = this.reps[0]!;
      if (distance >= this.out.length) throw new MalformedFile('xz: match distance beyond the output');
      for (let i = 0; i < length + 2 && this.out.length < end; i++) this.put(this.out[this.out.length - distance - 1]!);
    }
  }
}

/** Decompresses the first block of an .xz stream (dpkg-deb writes one). */
export function xzDecompress(input: Buffer, maxOutput: number): Buffer {
  if (input.length < 12 || input.toString('latin1', 0, 6) !== '\xfd7zXZ\x00') throw new MalformedFile('xz: bad stream header');
  let pos = 12;
  const headerSize = ((input[pos] ?? 0) + 1) * 4;
  if (headerSize === 4) throw new MalformedFile('xz: no block');
  const blockFlags = input[pos + 1] ?? 0;
  if ((blockFlags & 0x03) !== 0) throw new MalformedFile('xz: only a single LZMA2 filter is supported');
  // Filter flags follow the optional sizes; find the LZMA2 filter id 0x21 and its one-byte dictionary property.
  let at = pos + 2;
  const skipVarint = () => {
    for (let i = 0; i < 9 && at < input.length; i++) if ((input[at++]! & 0x80) === 0) return;
  };
  if (blockFlags & 0x40) skipVarint();
  if (blockFlags & 0x80) skipVarint();
  if (input[at] !== 0x21) throw new MalformedFile('xz: filter is not LZMA2');
  pos += headerSize;
  const lzma = new LzmaDecoder(maxOutput);
  for (let chunks = 0; chunks < 1_000_000; chunks++) {
    const control = input[pos];
    if (control === undefined) throw new MalformedFile('xz: truncated');
    if (control === 0) return Buffer.from(lzma.out);
    if (control === 1 || control === 2) {
      const size = ((input[pos + 1] ?? 0) << 8) + (input[pos + 2] ?? 0) + 1;
      if (pos + 3 + size > input.length) throw new MalformedFile('xz: truncated');
      if (lzma.out.length + size > maxOutput) throw new MalformedFile(`xz: output exceeds ${maxOutput} bytes`);
      for (let i = 0; i < size; i++) lzma.out.push(input[pos + 3 + i]!);
      pos += 3 + size;
      continue;
    }
    if (control < 0x80) throw new MalformedFile('xz: bad LZMA2 chunk');
    const unpacked = ((control & 0x1f) << 16) + ((input[pos + 1] ?? 0) << 8) + (input[pos + 2] ?? 0) + 1;
    const packed = ((input[pos + 3] ?? 0) << 8) + (input[pos + 4] ?? 0) + 1;
    pos += 5;
    const reset = (control >>> 5) & 3;
    if (reset >= 2) {
      lzma.setProperties(input[pos] ?? 255);
      pos++;
    }
    if (reset >= 1) lzma.resetState();
    if (pos + packed > input.length) throw new MalformedFile('xz: truncated');
    lzma.decode(new RangeDecoder(input.subarray(0, pos + packed), pos), unpacked);
    pos += packed;
  }
  throw new MalformedFile('xz: too many chunks');
}
