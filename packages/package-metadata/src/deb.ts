import zlib from 'node:zlib';
import { type BoundedFile, MalformedFile } from './bounded-file.ts';
import { cpuArchitecture, MAX_DEPENDENCIES, storableText, storableVersion } from './text.ts';
import type { PackageMetadata } from './types.ts';
import { xzDecompress } from './xz.ts';

const AR_MAGIC = '!<arch>\n';
const AR_HEADER_SIZE = 60;
/** control.tar is a few KiB; these caps stop a hostile member (or a decompression bomb) at a few MiB. */
const MAX_CONTROL_MEMBER = 4 * 1024 * 1024;
const MAX_CONTROL_TAR = 8 * 1024 * 1024;
const MAX_CONTROL_FILE = 1024 * 1024;
const MAX_AR_MEMBERS = 16;
const MAX_TAR_ENTRIES = 1000;

/** The control.tar member's bytes, decompressed, or undefined with a warning. */
async function controlTar(file: BoundedFile, warnings: string[]): Promise<Buffer | undefined> {
  let at = AR_MAGIC.length;
  for (let i = 0; i < MAX_AR_MEMBERS && at + AR_HEADER_SIZE <= file.size; i++) {
    const header = await file.read(at, AR_HEADER_SIZE);
    if (header.length < AR_HEADER_SIZE || header.toString('latin1', 58, 60) !== '`\n') throw new MalformedFile('bad ar member header');
    const name = header.toString('latin1', 0, 16).trim().replace(/\/$/, '');
    const sizeText = header.toString('latin1', 48, 58).trim();
    if (!/^\d{1,10}$/.test(sizeText)) throw new MalformedFile('bad ar member size');
    const size = Number(sizeText);
    const dataAt = at + AR_HEADER_SIZE;
    if (name.startsWith('control.tar')) {
      if (size > MAX_CONTROL_MEMBER) throw new MalformedFile(`${name} is larger than ${MAX_CONTROL_MEMBER} bytes`);
      const data = await file.read(dataAt, size);
      return decompress(name, data, warnings);
    }
    at = dataAt + size + (size % 2);
  }
  warnings.push('deb has no control.tar member');
  return undefined;
}

function decompress(name: string, data: Buffer, warnings: string[]): Buffer | undefined {
  const options = { maxOutputLength: MAX_CONTROL_TAR };
  try {
    if (name === 'control.tar') return data;
    if (name === 'control.tar.gz') return zlib.gunzipSync(data, options);
    if (name === 'control.tar.xz') return xzDecompress(data, MAX_CONTROL_TAR);
    if (name === 'control.tar.zst') {
      // zlib's zstd arrived in Node 22.15 / 23.8; @types/node 20 does not know it.
      const zstd = (zlib as unknown as { zstdDecompressSync?: (b: Buffer, o: object) => Buffer }).zstdDecompressSync;
      if (zstd) return zstd(data, options);
      warnings.push('control.tar.zst needs Node 22.15 or later to decompress');
      return undefined;
    }
    warnings.push(`${name}: compression not supported`);
    return undefined;
  } catch (error) {
    warnings.push(`${name} unreadable: ${(error as Error).message.slice(0, 200)}`);
    return undefined;
  }
}

/** The `control` file out of a tar (ustar or GNU), or undefined. */
function findControl(tar: Buffer): string | undefined {
  let at = 0;
  for (let i = 0; i < MAX_TAR_ENTRIES && at + 512 <= tar.length; i++) {
    const block = tar.subarray(at, at + 512);
    if (block.every((b) => b === 0)) return undefined;
    const field = (start: number, length: number) => {
      const raw = block.subarray(start, start + length);
      const nul = raw.indexOf(0);
      return raw.toString('utf8', 0, nul < 0 ? length : nul);
    };
    const sizeText = field(124, 12).trim();
    if (!/^[0-7]{1,12}$/.test(sizeText)) return undefined;
    const size = parseInt(sizeText, 8);
    const name = field(0, 100).replace(/^\.\//, '');
    const type = field(156, 1);
    if (name === 'control' && (type === '0' || type === '')) {
      if (size > MAX_CONTROL_FILE || at + 512 + size > tar.length) return undefined;
      return tar.toString('utf8', at + 512, at + 512 + size);
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** deb822 fields: `Key: value` with continuation lines starting with a blank. */
export function parseControl(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let key: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '') break;
    if ((line.startsWith(' ') || line.startsWith('\t')) && key !== undefined) {
      fields.set(key, `${fields.get(key) ?? ''}\n${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    key = line.slice(0, colon).trim().toLowerCase();
    fields.set(key, line.slice(colon + 1).trim());
  }
  return fields;
}

/** `libc6 (>= 2.34), foo | bar` → ['libc6', 'foo', 'bar']: the names, not the relations. */
function dependencyNames(depends: string): string[] {
  const names = depends
    .split(/[,|]/)
    .map((part) => storableText(part.trim().split(/[\s([<]/)[0]))
    .filter((name): name is string => name !== undefined);
  return [...new Set(names)].slice(0, MAX_DEPENDENCIES);
}

export async function readDeb(file: BoundedFile, result: PackageMetadata): Promise<void> {
  result.platform = 'linux';
  const tar = await controlTar(file, result.warnings);
  if (!tar) return;
  const control = findControl(tar);
  if (control === undefined) {
    result.warnings.push('deb control.tar has no control file');
    return;
  }
  const fields = parseControl(control);
  result.packageName = storableText(fields.get('package'));
  result.name = result.packageName;
  result.version = storableVersion(fields.get('version'), result.warnings);
  result.architecture = cpuArchitecture(fields.get('architecture'));
  result.vendor = storableText(fields.get('maintainer'));
  result.description = storableText(fields.get('description')?.split('\n')[0]);
  const depends = fields.get('depends') ?? fields.get('pre-depends');
  if (depends) {
    const names = dependencyNames(depends);
    if (names.length > 0) result.dependencies = names;
  }
}
