import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';
import { apiEnvSchema } from '../src/env.ts';
import { workerEnvSchema } from '../../../workers/src/env.ts';
import { queueCommand as queueCommandFor, type QueueOptions } from '../../../test/support/commands.ts';

let t: TestApi;
let admin: string;
beforeAll(async () => {
  t = await startTestApi({ pollWaitSeconds: 2 });
  admin = await t.tokenFor('admin');
});
afterAll(() => t?.close());

const asDevice = (secret: string) => ({ authorization: `Bearer ${secret}` });

const queueCommand = (deviceId: string, options?: QueueOptions) => queueCommandFor(t.database.db, deviceId, options);

const post = (secret: string, path: string, json: unknown) => t.request(path, { method: 'POST', headers: asDevice(secret), json });
const result = (over: Record<string, unknown> = {}) => ({
  status: 'succeeded',
  exitCode: 0,
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
  durationMs: 1,
  ...over,
});

async function outputOf(runId: string, encoding: 'text' | 'base64' = 'text') {
  const res = await t.request(`/api/v1/job-runs/${runId}/output?encoding=${encoding}`, { token: admin });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: { stream: string; data: string; encoding: string }[] }).items;
}

describe('enrollment', () => {
  it('enrolls with a valid token, stores only a hash of the device secret, and refuses reuse of a single-use token', async () => {
    const token = await t.createEnrollmentToken(admin);
    const { deviceId, deviceSecret } = await t.enrollDevice(token, 'ws-001');
    expect(Buffer.from(deviceSecret, 'base64url')).toHaveLength(32);
    const device = await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: deviceId } });
    expect(device.hostname).toBe('ws-001');
    expect(device.secretHash).not.toContain(deviceSecret);
    expect(device.secretHash).toMatch(/^[0-9a-f]{64}$/);
    await expect(t.enrollDevice(token)).rejects.toThrow(/401.*enrollment_token_invalid/);
  });

  it('honours maxUses, expiry and revocation', async () => {
    const multi = await t.createEnrollmentToken(admin, { maxUses: 2 });
    await t.enrollDevice(multi);
    await t.enrollDevice(multi);
    await expect(t.enrollDevice(multi)).rejects.toThrow(/enrollment_token_invalid/);

    const expiring = await t.createEnrollmentToken(admin);
    await t.database.db.prisma.enrollmentToken.updateMany({
      where: { tokenPrefix: expiring.slice(0, 10) },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    await expect(t.enrollDevice(expiring)).rejects.toThrow(/enrollment_token_invalid/);

    const revoked = await t.createEnrollmentToken(admin, { maxUses: 5 });
    const row = await t.database.db.prisma.enrollmentToken.findFirstOrThrow({ where: { tokenPrefix: revoked.slice(0, 10) } });
    expect((await t.request(`/api/v1/enrollment-tokens/${row.id}`, { method: 'DELETE', token: admin })).status).toBe(200);
    await expect(t.enrollDevice(revoked)).rejects.toThrow(/enrollment_token_invalid/);
  });

  it('rejects malformed enrollment payloads', async () => {
    const res = await t.request('/agent/v1/enroll', {
      method: 'POST',
      json: { enrollmentToken: 'x', facts: { hostname: 'a'.repeat(1000) } },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('validation_failed');
  });
});

describe('device authentication and isolation', () => {
  it('rejects missing or wrong device secrets', async () => {
    expect((await t.request('/agent/v1/commands?wait=0')).status).toBe(401);
    const res = await t.request('/agent/v1/commands?wait=0', { headers: asDevice('A'.repeat(43)) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('device_unauthenticated');
  });

  it("never lets device A fetch, start, stream to or complete device B's command", async () => {
    const token = await t.createEnrollmentToken(admin, { maxUses: 2 });
    const a = await t.enrollDevice(token, 'device-a');
    const b = await t.enrollDevice(token, 'device-b');
    const cmd = await queueCommand(b.deviceId, { state: 'queued' });

    const pollA = await t.request('/agent/v1/commands?wait=0', { headers: asDevice(a.deviceSecret) });
    expect(await pollA.json()).toEqual({ commands: [], cancel: [] });
    for (const [path, json] of [
      [`/agent/v1/commands/${cmd.id}/start`, { startedAt: new Date().toISOString() }],
      [`/agent/v1/commands/${cmd.id}/output`, { stream: 'stdout', seq: 0, data: 'forged' }],
      [`/agent/v1/commands/${cmd.id}/heartbeat`, {}],
      [
        `/agent/v1/commands/${cmd.id}/result`,
        { status: 'succeeded', exitCode: 0, startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), durationMs: 1 },
      ],
    ] as const) {
      const res = await t.request(path, { method: 'POST', headers: asDevice(a.deviceSecret), json });
      expect(res.status, path).toBe(404);
    }
    const untouched = await t.database.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: cmd.id } });
    expect(untouched).toMatchObject({ state: 'queued', result: null, resultCount: 0 });
    expect(await t.database.db.prisma.outputChunk.count({ where: { commandId: cmd.id } })).toBe(0);

    const pollB = (await (await t.request('/agent/v1/commands?wait=0', { headers: asDevice(b.deviceSecret) })).json()) as {
      commands: { id: string }[];
    };
    expect(pollB.commands.map((c) => c.id)).toEqual([cmd.id]);
  });

  it('answers a long-poll within a second of a command being queued', async () => {
    const token = await t.createEnrollmentToken(admin);
    const d = await t.enrollDevice(token, 'poller');
    const started = Date.now();
    const poll = t
      .request('/agent/v1/commands?wait=2', { headers: asDevice(d.deviceSecret) })
      .then((r) => r.json() as Promise<{ commands: { id: string }[] }>);
    await new Promise((r) => setTimeout(r, 300));
    const cmd = await queueCommand(d.deviceId, { state: 'queued' });
    // The activity wakes the long-poll with NOTIFY; here we publish the same notification.
    t.api.deps.events.publish('oc_agent_commands', d.deviceId);
    const res = await poll;
    expect(res.commands.map((c) => c.id)).toEqual([cmd.id]);
    expect(Date.now() - started).toBeLessThan(1300);
  });

  it('bounds output chunks and rejects malformed ones', async () => {
    const token = await t.createEnrollmentToken(admin);
    const d = await t.enrollDevice(token, 'chunky');
    const cmd = await queueCommand(d.deviceId);
    const tooBig = await t.request(`/agent/v1/commands/${cmd.id}/output`, {
      method: 'POST',
      headers: asDevice(d.deviceSecret),
      json: { stream: 'stdout', seq: 0, data: 'é'.repeat(40 * 1024) },
    });
    expect(tooBig.status).toBe(413);
    const bad = await t.request(`/agent/v1/commands/${cmd.id}/output`, {
      method: 'POST',
      headers: asDevice(d.deviceSecret),
      json: { stream: 'stdin', seq: -1, data: 1 },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(
      expect.arrayContaining(['stream', 'seq', 'data']),
    );
  });
});

describe('presence', () => {
  const status = async (deviceId: string) =>
    ((await (await t.request(`/api/v1/devices/${deviceId}`, { token: admin })).json()) as { status: string }).status;
  const listed = async (filter: string) =>
    (
      (await (await t.request(`/api/v1/devices?status=${filter}&pageSize=200`, { token: admin })).json()) as { items: { id: string }[] }
    ).items.map((d) => d.id);

  it('a goodbye shows the device offline at once, in lists, filters and groups; the next check-in brings it back', async () => {
    const { deviceId, deviceSecret } = await t.enrollDevice(await t.createEnrollmentToken(admin), 'presence-1');
    const group = await t.request('/api/v1/groups', {
      method: 'POST',
      token: admin,
      json: { kind: 'dynamic', name: 'Offline now', rule: { field: 'device.status', op: 'equals', value: 'offline' } },
    });
    expect(group.status).toBe(201);
    const groupId = ((await group.json()) as { id: string }).id;
    const members = async () =>
      ((await (await t.request(`/api/v1/groups/${groupId}/members`, { token: admin })).json()) as { items: { id: string }[] }).items.map(
        (d) => d.id,
      );
    expect(await status(deviceId)).toBe('online');

    const bye = await t.request('/agent/v1/goodbye', { method: 'POST', headers: asDevice(deviceSecret), json: {} });
    expect(bye.status).toBe(200);
    expect(await bye.json()).toEqual({ deviceId });
    expect(await status(deviceId)).toBe('offline');
    expect(await listed('offline')).toContain(deviceId);
    expect(await listed('online')).not.toContain(deviceId);
    expect(await members()).toContain(deviceId);

    const checkin = await t.request('/agent/v1/checkin', {
      method: 'POST',
      headers: asDevice(deviceSecret),
      json: {
        facts: {
          hostname: 'presence-1',
          osFamily: 'linux',
          osName: 'Debian',
          osVersion: '12',
          architecture: 'x64',
          ipAddresses: [],
          agentVersion: '0.1.0',
        },
      },
    });
    expect(checkin.status).toBe(200);
    expect(await status(deviceId)).toBe('online');
    expect(await listed('online')).toContain(deviceId);
    expect(await listed('offline')).not.toContain(deviceId);
  });

  it('a poll after a goodbye (an agent restarted within the last-seen throttle) is seen again', async () => {
    const { deviceId, deviceSecret } = await t.enrollDevice(await t.createEnrollmentToken(admin), 'presence-2');
    expect((await t.request('/agent/v1/commands?wait=0', { headers: asDevice(deviceSecret) })).status).toBe(200);
    expect((await t.request('/agent/v1/goodbye', { method: 'POST', headers: asDevice(deviceSecret), json: {} })).status).toBe(200);
    expect(await status(deviceId)).toBe('offline');
    expect((await t.request('/agent/v1/commands?wait=0', { headers: asDevice(deviceSecret) })).status).toBe(200);
    expect(await status(deviceId)).toBe('online');
  });

  it('a request that arrived before the goodbye, handled after it, leaves the device offline', async () => {
    const { deviceId, deviceSecret } = await t.enrollDevice(await t.createEnrollmentToken(admin), 'presence-3');
    expect((await t.request('/agent/v1/commands?wait=0', { headers: asDevice(deviceSecret) })).status).toBe(200);
    const arrivedBeforeGoodbye = new Date();
    expect((await t.request('/agent/v1/goodbye', { method: 'POST', headers: asDevice(deviceSecret), json: {} })).status).toBe(200);
    // An aborted long-poll the agent sent before it said goodbye, which the server got to only now.
    expect(await t.api.deps.lastSeen.seen(deviceId, arrivedBeforeGoodbye)).toBe(true);
    await t.api.deps.lastSeen.flush();
    expect(await status(deviceId)).toBe('offline');
  });

  it('DEVICE_ONLINE_WINDOW_SECONDS and DEVICE_OFFLINE_AFTER_SECONDS set one online, stale and offline for the device status, its filter, the fleet summary and group rules', async () => {
    const defaults = apiEnvSchema.parse({ DATABASE_URL: 'postgres://x/y' });
    expect([defaults.DEVICE_ONLINE_WINDOW_SECONDS, defaults.DEVICE_OFFLINE_AFTER_SECONDS]).toEqual([90, 600]);
    const worker = workerEnvSchema.parse({ DATABASE_URL: 'postgres://x/y', DEVICE_OFFLINE_AFTER_SECONDS: '900' });
    expect(worker.DEVICE_OFFLINE_AFTER_SECONDS).toBe(900);
    // The offline threshold cannot come before the online window ends.
    for (const schema of [apiEnvSchema, workerEnvSchema]) {
      const refused = schema.safeParse({
        DATABASE_URL: 'postgres://x/y',
        DEVICE_ONLINE_WINDOW_SECONDS: '120',
        DEVICE_OFFLINE_AFTER_SECONDS: '60',
      });
      expect(refused.error?.issues.map((i) => i.path.join('.'))).toEqual(['DEVICE_OFFLINE_AFTER_SECONDS']);
    }
    expect(apiEnvSchema.parse({ DATABASE_URL: 'postgres://x/y', DEVICE_ONLINE_WINDOW_SECONDS: '45' }).DEVICE_ONLINE_WINDOW_SECONDS).toBe(
      45,
    );
    expect(apiEnvSchema.safeParse({ DATABASE_URL: 'postgres://x/y', DEVICE_ONLINE_WINDOW_SECONDS: '10' }).success).toBe(false);
    expect(workerEnvSchema.parse({ DATABASE_URL: 'postgres://x/y', DEVICE_ONLINE_WINDOW_SECONDS: '45' }).DEVICE_ONLINE_WINDOW_SECONDS).toBe(
      45,
    );

    const short = await startTestApi({ presence: { onlineWindowSeconds: 30, offlineAfterSeconds: 50 } });
    try {
      const adminToken = await short.tokenFor('admin');
      const token = await short.createEnrollmentToken(adminToken, { maxUses: 3 });
      const quietFor = async (name: string, seconds: number) => {
        const { deviceId } = await short.enrollDevice(token, name);
        await short.database.db.prisma.device.update({
          where: { id: deviceId },
          data: { lastSeenAt: new Date(Date.now() - seconds * 1000) },
        });
        return deviceId;
      };
      // 90 s and 600 s would say online for both.
      const byStatus = {
        online: await quietFor('quiet-for-10-s', 10),
        stale: await quietFor('quiet-for-40-s', 40),
        offline: await quietFor('quiet-for-a-minute', 60),
      };
      const get = async (path: string) => (await short.request(path, { token: adminToken })).json() as Promise<any>;
      const ids = (page: { items: Array<{ id: string }> }) => page.items.map((d) => d.id);
      for (const [status, deviceId] of Object.entries(byStatus)) {
        expect((await get(`/api/v1/devices/${deviceId}`)).status).toBe(status);
        expect(ids(await get(`/api/v1/devices?status=${status}`))).toEqual([deviceId]);
        const preview = await short.request('/api/v1/job-runs/preview', {
          method: 'POST',
          token: adminToken,
          json: { filter: { status } },
        });
        expect(((await preview.json()) as { sample: Array<{ id: string; status: string }> }).sample).toEqual([
          expect.objectContaining({ id: deviceId, status }),
        ]);
        const group = await short.request('/api/v1/groups', {
          method: 'POST',
          token: adminToken,
          json: { kind: 'dynamic', name: `Status ${status}`, rule: { field: 'device.status', op: 'equals', value: status } },
        });
        const { id } = (await group.json()) as { id: string };
        expect(ids(await get(`/api/v1/groups/${id}/members`))).toEqual([deviceId]);
      }
      const summary = await get('/api/v1/fleet/summary');
      expect(summary).toMatchObject({ onlineWindowSeconds: 30, offlineAfterSeconds: 50, devices: { online: 1, stale: 1, offline: 1 } });
    } finally {
      await short.close();
    }
  });

  it('refuses a goodbye without valid device credentials', async () => {
    expect((await t.request('/agent/v1/goodbye', { method: 'POST', json: {} })).status).toBe(401);
    expect((await t.request('/agent/v1/goodbye', { method: 'POST', headers: asDevice('A'.repeat(43)), json: {} })).status).toBe(401);
  });
});

describe('data PostgreSQL could not store before', () => {
  async function device(name: string) {
    return t.enrollDevice(await t.createEnrollmentToken(admin), name);
  }

  it('stores a chunk with a NUL and shows it as it was, with the clean lines around it', async () => {
    const d = await device('nul-output');
    const cmd = await queueCommand(d.deviceId);
    expect((await post(d.deviceSecret, `/agent/v1/commands/${cmd.id}/output`, { stream: 'stdout', seq: 0, data: 'line1\n' })).status).toBe(
      200,
    );
    expect(
      (await post(d.deviceSecret, `/agent/v1/commands/${cmd.id}/output`, { stream: 'stdout', seq: 1, data: 'line2\0still line2\n' }))
        .status,
    ).toBe(200);
    expect((await post(d.deviceSecret, `/agent/v1/commands/${cmd.id}/output`, { stream: 'stdout', seq: 2, data: 'line3\n' })).status).toBe(
      200,
    );
    const items = await outputOf(cmd.jobRunDevice.jobRunId);
    expect(items.map((i) => i.data).join('')).toBe('line1\nline2\0still line2\nline3\n');
    expect(items.every((i) => i.encoding === 'text')).toBe(true);
  });

  it('stores base64 output byte for byte; text shows bytes that are not UTF-8 as U+FFFD, base64 returns them exactly', async () => {
    const d = await device('raw-output');
    const cmd = await queueCommand(d.deviceId);
    const raw = Buffer.from([0x61, 0x00, 0xff, 0xfe, 0x62, 0xe2, 0x82, 0xac]);
    expect(
      (
        await post(d.deviceSecret, `/agent/v1/commands/${cmd.id}/output`, {
          stream: 'stderr',
          seq: 0,
          encoding: 'base64',
          data: raw.toString('base64'),
        })
      ).status,
    ).toBe(200);
    const row = await t.database.db.prisma.outputChunk.findFirstOrThrow({ where: { commandId: cmd.id } });
    expect(Buffer.from(row.data)).toEqual(raw);
    expect(row.bytes).toBe(raw.length);
    expect((await outputOf(cmd.jobRunDevice.jobRunId))[0]!.data).toBe('a\0\uFFFD\uFFFDb€');
    const exact = (await outputOf(cmd.jobRunDevice.jobRunId, 'base64'))[0]!;
    expect(exact.encoding).toBe('base64');
    expect(Buffer.from(exact.data, 'base64')).toEqual(raw);
    // Base64 that is not base64, or too many bytes once decoded, is refused.
    expect(
      (
        await post(d.deviceSecret, `/agent/v1/commands/${cmd.id}/output`, {
          stream: 'stderr',
          seq: 1,
          encoding: 'base64',
          data: 'not base64!',
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await post(d.deviceSecret, `/agent/v1/commands/${cmd.id}/output`, {
          stream: 'stderr',
          seq: 1,
          encoding: 'base64',
          data: Buffer.alloc(64 * 1024 + 1).toString('base64'),
        })
      ).status,
    ).toBe(413);
  });

  it('stores Windows and negative exit codes and returns them as numbers', async () => {
    const d = await device('windows-exit');
    for (const exitCode of [3221225477, 4294967295, -1073741819]) {
      const cmd = await queueCommand(d.deviceId);
      const res = await post(
        d.deviceSecret,
        `/agent/v1/commands/${cmd.id}/result`,
        result({ status: 'failed', exitCode, error: 'access violation\0 \ud800' }),
      );
      expect(res.status).toBe(200);
      const run = (await (await t.request(`/api/v1/job-runs/${cmd.jobRunDevice.jobRunId}`, { token: admin })).json()) as {
        targets: { exitCode: number; errorMessage: string }[];
      };
      expect(run.targets[0]).toMatchObject({ exitCode, errorMessage: 'access violation\uFFFD \uFFFD' });
    }
    const cmd = await queueCommand(d.deviceId);
    for (const exitCode of [2 ** 32, -(2 ** 31) - 1, 1.5]) {
      expect((await post(d.deviceSecret, `/agent/v1/commands/${cmd.id}/result`, result({ exitCode }))).status).toBe(400);
    }
    // An int4 duration or a year-0000 timestamp would have failed in the database: refused up front.
    expect((await post(d.deviceSecret, `/agent/v1/commands/${cmd.id}/result`, result({ durationMs: 2 ** 31 }))).status).toBe(400);
    expect((await post(d.deviceSecret, `/agent/v1/commands/${cmd.id}/result`, result({ startedAt: '0000-01-01T00:00:00Z' }))).status).toBe(
      400,
    );
    expect((await post(d.deviceSecret, `/agent/v1/commands/${cmd.id}/start`, { startedAt: '2026-01-01T00:00:00+02:00' })).status).toBe(200);
  });

  it('refuses output once the device has finished in the run, but still acknowledges a retried chunk stored before', async () => {
    const d = await device('late-output');
    const cmd = await queueCommand(d.deviceId);
    const path = `/agent/v1/commands/${cmd.id}/output`;
    expect((await post(d.deviceSecret, path, { stream: 'stdout', seq: 0, data: 'before\n' })).status).toBe(200);
    expect((await post(d.deviceSecret, `/agent/v1/commands/${cmd.id}/result`, result())).status).toBe(200);
    const late = await post(d.deviceSecret, path, { stream: 'stdout', seq: 1, data: 'after\n' });
    expect(late.status).toBe(409);
    expect(((await late.json()) as { code: string }).code).toBe('output_after_finish');
    expect((await post(d.deviceSecret, path, { stream: 'stdout', seq: 0, data: 'before\n' })).status).toBe(200);
    expect((await outputOf(cmd.jobRunDevice.jobRunId)).map((i) => i.data)).toEqual(['before\n']);
    expect((await t.database.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: cmd.id } })).stdoutBytes).toBe(7n);
  });

  it('keeps the newest 1 MiB of a stream in bytes, cut at a character boundary', async () => {
    const d = await device('trim-output');
    const cmd = await queueCommand(d.deviceId);
    // 20 chunks: the IDs pass from one digit to two, where a text-ordered "oldest chunk" used to be the wrong one.
    const chunk = Buffer.alloc(60 * 1024, '€'); // 20480 euro signs of 3 bytes
    for (let seq = 0; seq < 20; seq++) {
      const data = seq === 0 ? Buffer.concat([Buffer.from([0xff, 0x00]), chunk]) : chunk;
      expect(
        (
          await post(d.deviceSecret, `/agent/v1/commands/${cmd.id}/output`, {
            stream: 'stdout',
            seq,
            encoding: 'base64',
            data: data.toString('base64'),
          })
        ).status,
      ).toBe(200);
    }
    const rows = await t.database.db.prisma.outputChunk.findMany({ where: { commandId: cmd.id }, orderBy: { id: 'asc' } });
    const kept = Buffer.concat(rows.map((r) => Buffer.from(r.data)));
    expect(kept.length).toBeLessThanOrEqual(1024 * 1024);
    expect(kept.length).toBeGreaterThan(1024 * 1024 - 3);
    expect(rows.reduce((n, r) => n + r.bytes, 0)).toBe(kept.length);
    expect(kept.toString('utf8')).not.toContain('\uFFFD');
    expect((await t.database.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: cmd.id } })).stdoutTruncated).toBe(true);
    const run = (await (await t.request(`/api/v1/job-runs/${cmd.jobRunDevice.jobRunId}`, { token: admin })).json()) as {
      targets: { stdoutTruncated: boolean }[];
    };
    expect(run.targets[0]!.stdoutTruncated).toBe(true);
  });

  it('answers 400, not 500, for an output cursor beyond the largest bigint', async () => {
    const d = await device('cursor');
    const cmd = await queueCommand(d.deviceId);
    const runId = cmd.jobRunDevice.jobRunId;
    for (const path of [
      `/api/v1/job-runs/${runId}/output?after=9999999999999999999`,
      `/api/v1/job-runs/${runId}/events?after=9223372036854775808`,
    ]) {
      const res = await t.request(path, { token: admin });
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('validation_failed');
    }
    expect((await t.request(`/api/v1/job-runs/${runId}/output?after=9223372036854775807`, { token: admin })).status).toBe(200);
  });

  it('stores facts and inventory with NUL and unpaired surrogates, replaced by U+FFFD', async () => {
    const token = await t.createEnrollmentToken(admin);
    const facts = {
      hostname: 'host\0one',
      osFamily: 'linux',
      osName: 'Deb\ud800ian',
      osVersion: '12',
      architecture: 'x64',
      ipAddresses: ['10.0.0.1\0'],
      agentVersion: '0.1.0',
    };
    const enrolled = await t.request('/agent/v1/enroll', { method: 'POST', json: { enrollmentToken: token, facts } });
    expect(enrolled.status).toBe(201);
    const { deviceId, deviceSecret } = (await enrolled.json()) as { deviceId: string; deviceSecret: string };
    expect(await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: deviceId } })).toMatchObject({
      hostname: 'host\uFFFDone',
      osName: 'Deb\uFFFDian',
      ipAddresses: ['10.0.0.1\uFFFD'],
    });
    expect((await post(deviceSecret, '/agent/v1/checkin', { facts: { ...facts, hostname: '\udc00x' } })).status).toBe(200);
    expect((await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: deviceId } })).hostname).toBe('\uFFFDx');
  });
});
