/**
 * A deployment's network policy and phases end to end with the fleet simulator: the real API, worker, Temporal and
 * PostgreSQL. While a wave runs, each device passes through `downloading` and `installing` (the phases its agent
 * reports with heartbeats); with `skipMetered`, devices on a metered connection end their first attempt
 * `deferred_metered` — shown as queued, not failed — and install on the wave's retry once they are off it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFleet, type Fleet } from '../../agent/src/fleet-sim/index.ts';
import { createWorker } from '../../workers/src/worker.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { waitFor } from '../support/tools.ts';

const AGENTS = 6;
let t: TestApi;
let admin: string;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let scratch: string;
let fleet: Fleet;
let deviceIds: string[];

const api = async (method: string, path: string, json?: unknown) => {
  const res = await t.request(`/api/v1${path}`, { method, token: admin, json });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
};

beforeAll(async () => {
  // Master keys: the depot signs the artifacts' manifests with a key kept in the secret store.
  t = await startTestApi({ pollWaitSeconds: 25 }, { secretsMasterKeys: [{ id: 'k1', key: randomBytes(32) }] });
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
  scratch = await mkdtemp(join(tmpdir(), 'deployment-network-'));
  const token = (await api('POST', '/enrollment-tokens', { name: 'fleet', maxUses: AGENTS, expiresInHours: 1 })).body.token as string;
  fleet = await startFleet({
    serverUrl: t.url,
    enrollmentToken: token,
    agents: AGENTS,
    rampPerSecond: 100,
    stateFile: join(scratch, 'fleet.json'),
    hostnamePrefix: 'net',
    // Each install "runs" 3 s, shared by its phases; the artifacts are really downloaded from the depot.
    behaviour: { latencyMs: [3000, 3000], downloadArtifacts: true },
    // Devices 4 and 5 are on metered connections.
    subsets: [{ select: { indexes: [[4, 5]] }, behaviour: { metered: true } }],
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

/** A package version with an artifact in the depot (so its install downloads, then installs). */
async function packageVersion(name: string): Promise<string> {
  const upload = await t.request(`/api/v1/depot/artifacts?fileName=${name}.deb`, {
    method: 'POST',
    token: admin,
    headers: { 'content-type': 'application/octet-stream' },
    body: randomBytes(64 * 1024),
  });
  expect(upload.status).toBe(201);
  const artifact = (await upload.json()) as { id: string };
  const pkg = await api('POST', '/software/packages', { name, platform: 'linux' });
  expect(pkg.status, JSON.stringify(pkg.body)).toBe(201);
  const version = await api('POST', `/software/packages/${pkg.body.id}/versions`, {
    version: '1.0',
    installerType: 'deb',
    artifactIds: [artifact.id],
    packageName: name,
  });
  expect(version.status, JSON.stringify(version.body)).toBe(201);
  return version.body.id as string;
}

/** Every status each device of the deployment showed, polled every 100 ms, until the deployment reaches `until`. */
async function watch(id: string, until: string[], timeoutMs = 120_000) {
  const seen = new Map<string, Set<string>>();
  let last: any;
  await waitFor(
    `deployment ${id} to reach ${until.join(' or ')}`,
    async () => {
      const devices = (await api('GET', `/deployments/${id}/devices?pageSize=200`)).body;
      for (const d of devices.items) {
        if (!seen.has(d.hostname)) seen.set(d.hostname, new Set());
        seen.get(d.hostname)!.add(d.status);
      }
      last = (await api('GET', `/deployments/${id}`)).body;
      return until.includes(last.status) ? last : undefined;
    },
    timeoutMs,
    100,
  ).catch(async (err: Error) => {
    const events = (await api('GET', `/deployments/${id}/events`)).body;
    throw new Error(`${err.message}\nlast: ${JSON.stringify(last)}\nevents: ${JSON.stringify(events)}`, { cause: err });
  });
  return { seen, deployment: last };
}

describe('deployment network policy', () => {
  it('shows each device downloading, then installing, while its install runs', async () => {
    const versionId = await packageVersion('phased-tool');
    const targets = deviceIds.slice(0, 4);
    const created = await api('POST', '/deployments', { name: 'phases', versionId, targets: { deviceIds: targets } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { seen, deployment } = await watch(created.body.id, ['completed']);
    expect(deployment.counts.succeeded).toBe(4);
    for (const [hostname, statuses] of seen) {
      expect([...statuses], hostname).toEqual(expect.arrayContaining(['downloading', 'installing', 'succeeded']));
      expect(statuses.has('failed'), hostname).toBe(false);
    }
  }, 180_000);

  it('defers installs on metered connections (queued, not failed) and installs them on the retry once they are off it', async () => {
    const versionId = await packageVersion('metered-tool');
    const meteredIds = [deviceIds[4]!, deviceIds[5]!];
    const targets = [deviceIds[0]!, deviceIds[1]!, ...meteredIds];
    const created = await api('POST', '/deployments', {
      name: 'skip metered',
      versionId,
      targets: { deviceIds: targets },
      strategy: { network: { skipMetered: true, maxBytesPerSecond: 1024 * 1024 }, retries: { count: 2, backoffSeconds: 10 } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;

    // The first attempt: the two metered devices defer, the others install.
    const deferred = await waitFor(
      'the metered devices to defer',
      async () => {
        const items = (await api('GET', `/deployments/${id}/devices?pageSize=200`)).body.items as any[];
        const metered = items.filter((d) => meteredIds.includes(d.deviceId));
        return metered.length === 2 && metered.every((d) => d.outcome === 'deferred_metered') ? items : undefined;
      },
      90_000,
      200,
    );
    for (const d of deferred.filter((x) => meteredIds.includes(x.deviceId))) {
      expect(d.status).toBe('queued');
      expect(d.attempts).toBe(1);
      expect(d.detail).toMatch(/metered connection/);
    }
    expect((await api('GET', `/deployments/${id}/devices?status=failed`)).body.total).toBe(0);
    expect((await api('GET', `/deployments/${id}`)).body.status).toBe('running');

    // Off the metered connection: the wave's retry installs them.
    expect(fleet.setMetered({ indexes: [[4, 5]] }, false)).toBe(2);
    const { deployment } = await watch(id, ['completed'], 120_000);
    expect(deployment.counts.succeeded).toBe(4);
    const devices = (await api('GET', `/deployments/${id}/devices?pageSize=200`)).body.items as any[];
    const retried = devices.filter((d) => d.attempts === 2);
    expect(retried.map((d) => d.deviceId).sort()).toEqual([...meteredIds].sort());
    expect(retried.every((d) => d.status === 'succeeded' && d.outcome === 'installed')).toBe(true);
    const events = (await api('GET', `/deployments/${id}/events`)).body.items.map((e: any) => e.type);
    expect(events).toContain('wave_retry');

    // The commands carried the policy (the cap, skipMetered) as the agents got it.
    const payload = await t.database.db.pool.query<{ payload: any }>(
      'SELECT p.payload FROM deployments d JOIN command_payloads p ON p.sha256 = d.payload_sha256 WHERE d.id = $1',
      [id],
    );
    expect(payload.rows[0]!.payload).toMatchObject({ network: { skipMetered: true, maxBytesPerSecond: 1024 * 1024 }, reboot: 'never' });
  }, 240_000);
});
