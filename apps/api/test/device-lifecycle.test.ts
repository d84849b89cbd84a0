/** Retire, delete and rotate a device's secret; credentials revoked at once across API processes; no 500 when a device vanishes. */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { queueCommand, storePayload } from '@opsconductor/commands';
import { startApiServer, type RunningApi } from '../src/server.ts';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';
import { fullReport, sampleSections } from '../../../test/support/inventory.ts';
import { waitFor } from '../../../test/support/tools.ts';

let t: TestApi;
let admin: string;
let operator: string;
beforeAll(async () => {
  t = await startTestApi({ pollWaitSeconds: 1 });
  admin = await t.tokenFor('admin');
  operator = await t.tokenFor('operator');
});
afterAll(() => t?.close());

const facts = (hostname: string) => ({
  hostname,
  osFamily: 'linux',
  osName: 'Debian',
  osVersion: '12',
  architecture: 'x64',
  ipAddresses: ['127.0.0.1'],
  agentVersion: '0.1.0',
});
const asDevice = (secret: string) => ({ authorization: `Bearer ${secret}` });
const checkin = (secret: string, base = t.url, hostname = 'host') =>
  fetch(`${base}/agent/v1/checkin`, {
    method: 'POST',
    headers: { ...asDevice(secret), 'content-type': 'application/json' },
    body: JSON.stringify({ facts: facts(hostname) }),
  });
const code = async (res: Response) => ((await res.json()) as { code: string }).code;

async function enroll(hostname: string) {
  return t.enrollDevice(await t.createEnrollmentToken(admin), hostname);
}
/** A run on the device (its workflow waits: no worker polls this test's queue) and a command as its batch activity writes it. */
async function runOn(deviceId: string) {
  const res = await t.request('/api/v1/job-runs', { method: 'POST', token: admin, json: { deviceIds: [deviceId], command: 'sleep 60' } });
  expect(res.status).toBe(201);
  const run = (await res.json()) as { id: string };
  const target = await t.database.db.prisma.jobRunDevice.findFirstOrThrow({ where: { jobRunId: run.id, deviceId } });
  const { pool } = t.database.db;
  const command = await queueCommand(pool, {
    deviceId,
    owner: { jobRunDeviceId: target.id },
    attempt: 1,
    payloadSha256: await storePayload(pool, { kind: 'shell', command: 'sleep 60', shell: 'default', timeoutSeconds: 60 }),
    expiresAt: new Date(Date.now() + 60_000),
  });
  return { runId: run.id, commandId: command!.id };
}

describe('retiring a device', () => {
  it('refuses its secret, ends its work, removes it from groups and hides it from lists, keeping its history', async () => {
    const { deviceId, deviceSecret } = await enroll(`retire-${randomUUID().slice(0, 6)}`);
    expect((await checkin(deviceSecret)).status).toBe(200); // warms the credential cache
    const group = await t.request('/api/v1/groups', {
      method: 'POST',
      token: admin,
      json: { name: `static-${deviceId}`, kind: 'static', deviceIds: [deviceId] },
    });
    expect(group.status).toBe(201);
    const groupId = ((await group.json()) as { id: string }).id;
    const { runId, commandId } = await runOn(deviceId);

    const res = await t.request(`/api/v1/devices/${deviceId}/retire`, { method: 'POST', token: operator });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { retiredAt: string | null }).retiredAt).toEqual(expect.any(String));

    // Credentials refused at once, with a code the agent recognises.
    for (const r of [await checkin(deviceSecret), await t.request('/agent/v1/commands?wait=0', { headers: asDevice(deviceSecret) })]) {
      expect(r.status).toBe(401);
      expect(await code(r)).toBe('device_retired');
    }
    // Work in flight ended, not left to time out.
    const target = await t.database.db.prisma.jobRunDevice.findFirstOrThrow({ where: { jobRunId: runId, deviceId } });
    expect(target).toMatchObject({ status: 'failed', errorMessage: 'The device was retired.' });
    expect(target.finishedAt).not.toBeNull();
    const command = await t.database.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: commandId } });
    expect(command).toMatchObject({ state: 'failed', errorMessage: 'The device was retired.' });
    // Out of every group, with the change recorded; no way back in.
    const members = await t.request(`/api/v1/groups/${groupId}/members`, { token: admin });
    expect(((await members.json()) as { total: number }).total).toBe(0);
    const events = (await (await t.request(`/api/v1/groups/${groupId}/events`, { token: admin })).json()) as {
      items: { change: string; reason: string }[];
    };
    expect(events.items[0]).toMatchObject({ change: 'removed', reason: 'device retired' });
    const readd = await t.request(`/api/v1/groups/${groupId}/members`, { method: 'POST', token: admin, json: { add: [deviceId] } });
    expect(readd.status).toBe(400);
    expect(await code(readd)).toBe('device_retired');
    // No new runs.
    const run = await t.request('/api/v1/job-runs', { method: 'POST', token: admin, json: { deviceIds: [deviceId], command: 'true' } });
    expect(run.status).toBe(400);
    expect(await code(run)).toBe('device_retired');
    // Hidden from the list unless asked for; its page and history stay.
    const list = async (q: string) =>
      ((await (await t.request(`/api/v1/devices?pageSize=200${q}`, { token: admin })).json()) as { items: { id: string }[] }).items.map(
        (d) => d.id,
      );
    expect(await list('')).not.toContain(deviceId);
    expect(await list('&lifecycle=retired')).toContain(deviceId);
    expect(await list('&lifecycle=all')).toContain(deviceId);
    expect((await t.request(`/api/v1/devices/${deviceId}`, { token: admin })).status).toBe(200);
    expect((await t.request(`/api/v1/job-runs/${runId}`, { token: admin })).status).toBe(200);
    // Audited once; retiring again changes nothing.
    expect((await t.request(`/api/v1/devices/${deviceId}/retire`, { method: 'POST', token: operator })).status).toBe(200);
    expect(await t.database.db.prisma.auditLog.count({ where: { action: 'device.retire', targetId: deviceId } })).toBe(1);
  });

  it('is revoked at once in every API process, not after the credential cache expires', async () => {
    const { deviceId, deviceSecret } = await enroll('two-apis');
    let other: RunningApi | undefined;
    try {
      other = await startApiServer({
        databaseUrl: t.database.url,
        temporalAddress: inject('temporalAddress'),
        port: 0,
        logger: pino({ level: 'silent' }),
      });
      expect((await checkin(deviceSecret, other.url)).status).toBe(200); // the other process caches the device
      expect((await t.request(`/api/v1/devices/${deviceId}/retire`, { method: 'POST', token: operator })).status).toBe(200);
      const started = Date.now();
      await waitFor('the other API to refuse the secret', async () => (await checkin(deviceSecret, other!.url)).status === 401, 3000, 50);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await other?.close();
    }
  });
});

describe('deleting a device', () => {
  it('needs the admin role and the hostname repeated, purges the device and keeps run history', async () => {
    const hostname = `doomed-${randomUUID().slice(0, 6)}`;
    const { deviceId, deviceSecret } = await enroll(hostname);
    expect((await checkin(deviceSecret, t.url, hostname)).status).toBe(200);
    const { runId } = await runOn(deviceId);

    expect((await t.request(`/api/v1/devices/${deviceId}?confirm=${hostname}`, { method: 'DELETE', token: operator })).status).toBe(403);
    expect((await t.request(`/api/v1/devices/${deviceId}`, { method: 'DELETE', token: admin })).status).toBe(400);
    const wrong = await t.request(`/api/v1/devices/${deviceId}?confirm=someone-else`, { method: 'DELETE', token: admin });
    expect(wrong.status).toBe(400);
    expect(await code(wrong)).toBe('confirmation_mismatch');
    expect((await checkin(deviceSecret, t.url, hostname)).status).toBe(200); // still there

    expect(
      (await t.request(`/api/v1/devices/${deviceId}?confirm=${encodeURIComponent(hostname)}`, { method: 'DELETE', token: admin })).status,
    ).toBe(204);
    expect((await t.request(`/api/v1/devices/${deviceId}`, { token: admin })).status).toBe(404);
    const r = await checkin(deviceSecret);
    expect(r.status).toBe(401);
    expect(await code(r)).toBe('device_unauthenticated');
    const { prisma } = t.database.db;
    expect(await prisma.deviceGroupMember.count({ where: { deviceId } })).toBe(0);
    // Its commands stay with the runs they belong to (their output too), all of them ended.
    expect(await prisma.agentCommand.findMany({ where: { deviceId }, select: { state: true, errorMessage: true } })).toEqual([
      { state: 'failed', errorMessage: 'The device was deleted.' },
    ]);
    const run = (await (await t.request(`/api/v1/job-runs/${runId}`, { token: admin })).json()) as {
      targets: { deviceId: string; hostname: string; status: string; errorMessage: string }[];
    };
    expect(run.targets).toEqual([
      expect.objectContaining({ deviceId, hostname, status: 'failed', errorMessage: 'The device was deleted.' }),
    ]);
    const audit = await prisma.auditLog.findFirstOrThrow({ where: { action: 'device.delete', targetId: deviceId } });
    expect(audit.details).toMatchObject({ hostname });
  });

  it('answers every agent call of a device deleted by hand with 401 or 404, never 500', async () => {
    const { deviceId, deviceSecret } = await enroll('vanishing');
    const { commandId } = await runOn(deviceId);
    expect((await checkin(deviceSecret)).status).toBe(200); // cached now
    const { pool } = t.database.db;
    // As if the notification were lost: only the handlers' own checks stand between this and a 500.
    await pool.query('ALTER TABLE devices DISABLE TRIGGER devices_deleted');
    try {
      await pool.query('DELETE FROM devices WHERE id = $1', [deviceId]);
      const now = new Date().toISOString();
      const calls: [string, string, unknown][] = [
        ['POST', '/agent/v1/checkin', { facts: facts('vanishing') }],
        ['GET', '/agent/v1/commands?wait=0', undefined],
        ['POST', `/agent/v1/commands/${commandId}/start`, { startedAt: now }],
        ['POST', `/agent/v1/commands/${commandId}/output`, { stream: 'stdout', seq: 0, data: 'x' }],
        ['POST', `/agent/v1/commands/${commandId}/heartbeat`, {}],
        [
          'POST',
          `/agent/v1/commands/${commandId}/result`,
          { status: 'succeeded', exitCode: 0, startedAt: now, finishedAt: now, durationMs: 1 },
        ],
        ['POST', '/agent/v1/inventory', fullReport(sampleSections({ hostname: 'vanishing' }))],
      ];
      for (const [method, path, body] of calls) {
        const res = await t.request(path, { method, headers: asDevice(deviceSecret), ...(body === undefined ? {} : { json: body }) });
        expect([401, 404], `${method} ${path}: ${res.status}`).toContain(res.status);
      }
      // After the first 401 the cache no longer holds the device: everything is 401 now.
      expect((await t.request('/agent/v1/commands?wait=0', { headers: asDevice(deviceSecret) })).status).toBe(401);
    } finally {
      await pool.query('ALTER TABLE devices ENABLE TRIGGER devices_deleted');
    }
  });

  it('tells every API process through the database when a row is deleted by hand', async () => {
    const { deviceId, deviceSecret } = await enroll('hand-deleted');
    expect((await checkin(deviceSecret)).status).toBe(200);
    await t.database.db.pool.query('DELETE FROM devices WHERE id = $1', [deviceId]);
    // The poll does not write the device row (last-seen was just touched): only the notification can refuse it.
    await waitFor(
      'the cached secret to be dropped',
      async () => (await t.request('/agent/v1/commands?wait=0', { headers: asDevice(deviceSecret) })).status === 401,
      3000,
      50,
    );
  });
});

describe('rotating a device secret', () => {
  it('returns a new secret once (admin only); the old one stops working at once', async () => {
    const { deviceId, deviceSecret } = await enroll('rotating');
    expect((await checkin(deviceSecret)).status).toBe(200);
    expect((await t.request(`/api/v1/devices/${deviceId}/rotate-secret`, { method: 'POST', token: operator })).status).toBe(403);
    const res = await t.request(`/api/v1/devices/${deviceId}/rotate-secret`, { method: 'POST', token: admin });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { deviceId: string; deviceSecret: string };
    expect(body.deviceId).toBe(deviceId);
    expect(body.deviceSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await checkin(deviceSecret)).status).toBe(401);
    expect((await checkin(body.deviceSecret)).status).toBe(200);
    const row = await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: deviceId } });
    expect(row.secretHash).not.toContain(body.deviceSecret);
    expect(await t.database.db.prisma.auditLog.count({ where: { action: 'device.rotate_secret', targetId: deviceId } })).toBe(1);

    expect((await t.request(`/api/v1/devices/${deviceId}/retire`, { method: 'POST', token: admin })).status).toBe(200);
    const retired = await t.request(`/api/v1/devices/${deviceId}/rotate-secret`, { method: 'POST', token: admin });
    expect(retired.status).toBe(409);
    expect(await code(retired)).toBe('device_retired');
  });
});

describe('rows that vanish mid-request, anywhere', () => {
  it('answers 404 / 409 instead of 500 when a write finds its row or a referenced row gone', async () => {
    const { createApp } = await import('../src/app.ts');
    const { Prisma } = await import('@opsconductor/db');
    const app = createApp(t.api.deps);
    const known = (code: string) => new Prisma.PrismaClientKnownRequestError('gone', { code, clientVersion: 'test' });
    app.get('/vanished-row', () => {
      throw known('P2025');
    });
    app.get('/vanished-reference', () => {
      throw known('P2003');
    });
    app.get('/vanished-reference-sql', () => {
      throw Object.assign(new Error('insert or update violates foreign key constraint'), { code: '23503' });
    });
    expect((await app.request('/vanished-row')).status).toBe(404);
    expect((await app.request('/vanished-reference')).status).toBe(409);
    expect((await app.request('/vanished-reference-sql')).status).toBe(409);
  });
});
