/**
 * A large run's targets, paged: GET /job-runs/{id}/targets walks every target exactly once while statuses change
 * between pages, filters by status, hostname part (literally) and device, counts them, and refuses hostile input;
 * GET /job-runs/{id} lists only the first targets and says so; the live stream sends only changed targets when asked.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EMBEDDED_TARGETS } from '@opsconductor/contracts/api';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

const DEVICES = 1250;
let t: TestApi;
let operator: string;
let viewer: string;
let runId: string;
let smallRunId: string;
/** Device IDs by hostname (one of those sharing a name). */
const hosts = new Map<string, string>();
let allIds: string[];

const api = async (path: string, token = viewer) => {
  const res = await t.request(`/api/v1${path}`, { token });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
};
type Target = { deviceId: string; hostname: string; status: string };
type Page = { items: Target[]; next: string | null; total: number; counts: Record<string, number> };
const page = async (query: Record<string, string | number>) => {
  const res = await api(
    `/job-runs/${runId}/targets?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Page;
};
/** Moves these devices of the run to a status, as the workflow's activities would. */
const setStatus = (deviceIds: string[], status: 'running' | 'succeeded' | 'failed') =>
  t.database.db.prisma.jobRunDevice.updateMany({ where: { jobRunId: runId, deviceId: { in: deviceIds } }, data: { status } });

beforeAll(async () => {
  // No worker polls this queue: runs stay queued, and the test moves their targets itself.
  t = await startTestApi({ temporalTaskQueue: `target-pages-${randomUUID()}` });
  operator = await t.tokenFor('operator');
  viewer = await t.tokenFor('viewer');
  const { prisma } = t.database.db;
  const base = { osFamily: 'linux', osName: 'Debian', osVersion: '12', architecture: 'x64', ipAddresses: [], agentVersion: '0.1.0' };
  // Mixed case and LIKE wildcards in names, 150 devices of one name (page boundaries fall among them: the device ID
  // orders them); created out of order, so the pages' order is the database's doing.
  const names = Array.from({ length: DEVICES }, (_, i) =>
    i === 7
      ? 'DB_Primary'
      : i === 8
        ? 'db%backup'
        : i === 9
          ? 'dbxprimary'
          : i >= 1100
            ? 'node-0600'
            : `node-${String((i * 7919) % DEVICES).padStart(4, '0')}`,
  );
  const devices = names.map((hostname) => ({ id: randomUUID(), hostname, secretHash: `pages-${randomUUID()}`, ...base }));
  for (const d of devices) hosts.set(d.hostname, d.id);
  allIds = devices.map((d) => d.id);
  await prisma.device.createMany({ data: devices });
  await prisma.deviceTag.createMany({ data: devices.map((d) => ({ deviceId: d.id, tag: 'pages' })) });
  const created = await t.request('/api/v1/job-runs', { method: 'POST', token: operator, json: { command: 'true', tags: ['pages'] } });
  expect(created.status).toBe(201);
  runId = ((await created.json()) as { id: string }).id;
  const small = await t.request('/api/v1/job-runs', {
    method: 'POST',
    token: operator,
    json: { command: 'true', deviceIds: [hosts.get('dbxprimary'), hosts.get('DB_Primary')] },
  });
  smallRunId = ((await small.json()) as { id: string }).id;
}, 120_000);
afterAll(() => t?.close());

describe('paging through a run', () => {
  it('returns every target once, in hostname order, while statuses change between pages', async () => {
    // The database's order (its collation): what the pages must add up to.
    const order = (
      await t.database.db.prisma.jobRunDevice.findMany({
        where: { jobRunId: runId },
        orderBy: [{ hostname: 'asc' }, { deviceId: 'asc' }],
        select: { deviceId: true },
      })
    ).map((r) => r.deviceId);
    const seen: Target[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const p: Page = await page({ limit: 100, ...(after ? { after } : {}) });
      expect(p.total).toBe(DEVICES);
      expect(p.items.length).toBeLessThanOrEqual(100);
      seen.push(...p.items);
      after = p.next;
      pages += 1;
      // Between pages, devices on either side of the cursor finish or start: none may move in the order.
      const behind = seen.slice(-10).map((x) => x.deviceId);
      const ahead = order.slice(seen.length, seen.length + 60).filter((_, i) => i % 3 === 0);
      await setStatus(behind, 'succeeded');
      await setStatus(ahead, pages % 2 ? 'running' : 'failed');
    } while (after);
    expect(pages).toBe(Math.ceil(DEVICES / 100));
    const ids = seen.map((x) => x.deviceId);
    expect(new Set(ids).size).toBe(DEVICES);
    expect(new Set(ids)).toEqual(new Set(allIds));
    expect(ids).toEqual(order);
    // Statuses are read fresh on every page: the devices that started ahead of the cursor show it.
    expect(seen.some((x) => x.status === 'running')).toBe(true);
  });

  it('ends with next: null on the last page, also when it is exactly full', async () => {
    const first = await page({ limit: 500 });
    expect(first.items).toHaveLength(500);
    const second = await page({ limit: 500, after: first.next! });
    const third = await page({ limit: 250, after: second.next! });
    expect(third.items).toHaveLength(250);
    expect(third.next).toBeNull();
    expect(new Set([...first.items, ...second.items, ...third.items].map((x) => x.deviceId)).size).toBe(DEVICES);
  });

  it('counts the run per status, unfiltered, as statuses change', async () => {
    await t.database.db.prisma.jobRunDevice.updateMany({ where: { jobRunId: runId }, data: { status: 'pending' } });
    const ids = allIds;
    await setStatus(ids.slice(0, 300), 'succeeded');
    await setStatus(ids.slice(300, 320), 'failed');
    const p = await page({ status: 'failed', limit: 5 });
    expect(p.counts).toEqual({ pending: DEVICES - 320, succeeded: 300, failed: 20 });
    expect(p.total).toBe(20);
    expect(p.items.every((x) => x.status === 'failed')).toBe(true);
    // Page through the filter: every failed device once.
    const failed: string[] = [];
    let after: string | null = null;
    do {
      const next: Page = await page({ status: 'failed', limit: 7, ...(after ? { after } : {}) });
      failed.push(...next.items.map((x) => x.deviceId));
      after = next.next;
    } while (after);
    expect(failed.sort()).toEqual(ids.slice(300, 320).sort());
  });
});

describe('filters', () => {
  it('searches hostnames literally and case-insensitively', async () => {
    const names = async (search: string) => (await page({ search })).items.map((x) => x.hostname);
    expect(await names('db_')).toEqual(['DB_Primary']);
    expect(await names('%')).toEqual(['db%backup']);
    expect((await names('PRIMARY')).sort()).toEqual(['DB_Primary', 'dbxprimary']);
    expect(await names('no-such-host')).toEqual([]);
    const nodes = await page({ search: 'NODE-12', limit: 500 });
    expect(nodes.total).toBe(nodes.items.length);
    expect(nodes.items.every((x) => x.hostname.startsWith('node-12'))).toBe(true);
    // Surrounding spaces are trimmed like every search field.
    expect((await page({ search: '  db%  ' })).total).toBe(1);
  });

  it('combines status, search and device', async () => {
    await setStatus([hosts.get('DB_Primary')!], 'failed');
    await setStatus([hosts.get('dbxprimary')!], 'succeeded');
    const failedPrimary = await page({ search: 'primary', status: 'failed' });
    expect(failedPrimary.items.map((x) => x.hostname)).toEqual(['DB_Primary']);
    expect(failedPrimary.total).toBe(1);
    const one = await page({ deviceId: hosts.get('dbxprimary')! });
    expect(one.items).toEqual([expect.objectContaining({ hostname: 'dbxprimary', status: 'succeeded' })]);
    expect((await page({ deviceId: randomUUID() })).items).toEqual([]);
  });
});

describe('hostile input', () => {
  it('refuses bad cursors, limits, statuses and NUL with 400', async () => {
    const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const query of [
      'after=not%20base64',
      'after=AAAA',
      `after=${cursorOf({ hostname: 'x', deviceId: randomUUID() })}`,
      `after=${cursorOf(['x', 'not-a-uuid'])}`,
      `after=${cursorOf(['x\u0000', randomUUID()])}`,
      `after=${cursorOf(['x'.repeat(300), randomUUID()])}`,
      `after=${'A'.repeat(5000)}`,
      'after=',
      'limit=0',
      'limit=501',
      'limit=99999999999999999999',
      'limit=ten',
      'status=sleeping',
      'search=a%00b',
      `search=${'x'.repeat(201)}`,
      'deviceId=1',
    ]) {
      const res = await api(`/job-runs/${runId}/targets?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.code, query).toBe('validation_failed');
    }
  });

  it('answers 404 for a run that does not exist, 401 without a session; any role may read', async () => {
    expect((await api(`/job-runs/${randomUUID()}/targets`)).status).toBe(404);
    expect((await api('/job-runs/not-a-uuid/targets')).status).toBe(400);
    expect((await t.request(`/api/v1/job-runs/${runId}/targets`)).status).toBe(401);
    expect((await api(`/job-runs/${runId}/targets?limit=1`, operator)).status).toBe(200);
  });
});

describe('the run itself', () => {
  it('lists the first targets of a large run by hostname and says it left some out', async () => {
    const { status, body } = await api(`/job-runs/${runId}`);
    expect(status).toBe(200);
    expect(body.targets).toHaveLength(MAX_EMBEDDED_TARGETS);
    expect(body).toMatchObject({ targetsTotal: DEVICES, targetsTruncated: true });
    const first = await page({ limit: 500 });
    expect(body.targets.slice(0, 500)).toEqual(first.items);
    const none = await api(`/job-runs/${runId}?targets=none`);
    expect(none.body).toMatchObject({ targets: [], targetsTotal: DEVICES, targetsTruncated: true });
    expect((await api(`/job-runs/${runId}?targets=all`)).status).toBe(400);
  });

  it('lists every target of a small run, as before', async () => {
    const { body } = await api(`/job-runs/${smallRunId}`);
    expect(body.targets.map((x: Target) => x.hostname)).toEqual(['DB_Primary', 'dbxprimary']);
    expect(body).toMatchObject({ targetsTotal: 2, targetsTruncated: false });
  });
});

describe('the live stream', () => {
  /** The `target` events the stream sends before its first `run` event. */
  async function firstTargets(query: string): Promise<Target[]> {
    const controller = new AbortController();
    const res = await t.request(`/api/v1/job-runs/${runId}/events?${query}`, { token: viewer, signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    try {
      while (!/^event: run$/m.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
    } finally {
      controller.abort();
    }
    return [...text.matchAll(/^event: target\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as Target);
  }

  it('sends only targets changed after targetsSince', async () => {
    expect(await firstTargets('')).toHaveLength(DEVICES);
    const since = new Date();
    await new Promise((r) => setTimeout(r, 20));
    await setStatus([hosts.get('db%backup')!], 'running');
    const changed = await firstTargets(`targetsSince=${encodeURIComponent(since.toISOString())}`);
    expect(changed.map((x) => `${x.hostname}:${x.status}`)).toEqual(['db%backup:running']);
    for (const bad of ['yesterday', '0000-01-01T00:00:00Z', '2026-13-01T00:00:00Z']) {
      expect((await api(`/job-runs/${runId}/events?targetsSince=${bad}`)).status, bad).toBe(400);
    }
  });
});

describe('the query plan', () => {
  it('seeks a page in the index on (job_run_id, hostname, device_id)', async () => {
    const { pool } = t.database.db;
    await pool.query('ANALYZE job_run_devices');
    const first = await page({ limit: 100 });
    const last = first.items.at(-1)!;
    // The statement Prisma sends for a page after a cursor.
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT * FROM job_run_devices
        WHERE job_run_id = $1 AND hostname >= $2 AND (hostname > $2 OR device_id > $3::uuid)
        ORDER BY hostname ASC, device_id ASC LIMIT 101`,
      [runId, last.hostname, last.deviceId],
    );
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toContain('job_run_devices_job_run_id_hostname_device_id_idx');
    expect(plan).not.toMatch(/Sort|Seq Scan/);
  });
});
