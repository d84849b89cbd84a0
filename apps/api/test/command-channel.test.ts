/**
 * The command channel over real HTTP and PostgreSQL: what an idle long-poll costs (nothing), how the
 * API holds up when agents overload it, an agent of protocol 1 (sent nothing: it must be upgraded), capabilities,
 * commands the server ended, cancellations that expire, and stored files.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueCommand as queue, storePayload } from '@opsconductor/commands';
import { capability, commandKinds } from '@opsconductor/contracts/commands';
import { requestPoolCheckouts, startTestApi, type TestApi } from '../../../test/support/api.ts';
import { queueCommand } from '../../../test/support/commands.ts';

let t: TestApi;
let admin: string;
beforeAll(async () => {
  // Last-seen is flushed only when the test says so: an idle poll must not write it either.
  t = await startTestApi({ pollWaitSeconds: 2, lastSeenFlushSeconds: 3600 });
  admin = await t.tokenFor('admin');
});
afterAll(() => t?.close());

const facts = (hostname: string) => ({
  hostname,
  osFamily: 'linux',
  osName: 'Debian',
  osVersion: '12',
  architecture: 'x64',
  ipAddresses: ['127.0.0.1'],
  agentVersion: '0.9.0',
});
const asDevice = (secret: string) => ({ authorization: `Bearer ${secret}` });
const post = (secret: string, path: string, json: unknown) => t.request(path, { method: 'POST', headers: asDevice(secret), json });
const poll = async (secret: string, wait = 0) => {
  const res = await t.request(`/agent/v1/commands?wait=${wait}`, { headers: asDevice(secret) });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as { commands: { id: string; payload: Record<string, unknown> }[]; cancel: string[]; code?: string },
  };
};
const now = () => new Date().toISOString();
const result = (status: string) => ({
  status,
  exitCode: status === 'succeeded' ? 0 : 1,
  startedAt: now(),
  finishedAt: now(),
  durationMs: 3,
});

async function device(
  name: string,
  announce: Record<string, unknown> = {
    protocolVersion: 2,
    capabilities: commandKinds.map((kind) => capability(kind)),
    bootId: 'b1',
  },
) {
  const d = await t.enrollDevice(await t.createEnrollmentToken(admin), name);
  expect((await post(d.deviceSecret, '/agent/v1/checkin', { facts: facts(name), ...announce })).status).toBe(200);
  return d;
}

const checkouts = () => requestPoolCheckouts(t);

/** The checkouts once the earlier tests' deferred work (wake-ups coalesced for 100 ms) has run: unchanged for 300 ms. */
async function settledCheckouts(): Promise<number> {
  let last = await checkouts();
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await checkouts();
    if (now === last) return now;
    last = now;
  }
}

describe('an idle long-poll', () => {
  it('runs no database query, and is woken at once by a NOTIFY from another process', async () => {
    const d = await device('idle');
    // An empty wait is no number (it used to be read as 0).
    expect((await t.request('/agent/v1/commands?wait=', { headers: asDevice(d.deviceSecret) })).status).toBe(400);
    expect((await poll(d.deviceSecret)).body.commands).toEqual([]); // the first poll of this process looks once
    const before = await checkouts();
    for (let i = 0; i < 3; i++) expect((await poll(d.deviceSecret, 1)).body).toEqual({ commands: [], cancel: [] });
    expect(await checkouts()).toBe(before);

    // A command queued elsewhere (as the worker's dispatch activity does) wakes the waiting poll through
    // LISTEN/NOTIFY, whatever this process knew.
    const waiting = poll(d.deviceSecret, 2);
    await new Promise((r) => setTimeout(r, 300));
    const other = new pg.Client({ connectionString: t.database.url });
    await other.connect();
    try {
      const command = await queueCommand(t.database.db, d.deviceId, { state: 'queued' });
      const started = Date.now();
      await other.query(`SELECT pg_notify('oc_agent_commands', $1)`, [d.deviceId]);
      const woken = await waiting;
      expect(woken.body.commands.map((c) => c.id)).toEqual([command.id]);
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await other.end();
    }

    // Last-seen of the idle polls goes to the database in one batch.
    await t.database.db.prisma.device.update({ where: { id: d.deviceId }, data: { lastSeenAt: new Date(0) } });
    const beforeFlush = await checkouts();
    await t.api.deps.lastSeen.flush();
    expect(await checkouts()).toBe(beforeFlush + 1);
    const seen = (await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: d.deviceId } })).lastSeenAt!;
    expect(Date.now() - seen.getTime()).toBeLessThan(10_000);
  });

  it('looks again when a delivered command falls due for redelivery, without any notification', async () => {
    const d = await device('redelivery');
    const command = await queueCommand(t.database.db, d.deviceId, { state: 'queued' });
    expect((await poll(d.deviceSecret)).body.commands.map((c) => c.id)).toEqual([command.id]);
    // Never started: handed out again 60 s after its delivery, which the device's next polls know without asking.
    await t.database.db.pool.query(`UPDATE agent_commands SET delivered_at = now() - interval '59 seconds' WHERE id = $1`, [command.id]);
    expect((await poll(d.deviceSecret)).body.commands).toEqual([]);
    const again = await poll(d.deviceSecret, 2);
    expect(again.body.commands.map((c) => c.id)).toEqual([command.id]);
  });
});

describe('overload', () => {
  it('answers 503 server_busy with a spread Retry-After past the long-poll limit, never 500', async () => {
    const small = await startTestApi({ pollWaitSeconds: 2, maxLongPolls: 1 });
    try {
      const token = await small.tokenFor('admin');
      const d = await small.enrollDevice(await small.createEnrollmentToken(token), 'busy');
      const first = small.request('/agent/v1/commands?wait=2', { headers: asDevice(d.deviceSecret) });
      await new Promise((r) => setTimeout(r, 200));
      const second = await small.request('/agent/v1/commands?wait=2', { headers: asDevice(d.deviceSecret) });
      expect(second.status).toBe(503);
      expect(((await second.json()) as { code: string }).code).toBe('server_busy');
      const retryAfter = Number(second.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(5);
      expect(retryAfter).toBeLessThanOrEqual(15);
      expect((await first).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('keeps people served while agents have taken every connection of theirs', async () => {
    const d = await device('starving');
    const { agentPool } = t.api.deps;
    const held = await Promise.all(Array.from({ length: agentPool.options.max! }, () => agentPool.connect()));
    try {
      t.api.deps.wakeups.notified(d.deviceId); // the next poll must look in the database
      const [agentAnswer, adminAnswer] = await Promise.all([
        poll(d.deviceSecret),
        (async () => {
          const started = Date.now();
          const res = await t.request('/api/v1/devices', { token: admin });
          return { status: res.status, ms: Date.now() - started };
        })(),
      ]);
      expect(adminAnswer.status).toBe(200);
      expect(adminAnswer.ms).toBeLessThan(1500);
      expect(agentAnswer.status).toBe(503);
      expect(agentAnswer.body.code).toBe('database_unavailable');
      expect(agentAnswer.headers.get('retry-after')).toBeTruthy();
    } finally {
      for (const client of held) client.release();
    }
  });
});

describe('protocol versions and capabilities', () => {
  it('an agent of protocol 1 is sent no commands: each ends unsupported, saying why (it must be upgraded)', async () => {
    const d = await t.enrollDevice(await t.createEnrollmentToken(admin), 'old-agent');
    // Exactly what an agent of protocol 1 sends: facts only.
    const checkin = await post(d.deviceSecret, '/agent/v1/checkin', { facts: facts('old-agent') });
    expect(checkin.status).toBe(200);
    expect(await checkin.json()).toMatchObject({ deviceId: d.deviceId, outputEncodings: ['utf8', 'base64'] });
    expect(await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: d.deviceId } })).toMatchObject({
      protocolVersion: 1,
      capabilities: [],
      commandKinds: [],
      bootId: null,
    });

    // It knows shell commands of version 1 only, which carry no environment: a job step would run without its parameters.
    const shell = await queueCommand(t.database.db, d.deviceId, { state: 'queued' });
    const script = await queueCommand(t.database.db, d.deviceId, {
      state: 'queued',
      payload: { kind: 'script', interpreter: 'sh', script: 'echo hi', timeoutSeconds: 30 },
    });
    const { status, body } = await poll(d.deviceSecret);
    expect(status).toBe(200);
    expect(body.commands).toEqual([]);
    for (const [command, kind] of [
      [shell, 'shell'],
      [script, 'script'],
    ] as const) {
      const unsupported = await t.database.db.prisma.agentCommand.findUniqueOrThrow({
        where: { id: command.id },
        include: { jobRunDevice: true },
      });
      expect(unsupported).toMatchObject({ state: 'unsupported', deliveredAt: null });
      expect(unsupported.jobRunDevice).toMatchObject({
        status: 'failed',
        errorMessage: expect.stringMatching(new RegExp(`cannot run "${kind}" commands`)),
      });
    }
  });

  it('writes a check-in that changes nothing only as last-seen (batched), and one after a goodbye or with new facts at once', async () => {
    const d = await device('steady');
    const row = () => t.database.db.prisma.device.findUniqueOrThrow({ where: { id: d.deviceId } });
    const announce = {
      protocolVersion: 2,
      capabilities: commandKinds.map((kind) => capability(kind)),
      bootId: 'b1',
    };
    await t.database.db.pool.query(`UPDATE devices SET last_seen_at = 'epoch' WHERE id = $1`, [d.deviceId]);
    const before = await row();
    // The depot keys a check-in answers with are a cached read (30 s): warm the cache so only the check-in's own query counts.
    await t.api.deps.depotSigning.publishedKeys();
    const queries = await settledCheckouts();
    expect((await post(d.deviceSecret, '/agent/v1/checkin', { facts: facts('steady'), ...announce })).status).toBe(200);
    expect(await checkouts()).toBe(queries + 1); // the conditional UPDATE, which changed no row
    expect((await row()).updatedAt).toEqual(before.updatedAt);
    await t.api.deps.lastSeen.flush();
    expect(Date.now() - (await row()).lastSeenAt!.getTime()).toBeLessThan(10_000);

    // New facts are written at once.
    expect((await post(d.deviceSecret, '/agent/v1/checkin', { facts: { ...facts('steady'), osVersion: '13' }, ...announce })).status).toBe(
      200,
    );
    expect(await row()).toMatchObject({ osVersion: '13' });
    // So is a check-in after a goodbye: the device is online again at once.
    expect((await post(d.deviceSecret, '/agent/v1/goodbye', {})).status).toBe(200);
    expect((await row()).agentStoppedAt).not.toBeNull();
    expect((await post(d.deviceSecret, '/agent/v1/checkin', { facts: { ...facts('steady'), osVersion: '13' }, ...announce })).status).toBe(
      200,
    );
    expect((await row()).agentStoppedAt).toBeNull();
  });

  it("stores the agent's own protocol version, capabilities and boot ID, and answers with its own version", async () => {
    const d = await t.enrollDevice(await t.createEnrollmentToken(admin), 'new-agent');
    const res = await post(d.deviceSecret, '/agent/v1/checkin', {
      facts: facts('new-agent'),
      protocolVersion: 4,
      capabilities: [capability('shell'), 'script@1', capability('file.fetch'), 'teleport@1', 'reboot@7'],
      bootId: 'boot\0x',
    });
    expect(((await res.json()) as { protocolVersion: number }).protocolVersion).toBe(3);
    // Kinds at another version than the server's are not sent (script@1: an agent from before `env`).
    expect(await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: d.deviceId } })).toMatchObject({
      protocolVersion: 4,
      capabilities: ['shell@2', 'script@1', 'file.fetch@1', 'teleport@1', 'reboot@7'],
      commandKinds: ['shell', 'file.fetch'],
      bootId: 'boot\uFFFDx',
    });
  });
});

describe('commands the server ended', () => {
  it('tells the agent to stop (start, heartbeat, output) and records a late result without applying it', async () => {
    const d = await device('ended');
    const command = await queueCommand(t.database.db, d.deviceId);
    expect(await (await post(d.deviceSecret, `/agent/v1/commands/${command.id}/start`, { startedAt: now() })).json()).toEqual({
      cancelRequested: false,
    });
    // The workflow gave up on it (no result before deadline + timeout).
    await t.database.db.pool.query(
      `UPDATE agent_commands SET state = 'timed_out', finished_at = now(), error_message = 'No result in time.' WHERE id = $1`,
      [command.id],
    );
    expect(await (await post(d.deviceSecret, `/agent/v1/commands/${command.id}/heartbeat`, {})).json()).toEqual({ cancelRequested: true });
    expect((await post(d.deviceSecret, `/agent/v1/commands/${command.id}/output`, { stream: 'stdout', seq: 0, data: 'late' })).status).toBe(
      409,
    );
    const late = await post(d.deviceSecret, `/agent/v1/commands/${command.id}/result`, result('succeeded'));
    expect(late.status).toBe(200);
    expect(await late.json()).toEqual({ accepted: false, duplicate: false });
    expect(await t.database.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: command.id } })).toMatchObject({
      state: 'timed_out',
      result: null,
      resultCount: 1,
      errorMessage: 'No result in time.',
    });
    // A result for a command never handed out is refused, not applied.
    const queued = await queueCommand(t.database.db, d.deviceId, { state: 'queued' });
    const refused = await post(d.deviceSecret, `/agent/v1/commands/${queued.id}/result`, result('succeeded'));
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { code: string }).code).toBe('command_not_delivered');
  });

  it('lets a cancellation the agent never confirms expire: listed for a while, then ended and no longer polled for', async () => {
    const d = await device('lost-journal');
    const command = await queueCommand(t.database.db, d.deviceId);
    await t.database.db.pool.query(`UPDATE agent_commands SET cancel_requested_at = now() WHERE id = $1`, [command.id]);
    t.api.deps.wakeups.notified(d.deviceId);
    expect((await poll(d.deviceSecret, 2)).body.cancel).toEqual([command.id]);
    // The agent lost its journal and never reports. After the TTL its polls wait again instead of returning at once.
    await t.database.db.pool.query(`UPDATE agent_commands SET cancel_requested_at = now() - interval '1 hour' WHERE id = $1`, [command.id]);
    t.api.deps.wakeups.notified(d.deviceId);
    const started = Date.now();
    expect((await poll(d.deviceSecret, 1)).body).toEqual({ commands: [], cancel: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await t.database.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: command.id } })).toMatchObject({
      state: 'cancelled',
      errorMessage: expect.stringMatching(/did not confirm the cancellation/),
    });
  });
});

describe('stored files', () => {
  const upload = (token: string, body: Buffer, query = '') =>
    t.request(`/api/v1/files${query}`, { method: 'POST', token, headers: { 'content-type': 'application/octet-stream' }, body });

  it('are uploaded by operators, once per content, and downloaded only by a device with an open command for them', async () => {
    const content = Buffer.from('a file for devices\n'.repeat(100_000)); // 1.9 MB: past the JSON body limit, streamed
    const sha256 = createHash('sha256').update(content).digest('hex');
    expect((await upload(await t.tokenFor('viewer'), Buffer.from('small'))).status).toBe(403);
    const operator = await t.tokenFor('operator');
    const first = await upload(operator, content, '?name=devices.txt');
    expect(first.status).toBe(201);
    expect(await first.json()).toMatchObject({ sha256, size: content.length, name: 'devices.txt' });
    expect((await upload(operator, content)).status).toBe(200);
    // Not an upload: not the file itself, or nothing at all.
    expect((await t.request('/api/v1/files', { method: 'POST', token: operator, json: { file: 'x' } })).status).toBe(415);
    expect((await t.request('/api/v1/files', { method: 'POST', token: operator })).status).toBe(415);
    expect(((await (await t.request(`/api/v1/files/${sha256}`, { token: admin })).json()) as { name: string }).name).toBe('devices.txt');

    const a = await device('fetcher');
    const b = await device('bystander');
    const { pool } = t.database.db;
    const run = await t.database.db.prisma.jobRun.create({
      data: {
        workflowId: `job-run/files-${sha256.slice(0, 8)}`,
        command: 'fetch',
        timeoutSeconds: 30,
        deadlineAt: new Date(Date.now() + 60_000),
      },
    });
    const target = await t.database.db.prisma.jobRunDevice.create({ data: { jobRunId: run.id, deviceId: a.deviceId } });
    const payloadSha256 = await storePayload(pool, {
      kind: 'file.fetch',
      sha256,
      size: content.length,
      path: '/tmp/devices.txt',
      timeoutSeconds: 30,
    });
    const queued = await queue(pool, {
      deviceId: a.deviceId,
      owner: { jobRunDeviceId: target.id },
      attempt: 1,
      payloadSha256,
      expiresAt: new Date(Date.now() + 60_000),
    });
    const download = (secret: string) => t.request(`/agent/v1/files/${sha256}`, { headers: asDevice(secret) });
    expect((await download(a.deviceSecret)).status).toBe(404); // queued, not handed out yet
    t.api.deps.wakeups.notified(a.deviceId);
    expect((await poll(a.deviceSecret)).body.commands.map((c) => c.id)).toEqual([queued!.id]);
    const res = await download(a.deviceSecret);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(content.length));
    // By hash: a deep comparison of 1.9 million bytes takes seconds on a loaded machine, past the server's keep-alive.
    expect(
      createHash('sha256')
        .update(Buffer.from(await res.arrayBuffer()))
        .digest('hex'),
    ).toBe(sha256);
    expect((await download(b.deviceSecret)).status).toBe(404);
    await post(a.deviceSecret, `/agent/v1/commands/${queued!.id}/result`, result('succeeded'));
    expect((await download(a.deviceSecret)).status).toBe(404); // over: no more downloads
  });

  it('refuse a file over FILE_UPLOAD_MAX_BYTES with 413 and keep nothing of it', async () => {
    const small = await startTestApi({ fileUploadMaxBytes: 1000 });
    try {
      const token = await small.tokenFor('operator');
      const send = (body: Buffer, chunked = false) =>
        small.request('/api/v1/files', {
          method: 'POST',
          token,
          headers: { 'content-type': 'application/octet-stream' },
          // Without a length up front the limit is found while streaming.
          body: chunked
            ? new ReadableStream({
                start(c) {
                  c.enqueue(body);
                  c.close();
                },
              })
            : body,
          ...(chunked ? { duplex: 'half' } : {}),
        } as RequestInit);
      expect((await send(Buffer.alloc(1001))).status).toBe(413);
      expect((await send(Buffer.alloc(5000), true)).status).toBe(413);
      expect(await small.database.db.prisma.storedFile.count()).toBe(0);
      expect((await send(Buffer.alloc(1000))).status).toBe(201);
    } finally {
      await small.close();
    }
  });
});
