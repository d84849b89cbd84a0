import { describe, expect, it } from 'vitest';
import { barSegments, chartLines, controlsFor, deploymentFormIssues, parseWaves, progressOf, wavesText, windowText } from './deployments';

describe('the waves field', () => {
  it('reads cumulative percentages and device counts, in order', () => {
    expect(parseWaves('5, 25%  100%')).toEqual({ ok: true, waves: [{ count: 5 }, { percent: 25 }, { percent: 100 }] });
    expect(parseWaves('12.5%;100%')).toEqual({ ok: true, waves: [{ percent: 12.5 }, { percent: 100 }] });
    expect(parseWaves('  ')).toEqual({ ok: true, waves: null });
  });
  it('refuses what is neither', () => {
    expect(parseWaves('10%, half')).toMatchObject({ ok: false, message: expect.stringContaining('half') });
    expect(parseWaves('2.5')).toMatchObject({ ok: false, message: expect.stringContaining('whole number') });
    expect(parseWaves('-5')).toMatchObject({ ok: false });
  });
  it('writes back what it reads', () => {
    const read = parseWaves('5, 25%, 100%');
    expect(read.ok && wavesText(read.waves ?? [])).toBe('5, 25%, 100%');
  });
});

describe('controls', () => {
  it('offers what the status can do', () => {
    expect(controlsFor({ status: 'running', action: 'install' })).toEqual(['pause', 'abort', 'rollback']);
    expect(controlsFor({ status: 'paused', action: 'install' })).toEqual(['resume', 'abort', 'rollback']);
    expect(controlsFor({ status: 'paused', action: 'uninstall' })).toEqual(['resume', 'abort']);
    expect(controlsFor({ status: 'completed', action: 'install' })).toEqual(['rollback']);
    expect(controlsFor({ status: 'aborted', action: 'install' })).toEqual(['rollback']);
    expect(controlsFor({ status: 'failed', action: 'uninstall' })).toEqual([]);
    expect(controlsFor({ status: 'rejected', action: 'install' })).toEqual([]);
    expect(controlsFor({ status: 'rolling_back', action: 'install' })).toEqual([]);
    expect(controlsFor({ status: 'rolled_back', action: 'install' })).toEqual([]);
    expect(controlsFor({ status: 'pending_approval', action: 'install' })).toEqual([]);
  });
});

describe("the API's issues on the wizard", () => {
  it('land on their fields, the longest prefix first', () => {
    const issues = deploymentFormIssues([
      { path: 'strategy.health.script.timeoutSeconds', message: 'too big' },
      { path: 'strategy.health.script.command', message: 'empty' },
      { path: 'strategy.waves.1.percent', message: 'at most 100' },
      { path: 'targets.deviceIds', message: 'none' },
      { path: 'strategy.waveDeadlineSeconds', message: 'odd' },
    ]);
    expect(issues.fields).toEqual({
      healthTimeoutSeconds: 'too big',
      healthScript: 'empty',
      waves: 'at most 100',
      target: 'none',
    });
    expect(issues.other).toEqual(['strategy.waveDeadlineSeconds: odd']);
  });
});

describe('progress', () => {
  const counts = { succeeded: 3, already_installed: 1, failed: 2, installing: 1, planned: 3 };
  it('counts succeeded, failed and pending', () => {
    expect(progressOf(counts)).toEqual({ succeeded: 4, failed: 2, pending: 4, inProgress: 1 });
  });
  it('splits a bar by status in percent of the size', () => {
    const segments = barSegments(counts, 10);
    expect(segments.map((s) => [s.status, s.percent])).toEqual([
      ['succeeded', 30],
      ['already_installed', 10],
      ['failed', 20],
      ['installing', 10],
      ['planned', 30],
    ]);
  });
});

describe('the chart', () => {
  it('spreads points by time and scales to the largest value', () => {
    const lines = chartLines(
      [
        { at: '2026-01-01T00:00:00Z', succeeded: 0, failed: 0 },
        { at: '2026-01-01T00:01:00Z', succeeded: 2, failed: 1 },
        { at: '2026-01-01T00:04:00Z', succeeded: 4, failed: 1 },
      ],
      100,
      50,
    );
    expect(lines.max).toBe(4);
    expect(lines.succeeded).toBe('0,50 25,25 100,0');
    expect(lines.failed).toBe('0,50 25,37.5 100,37.5');
  });
  it('draws nothing for no points', () => {
    expect(chartLines([], 100, 50)).toMatchObject({ succeeded: '', failed: '', max: 1 });
  });
});

it('describes a window', () => {
  expect(windowText({ recurrence: 'daily', daysOfWeek: [], startTime: '02:00', durationMinutes: 120 })).toBe('Daily 02:00 for 2 h');
  expect(windowText({ recurrence: 'weekly', daysOfWeek: [3, 1], startTime: '22:30', durationMinutes: 90 })).toBe(
    'Mon, Wed 22:30 for 90 min',
  );
});
