import { describe, expect, it } from 'vitest';
import { defaultDeploymentForm, deploymentRequest, postedDeploymentForm } from './deployment-form.server';

const VERSION = '6f1d1c0e-8a4b-4c2e-9b7a-1d2e3f4a5b6c';
const GROUP = '0b9f2a4e-3c1d-4e5f-8a7b-9c0d1e2f3a4b';
const SOURCE = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';

/** The wizard's defaults posted with `changes` (checkboxes left out of the post when unchecked, like a browser). */
function post(changes: Record<string, string | string[] | null>): FormData {
  const form = new FormData();
  const values: Record<string, string | string[] | null> = { ...defaultDeploymentForm(VERSION, 'Tool 1.0'), ...changes };
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === '') continue;
    for (const v of Array.isArray(value) ? value : [value]) form.append(key, v);
  }
  return form;
}

const build = (changes: Record<string, string | string[] | null>) => {
  const form = post({ target: 'group', targetGroupId: GROUP, ...changes });
  return deploymentRequest(postedDeploymentForm(form), form);
};

describe('the wizard as a deployment request', () => {
  it('sends the defaults as the API takes them', () => {
    const built = build({});
    expect(built).toEqual({
      ok: true,
      body: {
        name: 'Tool 1.0',
        versionId: VERSION,
        action: 'install',
        targets: { groupIds: [GROUP] },
        strategy: {
          waves: [{ percent: 10 }, { percent: 50 }, { percent: 100 }],
          soakSeconds: 0,
          successPercent: 95,
          autoPause: { failurePercent: 10, minResults: 10 },
          health: null,
          respectMaintenanceWindows: true,
          rebootPolicy: 'suppress',
          network: { skipMetered: false },
          retries: { count: 2, backoffSeconds: 300 },
        },
      },
    });
  });

  it('converts units, reads times in the zone, and leaves out what is switched off', () => {
    const built = build({
      pilotGroupId: GROUP,
      waves: '5, 100%',
      soakMinutes: '90',
      autoPause: null,
      respectWindows: null,
      health: 'on',
      healthOfflineMinutes: '10',
      healthScript: 'systemctl is-active app',
      healthShell: 'bash',
      healthOnFailure: 'rollback',
      rebootPolicy: 'force',
      rebootMessage: 'Restarting for an update',
      rebootDelaySeconds: '120',
      maxKilobytesPerSecond: '512',
      skipMetered: 'on',
      sourceIds: [SOURCE, 'not-a-uuid'],
      timeZone: 'Europe/Berlin',
      startsAt: '2030-07-01T03:00',
      deadlineAt: '2030-07-02T03:00',
      maxConcurrency: '25',
    });
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(built.body.startsAt).toBe('2030-07-01T03:00:00+02:00');
    expect(built.body.deadlineAt).toBe('2030-07-02T03:00:00+02:00');
    expect(built.body.strategy).toEqual({
      pilotGroupId: GROUP,
      waves: [{ count: 5 }, { percent: 100 }],
      soakSeconds: 5400,
      successPercent: 95,
      autoPause: null,
      health: {
        maxExcessPercent: 10,
        minDevices: 5,
        offlineAfterSeconds: 600,
        onFailure: 'rollback',
        script: { command: 'systemctl is-active app', shell: 'bash', timeoutSeconds: 60 },
      },
      respectMaintenanceWindows: false,
      rebootPolicy: 'force',
      rebootNotice: { message: 'Restarting for an update', delaySeconds: 120 },
      network: { skipMetered: true, maxBytesPerSecond: 512 * 1024, sourceIds: [SOURCE] },
      retries: { count: 2, backoffSeconds: 300 },
      maxConcurrency: 25,
    });
  });

  it('sends a number field that is not one as typed (the API says what is wrong)', () => {
    const built = build({ successPercent: 'lots' });
    expect(built.ok && built.body.strategy?.successPercent).toBe('lots');
  });

  it('refuses what it cannot build: no target, waves that do not read, a time that is not one, no version', () => {
    expect(build({ target: 'selected', targetGroupId: null })).toEqual({ ok: false, fields: { target: expect.any(String) } });
    expect(build({ waves: '10%, most' })).toMatchObject({ ok: false, fields: { waves: expect.stringContaining('most') } });
    expect(build({ startsAt: '2030-02-30T03:00' })).toMatchObject({ ok: false, fields: { startsAt: 'is not a date and time' } });
    expect(build({ versionId: 'nope' })).toMatchObject({ ok: false, fields: { versionId: 'Choose a package version' } });
  });
});
