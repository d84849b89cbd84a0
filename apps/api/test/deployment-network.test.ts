/**
 * A deployment's network policy and phases on the server, with real PostgreSQL: a deployment that names depot sources
 * (`strategy.network.sourceIds`) gets manifests listing only those (still in the device's order), other runs all of
 * them; a heartbeat's phase is recorded on the running command (never on one that ended) and the deployment shows the
 * device `downloading` / `installing`; a deferred install (`deferred_metered`) shows `queued` and is retried while
 * attempts are left, and `failed` after.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkinResponse, pollResponse, type CommandResult } from '@opsconductor/contracts/agent-protocol';
import { capability, commandKinds, type CommandPayload } from '@opsconductor/contracts/commands';
import { storePayload } from '@opsconductor/commands';
import { DEPLOYMENT_DEVICE_STATES_SQL } from '@opsconductor/deployments';
import { verifyManifest } from '../../../agent/src/depot/manifest.ts';
import { deviceFacts, startTestApi, type TestApi } from '../../../test/support/api.ts';
import { queueCommand } from '../../../test/support/commands.ts';
import { deploymentStrategy } from '@opsconductor/contracts/deployments';
import { softwareInstallCommandPayload } from '@opsconductor/contracts/software';
import { withPolicy } from '../src/services/deployments.ts';
import { softwareCommandPayload } from '../src/services/software-packages.ts';

const BUILT_IN = '00000000-0000-4000-8000-000000000001';
let t: TestApi;
let admin: string;
beforeAll(async () => {
  // The depot's signing key is kept in the secret store: without master keys nothing could be signed.
  t = await startTestApi({}, { secretsMasterKeys: [{ id: 'k1', key: randomBytes(32) }] });
  admin = await t.tokenFor('admin');
});
afterAll(async () => {
  await t?.close();
});

async function json(path: string, body: unknown, method = 'POST'): Promise<any> {
  const res = await t.request(path, { method, token: admin, json: body });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return res.json();
}

/** A package version with one artifact, held by three http sources besides the built-in depot. */
async function versionWithSources() {
  const upload = await t.request('/api/v1/depot/artifacts?fileName=tool.deb', {
    method: 'POST',
    token: admin,
    headers: { 'content-type': 'application/octet-stream' },
    body: randomBytes(2048),
  });
  expect(upload.status).toBe(201);
  const artifact = (await upload.json()) as { id: string; sha256: string };
  const pkg = await json('/api/v1/software/packages', { name: `Tool ${randomUUID()}`, platform: 'linux' });
  const version = await json(`/api/v1/software/packages/${pkg.id}/versions`, {
    version: '1.0',
    installerType: 'deb',
    artifactIds: [artifact.id],
    packageName: 'tool',
  });
  const source = async (name: string, priority: number, subnets: string[] = []) =>
    (
      await json('/api/v1/depot/sources', {
        kind: 'http',
        name: `${name} ${randomUUID()}`,
        priority,
        subnets,
        settings: { baseUrl: `http://${name}.example/` },
      })
    ).id as string;
  const site = await source('site', 50, ['10.9.0.0/16']);
  const wan = await source('wan', 5);
  const cdn = await source('cdn', 1);
  await t.database.db.prisma.artifactLocation.createMany({
    data: [site, wan, cdn].map((sourceId) => ({ artifactId: artifact.id, sourceId })),
  });
  return { pkg, version, artifact, sources: { site, wan, cdn } };
}

/** A deployment row as createDeployment writes it (no workflow: these tests drive its commands by hand). */
async function deployment(pkgId: string, versionId: string, payload: CommandPayload, strategy: Record<string, unknown>): Promise<string> {
  const id = randomUUID();
  const sha = await storePayload(t.database.db.pool, payload);
  await t.database.db.pool.query(
    `INSERT INTO deployments (id, workflow_id, name, package_id, version_id, action, status, options, target_selection, payload_sha256, starts_at)
     VALUES ($1::uuid, 'deployment/' || $1::text, 'network test', $2, $3, 'install', 'running', $4, '{}', $5, now())`,
    [id, pkgId, versionId, JSON.stringify(strategy), sha],
  );
  return id;
}

async function device(hostname: string, ipAddresses: string[]) {
  const { deviceId, deviceSecret } = await t.enrollDevice(await t.createEnrollmentToken(admin), hostname);
  const headers = { authorization: `Bearer ${deviceSecret}` };
  const checkin = await t.request('/agent/v1/checkin', {
    method: 'POST',
    headers,
    json: { facts: { ...deviceFacts(hostname), ipAddresses }, capabilities: commandKinds.map((kind) => capability(kind)) },
  });
  const answer = checkinResponse.parse(await checkin.json());
  return { deviceId, headers, answer };
}

/** Queues the payload for the device in a run of the deployment (when given), as a wave's attempt does. */
async function queueIn(deploymentId: string | null, deviceId: string, payload: CommandPayload) {
  const command = await queueCommand(t.database.db, deviceId, { payload, state: 'queued' });
  if (deploymentId) {
    await t.database.db.pool.query('UPDATE job_runs SET deployment_id = $1 WHERE id = $2', [deploymentId, command.jobRunDevice.jobRunId]);
    await t.database.db.pool.query(
      `INSERT INTO deployment_devices (deployment_id, device_id, hostname, wave, job_run_id, attempts) VALUES ($1, $2, 'h', 0, $3, 1)`,
      [deploymentId, deviceId, command.jobRunDevice.jobRunId],
    );
  }
  return command;
}

async function pollFor(headers: Record<string, string>, commandId: string) {
  const poll = pollResponse.parse(await (await t.request('/agent/v1/commands?wait=5', { headers })).json());
  return poll.commands.find((c) => c.id === commandId)!;
}

describe('deployment source restriction', () => {
  it("lists only the deployment's sources in its commands' manifests, in the device's order; other runs get every source", async () => {
    const { pkg, version, sources } = await versionWithSources();
    const payload = await softwareCommandPayload(t.api.deps, 'software.install', version.id);
    // Listed in another order than the device's: the manifest keeps its subnet-then-priority order.
    const dep = await deployment(pkg.id, version.id, payload, { network: { skipMetered: false, sourceIds: [sources.wan, sources.site] } });
    const d = await device('restricted', ['10.9.1.2']);
    const keys = d.answer.depotSigningKeys!;

    const restricted = await queueIn(dep, d.deviceId, payload);
    const delivered = (await pollFor(d.headers, restricted.id)).payload;
    if (delivered.kind !== 'software.install') throw new Error('not an install');
    const verified = verifyManifest(delivered.artifacts![0]!, keys, Date.now(), 60);
    if (!verified.ok) throw new Error(verified.detail);
    expect(verified.manifest.sources.map((s) => s.sourceId)).toEqual([sources.site, sources.wan]);

    const free = await queueIn(null, d.deviceId, payload);
    const all = (await pollFor(d.headers, free.id)).payload;
    if (all.kind !== 'software.install') throw new Error('not an install');
    const every = verifyManifest(all.artifacts![0]!, keys, Date.now(), 60);
    if (!every.ok) throw new Error(every.detail);
    expect(every.manifest.sources.map((s) => s.sourceId)).toEqual([sources.site, sources.cdn, sources.wan, BUILT_IN]);
  });

  it('signs nothing when none of its sources holds the artifact (the agent then reports download_failed)', async () => {
    const { pkg, version } = await versionWithSources();
    const elsewhere = (
      await json('/api/v1/depot/sources', {
        kind: 'http',
        name: `empty ${randomUUID()}`,
        priority: 1,
        settings: { baseUrl: 'http://e.example/' },
      })
    ).id as string;
    const payload = await softwareCommandPayload(t.api.deps, 'software.install', version.id);
    const dep = await deployment(pkg.id, version.id, payload, { network: { skipMetered: false, sourceIds: [elsewhere] } });
    const d = await device('nothing-signed', ['10.1.1.1']);
    const command = await queueIn(dep, d.deviceId, payload);
    const delivered = (await pollFor(d.headers, command.id)).payload;
    expect(delivered).toMatchObject({ artifactIds: [expect.any(String)], artifacts: [] });
    // The same payload outside the deployment is signed.
    const free = await queueIn(null, d.deviceId, payload);
    expect((await pollFor(d.headers, free.id)).payload).toMatchObject({
      artifacts: [expect.objectContaining({ keyId: expect.any(String) })],
    });
  });
});

describe('phases and deferred installs', () => {
  const states = async (deploymentId: string) =>
    (
      await t.database.db.pool.query<{ status: string; retrying: boolean; outcome: string | null }>(
        `SELECT status, retrying, outcome FROM (${DEPLOYMENT_DEVICE_STATES_SQL}) s`,
        [deploymentId],
      )
    ).rows[0]!;
  const phaseOf = async (commandId: string) =>
    (await t.database.db.pool.query<{ phase: string | null }>('SELECT phase FROM agent_commands WHERE id = $1', [commandId])).rows[0]!
      .phase;

  it('records the phase a heartbeat carries and shows the device downloading, then installing; a deferral is queued and retried', async () => {
    const { pkg, version } = await versionWithSources();
    const payload = await softwareCommandPayload(t.api.deps, 'software.install', version.id);
    const dep = await deployment(pkg.id, version.id, payload, {
      network: { skipMetered: true },
      retries: { count: 1, backoffSeconds: 10 },
    });
    const d = await device('phases', ['10.2.2.2']);
    expect(d.answer.commandPhases).toEqual(['downloading', 'installing']);
    const command = await queueIn(dep, d.deviceId, payload);
    const heartbeat = (body?: unknown) =>
      t.request(`/agent/v1/commands/${command.id}/heartbeat`, {
        method: 'POST',
        headers: d.headers,
        ...(body === undefined ? {} : { json: body }),
      });

    await pollFor(d.headers, command.id);
    expect((await states(dep)).status).toBe('queued');
    // Before the start: a phase is not recorded.
    expect((await heartbeat({ phase: 'downloading' })).status).toBe(200);
    expect(await phaseOf(command.id)).toBeNull();

    const startedAt = new Date().toISOString();
    expect(
      (await t.request(`/agent/v1/commands/${command.id}/start`, { method: 'POST', headers: d.headers, json: { startedAt } })).status,
    ).toBe(200);
    expect((await states(dep)).status).toBe('installing');
    const downloading = await heartbeat({ phase: 'downloading' });
    expect(downloading.status).toBe(200);
    expect(await downloading.json()).toEqual({ cancelRequested: false });
    expect(await phaseOf(command.id)).toBe('downloading');
    expect((await states(dep)).status).toBe('downloading');
    const list = await t.request(`/api/v1/deployments/${dep}/devices?status=downloading`, { token: admin });
    expect(((await list.json()) as { total: number }).total).toBe(1);

    expect((await heartbeat({ phase: 'installing' })).status).toBe(200);
    expect((await states(dep)).status).toBe('installing');
    // Old agents' heartbeats (empty, or no body at all) still work and change nothing; a phase nobody knows is refused.
    expect((await heartbeat({})).status).toBe(200);
    expect((await heartbeat()).status).toBe(200);
    expect((await heartbeat({ phase: 'rebooting' })).status).toBe(400);
    expect(await phaseOf(command.id)).toBe('installing');

    const result: CommandResult = {
      status: 'failed',
      exitCode: null,
      error: 'deferred_metered: on a metered connection',
      startedAt,
      finishedAt: new Date().toISOString(),
      durationMs: 5,
      software: {
        outcome: 'deferred_metered',
        detectedBefore: false,
        detectedAfter: null,
        installerExitCode: null,
        rebootRequired: false,
        sourceId: null,
        fromCache: false,
        bytesDownloaded: 0,
        detail: 'the device is on a metered connection',
      },
    };
    const posted = await t.request(`/agent/v1/commands/${command.id}/result`, { method: 'POST', headers: d.headers, json: result });
    expect(posted.status, await posted.clone().text()).toBe(200);
    // Deferred, with an attempt left: queued (not failed), and the next wave attempt takes it.
    expect(await states(dep)).toEqual({ status: 'queued', retrying: true, outcome: 'deferred_metered' });
    // A heartbeat after the end changes nothing, and says stop.
    const late = await heartbeat({ phase: 'downloading' });
    expect(await late.json()).toEqual({ cancelRequested: true });
    expect(await phaseOf(command.id)).toBe('installing');

    // Aborted meanwhile: it will not be tried again.
    await t.database.db.pool.query(`UPDATE deployments SET status = 'aborted' WHERE id = $1`, [dep]);
    expect(await states(dep)).toMatchObject({ status: 'cancelled', outcome: 'deferred_metered' });
    await t.database.db.pool.query(`UPDATE deployments SET status = 'running' WHERE id = $1`, [dep]);
    // No attempt left: it was not installed, so it counts as failed, with the reason.
    await t.database.db.pool.query('UPDATE deployment_devices SET attempts = 2 WHERE deployment_id = $1', [dep]);
    expect(await states(dep)).toEqual({ status: 'failed', retrying: false, outcome: 'deferred_metered' });
  });
});

describe("a deployment's command", () => {
  const base = softwareInstallCommandPayload.parse({
    kind: 'software.install',
    package: { versionId: randomUUID(), name: 'App', version: '1.0' },
    installerType: 'deb',
    command: 'dpkg -i {installer}',
    reboot: 'if_required',
    timeoutSeconds: 600,
  });

  it('carries the reboot policy: force restarts after every install, with the notice; the others never restart by themselves', () => {
    const notice = { message: 'Restarting for the update', delaySeconds: 120 };
    const forced = withPolicy(base, deploymentStrategy.parse({ rebootPolicy: 'force', rebootNotice: notice }));
    expect(forced).toMatchObject({ reboot: 'always', rebootNotice: notice });
    expect(softwareInstallCommandPayload.parse(forced)).toEqual(forced);
    expect(withPolicy(base, deploymentStrategy.parse({ rebootPolicy: 'force' }))).not.toHaveProperty('rebootNotice');
    for (const rebootPolicy of ['suppress', 'in_window'] as const) {
      const p = withPolicy(base, deploymentStrategy.parse({ rebootPolicy, rebootNotice: notice }));
      expect(p.reboot).toBe('never');
      expect(p).not.toHaveProperty('rebootNotice');
    }
  });

  it('carries the network policy the agent applies (the sources are applied at delivery)', () => {
    const capped = withPolicy(
      base,
      deploymentStrategy.parse({ network: { maxBytesPerSecond: 65_536, skipMetered: true, sourceIds: [randomUUID()] } }),
    );
    expect(capped.network).toEqual({ maxBytesPerSecond: 65_536, skipMetered: true });
    expect(withPolicy(base, deploymentStrategy.parse({}))).not.toHaveProperty('network');
  });
});
