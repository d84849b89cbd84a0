/**
 * The fleet simulator against the real API, worker, Temporal and PostgreSQL: 50 virtual agents enroll with one
 * multi-use token, show online, and a run on all of them ends with the exit codes their behaviour says. They come
 * back from the state file without enrolling again, and a reboot brings a device back with a new boot ID.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFleet, type Fleet } from '../../agent/src/fleet-sim/index.ts';
import { createWorker } from '../../workers/src/worker.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { waitFor } from '../support/tools.ts';

const AGENTS = 50;
let t: TestApi;
let admin: string;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let scratch: string;
let fleet: Fleet | undefined;

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
  scratch = await mkdtemp(join(tmpdir(), 'fleet-sim-'));
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

describe('the fleet simulator', () => {
  it('enrolls its devices, shows them online and runs a command on all of them with the configured outcomes', async () => {
    const token = (await api('POST', '/enrollment-tokens', { name: 'fleet', maxUses: AGENTS, expiresInHours: 1 })).body.token as string;
    const stateFile = join(scratch, 'fleet.json');
    fleet = await startFleet({
      serverUrl: t.url,
      enrollmentToken: token,
      agents: AGENTS,
      rampPerSecond: 200,
      stateFile,
      hostnamePrefix: 'fs',
      behaviour: { latencyMs: [10, 50], outputChunks: 1 },
      subsets: [
        { select: { indexes: [[0, 9]] }, behaviour: { exitCode: 3 } },
        { select: { hostname: 'FS-0004?' }, behaviour: { failRate: 1, failExitCode: 7 } },
      ],
    });
    await fleet.ready;
    expect(fleet.counts()).toEqual({ online: AGENTS });
    expect(await onlineCount()).toBe(AGENTS);
    expect((await stat(stateFile)).mode & 0o777).toBe(0o600);

    const created = await api('POST', '/job-runs', { filter: {}, command: 'uname -a', expectedDeviceCount: AGENTS });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const run = await waitFor(
      'the run to finish',
      async () => {
        const { body } = await api('GET', `/job-runs/${created.body.id}`);
        return body.finishedAt ? body : null;
      },
      60_000,
      250,
    );
    expect(run.status).toBe('partially_succeeded');
    const byHost = new Map<string, { status: string; exitCode: number | null }>(run.targets.map((x: any) => [x.hostname, x]));
    for (let i = 0; i < AGENTS; i++) {
      const expected =
        i < 10 ? { status: 'failed', exitCode: 3 } : i >= 40 ? { status: 'failed', exitCode: 7 } : { status: 'succeeded', exitCode: 0 };
      expect(byHost.get(`fs-${String(i).padStart(5, '0')}`), `device ${i}`).toMatchObject(expected);
    }
    // Output went through the real /output route.
    const output = await api('GET', `/job-runs/${created.body.id}/output?limit=500`);
    expect(output.body.items).toHaveLength(AGENTS);
    const stats = fleet.stats();
    expect(stats.protocolDrift).toBe(0);
    expect(stats.resultsAccepted).toBe(AGENTS);
    expect(stats.calls.enroll.count).toBe(AGENTS);
    expect(Object.values(stats.calls).reduce((n, c) => n + c.errors, 0)).toBe(0);
  });

  it('brings a rebooted device back with a new boot ID', async () => {
    const [before] = fleet!.devices({ indexes: [[5, 5]] });
    await fleet!.reboot({ indexes: [[5, 5]] }, { offlineMs: 200 });
    const [after] = fleet!.devices({ indexes: [[5, 5]] });
    expect(after).toMatchObject({ status: 'online', deviceId: before!.deviceId });
    expect(after!.bootId).not.toBe(before!.bootId);
  });

  it('comes back from its state file without enrolling again, and shows offline after a clean stop', async () => {
    await fleet!.stop({ goodbye: true });
    fleet = undefined;
    expect(await onlineCount()).toBe(0);
    // No token: every device must come from the state file (the token's uses are spent anyway).
    fleet = await startFleet({
      serverUrl: t.url,
      agents: AGENTS,
      rampPerSecond: Infinity,
      stateFile: join(scratch, 'fleet.json'),
      hostnamePrefix: 'fs',
    });
    await fleet.ready;
    expect(fleet.stats().calls.enroll.count).toBe(0);
    expect(await onlineCount()).toBe(AGENTS);
    expect((await api('GET', '/devices?pageSize=1')).body.total).toBe(AGENTS);
  });
});
