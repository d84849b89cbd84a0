import { CompoundFile } from './cfb.ts';
import { type BoundedFile, MalformedFile } from './bounded-file.ts';
import { readPropertySet } from './summary-info.ts';
import { cpuArchitecture, storableText, storableVersion } from './text.ts';
import type { PackageMetadata } from './types.ts';

const MAX_STRINGS = 1_000_000;

/** MSI stream names pack two characters of [0-9A-Za-z._] per UTF-16 unit (0x3800–0x47FF), one in 0x4800–0x483F; 0x4840 marks a table. */
export function decodeStreamName(encoded: string): string {
  const digit = (x: number) => '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._'.charAt(x);
  let out = '';
  for (const ch of encoded) {
    const code = ch.charCodeAt(0);
    if (code === 0x4840) out += '!';
    else if (code >= 0x4800 && code < 0x4840) out += digit(code - 0x4800);
    else if (code >= 0x3800 && code < 0x4800) out += digit((code - 0x3800) & 0x3f) + digit(((code - 0x3800) >> 6) & 0x3f);
    else out += ch;
  }
  return out;
}

/** The string pool: id → string (id 0 is the null string). Returns the byte width of string references too. */
function loadStrings(pool: Buffer, data: Buffer): { strings: string[]; refSize: number } {
  if (pool.length < 4) throw new MalformedFile('MSI string pool truncated');
  const codepageWord = pool.readUInt32LE(0);
  const refSize = codepageWord & 0x80000000 ? 3 : 2;
  const decoder = (codepageWord & 0xffff) === 65001 ? 'utf8' : 'latin1';
  const strings: string[] = [''];
  let offset = 0;
  const count = Math.floor(pool.length / 4);
  for (let i = 1; i < count && strings.length < MAX_STRINGS;) {
    const length16 = pool.readUInt16LE(i * 4);
    const refs = pool.readUInt16LE(i * 4 + 2);
    let length: number;
    if (length16 === 0 && refs === 0) {
      strings.push('');
      i++;
      continue;
    }
    // A string over 64 KiB: an empty entry whose refcount holds the length's high word, then the real entry.
    if (length16 === 0) {
      if (i + 1 >= count) break;
      length = refs * 0x10000 + pool.readUInt16LE(i * 4 + 4);
      i += 2;
    } else {
      length = length16;
      i++;
    }
    if (offset + length > data.length) throw new MalformedFile('MSI string data truncated');
    strings.push(data.toString(decoder, offset, offset + length));
    offset += length;
  }
  return { strings, refSize };
}

export async function readMsi(file: BoundedFile, result: PackageMetadata): Promise<void> {
  result.platform = 'windows';
  const cf = await CompoundFile.open(file);
  const stream = (name: string) => cf.entries.find((e) => e.type === 2 && decodeStreamName(e.name) === name);
  const summaryEntry = stream('\u0005SummaryInformation');
  let summary: Summary | undefined;
  if (summaryEntry) {
    try {
      summary = readSummary(await cf.readStream(summaryEntry), result);
    } catch (error) {
      if (!(error instanceof MalformedFile)) throw error;
      result.warnings.push(`MSI SummaryInformation unreadable: ${error.message}`);
    }
  } else result.warnings.push('MSI has no SummaryInformation stream');
  const poolEntry = stream('!_StringPool');
  const dataEntry = stream('!_StringData');
  const propertyEntry = stream('!Property');
  if (!poolEntry || !dataEntry || !propertyEntry) {
    result.warnings.push('MSI Property table unreadable: string pool or Property stream missing');
    applySummaryFallbacks(summary, result);
    return;
  }
  const { strings, refSize } = loadStrings(await cf.readStream(poolEntry), await cf.readStream(dataEntry));
  // Tables are stored column by column: every row's Property, then every row's Value.
  const table = await cf.readStream(propertyEntry);
  const rows = Math.floor(table.length / (2 * refSize));
  const ref = (at: number) => (refSize === 2 ? table.readUInt16LE(at) : table.readUInt16LE(at) + table[at + 2]! * 0x10000);
  const properties = new Map<string, string>();
  for (let row = 0; row < rows; row++) {
    const key = strings[ref(row * refSize)];
    const value = strings[ref((rows + row) * refSize)];
    if (key !== undefined && value !== undefined) properties.set(key, value);
  }
  result.name = storableText(properties.get('ProductName'));
  result.version = storableVersion(properties.get('ProductVersion'), result.warnings);
  result.vendor = storableText(properties.get('Manufacturer'));
  result.productCode = storableText(properties.get('ProductCode')?.toUpperCase());
  result.upgradeCode = storableText(properties.get('UpgradeCode')?.toUpperCase());
  result.description = storableText(properties.get('ARPCOMMENTS'));
  applySummaryFallbacks(summary, result);
}

/** What the Property table lacks, the SummaryInformation may say (Author is the manufacturer, Subject the product). */
function applySummaryFallbacks(summary: Summary | undefined, result: PackageMetadata): void {
  result.vendor ??= summary?.author;
  result.name ??= summary?.subject;
  result.description ??= summary?.comments;
}

interface Summary {
  author?: string;
  subject?: string;
  comments?: string;
}

/** SummaryInformation property IDs (MS-OLEPS / Windows Installer's meaning of each). */
const PID = { subject: 3, author: 4, comments: 6, template: 7, revision: 9, pageCount: 14, wordCount: 15 } as const;
const GUID = /^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$/;

function readSummary(stream: Buffer, result: PackageMetadata): Summary {
  const properties = readPropertySet(stream);
  const text = (id: number) => {
    const value = properties.get(id);
    return typeof value === 'string' ? storableText(value) : undefined;
  };
  const integer = (id: number) => {
    const value = properties.get(id);
    return typeof value === 'number' ? value : undefined;
  };
  // Template: "platform;language,language" — x64, Intel (or empty: 32-bit x86), Arm64, Intel64 (Itanium).
  const template = text(PID.template);
  if (template !== undefined) {
    const [platform = '', languages = ''] = template.split(';', 2);
    const architecture = platform.trim() === '' ? 'x86' : cpuArchitecture(platform);
    if (architecture) result.architecture = architecture;
    else result.warnings.push(`MSI platform ${JSON.stringify(platform.slice(0, 40))} has no depot architecture`);
    const lcids = languages
      .split(',')
      .map((l) => Number.parseInt(l.trim(), 10))
      .filter((l) => Number.isInteger(l) && l >= 0 && l <= 0xffff);
    if (lcids.length > 0) result.languages = [...new Set(lcids)].slice(0, 64);
  }
  // The revision number holds the package code; patches append the product codes they apply to.
  const packageCode = text(PID.revision)?.slice(0, 38).toUpperCase();
  if (packageCode && GUID.test(packageCode)) result.packageCode = packageCode;
  const pageCount = integer(PID.pageCount);
  if (pageCount !== undefined && pageCount > 0) result.minimumInstallerVersion = pageCount;
  const wordCount = integer(PID.wordCount);
  if (wordCount !== undefined && wordCount >= 0) {
    result.compressed = (wordCount & 2) !== 0;
    result.elevationRequired = (wordCount & 8) === 0;
  }
  return { author: text(PID.author), subject: text(PID.subject), comments: text(PID.comments) };
}
