/**
 * The fleet simulator's software commands against the real API, worker, Temporal and PostgreSQL: 50 virtual
 * devices get a `software.install` job run of a package version created through the API; the ones told to fail
 * report `failed` with the installer's 1603, the others `installed`; some go silent after installing (their
 * last-seen stops advancing and the API shows them offline) until revived. A second install reports
 * `already_installed` (and reinstalls a version a user removed by hand), a restarted simulator still knows what is
 * installed (state file), and an uninstall reports `uninstalled` where it was installed and `not_installed` elsewhere.
 * Devices told to download artifacts fetch a version's installer from the depot and report its bytes and source.
 * Silent devices stay silent across a restart of the simulator, until its command line is sent SIGUSR2.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFleet, type BehaviourSubset, type Fleet } from '../../agent/src/fleet-sim/index.ts';
import { readFleetState } from '../../agent/src/fleet-sim/state-file.ts';
import { createWorker } from '../../workers/src/worker.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { repoRoot, waitFor } from '../support/tools.ts';

const AGENTS = 50;
const FAILING = [40, 49] as const;
const SILENT = [30, 34] as const;
const ONLINE_WINDOW_SECONDS = 12;
const BUILT_IN_DEPOT = '00000000-0000-4000-8000-000000000001';
const DOWNLOADING = [0, 4] as const;

let t: TestApi;
let admin: string;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let scratch: string;
let fleet: Fleet | undefined;
let versionId: string;

const subsets: BehaviourSubset[] = [
  { select: { indexes: [FAILING] }, behaviour: { installFailRate: 1 } },
  { select: { indexes: [SILENT] }, behaviour: { silentAfterInstallRate: 1 } },
  { select: { indexes: [DOWNLOADING] }, behaviour: { downloadArtifacts: true } },
];
const hostname = (i: number) => `sw-${String(i).padStart(5, '0')}`;
const inRange = (i: number, [from, to]: readonly [number, number]) => i >= from && i <= to;

beforeAll(async () => {
  // Polls every 5 s mark a device seen; a silent device drops out of the (short) online window.
  // A master key, so the depot has a signing key for artifact manifests.
  t = await startTestApi(
    // No stale band: a device out of the online window is offline.
    {
      pollWaitSeconds: 5,
      presence: { onlineWindowSeconds: ONLINE_WINDOW_SECONDS, offlineAfterSeconds: ONLINE_WINDOW_SECONDS },
      lastSeenFlushSeconds: 1,
    },
    { secretsMasterKeys: [{ id: 'k1', key: randomBytes(32) }] },
  );
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
  scratch = await mkdtemp(join(tmpdir(), 'fleet-sim-software-'));
}, 180_000);
afterAll(async () => {
  await fleet?.stop();
  worker?.shutdown();
  await running;
  await connection?.close();
  await t?.close();
  await rm(scratch, { recursive: true, force: true });
});

const api = async (method: string, path: string, json?: unknown) => {
  const res = await t.request(`/api/v1${path}`, { method, token: admin, json });
  return { status: res.status, body: (await res.json()) as any };
};
const onlineCount = async () => (await api('GET', '/devices?status=online&pageSize=1')).body.total as number;

/** A software job run on every device; its targets by device index. */
async function softwareRun(kind: 'software.install' | 'software.uninstall', id = versionId): Promise<Map<number, any>> {
  const created = await api('POST', '/job-runs', { filter: {}, action: { kind, versionId: id }, expectedDeviceCount: AGENTS });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const run = await waitFor(
    `the ${kind} run to finish`,
    async () => {
      const { body } = await api('GET', `/job-runs/${created.body.id}`);
      return body.finishedAt ? body : null;
    },
    90_000,
    250,
  );
  const byIndex = new Map<number, any>();
  for (const target of run.targets) byIndex.set(Number(/(\d+)$/.exec(target.hostname)![1]), target);
  expect(byIndex.size).toBe(AGENTS);
  return byIndex;
}

describe('the fleet simulator with software commands', () => {
  it('installs a package version, failing where told to with 1603, and devices told to go silent stop checking in', async () => {
    const pkg = await api('POST', '/software/packages', { name: `Sim app ${randomUUID()}`, platform: 'linux' });
    expect(pkg.status, JSON.stringify(pkg.body)).toBe(201);
    const version = await api('POST', `/software/packages/${pkg.body.id}/versions`, {
      version: '1.0.0',
      installerType: 'apt',
      packageName: 'sim-app',
      timeoutSeconds: 300,
    });
    expect(version.status, JSON.stringify(version.body)).toBe(201);
    versionId = version.body.id;

    const token = (await api('POST', '/enrollment-tokens', { name: 'fleet-sw', maxUses: AGENTS, expiresInHours: 1 })).body.token as string;
    fleet = await startFleet({
      serverUrl: t.url,
      enrollmentToken: token,
      agents: AGENTS,
      rampPerSecond: Infinity,
      stateFile: join(scratch, 'fleet.json'),
      hostnamePrefix: 'sw',
      behaviour: { latencyMs: [10, 50] },
      subsets,
    });
    await fleet.ready;
    expect(await onlineCount()).toBe(AGENTS);

    const targets = await softwareRun('software.install');
    for (let i = 0; i < AGENTS; i++) {
      const expected = inRange(i, FAILING)
        ? {
            status: 'failed',
            exitCode: 1603,
            software: { outcome: 'failed', installerExitCode: 1603, detectedBefore: false, detail: 'the installer exited with 1603' },
          }
        : {
            status: 'succeeded',
            exitCode: 0,
            software: { outcome: 'installed', installerExitCode: 0, detectedBefore: false, detectedAfter: true },
          };
      expect(targets.get(i), `device ${i}`).toMatchObject(expected);
      expect(targets.get(i).software).toMatchObject({ rebootRequired: false, sourceId: null, fromCache: false, bytesDownloaded: 0 });
    }
    const devices = fleet.devices();
    for (const d of devices) expect(d.installed, `device ${d.index}`).toEqual(inRange(d.index, FAILING) ? [] : [versionId]);
    expect(fleet.stats().softwareOutcomes).toEqual({ installed: 40, failed: 10 });

    // The silent ones stopped: their last-seen stands still while the others' advances, and they drop offline.
    await waitFor('the silent devices to stop', async () => fleet!.counts().silent === SILENT[1] - SILENT[0] + 1, 10_000, 50);
    expect(fleet.devices({ indexes: [SILENT] }).every((d) => d.status === 'silent' && d.silent)).toBe(true);
    expect(fleet.stats().wentSilent).toBe(5);
    const lastSeen = async (index: number) =>
      Date.parse((await api('GET', `/devices/${devices[index]!.deviceId}`)).body.lastSeenAt as string);
    const silentBefore = await lastSeen(SILENT[0]);
    const busyBefore = await lastSeen(0);
    await waitFor('an online device to be seen again', async () => (await lastSeen(0)) > busyBefore, 20_000, 500);
    expect(await lastSeen(SILENT[0])).toBe(silentBefore);
    await waitFor(
      'the silent devices to show offline',
      async () => (await onlineCount()) === AGENTS - 5,
      (ONLINE_WINDOW_SECONDS + 15) * 1000,
      500,
    );
    const offline = (await api('GET', '/devices?status=offline&pageSize=100')).body.items.map((d: any) => d.hostname).sort();
    expect(offline).toEqual([30, 31, 32, 33, 34].map(hostname));
  }, 180_000);

  it('reports already_installed the second time, reinstalls a version removed by hand, and revives silent devices', async () => {
    expect(await fleet!.revive({ indexes: [[0, AGENTS - 1]] })).toBe(5);
    expect(fleet!.counts()).toEqual({ online: AGENTS });
    await waitFor('the revived devices to show online', async () => (await onlineCount()) === AGENTS, 20_000, 250);
    // A user removed it on device 3.
    expect(fleet!.removeSoftware({ indexes: [[3, 3]] }, versionId)).toBe(1);
    expect(fleet!.devices({ indexes: [[3, 3]] })[0]!.installed).toEqual([]);
    fleet!.resetStats();

    const targets = await softwareRun('software.install');
    for (let i = 0; i < AGENTS; i++) {
      const outcome = inRange(i, FAILING) ? 'failed' : i === 3 ? 'installed' : 'already_installed';
      expect(targets.get(i)?.software, `device ${i}`).toMatchObject({
        outcome,
        ...(outcome === 'already_installed' ? { installerExitCode: null } : {}),
      });
      expect(targets.get(i)?.status).toBe(outcome === 'failed' ? 'failed' : 'succeeded');
    }
    // Device 3 is not in the silent subset; the silent ones did not install anything, so they stay.
    expect(fleet!.counts()).toEqual({ online: AGENTS });
    expect(fleet!.stats().softwareOutcomes).toEqual({ already_installed: 39, installed: 1, failed: 10 });
  }, 180_000);

  it('comes back from its state file knowing what is installed, and uninstalls it', async () => {
    const before = fleet!.devices().map((d) => d.installed);
    await fleet!.stop({ goodbye: true });
    fleet = undefined;
    const saved = await readFleetState(join(scratch, 'fleet.json'), t.url);
    expect([...saved.values()].sort((a, b) => a.index - b.index).map((d) => d.software ?? [])).toEqual(before);

    fleet = await startFleet({
      serverUrl: t.url,
      agents: AGENTS,
      rampPerSecond: Infinity,
      stateFile: join(scratch, 'fleet.json'),
      hostnamePrefix: 'sw',
      behaviour: { latencyMs: [10, 50] },
      subsets,
    });
    await fleet.ready;
    expect(fleet.stats().calls.enroll.count).toBe(0);
    expect(fleet.devices().map((d) => d.installed)).toEqual(before);

    const targets = await softwareRun('software.uninstall');
    for (let i = 0; i < AGENTS; i++) {
      expect(targets.get(i), `device ${i}`).toMatchObject(
        inRange(i, FAILING)
          ? { status: 'succeeded', software: { outcome: 'not_installed', detectedBefore: false } }
          : { status: 'succeeded', exitCode: 0, software: { outcome: 'uninstalled', detectedBefore: true, detectedAfter: false } },
      );
    }
    expect(fleet.devices().every((d) => d.installed.length === 0)).toBe(true);
    const stats = fleet.stats();
    expect(stats.softwareOutcomes).toEqual({ uninstalled: 40, not_installed: 10 });
    expect(stats.protocolDrift).toBe(0);
  }, 180_000);

  it('downloads the artifacts of a version from the depot on the devices told to, reporting bytes and source', async () => {
    const content = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) % 251));
    const upload = await t.request('/api/v1/depot/artifacts?fileName=setup.sh', {
      method: 'POST',
      token: admin,
      headers: { 'content-type': 'application/octet-stream' },
      body: content,
    });
    expect(upload.status).toBe(201);
    const artifact = (await upload.json()) as { id: string };
    const pkg = await api('POST', '/software/packages', { name: `Sim tool ${randomUUID()}`, platform: 'linux' });
    const version = await api('POST', `/software/packages/${pkg.body.id}/versions`, {
      version: '2.0.0',
      installerType: 'sh',
      artifactIds: [artifact.id],
      timeoutSeconds: 300,
    });
    expect(version.status, JSON.stringify(version.body)).toBe(201);
    fleet!.resetStats();

    const targets = await softwareRun('software.install', version.body.id);
    for (let i = 0; i < AGENTS; i++) {
      const downloaded = inRange(i, DOWNLOADING)
        ? { bytesDownloaded: content.length, sourceId: BUILT_IN_DEPOT, fromCache: false }
        : { bytesDownloaded: 0, sourceId: null, fromCache: false };
      expect(targets.get(i)?.software, `device ${i}`).toMatchObject({
        outcome: inRange(i, FAILING) ? 'failed' : 'installed',
        ...downloaded,
      });
    }
    // The silent subset went silent again after this install.
    await waitFor('the silent subset to go silent again', async () => fleet!.stats().wentSilent === 5, 10_000, 50);
    expect(fleet!.stats()).toMatchObject({ softwareOutcomes: { installed: 40, failed: 10 }, protocolDrift: 0 });
    expect(fleet!.counts()).toEqual({ online: AGENTS - 5, silent: 5 });
  }, 180_000);

  it('keeps silent devices silent across a restart; the command line revives them on SIGUSR2', async () => {
    await fleet!.stop();
    fleet = undefined;
    const stateFile = join(scratch, 'fleet.json');
    const saved = await readFleetState(stateFile, t.url);
    expect([...saved.values()].filter((d) => d.silent).map((d) => d.index)).toEqual([30, 31, 32, 33, 34]);

    // The command line, from the state file: the silent devices stay away until SIGUSR2.
    const cli = spawn(
      process.execPath,
      ['--import', 'tsx', 'agent/src/fleet-sim/cli.ts', '--server', t.url, '--state-file', stateFile, '--hostname-prefix', 'sw'].concat([
        '--agents',
        String(AGENTS),
        '--ramp',
        'all',
        '--stats-interval',
        '0',
        '--goodbye',
      ]),
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    cli.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the command line to bring its devices up', async () => stderr.includes('all devices up'), 60_000, 100);
      expect(stderr).toContain('"silent":5');
      await waitFor('the other devices online', async () => (await onlineCount()) === AGENTS - 5, 20_000, 250);
      cli.kill('SIGUSR2');
      await waitFor('the revival', async () => stderr.includes('revived 5 silent devices'), 20_000, 100);
      await waitFor('every device online', async () => (await onlineCount()) === AGENTS, 20_000, 250);
    } finally {
      cli.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect([...(await readFleetState(stateFile, t.url)).values()].filter((d) => d.silent)).toEqual([]);
  }, 180_000);
});
