/**
 * Wall-clock time in an IANA time zone, with nothing but `Intl` (this module runs in Temporal's workflow sandbox
 * too: no Node built-ins, no clock of its own).
 *
 * A wall-clock time is written as "local milliseconds": the milliseconds since 1970-01-01T00:00 of that calendar
 * date and time, as if it were UTC (so calendar arithmetic is plain arithmetic, day N starts at N × 86,400,000).
 * Wall-clock times here have whole seconds: Intl reports no milliseconds, and zones' offsets are whole seconds.
 */

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone: building one is far dearer than using it. Unknown zones throw Intl's RangeError. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Local milliseconds of a calendar date and time; years 0–99 are years 0–99 (Date.UTC would add 1900). */
export function localMs(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (year < 0 || year > 99) return ms;
  const d = new Date(ms);
  d.setUTCFullYear(d.getUTCFullYear() - 1900);
  return d.getTime();
}

/** The wall-clock time (local milliseconds, whole seconds) that the instant `ms` shows in `timeZone`. */
export function wallClockAt(timeZone: string, ms: number): number {
  const fields = { era: 'AD', year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(timeZone).formatToParts(ms)) {
    if (part.type === 'era') fields.era = part.value;
    else if (part.type in fields) (fields as Record<string, number | string>)[part.type] = Number(part.value);
  }
  // en-US writes "BC" for years before 1; proleptic Gregorian year 0 is 1 BC.
  const year = fields.era === 'BC' || fields.era === 'B' ? 1 - fields.year : fields.year;
  // Some ICU versions wrote midnight as 24 even with h23; it is hour 0 of the same date there.
  return localMs(year, fields.month, fields.day, fields.hour % 24, fields.minute, fields.second);
}

/** The zone's offset from UTC at the instant `ms`, in milliseconds (UTC+02:00 is +7,200,000). */
export function offsetAt(timeZone: string, ms: number): number {
  return wallClockAt(timeZone, ms) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant at which `timeZone`'s clocks show the wall-clock time `local`, resolved like Temporal's
 * 'compatible' disambiguation:
 * - a time that happens once: that instant;
 * - a time that happens twice (clocks set back, e.g. 02:30 when summer time ends): the earlier instant;
 * - a time that does not happen (clocks set forward over it, e.g. 02:30 when summer time starts): the instant the
 *   offset from before the gap gives, which is as far after the gap as the time was into it (02:30 → 03:30).
 *
 * The offsets in force a day before and a day after are the only ones a wall-clock time nearby can have (zones
 * change their offset at most once in two days); each candidate is checked against the zone.
 */
export function instantOfWallClock(timeZone: string, local: number): number {
  const before = offsetAt(timeZone, local - DAY_MS);
  const after = offsetAt(timeZone, local + DAY_MS);
  let found: number | undefined;
  for (const candidate of before === after ? [local - before] : [local - before, local - after]) {
    if (wallClockAt(timeZone, candidate) === local && (found === undefined || candidate < found)) found = candidate;
  }
  return found ?? local - before;
}
