/** The maintenance window contract: what a user may save, and the messages they get when it is refused. */
import { describe, expect, it } from 'vitest';
import { isKnownTimeZone, maintenanceWindowSpec } from '../src/maintenance-windows.ts';

const daily = { name: 'Nightly', timeZone: 'Europe/Berlin', recurrence: 'daily', startTime: '02:00', durationMinutes: 120 } as const;
const weekly = { ...daily, name: 'Weekends', recurrence: 'weekly', daysOfWeek: [0, 6] } as const;

/** The issues of a refused spec as `path: message`, so a test says which field failed and why. */
function issues(input: unknown): string[] {
  const result = maintenanceWindowSpec.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('maintenanceWindowSpec', () => {
  it('accepts daily and weekly windows and keeps their fields', () => {
    expect(maintenanceWindowSpec.parse(daily)).toEqual(daily);
    expect(maintenanceWindowSpec.parse(weekly)).toEqual(weekly);
    expect(maintenanceWindowSpec.parse({ ...daily, daysOfWeek: [] })).toEqual({ ...daily, daysOfWeek: [] });
  });

  it('accepts IANA zones, including UTC, half-hour and no-DST zones', () => {
    for (const timeZone of [
      'UTC',
      'Etc/UTC',
      'Europe/Berlin',
      'America/New_York',
      'Asia/Kolkata',
      'Australia/Lord_Howe',
      'America/Argentina/Buenos_Aires',
      'Etc/GMT+5',
    ]) {
      expect(issues({ ...daily, timeZone }), timeZone).toEqual([]);
    }
  });

  it('refuses unknown zones and offsets with a clear message', () => {
    for (const timeZone of [
      'Mars/Olympus_Mons',
      'Europe/Berlinn',
      '',
      '+01:00',
      'UTC+1',
      'Europe//Berlin',
      '/Europe',
      'Europe/',
      'Europe/Berlin\n',
    ]) {
      expect(issues({ ...daily, timeZone }), timeZone).toEqual([
        'timeZone: must be an IANA time zone such as Europe/Berlin, America/New_York or UTC',
      ]);
    }
    expect(issues({ ...daily, timeZone: 'Europe/' + 'x'.repeat(60) })).toContain(
      'timeZone: Too big: expected string to have <=64 characters',
    );
    expect(isKnownTimeZone('Europe/Berlin')).toBe(true);
    expect(isKnownTimeZone('Europe/Atlantis')).toBe(false);
  });

  it('refuses start times that are not HH:MM on a 24-hour clock', () => {
    for (const startTime of ['24:00', '2:00', '02:60', '02:00:00', '0200', ' 02:00', '02:00 ', '12:5', 'ab:cd', '']) {
      expect(issues({ ...daily, startTime }), startTime).toEqual(['startTime: must be a 24-hour time HH:MM, e.g. 02:30']);
    }
    for (const startTime of ['00:00', '09:05', '19:59', '23:59']) expect(issues({ ...daily, startTime }), startTime).toEqual([]);
  });

  it('needs days for weekly windows and refuses them for daily ones', () => {
    const { daysOfWeek: _, ...weeklyWithoutDays } = weekly;
    expect(issues(weeklyWithoutDays)).toEqual(['daysOfWeek: a weekly window needs at least one day of the week']);
    expect(issues({ ...weekly, daysOfWeek: [] })).toEqual(['daysOfWeek: a weekly window needs at least one day of the week']);
    expect(issues({ ...daily, daysOfWeek: [1] })).toEqual(['daysOfWeek: a daily window opens every day: leave daysOfWeek out']);
  });

  it('refuses days outside 0..6, repeated days, and more than seven', () => {
    expect(issues({ ...weekly, daysOfWeek: [0, 1, 2, 3, 4, 5, 6] })).toEqual([]);
    expect(issues({ ...weekly, daysOfWeek: [7] })).toHaveLength(1);
    expect(issues({ ...weekly, daysOfWeek: [-1] })).toHaveLength(1);
    expect(issues({ ...weekly, daysOfWeek: [1.5] })).toHaveLength(1);
    expect(issues({ ...weekly, daysOfWeek: [1, 1] })).toEqual(['daysOfWeek: must not list a day twice']);
    expect(issues({ ...weekly, daysOfWeek: [0, 1, 2, 3, 4, 5, 6, 0] })[0]).toMatch(/^daysOfWeek: /);
  });

  it('bounds the duration to whole minutes from 1 to a week', () => {
    expect(issues({ ...daily, durationMinutes: 1 })).toEqual([]);
    expect(issues({ ...daily, durationMinutes: 10080 })).toEqual([]);
    for (const durationMinutes of [0, -5, 10081, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(issues({ ...daily, durationMinutes }), String(durationMinutes)).toEqual([expect.stringMatching(/^durationMinutes: /)]);
    }
  });

  it('needs a non-empty, storable name of at most 120 characters', () => {
    expect(issues({ ...daily, name: 'x'.repeat(120) })).toEqual([]);
    expect(issues({ ...daily, name: 'x'.repeat(121) })).toHaveLength(1);
    expect(issues({ ...daily, name: '' })).toEqual(['name: must not be empty']);
    expect(issues({ ...daily, name: '   ' })).toEqual(['name: must not be empty']);
    expect(issues({ ...daily, name: 'a\u0000b' })[0]).toMatch(/^name: must not contain NUL/);
  });

  it('refuses recurrences other than daily and weekly', () => {
    expect(issues({ ...daily, recurrence: 'monthly' })).toEqual([expect.stringMatching(/^recurrence: /)]);
  });
});
