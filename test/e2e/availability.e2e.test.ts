/**
 * The API when what it depends on is missing: /readyz with and without a real worker polling, and with
 * Temporal or PostgreSQL taken away (a TCP proxy in front of the real servers is stopped, or made to
 * hang). Every answer comes within seconds, as 503 problem+json with Retry-After, never as a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { createWorker } from '../../workers/src/worker.ts';
import { startTestApi, type TestApi } from '../support/api.ts';
import { queueCommand } from '../support/commands.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { freePort, waitFor } from '../support/tools.ts';

const hostPort = (address: string) => {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return { host, port };
};

async function timed(fn: () => Promise<Response>) {
  const started = performance.now();
  const res = await fn();
  return {
    res,
    ms: performance.now() - started,
    body: (await res.json()) as { code?: string; status?: string; checks?: Record<string, string> },
  };
}

function expectUnavailable(r: Awaited<ReturnType<typeof timed>>, code: string) {
  expect(r.res.status, JSON.stringify(r.body)).toBe(503);
  expect(r.res.headers.get('content-type')).toBe('application/problem+json');
  expect(r.res.headers.get('retry-after')).toBe('5');
  expect(r.body.code).toBe(code);
}

/** A device and a command handed out to it, waiting for its result. */
async function queuedCommand(t: TestApi, admin: string) {
  const { deviceId, deviceSecret } = await t.enrollDevice(await t.createEnrollmentToken(admin));
  const command = await queueCommand(t.database.db, deviceId);
  return { deviceId, deviceSecret, runId: command.jobRunDevice.jobRunId, commandId: command.id };
}

describe('readiness reports the worker', () => {
  let t: TestApi;
  let connection: NativeConnection;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // Already installed in this process.
    }
    // A short window, so a worker that went away shows within seconds.
    t = await startTestApi({ workerPollerWindowSeconds: 5 });
    connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await t?.close();
  });

  it('is not ready without a worker, ready while one polls, and not ready once it is gone', async () => {
    const before = await timed(() => t.request('/readyz'));
    expect(before.res.status).toBe(503);
    expect(before.res.headers.get('retry-after')).toBe('5');
    expect(before.body.checks).toMatchObject({
      database: 'ok',
      temporal: 'ok',
      worker: expect.stringContaining('no worker polled task queue'),
    });

    worker = await createWorker({
      connection,
      db: t.database.db,
      taskQueue: t.api.deps.config.temporalTaskQueue,
      shutdownGraceTime: '1 second',
    });
    running = worker.run();
    const ready = await waitFor(
      'readiness with a worker',
      async () => {
        const r = await t.request('/readyz');
        return r.status === 200 ? r.json() : null;
      },
      60_000,
      250,
    );
    expect(ready).toEqual({ status: 'ready', checks: { database: 'ok', temporal: 'ok', worker: 'ok' } });

    worker.shutdown();
    await running;
    worker = undefined;
    const gone = await waitFor(
      'readiness without the worker',
      async () => {
        const r = await t.request('/readyz');
        return r.status === 503 ? ((await r.json()) as { checks: Record<string, string> }) : null;
      },
      20_000,
      250,
    );
    expect(gone.checks.worker).toMatch(/^no worker polled task queue .* in the last 5 s$/);
  }, 120_000);
});

describe('Temporal unavailable', () => {
  let t: TestApi;
  let proxy: TcpProxy;
  let admin: string;
  beforeAll(async () => {
    proxy = await startTcpProxy(hostPort(inject('temporalAddress')));
    t = await startTestApi({}, { temporalAddress: proxy.address });
    admin = await t.tokenFor('admin');
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
  });

  it('answers readiness, run creation and cancellation within seconds with 503 temporal_unavailable, and still takes agent results', async () => {
    expect((await timed(() => t.request('/readyz'))).body.checks?.temporal).toBe('ok');
    const { deviceId, deviceSecret, runId, commandId } = await queuedCommand(t, admin);
    const runsBefore = await t.database.db.prisma.jobRun.count();
    await proxy.down();

    const ready = await timed(() => t.request('/readyz'));
    expect(ready.res.status).toBe(503);
    expect(ready.res.headers.get('retry-after')).toBe('5');
    expect(ready.body.checks).toMatchObject({
      database: 'ok',
      temporal: expect.stringMatching(/^unavailable/),
      worker: 'unknown: Temporal is unavailable',
    });
    expect(ready.ms).toBeLessThan(3000);

    const created = await timed(() =>
      t.request('/api/v1/job-runs', { method: 'POST', token: admin, json: { deviceIds: [deviceId], command: 'echo hi' } }),
    );
    expectUnavailable(created, 'temporal_unavailable');
    expect(created.ms).toBeLessThan(4000);
    // Nothing is left "queued" for a workflow that never started.
    expect(await t.database.db.prisma.jobRun.count()).toBe(runsBefore);

    const cancelled = await timed(() => t.request(`/api/v1/job-runs/${runId}/cancel`, { method: 'POST', token: admin }));
    expectUnavailable(cancelled, 'temporal_unavailable');
    expect(cancelled.ms).toBeLessThan(3000);

    const device = { authorization: `Bearer ${deviceSecret}` };
    const now = new Date().toISOString();
    const result = await timed(() =>
      t.request(`/agent/v1/commands/${commandId}/result`, {
        method: 'POST',
        headers: device,
        json: { status: 'succeeded', exitCode: 0, startedAt: now, finishedAt: now, durationMs: 5 },
      }),
    );
    // Results go to the database only (the batch activity reads them there): Temporal being down does not matter.
    expect(result.res.status, JSON.stringify(result.body)).toBe(200);
    expect(result.body).toMatchObject({ accepted: true, duplicate: false });
    expect(result.ms).toBeLessThan(3000);
    expect((await t.database.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: commandId } })).result).toMatchObject({
      status: 'succeeded',
    });

    // A heartbeat for the ended command: answered in time, telling the agent the command is over.
    const heartbeat = await timed(() =>
      t.request(`/agent/v1/commands/${commandId}/heartbeat`, { method: 'POST', headers: device, json: {} }),
    );
    expect(heartbeat.res.status).toBe(200);
    expect(heartbeat.body).toMatchObject({ cancelRequested: true });
    expect(heartbeat.ms).toBeLessThan(3000);

    // A server that accepts connections and never answers is bounded the same way.
    await proxy.hang();
    const hung = await timed(() => t.request('/readyz'));
    expect(hung.res.status).toBe(503);
    expect(hung.body.checks?.temporal).toMatch(/^unavailable/);
    expect(hung.ms).toBeLessThan(3000);

    await proxy.up();
    await waitFor(
      'Temporal to be reachable again',
      async () => (await timed(() => t.request('/readyz'))).body.checks?.temporal === 'ok',
      60_000,
      500,
    );
  }, 120_000);
});

describe('PostgreSQL unavailable', () => {
  let t: TestApi;
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = await startTcpProxy(hostPort(new URL(inject('postgresTemplateUrl')).host));
    t = await startTestApi(
      {},
      {
        databaseUrl: (direct) => {
          const url = new URL(direct);
          url.port = String(proxy.port);
          return url.toString();
        },
      },
    );
  });
  afterAll(async () => {
    await proxy?.up();
    await t?.close();
    await proxy?.close();
  });

  it('answers admin and agent reads and writes with 503 database_unavailable, stays live, and recovers', async () => {
    const admin = await t.tokenFor('admin');
    const { deviceSecret } = await t.enrollDevice(await t.createEnrollmentToken(admin));
    expect((await t.request('/api/v1/devices', { token: admin })).status).toBe(200);
    await proxy.down();

    expectUnavailable(await timed(() => t.request('/api/v1/devices', { token: admin })), 'database_unavailable');
    expectUnavailable(
      await timed(() => t.request('/api/v1/enrollment-tokens', { method: 'POST', token: admin, json: { name: 'while down' } })),
      'database_unavailable',
    );
    expectUnavailable(
      await timed(() => t.request('/agent/v1/commands?wait=0', { headers: { authorization: `Bearer ${deviceSecret}` } })),
      'database_unavailable',
    );
    expect((await t.request('/healthz')).status).toBe(200);
    const ready = await timed(() => t.request('/readyz'));
    expect(ready.res.status).toBe(503);
    expect(ready.body.checks?.database).toBe('unavailable');
    expect(ready.ms).toBeLessThan(3000);

    // A server that never answers: readiness says so within its bound, reads once the pool gives up.
    await proxy.hang();
    const hungReady = await timed(() => t.request('/readyz'));
    expect(hungReady.body.checks?.database).toMatch(/^unavailable: timed out/);
    expect(hungReady.ms).toBeLessThan(3000);
    const hungRead = await timed(() => t.request('/api/v1/devices', { token: admin }));
    expectUnavailable(hungRead, 'database_unavailable');
    expect(hungRead.ms).toBeLessThan(7000);

    await proxy.up();
    await waitFor('reads to work again', async () => (await t.request('/api/v1/devices', { token: admin })).status === 200, 30_000, 250);
  }, 120_000);
});

describe('Temporal calls that gave up', () => {
  it('leave no retry behind that would fire after the API closed its connection', async () => {
    const t = await startTestApi({}, { temporalAddress: `127.0.0.1:${await freePort()}` }); // nothing listens there
    const uncaught: unknown[] = [];
    const collect = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', collect);
    try {
      const ready = await timed(() => t.request('/readyz'));
      expect(ready.body.checks?.temporal).toMatch(/^unavailable/);
      await t.close();
      // The client's retry back-off is at most 5 s: a retry scheduled past the deadline would fire by then.
      await new Promise((resolve) => setTimeout(resolve, 6000));
    } finally {
      process.off('uncaughtException', collect);
    }
    expect(uncaught.map(String)).toEqual([]);
  }, 60_000);
});
