import { describe, expect, it } from 'vitest';
import {
  echoedTexts,
  initialText,
  isRequired,
  parameterField,
  parameterValues,
  runFormIssues,
  selectionOf,
  stepProgress,
  thresholdText,
  valueText,
  type RunParameter,
  type TargetState,
} from './job-run';

const parameters: RunParameter[] = [
  { name: 'greeting', type: 'string', required: true, default: 'hello' },
  { name: 'count', type: 'number', integer: true, min: 1, max: 5, default: 2 },
  { name: 'dry_run', type: 'boolean', default: true },
  { name: 'mode', type: 'enum', values: ['fast', 'safe'], default: 'safe' },
  { name: 'token', type: 'secret' },
  { name: 'host', type: 'device', field: 'hostname' },
];
const reader = (fields: Record<string, string>) => (field: string) => fields[field] ?? null;

describe('parameter fields', () => {
  it('start from the defaults (a checkbox as "true"), never with a secret', () => {
    const texts = parameters.flatMap((p) => (p.type === 'device' ? [] : [[p.name, initialText(p)]]));
    expect(Object.fromEntries(texts)).toEqual({ greeting: 'hello', count: '2', dry_run: 'true', mode: 'safe', token: '' });
  });

  it('a secret is required unless the job says otherwise', () => {
    expect(isRequired({ name: 't', type: 'secret' })).toBe(true);
    expect(isRequired({ name: 't', type: 'secret', required: false })).toBe(false);
    expect(isRequired({ name: 's', type: 'string' })).toBe(false);
  });
});

describe('parameterValues', () => {
  it('types what was posted: numbers, checkboxes (absent: false), text; leaves empty fields out and device ones alone', () => {
    const values = parameterValues(
      parameters,
      reader({
        [parameterField('greeting')]: 'hi there',
        [parameterField('count')]: ' 3 ',
        [parameterField('token')]: 's3cret',
        host: 'x',
      }),
    );
    expect(values).toEqual({ greeting: 'hi there', count: 3, dry_run: false, token: 's3cret' });
  });

  it('sends a number that does not read as one as typed, for the API to name', () => {
    expect(parameterValues(parameters, reader({ [parameterField('count')]: '3e' }))).toMatchObject({ count: '3e' });
    expect(parameterValues(parameters, reader({ [parameterField('count')]: '   ' }))).not.toHaveProperty('count');
  });

  it('a checked box is true', () => {
    expect(parameterValues(parameters, reader({ [parameterField('dry_run')]: 'true' }))).toMatchObject({ dry_run: true });
  });
});

describe('echoedTexts', () => {
  it('gives back every posted text but a secret', () => {
    const posted = reader({
      [parameterField('greeting')]: 'hi',
      [parameterField('count')]: '9',
      [parameterField('dry_run')]: 'true',
      [parameterField('token')]: 's3cret',
    });
    const echoed = echoedTexts(parameters, posted);
    expect(echoed).toEqual({ greeting: 'hi', count: '9', dry_run: 'true', mode: '' });
    expect(JSON.stringify(echoed)).not.toContain('s3cret');
  });
});

describe('runFormIssues', () => {
  it('puts each issue at its field: parameters by name, limits, targets, and the rest as text', () => {
    const issues = runFormIssues([
      { path: 'parameters.count', message: 'must be at most 5' },
      { path: 'parameters.mode', message: 'is required' },
      { path: 'body.parameters.count', message: 'must be a whole number' },
      { path: 'failureThreshold.percent', message: 'Too big' },
      { path: 'failureThreshold', message: 'give count, percent or both' },
      { path: 'maxConcurrency', message: 'Too small' },
      { path: 'deviceIds', message: 'unknown device' },
      { path: 'definition.steps', message: 'no stored file' },
      { path: 'parameters', message: 'at most 50 parameters' },
    ]);
    expect(issues.parameters).toEqual({ count: 'must be at most 5; must be a whole number', mode: 'is required' });
    expect(issues.fields).toEqual({
      thresholdPercent: 'Too big',
      thresholdCount: 'give count, percent or both',
      maxConcurrency: 'Too small',
      target: 'unknown device',
    });
    expect(issues.other).toEqual(['definition.steps: no stored file', 'parameters: at most 50 parameters']);
  });
});

describe('texts', () => {
  it('says which step a device is on', () => {
    const steps = [{ name: 'fetch' }, { name: 'deploy' }, { name: 'report' }];
    expect(stepProgress(1, steps)).toBe('step 2 of 3: deploy');
    expect(stepProgress(null, steps)).toBeNull();
    expect(stepProgress(5, steps)).toBe('step 6 of 3');
  });

  it('says what stops a run', () => {
    expect(thresholdText({ count: 3, percent: 10 })).toBe('3 failed devices or 10 % of the devices');
    expect(thresholdText({ count: 1, percent: null })).toBe('1 failed device');
    expect(thresholdText({ count: null, percent: 25 })).toBe('25 % of the devices');
    expect(thresholdText(null)).toBeNull();
  });

  it('shows values', () => {
    expect([valueText(true), valueText(false), valueText(2.5), valueText('x')]).toEqual(['Yes', 'No', '2.5', 'x']);
  });
});

describe('selectionOf', () => {
  const base: TargetState = {
    target: 'selected',
    deviceIds: [],
    targetGroupId: '',
    targetTag: '',
    filterSearch: '',
    filterStatus: '',
    filterOsFamily: '',
  };

  it('selects nothing until a device, group or tag is chosen', () => {
    expect(selectionOf(base)).toBeNull();
    expect(selectionOf({ ...base, target: 'group' })).toBeNull();
    expect(selectionOf({ ...base, target: 'tag' })).toBeNull();
  });

  it('is the API selection of what was picked (devices in a stable order)', () => {
    expect(selectionOf({ ...base, deviceIds: ['b', 'a'] })).toEqual({ deviceIds: ['a', 'b'] });
    expect(selectionOf({ ...base, target: 'group', targetGroupId: 'g' })).toEqual({ groupIds: ['g'] });
    expect(selectionOf({ ...base, target: 'tag', targetTag: 'canary' })).toEqual({ tags: ['canary'] });
    expect(selectionOf({ ...base, target: 'filter', filterSearch: ' web ', filterOsFamily: 'linux' })).toEqual({
      filter: { search: 'web', osFamily: 'linux' },
    });
    expect(selectionOf({ ...base, target: 'filter' })).toEqual({ filter: {} });
  });
});
