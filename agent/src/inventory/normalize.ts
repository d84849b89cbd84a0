/**
 * Small helpers that make raw system data fit the contract's bounds and keep section hashes stable:
 * a field that differs between two collections without a real change would make every delta resend it.
 */

/** Trimmed text clipped to `max` UTF-16 units (without splitting a surrogate pair); null when empty or not text. */
export function clip(value: unknown, max = 255): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  let text = String(value).replace(/\0/g, '').trim();
  if (text === '') return null;
  if (text.length > max) {
    text = text.slice(0, max);
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) text = text.slice(0, -1);
  }
  return text;
}

/** Like clip, for required fields: `fallback` when there is nothing. */
export function clipOr(value: unknown, fallback: string, max = 255): string {
  return clip(value, max) ?? fallback;
}

/** A non-negative safe integer, or null. */
export function count(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return null;
  const int = Math.floor(n);
  return int <= Number.MAX_SAFE_INTEGER ? int : null;
}

/** Node's architecture names → the ones the console and rules use. */
export function normalizeArch(arch: string): string {
  switch (arch.toLowerCase()) {
    case 'x64':
    case 'x86_64':
    case 'amd64':
      return 'x64';
    case 'arm64':
    case 'aarch64':
      return 'arm64';
    case 'ia32':
    case 'x86':
    case 'i386':
    case 'i686':
      return 'x86';
    case 'arm':
    case 'armv7l':
    case 'armhf':
      return 'arm';
    default:
      return arch;
  }
}

/**
 * Uptime moves every second; sent as is, the system section would change in every delta (and fill the
 * server's change history). Whole days are what rules ask about ("uptime > 30 days"); bootTime is exact.
 */
export const UPTIME_GRANULARITY_SECONDS = 86_400;
export function quantizeUptime(seconds: number | null): number | null {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return null;
  return Math.floor(seconds / UPTIME_GRANULARITY_SECONDS) * UPTIME_GRANULARITY_SECONDS;
}

/**
 * Free space in the hardware section, in steps of 1 % of the filesystem: it only changes when usage moves
 * noticeably, so hardware is not resent on every delta. The performance section carries exact usage.
 */
export function quantizeFree(freeBytes: number, sizeBytes: number): number {
  const step = Math.max(1, Math.floor(sizeBytes / 100));
  return Math.min(sizeBytes, Math.floor(freeBytes / step) * step);
}

/** SMBIOS/firmware strings vendors leave unfilled: reporting them as data would only mislead. */
const PLACEHOLDERS = new Set([
  'to be filled by o.e.m.',
  'to be filled by oem',
  'default string',
  'not specified',
  'not applicable',
  'not available',
  'system serial number',
  'system product name',
  'system manufacturer',
  'chassis serial number',
  'invalid',
  'none',
  'null',
  'n/a',
  'o.e.m.',
  'oem',
  '0',
  '0123456789',
  '123456789',
  '00000000',
  '(none)',
]);

export function realValue(value: unknown, max = 255): string | null {
  const text = clip(value, max);
  if (text === null) return null;
  const lower = text.toLowerCase();
  if (PLACEHOLDERS.has(lower)) return null;
  // All-zero or all-F UUIDs/serials are what firmware reports when it has none.
  if (/^[0-]+$/.test(lower) || /^[f-]+$/.test(lower)) return null;
  return text;
}

/** MAC addresses as lower-case colon-separated hex; null for the all-zero address of tunnels. */
export function normalizeMac(value: unknown): string | null {
  const text = clip(value, 64);
  if (!text) return null;
  const hex = text.replace(/[^0-9a-fA-F]/g, '').toLowerCase();
  if (hex.length !== 12 && hex.length !== 16 && hex.length !== 40) return text.toLowerCase();
  if (/^0+$/.test(hex)) return null;
  return hex.match(/../g)!.join(':');
}

export function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

export function uniqueSorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** ISO 8601 from a Date, or null for an invalid one. */
export function isoOrNull(date: Date | null | undefined): string | null {
  return date && !Number.isNaN(date.getTime()) ? date.toISOString() : null;
}
