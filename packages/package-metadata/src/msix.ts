import zlib from 'node:zlib';
import { type BoundedFile, MalformedFile } from './bounded-file.ts';
import { cpuArchitecture, storableText, storableVersion } from './text.ts';
import type { PackageMetadata } from './types.ts';

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const MAX_CENTRAL_DIRECTORY = 8 * 1024 * 1024;
const MAX_MANIFEST = 2 * 1024 * 1024;

/** The zip's entry `wanted` (stored or deflated), at most MAX_MANIFEST bytes once inflated, or undefined. */
async function zipEntry(file: BoundedFile, wanted: string): Promise<Buffer | undefined> {
  // The end-of-central-directory record sits in the last 22 bytes plus a comment of at most 64 KiB.
  const tailAt = Math.max(0, file.size - 22 - 0xffff);
  const tail = await file.read(tailAt, file.size - tailAt);
  let eocd = -1;
  for (let at = tail.length - 22; at >= 0; at--)
    if (tail.readUInt32LE(at) === EOCD_SIGNATURE) {
      eocd = at;
      break;
    }
  if (eocd < 0) throw new MalformedFile('zip end of central directory not found');
  const size = tail.readUInt32LE(eocd + 12);
  const offset = tail.readUInt32LE(eocd + 16);
  if (size > MAX_CENTRAL_DIRECTORY) throw new MalformedFile('zip central directory too large');
  const central = await file.read(offset, size);
  for (let at = 0; at + 46 <= central.length;) {
    if (central.readUInt32LE(at) !== CENTRAL_SIGNATURE) throw new MalformedFile('bad zip central directory entry');
    const method = central.readUInt16LE(at + 10);
    const compressedSize = central.readUInt32LE(at + 20);
    const nameLength = central.readUInt16LE(at + 28);
    const next = at + 46 + nameLength + central.readUInt16LE(at + 30) + central.readUInt16LE(at + 32);
    const name = central.toString('utf8', at + 46, Math.min(at + 46 + nameLength, central.length));
    if (name === wanted) {
      const localAt = central.readUInt32LE(at + 42);
      const local = await file.read(localAt, 30);
      if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_SIGNATURE) throw new MalformedFile('bad zip local header');
      if (compressedSize > MAX_MANIFEST) throw new MalformedFile(`${wanted} too large`);
      const data = await file.read(localAt + 30 + local.readUInt16LE(26) + local.readUInt16LE(28), compressedSize);
      if (method === 0) return data;
      if (method === 8) return zlib.inflateRawSync(data, { maxOutputLength: MAX_MANIFEST });
      throw new MalformedFile(`${wanted}: zip method ${method} not supported`);
    }
    at = next;
  }
  return undefined;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** The five predefined XML entities and character references; nothing else expands (no DTD entities). */
function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref.startsWith('#x') ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code <= 0x10ffff && code > 0 ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref] ?? whole;
  });
}

/** Attributes of the first `<tag …>` element: a linear scan, no backtracking regex over the document. */
export function elementAttributes(xml: string, tag: string): Map<string, string> | undefined {
  let start = -1;
  for (let from = 0; ; from = start + 1) {
    start = xml.indexOf(`<${tag}`, from);
    if (start < 0) return undefined;
    const after = xml.charAt(start + tag.length + 1);
    if (after === ' ' || after === '\t' || after === '\n' || after === '\r' || after === '/' || after === '>') break;
  }
  const end = xml.indexOf('>', start);
  if (end < 0) return undefined;
  const attributes = new Map<string, string>();
  const body = xml.slice(start + tag.length + 1, end);
  for (let at = 0; at < body.length;) {
    const equals = body.indexOf('=', at);
    if (equals < 0) break;
    const name = body.slice(at, equals).trim();
    const quote = body.charAt(equals + 1) === '"' || body.charAt(equals + 1) === "'" ? body.charAt(equals + 1) : undefined;
    if (!quote) break;
    const close = body.indexOf(quote, equals + 2);
    if (close < 0) break;
    attributes.set(name, unescapeXml(body.slice(equals + 2, close)));
    at = close + 1;
  }
  return attributes;
}

/** Text of the first `<tag>…</tag>` after `from`. */
function elementText(xml: string, tag: string, from: number): string | undefined {
  const start = xml.indexOf(`<${tag}>`, from);
  if (start < 0) return undefined;
  const end = xml.indexOf('<', start + tag.length + 2);
  return end < 0 ? undefined : unescapeXml(xml.slice(start + tag.length + 2, end));
}

export async function readMsix(file: BoundedFile, result: PackageMetadata): Promise<void> {
  result.platform = 'windows';
  const manifest = await zipEntry(file, 'AppxManifest.xml');
  if (!manifest) {
    result.warnings.push('no AppxManifest.xml in the package (bundles are not read yet)');
    return;
  }
  const xml = manifest.toString('utf8');
  const identity = elementAttributes(xml, 'Identity');
  if (!identity) {
    result.warnings.push('AppxManifest.xml has no Identity element');
    return;
  }
  result.packageName = storableText(identity.get('Name'));
  result.version = storableVersion(identity.get('Version'), result.warnings);
  result.architecture = cpuArchitecture(identity.get('ProcessorArchitecture'));
  const properties = xml.indexOf('<Properties');
  result.name = storableText(properties >= 0 ? elementText(xml, 'DisplayName', properties) : undefined) ?? result.packageName;
  result.vendor =
    storableText(properties >= 0 ? elementText(xml, 'PublisherDisplayName', properties) : undefined) ??
    storableText(identity.get('Publisher'));
  result.description = storableText(properties >= 0 ? elementText(xml, 'Description', properties) : undefined);
}
