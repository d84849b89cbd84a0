/**
 * Metadata of an uploaded installer, to prefill the depot's package form. The input is hostile: a malformed
 * file yields partial data and warnings, never an exception (only I/O errors on the file itself propagate),
 * and every read is bounded (`maxBytesRead`).
 */
import { open } from 'node:fs/promises';
import { BoundedFile, BudgetExceeded, MalformedFile } from './bounded-file.ts';
import { readDeb } from './deb.ts';
import { readMsi } from './msi.ts';
import { readMsix } from './msix.ts';
import { readPe } from './pe.ts';
import { readRpm } from './rpm.ts';
import type { PackageFormat, PackageMetadata } from './types.ts';
import { sanitizeText } from '@opsconductor/contracts/text';
import { MAX_TEXT_LENGTH } from './text.ts';

export type { InstallerFramework, PackageFormat, PackageMetadata } from './types.ts';

export const DEFAULT_MAX_BYTES_READ = 32 * 1024 * 1024;

const MAGIC = {
  rpm: Buffer.from([0xed, 0xab, 0xee, 0xdb]),
  cfb: Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
  zip: Buffer.from('PK\x03\x04', 'latin1'),
  gzip: Buffer.from([0x1f, 0x8b]),
  ar: Buffer.from('!<arch>\n', 'latin1'),
};

/** Magic bytes first; the extension only disambiguates (zip vs msix, ar vs deb) or names text formats. */
export function detectFormat(head: Buffer, fileName: string): PackageFormat {
  const extension = fileName.toLowerCase().split('.').pop() ?? '';
  const lower = fileName.toLowerCase();
  if (head.subarray(0, 4).equals(MAGIC.rpm)) return 'rpm';
  if (head.subarray(0, 8).equals(MAGIC.ar) && head.toString('latin1', 8, 24).startsWith('debian-binary')) return 'deb';
  if (head.subarray(0, 8).equals(MAGIC.cfb)) return extension === 'msi' ? 'msi' : 'unknown';
  if (head.subarray(0, 2).toString('latin1') === 'MZ') return 'exe';
  if (head.subarray(0, 4).equals(MAGIC.zip)) return ['msix', 'appx', 'msixbundle', 'appxbundle'].includes(extension) ? 'msix' : 'archive';
  if (head.subarray(0, 2).equals(MAGIC.gzip) && (lower.endsWith('.tar.gz') || extension === 'tgz')) return 'archive';
  // POSIX tar: "ustar" at offset 257.
  if (head.toString('latin1', 257, 262) === 'ustar') return 'archive';
  if (extension === 'ps1') return 'ps1';
  if (extension === 'sh' || head.subarray(0, 2).toString('latin1') === '#!') return 'sh';
  return 'unknown';
}

const installerTypeOf = { msi: 'msi', deb: 'deb', rpm: 'rpm', msix: 'msix', exe: 'exe', ps1: 'ps1', sh: 'sh', archive: 'archive' } as const;

export async function readPackageMetadata(filePath: string, fileName: string, opts?: { maxBytesRead?: number }): Promise<PackageMetadata> {
  const handle = await open(filePath, 'r');
  try {
    const { size } = await handle.stat();
    const file = new BoundedFile(handle, size, opts?.maxBytesRead ?? DEFAULT_MAX_BYTES_READ);
    const head = await file.read(0, 512);
    const result: PackageMetadata = { format: detectFormat(head, fileName), warnings: [] };
    if (result.format !== 'unknown') result.installerType = installerTypeOf[result.format];
    if (result.format === 'ps1') result.platform = 'windows';
    if (result.format === 'sh') result.platform = 'linux';
    try {
      if (result.format === 'rpm') await readRpm(file, result);
      else if (result.format === 'deb') await readDeb(file, result);
      else if (result.format === 'msi') await readMsi(file, result);
      else if (result.format === 'msix') await readMsix(file, result);
      else if (result.format === 'exe') await readPe(file, result);
    } catch (error) {
      // I/O errors on the file itself are the caller's to see.
      if (error instanceof Error && 'syscall' in error) throw error;
      // Malformed input and an exhausted budget end in a partial result. Anything else from our own
      // parsing (a RangeError on a hostile offset we failed to guard) is treated the same way: the
      // upload must still work with manual metadata.
      const reason = error instanceof MalformedFile || error instanceof BudgetExceeded ? error.message : String(error);
      result.warnings.push(`${result.format} metadata unreadable: ${reason.slice(0, 200)}`);
    }
    return withoutUndefined(result);
  } finally {
    await handle.close();
  }
}

/**
 * Without undefined fields, and with storable warnings: they quote the file (a member's name, a field), so NUL and
 * unpaired surrogates are replaced by U+FFFD and each is bounded like the fields.
 */
function withoutUndefined(result: PackageMetadata): PackageMetadata {
  const warnings = result.warnings.map((w) => sanitizeText(w.length > MAX_TEXT_LENGTH ? `${w.slice(0, MAX_TEXT_LENGTH - 1)}…` : w));
  return Object.fromEntries(Object.entries({ ...result, warnings }).filter(([, v]) => v !== undefined)) as unknown as PackageMetadata;
}
