/**
 * Archiving and deleting jobs: an archived job leaves the default list, keeps its versions and runs, and gets no new
 * run, re-run or schedule until unarchived; a job that schedules start cannot be archived; only a job that never ran
 * can be deleted. Operators do it, viewers cannot.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

let t: TestApi;
let operator: string;
let viewer: string;
let deviceId: string;

beforeAll(async () => {
  t = await startTestApi();
  const admin = await t.tokenFor('admin');
  [operator, viewer] = await Promise.all([t.tokenFor('operator'), t.tokenFor('viewer')]);
  ({ deviceId } = await t.enrollDevice(await t.createEnrollmentToken(admin)));
});
afterAll(() => t?.close());

const call = async (method: string, path: string, json?: unknown, token = operator) => {
  const res = await t.request(`/api/v1${path}`, { method, token, ...(json !== undefined ? { json } : {}) });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
};
const newJob = async () => {
  const res = await call('POST', '/jobs', { name: `archivable-${randomUUID()}`, steps: [{ name: 'one', kind: 'shell', command: 'true' }] });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; name: string };
};
const listed = async (query: string) =>
  ((await call('GET', `/jobs?pageSize=200&${query}`)).body.items as { id: string }[]).map((j) => j.id);

it('archives a job: out of the default list, no new runs or schedules, its history kept; unarchived it runs again', async () => {
  const job = await newJob();
  const run = await call('POST', `/jobs/${job.id}/runs`, { deviceIds: [deviceId] });
  expect(run.status, run.text).toBe(201);
  expect((await call('POST', `/jobs/${job.id}/archive`, undefined, viewer)).status).toBe(403);
  const archived = await call('POST', `/jobs/${job.id}/archive`);
  expect(archived.status, archived.text).toBe(200);
  expect(archived.body.archivedAt).not.toBeNull();
  expect((await call('POST', `/jobs/${job.id}/archive`)).body.archivedAt).toBe(archived.body.archivedAt);
  expect(await listed('')).not.toContain(job.id);
  expect(await listed('archived=only')).toEqual([job.id]);
  expect(await listed('archived=include')).toContain(job.id);
  expect((await call('GET', `/jobs/${job.id}`)).body.archivedAt).toBe(archived.body.archivedAt);
  expect((await call('GET', `/job-runs/${run.body.id}`)).status).toBe(200);

  expect(await call('POST', `/jobs/${job.id}/runs`, { deviceIds: [deviceId] })).toMatchObject({
    status: 409,
    body: { code: 'job_archived' },
  });
  const schedule = { name: `never-${randomUUID()}`, deviceIds: [deviceId], spec: { cron: ['0 3 * * *'] } };
  expect(await call('POST', `/jobs/${job.id}/schedules`, schedule)).toMatchObject({ status: 409, body: { code: 'job_archived' } });
  await t.database.db.pool.query(`UPDATE job_runs SET status = 'failed', finished_at = now() WHERE id = $1`, [run.body.id]);
  await t.database.db.pool.query(`UPDATE job_run_devices SET status = 'failed', finished_at = now() WHERE job_run_id = $1`, [run.body.id]);
  expect(await call('POST', `/job-runs/${run.body.id}/rerun`, {})).toMatchObject({ status: 409, body: { code: 'job_archived' } });

  const back = await call('POST', `/jobs/${job.id}/unarchive`);
  expect(back.body.archivedAt).toBeNull();
  expect(await listed('')).toContain(job.id);
  expect((await call('POST', `/jobs/${job.id}/runs`, { deviceIds: [deviceId] })).status).toBe(201);
  const audit = await t.database.db.prisma.auditLog.findMany({
    where: { targetType: 'job', targetId: job.id },
    orderBy: { createdAt: 'asc' },
  });
  expect(audit.map((a) => a.action).filter((a) => a.startsWith('job.') && a.includes('archive'))).toEqual(['job.archive', 'job.unarchive']);
});

it('refuses to archive a job that schedules start, and deletes only a job that never ran', async () => {
  const scheduled = await newJob();
  const schedule = await call('POST', `/jobs/${scheduled.id}/schedules`, {
    name: `nightly-${randomUUID()}`,
    deviceIds: [deviceId],
    spec: { cron: ['0 3 * * *'] },
    paused: true,
  });
  expect(schedule.status, schedule.text).toBe(201);
  expect(await call('POST', `/jobs/${scheduled.id}/archive`)).toMatchObject({ status: 409, body: { code: 'job_has_schedules' } });
  expect(await call('DELETE', `/jobs/${scheduled.id}`)).toMatchObject({ status: 409, body: { code: 'job_has_schedules' } });
  await call('DELETE', `/job-schedules/${schedule.body.id}`);
  expect((await call('POST', `/jobs/${scheduled.id}/archive`)).status).toBe(200);

  const ran = await newJob();
  expect((await call('POST', `/jobs/${ran.id}/runs`, { deviceIds: [deviceId] })).status).toBe(201);
  expect(await call('DELETE', `/jobs/${ran.id}`)).toMatchObject({ status: 409, body: { code: 'job_has_runs' } });

  const unused = await newJob();
  expect((await call('DELETE', `/jobs/${unused.id}`, undefined, viewer)).status).toBe(403);
  expect((await call('DELETE', `/jobs/${unused.id}`)).status).toBe(204);
  expect((await call('GET', `/jobs/${unused.id}`)).status).toBe(404);
  expect(await t.database.db.prisma.jobVersion.count({ where: { jobId: unused.id } })).toBe(0);
  expect((await call('DELETE', `/jobs/${unused.id}`)).status).toBe(404);
  expect((await call('GET', '/jobs?archived=sometimes')).status).toBe(400);
});
