/**
 * Changing a schedule (PUT /job-schedules/{id}) against the real Temporal server: `paused` left out keeps the schedule
 * as Temporal has it, a secret parameter left out keeps its stored value, one given replaces it. The rest of schedules
 * (firing, trigger, pause, delete) is in test/e2e/jobs.e2e.test.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { SecretStore } from '@opsconductor/secrets';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

const key = { id: 'k1', key: randomBytes(32) };
let t: TestApi;
let temporal: Client;
let operator: string;
let deviceId: string;

beforeAll(async () => {
  t = await startTestApi({}, { secretsMasterKeys: [key] });
  operator = await t.tokenFor('operator');
  ({ deviceId } = await t.enrollDevice(await t.createEnrollmentToken(await t.tokenFor('admin'))));
  temporal = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
});
afterAll(async () => {
  await t?.close();
  await temporal?.connection.close();
});

const call = async (method: string, path: string, json?: unknown) => {
  const res = await t.request(`/api/v1${path}`, { method, token: operator, ...(json !== undefined ? { json } : {}) });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
};

it('keeps paused and stored secrets that a change leaves out, and replaces those it gives', async () => {
  const job = await call('POST', '/jobs', {
    name: `scheduled-${randomUUID()}`,
    parameters: [
      { name: 'label', type: 'string', required: true },
      { name: 'token', type: 'secret', required: true },
    ],
    steps: [{ name: 'report', kind: 'shell', command: 'echo "{{ label }}"' }],
  });
  expect(job.status, job.text).toBe(201);
  const body = {
    name: `nightly-${randomUUID()}`,
    deviceIds: [deviceId],
    spec: { cron: ['0 3 * * *'], timeZone: 'Europe/Berlin' },
    parameters: { label: 'first', token: 'original-secret' },
  };
  const created = await call('POST', `/jobs/${job.body.id}/schedules`, { ...body, paused: true });
  expect(created.status, created.text).toBe(201);
  const { id, scheduleId } = created.body as { id: string; scheduleId: string };
  const secret = () =>
    new SecretStore({ db: t.database.db, keys: [key] }).revealText({ ownerType: 'job_schedule', ownerId: id, purpose: 'parameter:token' });
  const pausedInTemporal = async () => (await temporal.schedule.getHandle(scheduleId).describe()).state.paused;
  expect(await secret()).toBe('original-secret');

  // No `paused`, no token: still paused, the token kept, the label changed.
  const kept = await call('PUT', `/job-schedules/${id}`, { ...body, parameters: { label: 'second' } });
  expect(kept.status, kept.text).toBe(200);
  expect(kept.body).toMatchObject({ paused: true, parameters: { label: 'second' }, secretParameters: ['token'] });
  expect(await pausedInTemporal()).toBe(true);
  expect(await secret()).toBe('original-secret');

  // Unpaused in the Temporal UI meanwhile: a change without `paused` leaves it running.
  await temporal.schedule.getHandle(scheduleId).unpause('from the Temporal UI');
  const running = await call('PUT', `/job-schedules/${id}`, { ...body, parameters: { label: 'third' } });
  expect(running.body.paused).toBe(false);
  expect(await pausedInTemporal()).toBe(false);

  // Given: replaced, and paused as asked.
  const replaced = await call('PUT', `/job-schedules/${id}`, {
    ...body,
    paused: true,
    parameters: { label: 'fourth', token: 'rotated-secret' },
  });
  expect(replaced.status, replaced.text).toBe(200);
  expect(replaced.body.paused).toBe(true);
  expect(await pausedInTemporal()).toBe(true);
  expect(await secret()).toBe('rotated-secret');
  for (const text of [created.text, kept.text, running.text, replaced.text]) {
    expect(text).not.toContain('original-secret');
    expect(text).not.toContain('rotated-secret');
  }
  await call('DELETE', `/job-schedules/${id}`);
});
