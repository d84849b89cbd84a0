/**
 * Deployments (ADR 24) end to end with the fleet simulator: the real API, worker, Temporal and PostgreSQL. A staged
 * rollout with a pilot pauses itself when a wave's failures cross the threshold, an operator's rollback uninstalls
 * from every device it touched; updates the rollout refuses come back as 409 with the reason; a one-wave deployment
 * completes; a dry run shows the waves.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFleet, type Fleet } from '../../agent/src/fleet-sim/index.ts';
import { createWorker } from '../../workers/src/worker.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { aptPackageVersion, untilDeploymentStatus } from '../support/deployments.ts';

const AGENTS = 40;
let t: TestApi;
let admin: string;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let scratch: string;
let fleet: Fleet;
let deviceIds: string[];

const api = async (method: string, path: string, json?: unknown, token = admin) => {
  const res = await t.request(`/api/v1${path}`, { method, token, json });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
};

beforeAll(async () => {
  t = await startTestApi({ pollWaitSeconds: 25 });
  admin = await t.tokenFor('admin');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  worker = await createWorker({
    connection,
    db: t.database.db,
    taskQueue: t.api.deps.config.temporalTaskQueue,
    shutdownGraceTime: '1 second',
  });
  running = worker.run();
  scratch = await mkdtemp(join(tmpdir(), 'deployments-'));
  const token = (await api('POST', '/enrollment-tokens', { name: 'fleet', maxUses: AGENTS, expiresInHours: 1 })).body.token as string;
  fleet = await startFleet({
    serverUrl: t.url,
    enrollmentToken: token,
    agents: AGENTS,
    rampPerSecond: 200,
    stateFile: join(scratch, 'fleet.json'),
    hostnamePrefix: 'dep',
    behaviour: { latencyMs: [5, 30] },
    // Devices 30–39 fail every command.
    subsets: [{ select: { indexes: [[30, 39]] }, behaviour: { failRate: 1, failExitCode: 1603 } }],
  });
  await fleet.ready;
  deviceIds = fleet.devices().map((d) => d.deviceId!);
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
  worker?.shutdown();
  await running;
  await connection?.close();
  await t?.close();
  await rm(scratch, { recursive: true, force: true });
});

const packageVersion = async (name: string) => (await aptPackageVersion(api, name)).versionId;
const untilStatus = (id: string, statuses: string[]) => untilDeploymentStatus(api, id, statuses);

describe('deployments', () => {
  it('a dry run shows the pilot and the waves without creating anything', async () => {
    const versionId = await packageVersion('dry-run-tool');
    const pilot = await api('POST', '/groups', { kind: 'static', name: 'Dry-run pilot' });
    await api('POST', `/groups/${pilot.body.id}/members`, { add: deviceIds.slice(0, 4) });
    const res = await api('POST', '/deployments/preview', {
      name: 'dry run',
      versionId,
      targets: { deviceIds },
      strategy: { pilotGroupId: pilot.body.id, waves: [{ percent: 25 }, { percent: 100 }] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.total).toBe(AGENTS);
    expect(res.body.waves.map((w: any) => [w.label, w.size])).toEqual([
      ['Pilot', 4],
      ['Wave 1', 9],
      ['Wave 2', 27],
    ]);
    expect(res.body.alreadyCompliant.count).toBe(0);
    expect((await api('GET', '/deployments')).body.total).toBe(0);
  });

  it('pauses itself when failures cross the threshold, refuses what makes no sense, and rolls back what it touched', async () => {
    const versionId = await packageVersion('staged-tool');
    const pilot = await api('POST', '/groups', { kind: 'static', name: 'Pilot ring' });
    await api('POST', `/groups/${pilot.body.id}/members`, { add: deviceIds.slice(0, 5) });
    const created = await api('POST', '/deployments', {
      name: 'staged tool',
      versionId,
      targets: { deviceIds },
      expectedDeviceCount: AGENTS,
      strategy: {
        pilotGroupId: pilot.body.id,
        waves: [{ count: 5 }, { percent: 100 }],
        autoPause: { failurePercent: 10, minResults: 5 },
        retries: { count: 0, backoffSeconds: 10 },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    expect(created.body.waves.map((w: any) => w.size)).toEqual([5, 5, 30]);

    const paused = await untilStatus(id, ['paused']);
    expect(paused.pausedReason).toMatch(/above the auto-pause threshold of 10%/);
    // The 10 failing devices are among the 30 of the last wave (the pilot and wave 1 are drawn from devices 0–29 only by chance).
    const failed = (await api('GET', `/deployments/${id}/devices?status=failed&pageSize=200`)).body;
    expect(failed.total).toBeGreaterThan(0);
    expect(failed.items.every((d: any) => d.exitCode === 1603)).toBe(true);

    const again = await api('POST', `/deployments/${id}/pause`, {});
    expect(again.status).toBe(409);
    expect(again.body.detail).toBe('The deployment is already paused.');

    const events = (await api('GET', `/deployments/${id}/events`)).body.items.map((e: any) => e.type);
    expect(events).toContain('paused');

    const rolled = await api('POST', `/deployments/${id}/rollback`, { reason: 'too many failures' });
    expect(rolled.status, JSON.stringify(rolled.body)).toBe(200);
    const done = await untilStatus(id, ['rolled_back']);
    const touched = (await api('GET', `/deployments/${id}/devices?pageSize=200`)).body.items.filter(
      (d: any) => d.status !== 'planned' && d.status !== 'cancelled',
    );
    expect(touched.length).toBeGreaterThan(0);
    expect(touched.every((d: any) => d.rollback !== null)).toBe(true);
    expect(done.rollback.uninstalled + done.rollback.failed).toBe(touched.length);
    const resume = await api('POST', `/deployments/${id}/resume`, {});
    expect(resume.status).toBe(409);
  });

  it('a one-wave deployment completes with every device succeeded', async () => {
    const versionId = await packageVersion('one-wave-tool');
    const created = await api('POST', '/deployments', { name: 'one wave', versionId, targets: { deviceIds: deviceIds.slice(0, 20) } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const done = await untilStatus(created.body.id, ['completed']);
    expect(done.counts.succeeded).toBe(20);
    expect(done.successRate).toBe(100);
    expect(done.waves[0].state).toBe('completed');
  });
});
