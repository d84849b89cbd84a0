import { describe, expect, it } from 'vitest';
import { cronLines, parseScheduleFields, postedScheduleForm, scheduleFormValues, versionChoiceParam } from './schedule-form.server';
import type { RunParameter } from './job-run';

const device = '6f1c2b1e-8a7d-4c55-9a57-0d5c7b1b6a11';
const form = (fields: Array<[string, string]>) => {
  const f = new FormData();
  for (const [k, v] of fields) f.append(k, v);
  return f;
};
const parameters: RunParameter[] = [
  { name: 'label', type: 'string' },
  { name: 'token', type: 'secret' },
];

describe('parseScheduleFields', () => {
  it('reads the name, cron lines, interval rows in their units, the zone, start and end in that zone, jitter and overlap', () => {
    const parsed = parseScheduleFields(
      form([
        ['name', '  nightly  '],
        ['description', 'the nightly report'],
        ['cron', '0 3 * * *\n\n   30  6 * * 1-5  \n'],
        ['intervalEvery', '15'],
        ['intervalEveryUnit', 'min'],
        ['intervalOffset', ''],
        ['intervalOffsetUnit', 'min'],
        ['intervalEvery', ''],
        ['intervalEveryUnit', 'h'],
        ['intervalOffset', ''],
        ['intervalOffsetUnit', 'h'],
        ['intervalEvery', '1'],
        ['intervalEveryUnit', 'd'],
        ['intervalOffset', '3'],
        ['intervalOffsetUnit', 'h'],
        ['timeZone', 'Europe/Berlin'],
        ['startAt', '2030-01-15T03:00'],
        ['endAt', '2030-07-15T03:00'],
        ['jitterSeconds', '60'],
        ['overlap', 'buffer_one'],
        ['paused', 'true'],
      ]),
    );
    expect(parsed).toEqual({
      ok: true,
      value: {
        name: 'nightly',
        description: 'the nightly report',
        spec: {
          cron: ['0 3 * * *', '30 6 * * 1-5'],
          intervals: [
            { everySeconds: 900, offsetSeconds: 0 },
            { everySeconds: 86_400, offsetSeconds: 10_800 },
          ],
          timeZone: 'Europe/Berlin',
          startAt: '2030-01-15T03:00:00+01:00',
          endAt: '2030-07-15T03:00:00+02:00',
          jitterSeconds: 60,
        },
        overlap: 'buffer_one',
        paused: true,
      },
    });
  });

  it('takes UTC, no jitter and skip when nothing is given', () => {
    expect(parseScheduleFields(form([['name', 'x']]))).toEqual({
      ok: true,
      value: {
        name: 'x',
        description: '',
        spec: { cron: [], intervals: [], timeZone: 'UTC', jitterSeconds: 0 },
        overlap: 'skip',
        paused: false,
      },
    });
  });

  it('says what the console can tell is wrong, by field and by interval row', () => {
    const parsed = parseScheduleFields(
      form([
        ['name', ' '],
        ['intervalEvery', ''],
        ['intervalEveryUnit', 'min'],
        ['intervalOffset', '5'],
        ['intervalOffsetUnit', 'min'],
        ['intervalEvery', 'often'],
        ['intervalEveryUnit', 'min'],
        ['intervalOffset', ''],
        ['intervalOffsetUnit', 'min'],
        ['startAt', '2030-02-30T03:00'],
        ['jitterSeconds', '-5'],
      ]),
    );
    expect(parsed).toEqual({
      ok: false,
      issues: {
        schedule: { name: 'Give the schedule a name', startAt: 'is not a date and time', jitterSeconds: 'must not be negative' },
        intervals: { 0: 'Every: say how often', 1: 'Every: must be a number' },
      },
    });
    expect(
      parseScheduleFields(
        form([
          ['name', 'x'],
          ['timeZone', 'Mars/Olympus'],
          ['startAt', '2030-01-01T00:00'],
        ]),
      ),
    ).toEqual({
      ok: false,
      issues: { schedule: { timeZone: 'must be an IANA time zone such as Europe/Berlin' }, intervals: {} },
    });
  });
});

describe('postedScheduleForm', () => {
  it('keeps what was posted for the form to show again, but never a secret', () => {
    const posted = postedScheduleForm(
      form([
        ['name', 'nightly'],
        ['target', 'selected'],
        ['deviceIds', device],
        ['param.label', 'hi'],
        ['param.token', 'hunter2-secret'],
        ['cron', '61 25 * * *'],
        ['intervalEvery', '2'],
        ['intervalEveryUnit', 'h'],
        ['intervalOffset', ''],
        ['intervalOffsetUnit', 'h'],
        ['timeZone', 'Europe/Berlin'],
        ['overlap', 'nonsense'],
      ]),
      parameters,
    );
    expect(posted).toMatchObject({
      name: 'nightly',
      deviceIds: [device],
      values: { label: 'hi' },
      cron: '61 25 * * *',
      intervals: [{ every: '2', everyUnit: 'h', offset: '', offsetUnit: 'h' }],
      timeZone: 'Europe/Berlin',
      overlap: 'skip',
      paused: false,
    });
    expect(JSON.stringify(posted)).not.toContain('hunter2-secret');
  });
});

describe('scheduleFormValues', () => {
  it('turns a schedule into the form’s first values: targets, values, spec in units and wall times, no secrets', () => {
    const { posted, partialTargets } = scheduleFormValues({
      id: '8d1d3c0e-2a4b-4f7e-9c1a-5b6d7e8f9a0b',
      scheduleId: 'job-schedule/8d1d3c0e-2a4b-4f7e-9c1a-5b6d7e8f9a0b',
      temporalUrl: null,
      name: 'nightly',
      description: '',
      job: { id: '1d1d3c0e-2a4b-4f7e-9c1a-5b6d7e8f9a0b', name: 'report' },
      version: 2,
      spec: {
        cron: ['0 3 * * *'],
        intervals: [{ everySeconds: 3600, offsetSeconds: 0 }],
        timeZone: 'Europe/Berlin',
        startAt: '2030-01-15T02:00:00.000Z',
        jitterSeconds: 0,
      },
      overlap: 'allow_all',
      targetSelection: { deviceIds: [device] },
      parameters: { label: 'scheduled', verbose: false, count: 3 },
      secretParameters: ['token'],
      maxConcurrency: null,
      failureThreshold: { count: null, percent: 50 },
      deadlineSeconds: 600,
      paused: false,
      lastError: null,
      createdBy: 'admin@example.com',
      createdAt: '2030-01-01T00:00:00.000Z',
      updatedAt: '2030-01-01T00:00:00.000Z',
      temporal: { paused: true, note: 'freeze', upcoming: [], recentActions: [] },
      recentRuns: [],
    });
    expect(partialTargets).toBe(false);
    expect(posted).toMatchObject({
      target: 'selected',
      deviceIds: [device],
      values: { label: 'scheduled', verbose: '', count: '3' },
      maxConcurrency: '',
      thresholdCount: '',
      thresholdPercent: '50',
      deadlineSeconds: '600',
      cron: '0 3 * * *',
      intervals: [{ every: '1', everyUnit: 'h', offset: '', offsetUnit: 'h' }],
      timeZone: 'Europe/Berlin',
      startAt: '2030-01-15T03:00',
      endAt: '',
      jitterSeconds: '',
      overlap: 'allow_all',
      // Temporal's word on the pause counts.
      paused: true,
    });
  });
});

describe('small readers', () => {
  it('reads the version choice and the cron lines', () => {
    expect(versionChoiceParam('current')).toBe('current');
    expect(versionChoiceParam('3')).toBe(3);
    expect(versionChoiceParam('latest')).toBeNull();
    expect(versionChoiceParam(null)).toBeNull();
    expect(cronLines(' 0 3 * * * \r\n\n@daily')).toEqual(['0 3 * * *', '@daily']);
  });
});
