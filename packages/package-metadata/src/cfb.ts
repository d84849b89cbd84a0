import { type BoundedFile, MalformedFile } from './bounded-file.ts';

/** A minimal OLE Compound File reader (MS-CFB): FAT, MiniFAT, directory, streams. Every chain is cycle- and length-checked. */
const END_OF_CHAIN = 0xfffffffe;
const MAX_REGULAR_SECTOR = 0xfffffffa;
const MAX_FAT_SECTORS = 4096;
const MAX_DIRECTORY_ENTRIES = 65_536;
export const MAX_STREAM_SIZE = 8 * 1024 * 1024;

export interface CfbEntry {
  name: string;
  type: number;
  start: number;
  size: number;
}

export class CompoundFile {
  private constructor(
    private readonly file: BoundedFile,
    private readonly sectorSize: number,
    private readonly miniSectorSize: number,
    private readonly miniCutoff: number,
    private readonly fat: Uint32Array,
    private miniFat: Uint32Array,
    private miniStream: Buffer,
    readonly entries: CfbEntry[],
  ) {}

  static async open(file: BoundedFile): Promise<CompoundFile> {
    const header = await file.read(0, 512);
    if (header.length < 512) throw new MalformedFile('CFB header truncated');
    const sectorShift = header.readUInt16LE(0x1e);
    const miniShift = header.readUInt16LE(0x20);
    if (sectorShift !== 9 && sectorShift !== 12) throw new MalformedFile(`CFB sector shift ${sectorShift}`);
    if (miniShift !== 6) throw new MalformedFile(`CFB mini sector shift ${miniShift}`);
    const sectorSize = 1 << sectorShift;
    const perSector = sectorSize / 4;
    const fatCount = header.readUInt32LE(0x2c);
    if (fatCount > MAX_FAT_SECTORS) throw new MalformedFile('CFB FAT too large');
    // The DIFAT: 109 FAT sector numbers in the header, then a chain of DIFAT sectors.
    const fatSectors: number[] = [];
    for (let i = 0; i < 109 && fatSectors.length < fatCount; i++) fatSectors.push(header.readUInt32LE(0x4c + i * 4));
    let difat = header.readUInt32LE(0x44);
    const seenDifat = new Set<number>();
    while (fatSectors.length < fatCount && difat <= MAX_REGULAR_SECTOR) {
      if (seenDifat.has(difat)) throw new MalformedFile('CFB DIFAT cycle');
      seenDifat.add(difat);
      const sector = await file.read((difat + 1) * sectorSize, sectorSize);
      if (sector.length < sectorSize) throw new MalformedFile('CFB DIFAT sector out of range');
      for (let i = 0; i < perSector - 1 && fatSectors.length < fatCount; i++) fatSectors.push(sector.readUInt32LE(i * 4));
      difat = sector.readUInt32LE(sectorSize - 4);
    }
    const fat = new Uint32Array(fatSectors.length * perSector);
    for (const [index, sectorNumber] of fatSectors.entries()) {
      const sector = await file.read((sectorNumber + 1) * sectorSize, sectorSize);
      if (sector.length < sectorSize) throw new MalformedFile('CFB FAT sector out of range');
      for (let i = 0; i < perSector; i++) fat[index * perSector + i] = sector.readUInt32LE(i * 4);
    }
    const cf = new CompoundFile(file, sectorSize, 64, header.readUInt32LE(0x38), fat, new Uint32Array(0), Buffer.alloc(0), []);
    const directory = await cf.readChain(header.readUInt32LE(0x30), MAX_DIRECTORY_ENTRIES * 128);
    for (let at = 0; at + 128 <= directory.length; at += 128) {
      const nameLength = Math.min(directory.readUInt16LE(at + 64), 64);
      const name = directory.toString('utf16le', at, at + Math.max(0, nameLength - 2));
      cf.entries.push({ name, type: directory[at + 66]!, start: directory.readUInt32LE(at + 116), size: directory.readUInt32LE(at + 120) });
    }
    const root = cf.entries[0];
    if (!root || root.type !== 5) throw new MalformedFile('CFB has no root entry');
    cf.miniStream = await cf.readChain(root.start, Math.min(root.size, MAX_STREAM_SIZE));
    cf.miniFat = toUint32(await cf.readChain(header.readUInt32LE(0x3c), Math.min(header.readUInt32LE(0x40), MAX_FAT_SECTORS) * sectorSize));
    return cf;
  }

  /** A sector chain's bytes, at most `limit`; a cycle or an out-of-range sector is malformed. */
  private async readChain(start: number, limit: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let total = 0;
    const seen = new Set<number>();
    for (let sector = start; sector <= MAX_REGULAR_SECTOR && total < limit; sector = this.fat[sector] ?? END_OF_CHAIN) {
      if (seen.has(sector)) throw new MalformedFile('CFB FAT cycle');
      seen.add(sector);
      const data = await this.file.read((sector + 1) * this.sectorSize, this.sectorSize);
      if (data.length < this.sectorSize) throw new MalformedFile('CFB sector out of range');
      parts.push(data);
      total += data.length;
    }
    return Buffer.concat(parts).subarray(0, limit);
  }

  async readStream(entry: CfbEntry): Promise<Buffer> {
    if (entry.size > MAX_STREAM_SIZE) throw new MalformedFile(`CFB stream ${entry.size} bytes is too large`);
    if (entry.size >= this.miniCutoff) return this.readChain(entry.start, entry.size);
    const parts: Buffer[] = [];
    let total = 0;
    const seen = new Set<number>();
    for (let sector = entry.start; sector <= MAX_REGULAR_SECTOR && total < entry.size; sector = this.miniFat[sector] ?? END_OF_CHAIN) {
      if (seen.has(sector)) throw new MalformedFile('CFB MiniFAT cycle');
      seen.add(sector);
      const at = sector * this.miniSectorSize;
      if (at + this.miniSectorSize > this.miniStream.length) throw new MalformedFile('CFB mini sector out of range');
      parts.push(this.miniStream.subarray(at, at + this.miniSectorSize));
      total += this.miniSectorSize;
    }
    return Buffer.concat(parts).subarray(0, entry.size);
  }
}

function toUint32(buffer: Buffer): Uint32Array {
  const out = new Uint32Array(Math.floor(buffer.length / 4));
  for (let i = 0; i < out.length; i++) out[i] = buffer.readUInt32LE(i * 4);
  return out;
}
