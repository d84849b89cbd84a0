/**
 * The agent channel (ADR 17) over a real WebSocket, HTTP server and PostgreSQL, with the agent's own
 * channel client: a command's whole life over it, the answers its HTTP routes would give, what an idle
 * poll costs, refused upgrades, frames it cannot answer, and revocation.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CHANNEL_CALLS_IN_FLIGHT, MAX_CHANNEL_FRAME_BYTES } from '@opsconductor/contracts/agent-channel';
import { capability } from '@opsconductor/contracts/commands';
import { Agent } from '../../../agent/src/agent.ts';
import { AgentChannel, ChannelDownError, ChannelRefusedError } from '../../../agent/src/channel.ts';
import { createLogger } from '../../../agent/src/log.ts';
import { tempDir, waitFor } from '../../../agent/test/support/util.ts';
import { deviceFacts, requestPoolCheckouts, startTestApi, type TestApi } from '../../../test/support/api.ts';
import { queueCommand } from '../../../test/support/commands.ts';

let t: TestApi;
let admin: string;
const opened: { close(): void }[] = [];
beforeAll(async () => {
  t = await startTestApi({ pollWaitSeconds: 2, lastSeenFlushSeconds: 3600, channelPingSeconds: 2 });
  admin = await t.tokenFor('admin');
});
afterAll(async () => {
  for (const c of opened) c.close();
  await t?.close();
});

async function device(name: string) {
  const d = await t.enrollDevice(await t.createEnrollmentToken(admin), name);
  const checkin = await t.request('/agent/v1/checkin', {
    method: 'POST',
    headers: { authorization: `Bearer ${d.deviceSecret}` },
    json: { facts: deviceFacts(name), protocolVersion: 3, capabilities: [capability('shell')], bootId: 'b1' },
  });
  // The check-in's answer is what makes an agent open the channel.
  expect(((await checkin.json()) as { protocolVersion: number }).protocolVersion).toBe(3);
  return d;
}

function channel(secret: string) {
  const c = new AgentChannel({ serverUrl: t.url, authorization: `Bearer ${secret}`, userAgent: 'channel-test' });
  opened.push(c);
  return c;
}

/** A bare socket on the channel, for frames the agent's client would never send. */
async function rawSocket(secret: string, path = '/agent/v1/channel', options: { autoPong?: boolean } = {}) {
  const ws = new WebSocket(`${t.url.replace('http', 'ws')}${path}`, { headers: { authorization: `Bearer ${secret}` }, ...options });
  opened.push(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const replies: { id: number; status: number; body: any }[] = [];
  ws.on('message', (data) => replies.push(JSON.parse(data.toString())));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const replyTo = async (id: number) => {
    for (let i = 0; i < 200 && !replies.some((r) => r.id === id); i++) await sleep(25);
    return replies.find((r) => r.id === id)!;
  };
  return { ws, replies, closed, replyTo };
}

const checkouts = () => requestPoolCheckouts(t);

const now = () => new Date().toISOString();

// First: the other tests leave work behind (wake-ups, goodbyes) that would count as queries here.
describe('an idle channel', () => {
  it('costs no database query per poll, is woken at once by a new command, and marks its device seen in the batch', async () => {
    const d = await device('channel-idle');
    const c = channel(d.deviceSecret);
    expect((await c.call('poll', undefined, { wait: 0 }, 5000)).status).toBe(200); // the first poll of this process looks once
    const before = await checkouts();
    for (let i = 0; i < 3; i++)
      expect(await c.call('poll', undefined, { wait: 1 }, 5000)).toMatchObject({ status: 200, body: { commands: [] } });
    expect(await checkouts()).toBe(before);

    const waiting = c.call('poll', undefined, { wait: 2 }, 10_000);
    await sleep(300);
    const command = await queueCommand(t.database.db, d.deviceId, { state: 'queued' });
    const started = Date.now();
    await t.database.db.pool.query(`SELECT pg_notify('oc_agent_commands', $1)`, [d.deviceId]);
    expect(((await waiting).body as { commands: { id: string }[] }).commands.map((x) => x.id)).toEqual([command.id]);
    expect(Date.now() - started).toBeLessThan(1000);

    await t.database.db.prisma.device.update({ where: { id: d.deviceId }, data: { lastSeenAt: new Date(0) } });
    await c.call('poll', undefined, { wait: 0 }, 5000);
    await t.api.deps.lastSeen.flush();
    const seen = (await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: d.deviceId } })).lastSeenAt!;
    expect(Date.now() - seen.getTime()).toBeLessThan(10_000);
  });
});

describe('a command over the channel', () => {
  it('is handed out by a poll, started, streamed and reported with the answers of the HTTP routes, and stored as over HTTP', async () => {
    const d = await device('channel-run');
    const c = channel(d.deviceSecret);
    const command = await queueCommand(t.database.db, d.deviceId, { state: 'queued' });

    const polled = await c.call('poll', undefined, { wait: 2 }, 10_000);
    expect(polled.status).toBe(200);
    expect((polled.body as { commands: { id: string }[] }).commands.map((x) => x.id)).toEqual([command.id]);
    expect(await c.call('start', command.id, { startedAt: now() }, 5000)).toMatchObject({ status: 200, body: { cancelRequested: false } });
    expect(await c.call('output', command.id, { stream: 'stdout', seq: 0, data: 'hello\n' }, 5000)).toMatchObject({
      status: 200,
      body: { cancelRequested: false },
    });
    expect(await c.call('heartbeat', command.id, {}, 5000)).toMatchObject({ status: 200, body: { cancelRequested: false } });
    const result = { status: 'succeeded', exitCode: 4294967295, startedAt: now(), finishedAt: now(), durationMs: 3 };
    expect(await c.call('result', command.id, result, 5000)).toMatchObject({ status: 200, body: { accepted: true, duplicate: false } });
    // A retried result (its reply was lost) is answered as over HTTP: a duplicate, nothing changes.
    expect(await c.call('result', command.id, result, 5000)).toMatchObject({ status: 200, body: { accepted: false, duplicate: true } });

    const stored = await t.database.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: command.id }, include: { output: true } });
    expect(stored.state).toBe('succeeded');
    expect(stored.output.map((o) => Buffer.from(o.data).toString())).toEqual(['hello\n']);
    const target = await t.database.db.prisma.jobRunDevice.findUniqueOrThrow({ where: { id: stored.jobRunDeviceId! } });
    expect(target).toMatchObject({ status: 'succeeded', exitCode: 4294967295n });
  });

  it("records a heartbeat's phase on the running command, as over HTTP, and refuses an unknown one", async () => {
    const d = await device('channel-phase');
    const c = channel(d.deviceSecret);
    const command = await queueCommand(t.database.db, d.deviceId);
    expect(await c.call('start', command.id, { startedAt: now() }, 5000)).toMatchObject({ status: 200 });
    expect(await c.call('heartbeat', command.id, { phase: 'downloading' }, 5000)).toMatchObject({
      status: 200,
      body: { cancelRequested: false },
    });
    const phase = async () => (await t.database.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: command.id } })).phase;
    expect(await phase()).toBe('downloading');
    expect(await c.call('heartbeat', command.id, { phase: 'installing' }, 5000)).toMatchObject({ status: 200 });
    expect(await phase()).toBe('installing');
    expect(await c.call('heartbeat', command.id, { phase: 'sleeping' }, 5000)).toMatchObject({ status: 400 });
    expect(await phase()).toBe('installing');
  });

  it('answers what the HTTP routes answer: 404 for another device’s command, 400 for a body that breaks the contract, 409 for output after the end', async () => {
    const mine = await device('channel-mine');
    const other = await device('channel-other');
    const theirs = await queueCommand(t.database.db, other.deviceId);
    const c = channel(mine.deviceSecret);
    expect(await c.call('heartbeat', theirs.id, {}, 5000)).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(await c.call('start', theirs.id, { startedAt: 'yesterday' }, 5000)).toMatchObject({
      status: 400,
      body: { code: 'validation_failed' },
    });
    expect(await c.call('poll', undefined, { wait: 31 }, 5000)).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    // NUL and unpaired surrogates in text are replaced, as over HTTP (exit code past int32: a Windows DWORD).
    const own = await queueCommand(t.database.db, mine.deviceId);
    const bad = { status: 'failed', exitCode: 3221225477, startedAt: now(), finishedAt: now(), durationMs: 1, error: 'a\0b\ud800' };
    expect(await c.call('result', own.id, bad, 5000)).toMatchObject({ status: 200, body: { accepted: true } });
    const stored = await t.database.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: own.id } });
    expect(stored.errorMessage).toBe('a\uFFFDb\uFFFD');
    expect(await c.call('output', own.id, { stream: 'stdout', seq: 9, data: 'late' }, 5000)).toMatchObject({
      status: 409,
      body: { code: 'output_after_finish' },
    });
  });

  it('answers hostile bodies with 4xx, never 5xx: numbers past int32 and 2^53, NUL and unpaired surrogates in IDs, deep nesting, large chunks', async () => {
    const d = await device('channel-hostile');
    const own = await queueCommand(t.database.db, d.deviceId);
    const c = channel(d.deviceSecret);
    const calls: [Parameters<AgentChannel['call']>[0], string | undefined, unknown][] = [
      ['poll', undefined, { wait: 2 ** 40 }],
      ['output', own.id, { stream: 'stdout', seq: 2 ** 31, data: 'x' }],
      ['output', own.id, { stream: 'stdout', seq: 2 ** 53 + 2, data: 'x' }],
      ['result', own.id, { status: 'failed', exitCode: 2 ** 32, startedAt: now(), finishedAt: now(), durationMs: 1 }],
      ['heartbeat', `${own.id}\0`, {}],
      ['heartbeat', '\ud800', {}],
      ['output', own.id, { stream: 'stdout', seq: 0, data: 'x'.repeat(200_000) }],
    ];
    for (const [op, commandId, body] of calls) {
      const reply = await c.call(op, commandId, body, 10_000);
      expect(reply.status, `${op} ${String(commandId).slice(0, 40)}`).toBeGreaterThanOrEqual(400);
      expect(reply.status, `${op} ${String(commandId).slice(0, 40)}`).toBeLessThan(500);
    }
    expect((await c.call('heartbeat', own.id, {}, 5000)).status).toBe(200); // the channel is still open

    // Nesting too deep for a client to build as an object: sent as text.
    const { ws, replyTo } = await rawSocket(d.deviceSecret);
    for (const [id, depth] of [
      [1, 5000],
      [2, 150_000],
    ] as const) {
      ws.send(`{"id":${id},"op":"start","commandId":"${own.id}","body":${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}}`);
      expect(await replyTo(id)).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    }
  });

  it('refuses a call without the command ID its op needs, or with one its op does not take', async () => {
    const d = await device('channel-ids');
    const { ws, replyTo } = await rawSocket(d.deviceSecret);
    ws.send(JSON.stringify({ id: 1, op: 'start', body: { startedAt: now() } }));
    ws.send(JSON.stringify({ id: 2, op: 'poll', commandId: crypto.randomUUID(), body: { wait: 0 } }));
    ws.send(JSON.stringify({ id: 3, op: 'teleport', body: {} }));
    for (const id of [1, 2, 3]) expect(await replyTo(id)).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });

  it(`answers 429 past ${MAX_CHANNEL_CALLS_IN_FLIGHT} calls in flight, and takes calls again once they end`, async () => {
    const d = await device('channel-busy');
    const { ws, replyTo, replies } = await rawSocket(d.deviceSecret);
    for (let id = 1; id <= MAX_CHANNEL_CALLS_IN_FLIGHT + 1; id++) ws.send(JSON.stringify({ id, op: 'poll', body: { wait: 1 } }));
    expect(await replyTo(MAX_CHANNEL_CALLS_IN_FLIGHT + 1)).toMatchObject({
      status: 429,
      body: { code: 'server_busy' },
      retryAfterSeconds: 1,
    });
    for (let i = 0; i < 200 && replies.length < MAX_CHANNEL_CALLS_IN_FLIGHT + 1; i++) await sleep(25);
    expect(replies.filter((r) => r.status === 200)).toHaveLength(MAX_CHANNEL_CALLS_IN_FLIGHT);
    ws.send(JSON.stringify({ id: 100, op: 'poll', body: { wait: 0 } }));
    expect(await replyTo(100)).toMatchObject({ status: 200, body: { commands: [], cancel: [] } });
  });
});

describe('the agent', () => {
  it('opens one channel once the check-in offers it and makes no HTTP long-poll or report, running commands as before', async () => {
    const d = await device('channel-agent');
    const { dir, cleanup } = tempDir();
    const httpAgentCalls = async () =>
      (await t.api.deps.metrics.httpRequests.get()).values
        .filter((v) => /^\/agent\/v1\/commands/.test(String(v.labels.route)))
        .reduce((sum, v) => sum + v.value, 0);
    const httpBefore = await httpAgentCalls();
    const openChannels = async () => (await t.api.deps.metrics.agentChannels.get()).values[0]?.value ?? 0;
    const openBefore = await openChannels(); // the other tests' channels
    const agent = new Agent({
      serverUrl: t.url,
      deviceId: d.deviceId,
      deviceSecret: d.deviceSecret,
      stateDir: dir,
      logger: createLogger({ level: 'warn', write: () => {} }),
      inventory: false,
      pollWaitSeconds: 2,
    });
    await agent.start();
    try {
      await waitFor(async () => (await openChannels()) === openBefore + 1, 'the agent channel');
      const command = await queueCommand(t.database.db, d.deviceId, {
        state: 'queued',
        payload: { kind: 'shell', command: 'echo via-channel', shell: 'default', timeoutSeconds: 30 },
      });
      await t.database.db.pool.query(`SELECT pg_notify('oc_agent_commands', $1)`, [d.deviceId]);
      const done = await waitFor(async () => {
        const row = await t.database.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: command.id }, include: { output: true } });
        return row.state === 'succeeded' ? row : undefined;
      }, 'the result');
      expect(done.output.map((o) => Buffer.from(o.data).toString()).join('')).toBe('via-channel\n');
      expect(await httpAgentCalls()).toBe(httpBefore);
    } finally {
      await agent.stop();
      cleanup();
    }
    // It closed its channel on the way out.
    await waitFor(async () => (await openChannels()) === openBefore, 'the channel to close');
  });
});

describe('the upgrade', () => {
  it('is refused with the problem an HTTP route would send: 401 for a wrong secret, 404 for another path', async () => {
    const wrong = channel('A'.repeat(43));
    const refused = await wrong.call('poll', undefined, { wait: 0 }, 5000).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ChannelRefusedError);
    expect(refused).toMatchObject({ status: 401, body: { code: 'device_unauthenticated' } });

    const d = await device('channel-path');
    const elsewhere = await rawSocket(d.deviceSecret, '/agent/v1/commands').catch((e: Error) => e);
    expect(String(elsewhere)).toMatch(/404/);
  });
});

describe('frames the channel cannot answer', () => {
  for (const [what, send, code] of [
    ['a binary frame', (ws: WebSocket) => ws.send(Buffer.from('{}')), 1003],
    ['a frame that is not JSON', (ws: WebSocket) => ws.send('{"id": 1,'), 1007],
    ['a frame without a call ID', (ws: WebSocket) => ws.send(JSON.stringify({ op: 'poll', body: { wait: 0 } })), 1007],
    ['a frame over the size limit', (ws: WebSocket) => ws.send('x'.repeat(MAX_CHANNEL_FRAME_BYTES + 1)), 1009],
  ] as const) {
    it(`close it: ${what} (${code})`, async () => {
      const d = await device(`channel-frame-${code}`);
      const { ws, closed } = await rawSocket(d.deviceSecret);
      send(ws);
      expect((await closed).code).toBe(code);
    });
  }
});

describe('pings', () => {
  it('cut off a channel whose peer stops answering them, within two ping periods, and keep one that answers', async () => {
    const d = await device('channel-pings');
    const answering = await rawSocket(d.deviceSecret);
    const dead = await rawSocket(d.deviceSecret, undefined, { autoPong: false });
    const began = Date.now();
    const { code } = await dead.closed;
    // channelPingSeconds is 2: pinged within 2 s, cut off at its next ping 2 s later.
    expect(Date.now() - began).toBeLessThan(6_000);
    expect(code).toBe(1006); // terminated, no close handshake
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('revocation', () => {
  it('closes the channels of a device whose secret is rotated at once (4001), and the next upgrade is refused', async () => {
    const d = await device('channel-rotated');
    const c = channel(d.deviceSecret);
    const waiting = c.call('poll', undefined, { wait: 2 }, 10_000).catch((e: unknown) => e);
    await sleep(200);
    const started = Date.now();
    expect((await t.request(`/api/v1/devices/${d.deviceId}/rotate-secret`, { method: 'POST', token: admin })).status).toBe(200);
    const dropped = await waiting;
    expect(dropped).toBeInstanceOf(ChannelDownError);
    expect(String(dropped)).toMatch(/4001/);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await c.call('poll', undefined, { wait: 0 }, 5000).catch((e: unknown) => e)).toMatchObject({ status: 401 });
  });
});
