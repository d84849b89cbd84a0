import { sanitizeText } from '@opsconductor/contracts/text';
import { VERSION_PATTERN } from '@opsconductor/contracts/software';
import type { CpuArchitecture } from '@opsconductor/contracts/constants';
import { type BoundedFile, MalformedFile } from './bounded-file.ts';
import { storableText } from './text.ts';
import type { InstallerFramework, PackageMetadata } from './types.ts';

/**
 * A PE (exe/dll) reader: headers, section table, the resource directory's RT_VERSION (VS_VERSIONINFO) and
 * RT_MANIFEST, and cheap markers of installer frameworks. Every offset comes from the file and is checked; the
 * resource tree is walked at its three fixed levels (type, name, language), never recursively.
 */
const MAX_SECTIONS = 96;
const MAX_DIRECTORY_ENTRIES = 4096;
const MAX_RESOURCE_BYTES = 64 * 1024;
const OVERLAY_SCAN_BYTES = 64 * 1024;
const MAX_VERSION_BLOCKS = 256;
const RT_VERSION = 16;
const RT_MANIFEST = 24;
const VS_FIXEDFILEINFO_SIGNATURE = 0xfeef04bd;

const MACHINES: Record<number, CpuArchitecture> = { 0x014c: 'x86', 0x8664: 'x64', 0xaa64: 'arm64' };

interface Section {
  name: string;
  virtualAddress: number;
  virtualSize: number;
  rawSize: number;
  rawPointer: number;
}

/** The version resource's strings we keep, by their StringFileInfo keys. */
const VERSION_STRINGS = [
  'ProductName',
  'CompanyName',
  'FileDescription',
  'ProductVersion',
  'FileVersion',
  'OriginalFilename',
  'LegalCopyright',
  'Comments',
] as const;
type VersionStrings = Partial<Record<(typeof VERSION_STRINGS)[number], string>>;

export interface VersionInfo {
  fileVersion?: string;
  productVersion?: string;
  strings: VersionStrings;
  /** The first StringTable's language (LCID) */
  language?: number;
}

export async function readPe(file: BoundedFile, result: PackageMetadata): Promise<void> {
  result.platform = 'windows';
  const dos = await file.read(0, 64);
  if (dos.length < 64) throw new MalformedFile('PE DOS header truncated');
  const peOffset = dos.readUInt32LE(0x3c);
  const coff = await file.read(peOffset, 24);
  if (coff.length < 24 || coff.toString('latin1', 0, 4) !== 'PE\0\0') throw new MalformedFile('no PE header (a DOS program?)');
  const machine = coff.readUInt16LE(4);
  result.architecture = MACHINES[machine];
  if (!result.architecture) result.warnings.push(`PE machine 0x${machine.toString(16)} has no depot architecture`);
  const sectionCount = coff.readUInt16LE(6);
  const optionalSize = coff.readUInt16LE(20);
  if (sectionCount > MAX_SECTIONS) throw new MalformedFile(`PE has ${sectionCount} sections`);
  const optional = await file.read(peOffset + 24, optionalSize);
  if (optional.length < optionalSize || optionalSize < 2) throw new MalformedFile('PE optional header truncated');
  const magic = optional.readUInt16LE(0);
  if (magic !== 0x10b && magic !== 0x20b) throw new MalformedFile(`PE optional header magic 0x${magic.toString(16)}`);
  result.peFormat = magic === 0x10b ? 'pe32' : 'pe32+';
  // Data directories: after 96 (PE32) or 112 (PE32+) bytes, their count just before.
  const directoriesAt = magic === 0x10b ? 96 : 112;
  const directoryCount = directoriesAt <= optional.length ? optional.readUInt32LE(directoriesAt - 4) : 0;
  const directory = (index: number) => {
    const at = directoriesAt + index * 8;
    if (index >= directoryCount || at + 8 > optional.length) return { address: 0, size: 0 };
    return { address: optional.readUInt32LE(at), size: optional.readUInt32LE(at + 4) };
  };
  const sectionTable = await file.read(peOffset + 24 + optionalSize, sectionCount * 40);
  if (sectionTable.length < sectionCount * 40) throw new MalformedFile('PE section table truncated');
  const sections: Section[] = [];
  for (let i = 0; i < sectionCount; i++) {
    const at = i * 40;
    const rawName = sectionTable.subarray(at, at + 8);
    const nul = rawName.indexOf(0);
    sections.push({
      name: rawName.toString('latin1', 0, nul === -1 ? 8 : nul),
      virtualSize: sectionTable.readUInt32LE(at + 8),
      virtualAddress: sectionTable.readUInt32LE(at + 12),
      rawSize: sectionTable.readUInt32LE(at + 16),
      rawPointer: sectionTable.readUInt32LE(at + 20),
    });
  }
  const frameworks: InstallerFramework[] = [];
  if (sections.some((s) => s.name === '.wixburn')) frameworks.push('burn');

  const resources = new ResourceDirectory(file, sections, directory(2).address);
  const version = await resources.find(RT_VERSION);
  if (version) {
    const info = parseVersionInfo(version, result.warnings);
    applyVersionInfo(info, result);
    const marker = frameworkInText(Object.values(info.strings).join('\n'));
    if (marker) frameworks.push(marker);
  } else result.warnings.push('PE has no version resource: fill the form by hand');
  const manifest = await resources.find(RT_MANIFEST);
  const manifestMarker = manifest && frameworkInText(manifest.toString('utf8'));
  if (manifestMarker) frameworks.push(manifestMarker);

  // The overlay (bytes past the last section, where self-extracting installers keep their payload).
  const overlayStart = sections.reduce((end, s) => Math.max(end, s.rawSize > 0 ? s.rawPointer + s.rawSize : 0), 0);
  if (frameworks.length === 0 && overlayStart > 0 && overlayStart < file.size) {
    const overlay = await file.read(overlayStart, OVERLAY_SCAN_BYTES);
    const marker = frameworkInOverlay(overlay);
    if (marker) frameworks.push(marker);
  }
  if (frameworks[0]) result.installerFramework = frameworks[0];
}

/**
 * Markers in manifests and version strings: Inno's manifest name `JR.Inno.Setup`, NSIS's `Nullsoft.NSIS.exehead`,
 * InstallShield's name. Narrow on purpose: a program by Nullsoft (CompanyName) is not an NSIS installer.
 */
function frameworkInText(text: string): InstallerFramework | undefined {
  if (/JR\.Inno\.Setup|Inno Setup/i.test(text)) return 'inno';
  if (/Nullsoft\.NSIS|Nullsoft Install System/i.test(text)) return 'nsis';
  if (/InstallShield/i.test(text)) return 'installshield';
  return undefined;
}

function frameworkInOverlay(overlay: Buffer): InstallerFramework | undefined {
  const has = (marker: string) => overlay.includes(marker, 0, 'latin1') || overlay.includes(Buffer.from(marker, 'utf16le'));
  if (has('Inno Setup Setup Data') || has('rDlPtS')) return 'inno';
  if (has('NullsoftInst')) return 'nsis';
  if (has('InstallShield')) return 'installshield';
  return undefined;
}

/** RT_* → the first name's first language's bytes (at most MAX_RESOURCE_BYTES). */
class ResourceDirectory {
  constructor(
    private readonly file: BoundedFile,
    private readonly sections: Section[],
    private readonly rootRva: number,
  ) {}

  async find(type: number): Promise<Buffer | undefined> {
    if (this.rootRva === 0) return undefined;
    const names = await this.entries(0);
    const typeEntry = names.find((e) => !e.named && e.id === type && e.subdirectory);
    if (!typeEntry) return undefined;
    const name = (await this.entries(typeEntry.offset)).find((e) => e.subdirectory);
    if (!name) return undefined;
    const language = (await this.entries(name.offset)).find((e) => !e.subdirectory);
    if (!language) return undefined;
    const dataEntry = await this.readRva(this.rootRva + language.offset, 16);
    if (dataEntry.length < 16) throw new MalformedFile('PE resource data entry out of range');
    const size = dataEntry.readUInt32LE(4);
    const data = await this.readRva(dataEntry.readUInt32LE(0), Math.min(size, MAX_RESOURCE_BYTES));
    if (data.length < Math.min(size, MAX_RESOURCE_BYTES)) throw new MalformedFile('PE resource data out of range');
    return data;
  }

  /** One IMAGE_RESOURCE_DIRECTORY's entries; `offset` is relative to the resource root, as the file states it. */
  private async entries(offset: number) {
    const header = await this.readRva(this.rootRva + offset, 16);
    if (header.length < 16) throw new MalformedFile('PE resource directory out of range');
    const count = Math.min(header.readUInt16LE(12) + header.readUInt16LE(14), MAX_DIRECTORY_ENTRIES);
    const table = await this.readRva(this.rootRva + offset + 16, count * 8);
    const out: { named: boolean; id: number; subdirectory: boolean; offset: number }[] = [];
    for (let at = 0; at + 8 <= table.length; at += 8) {
      const name = table.readUInt32LE(at);
      const target = table.readUInt32LE(at + 4);
      out.push({
        named: (name & 0x80000000) !== 0,
        id: name & 0xffff,
        subdirectory: (target & 0x80000000) !== 0,
        offset: target & 0x7fffffff,
      });
    }
    return out;
  }

  /** Bytes at an RVA, only from within one section's raw data. */
  private async readRva(rva: number, length: number): Promise<Buffer> {
    const section = this.sections.find((s) => rva >= s.virtualAddress && rva - s.virtualAddress < s.rawSize);
    if (!section || length <= 0) return Buffer.alloc(0);
    const into = rva - section.virtualAddress;
    return this.file.read(section.rawPointer + into, Math.min(length, section.rawSize - into));
  }
}

/** UTF-16LE with unpaired surrogates and NULs replaced: whatever the file holds decodes to storable text. */
function utf16(buffer: Buffer, start: number, end: number): string {
  const even = start + Math.floor((Math.max(end, start) - start) / 2) * 2;
  return sanitizeText(buffer.toString('utf16le', start, even));
}

interface VersionBlock {
  key: string;
  valueLength: number;
  type: number;
  valueStart: number;
  end: number;
}

const align4 = (n: number) => (n + 3) & ~3;

/** One VS_VERSIONINFO-style block (wLength, wValueLength, wType, szKey, padding) at `at`, clamped to `limit`. */
function versionBlock(buffer: Buffer, at: number, limit: number): VersionBlock | undefined {
  if (at + 6 > limit) return undefined;
  const length = buffer.readUInt16LE(at);
  if (length < 6) return undefined;
  const end = Math.min(at + length, limit);
  let keyEnd = at + 6;
  while (keyEnd + 2 <= end && buffer.readUInt16LE(keyEnd) !== 0 && keyEnd - at < 6 + 2 * 128) keyEnd += 2;
  return {
    key: utf16(buffer, at + 6, keyEnd),
    valueLength: buffer.readUInt16LE(at + 2),
    type: buffer.readUInt16LE(at + 4),
    valueStart: Math.min(align4(keyEnd + 2), end),
    end,
  };
}

/** The children of a block, from `start`; each is at least 6 bytes, so the walk ends. */
function* children(buffer: Buffer, start: number, end: number): Generator<VersionBlock> {
  let count = 0;
  for (let at = align4(start); at < end && count < MAX_VERSION_BLOCKS; count++) {
    const child = versionBlock(buffer, at, end);
    if (!child) return;
    yield child;
    at = align4(child.end);
  }
}

const quad = (ms: number, ls: number) => `${ms >>> 16}.${ms & 0xffff}.${ls >>> 16}.${ls & 0xffff}`;

export function parseVersionInfo(buffer: Buffer, warnings: string[]): VersionInfo {
  const info: VersionInfo = { strings: {} };
  const root = versionBlock(buffer, 0, buffer.length);
  if (!root || root.key !== 'VS_VERSION_INFO') {
    warnings.push('PE version resource is not a VS_VERSIONINFO');
    return info;
  }
  const fixedEnd = root.valueStart + root.valueLength;
  if (root.valueLength >= 52 && fixedEnd <= root.end && buffer.readUInt32LE(root.valueStart) === VS_FIXEDFILEINFO_SIGNATURE) {
    const at = root.valueStart;
    info.fileVersion = quad(buffer.readUInt32LE(at + 8), buffer.readUInt32LE(at + 12));
    info.productVersion = quad(buffer.readUInt32LE(at + 16), buffer.readUInt32LE(at + 20));
  } else if (root.valueLength > 0) warnings.push('PE VS_FIXEDFILEINFO missing or malformed');
  for (const block of children(buffer, Math.min(fixedEnd, root.end), root.end)) {
    if (block.key !== 'StringFileInfo') continue;
    const table = children(buffer, block.valueStart, block.end).next();
    if (table.done) break;
    const language = Number.parseInt(table.value.key.slice(0, 4), 16);
    if (Number.isFinite(language)) info.language = language;
    for (const entry of children(buffer, table.value.valueStart, table.value.end)) {
      if (!(VERSION_STRINGS as readonly string[]).includes(entry.key)) continue;
      // The value runs to its NUL; wValueLength is in characters or in bytes depending on the compiler, so it is not trusted.
      let valueEnd = entry.valueStart;
      while (valueEnd + 2 <= entry.end && buffer.readUInt16LE(valueEnd) !== 0) valueEnd += 2;
      info.strings[entry.key as keyof VersionStrings] ??= utf16(buffer, entry.valueStart, valueEnd);
    }
    break;
  }
  return info;
}

function applyVersionInfo(info: VersionInfo, result: PackageMetadata): void {
  const { strings } = info;
  result.name = storableText(strings.ProductName) ?? storableText(strings.FileDescription);
  result.vendor = storableText(strings.CompanyName);
  result.description = storableText(strings.FileDescription);
  result.originalFileName = storableText(strings.OriginalFilename);
  result.copyright = storableText(strings.LegalCopyright);
  result.fileVersion = info.fileVersion;
  const stringVersion = strings.ProductVersion?.trim();
  if (stringVersion && VERSION_PATTERN.test(stringVersion)) result.version = stringVersion;
  else {
    if (stringVersion)
      result.warnings.push(
        `PE ProductVersion ${JSON.stringify(stringVersion.slice(0, 60))} is not a depot version: the fixed version is used`,
      );
    if (info.productVersion && info.productVersion !== '0.0.0.0') result.version = info.productVersion;
  }
  if (info.language !== undefined) result.languages = [info.language];
}
