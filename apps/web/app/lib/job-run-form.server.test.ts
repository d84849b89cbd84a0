import { describe, expect, it } from 'vitest';
import { parseJobRunTarget, postedForm } from './job-run-form.server';
import type { RunParameter } from './job-run';

const device = '6f1c2b1e-8a7d-4c55-9a57-0d5c7b1b6a11';
const form = (fields: Array<[string, string]>) => {
  const f = new FormData();
  for (const [k, v] of fields) f.append(k, v);
  return f;
};
const parameters: RunParameter[] = [
  { name: 'greeting', type: 'string' },
  { name: 'token', type: 'secret' },
];

describe('postedForm', () => {
  it('keeps what was posted for the form to show again, but never a secret', () => {
    const posted = postedForm(
      form([
        ['target', 'selected'],
        ['deviceIds', device],
        ['param.greeting', 'hi'],
        ['param.token', 'hunter2-secret'],
        ['maxConcurrency', '2'],
        ['thresholdPercent', '10'],
      ]),
      parameters,
    );
    expect(posted).toMatchObject({
      target: 'selected',
      deviceIds: [device],
      values: { greeting: 'hi' },
      maxConcurrency: '2',
      thresholdPercent: '10',
    });
    expect(JSON.stringify(posted)).not.toContain('hunter2-secret');
  });

  it('takes an unknown target as the checked devices', () => {
    expect(postedForm(form([['target', 'everything']]), parameters).target).toBe('selected');
  });
});

describe('parseJobRunTarget', () => {
  it('reads the filter from its fields, leaving out what is not a status or OS family', () => {
    const parsed = parseJobRunTarget(
      form([
        ['target', 'filter'],
        ['filterSearch', ' web '],
        ['filterStatus', 'online'],
        ['filterOsFamily', 'plan9'],
      ]),
    );
    expect(parsed).toEqual({ ok: true, value: { filter: { search: 'web', status: 'online' } } });
    expect(parseJobRunTarget(form([['target', 'filter']]))).toEqual({ ok: true, value: { filter: {} } });
  });

  it('reads devices, a group or a tag as the device list does, and says what is missing', () => {
    expect(parseJobRunTarget(form([['deviceIds', device]]))).toEqual({ ok: true, value: { deviceIds: [device] } });
    expect(parseJobRunTarget(form([['target', 'selected']]))).toEqual({ ok: false, message: 'Select at least one device' });
    expect(parseJobRunTarget(form([['target', 'group']]))).toEqual({ ok: false, message: 'Choose a group' });
    expect(
      parseJobRunTarget(
        form([
          ['target', 'tag'],
          ['targetTag', 'canary'],
        ]),
      ),
    ).toEqual({ ok: true, value: { tags: ['canary'] } });
  });
});
