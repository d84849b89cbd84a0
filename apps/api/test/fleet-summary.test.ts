/**
 * The fleet summary (GET /api/v1/fleet/summary) on real PostgreSQL: presence by the online window, OS and agent
 * breakdowns, compliance of required assignments against the version they want (latest or pinned), deployments in
 * progress with their waves, failed runs of the last 24 hours — retired devices left out; the device-list filters the
 * console links each figure to (osName/osVersion, agentVersion, assignmentId + compliance) list exactly the devices
 * counted; the deployments list by group and a device's deployments with its own status. Also at 10,000 devices.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

let t: TestApi;
let admin: string;
let viewer: string;
const dev: Record<string, string> = {};
let group = '';
let otherGroup = '';
const pkg = { p: '', q: '' };
const ver = { p1: '', p2: '', q1: '' };
const assignment = { a1: '', a2: '', a3: '' };
let deployment = '';
let finishedDeployment = '';
let failedRun = '';

async function call(method: string, path: string, body?: unknown, token = admin): Promise<{ status: number; body: any }> {
  const res = await t.request(`/api/v1${path}`, { method, token, ...(body === undefined ? {} : { json: body }) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
async function ok(method: string, path: string, body?: unknown): Promise<any> {
  const r = await call(method, path, body);
  expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  return r.body;
}
const sql = (text: string, params: unknown[] = []) => t.database.db.pool.query(text, params);
const hostnames = async (query: string) =>
  ((await ok('GET', `/devices?${query}&pageSize=200`)).items as { hostname: string }[]).map((d) => d.hostname).sort();

beforeAll(async () => {
  t = await startTestApi({ temporalTaskQueue: `fleet-${randomUUID()}` });
  admin = await t.tokenFor('admin');
  viewer = await t.tokenFor('viewer');
  const enroll = await t.createEnrollmentToken(admin, { maxUses: 20 });
  for (const h of ['d1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7']) dev[h] = (await t.enrollDevice(enroll, `fleet-${h}`)).deviceId;
  const set = (id: string, cols: string, params: unknown[] = []) => sql(`UPDATE devices SET ${cols} WHERE id = $1`, [id, ...params]);
  // Online: d1, d2; stale: d3 (5 minutes ago); offline: d4 (an hour ago), d5 (said goodbye); never seen: d6; retired: d7
  // (counted nowhere).
  for (const h of ['d1', 'd2', 'd3'])
    await set(dev[h]!, "last_seen_at = now(), agent_stopped_at = NULL, os_name = 'Debian', os_version = '12', agent_version = '0.2.0'");
  await set(dev.d3!, "last_seen_at = now() - interval '5 minutes'");
  await set(dev.d4!, "last_seen_at = now() - interval '1 hour', os_name = 'Debian', os_version = '12', agent_version = '0.1.0'");
  await set(dev.d5!, "last_seen_at = now(), agent_stopped_at = now(), os_name = 'Ubuntu', os_version = '24.04', agent_version = '0.2.0'");
  await set(dev.d6!, "last_seen_at = NULL, os_name = 'Debian', os_version = '11', agent_version = '0.1.0', pending_reboot = true");
  await set(dev.d7!, "last_seen_at = now(), os_name = 'Retired OS', os_version = '1', agent_version = '9.9.9'");

  group = (await ok('POST', '/groups', { kind: 'static', name: 'Fleet web', deviceIds: [dev.d1, dev.d2, dev.d3, dev.d4, dev.d7] })).id;
  otherGroup = (await ok('POST', '/groups', { kind: 'static', name: 'Fleet other', deviceIds: [dev.d6] })).id;
  // Retired after joining: its membership row stays, yet it is not covered.
  await set(dev.d7!, 'retired_at = now()');

  pkg.p = (await ok('POST', '/software/packages', { name: 'Fleet agent tool', platform: 'linux' })).id;
  pkg.q = (await ok('POST', '/software/packages', { name: 'Fleet pinned lib', platform: 'linux' })).id;
  const version = async (p: string, v: string) =>
    (await ok('POST', `/software/packages/${p}/versions`, { version: v, installerType: 'apt', packageName: `pkg-${v}` })).id as string;
  ver.p1 = await version(pkg.p, '1.0');
  ver.p2 = await version(pkg.p, '2.0');
  ver.q1 = await version(pkg.q, '1.0');
  await version(pkg.q, '1.1'); // newer than the pinned version: the pinned one is still what compliance wants

  // A1: P (latest: 2.0) required on the group; A2: Q 1.0 pinned, required on d5; A3: P available on d6 (no compliance).
  assignment.a1 = (await ok('POST', '/software/assignments', { packageId: pkg.p, groupIds: [group], intent: 'required' })).items[0].id;
  assignment.a2 = (
    await ok('POST', '/software/assignments', { packageId: pkg.q, versionId: ver.q1, deviceIds: [dev.d5], intent: 'required' })
  ).items[0].id;
  assignment.a3 = (await ok('POST', '/software/assignments', { packageId: pkg.p, deviceIds: [dev.d6], intent: 'available' })).items[0].id;

  const report = (device: string, versionId: string, packageId: string, state: string) =>
    sql(
      `INSERT INTO package_installations (device_id, version_id, package_id, state, outcome, finished_at)
       VALUES ($1, $2, $3, $4::"PackageInstallationState", $5, now())`,
      [device, versionId, packageId, state, state === 'installed' ? 'installed' : state],
    );
  await report(dev.d1!, ver.p2, pkg.p, 'installed'); // compliant
  await report(dev.d2!, ver.p1, pkg.p, 'installed'); // an older version only: pending (no report of 2.0)
  await report(dev.d3!, ver.p2, pkg.p, 'failed'); // non-compliant
  await report(dev.d4!, ver.p2, pkg.p, 'not_installed'); // non-compliant (uninstalled by hand, reported)
  await report(dev.d5!, ver.q1, pkg.q, 'installed'); // compliant with the pinned version
  await report(dev.d7!, ver.p2, pkg.p, 'installed'); // retired: not counted

  // A deployment of P 2.0 to the group (d1–d4), made running: d1 succeeded, d2 failed, d3 installing, d4 planned.
  deployment = (await ok('POST', '/deployments', { name: 'Tool 2.0 to web', versionId: ver.p2, targets: { groupIds: [group] } })).id;
  const run = (await ok('POST', '/job-runs', { deviceIds: [dev.d1, dev.d2, dev.d3], command: 'install tool' })).id as string;
  await sql("UPDATE deployments SET status = 'running', current_wave = 0, started_at = now() WHERE id = $1", [deployment]);
  await sql("UPDATE deployment_waves SET state = 'installing', started_at = now() WHERE deployment_id = $1", [deployment]);
  await sql('UPDATE deployment_devices SET job_run_id = $2, attempts = 1 WHERE deployment_id = $1 AND device_id = ANY($3::uuid[])', [
    deployment,
    run,
    [dev.d1, dev.d2, dev.d3],
  ]);
  const jrd = (device: string, cols: string) =>
    sql(`UPDATE job_run_devices SET ${cols} WHERE job_run_id = $1 AND device_id = $2`, [run, device]);
  await jrd(dev.d1!, "status = 'succeeded', exit_code = 0, finished_at = now()");
  await jrd(dev.d2!, "status = 'failed', exit_code = 100, finished_at = now()");
  await jrd(dev.d3!, "status = 'running'");
  // The run itself ended failed just now: one failed run in the last 24 hours.
  failedRun = run;
  await sql("UPDATE job_runs SET status = 'failed', finished_at = now() WHERE id = $1", [run]);
  const old = (await ok('POST', '/job-runs', { deviceIds: [dev.d1], command: 'old failure' })).id as string;
  await sql(
    "UPDATE job_runs SET status = 'failed', created_at = now() - interval '2 days', finished_at = now() - interval '2 days' WHERE id = $1",
    [old],
  );
  // A finished deployment: not in progress.
  finishedDeployment = (await ok('POST', '/deployments', { name: 'Lib done', versionId: ver.q1, targets: { deviceIds: [dev.d5] } })).id;
  await sql("UPDATE deployments SET status = 'completed', finished_at = now() WHERE id = $1", [finishedDeployment]);
}, 120_000);
afterAll(() => t?.close());

describe('fleet summary', () => {
  it('counts presence, OS and agent versions of the active devices, as the device list filters list them', async () => {
    const r = await call('GET', '/fleet/summary', undefined, viewer);
    expect(r.status).toBe(200);
    const s = r.body;
    expect(s.devices).toEqual({ total: 6, online: 2, stale: 1, offline: 2, neverSeen: 1, pendingReboot: 1 });
    expect([s.onlineWindowSeconds, s.offlineAfterSeconds]).toEqual([90, 600]);
    expect(s.os).toEqual({
      items: [
        { osFamily: 'linux', osName: 'Debian', osVersion: '12', devices: 4 },
        { osFamily: 'linux', osName: 'Debian', osVersion: '11', devices: 1 },
        { osFamily: 'linux', osName: 'Ubuntu', osVersion: '24.04', devices: 1 },
      ],
      other: 0,
    });
    expect(s.agentVersions).toEqual({
      items: [
        { agentVersion: '0.2.0', devices: 4 },
        { agentVersion: '0.1.0', devices: 2 },
      ],
      other: 0,
    });
    // Each figure is what its device-list link shows.
    expect(await hostnames('status=online')).toEqual(['fleet-d1', 'fleet-d2']);
    expect(await hostnames('status=stale')).toEqual(['fleet-d3']);
    expect(await hostnames('status=offline')).toEqual(['fleet-d4', 'fleet-d5']);
    expect(await hostnames('status=never_seen')).toEqual(['fleet-d6']);
    expect(await hostnames('osName=Debian&osVersion=12')).toEqual(['fleet-d1', 'fleet-d2', 'fleet-d3', 'fleet-d4']);
    expect(await hostnames('osName=Ubuntu&osVersion=24.04')).toEqual(['fleet-d5']);
    expect(await hostnames('agentVersion=0.1.0')).toEqual(['fleet-d4', 'fleet-d6']);
    expect(await hostnames('agentVersion=9.9.9&lifecycle=all')).toEqual(['fleet-d7']);
    // The same filters select a run's targets.
    const preview = await ok('POST', '/job-runs/preview', { filter: { osName: 'Debian', osVersion: '12', agentVersion: '0.2.0' } });
    expect(preview.sample.map((d: { hostname: string }) => d.hostname).sort()).toEqual(['fleet-d1', 'fleet-d2', 'fleet-d3']);
  });

  it('measures each required assignment against the version it wants, and the compliance filter lists those devices', async () => {
    const s = (await call('GET', '/fleet/summary')).body;
    expect(s.compliance.total).toBe(2);
    expect(s.compliance.items).toEqual([
      {
        assignmentId: assignment.a1,
        package: { id: pkg.p, name: 'Fleet agent tool' },
        version: { id: ver.p2, version: '2.0' },
        latest: true,
        target: { type: 'group', id: group, name: 'Fleet web' },
        devices: 4,
        compliant: 1,
        nonCompliant: 2,
        pending: 1,
      },
      {
        assignmentId: assignment.a2,
        package: { id: pkg.q, name: 'Fleet pinned lib' },
        version: { id: ver.q1, version: '1.0' },
        latest: false,
        target: { type: 'device', id: dev.d5, name: 'fleet-d5' },
        devices: 1,
        compliant: 1,
        nonCompliant: 0,
        pending: 0,
      },
    ]);
    const a1 = `assignmentId=${assignment.a1}`;
    expect(await hostnames(a1)).toEqual(['fleet-d1', 'fleet-d2', 'fleet-d3', 'fleet-d4']);
    expect(await hostnames(`${a1}&compliance=compliant`)).toEqual(['fleet-d1']);
    expect(await hostnames(`${a1}&compliance=non_compliant`)).toEqual(['fleet-d3', 'fleet-d4']);
    expect(await hostnames(`${a1}&compliance=pending`)).toEqual(['fleet-d2']);
    expect(await hostnames(`assignmentId=${assignment.a2}&compliance=compliant`)).toEqual(['fleet-d5']);
    expect(await hostnames(`assignmentId=${randomUUID()}`)).toEqual([]);
    // Bad filter values are a 400, never a 500.
    expect((await call('GET', `/devices?${a1}&compliance=maybe`)).status).toBe(400);
    expect((await call('GET', '/devices?assignmentId=not-a-uuid')).status).toBe(400);
    expect((await call('GET', `/devices?osName=${'x'.repeat(201)}`)).status).toBe(400);
    // A newer release moves "latest": the device that had 2.0 is no longer compliant until it reports 3.0.
    const v3 = (await ok('POST', `/software/packages/${pkg.p}/versions`, { version: '3.0', installerType: 'apt', packageName: 'pkg-3' }))
      .id;
    const after = (await call('GET', '/fleet/summary')).body.compliance.items.find((i: any) => i.assignmentId === assignment.a1);
    expect(after).toMatchObject({ version: { id: v3, version: '3.0' }, devices: 4, compliant: 0, nonCompliant: 0, pending: 4 });
    expect(await hostnames(`${a1}&compliance=pending`)).toEqual(['fleet-d1', 'fleet-d2', 'fleet-d3', 'fleet-d4']);
    expect((await call('DELETE', `/software/versions/${v3}`)).status).toBe(204);
  });

  it('lists deployments in progress with their waves, and failed runs of the last 24 hours', async () => {
    const s = (await call('GET', '/fleet/summary')).body;
    expect(s.deployments.total).toBe(1);
    expect(s.deployments.items).toEqual([
      {
        id: deployment,
        name: 'Tool 2.0 to web',
        status: 'running',
        pausedReason: null,
        package: { id: pkg.p, name: 'Fleet agent tool' },
        version: { id: ver.p2, version: '2.0' },
        currentWave: 0,
        total: 4,
        succeeded: 1,
        failed: 1,
        waves: [{ index: 0, label: expect.any(String), state: 'installing', size: 4, done: 2, succeeded: 1, failed: 1 }],
      },
    ]);
    expect(s.failedRuns.last24h).toBe(1);
    expect(s.failedRuns.latest).toEqual([
      { id: failedRun, command: 'install tool', kind: 'shell', finishedAt: expect.any(String), devices: 3, failedDevices: 1 },
    ]);
  });

  it('filters deployments by group, and gives a device its own status in each deployment', async () => {
    const byGroup = (await ok('GET', `/deployments?groupId=${group}`)).items.map((d: any) => d.id);
    expect(byGroup).toEqual([deployment]);
    expect((await ok('GET', `/deployments?groupId=${otherGroup}`)).items).toEqual([]);
    const statusOf = async (h: string) => (await ok('GET', `/devices/${dev[h]}/deployments`)).items;
    expect(await statusOf('d1')).toEqual([
      {
        id: deployment,
        name: 'Tool 2.0 to web',
        status: 'running',
        action: 'install',
        package: { id: pkg.p, name: 'Fleet agent tool' },
        version: { id: ver.p2, version: '2.0' },
        createdAt: expect.any(String),
        device: { status: 'succeeded', wave: 0, attempts: 1, jobRunId: failedRun, finishedAt: expect.any(String) },
      },
    ]);
    expect((await statusOf('d2'))[0].device.status).toBe('failed');
    expect((await statusOf('d3'))[0].device.status).toBe('queued');
    expect((await statusOf('d4'))[0].device).toMatchObject({ status: 'planned', jobRunId: null });
    expect((await statusOf('d5')).map((d: any) => [d.id, d.device.status])).toEqual([[finishedDeployment, 'cancelled']]);
    expect(await statusOf('d6')).toEqual([]);
    expect((await call('GET', `/devices/${randomUUID()}/deployments`)).status).toBe(404);
  });

  it('stays exact at 10,000 devices', { timeout: 120_000 }, async () => {
    // 10,000 more online devices in one group, a third of them with the wanted version installed.
    const big = (await ok('POST', '/groups', { kind: 'static', name: 'Fleet big' })).id;
    await sql(
      `INSERT INTO devices (id, hostname, os_family, os_name, os_version, architecture, ip_addresses, agent_version, secret_hash, last_seen_at, updated_at)
       SELECT gen_random_uuid(), 'big-' || i, 'windows', 'Windows 11', '23H2', 'x64', '{}', '0.3.0', 'big-secret-' || i, now(), now()
         FROM generate_series(1, 10000) i`,
    );
    await sql(`INSERT INTO device_group_members (group_id, device_id) SELECT $1, id FROM devices WHERE hostname LIKE 'big-%'`, [big]);
    const a = (await ok('POST', '/software/assignments', { packageId: pkg.q, groupIds: [big], intent: 'required' })).items[0].id;
    const latestQ = (await ok('GET', `/software/packages/${pkg.q}/versions`)).items[0].id;
    await sql(
      `INSERT INTO package_installations (device_id, version_id, package_id, state, outcome, finished_at)
       SELECT id, $1, $2, 'installed', 'installed', now() FROM devices WHERE hostname LIKE 'big-%' AND substring(hostname from 5)::int % 3 = 0`,
      [latestQ, pkg.q],
    );
    const s = (await call('GET', '/fleet/summary')).body;
    expect(s.devices).toMatchObject({ total: 10_006, online: 10_002, stale: 1 });
    expect(s.os.items[0]).toEqual({ osFamily: 'windows', osName: 'Windows 11', osVersion: '23H2', devices: 10_000 });
    expect(s.agentVersions.items[0]).toEqual({ agentVersion: '0.3.0', devices: 10_000 });
    expect(s.compliance.items.find((i: any) => i.assignmentId === a)).toMatchObject({
      devices: 10_000,
      compliant: 3333,
      nonCompliant: 0,
      pending: 6667,
    });
    expect((await ok('GET', `/devices?assignmentId=${a}&compliance=compliant&pageSize=1`)).total).toBe(3333);
  });
});
