/**
 * Job-run targets beyond explicit device IDs: groups, tags and a device filter, their union, resolved
 * when the run is created and recorded on it; the preview counts exactly the devices a run gets; unknown
 * references, empty selections and selections over the per-run limit are refused.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DEVICES_PER_RUN } from '@opsconductor/contracts/api';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

let t: TestApi;
let admin: string;
let operator: string;
const hosts: Record<string, string> = {};

const api = async (method: string, path: string, json?: unknown, token = operator) => {
  const res = await t.request(`/api/v1${path}`, { method, token, ...(json === undefined ? {} : { json }) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
};
const run = (selection: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  api('POST', '/job-runs', { command: 'true', ...selection, ...extra });
const preview = (selection: Record<string, unknown>, sampleSize = 50) => api('POST', '/job-runs/preview', { ...selection, sampleSize });
const hostnamesOf = (ids: string[]) => ids.map((id) => Object.keys(hosts).find((h) => hosts[h] === id) ?? id).sort();
const targetHosts = (runBody: { targets: { hostname: string }[] }) => runBody.targets.map((x) => x.hostname).sort();

let webGroup: string;

beforeAll(async () => {
  // No worker polls this queue: runs stay queued, which is all these tests need.
  t = await startTestApi({ temporalTaskQueue: `targets-${randomUUID()}` });
  admin = await t.tokenFor('admin');
  operator = await t.tokenFor('operator');
  const token = await t.createEnrollmentToken(admin, { maxUses: 20 });
  for (const h of ['web-1', 'web-2', 'db-1', 'db_2', 'dbx2', 'lab-1']) hosts[h] = (await t.enrollDevice(token, h)).deviceId;
  const { prisma } = t.database.db;
  // Online: seen just now; offline: seen an hour ago; never seen: lab-1.
  await prisma.device.updateMany({ where: { hostname: { in: ['web-1', 'db-1'] } }, data: { lastSeenAt: new Date() } });
  await prisma.device.updateMany({
    where: { hostname: { in: ['web-2', 'db_2', 'dbx2'] } },
    data: { lastSeenAt: new Date(Date.now() - 3600_000) },
  });
  await prisma.device.update({ where: { id: hosts['lab-1'] }, data: { lastSeenAt: null } });
  expect((await api('POST', '/devices/tags', { deviceIds: [hosts['db-1'], hosts['db_2']], add: ['database'] })).status).toBe(200);
  expect((await api('POST', '/devices/tags', { deviceIds: [hosts['lab-1']], add: ['lab'] })).status).toBe(200);
  const group = await api('POST', '/groups', { kind: 'static', name: 'Web servers' });
  expect(group.status).toBe(201);
  webGroup = group.body.id;
  expect((await api('POST', `/groups/${webGroup}/members`, { add: [hosts['web-1'], hosts['web-2']] })).status).toBe(200);
});
afterAll(() => t?.close());

describe('target selections', () => {
  it('resolves a group, a tag and a filter, and records what was asked', async () => {
    const byGroup = await run({ groupIds: [webGroup] });
    expect(byGroup.status, JSON.stringify(byGroup.body)).toBe(201);
    expect(targetHosts(byGroup.body)).toEqual(['web-1', 'web-2']);
    expect(byGroup.body.targetSelection).toEqual({ groupIds: [webGroup] });

    const byTag = await run({ tags: ['database'] });
    expect(targetHosts(byTag.body)).toEqual(['db-1', 'db_2']);

    const online = await run({ filter: { status: 'online' } });
    expect(targetHosts(online.body)).toEqual(['db-1', 'web-1']);
    const { body: stored } = await api('GET', `/job-runs/${online.body.id}`);
    expect(stored.targetSelection).toEqual({ filter: { status: 'online' } });
    // The run's targets are its own: later membership changes do not touch them.
    expect((await api('POST', `/groups/${webGroup}/members`, { remove: [hosts['web-2']] })).status).toBe(200);
    expect(targetHosts((await api('GET', `/job-runs/${byGroup.body.id}`)).body)).toEqual(['web-1', 'web-2']);
    expect((await api('POST', `/groups/${webGroup}/members`, { add: [hosts['web-2']] })).status).toBe(200);
  });

  it('targets the union of every part, each device once, explicit devices first', async () => {
    const res = await run({
      deviceIds: [hosts['lab-1'], hosts['web-1']],
      groupIds: [webGroup],
      tags: ['database', 'lab'],
      filter: { search: 'dbx' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(targetHosts(res.body)).toEqual(['db-1', 'db_2', 'dbx2', 'lab-1', 'web-1', 'web-2']);
    const run2 = await t.database.db.prisma.jobRunDevice.findMany({ where: { jobRunId: res.body.id } });
    expect(run2).toHaveLength(6);
    const audit = await api('GET', '/audit-logs?action=job_run.create&targetId=' + res.body.id, undefined, admin);
    expect(audit.body.items[0].details).toMatchObject({
      deviceCount: 6,
      targets: { deviceIds: 2, groupIds: [webGroup], tags: ['database', 'lab'], filter: { search: 'dbx' } },
    });
  });

  it('an empty filter is every device; a filter matches literally (no LIKE wildcards)', async () => {
    const all = await preview({ filter: {} });
    expect(all.body.total).toBe(Object.keys(hosts).length);
    const underscore = await preview({ filter: { search: 'db_' } });
    expect(underscore.body.sample.map((d: { hostname: string }) => d.hostname)).toEqual(['db_2']);
    const percent = await preview({ filter: { search: '%' } });
    expect(percent.body.total).toBe(0);
    // The device list reads the same filter the same way.
    const list = await api('GET', '/devices?search=db_');
    expect(list.body.items.map((d: { hostname: string }) => d.hostname)).toEqual(['db_2']);
  });

  it('previews exactly the devices a run gets', async () => {
    for (const selection of [
      { groupIds: [webGroup] },
      { tags: ['database', 'lab'] },
      { filter: { status: 'offline' } },
      { filter: {}, tags: ['lab'] },
      { deviceIds: [hosts['db-1']], filter: { osFamily: 'linux', search: 'web' } },
    ]) {
      const p = await preview(selection);
      expect(p.status, JSON.stringify(p.body)).toBe(200);
      expect(p.body.maxDevices).toBe(MAX_DEVICES_PER_RUN);
      const r = await run(selection, { expectedDeviceCount: p.body.total });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(targetHosts(r.body), JSON.stringify(selection)).toEqual(hostnamesOf(p.body.sample.map((d: { id: string }) => d.id)));
      expect(r.body.targets).toHaveLength(p.body.total);
    }
    const sample = await preview({ filter: {} }, 2);
    expect(sample.body.sample.map((d: { hostname: string; status: string }) => `${d.hostname}:${d.status}`)).toEqual([
      'db-1:online',
      'db_2:offline',
    ]);
  });

  it('refuses to run when the selection changed since it was confirmed', async () => {
    const p = await preview({ tags: ['database'] });
    expect(p.body.total).toBe(2);
    expect((await api('POST', '/devices/tags', { deviceIds: [hosts['dbx2']], add: ['database'] })).status).toBe(200);
    const stale = await run({ tags: ['database'] }, { expectedDeviceCount: p.body.total });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('target_count_changed');
    expect(stale.body.detail).toMatch(/3 devices, not the 2/);
    expect(await t.database.db.prisma.jobRun.count({ where: { command: 'stale' } })).toBe(0);
    expect((await api('POST', '/devices/tags', { deviceIds: [hosts['dbx2']], remove: ['database'] })).status).toBe(200);
  });

  it('refuses unknown devices and groups, empty selections and bad filters, creating nothing', async () => {
    const before = await t.database.db.prisma.jobRun.count();
    const unknownGroup = await run({ groupIds: [randomUUID()] });
    expect(unknownGroup.status).toBe(400);
    expect(unknownGroup.body.code).toBe('unknown_groups');
    const unknownDevice = await run({ deviceIds: [randomUUID()], tags: ['database'] });
    expect(unknownDevice.body.code).toBe('unknown_devices');
    expect((await preview({ groupIds: [randomUUID()] })).body.code).toBe('unknown_groups');
    // Nothing matches: a tag nobody has, a filter for a group that does not exist.
    for (const selection of [
      { tags: ['nobody-has-this'] },
      { filter: { groupId: randomUUID() } },
      { filter: { status: 'online', tag: 'lab' } },
    ]) {
      const none = await run(selection);
      expect(none.status, JSON.stringify(selection)).toBe(400);
      expect(none.body.code).toBe('no_target_devices');
    }
    for (const selection of [{}, { deviceIds: [] }, { groupIds: [], tags: [] }]) {
      const empty = await run(selection);
      expect(empty.status).toBe(400);
      expect(empty.body.code).toBe('validation_failed');
      expect(empty.body.errors.map((e: { path: string }) => e.path)).toContain('deviceIds');
    }
    for (const selection of [
      { filter: { search: 'a\u0000b' } },
      { filter: { tag: '\u0000' } },
      { tags: ['bad\u0000tag'] },
      { filter: { status: 'sleeping' } },
      { filter: { customField: 'no-colon' } },
      { groupIds: ['not-a-uuid'] },
    ]) {
      const bad = await run(selection);
      expect(bad.status, JSON.stringify(selection)).toBe(400);
      expect(bad.body.code).toBe('validation_failed');
    }
    expect((await run({ tags: ['database'] }, { command: 'echo \u0000' })).status).toBe(400);
    expect(await t.database.db.prisma.jobRun.count()).toBe(before);
  });

  it('keeps previews and runs to operators', async () => {
    const viewer = await t.tokenFor('viewer');
    expect((await api('POST', '/job-runs/preview', { tags: ['lab'] }, viewer)).status).toBe(403);
    expect((await api('POST', '/job-runs', { tags: ['lab'], command: 'true' }, viewer)).status).toBe(403);
  });
});

describe('the per-run limit', () => {
  it(`runs on ${MAX_DEVICES_PER_RUN.toLocaleString('en-US')} devices and refuses one more, with the count`, async () => {
    const { prisma } = t.database.db;
    const base = { osFamily: 'linux', osName: 'Debian', osVersion: '12', architecture: 'x64', ipAddresses: [], agentVersion: '0.1.0' };
    const bulk = Array.from({ length: MAX_DEVICES_PER_RUN + 1 }, (_, i) => ({
      id: randomUUID(),
      hostname: `bulk-${String(i).padStart(5, '0')}`,
      secretHash: `bulk-${i}-${randomUUID()}`,
      ...base,
    }));
    await prisma.device.createMany({ data: bulk });
    await prisma.deviceTag.createMany({ data: bulk.slice(0, MAX_DEVICES_PER_RUN).map((d) => ({ deviceId: d.id, tag: 'fleet' })) });

    const over = await preview({ filter: { search: 'bulk-' } }, 3);
    expect(over.body.total).toBe(MAX_DEVICES_PER_RUN + 1);
    expect(over.body.sample.map((d: { hostname: string }) => d.hostname)).toEqual(['bulk-00000', 'bulk-00001', 'bulk-00002']);
    const refused = await run({ filter: { search: 'bulk-' } });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('too_many_devices');
    expect(refused.body.detail).toContain('10,001');
    // A long list of explicit IDs is bounded by the request schema itself.
    expect((await run({ deviceIds: bulk.map((d) => d.id) })).body.code).toBe('validation_failed');

    const atLimit = await run({ tags: ['fleet'] }, { expectedDeviceCount: MAX_DEVICES_PER_RUN });
    expect(atLimit.status, JSON.stringify(atLimit.body).slice(0, 300)).toBe(201);
    expect(await prisma.jobRunDevice.count({ where: { jobRunId: atLimit.body.id } })).toBe(MAX_DEVICES_PER_RUN);
  }, 120_000);
});
