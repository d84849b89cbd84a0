/**
 * Deployments (ADR 24) at fleet scale, end to end: 500 simulated devices, the real API, Temporal, PostgreSQL and the
 * worker as a process of its own (so it can be killed).
 * - A staged rollout with a pilot group where wave 2 gets 30% injected install failures pauses itself at the
 *   auto-pause threshold, says so (timeline and a `deployment.paused` domain event), and the operator's rollback
 *   uninstalls from every device it touched; the devices of later waves were never touched.
 * - A rollout whose installs all succeed but after which 20% of the updated devices stop checking in is paused by the
 *   post-install health analysis during the soak.
 * - The worker is killed in the middle of a wave: the rollout completes, no device installs twice, none is skipped.
 * - Required group assignments: a device that joins the group gets the software, one that leaves gets it
 *   uninstalled, and a package a user removed by hand is reinstalled by the periodic enforcement.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFleet, type Fleet } from '../../agent/src/fleet-sim/index.ts';
import { fromSources, startChild, type Child } from '../../scripts/lib/child.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { aptPackageVersion, untilDeploymentStatus } from '../support/deployments.ts';
import { repoRoot, waitFor } from '../support/tools.ts';

const AGENTS = 500;
let t: TestApi;
let admin: string;
let worker: Child | undefined;
const workerLog: string[] = [];
let scratch: string;
let fleet: Fleet;
let deviceIds: string[];
const indexOf = new Map<string, number>();
/** Every result the fleet reported: command ID → device and software outcome. */
const results = new Map<string, { deviceId: string; outcome: string | undefined }>();

const api = async (method: string, path: string, json?: unknown, token = admin) => {
  const res = await t.request(`/api/v1${path}`, { method, token, json });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
};

async function startWorker(): Promise<void> {
  const lines = workerLog.length;
  worker = startChild('worker', ...fromSources(join(repoRoot, 'workers/src/main.ts')), {
    env: {
      DATABASE_URL: t.database.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: t.api.deps.config.temporalTaskQueue,
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    },
    output: (line) => workerLog.push(line),
  });
  await waitFor(
    'the worker to poll',
    async () => workerLog.slice(lines).some((l) => /RUNNING|Worker state changed|worker started/i.test(l)),
    90_000,
    200,
  );
}

beforeAll(async () => {
  // Idle devices poll every 10 s, so one not heard from for 30 s (the health analysis' shortest limit) is silent.
  t = await startTestApi({ pollWaitSeconds: 10, lastSeenFlushSeconds: 2, assignmentEnforceIntervalSeconds: 10 });
  admin = await t.tokenFor('admin');
  await startWorker();
  scratch = await mkdtemp(join(tmpdir(), 'rollouts-'));
  const token = (await api('POST', '/enrollment-tokens', { name: 'fleet', maxUses: AGENTS, expiresInHours: 1 })).body.token as string;
  fleet = await startFleet({
    serverUrl: t.url,
    enrollmentToken: token,
    agents: AGENTS,
    rampPerSecond: 250,
    stateFile: join(scratch, 'fleet.json'),
    hostnamePrefix: 'roll',
    behaviour: { latencyMs: [5, 40] },
    onResult: (r) => results.set(r.commandId, { deviceId: r.deviceId, outcome: r.softwareOutcome }),
  });
  await fleet.ready;
  for (const d of fleet.devices()) indexOf.set(d.deviceId!, d.index);
  deviceIds = [...indexOf.keys()];
}, 240_000);

afterAll(async () => {
  await fleet?.stop();
  await worker?.stop();
  await t?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The fleet's selector for these devices. */
const devicesSelected = (ids: string[]) => ({ indexes: ids.map((id) => [indexOf.get(id)!, indexOf.get(id)!] as const) });
const installedOn = (versionId: string) => new Set(fleet.devices().flatMap((d) => (d.installed.includes(versionId) ? [d.deviceId!] : [])));

const packageVersion = (name: string) => aptPackageVersion(api, name);

async function staticGroup(name: string, members: string[]): Promise<string> {
  const group = await api('POST', '/groups', { kind: 'static', name });
  expect(group.status, JSON.stringify(group.body)).toBe(201);
  if (members.length) expect((await api('POST', `/groups/${group.body.id}/members`, { add: members })).status).toBeLessThan(300);
  return group.body.id as string;
}

/** Every device of a deployment (the API pages by 200). */
async function deploymentDevices(id: string, query = ''): Promise<any[]> {
  const all: any[] = [];
  for (let page = 1; ; page++) {
    const res = await api('GET', `/deployments/${id}/devices?pageSize=200&page=${page}${query}`);
    expect(res.status).toBe(200);
    all.push(...res.body.items);
    if (all.length >= res.body.total || res.body.items.length === 0) return all;
  }
}

const untilStatus = (id: string, statuses: string[], timeoutMs = 180_000) => untilDeploymentStatus(api, id, statuses, timeoutMs);

const soon = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

describe('rollouts at fleet scale', () => {
  it('a staged rollout to 500 devices with a pilot pauses itself when wave 2 fails, notifies, and its rollback uninstalls from every touched device', async () => {
    const { versionId } = await packageVersion('fleet-agent-tool');
    const pilot = await staticGroup('Rollout pilot', deviceIds.slice(0, 10));
    const created = await api('POST', '/deployments', {
      name: 'fleet agent tool',
      versionId,
      targets: { deviceIds },
      expectedDeviceCount: AGENTS,
      startsAt: soon(3),
      strategy: {
        pilotGroupId: pilot,
        waves: [{ percent: 10 }, { percent: 40 }, { percent: 100 }],
        autoPause: { failurePercent: 10, minResults: 20 },
        retries: { count: 0, backoffSeconds: 10 },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    expect(created.body.waves.map((w: any) => [w.label, w.size])).toEqual([
      ['Pilot', 10],
      ['Wave 1', 49],
      ['Wave 2', 147],
      ['Wave 3', 294],
    ]);
    // 30% of wave 2's devices will fail their install with 1603 (MSI's fatal error).
    const wave2 = (await deploymentDevices(id, '&wave=2')).map((d) => d.deviceId as string);
    expect(wave2).toHaveLength(147);
    const failing = wave2.slice(0, Math.round(wave2.length * 0.3));
    expect(fleet.changeBehaviour(devicesSelected(failing), { installFailRate: 1 })).toBe(failing.length);
    try {
      const paused = await untilStatus(id, ['paused']);
      expect(paused.currentWave).toBe(2);
      expect(paused.pausedReason).toMatch(/^Wave 2: .*above the auto-pause threshold of 10%/);
      expect(paused.waves.slice(0, 2).map((w: any) => w.state)).toEqual(['completed', 'completed']);
      expect(paused.waves[3].state).toBe('planned');
      const failed = await deploymentDevices(id, '&status=failed');
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((d) => failing.includes(d.deviceId) && d.exitCode === 1603)).toBe(true);
      expect(paused.failedByReason[0]).toMatchObject({ exitCode: 1603 });
      // Notified: on the timeline, and as a domain event the alerting consumers take.
      const events = (await api('GET', `/deployments/${id}/events`)).body.items;
      expect(events.find((e: any) => e.type === 'paused').message).toMatch(/^Paused itself: Wave 2/);
      const notified = await t.database.db.prisma.domainEvent.findMany({ where: { type: 'deployment.paused', subjectId: id } });
      expect(notified).toHaveLength(1);
      expect(notified[0]!.payload).toMatchObject({ automatic: true });
    } finally {
      fleet.changeBehaviour(devicesSelected(failing), { installFailRate: null });
    }

    const rolled = await api('POST', `/deployments/${id}/rollback`, { reason: 'wave 2 fails with 1603' });
    expect(rolled.status, JSON.stringify(rolled.body)).toBe(200);
    const done = await untilStatus(id, ['rolled_back']);
    const devices = await deploymentDevices(id);
    // Touched: the install ran (those of wave 2 still held back when it paused were cancelled).
    const touched = devices.filter((d) => ['succeeded', 'failed', 'reboot_pending'].includes(d.status));
    expect(touched.length).toBeGreaterThanOrEqual(10 + 49 + 20);
    expect(touched.every((d) => d.wave <= 2)).toBe(true);
    expect(devices.filter((d) => d.wave === 3).every((d) => d.jobRunId === null && d.status === 'cancelled')).toBe(true);
    expect(devices.filter((d) => !touched.includes(d)).every((d) => d.rollback === null)).toBe(true);
    expect(done.rollback).toMatchObject({ failed: 0, pending: 0 });
    expect(done.rollback.uninstalled).toBe(touched.length);
    expect(touched.every((d) => d.rollback === 'uninstalled')).toBe(true);
    // Nothing of the version is left anywhere.
    expect(installedOn(versionId).size).toBe(0);
  }, 300_000);

  it('pauses a rollout whose installs succeed when 20% of the updated devices stop checking in', async () => {
    const { versionId } = await packageVersion('breaks-network-tool');
    const created = await api('POST', '/deployments', {
      name: 'breaks the network',
      versionId,
      targets: { deviceIds },
      expectedDeviceCount: AGENTS,
      startsAt: soon(3),
      strategy: {
        waves: [{ percent: 20 }, { percent: 100 }],
        soakSeconds: 600,
        health: { offlineAfterSeconds: 30, maxExcessPercent: 10, minDevices: 20, onFailure: 'pause' },
        retries: { count: 0, backoffSeconds: 10 },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    const wave0 = (await deploymentDevices(id, '&wave=0')).map((d) => d.deviceId as string);
    expect(wave0).toHaveLength(100);
    const breaking = wave0.slice(0, 20);
    fleet.changeBehaviour(devicesSelected(breaking), { silentAfterInstallRate: 1 });
    try {
      const paused = await untilStatus(id, ['paused'], 240_000);
      expect(paused.currentWave).toBe(0);
      // Every install succeeded: it is the health analysis that stopped the rollout.
      expect(paused.waves[0].counts.succeeded).toBe(100);
      expect(paused.waves[0].state).toBe('soaking');
      expect(paused.pausedReason).toBe(
        'Wave 1: 20 of 100 updated devices are unhealthy (20%) against 0% of the devices not yet updated, more than 10% above',
      );
      expect(paused.waves[0].health).toMatchObject({ watched: 100, unhealthy: 20, baselineUnhealthy: 0 });
      expect(paused.waves[1].state).toBe('planned');
      const unhealthy = (await deploymentDevices(id, '&wave=0')).filter((d) => d.healthFailure !== null);
      expect(unhealthy.map((d) => d.deviceId).sort()).toEqual([...breaking].sort());
      expect(unhealthy[0].healthFailure).toMatch(/^not heard from since /);
    } finally {
      fleet.changeBehaviour(devicesSelected(breaking), { silentAfterInstallRate: 0 });
      await fleet.revive();
    }
    expect((await api('POST', `/deployments/${id}/abort`, { reason: 'devices went dark' })).status).toBe(200);
    await untilStatus(id, ['aborted']);
  }, 300_000);

  it('completes a wave whose worker was killed in the middle: no device installs twice, none is skipped', async () => {
    const { versionId } = await packageVersion('survives-worker-crash');
    fleet.changeBehaviour(undefined, { latencyMs: [500, 3000] });
    let created: any;
    try {
      created = await api('POST', '/deployments', {
        name: 'worker crash',
        versionId,
        targets: { deviceIds },
        expectedDeviceCount: AGENTS,
        strategy: { waves: [{ percent: 100 }], retries: { count: 0, backoffSeconds: 10 } },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      await waitFor(
        'a quarter of the wave to finish',
        async () => ((await api('GET', `/deployments/${created.body.id}`)).body.counts.succeeded ?? 0) >= AGENTS / 4,
        120_000,
        200,
      );
      worker!.kill('SIGKILL');
      await worker!.exited;
      await new Promise((r) => setTimeout(r, 3000)); // devices go on reporting while no worker runs
      await startWorker();
    } finally {
      fleet.changeBehaviour(undefined, { latencyMs: [5, 40] });
    }
    const done = await untilStatus(created.body.id, ['completed'], 240_000);
    expect(done.counts.succeeded).toBe(AGENTS);
    const commands = await t.database.db.pool.query<{ device_id: string; id: string }>(
      `SELECT c.device_id, c.id FROM agent_commands c JOIN job_run_devices t ON t.id = c.job_run_device_id
         JOIN job_runs r ON r.id = t.job_run_id WHERE r.deployment_id = $1`,
      [created.body.id],
    );
    const perDevice = new Map<string, number>();
    for (const c of commands.rows) perDevice.set(c.device_id, (perDevice.get(c.device_id) ?? 0) + 1);
    expect(perDevice.size).toBe(AGENTS);
    expect([...perDevice.values()].every((n) => n === 1)).toBe(true);
    expect(commands.rows.every((c) => results.get(c.id)?.outcome === 'installed')).toBe(true);
    expect(installedOn(versionId).size).toBe(AGENTS);
  }, 300_000);

  it('required group assignments install on joiners, uninstall from leavers, and bring back what a user removed', async () => {
    const { packageId, versionId } = await packageVersion('kept-installed-tool');
    const members = deviceIds.slice(100, 110);
    const group = await staticGroup('Keeps the tool', members);
    const assigned = await api('POST', '/software/assignments', {
      packageId,
      versionId,
      groupIds: [group],
      intent: 'required',
      uninstallOnLeave: true,
    });
    expect(assigned.status, JSON.stringify(assigned.body)).toBe(201);
    const exactly = (ids: string[]) => async () => {
      const now = installedOn(versionId);
      return now.size === ids.length && ids.every((d) => now.has(d)) ? true : undefined;
    };
    await waitFor('the members to get the tool', exactly(members), 60_000, 250);

    const joiner = deviceIds[110]!;
    const leaver = members[0]!;
    expect((await api('POST', `/groups/${group}/members`, { add: [joiner], remove: [leaver] })).status).toBeLessThan(300);
    const nowMembers = [...members.slice(1), joiner];
    await waitFor('the joiner to get the tool and the leaver to lose it', exactly(nowMembers), 60_000, 250);

    const user = members[1]!;
    expect(fleet.removeSoftware(devicesSelected([user]), versionId)).toBe(1);
    expect(installedOn(versionId).has(user)).toBe(false);
    await waitFor('the enforcement to reinstall it', exactly(nowMembers), 60_000, 250);
    const listed = (await api('GET', `/software/assignments?groupId=${group}`)).body.items;
    expect(listed[0].enforcedAt).not.toBeNull();
  }, 300_000);
});
