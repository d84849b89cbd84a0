/**
 * Maintenance windows at the instants that matter: both daylight saving changes in Europe/Berlin and
 * America/New_York (a start inside the gap, inside the repeated hour, a window spanning the change), boundaries
 * (start inclusive, end exclusive), zones without DST, half-hour zones, Lord Howe's 30-minute shift, weekly
 * windows over several days and windows longer than a day. Expected instants are written out in UTC by hand.
 */
import { describe, expect, it } from 'vitest';
import type { MaintenanceWindowSpec } from '@opsconductor/contracts/maintenance-windows';
import { currentWindowEnd, insideAnyWindow, nextOccurrence, nextOpening, occurrenceAt, OPEN_STRETCH_HORIZON_DAYS } from '../src/index.ts';
import { instantOfWallClock, localMs, offsetAt, wallClockAt } from '../src/zoned-time.ts';

const daily = (timeZone: string, startTime: string, durationMinutes: number): MaintenanceWindowSpec => ({
  name: `daily ${startTime} ${timeZone}`,
  timeZone,
  recurrence: 'daily',
  startTime,
  durationMinutes,
});
const weekly = (timeZone: string, daysOfWeek: number[], startTime: string, durationMinutes: number): MaintenanceWindowSpec => ({
  ...daily(timeZone, startTime, durationMinutes),
  name: `weekly ${daysOfWeek.join(',')} ${startTime} ${timeZone}`,
  recurrence: 'weekly',
  daysOfWeek,
});

const at = (iso: string) => new Date(iso);
const ms = (iso: string) => Date.parse(iso);
/** An occurrence as ISO strings, so a failure shows readable instants. */
const span = (o: { start: Date; end: Date } | null) => (o ? [o.start.toISOString(), o.end.toISOString()] : null);
const iso = (d: Date | null) => (d ? d.toISOString() : null);

describe('zoned time (Intl)', () => {
  it('reads wall-clock times and offsets, in half-hour zones and across the year', () => {
    expect(wallClockAt('Europe/Berlin', ms('2026-01-15T12:00:00Z'))).toBe(localMs(2026, 1, 15, 13));
    expect(wallClockAt('Europe/Berlin', ms('2026-07-15T12:00:00Z'))).toBe(localMs(2026, 7, 15, 14));
    expect(wallClockAt('America/New_York', ms('2026-01-01T03:00:00Z'))).toBe(localMs(2025, 12, 31, 22));
    expect(offsetAt('Asia/Kolkata', ms('2026-06-01T00:00:00Z'))).toBe(5.5 * 3_600_000);
    expect(offsetAt('Australia/Lord_Howe', ms('2026-01-01T00:00:00Z'))).toBe(11 * 3_600_000);
    expect(offsetAt('Australia/Lord_Howe', ms('2026-07-01T00:00:00Z'))).toBe(10.5 * 3_600_000);
    expect(wallClockAt('UTC', ms('2026-03-29T00:00:00Z'))).toBe(ms('2026-03-29T00:00:00Z'));
    // Midnight is hour 0 (h23), not 24.
    expect(wallClockAt('Europe/Berlin', ms('2026-01-14T23:00:00Z'))).toBe(localMs(2026, 1, 15, 0));
  });

  it('keeps years 0–99 as they are', () => {
    expect(new Date(localMs(50, 6, 1)).getUTCFullYear()).toBe(50);
    expect(new Date(localMs(1950, 6, 1)).getUTCFullYear()).toBe(1950);
  });

  it('resolves wall-clock times that happen once, twice, or not at all', () => {
    // Once.
    expect(instantOfWallClock('Europe/Berlin', localMs(2026, 3, 28, 2, 30))).toBe(ms('2026-03-28T01:30:00Z'));
    // Not at all: 02:00–03:00 is skipped on 29 March 2026; 02:30 becomes 03:30 CEST, 02:00 becomes 03:00.
    expect(instantOfWallClock('Europe/Berlin', localMs(2026, 3, 29, 2, 30))).toBe(ms('2026-03-29T01:30:00Z'));
    expect(instantOfWallClock('Europe/Berlin', localMs(2026, 3, 29, 2, 0))).toBe(ms('2026-03-29T01:00:00Z'));
    expect(instantOfWallClock('Europe/Berlin', localMs(2026, 3, 29, 3, 0))).toBe(ms('2026-03-29T01:00:00Z'));
    expect(instantOfWallClock('Europe/Berlin', localMs(2026, 3, 29, 1, 59))).toBe(ms('2026-03-29T00:59:00Z'));
    // Twice: 02:00–03:00 happens twice on 25 October 2026; the first (CEST) wins.
    expect(instantOfWallClock('Europe/Berlin', localMs(2026, 10, 25, 2, 30))).toBe(ms('2026-10-25T00:30:00Z'));
    expect(instantOfWallClock('Europe/Berlin', localMs(2026, 10, 25, 3, 0))).toBe(ms('2026-10-25T02:00:00Z'));
    expect(instantOfWallClock('America/New_York', localMs(2026, 11, 1, 1, 30))).toBe(ms('2026-11-01T05:30:00Z'));
    expect(instantOfWallClock('America/New_York', localMs(2026, 3, 8, 2, 30))).toBe(ms('2026-03-08T07:30:00Z'));
    // Lord Howe moves by 30 minutes: 02:00–02:30 is skipped on 4 October 2026, 01:30–02:00 repeats on 5 April.
    expect(instantOfWallClock('Australia/Lord_Howe', localMs(2026, 10, 4, 2, 15))).toBe(ms('2026-10-03T15:45:00Z'));
    expect(instantOfWallClock('Australia/Lord_Howe', localMs(2026, 4, 5, 1, 45))).toBe(ms('2026-04-04T14:45:00Z'));
    expect(instantOfWallClock('Asia/Kolkata', localMs(2026, 3, 29, 2, 30))).toBe(ms('2026-03-28T21:00:00Z'));
  });

  it('refuses unknown zones', () => {
    expect(() => wallClockAt('Mars/Olympus_Mons', 0)).toThrow(RangeError);
  });
});

describe('Europe/Berlin, spring forward (29 March 2026, 02:00 CET → 03:00 CEST)', () => {
  const gap = daily('Europe/Berlin', '02:30', 60);

  it('a start inside the gap opens as far after it: 02:30 → 03:30 CEST, for one real hour', () => {
    expect(span(nextOccurrence(gap, at('2026-03-28T12:00:00Z')))).toEqual(['2026-03-29T01:30:00.000Z', '2026-03-29T02:30:00.000Z']);
    // The days around it keep 02:30 on the clock: CET before, CEST after.
    expect(span(nextOccurrence(gap, at('2026-03-27T12:00:00Z')))).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-28T02:30:00.000Z']);
    expect(span(nextOccurrence(gap, at('2026-03-29T12:00:00Z')))).toEqual(['2026-03-30T00:30:00.000Z', '2026-03-30T01:30:00.000Z']);
  });

  it('start inclusive, end exclusive', () => {
    expect(occurrenceAt(gap, at('2026-03-29T01:29:59.999Z'))).toBeNull();
    expect(span(occurrenceAt(gap, at('2026-03-29T01:30:00Z')))).toEqual(['2026-03-29T01:30:00.000Z', '2026-03-29T02:30:00.000Z']);
    expect(span(occurrenceAt(gap, at('2026-03-29T02:29:59.999Z')))).toEqual(['2026-03-29T01:30:00.000Z', '2026-03-29T02:30:00.000Z']);
    expect(occurrenceAt(gap, at('2026-03-29T02:30:00Z'))).toBeNull();
    expect(span(nextOccurrence(gap, at('2026-03-29T02:30:00Z')))).toEqual(['2026-03-30T00:30:00.000Z', '2026-03-30T01:30:00.000Z']);
  });

  it('a window spanning the change lasts its duration in real time (01:00 for 3 hours ends 05:00 CEST)', () => {
    const w = daily('Europe/Berlin', '01:00', 180);
    expect(span(nextOccurrence(w, at('2026-03-28T12:00:00Z')))).toEqual(['2026-03-29T00:00:00.000Z', '2026-03-29T03:00:00.000Z']);
    expect(occurrenceAt(w, at('2026-03-29T02:59:59Z'))).not.toBeNull(); // 04:59 CEST
    expect(occurrenceAt(w, at('2026-03-29T03:00:00Z'))).toBeNull(); // 05:00 CEST
  });

  it('a start at the very beginning of the gap (02:00) opens when the clocks show 03:00', () => {
    expect(span(nextOccurrence(daily('Europe/Berlin', '02:00', 30), at('2026-03-29T00:00:00Z')))).toEqual([
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T01:30:00.000Z',
    ]);
  });

  it('weekly on Sundays: the same gap rule; from mid-week the Sunday in the gap is next', () => {
    const sundays = weekly('Europe/Berlin', [0], '02:30', 60);
    expect(span(nextOccurrence(sundays, at('2026-03-25T12:00:00Z')))).toEqual(['2026-03-29T01:30:00.000Z', '2026-03-29T02:30:00.000Z']);
    expect(span(nextOccurrence(sundays, at('2026-03-29T02:30:00Z')))).toEqual(['2026-04-05T00:30:00.000Z', '2026-04-05T01:30:00.000Z']);
    expect(occurrenceAt(sundays, at('2026-03-30T01:00:00Z'))).toBeNull(); // Monday 03:00 CEST: daily would be open
  });
});

describe('Europe/Berlin, fall back (25 October 2026, 03:00 CEST → 02:00 CET)', () => {
  const repeated = daily('Europe/Berlin', '02:30', 60);

  it('a start inside the repeated hour opens at the first 02:30 (CEST) and lasts one real hour', () => {
    expect(span(nextOccurrence(repeated, at('2026-10-24T12:00:00Z')))).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z']);
    // 02:00 CET, the second time round, is inside; 02:30 CET, the second 02:30, is where it ends.
    expect(occurrenceAt(repeated, at('2026-10-25T01:00:00Z'))).not.toBeNull();
    expect(occurrenceAt(repeated, at('2026-10-25T01:29:59.999Z'))).not.toBeNull();
    expect(occurrenceAt(repeated, at('2026-10-25T01:30:00Z'))).toBeNull();
    expect(span(nextOccurrence(repeated, at('2026-10-25T01:30:00Z')))).toEqual(['2026-10-26T01:30:00.000Z', '2026-10-26T02:30:00.000Z']);
  });

  it('a window spanning the change lasts its duration in real time (01:00 for 3 hours ends 03:00 CET)', () => {
    const w = daily('Europe/Berlin', '01:00', 180);
    expect(span(nextOccurrence(w, at('2026-10-24T12:00:00Z')))).toEqual(['2026-10-24T23:00:00.000Z', '2026-10-25T02:00:00.000Z']);
    expect(occurrenceAt(w, at('2026-10-25T01:59:59Z'))).not.toBeNull(); // 02:59 CET
    expect(occurrenceAt(w, at('2026-10-25T02:00:00Z'))).toBeNull(); // 03:00 CET
  });

  it('weekly on Saturday and Sunday nights: every listed day, judged in the zone', () => {
    const weekend = weekly('Europe/Berlin', [6, 0], '02:30', 60);
    expect(span(nextOccurrence(weekend, at('2026-10-21T12:00:00Z')))).toEqual(['2026-10-24T00:30:00.000Z', '2026-10-24T01:30:00.000Z']);
    expect(span(nextOccurrence(weekend, at('2026-10-24T01:30:00Z')))).toEqual(['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z']);
    expect(span(nextOccurrence(weekend, at('2026-10-25T01:30:00Z')))).toEqual(['2026-10-31T01:30:00.000Z', '2026-10-31T02:30:00.000Z']);
  });
});

describe('America/New_York', () => {
  it('spring forward (8 March 2026, 02:00 EST → 03:00 EDT): 02:30 opens at 03:30 EDT', () => {
    const w = daily('America/New_York', '02:30', 90);
    expect(span(nextOccurrence(w, at('2026-03-07T00:00:00Z')))).toEqual(['2026-03-07T07:30:00.000Z', '2026-03-07T09:00:00.000Z']);
    expect(span(nextOccurrence(w, at('2026-03-07T09:00:00Z')))).toEqual(['2026-03-08T07:30:00.000Z', '2026-03-08T09:00:00.000Z']);
    expect(span(nextOccurrence(w, at('2026-03-08T09:00:00Z')))).toEqual(['2026-03-09T06:30:00.000Z', '2026-03-09T08:00:00.000Z']);
  });

  it('spring forward: a window over the change lasts its real duration (00:00 for 4 hours ends 05:00 EDT)', () => {
    const w = weekly('America/New_York', [0], '00:00', 240);
    expect(span(nextOccurrence(w, at('2026-03-04T00:00:00Z')))).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-08T09:00:00.000Z']);
    expect(occurrenceAt(w, at('2026-03-08T05:00:00Z'))).not.toBeNull();
    expect(occurrenceAt(w, at('2026-03-08T08:59:59.999Z'))).not.toBeNull();
    expect(occurrenceAt(w, at('2026-03-08T09:00:00Z'))).toBeNull();
  });

  it('fall back (1 November 2026, 02:00 EDT → 01:00 EST): 01:30 opens at the first 01:30 (EDT)', () => {
    const w = daily('America/New_York', '01:30', 60);
    expect(span(nextOccurrence(w, at('2026-10-31T12:00:00Z')))).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-01T06:30:00.000Z']);
    // 01:00 EST (the second 01:00) is inside; the second 01:30 ends it.
    expect(occurrenceAt(w, at('2026-11-01T06:00:00Z'))).not.toBeNull();
    expect(occurrenceAt(w, at('2026-11-01T06:30:00Z'))).toBeNull();
    expect(span(nextOccurrence(w, at('2026-11-01T06:30:00Z')))).toEqual(['2026-11-02T06:30:00.000Z', '2026-11-02T07:30:00.000Z']);
  });

  it('fall back: a window over the change lasts its real duration (00:00 for 4 hours ends 03:00 EST)', () => {
    const w = weekly('America/New_York', [0], '00:00', 240);
    expect(span(nextOccurrence(w, at('2026-10-28T00:00:00Z')))).toEqual(['2026-11-01T04:00:00.000Z', '2026-11-01T08:00:00.000Z']);
  });
});

describe('zones without DST, half-hour zones, Lord Howe', () => {
  it('UTC: wall time is UTC', () => {
    const w = daily('UTC', '00:00', 60);
    expect(span(occurrenceAt(w, at('2026-03-29T00:00:00Z')))).toEqual(['2026-03-29T00:00:00.000Z', '2026-03-29T01:00:00.000Z']);
    expect(occurrenceAt(w, at('2026-03-29T01:00:00Z'))).toBeNull();
    expect(span(nextOccurrence(w, at('2026-12-31T23:59:59Z')))).toEqual(['2027-01-01T00:00:00.000Z', '2027-01-01T01:00:00.000Z']);
  });

  it('Asia/Kolkata (+05:30): 23:00 for two hours is 17:30–19:30 UTC, the whole year', () => {
    const w = daily('Asia/Kolkata', '23:00', 120);
    for (const day of ['2026-01-10', '2026-03-29', '2026-07-01', '2026-10-25']) {
      expect(span(nextOccurrence(w, at(`${day}T00:00:00Z`)))).toEqual([`${day}T17:30:00.000Z`, `${day}T19:30:00.000Z`]);
    }
  });

  it('Asia/Kolkata: the weekday is the zone’s (Monday 00:30 IST is Sunday 19:00 UTC)', () => {
    const mondays = weekly('Asia/Kolkata', [1], '00:30', 60);
    expect(span(nextOccurrence(mondays, at('2026-03-01T12:00:00Z')))).toEqual(['2026-03-01T19:00:00.000Z', '2026-03-01T20:00:00.000Z']);
    expect(insideAnyWindow([mondays], at('2026-03-01T19:30:00Z'))).toBe(true);
    expect(insideAnyWindow([mondays], at('2026-03-02T19:30:00Z'))).toBe(false);
  });

  it('Australia/Lord_Howe: 30-minute gap (4 October 2026) and 30-minute repeat (5 April 2026)', () => {
    const inGap = daily('Australia/Lord_Howe', '02:15', 30);
    expect(span(nextOccurrence(inGap, at('2026-10-03T00:00:00Z')))).toEqual(['2026-10-03T15:45:00.000Z', '2026-10-03T16:15:00.000Z']);
    expect(span(nextOccurrence(inGap, at('2026-10-03T16:15:00Z')))).toEqual(['2026-10-04T15:15:00.000Z', '2026-10-04T15:45:00.000Z']);
    const repeated = daily('Australia/Lord_Howe', '01:45', 30);
    expect(span(nextOccurrence(repeated, at('2026-04-04T00:00:00Z')))).toEqual(['2026-04-04T14:45:00.000Z', '2026-04-04T15:15:00.000Z']);
    expect(span(nextOccurrence(repeated, at('2026-04-04T15:15:00Z')))).toEqual(['2026-04-05T15:15:00.000Z', '2026-04-05T15:45:00.000Z']);
  });
});

describe('windows that run past midnight and for days', () => {
  it('22:00 for 6 hours contains 03:00 the next day, and belongs to the day it started', () => {
    const w = daily('Europe/Berlin', '22:00', 360);
    expect(span(occurrenceAt(w, at('2026-06-11T01:00:00Z')))).toEqual(['2026-06-10T20:00:00.000Z', '2026-06-11T02:00:00.000Z']);
    expect(occurrenceAt(w, at('2026-06-11T02:00:00Z'))).toBeNull();
  });

  it('weekly on Friday 22:00 for 6 hours is open early Saturday, not early Friday', () => {
    const fridays = weekly('Europe/Berlin', [5], '22:00', 360);
    expect(insideAnyWindow([fridays], at('2026-06-13T01:00:00Z'))).toBe(true); // Saturday 03:00 CEST
    expect(insideAnyWindow([fridays], at('2026-06-12T01:00:00Z'))).toBe(false); // Friday 03:00 CEST
  });

  it('a weekend-long window (Saturday 00:00 for 48 hours) closes Monday 00:00', () => {
    const weekend = weekly('America/New_York', [6], '00:00', 2880);
    expect(span(occurrenceAt(weekend, at('2026-06-15T03:59:59Z')))).toEqual(['2026-06-13T04:00:00.000Z', '2026-06-15T04:00:00.000Z']);
    expect(occurrenceAt(weekend, at('2026-06-15T04:00:00Z'))).toBeNull();
    expect(span(nextOccurrence(weekend, at('2026-06-15T04:00:00Z')))).toEqual(['2026-06-20T04:00:00.000Z', '2026-06-22T04:00:00.000Z']);
  });

  it('a week-long window contains every instant of its week, found from its last day', () => {
    const week = weekly('UTC', [1], '06:00', 10080);
    expect(span(occurrenceAt(week, at('2026-06-15T05:59:59Z')))).toEqual(['2026-06-08T06:00:00.000Z', '2026-06-15T06:00:00.000Z']);
    expect(span(occurrenceAt(week, at('2026-06-15T06:00:00Z')))).toEqual(['2026-06-15T06:00:00.000Z', '2026-06-22T06:00:00.000Z']);
  });

  it('when occurrences overlap, the occurrence at an instant is the one that started first', () => {
    const w = daily('UTC', '12:00', 2 * 1440);
    expect(span(occurrenceAt(w, at('2026-06-15T13:00:00Z')))).toEqual(['2026-06-14T12:00:00.000Z', '2026-06-16T12:00:00.000Z']);
    expect(span(nextOccurrence(w, at('2026-06-15T13:00:00Z')))).toEqual(['2026-06-14T12:00:00.000Z', '2026-06-16T12:00:00.000Z']);
  });
});

describe('several windows', () => {
  const night = daily('Europe/Berlin', '01:00', 120); // 01:00–03:00 CEST = 23:00–01:00 UTC in summer
  const early = daily('Europe/Berlin', '02:30', 90); // 02:30–04:00 CEST
  const adjoining = daily('Europe/Berlin', '03:00', 60); // 03:00–04:00 CEST
  const evening = daily('America/New_York', '20:00', 60); // 00:00–01:00 UTC in summer

  it('insideAnyWindow: any of them, false for none', () => {
    expect(insideAnyWindow([], at('2026-06-15T00:00:00Z'))).toBe(false);
    expect(insideAnyWindow([early, evening], at('2026-06-15T00:30:00Z'))).toBe(true);
    expect(insideAnyWindow([early], at('2026-06-15T00:30:00Z'))).toBe(true);
    expect(insideAnyWindow([early, evening], at('2026-06-15T12:00:00Z'))).toBe(false);
  });

  it('nextOpening: now when inside one, else the earliest opening of any, null without windows', () => {
    expect(nextOpening([], at('2026-06-15T12:00:00Z'))).toBeNull();
    expect(iso(nextOpening([night, evening], at('2026-06-15T23:30:00Z')))).toBe('2026-06-15T23:30:00.000Z');
    expect(iso(nextOpening([early, evening], at('2026-06-15T12:00:00Z')))).toBe('2026-06-16T00:00:00.000Z');
    expect(iso(nextOpening([early], at('2026-06-15T12:00:00Z')))).toBe('2026-06-16T00:30:00.000Z');
    expect(iso(nextOpening([early, evening], at('2026-06-16T00:00:00Z')))).toBe('2026-06-16T00:00:00.000Z');
  });

  it('currentWindowEnd: the end of the window, or of the stretch of overlapping and adjoining ones; null outside', () => {
    expect(currentWindowEnd([], at('2026-06-15T23:30:00Z'))).toBeNull();
    expect(currentWindowEnd([night], at('2026-06-15T12:00:00Z'))).toBeNull();
    expect(iso(currentWindowEnd([night], at('2026-06-15T23:30:00Z')))).toBe('2026-06-16T01:00:00.000Z');
    // 01:00–03:00 overlapped by 02:30–04:00: open until 04:00 CEST.
    expect(iso(currentWindowEnd([night, early], at('2026-06-15T23:30:00Z')))).toBe('2026-06-16T02:00:00.000Z');
    // 01:00–03:00 followed at once by 03:00–04:00: still one stretch.
    expect(iso(currentWindowEnd([night, adjoining], at('2026-06-15T23:30:00Z')))).toBe('2026-06-16T02:00:00.000Z');
    // From inside the later window only.
    expect(iso(currentWindowEnd([night, adjoining], at('2026-06-16T01:30:00Z')))).toBe('2026-06-16T02:00:00.000Z');
    // New York's 20:00–21:00 EDT (00:00–01:00 UTC) overlaps Berlin's 01:00–03:00 CEST (23:00–01:00 UTC).
    expect(iso(currentWindowEnd([evening, early], at('2026-06-16T00:15:00Z')))).toBe('2026-06-16T02:00:00.000Z');
  });

  it('currentWindowEnd: a daily 24-hour window in Berlin closes for an hour only when the clocks go back', () => {
    // Every day's 02:30 is 24 real hours after the last, except on 25 October: 02:30 CEST + 24 h is 01:30 CET on the
    // 26th, and that day's window opens at 02:30 CET.
    expect(iso(currentWindowEnd([daily('Europe/Berlin', '02:30', 1440)], at('2026-10-01T12:00:00Z')))).toBe('2026-10-26T00:30:00.000Z');
    expect(insideAnyWindow([daily('Europe/Berlin', '02:30', 1440)], at('2026-10-26T01:00:00Z'))).toBe(false);
  });

  it('currentWindowEnd: windows that never close report the horizon, where they are still open', () => {
    const always = daily('UTC', '00:00', 1440);
    const from = at('2026-06-15T12:00:00Z');
    const end = currentWindowEnd([always], from);
    expect(end?.getTime()).toBe(from.getTime() + OPEN_STRETCH_HORIZON_DAYS * 86_400_000);
    expect(insideAnyWindow([always], end ?? from)).toBe(true);
  });
});

describe('bad input', () => {
  it('refuses invalid instants and malformed specs', () => {
    const w = daily('UTC', '00:00', 60);
    expect(() => occurrenceAt(w, new Date(Number.NaN))).toThrow(RangeError);
    expect(() => nextOpening([w], new Date('not a date'))).toThrow(RangeError);
    expect(() => nextOccurrence({ ...w, startTime: '24:00' }, at('2026-01-01T00:00:00Z'))).toThrow(/startTime/);
    expect(() => nextOccurrence({ ...w, durationMinutes: 0 }, at('2026-01-01T00:00:00Z'))).toThrow(/durationMinutes/);
    expect(() => nextOccurrence({ ...w, timeZone: 'Mars/Olympus_Mons' }, at('2026-01-01T00:00:00Z'))).toThrow(RangeError);
  });

  it('a weekly window without days never opens: nextOccurrence says so, the list functions treat it as closed', () => {
    const never = weekly('UTC', [], '00:00', 60);
    expect(() => nextOccurrence(never, at('2026-01-01T00:00:00Z'))).toThrow(/never opens/);
    expect(occurrenceAt(never, at('2026-01-01T00:30:00Z'))).toBeNull();
    expect(insideAnyWindow([never], at('2026-01-01T00:30:00Z'))).toBe(false);
  });
});
