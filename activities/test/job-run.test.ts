/** The job-run activities against a real PostgreSQL (a fresh migrated database for this file). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { channels } from '@opsconductor/db/notify';
import { createTestDatabase, type TestDatabase } from '@opsconductor/test/support/database';
import { queueCommand, recordAgentResult, storePayload } from '@opsconductor/commands';
import { EventHub } from '@opsconductor/db/event-hub';
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
function activityEnv(attempt = 1) {
  const mock = new MockActivityEnvironment({ attempt });
  const heartbeats: unknown[] = [];
  mock.on('heartbeat', (details: unknown) => heartbeats.push(details));
  const env = {
    run<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
      return mock.run(fn, ...args) as Promise<R>;
    },
    cancel: () => mock.cancel(),
    heartbeats,
  };
  return { env };
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

/** The agent reports: its command (started first) ends with `status`, through the same path as the API. */
async function report(targetId: string, deviceId: string, status: 'succeeded' | 'failed', exitCode = status === 'succeeded' ? 0 : 2) {
  await startCommands(targetId);
  const [command] = await commandsOf(targetId);
  const now = new Date().toISOString();
  const outcome = await recordAgentResult(testDb.db.pool, deviceId, command!.id, {
    status,
    exitCode,
    startedAt: now,
    finishedAt: now,
    durationMs: 5,
  });
  expect(outcome?.kind).toBe('applied');
}

async function target(jobRunId: string, deviceId: string) {
  return testDb.db.prisma.jobRunDevice.findUniqueOrThrow({ where: { jobRunId_deviceId: { jobRunId, deviceId } } });
}

async function waitUntil(what: string, predicate: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const commandCount = async (targetIds: Iterable<string>) =>
  testDb.db.prisma.agentCommand.count({ where: { jobRunDeviceId: { in: [...targetIds] } } });

function batchInput(
  fixture: { jobRunId: string; deviceIds: string[] },
  opts: { deadlineInMs?: number; giveUpInMs?: number; maxConcurrency?: number } = {},
) {
  const now = Date.now();
  return {
    jobRunId: fixture.jobRunId,
    deviceIds: fixture.deviceIds,
    command: COMMAND,
    deadlineAt: new Date(now + (opts.deadlineInMs ?? 60_000)).toISOString(),
    giveUpAt: new Date(now + (opts.giveUpInMs ?? 120_000)).toISOString(),
    maxConcurrency: opts.maxConcurrency ?? 500,
  };
}

describe('runCommandOnTargets', () => {
  it('queues one command per target by reference, wakes each agent, heartbeats progress and returns once every target has an outcome', async () => {
    const fixture = await createJobRunFixture(testDb.db, 3);
    const { jobRunId, deviceIds, targetIds } = fixture;
    const [a, b, c] = deviceIds as [string, string, string];
    const listener = await listen(testDb.db, [channels.agentCommands]);
    try {
      const { env } = activityEnv();
      const input = batchInput(fixture);
      const done = env.run(activities.runCommandOnTargets, input);
      await waitUntil('three commands', async () => (await commandCount(targetIds.values())) === 3);
      for (const deviceId of deviceIds) await listener.waitFor((n) => n.channel === channels.agentCommands && n.payload === deviceId);
      const [command] = await commandsOf(targetIds.get(a)!);
      expect(command).toMatchObject({ deviceId: a, attempt: 1, kind: 'shell', payloadSha256: COMMAND.payloadSha256, state: 'queued' });
      expect(command!.expiresAt.toISOString()).toBe(input.deadlineAt);

      await report(targetIds.get(a)!, a, 'succeeded');
      await report(targetIds.get(b)!, b, 'failed');
      // Someone else decided the third one (e.g. the device was retired): the batch takes it as it is.
      await testDb.db.prisma.jobRunDevice.update({ where: { id: targetIds.get(c)! }, data: { status: 'failed', finishedAt: new Date() } });
      expect(await done).toEqual({ counts: { succeeded: 1, failed: 2 }, total: 3 });
      expect(env.heartbeats[0]).toEqual({ targets: 3, finished: 0, inFlight: 3 });
      expect(env.heartbeats.at(-1)).toEqual({ targets: 3, finished: 3, inFlight: 0 });
      // Nothing was queued twice however many passes it made.
      expect(await commandCount(targetIds.values())).toBe(3);
    } finally {
      await listener.stop();
    }
  });

  it('with an event hub, an agent result wakes the batch at once instead of at its next idle read', async () => {
    const hub = new EventHub(testDb.db.pool, testDb.url, { warn: () => {} });
    await hub.start();
    try {
      const woken = createActivities({ db: testDb.db, events: hub });
      const fixture = await createJobRunFixture(testDb.db, 1);
      const { deviceIds, targetIds } = fixture;
      const { env } = activityEnv();
      const done = env.run(woken.runCommandOnTargets, batchInput(fixture));
      await waitUntil('the command', async () => (await commandCount(targetIds.values())) === 1);
      // Let the batch go idle: its next read without a wake-up is 5 s away.
      await new Promise((r) => setTimeout(r, 500));
      await report(targetIds.get(deviceIds[0]!)!, deviceIds[0]!, 'succeeded');
      const reported = Date.now();
      // What the API does after storing a result.
      hub.publish(channels.jobRunEvents, fixture.jobRunId);
      expect(await done).toEqual({ counts: { succeeded: 1 }, total: 1 });
      expect(Date.now() - reported).toBeLessThan(3000);
    } finally {
      await hub.stop();
    }
  });

  it('keeps at most maxConcurrency commands open, queuing the next target as one ends', async () => {
    const fixture = await createJobRunFixture(testDb.db, 4);
    const { deviceIds, targetIds } = fixture;
    const { env } = activityEnv();
    const done = env.run(activities.runCommandOnTargets, batchInput(fixture, { maxConcurrency: 2 }));
    await waitUntil('two commands', async () => (await commandCount(targetIds.values())) === 2);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await commandCount(targetIds.values())).toBe(2);
    // The first two targets, in the order given.
    expect((await commandsOf(targetIds.get(deviceIds[0]!)!)).length + (await commandsOf(targetIds.get(deviceIds[1]!)!)).length).toBe(2);
    await report(targetIds.get(deviceIds[0]!)!, deviceIds[0]!, 'succeeded');
    await waitUntil('a third command', async () => (await commandCount(targetIds.values())) === 3);
    for (const deviceId of deviceIds.slice(1)) {
      await waitUntil(`a command for ${deviceId}`, async () => (await commandsOf(targetIds.get(deviceId)!)).length === 1);
      await report(targetIds.get(deviceId)!, deviceId, 'succeeded');
    }
    expect(await done).toEqual({ counts: { succeeded: 4 }, total: 4 });
  });

  it("hands out new commands no faster than the worker's dispatch rate", async () => {
    const paced = createActivities({ db: testDb.db, dispatchPerSecond: 1 });
    const fixture = await createJobRunFixture(testDb.db, 4);
    const { deviceIds, targetIds } = fixture;
    const { env } = activityEnv();
    const started = Date.now();
    const done = env.run(paced.runCommandOnTargets, batchInput(fixture));
    await waitUntil('the first command', async () => (await commandCount(targetIds.values())) >= 1);
    expect(await commandCount(targetIds.values())).toBe(1);
    await waitUntil('every command', async () => (await commandCount(targetIds.values())) === 4);
    // One at once, then one a second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
    for (const deviceId of deviceIds) await report(targetIds.get(deviceId)!, deviceId, 'succeeded');
    expect(await done).toEqual({ counts: { succeeded: 4 }, total: 4 });
  });

  it('at the deadline ends undelivered commands offline and times out targets never reached; a delivered one gets until giveUpAt', async () => {
    const fixture = await createJobRunFixture(testDb.db, 3);
    const { jobRunId, deviceIds, targetIds } = fixture;
    const [running, undelivered, unreached] = deviceIds as [string, string, string];
    const { env } = activityEnv();
    const done = env.run(activities.runCommandOnTargets, batchInput(fixture, { deadlineInMs: 2000, giveUpInMs: 4500, maxConcurrency: 2 }));
    await waitUntil('two commands', async () => (await commandCount(targetIds.values())) === 2);
    await startCommands(targetIds.get(running)!);

    await waitUntil('the deadline to pass', async () => (await target(jobRunId, undelivered)).finishedAt !== null);
    expect(await target(jobRunId, undelivered)).toMatchObject({
      status: 'offline',
      errorMessage: 'The device did not pick up the command before the deadline.',
    });
    expect((await commandsOf(targetIds.get(undelivered)!)).map((c) => c.state)).toEqual(['offline']);
    expect(await target(jobRunId, unreached)).toMatchObject({
      status: 'timed_out',
      errorMessage: 'The deadline passed before the command could be dispatched.',
    });
    expect(await commandsOf(targetIds.get(unreached)!)).toEqual([]);
    expect((await target(jobRunId, running)).finishedAt).toBeNull();

    expect(await done).toEqual({ counts: { offline: 1, timed_out: 2 }, total: 3 });
    expect(await target(jobRunId, running)).toMatchObject({ status: 'timed_out' });
    // Over on the server: an agent still running it is told to stop, and a late result changes nothing.
    expect((await commandsOf(targetIds.get(running)!)).map((c) => [c.state, c.errorMessage])).toEqual([
      ['timed_out', 'No result arrived before the deadline plus the command timeout.'],
    ]);
  });

  it('resumes in a retried attempt (a worker died): no target gets a second command', async () => {
    const fixture = await createJobRunFixture(testDb.db, 2);
    const { deviceIds, targetIds } = fixture;
    const input = batchInput(fixture);
    const first = activityEnv(1);
    const crashed = first.env.run(activities.runCommandOnTargets, input).catch((e: unknown) => e);
    await waitUntil('two commands', async () => (await commandCount(targetIds.values())) === 2);
    first.env.cancel();
    expect(await crashed).toBeInstanceOf(CancelledFailure);
    await report(targetIds.get(deviceIds[0]!)!, deviceIds[0]!, 'succeeded');

    const second = activityEnv(2);
    const done = second.env.run(activities.runCommandOnTargets, input);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await commandCount(targetIds.values())).toBe(2);
    await report(targetIds.get(deviceIds[1]!)!, deviceIds[1]!, 'failed');
    expect(await done).toEqual({ counts: { succeeded: 1, failed: 1 }, total: 2 });
  });

  it('dispatches nothing to targets that already have an outcome, and leaves out devices that are not targets of the run', async () => {
    const fixture = await createJobRunFixture(testDb.db, 1);
    const { jobRunId, deviceIds, targetIds } = fixture;
    await testDb.db.prisma.jobRunDevice.update({
      where: { id: targetIds.get(deviceIds[0]!)! },
      data: { status: 'cancelled', finishedAt: new Date() },
    });
    const { env } = activityEnv();
    const outcome = await env.run(activities.runCommandOnTargets, {
      ...batchInput(fixture),
      deviceIds: [deviceIds[0]!, '00000000-0000-4000-8000-000000000000'],
    });
    expect(outcome).toEqual({ counts: { cancelled: 1 }, total: 1 });
    expect(await commandCount(targetIds.values())).toBe(0);
    expect((await target(jobRunId, deviceIds[0]!)).status).toBe('cancelled');
  });

  it("takes an older run's inline shell payload, storing it once", async () => {
    const fixture = await createJobRunFixture(testDb.db, 2);
    const { deviceIds, targetIds } = fixture;
    const { env } = activityEnv();
    const { command: _byReference, ...rest } = batchInput(fixture);
    const done = env.run(activities.runCommandOnTargets, { ...rest, payload: PAYLOAD });
    await waitUntil('two commands', async () => (await commandCount(targetIds.values())) === 2);
    const commands = await testDb.db.prisma.agentCommand.findMany({
      where: { jobRunDeviceId: { in: [...targetIds.values()] } },
      include: { payload: true },
    });
    expect(commands.map((c) => [c.payloadSha256, c.payload.payload])).toEqual([
      [COMMAND.payloadSha256, PAYLOAD],
      [COMMAND.payloadSha256, PAYLOAD],
    ]);
    for (const deviceId of deviceIds) await report(targetIds.get(deviceId)!, deviceId, 'succeeded');
    expect(await done).toEqual({ counts: { succeeded: 2 }, total: 2 });
  });

  it('fails permanently for a payload that was never stored and for malformed input', async () => {
    const fixture = await createJobRunFixture(testDb.db, 1);
    const cases = [
      { ...batchInput(fixture), command: { ...COMMAND, payloadSha256: 'f'.repeat(64) } },
      { ...batchInput(fixture), deviceIds: ['not-a-uuid'] },
      { ...batchInput(fixture), deadlineAt: 'tomorrow' },
      { ...batchInput(fixture), maxConcurrency: 0 },
      { ...batchInput(fixture), deviceIds: Array.from({ length: 1001 }, () => fixture.deviceIds[0]!) },
    ];
    for (const input of cases) {
      const err = await activityEnv()
        .env.run(activities.runCommandOnTargets, input)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect(err).toMatchObject({ type: 'InvalidActivityInput', nonRetryable: true });
    }
    expect(await commandCount(fixture.targetIds.values())).toBe(0);
  });
});

describe('recordTargetOutcomes', () => {
  /** A batch that queued its commands and was then stopped (as a cancelled or timed-out batch is). */
  async function dispatched(count: number) {
    const fixture = await createJobRunFixture(testDb.db, count);
    const { env } = activityEnv();
    const run = env.run(activities.runCommandOnTargets, batchInput(fixture)).catch((e: unknown) => e);
    await waitUntil('the commands', async () => (await commandCount(fixture.targetIds.values())) === count);
    env.cancel();
    expect(await run).toBeInstanceOf(CancelledFailure);
    return fixture;
  }

  it('times out: undelivered commands end offline, delivered ones timed out (the agent is told to stop), never-dispatched targets timed out', async () => {
    const fixture = await dispatched(2);
    const { jobRunId, deviceIds, targetIds } = fixture;
    const [queued, running] = deviceIds as [string, string];
    await startCommands(targetIds.get(running)!);
    const unreached = await createJobRunFixture(testDb.db, 1);
    const { env } = activityEnv();
    expect(await env.run(activities.recordTargetOutcomes, { jobRunId, deviceIds, outcome: 'timed_out' })).toEqual({
      counts: { offline: 1, timed_out: 1 },
      total: 2,
    });
    expect(await target(jobRunId, queued)).toMatchObject({
      status: 'offline',
      errorMessage: 'The device did not pick up the command before the deadline.',
    });
    expect((await commandsOf(targetIds.get(running)!)).map((c) => [c.state, c.errorMessage])).toEqual([
      ['timed_out', 'No result arrived before the deadline plus the command timeout.'],
    ]);
    expect(
      await env.run(activities.recordTargetOutcomes, {
        jobRunId: unreached.jobRunId,
        deviceIds: unreached.deviceIds,
        outcome: 'timed_out',
      }),
    ).toEqual({
      counts: { timed_out: 1 },
      total: 1,
    });
    expect((await target(unreached.jobRunId, unreached.deviceIds[0]!)).errorMessage).toBe(
      'The deadline passed before the command could be dispatched.',
    );
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
    for (const outcome of ['timed_out', 'cancelled', 'failed'] as const) {
      expect(await env.run(activities.recordTargetOutcomes, { jobRunId, deviceIds, outcome })).toEqual({
        counts: { succeeded: 1 },
        total: 1,
      });
    }
    expect(await target(jobRunId, deviceId)).toMatchObject({ status: 'succeeded', exitCode: 0n, finishedAt, errorMessage: null });

    // Between two workflow-side writers, the first one wins too.
    const other = await createJobRunFixture(testDb.db, 1);
    const input = { jobRunId: other.jobRunId, deviceIds: other.deviceIds };
    expect(await env.run(activities.recordTargetOutcomes, { ...input, outcome: 'failed', message: 'Dispatch failed: boom' })).toEqual({
      counts: { failed: 1 },
      total: 1,
    });
    expect(await env.run(activities.recordTargetOutcomes, { ...input, outcome: 'cancelled' })).toEqual({ counts: { failed: 1 }, total: 1 });
    expect((await target(other.jobRunId, other.deviceIds[0]!)).errorMessage).toBe('Dispatch failed: boom');
  });

  it('on cancellation flags delivered commands for the agent, ends undelivered ones cancelled and notifies', async () => {
    const { jobRunId, deviceIds, targetIds } = await dispatched(2);
    const [delivered, queued] = deviceIds as [string, string];
    await testDb.db.prisma.agentCommand.updateMany({
      where: { jobRunDeviceId: targetIds.get(delivered)! },
      data: { state: 'delivered', deliveredAt: new Date() },
    });
    const listener = await listen(testDb.db, [channels.agentCommands, channels.jobRunEvents]);
    try {
      const { env } = activityEnv();
      expect(await env.run(activities.recordTargetOutcomes, { jobRunId, deviceIds, outcome: 'cancelled' })).toEqual({
        counts: { cancelled: 2 },
        total: 2,
      });
      expect((await commandsOf(targetIds.get(delivered)!)).map((c) => [c.state, c.cancelRequestedAt !== null])).toEqual([
        ['delivered', true],
      ]);
      expect((await commandsOf(targetIds.get(queued)!)).map((c) => [c.state, c.cancelRequestedAt !== null])).toEqual([
        ['cancelled', false],
      ]);
      await listener.waitFor((n) => n.channel === channels.jobRunEvents && n.payload === jobRunId);
      await listener.waitFor((n) => n.channel === channels.agentCommands && n.payload === delivered);
    } finally {
      await listener.stop();
    }
  });

  it('refuses unknown outcomes and malformed device IDs', async () => {
    const { jobRunId } = await createJobRunFixture(testDb.db, 1);
    const { env } = activityEnv();
    for (const input of [
      { jobRunId, deviceIds: [], outcome: 'succeeded' as never },
      { jobRunId, deviceIds: ["'; DROP TABLE job_runs; --"], outcome: 'failed' as const },
    ]) {
      await expect(env.run(activities.recordTargetOutcomes, input)).rejects.toMatchObject({
        type: 'InvalidActivityInput',
        nonRetryable: true,
      });
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
    await queueCommand(testDb.db.pool, {
      deviceId: running,
      owner: { jobRunDeviceId: targetIds.get(running)! },
      attempt: 1,
      payloadSha256: COMMAND.payloadSha256,
      expiresAt: new Date(Date.now() + 60_000),
    });
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
