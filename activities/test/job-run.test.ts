/** The job-run activities against a real PostgreSQL (a fresh migrated database for this file). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure, CompleteAsyncError } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { channels } from '@opsconductor/db/notify';
import { createTestDatabase, type TestDatabase } from '@opsconductor/test/support/database';
import { storePayload } from '@opsconductor/commands';
import { createActivities, type CommandRef, type JobActivities } from '../src/index.ts';
import { createJobRunFixture, listen } from './support/fixtures.ts';

const PAYLOAD = { kind: 'shell', command: 'uptime', shell: 'default', timeoutSeconds: 60 } as const;

let testDb: TestDatabase;
let activities: JobActivities;
/** PAYLOAD, stored as the API stores a run's command before it starts the workflow. */
let COMMAND: CommandRef;

beforeAll(async () => {
  testDb = await createTestDatabase();
  activities = createActivities({ db: testDb.db });
  COMMAND = { kind: 'shell', payloadSha256: await storePayload(testDb.db.pool, PAYLOAD), timeoutSeconds: PAYLOAD.timeoutSeconds };
});

afterAll(async () => {
  await testDb?.drop();
});

/** A mock activity context for one attempt; `run` keeps the activity's own parameter and result types. */
function activityEnv(attempt = 1, token = `token-${attempt}-${Math.random()}`) {
  const mock = new MockActivityEnvironment({ attempt, taskToken: Buffer.from(token) });
  const env = {
    run<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
      return mock.run(fn, ...args) as Promise<R>;
    },
  };
  return { env, token: Buffer.from(token) };
}

async function commandsOf(targetId: string) {
  return testDb.db.prisma.agentCommand.findMany({ where: { jobRunDeviceId: targetId }, orderBy: { attempt: 'asc' } });
}

/** The target's commands handed out and started, as a poll and the agent's /start would. */
async function startCommands(targetId: string) {
  await testDb.db.prisma.agentCommand.updateMany({
    where: { jobRunDeviceId: targetId },
    data: { state: 'delivered', deliveredAt: new Date() },
  });
  await testDb.db.prisma.agentCommand.updateMany({
    where: { jobRunDeviceId: targetId },
    data: { state: 'running', startedAt: new Date() },
  });
}

async function target(jobRunId: string, deviceId: string) {
  return testDb.db.prisma.jobRunDevice.findUniqueOrThrow({ where: { jobRunId_deviceId: { jobRunId, deviceId } } });
}

describe('dispatchToAgent', () => {
  it('queues a command holding the task token and its payload by reference, wakes the agent and completes asynchronously', async () => {
    const { jobRunId, deviceIds, targetIds } = await createJobRunFixture(testDb.db, 1);
    const deviceId = deviceIds[0]!;
    const expiresAt = new Date(Date.now() + 60_000).toISOString();
    const listener = await listen(testDb.db, [channels.agentCommands]);
    try {
      const { env, token } = activityEnv(1);
      await expect(env.run(activities.dispatchToAgent, { jobRunId, deviceId, command: COMMAND, expiresAt })).rejects.toBeInstanceOf(
        CompleteAsyncError,
      );
      await listener.waitFor((n) => n.channel === channels.agentCommands && n.payload === deviceId);

      const [command, ...rest] = await commandsOf(targetIds.get(deviceId)!);
      expect(rest).toEqual([]);
      expect(command).toMatchObject({ deviceId, attempt: 1, kind: 'shell', payloadSha256: COMMAND.payloadSha256, state: 'queued' });
      expect(Buffer.from(command!.taskToken!).equals(token)).toBe(true);
      expect(command!.expiresAt.toISOString()).toBe(expiresAt);

      // The same attempt again (e.g. the worker crashed before reporting): still one row, with the newest token.
      const again = activityEnv(1, 'token-again');
      await expect(again.env.run(activities.dispatchToAgent, { jobRunId, deviceId, command: COMMAND, expiresAt })).rejects.toBeInstanceOf(
        CompleteAsyncError,
      );
      // A new attempt writes its own row.
      const second = activityEnv(2);
      await expect(second.env.run(activities.dispatchToAgent, { jobRunId, deviceId, command: COMMAND, expiresAt })).rejects.toBeInstanceOf(
        CompleteAsyncError,
      );
      const commands = await commandsOf(targetIds.get(deviceId)!);
      expect(commands.map((c) => [c.attempt, Buffer.from(c.taskToken!).toString()])).toEqual([
        [1, 'token-again'],
        [2, second.token.toString()],
      ]);
    } finally {
      await listener.stop();
    }
  });

  it('takes the inline shell payload of a run started before commands went by reference, storing it once', async () => {
    const { jobRunId, deviceIds, targetIds } = await createJobRunFixture(testDb.db, 2);
    const expiresAt = new Date(Date.now() + 60_000).toISOString();
    for (const deviceId of deviceIds) {
      await expect(
        activityEnv(1).env.run(activities.dispatchToAgent, { jobRunId, deviceId, payload: PAYLOAD, expiresAt }),
      ).rejects.toBeInstanceOf(CompleteAsyncError);
    }
    const commands = await testDb.db.prisma.agentCommand.findMany({
      where: { jobRunDeviceId: { in: [...targetIds.values()] } },
      include: { payload: true },
    });
    expect(commands.map((c) => [c.payloadSha256, c.payload.payload])).toEqual([
      [COMMAND.payloadSha256, PAYLOAD],
      [COMMAND.payloadSha256, PAYLOAD],
    ]);
  });

  it('fails permanently for a payload that was never stored', async () => {
    const { jobRunId, deviceIds } = await createJobRunFixture(testDb.db, 1);
    const err = await activityEnv()
      .env.run(activities.dispatchToAgent, {
        jobRunId,
        deviceId: deviceIds[0]!,
        command: { ...COMMAND, payloadSha256: 'f'.repeat(64) },
        expiresAt: new Date().toISOString(),
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'InvalidActivityInput', nonRetryable: true });
  });

  it('returns the stored outcome of a finished target without dispatching', async () => {
    const { jobRunId, deviceIds, targetIds } = await createJobRunFixture(testDb.db, 1);
    const deviceId = deviceIds[0]!;
    await testDb.db.prisma.jobRunDevice.update({
      where: { id: targetIds.get(deviceId)! },
      data: { status: 'failed', exitCode: 3, errorMessage: 'exit 3', finishedAt: new Date() },
    });
    const { env } = activityEnv();
    const result = await env.run(activities.dispatchToAgent, {
      jobRunId,
      deviceId,
      command: COMMAND,
      expiresAt: new Date().toISOString(),
    });
    expect(result).toEqual({ status: 'failed', exitCode: 3, error: 'exit 3', alreadyFinished: true });
    expect(await commandsOf(targetIds.get(deviceId)!)).toEqual([]);
  });

  it('fails permanently for a device that is not a target of the run', async () => {
    const { jobRunId } = await createJobRunFixture(testDb.db, 1);
    const { env } = activityEnv();
    const err = await env
      .run(activities.dispatchToAgent, {
        jobRunId,
        deviceId: '00000000-0000-4000-8000-000000000000',
        command: COMMAND,
        expiresAt: new Date().toISOString(),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'JobRunTargetNotFound', nonRetryable: true });
  });
});

describe('withdrawUndeliveredCommand', () => {
  it('ends a command no agent picked up offline (and its target with it), and leaves a delivered one alone', async () => {
    const { jobRunId, deviceIds, targetIds } = await createJobRunFixture(testDb.db, 2);
    const [idle, busy] = deviceIds as [string, string];
    const expiresAt = new Date(Date.now() + 60_000).toISOString();
    for (const deviceId of deviceIds) {
      await expect(
        activityEnv(1).env.run(activities.dispatchToAgent, { jobRunId, deviceId, command: COMMAND, expiresAt }),
      ).rejects.toBeInstanceOf(CompleteAsyncError);
    }
    await testDb.db.prisma.agentCommand.updateMany({ where: { deviceId: busy }, data: { state: 'delivered', deliveredAt: new Date() } });

    expect(await activities.withdrawUndeliveredCommand({ jobRunId, deviceId: idle })).toEqual({ withdrawn: true });
    expect(await activities.withdrawUndeliveredCommand({ jobRunId, deviceId: busy })).toEqual({ withdrawn: false });
    expect((await commandsOf(targetIds.get(idle)!)).map((c) => c.state)).toEqual(['offline']);
    expect((await commandsOf(targetIds.get(busy)!)).map((c) => c.state)).toEqual(['delivered']);
    expect(await target(jobRunId, idle)).toMatchObject({
      status: 'offline',
      errorMessage: 'The device did not pick up the command before the deadline.',
    });
    expect((await target(jobRunId, busy)).finishedAt).toBeNull();

    // The workflow then records what it decided; the target already says it.
    const outcome = await activities.recordDeviceOutcome({ jobRunId, deviceId: idle, outcome: 'timed_out' });
    expect(outcome).toEqual({ status: 'offline', applied: false });
  });
});

describe('recordDeviceOutcome', () => {
  async function dispatch(jobRunId: string, deviceId: string, attempt = 1) {
    const { env } = activityEnv(attempt);
    await env
      .run(activities.dispatchToAgent, { jobRunId, deviceId, command: COMMAND, expiresAt: new Date(Date.now() + 60_000).toISOString() })
      .catch((e: unknown) => {
        if (!(e instanceof CompleteAsyncError)) throw e;
      });
  }

  it('records offline when no command was ever delivered, and ends the queued command offline', async () => {
    const { jobRunId, deviceIds, targetIds } = await createJobRunFixture(testDb.db, 1);
    const deviceId = deviceIds[0]!;
    await dispatch(jobRunId, deviceId);
    const { env } = activityEnv();
    const result = await env.run(activities.recordDeviceOutcome, { jobRunId, deviceId, outcome: 'timed_out' });
    expect(result).toEqual({ status: 'offline', applied: true });
    const row = await target(jobRunId, deviceId);
    expect(row.status).toBe('offline');
    expect(row.finishedAt).toBeInstanceOf(Date);
    expect(row.errorMessage).toMatch(/did not pick up/);
    expect((await commandsOf(targetIds.get(deviceId)!)).map((c) => c.state)).toEqual(['offline']);
  });

  it('records timed_out when a command was delivered but no result came, and ends the command: the agent is told to stop', async () => {
    const { jobRunId, deviceIds, targetIds } = await createJobRunFixture(testDb.db, 1);
    const deviceId = deviceIds[0]!;
    await dispatch(jobRunId, deviceId);
    await startCommands(targetIds.get(deviceId)!);
    const { env } = activityEnv();
    expect(await env.run(activities.recordDeviceOutcome, { jobRunId, deviceId, outcome: 'timed_out' })).toEqual({
      status: 'timed_out',
      applied: true,
    });
    expect((await target(jobRunId, deviceId)).status).toBe('timed_out');
    // Nobody waits for it any more: it is over on the server (an agent still running it is told to stop by its
    // next heartbeat), and a late result can no longer change it.
    expect((await commandsOf(targetIds.get(deviceId)!)).map((c) => [c.state, c.errorMessage])).toEqual([
      ['timed_out', 'No result arrived before the deadline plus the command timeout.'],
    ]);
  });

  it('records timed_out (not offline) for a device never dispatched', async () => {
    const { jobRunId, deviceIds } = await createJobRunFixture(testDb.db, 1);
    const deviceId = deviceIds[0]!;
    const { env } = activityEnv();
    expect(await env.run(activities.recordDeviceOutcome, { jobRunId, deviceId, outcome: 'timed_out' })).toEqual({
      status: 'timed_out',
      applied: true,
    });
    expect((await target(jobRunId, deviceId)).errorMessage).toMatch(/before the command could be dispatched/);
  });

  it('keeps the first terminal state (first writer wins)', async () => {
    const { jobRunId, deviceIds, targetIds } = await createJobRunFixture(testDb.db, 1);
    const deviceId = deviceIds[0]!;
    const finishedAt = new Date('2030-01-01T00:00:00Z');
    // The API wrote the agent's result first.
    await testDb.db.prisma.jobRunDevice.update({
      where: { id: targetIds.get(deviceId)! },
      data: { status: 'succeeded', exitCode: 0, finishedAt },
    });
    const { env } = activityEnv();
    expect(await env.run(activities.recordDeviceOutcome, { jobRunId, deviceId, outcome: 'timed_out' })).toEqual({
      status: 'succeeded',
      applied: false,
    });
    expect(await env.run(activities.recordDeviceOutcome, { jobRunId, deviceId, outcome: 'cancelled' })).toEqual({
      status: 'succeeded',
      applied: false,
    });
    const row = await target(jobRunId, deviceId);
    expect(row).toMatchObject({ status: 'succeeded', exitCode: 0n, finishedAt, errorMessage: null });

    // Between two workflow-side writers, the first one wins too.
    const other = await createJobRunFixture(testDb.db, 1);
    const otherDevice = other.deviceIds[0]!;
    expect(
      await env.run(activities.recordDeviceOutcome, {
        jobRunId: other.jobRunId,
        deviceId: otherDevice,
        outcome: 'failed',
        message: 'boom',
      }),
    ).toEqual({
      status: 'failed',
      applied: true,
    });
    expect(
      await env.run(activities.recordDeviceOutcome, { jobRunId: other.jobRunId, deviceId: otherDevice, outcome: 'cancelled' }),
    ).toEqual({
      status: 'failed',
      applied: false,
    });
    expect((await target(other.jobRunId, otherDevice)).errorMessage).toBe('boom');
  });

  it('on cancellation flags delivered commands for the agent, ends undelivered ones cancelled and notifies', async () => {
    const { jobRunId, deviceIds, targetIds } = await createJobRunFixture(testDb.db, 1);
    const deviceId = deviceIds[0]!;
    const targetId = targetIds.get(deviceId)!;
    await dispatch(jobRunId, deviceId, 1);
    await dispatch(jobRunId, deviceId, 2);
    await testDb.db.prisma.agentCommand.updateMany({
      where: { jobRunDeviceId: targetId, attempt: 1 },
      data: { state: 'delivered', deliveredAt: new Date() },
    });
    const listener = await listen(testDb.db, [channels.agentCommands, channels.jobRunEvents]);
    try {
      const { env } = activityEnv();
      expect(await env.run(activities.recordDeviceOutcome, { jobRunId, deviceId, outcome: 'cancelled' })).toEqual({
        status: 'cancelled',
        applied: true,
      });
      expect((await commandsOf(targetId)).map((c) => [c.attempt, c.state, c.cancelRequestedAt !== null])).toEqual([
        [1, 'delivered', true],
        [2, 'cancelled', false],
      ]);
      await listener.waitFor((n) => n.channel === channels.jobRunEvents && n.payload === jobRunId);
      await listener.waitFor((n) => n.channel === channels.agentCommands && n.payload === deviceId);
    } finally {
      await listener.stop();
    }
  });
});

describe('markJobRunRunning and finalizeJobRun', () => {
  async function setStatus(jobRunId: string, statuses: Record<string, 'succeeded' | 'failed' | 'timed_out' | 'offline'>) {
    for (const [deviceId, status] of Object.entries(statuses)) {
      await testDb.db.prisma.jobRunDevice.update({
        where: { jobRunId_deviceId: { jobRunId, deviceId } },
        data: { status, finishedAt: new Date() },
      });
    }
  }

  it('marks a run running once', async () => {
    const { jobRunId } = await createJobRunFixture(testDb.db, 1);
    const { env } = activityEnv();
    expect(await env.run(activities.markJobRunRunning, { jobRunId })).toEqual({ status: 'running' });
    const first = await testDb.db.prisma.jobRun.findUniqueOrThrow({ where: { id: jobRunId } });
    expect(first.status).toBe('running');
    expect(first.startedAt).toBeInstanceOf(Date);
    expect(await env.run(activities.markJobRunRunning, { jobRunId })).toEqual({ status: 'running' });
    const second = await testDb.db.prisma.jobRun.findUniqueOrThrow({ where: { id: jobRunId } });
    expect(second.startedAt).toEqual(first.startedAt);
  });

  it('finalizes as succeeded when every target succeeded', async () => {
    const { jobRunId, deviceIds } = await createJobRunFixture(testDb.db, 2);
    await setStatus(jobRunId, Object.fromEntries(deviceIds.map((id) => [id, 'succeeded'])));
    const { env } = activityEnv();
    const summary = await env.run(activities.finalizeJobRun, { jobRunId, cancelled: false });
    expect(summary).toEqual({
      status: 'succeeded',
      total: 2,
      counts: { pending: 0, running: 0, succeeded: 2, failed: 0, timed_out: 0, cancelled: 0, offline: 0 },
    });
    const run = await testDb.db.prisma.jobRun.findUniqueOrThrow({ where: { id: jobRunId } });
    expect(run.status).toBe('succeeded');
    expect(run.finishedAt).toBeInstanceOf(Date);
  });

  it('finalizes a mixed run as partially succeeded, closing targets left without an outcome; and is idempotent', async () => {
    const { jobRunId, deviceIds } = await createJobRunFixture(testDb.db, 4);
    const [a, b, c] = deviceIds as [string, string, string, string];
    await setStatus(jobRunId, { [a]: 'succeeded', [b]: 'failed', [c]: 'offline' });
    const listener = await listen(testDb.db, [channels.jobRunEvents]);
    try {
      const { env } = activityEnv();
      const summary = await env.run(activities.finalizeJobRun, { jobRunId, cancelled: false });
      expect(summary.status).toBe('partially_succeeded');
      expect(summary.counts).toMatchObject({ succeeded: 1, failed: 2, offline: 1, pending: 0 });
      expect((await target(jobRunId, deviceIds[3]!)).errorMessage).toMatch(/No outcome was recorded/);
      await listener.waitFor((n) => n.payload === jobRunId);

      const finishedAt = (await testDb.db.prisma.jobRun.findUniqueOrThrow({ where: { id: jobRunId } })).finishedAt;
      // A second call (activity retry) reports the same and changes nothing — even when asked to cancel.
      expect(await env.run(activities.finalizeJobRun, { jobRunId, cancelled: true })).toEqual(summary);
      const run = await testDb.db.prisma.jobRun.findUniqueOrThrow({ where: { id: jobRunId } });
      expect(run).toMatchObject({ status: 'partially_succeeded', finishedAt });
    } finally {
      await listener.stop();
    }
  });

  it('says what happened when nothing succeeded: failed, timed out or unreachable', async () => {
    const cases: [Record<number, 'failed' | 'timed_out' | 'offline'>, string][] = [
      [{ 0: 'failed', 1: 'timed_out', 2: 'offline' }, 'failed'],
      [{ 0: 'timed_out', 1: 'offline' }, 'timed_out'],
      [{ 0: 'offline', 1: 'offline' }, 'unreachable'],
    ];
    for (const [outcomes, expected] of cases) {
      const { jobRunId, deviceIds } = await createJobRunFixture(testDb.db, Object.keys(outcomes).length);
      await setStatus(jobRunId, Object.fromEntries(Object.entries(outcomes).map(([i, status]) => [deviceIds[Number(i)]!, status])));
      const { env } = activityEnv();
      expect((await env.run(activities.finalizeJobRun, { jobRunId, cancelled: false })).status).toBe(expected);
      expect((await testDb.db.prisma.jobRun.findUniqueOrThrow({ where: { id: jobRunId } })).status).toBe(expected);
    }
  });

  it('finalizes a cancelled run as cancelled, cancelling targets without an outcome', async () => {
    const { jobRunId, deviceIds, targetIds } = await createJobRunFixture(testDb.db, 3);
    const [done, running, neverDispatched] = deviceIds as [string, string, string];
    await setStatus(jobRunId, { [done]: 'succeeded' });
    const { env: dispatchEnv } = activityEnv();
    await dispatchEnv
      .run(activities.dispatchToAgent, {
        jobRunId,
        deviceId: running,
        command: COMMAND,
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      })
      .catch(() => undefined);
    await startCommands(targetIds.get(running)!);
    const { env } = activityEnv();
    const summary = await env.run(activities.finalizeJobRun, { jobRunId, cancelled: true });
    expect(summary.status).toBe('cancelled');
    expect(summary.counts).toMatchObject({ succeeded: 1, cancelled: 2 });
    expect((await target(jobRunId, neverDispatched)).status).toBe('cancelled');
    expect((await commandsOf(targetIds.get(running)!)).map((c) => c.cancelRequestedAt !== null)).toEqual([true]);
  });

  it('fails permanently for an unknown run', async () => {
    const { env } = activityEnv();
    const err = await env
      .run(activities.finalizeJobRun, { jobRunId: '00000000-0000-4000-8000-000000000000', cancelled: false })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'JobRunNotFound', nonRetryable: true });
  });
});
