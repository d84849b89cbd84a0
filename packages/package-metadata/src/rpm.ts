import { type BoundedFile, MalformedFile } from './bounded-file.ts';
import { cpuArchitecture, MAX_DEPENDENCIES, storableText, storableVersion } from './text.ts';
import type { PackageMetadata } from './types.ts';

const LEAD_SIZE = 96;
const HEADER_MAGIC = 0x8eade801;
/** Real headers hold a few thousand entries and well under a MiB of data; anything bigger is hostile. */
const MAX_INDEX_ENTRIES = 65_536;
const MAX_HEADER_DATA = 16 * 1024 * 1024;

const TAG = {
  name: 1000,
  version: 1001,
  release: 1002,
  epoch: 1003,
  summary: 1004,
  vendor: 1011,
  packager: 1015,
  arch: 1022,
  requireName: 1049,
} as const;
const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;

interface RpmHeader {
  entries: Map<number, { type: number; offset: number; count: number }>;
  data: Buffer;
  /** Where the header (index + data) ends in the file. */
  end: number;
}

async function readHeader(file: BoundedFile, at: number, readData: boolean): Promise<RpmHeader> {
  const intro = await file.read(at, 16);
  if (intro.length < 16 || intro.readUInt32BE(0) !== HEADER_MAGIC) throw new MalformedFile(`no RPM header at offset ${at}`);
  const indexCount = intro.readUInt32BE(8);
  const dataSize = intro.readUInt32BE(12);
  if (indexCount > MAX_INDEX_ENTRIES || dataSize > MAX_HEADER_DATA) throw new MalformedFile('RPM header too large');
  const end = at + 16 + indexCount * 16 + dataSize;
  const entries = new Map<number, { type: number; offset: number; count: number }>();
  if (!readData) return { entries, data: Buffer.alloc(0), end };
  const index = await file.read(at + 16, indexCount * 16);
  const data = await file.read(at + 16 + indexCount * 16, dataSize);
  if (index.length < indexCount * 16) throw new MalformedFile('RPM header index truncated');
  // Cut inside the data store: its strings would be missing without a word (a name past the cut reads as none).
  if (data.length < dataSize) throw new MalformedFile('RPM header data truncated');
  for (let i = 0; i < indexCount; i++) {
    const tag = index.readUInt32BE(i * 16);
    if (!entries.has(tag))
      entries.set(tag, {
        type: index.readUInt32BE(i * 16 + 4),
        offset: index.readUInt32BE(i * 16 + 8),
        count: index.readUInt32BE(i * 16 + 12),
      });
  }
  return { entries, data, end };
}

/** NUL-terminated strings starting at the entry's offset, at most `limit` of them, each ending inside the data store. */
function strings(header: RpmHeader, tag: number, limit: number): string[] {
  const entry = header.entries.get(tag);
  if (!entry || ![TYPE_STRING, TYPE_STRING_ARRAY, TYPE_I18NSTRING].includes(entry.type)) return [];
  const out: string[] = [];
  let at = entry.offset;
  const count = entry.type === TYPE_STRING ? 1 : Math.min(entry.count, limit);
  for (let i = 0; i < count && at < header.data.length; i++) {
    const nul = header.data.indexOf(0, at);
    if (nul < 0) break;
    out.push(header.data.toString('utf8', at, nul));
    at = nul + 1;
  }
  return out;
}

function int32(header: RpmHeader, tag: number): number | undefined {
  const entry = header.entries.get(tag);
  if (!entry || entry.type !== TYPE_INT32 || entry.count < 1 || entry.offset + 4 > header.data.length) return undefined;
  return header.data.readUInt32BE(entry.offset);
}

export async function readRpm(file: BoundedFile, result: PackageMetadata): Promise<void> {
  result.platform = 'linux';
  // The signature header's data is padded to a multiple of 8; the main header follows.
  const signature = await readHeader(file, LEAD_SIZE, false);
  const main = await readHeader(file, signature.end + ((8 - (signature.end % 8)) % 8), true);
  const first = (tag: number) => storableText(strings(main, tag, 1)[0]);
  const name = first(TAG.name);
  result.packageName = name;
  result.name = name;
  result.description = first(TAG.summary);
  result.vendor = first(TAG.vendor) ?? first(TAG.packager);
  const version = first(TAG.version);
  const release = first(TAG.release);
  const epoch = int32(main, TAG.epoch);
  if (version !== undefined)
    result.version = storableVersion(`${epoch !== undefined ? `${epoch}:` : ''}${version}${release ? `-${release}` : ''}`, result.warnings);
  const arch = first(TAG.arch);
  result.architecture = cpuArchitecture(arch);
  // rpmlib(...) entries are rpm's own feature flags, not packages anyone installs.
  const requires = strings(main, TAG.requireName, MAX_DEPENDENCIES * 4)
    .filter((r) => !r.startsWith('rpmlib('))
    .map((r) => storableText(r))
    .filter((r): r is string => r !== undefined);
  const unique = [...new Set(requires)].slice(0, MAX_DEPENDENCIES);
  if (unique.length > 0) result.dependencies = unique;
}
