/**
 * ISO 8601 dates for `date` custom fields. Strict on purpose: `Date.parse` accepts `2024-02-30`
 * (as March 1st) and reads zone-less date-times in the server's local zone, which would make rule
 * results depend on where the API runs. Here a zone-less value is UTC, and impossible dates are refused.
 */

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Date.UTC maps years 0–99 onto 1900–1999; setUTCFullYear does not. */
function utc(year: number, month: number, day: number, h = 0, m = 0, s = 0, ms = 0): number {
  const d = new Date(Date.UTC(2000, 0, 1, h, m, s, ms));
  d.setUTCFullYear(year, month, day);
  return d.getTime();
}
const daysIn = (year: number, month: number): number => new Date(utc(year, month, 0)).getUTCDate();

/** Epoch milliseconds of an ISO date or date-time, or null. */
export function parseIsoDate(value: string): number | null {
  const m = ISO.exec(value.trim());
  if (!m) return null;
  const [year, month, day, hour = 0, minute = 0, second = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) =>
    x === undefined ? undefined : Number(x),
  );
  if (year === undefined || month === undefined || day === undefined) return null;
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const fraction = m[7] ? Math.floor(Number(m[7]) * 1000) : 0;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const h = Number(digits.slice(0, 2));
    const min = Number(digits.slice(2));
    if (h > 23 || min > 59) return null;
    offsetMinutes = sign * (h * 60 + min);
  }
  const ms = utc(year, month - 1, day, hour, minute, second, fraction) - offsetMinutes * 60_000;
  return Number.isFinite(ms) ? ms : null;
}

export const isIsoDate = (value: unknown): value is string => typeof value === 'string' && parseIsoDate(value) !== null;
