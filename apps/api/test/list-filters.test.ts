/**
 * Filters of the runs list and the audit log (user, status, device, action, target, dates), validated
 * strictly (bad input is a 400, never a 500), and their CSV exports: same rows as the list, RFC 4180
 * quoting, formula cells defused, UTF-8 with a BOM, streamed past one page.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';
import { parseCsv } from '../../../test/support/csv.ts';

let t: TestApi;
let admin: string;
const alice = { id: '', email: '', token: '' };
const bob = { id: '', email: '', token: '' };
const device: Record<string, string> = {};
const runs: Record<string, string> = {};

const get = async (path: string, token = admin) => {
  const res = await t.request(`/api/v1${path}`, { token });
  // Keep the byte-order mark (Response.text() strips it).
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer());
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    disposition: res.headers.get('content-disposition'),
    text,
    body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null,
  };
};
const ids = (body: { items: { id: string }[] }) => body.items.map((i) => i.id);
const runNames = (body: { items: { id: string }[] }) => ids(body).map((id) => Object.keys(runs).find((k) => runs[k] === id) ?? id);
/** Rows of a CSV export, without the BOM and the header. */
function csvRows(text: string): { header: string[]; rows: string[][] } {
  expect(text.startsWith('\uFEFF')).toBe(true);
  const [header, ...rows] = parseCsv(text.slice(1));
  return { header: header!, rows };
}

beforeAll(async () => {
  t = await startTestApi({ temporalTaskQueue: `filters-${randomUUID()}` });
  admin = await t.tokenFor('admin');
  for (const [u, role] of [
    [alice, 'operator'],
    [bob, 'operator'],
  ] as const) {
    const created = await t.createUser(role);
    Object.assign(u, created, { token: await t.login(created.email) });
  }
  const enroll = await t.createEnrollmentToken(admin, { maxUses: 5 });
  for (const h of ['web-1', 'web_2', 'webx2']) device[h] = (await t.enrollDevice(enroll, h)).deviceId;
  const create = async (name: string, who: typeof alice, deviceIds: string[], command: string) => {
    const res = await t.request('/api/v1/job-runs', { method: 'POST', token: who.token, json: { deviceIds, command } });
    expect(res.status, await res.clone().text()).toBe(201);
    runs[name] = ((await res.json()) as { id: string }).id;
  };
  await create('a-nov', alice, [device['web-1']!], 'uptime');
  await create('a-dec', alice, [device['web_2']!], "=cmd|' /C calc'!A0");
  await create('b-dec', bob, [device['webx2']!, device['web-1']!], 'echo "a, b"\necho done');
  const { prisma } = t.database.db;
  await prisma.jobRun.update({ where: { id: runs['a-nov'] }, data: { createdAt: new Date('2026-11-15T12:00:00Z'), status: 'succeeded' } });
  await prisma.jobRun.update({ where: { id: runs['a-dec'] }, data: { createdAt: new Date('2026-12-01T23:30:00Z'), status: 'failed' } });
  await prisma.jobRun.update({ where: { id: runs['b-dec'] }, data: { createdAt: new Date('2026-12-02T08:00:00Z') } });
});
afterAll(() => t?.close());

describe('runs list filters', () => {
  it('filters by who created the run (email or user ID), status, device and hostname', async () => {
    expect(runNames((await get(`/job-runs?createdBy=${encodeURIComponent(alice.email.toUpperCase())}`)).body).sort()).toEqual([
      'a-dec',
      'a-nov',
    ]);
    expect(runNames((await get(`/job-runs?createdBy=${bob.id}`)).body)).toEqual(['b-dec']);
    expect((await get('/job-runs?createdBy=nobody@example.com')).body).toEqual({ items: [], total: 0 });
    expect(runNames((await get('/job-runs?status=failed')).body)).toEqual(['a-dec']);
    expect(runNames((await get(`/job-runs?deviceId=${device['web-1']}`)).body)).toEqual(['b-dec', 'a-nov']);
    expect(runNames((await get('/job-runs?hostname=WEB-1')).body)).toEqual(['b-dec', 'a-nov']);
    // `_` is a character, not a LIKE wildcard.
    expect(runNames((await get('/job-runs?hostname=web_2')).body)).toEqual(['a-dec']);
    expect(runNames((await get(`/job-runs?createdBy=${alice.id}&status=succeeded`)).body)).toEqual(['a-nov']);
  });

  it('filters by creation time: dates are whole UTC days, date-times take an offset', async () => {
    expect(runNames((await get('/job-runs?from=2026-12-01')).body)).toEqual(['b-dec', 'a-dec']);
    expect(runNames((await get('/job-runs?to=2026-12-01')).body)).toEqual(['a-dec', 'a-nov']);
    expect(runNames((await get('/job-runs?from=2026-12-01&to=2026-12-01')).body)).toEqual(['a-dec']);
    expect(runNames((await get(`/job-runs?from=${encodeURIComponent('2026-12-02T09:00:00+02:00')}`)).body)).toEqual(['b-dec']);
    expect(runNames((await get('/job-runs?to=2026-12-01T23:30:00Z')).body)).toEqual(['a-nov']);
  });

  it('answers bad filters with 400 validation_failed, never a 500', async () => {
    const bad = [
      'from=2026-02-30',
      'from=2026-13-01',
      'from=yesterday',
      'from=2026-12-01T10:00',
      'to=1e10',
      'from=2026-12-02&to=2026-12-01',
      'from=' + 'x'.repeat(100),
      'from=0000-01-01',
      'from=1899-12-31T23:59:59Z',
      'to=9999-12-31',
      'from=-001000-01-01T00:00:00Z',
      'from=2026-12-01T10:00:00.123456789Z&to=2026-12-01T10:00:00Z',
      'status=exploded',
      'deviceId=web-1',
      'createdBy=%00',
      'hostname=%00',
      'hostname=' + 'h'.repeat(300),
      'page=0',
      'pageSize=100000',
    ];
    for (const q of bad) {
      const res = await get(`/job-runs?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.code, q).toBe('validation_failed');
      expect((await get(`/job-runs.csv?${q.replace(/^page.*/, 'from=bad')}`)).status, `csv ${q}`).toBe(400);
    }
    expect((await get('/job-runs?from=2026-12-02&to=2026-12-01')).body.errors).toEqual([expect.objectContaining({ path: 'to' })]);
    for (const q of [
      'from=1900-01-01',
      'from=9999-12-31',
      'to=9999-12-30',
      `from=${encodeURIComponent('2026-12-01T10:00:00.123456789+14:00')}`,
    ]) {
      expect((await get(`/job-runs?${q}`)).status, q).toBe(200);
      expect((await get(`/audit-logs?${q}`)).status, q).toBe(200);
    }
    // The device list's free-text search refuses NUL too (PostgreSQL text cannot hold it).
    for (const path of [
      '/devices?search=%00',
      `/groups/${randomUUID()}/members?search=%00`,
      `/devices/${device['web-1']}/software?search=%00`,
    ]) {
      expect((await get(path)).status, path).toBe(400);
    }
  });
});

describe('runs CSV export', () => {
  it('exports the filtered runs, with counts per status, quoted and defused', async () => {
    const res = await get('/job-runs.csv?from=2026-12-01');
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/csv; charset=utf-8');
    expect(res.disposition).toMatch(/^attachment; filename="job-runs-\d{4}-\d{2}-\d{2}\.csv"$/);
    const { header, rows } = csvRows(res.text);
    expect(header.slice(0, 5)).toEqual(['id', 'created_at', 'created_by', 'status', 'command']);
    const col = (row: string[], name: string) => row[header.indexOf(name)];
    expect(rows.map((r) => r[0])).toEqual(ids((await get('/job-runs?from=2026-12-01')).body));
    const [bDec, aDec] = rows;
    expect(col(bDec!, 'command')).toBe('echo "a, b"\necho done');
    expect(col(bDec!, 'created_by')).toBe(bob.email);
    expect(col(bDec!, 'devices')).toBe('2');
    expect(col(bDec!, 'pending')).toBe('2');
    expect(col(aDec!, 'command')).toBe("'=cmd|' /C calc'!A0");
    expect(col(aDec!, 'status')).toBe('failed');
    expect(col(aDec!, 'created_at')).toBe('2026-12-01T23:30:00.000Z');
  });

  it('streams every run past one page, newest first, none twice', async () => {
    const { prisma } = t.database.db;
    const many = Array.from({ length: 1234 }, (_, i) => ({
      id: randomUUID(),
      workflowId: `bulk-${i}-${randomUUID()}`,
      command: `bulk ${i}`,
      timeoutSeconds: 60,
      deadlineAt: new Date(),
      createdById: bob.id,
      createdAt: new Date(Date.UTC(2025, 0, 1) + i * 1000),
    }));
    await prisma.jobRun.createMany({ data: many });
    const { rows } = csvRows((await get(`/job-runs.csv?createdBy=${bob.id}&to=2026-01-01`)).text);
    expect(rows).toHaveLength(1234);
    expect(rows.map((r) => r[0])).toEqual(many.map((r) => r.id).reverse());
  });

  it('is open to every signed-in role, like the list', async () => {
    const viewer = await t.tokenFor('viewer');
    expect((await get('/job-runs.csv', viewer)).status).toBe(200);
    expect((await get('/job-runs.csv', 'x'.repeat(40))).status).toBe(401);
  });
});

describe('audit log filters and export', () => {
  beforeAll(async () => {
    await t.database.db.prisma.auditLog.createMany({
      data: [
        {
          actorType: 'user',
          actorId: 'not-a-user',
          actorName: '=HYPERLINK("http://evil.example","x")',
          action: 'jobXrun.create',
          targetType: 'job_run',
          targetId: '+SUM(A1)',
          userAgent: '@evil',
          details: { note: '-1+2', text: 'a,"b"\nc' },
          createdAt: new Date('2024-03-01T10:00:00Z'),
        },
        {
          actorType: 'device',
          actorId: device['web-1'],
          actorName: 'web-1',
          action: 'device.enroll',
          targetType: 'device',
          targetId: device['web-1'],
          createdAt: new Date('2024-02-29T10:00:00Z'),
        },
      ],
    });
  });

  it('filters by actor, action (exact or a kind), target and time', async () => {
    const actions = async (q: string) => {
      const res = await get(`/audit-logs?pageSize=200&${q}`);
      expect(res.status, `${q}: ${res.text}`).toBe(200);
      return (res.body.items as { action: string }[]).map((i) => i.action);
    };
    const aliceActions = await actions(`actor=${encodeURIComponent(alice.email.toUpperCase())}`);
    expect(aliceActions.sort()).toEqual(['auth.login', 'job_run.create', 'job_run.create']);
    expect(await actions(`actor=${alice.id}&action=job_run.create`)).toEqual(['job_run.create', 'job_run.create']);
    // `job_run.*` is every job_run action — and `_` in it matches only `_`.
    expect((await actions('action=job_run.*')).every((a) => a.startsWith('job_run.'))).toBe(true);
    expect(await actions('action=job_run.*')).toHaveLength(3);
    expect(await actions('action=jobxrun.create')).toEqual([]);
    expect(await actions(`targetType=job_run&targetId=${runs['b-dec']}`)).toEqual(['job_run.create']);
    expect(await actions('actorType=device&from=2024-02-29&to=2024-02-29')).toEqual(['device.enroll']);
    expect(await actions('from=2024-03-01T09:00:00Z&to=2024-03-01T11:00:00Z')).toEqual(['jobXrun.create']);
  });

  it('answers bad filters with 400, and keeps the log to admins', async () => {
    for (const q of [
      'action=DROP TABLE',
      'action=%25',
      'action=*',
      'targetType=Job-Run',
      'actor=%00',
      'actorType=robot',
      'from=2026-11-31',
      'to=2026-12-01T25:00:00Z',
      'from=2026-12-02&to=2026-12-01',
    ]) {
      const res = await get(`/audit-logs?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.code, q).toBe('validation_failed');
      expect((await get(`/audit-logs.csv?${q}`)).status, `csv ${q}`).toBe(400);
    }
    for (const path of ['/audit-logs', '/audit-logs.csv']) expect((await get(path, alice.token)).status, path).toBe(403);
  });

  it('exports the filtered log as CSV with formula cells defused and details as JSON', async () => {
    const res = await get('/audit-logs.csv?from=2024-03-01&to=2024-03-01T11:00:00Z&actorType=user');
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/csv; charset=utf-8');
    expect(res.disposition).toMatch(/^attachment; filename="audit-log-\d{4}-\d{2}-\d{2}\.csv"$/);
    const { header, rows } = csvRows(res.text);
    expect(header).toEqual([
      'id',
      'created_at',
      'actor_type',
      'actor_id',
      'actor_name',
      'action',
      'target_type',
      'target_id',
      'ip_address',
      'user_agent',
      'details',
    ]);
    expect(rows).toHaveLength(1);
    const row = Object.fromEntries(header.map((h, i) => [h, rows[0]![i]]));
    expect(row).toMatchObject({
      actor_name: '\'=HYPERLINK("http://evil.example","x")',
      action: 'jobXrun.create',
      target_id: "'+SUM(A1)",
      user_agent: "'@evil",
      created_at: '2024-03-01T10:00:00.000Z',
    });
    expect(JSON.parse(row.details!)).toEqual({ note: '-1+2', text: 'a,"b"\nc' });
    // Same rows as the list for the same filter, past one page of the export.
    const { prisma } = t.database.db;
    await prisma.auditLog.createMany({
      data: Array.from({ length: 2100 }, (_, i) => ({
        actorType: 'system',
        action: 'bulk.event',
        targetId: String(i),
        createdAt: new Date('2025-06-01T00:00:00Z'),
      })),
    });
    const bulk = csvRows((await get('/audit-logs.csv?action=bulk.event')).text).rows;
    expect(bulk).toHaveLength(2100);
    expect(new Set(bulk.map((r) => r[0])).size).toBe(2100);
    expect(bulk.slice(0, 200).map((r) => r[0])).toEqual(
      ((await get('/audit-logs?action=bulk.event&pageSize=200')).body.items as { id: string }[]).map((i) => i.id),
    );
  });
});

describe('runs of one job', () => {
  it('filters the runs list and its export by the saved job they ran', async () => {
    const job = await t.request('/api/v1/jobs', {
      method: 'POST',
      token: alice.token,
      json: { name: `filtered-${randomUUID()}`, steps: [{ name: 'one', kind: 'shell', command: 'echo one' }] },
    });
    expect(job.status).toBe(201);
    const jobId = ((await job.json()) as { id: string }).id;
    const run = await t.request(`/api/v1/jobs/${jobId}/runs`, {
      method: 'POST',
      token: alice.token,
      json: { deviceIds: [device['web-1']!] },
    });
    expect(run.status, await run.clone().text()).toBe(201);
    const runId = ((await run.json()) as { id: string }).id;
    expect(ids((await get(`/job-runs?jobId=${jobId}`)).body)).toEqual([runId]);
    expect(ids((await get(`/job-runs?jobId=${jobId}&status=failed`)).body)).toEqual([]);
    expect((await get(`/job-runs?jobId=${randomUUID()}`)).body).toEqual({ items: [], total: 0 });
    expect(csvRows((await get(`/job-runs.csv?jobId=${jobId}`)).text).rows.map((r) => r[0])).toEqual([runId]);
    for (const q of ['jobId=nope', 'jobId=%00', `jobId=${'9'.repeat(40)}`]) expect((await get(`/job-runs?${q}`)).status, q).toBe(400);
  });
});
