import { describe, expect, it } from 'vitest';
import {
  cronInWords,
  durationText,
  intervalText,
  isoToWallTime,
  scheduleFormIssues,
  secondsOf,
  selectionText,
  specText,
  splitSeconds,
  targetStateOf,
  timeZoneNames,
  wallTimeToIso,
  zoneOffsetLabel,
  zonedTime,
} from './schedule';

describe('a spec in words', () => {
  it('names each cron expression with its time zone, and each interval in its largest whole unit', () => {
    expect(specText({ cron: ['0 3 * * *'], timeZone: 'Europe/Berlin' })).toBe('cron 0 3 * * * (Europe/Berlin)');
    expect(specText({ intervals: [{ everySeconds: 900 }] })).toBe('every 15 min');
    expect(specText({ intervals: [{ everySeconds: 3600, offsetSeconds: 0 }] })).toBe('every 1 h');
    expect(specText({ cron: ['0 3 * * 1-5', '@hourly'], intervals: [{ everySeconds: 86_400, offsetSeconds: 10_800 }] })).toBe(
      'cron 0 3 * * 1-5 (UTC); cron @hourly (UTC); every 1 d, offset 3 h',
    );
    expect(specText({})).toBe('never (no cron expression or interval)');
  });

  it('says common cron expressions in words, and nothing for the others', () => {
    expect(cronInWords('0 3 * * *')).toBe('every day at 03:00');
    expect(cronInWords('30 6 * * 1-5')).toBe('Monday to Friday at 06:30');
    expect(cronInWords('0 22 * * 0')).toBe('every Sunday at 22:00');
    expect(cronInWords('0 9 * * 1,4')).toBe('on Mondays and Thursdays at 09:00');
    expect(cronInWords('15 1 1 * *')).toBe('on the 1st of every month at 01:15');
    expect(cronInWords('0 0 22 * *')).toBe('on the 22nd of every month at 00:00');
    expect(cronInWords('*/10 * * * *')).toBe('every 10 min');
    expect(cronInWords('5 * * * *')).toBe('every hour at :05');
    expect(cronInWords('* * * * *')).toBe('every minute');
    expect(cronInWords('@daily')).toBe('every day at 00:00');
    expect(cronInWords('0 3 * 1 *')).toBeNull();
    expect(cronInWords('61 25 * * *')).toBeNull();
    expect(cronInWords('0 3,15 * * *')).toBeNull();
  });

  it('writes durations and intervals', () => {
    expect(durationText(60)).toBe('1 min');
    expect(durationText(90)).toBe('90 s');
    expect(durationText(5400)).toBe('90 min');
    expect(durationText(172_800)).toBe('2 d');
    expect(splitSeconds(7200)).toEqual({ value: 2, unit: 'h' });
    expect(splitSeconds(0)).toEqual({ value: 0, unit: 's' });
    expect(intervalText({ everySeconds: 120, offsetSeconds: 30 })).toBe('every 2 min, offset 30 s');
  });
});

describe('seconds typed in a unit', () => {
  it('reads whole seconds, nothing for an empty field, and says what is wrong', () => {
    expect(secondsOf('15', 'min', 1)).toEqual({ ok: true, value: 900 });
    expect(secondsOf('1.5', 'h', 1)).toEqual({ ok: true, value: 5400 });
    expect(secondsOf(' ', 'h', 1)).toEqual({ ok: true, value: null });
    expect(secondsOf('often', 'h', 1)).toEqual({ ok: false, message: 'must be a number' });
    expect(secondsOf('0.5', 's', 1)).toEqual({ ok: false, message: 'must be whole seconds' });
    expect(secondsOf('0', 'min', 1)).toEqual({ ok: false, message: 'must be at least 1 s' });
    expect(secondsOf('-1', 's', 0)).toEqual({ ok: false, message: 'must not be negative' });
  });
});

describe('times in a time zone', () => {
  it('shows an instant as the wall time of the zone, summer and winter', () => {
    expect(zonedTime('2025-01-15T02:00:00Z', 'Europe/Berlin')).toBe('Wed 2025-01-15 03:00');
    expect(zonedTime('2025-07-15T01:00:00Z', 'Europe/Berlin')).toBe('Tue 2025-07-15 03:00');
    expect(zonedTime('2025-07-15T01:00:05Z', 'UTC', true)).toBe('Tue 2025-07-15 01:00:05');
    expect(zoneOffsetLabel('2025-07-15T01:00:00Z', 'Europe/Berlin')).toBe('UTC+02:00');
    expect(zoneOffsetLabel('2025-07-15T01:00:00Z', 'Asia/Kolkata')).toBe('UTC+05:30');
    expect(zoneOffsetLabel('2025-07-15T01:00:00Z', 'UTC')).toBe('UTC');
    expect(zonedTime('not a time', 'UTC')).toBe('—');
    expect(zonedTime('2025-07-15T01:00:00Z', 'Mars/Olympus')).toBe('—');
  });

  it('reads a datetime-local value as a wall time of the zone, with its offset then', () => {
    expect(wallTimeToIso('2025-01-15T03:00', 'Europe/Berlin')).toBe('2025-01-15T03:00:00+01:00');
    expect(wallTimeToIso('2025-07-15T03:00', 'Europe/Berlin')).toBe('2025-07-15T03:00:00+02:00');
    expect(wallTimeToIso('2025-07-15T03:00:30', 'America/New_York')).toBe('2025-07-15T03:00:30-04:00');
    expect(wallTimeToIso('2025-07-15T03:00', 'UTC')).toBe('2025-07-15T03:00:00+00:00');
    // The hour the clocks skip is taken as the hour after it; the hour they repeat, as its second time.
    expect(wallTimeToIso('2025-03-30T02:30', 'Europe/Berlin')).toBe('2025-03-30T03:30:00+02:00');
    expect(Date.parse(wallTimeToIso('2025-10-26T02:30', 'Europe/Berlin')!)).toBe(Date.parse('2025-10-26T01:30:00Z'));
    expect(wallTimeToIso('2025-02-30T03:00', 'UTC')).toBeNull();
    expect(wallTimeToIso('tomorrow', 'UTC')).toBeNull();
    expect(wallTimeToIso('2025-01-15T03:00', 'Nowhere/Else')).toBeNull();
  });

  it('gives the datetime-local value back for an ISO time, in the zone', () => {
    expect(isoToWallTime('2025-01-15T02:00:00Z', 'Europe/Berlin')).toBe('2025-01-15T03:00');
    expect(isoToWallTime('2025-01-15T02:00:30+00:00', 'UTC')).toBe('2025-01-15T02:00:30');
    expect(isoToWallTime(undefined, 'UTC')).toBe('');
    for (const local of ['2025-01-15T03:00', '2025-07-01T23:45', '2025-12-31T00:00']) {
      expect(isoToWallTime(wallTimeToIso(local, 'Australia/Adelaide'), 'Australia/Adelaide')).toBe(local);
    }
  });

  it('offers UTC first and keeps a zone the runtime does not list', () => {
    expect(timeZoneNames(['Europe/Berlin', 'UTC', 'Asia/Tokyo'])).toEqual(['UTC', 'Europe/Berlin', 'Asia/Tokyo']);
    expect(timeZoneNames(['Europe/Berlin'], 'Europe/Kiev')).toEqual(['UTC', 'Europe/Kiev', 'Europe/Berlin']);
    expect(timeZoneNames(['Europe/Berlin'], 'UTC')).toEqual(['UTC', 'Europe/Berlin']);
  });
});

describe("the API's issues on the schedule form", () => {
  it('puts each where it belongs: the name, the whole spec, a cron line, an interval row, the run form’s fields', () => {
    const issues = scheduleFormIssues([
      { path: 'name', message: 'is taken' },
      { path: 'spec', message: 'invalid cron expression "61 25 * * *"' },
      { path: 'spec.cron.1', message: 'must be a cron expression such as "0 3 * * 1-5"' },
      { path: 'body.spec.intervals.0.everySeconds', message: 'Too small' },
      { path: 'spec.timeZone', message: 'must be an IANA time zone such as Europe/Berlin' },
      { path: 'spec.endAt', message: 'must be after startAt' },
      { path: 'parameters.label', message: 'is required' },
      { path: 'failureThreshold.percent', message: 'Too big' },
      { path: 'deviceIds', message: 'unknown device' },
      { path: 'spec.somethingElse', message: 'odd' },
      { path: 'mystery', message: 'what' },
    ]);
    expect(issues.schedule).toEqual({
      name: 'is taken',
      spec: 'invalid cron expression "61 25 * * *"; somethingElse: odd',
      cron: 'line 2: must be a cron expression such as "0 3 * * 1-5"',
      timeZone: 'must be an IANA time zone such as Europe/Berlin',
      endAt: 'must be after startAt',
    });
    expect(issues.intervals).toEqual({ 0: 'Too small' });
    expect(issues.parameters).toEqual({ label: 'is required' });
    expect(issues.fields).toEqual({ thresholdPercent: 'Too big', target: 'unknown device' });
    expect(issues.other).toEqual(['mystery: what']);
  });

  it('puts "give at least one cron expression or interval" at the cron field', () => {
    expect(scheduleFormIssues([{ path: 'spec.cron', message: 'give at least one cron expression or interval' }]).schedule).toEqual({
      cron: 'give at least one cron expression or interval',
    });
  });
});

describe("a schedule's targets", () => {
  const device = '6f1c2b1e-8a7d-4c55-9a57-0d5c7b1b6a11';
  const group = '0b8e5bb6-9a0f-4f0e-8d52-1f6b2d1a7c33';

  it('become the picker’s state, saying when the picker cannot show all of them', () => {
    expect(targetStateOf({ deviceIds: [device] })).toMatchObject({ state: { target: 'selected', deviceIds: [device] }, partial: false });
    expect(targetStateOf({ groupIds: [group] })).toMatchObject({ state: { target: 'group', targetGroupId: group }, partial: false });
    expect(targetStateOf({ tags: ['prod', 'web'] })).toMatchObject({ state: { target: 'tag', targetTag: 'prod' }, partial: true });
    expect(targetStateOf({ filter: { search: 'web', status: 'online' } })).toMatchObject({
      state: { target: 'filter', filterSearch: 'web', filterStatus: 'online', filterOsFamily: '' },
      partial: false,
    });
    expect(targetStateOf({ filter: { customField: 'site:ber' } }).partial).toBe(true);
    expect(targetStateOf({ deviceIds: [device], tags: ['prod'] }).partial).toBe(true);
    expect(targetStateOf(null)).toMatchObject({ state: { target: 'selected', deviceIds: [] }, partial: false });
  });

  it('are said in words, groups by name', () => {
    expect(selectionText({ deviceIds: [device] })).toBe('1 device');
    expect(selectionText({ groupIds: [group], tags: ['prod'] }, { [group]: 'Web servers' })).toBe('group Web servers + tag prod');
    expect(selectionText({ filter: {} })).toBe('every device');
    expect(selectionText({ filter: { status: 'online', groupId: group } }, { [group]: 'Web' })).toBe(
      'devices matching status online, group Web',
    );
    expect(selectionText(null)).toBe('no devices');
  });
});
