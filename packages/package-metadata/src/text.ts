import { isStorableText } from '@opsconductor/contracts/text';
import { VERSION_PATTERN } from '@opsconductor/contracts/software';
import type { CpuArchitecture } from '@opsconductor/contracts/constants';

export const MAX_TEXT_LENGTH = 500;
export const MAX_DEPENDENCIES = 200;

/** Trimmed, at most MAX_TEXT_LENGTH code units (never splitting a surrogate pair), or undefined when empty or unstorable. */
export function storableText(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let text = value.trim();
  if (text.length > MAX_TEXT_LENGTH) {
    const cut = /[\uD800-\uDBFF]/.test(text.charAt(MAX_TEXT_LENGTH - 1)) ? MAX_TEXT_LENGTH - 1 : MAX_TEXT_LENGTH;
    text = text.slice(0, cut).trimEnd();
  }
  return text !== '' && isStorableText(text) ? text : undefined;
}

/** A version the depot accepts, or undefined with a warning. */
export function storableVersion(value: string | undefined, warnings: string[]): string | undefined {
  if (value === undefined) return undefined;
  const version = value.trim();
  if (VERSION_PATTERN.test(version)) return version;
  warnings.push(`version ${JSON.stringify(version.slice(0, 60))} is not a depot version: dropped`);
  return undefined;
}

/** Maps the spellings of deb, rpm, MSI, PE and MSIX onto contracts' architectures; 'all'/'noarch'/unknown → undefined. */
export function cpuArchitecture(value: string | undefined): CpuArchitecture | undefined {
  switch (value?.trim().toLowerCase()) {
    case 'amd64':
    case 'x86_64':
    case 'x64':
      return 'x64';
    case 'i386':
    case 'i486':
    case 'i586':
    case 'i686':
    case 'x86':
    case 'intel':
      return 'x86';
    case 'arm64':
    case 'aarch64':
      return 'arm64';
    default:
      return undefined;
  }
}
