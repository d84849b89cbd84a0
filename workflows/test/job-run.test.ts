/**
 * `jobRun` against the time-skipping test server, with stubbed activities (test/support/stub-activities.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import {
  approvalDecidedSignal,
  jobRun,
  progressQuery,
  refreshDynamicGroups,
  scheduledJobRun,
  sweepDevicePresence,
  type JobRunInput,
} from '../src/index.ts';
import { BATCH_HEARTBEAT_TIMEOUT_MS, DISPATCH_GRACE_MS } from '../src/job-run.ts';
import { OpsDeviceIds, OpsJobRunId, deviceIdsForSearch } from '../src/search-attributes.ts';
import type { ChainedRun } from '@opsconductor/activities';
import { createStubActivities, deviceIdList, type DeviceBehaviour, type StubState } from './support/stub-activities.ts';
import { createTimeSkippingEnv, workflowBundle } from './support/temporal.ts';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  await Promise.all([workflowBundle(), workflowBundle({ shortDispatchTimeout: true })]);
});

afterAll(async () => {
  await env?.teardown();
});

const PAYLOAD = { kind: 'shell', command: 'uptime', shell: 'default', timeoutSeconds: 60 } as const;
/** PAYLOAD by reference, as the API passes a run's command (the SHA-256 is never resolved by the stubs). */
const COMMAND = { kind: 'shell', payloadSha256: 'a'.repeat(64), timeoutSeconds: PAYLOAD.timeoutSeconds } as const;

async function makeInput(deviceIds: string[], opts: { maxConcurrency?: number } = {}): Promise<JobRunInput> {
  const now = await env.currentTimeMs();
  return {
    jobRunId: randomUUID(),
    deviceIds,
    command: { ...COMMAND },
    deadlineAt: new Date(now + 10 * 60_000).toISOString(),
    ...(opts.maxConcurrency ? { maxConcurrency: opts.maxConcurrency } : {}),
  };
}

/**
 * Starts a worker with the stubs, runs `fn` with a started workflow handle, and stops the worker.
 * `deadlineInMs` sets the run's deadline relative to the workflow's start rather than to makeInput:
 * on a loaded machine the worker can take longer to start than a short deadline lasts.
 */
async function withRun<T>(
  input: JobRunInput,
  behaviour: (deviceId: string) => DeviceBehaviour,
  fn: (handle: WorkflowHandle<typeof jobRun>, state: StubState) => Promise<T>,
  opts: { shortDispatchTimeout?: boolean; deadlineInMs?: number; chain?: (jobRunId: string) => ChainedRun } = {},
): Promise<T> {
  const { activities, state } = createStubActivities(input.deviceIds, behaviour, { chain: opts.chain });
  const taskQueue = `test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(opts),
    activities,
    // Like the product's worker (5 s there): a cancelled batch learns of it at its next heartbeat.
    maxHeartbeatThrottleInterval: '1 second',
  });
  return worker.runUntil(async () => {
    if (opts.deadlineInMs !== undefined) input.deadlineAt = new Date((await env.currentTimeMs()) + opts.deadlineInMs).toISOString();
    const handle = await env.client.workflow.start(jobRun, {
      taskQueue,
      workflowId: `job-run/${input.jobRunId}`,
      args: [input],
      typedSearchAttributes: [
        { key: OpsJobRunId, value: input.jobRunId },
        { key: OpsDeviceIds, value: deviceIdsForSearch(input.deviceIds) },
      ],
    });
    return fn(handle, state);
  });
}

async function waitUntil(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function expectOneOutcomeEach(state: StubState, deviceIds: string[]) {
  expect(state.outcomes.size).toBe(deviceIds.length);
  const notOnce = deviceIds.filter((id) => state.writes.get(id) !== 1);
  expect(notOnce).toEqual([]);
}

describe('jobRun', () => {
  it('succeeds when every device succeeds: one batch activity with the deadline, the give-up time and a heartbeat timeout', async () => {
    const ids = deviceIdList(5);
    const input = await makeInput(ids);
    await withRun(
      input,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        const result = await handle.result();
        expect(result.status).toBe('succeeded');
        expect(result.counts.succeeded).toBe(5);
        expect(result.total).toBe(5);
        expect(state.markRunningCalls).toBe(1);
        expect(state.recordCalls).toEqual([]);
        expect(state.finalizeCalls).toEqual([{ jobRunId: input.jobRunId, cancelled: false }]);
        expectOneOutcomeEach(state, ids);
        expect(state.batches).toHaveLength(1);
        const [batch] = state.batches;
        const giveUpAt = Date.parse(input.deadlineAt) + PAYLOAD.timeoutSeconds * 1000 + DISPATCH_GRACE_MS;
        expect(batch).toEqual({
          jobRunId: input.jobRunId,
          deviceIds: ids,
          command: COMMAND,
          deadlineAt: input.deadlineAt,
          giveUpAt: new Date(giveUpAt).toISOString(),
          maxConcurrency: 500,
        });
        // The batch may run (and be retried) until its give-up time plus a margin; a dead worker shows in 30 s.
        const [timeouts] = state.batchTimeouts;
        expect(timeouts!.heartbeatMs).toBe(BATCH_HEARTBEAT_TIMEOUT_MS);
        const expected = 10 * 60_000 + PAYLOAD.timeoutSeconds * 1000 + DISPATCH_GRACE_MS + 10 * 60_000;
        expect(timeouts!.scheduleToCloseMs).toBeLessThanOrEqual(expected);
        expect(timeouts!.scheduleToCloseMs).toBeGreaterThan(expected - 30_000);
        const progress = await handle.query(progressQuery);
        expect(progress).toEqual({
          awaitingApproval: false,
          total: 5,
          finished: 5,
          counts: { succeeded: 5 },
          batches: { total: 1, finished: 1, inFlight: 0 },
        });
      },
    );
  });

  it('adds up what each batch reports: succeeded, offline, timed out and failed devices', async () => {
    const ids = deviceIdList(4);
    const [ok, offline, silent, nonzero] = ids as [string, string, string, string];
    const behaviours: Record<string, DeviceBehaviour> = {
      [ok]: { kind: 'succeed' },
      [offline]: { kind: 'offline' },
      [silent]: { kind: 'silent-after-delivery' },
      [nonzero]: { kind: 'exit-nonzero' },
    };
    const input = await makeInput(ids);
    await withRun(
      input,
      (id) => behaviours[id]!,
      async (handle, state) => {
        const result = await handle.result();
        expect(result.status).toBe('partially_succeeded');
        expect(Object.fromEntries(state.outcomes)).toEqual({
          [ok]: 'succeeded',
          [offline]: 'offline',
          [silent]: 'timed_out',
          [nonzero]: 'failed',
        });
        expect(state.recordCalls).toEqual([]);
        expect(result.counts).toMatchObject({ succeeded: 1, offline: 1, timed_out: 1, failed: 1, pending: 0 });
        expectOneOutcomeEach(state, ids);
      },
    );
  });

  it('records failed for the devices of a batch that fails permanently, and the other batches go on', async () => {
    const ids = deviceIdList(700);
    const input = await makeInput(ids);
    await withRun(
      input,
      (id) => (id === ids[600] ? { kind: 'dispatch-error', message: 'agent protocol too old' } : { kind: 'succeed' }),
      async (handle, state) => {
        const result = await handle.result();
        expect(state.batches).toHaveLength(2);
        expect(state.recordCalls).toEqual([
          { jobRunId: input.jobRunId, deviceIds: ids.slice(500), outcome: 'failed', message: 'Dispatch failed: agent protocol too old' },
        ]);
        expect(result.counts).toMatchObject({ succeeded: 500, failed: 200, pending: 0 });
        expect(result.status).toBe('partially_succeeded');
        expectOneOutcomeEach(state, ids);
      },
    );
  });

  it('records timed_out for the devices of a batch whose activity runs out of time', async () => {
    const ids = deviceIdList(3);
    const input = await makeInput(ids);
    await withRun(
      input,
      (id) => (id === ids[0] ? { kind: 'succeed' } : { kind: 'hang' }),
      async (handle, state) => {
        const result = await handle.result();
        expect(state.recordCalls).toEqual([{ jobRunId: input.jobRunId, deviceIds: ids, outcome: 'timed_out' }]);
        expect(Object.fromEntries(state.outcomes)).toEqual({ [ids[0]!]: 'succeeded', [ids[1]!]: 'timed_out', [ids[2]!]: 'timed_out' });
        expect(result.status).toBe('partially_succeeded');
        expectOneOutcomeEach(state, ids);
      },
      { shortDispatchTimeout: true },
    );
  });

  it('on cancellation records cancelled for the batches in flight, finalizes as cancelled and ends Cancelled', async () => {
    const ids = deviceIdList(1001);
    // maxConcurrency 500 → one batch at a time, so batches 2 and 3 have not started when we cancel.
    const input = await makeInput(ids, { maxConcurrency: 500 });
    await withRun(
      input,
      (id) => (id === ids[0] ? { kind: 'succeed' } : { kind: 'hang' }),
      async (handle, state) => {
        await waitUntil('the first batch', () => state.inFlight === 1);
        await handle.cancel();
        const err = await handle.result().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WorkflowFailedError);
        expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
        expect((await handle.describe()).status.name).toBe('CANCELLED');

        expect(state.batches).toHaveLength(1);
        expect(state.recordCalls).toEqual([{ jobRunId: input.jobRunId, deviceIds: ids.slice(0, 500), outcome: 'cancelled' }]);
        expect(state.outcomes.get(ids[0]!)).toBe('succeeded');
        // Batches that never started are closed by finalize.
        for (const id of ids.slice(1)) expect(state.outcomes.get(id)).toBe('cancelled');
        expect(state.finalizeCalls).toEqual([{ jobRunId: input.jobRunId, cancelled: true }]);
        expect(state.jobStatus).toBe('cancelled');
        expectOneOutcomeEach(state, ids);
        await waitUntil('the batch activity to stop', () => state.inFlight === 0);
      },
    );
  });

  it('splits the devices into batches of 500, at most 20 in flight, and its history stays small', async () => {
    const ids = deviceIdList(10_201);
    const input = await makeInput(ids);
    const failing = new Set(ids.filter((_, i) => i % 100 === 7));
    await withRun(
      input,
      (id) => (failing.has(id) ? { kind: 'exit-nonzero' } : { kind: 'succeed', delayMs: 300 }),
      async (handle, state) => {
        const result = await handle.result();
        expect(result.status).toBe('partially_succeeded');
        expect(result.counts).toMatchObject({ succeeded: ids.length - failing.size, failed: failing.size, pending: 0 });
        expectOneOutcomeEach(state, ids);
        // Consecutive slices of the input (the last one started after a slot freed up).
        const batches = [...state.batches].sort((a, b) => a.deviceIds[0]!.localeCompare(b.deviceIds[0]!));
        expect(batches.map((b) => b.deviceIds.length)).toEqual([...Array(20).fill(500), 201]);
        expect(batches.flatMap((b) => b.deviceIds)).toEqual(ids);
        expect(state.batches.every((b) => b.maxConcurrency === 500)).toBe(true);
        expect(state.maxInFlight).toBe(20);
        const events = (await handle.fetchHistory()).events?.length ?? 0;
        expect(events).toBeLessThan(200);
        expect(await handle.query(progressQuery)).toMatchObject({
          total: ids.length,
          finished: ids.length,
          batches: { total: 21, finished: 21 },
        });
      },
    );
  });

  it('caps the devices in flight across the run with maxConcurrency: smaller batches windows, fewer batches at once', async () => {
    const ids = deviceIdList(2000);
    const input = await makeInput(ids, { maxConcurrency: 1200 });
    await withRun(
      input,
      () => ({ kind: 'succeed', delayMs: 200 }),
      async (handle, state) => {
        expect((await handle.result()).status).toBe('succeeded');
        // 500 per batch, 2 batches at a time: never more than 1,000 ≤ 1,200 devices in flight.
        expect(state.maxInFlight).toBe(2);
        expect(state.batches.every((b) => b.maxConcurrency === 500)).toBe(true);
      },
    );
    const small = await makeInput(deviceIdList(20), { maxConcurrency: 4 });
    await withRun(
      small,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        expect((await handle.result()).status).toBe('succeeded');
        expect(state.batches).toHaveLength(1);
        expect(state.batches[0]!.maxConcurrency).toBe(4);
      },
    );
  });

  it("hands each batch the command by reference; an older run's inline shell payload is passed on as it was", async () => {
    const ids = deviceIdList(2);
    const input = await makeInput(ids);
    await withRun(
      input,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        await handle.result();
        expect(state.batches.map((d) => [d.command, d.payload])).toEqual([[COMMAND, undefined]]);
      },
    );
    const older: JobRunInput = { ...(await makeInput(ids)), command: undefined, payload: { ...PAYLOAD } };
    await withRun(
      older,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        expect((await handle.result()).status).toBe('succeeded');
        expect(state.batches.map((d) => [d.command, d.payload])).toEqual([[undefined, PAYLOAD]]);
      },
    );
  });

  it('fails fast on invalid input after closing the run', async () => {
    const ids = deviceIdList(2);
    const input = { ...(await makeInput(ids)), deadlineAt: 'tomorrow' };
    await withRun(
      input,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        expect(state.batches).toEqual([]);
        expect(state.finalizeCalls).toEqual([
          { jobRunId: input.jobRunId, cancelled: false, reason: 'Invalid job run: deadlineAt must be an ISO date-time' },
        ]);
      },
    );
  });
});

describe('refreshDynamicGroups', () => {
  it('runs the time-based group refresh activity once and returns its counts', async () => {
    const { activities, state } = createStubActivities([], () => ({ kind: 'succeed' }));
    const taskQueue = `test-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities });
    const result = await worker.runUntil(
      env.client.workflow.execute(refreshDynamicGroups, { taskQueue, workflowId: `group-refresh-${randomUUID()}` }),
    );
    expect(result).toEqual({ added: 2, removed: 1 });
    expect(state.refreshCalls).toBe(1);
  });
});

describe('sweepDevicePresence', () => {
  it('runs the presence activity once and returns its counts', async () => {
    const { activities, state } = createStubActivities([], () => ({ kind: 'succeed' }));
    const taskQueue = `test-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities });
    const result = await worker.runUntil(
      env.client.workflow.execute(sweepDevicePresence, { taskQueue, workflowId: `device-presence-${randomUUID()}` }),
    );
    expect(result).toEqual({ cameOnline: 3, wentOffline: 4 });
    expect(state.presenceCalls).toBe(1);
  });
});

describe("a saved job's run (ADR 20)", () => {
  async function jobInput(deviceIds: string[], giveUpInMs: number): Promise<JobRunInput> {
    const now = await env.currentTimeMs();
    return {
      jobRunId: randomUUID(),
      deviceIds,
      deadlineAt: new Date(now + 10 * 60_000).toISOString(),
      job: { giveUpAt: new Date(now + giveUpInMs).toISOString() },
    };
  }

  it("runs each batch as one runJobOnTargets, bounded by the job's giveUpAt, and finalizes the run", async () => {
    const deviceIds = deviceIdList(1200);
    // A job whose steps may take up to 3 days: the batches' close timeout follows it (plus the margin), not a command's.
    const input = await jobInput(deviceIds, 3 * 24 * 3600_000);
    await withRun(
      input,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        const result = await handle.result();
        expect(result.status).toBe('succeeded');
        expect(state.batches.map((b) => b.deviceIds.length).sort((a, b) => b - a)).toEqual([500, 500, 200]);
        // The job's batch input names no command: the activity reads the steps from the run's job version.
        for (const b of state.batches) expect(b).not.toHaveProperty('command');
        for (const t of state.batchTimeouts) expect(t.scheduleToCloseMs).toBeGreaterThan(3 * 24 * 3600_000);
        expect(state.chainCalls).toEqual([input.jobRunId]);
        expectOneOutcomeEach(state, deviceIds);
      },
    );
  });

  it('starts the chained run as a child workflow that outlives the run, with its search attributes', async () => {
    const deviceIds = deviceIdList(3);
    const input = await jobInput(deviceIds, 3600_000);
    const chainedId = randomUUID();
    const now = await env.currentTimeMs();
    const chainedRun = {
      jobRunId: chainedId,
      deviceIds,
      deadlineAt: new Date(now + 10 * 60_000).toISOString(),
      job: { giveUpAt: new Date(now + 3600_000).toISOString() },
    };
    await withRun(
      input,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        expect((await handle.result()).status).toBe('succeeded');
        const child = env.client.workflow.getHandle(`job-run/${chainedId}`);
        const description = await child.describe();
        expect(description.parentExecution?.workflowId).toBe(`job-run/${input.jobRunId}`);
        expect(description.typedSearchAttributes.get(OpsJobRunId)).toBe(chainedId);
        // The child runs on its own (ABANDON): it finishes after its parent, with the chain's own bookkeeping.
        expect((await child.result()).status).toBe('succeeded');
        expect(state.chainCalls).toEqual([input.jobRunId, chainedId]);
      },
      { chain: (id) => (id === input.jobRunId ? { note: 'Chain on success: started', run: chainedRun } : { note: null }) },
    );
  });

  it('refuses a job input without a valid giveUpAt and records why', async () => {
    const input = { ...(await jobInput(deviceIdList(1), 1000)), job: { giveUpAt: 'soon' } };
    await withRun(
      input,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        expect(state.finalizeCalls[0]?.reason).toMatch(/giveUpAt/);
        expect(state.batches).toHaveLength(0);
      },
    );
  });
});

describe("approval (four-eyes) of a job's run", () => {
  async function approvalInput(expiresInMs: number): Promise<JobRunInput> {
    const now = await env.currentTimeMs();
    return {
      jobRunId: randomUUID(),
      deviceIds: deviceIdList(3),
      deadlineAt: new Date(now + 10 * 60_000).toISOString(),
      job: { giveUpAt: new Date(now + 3600_000).toISOString() },
      approval: { expiresAt: new Date(now + expiresInMs).toISOString(), requestedBy: 'requester' },
    };
  }
  async function waitingForApproval(handle: WorkflowHandle<typeof jobRun>): Promise<void> {
    const until = Date.now() + 20_000;
    while (!(await handle.query(progressQuery)).awaitingApproval) {
      if (Date.now() > until) throw new Error('the run never waited for approval');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('waits until approved (a signal), then runs its batches', async () => {
    const input = await approvalInput(24 * 3600_000);
    await withRun(
      input,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        await waitingForApproval(handle);
        expect(state.batches).toHaveLength(0);
        state.approvalDecision = 'approved';
        await handle.signal(approvalDecidedSignal, { decision: 'approved', by: 'approver' });
        expect((await handle.result()).status).toBe('succeeded');
        expect(state.approvalCalls).toEqual([{ jobRunId: input.jobRunId, expired: false }]);
        expect(state.batches).toHaveLength(1);
        const history = await handle.fetchHistory();
        expect(history.events?.some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'approvalDecided')).toBe(true);
      },
    );
  });

  it('ends rejected when rejected: no device runs anything', async () => {
    const input = await approvalInput(24 * 3600_000);
    await withRun(
      input,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        await waitingForApproval(handle);
        state.approvalDecision = 'rejected';
        await handle.signal(approvalDecidedSignal, { decision: 'rejected', by: 'approver' });
        expect((await handle.result()).status).toBe('rejected');
        expect(state.batches).toHaveLength(0);
        expect([...state.outcomes.values()]).toEqual(['cancelled', 'cancelled', 'cancelled']);
      },
    );
  });

  // Short expiries: earlier tests of this file leave the test server's time locked (activities that hang until they
  // time out), so a long timer is not skipped here; the expiry is the same durable timer whatever its length.
  it('expires when nobody decides in time (a durable timer), and runs nothing', async () => {
    const input = await approvalInput(1500);
    await withRun(
      input,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        expect((await handle.result()).status).toBe('expired');
        expect(state.approvalCalls).toEqual([{ jobRunId: input.jobRunId, expired: true }]);
        expect(state.batches).toHaveLength(0);
      },
    );
  });

  it('finds a decision whose signal was lost when its timer fires', async () => {
    const input = await approvalInput(1500);
    await withRun(
      input,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        state.approvalDecision = 'approved';
        expect((await handle.result()).status).toBe('succeeded');
        expect(state.approvalCalls).toEqual([{ jobRunId: input.jobRunId, expired: true }]);
        expect(state.batches).toHaveLength(1);
      },
    );
  });

  it('can be cancelled while it waits', async () => {
    const input = await approvalInput(24 * 3600_000);
    await withRun(
      input,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        await waitingForApproval(handle);
        await handle.cancel();
        await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        expect(state.finalizeCalls).toEqual([expect.objectContaining({ jobRunId: input.jobRunId, cancelled: true })]);
        expect(state.batches).toHaveLength(0);
      },
    );
  });
});

describe("scheduledJobRun (what a job's Temporal Schedule starts)", () => {
  it("records the firing's run and runs it as the child job-run/<id>; without a run it ends saying why", async () => {
    const deviceIds = deviceIdList(2);
    const jobRunId = randomUUID();
    const now = await env.currentTimeMs();
    const recorded: string[] = [];
    const { activities, state } = createStubActivities(deviceIds, () => ({ kind: 'succeed' }), {
      scheduled: (scheduleId, workflowId) => {
        recorded.push(`${scheduleId} ${workflowId}`);
        return scheduleId === 'empty'
          ? { note: 'Not started: The target selection matches no devices.' }
          : {
              note: null,
              run: {
                jobRunId,
                deviceIds,
                deadlineAt: new Date(now + 10 * 60_000).toISOString(),
                job: { giveUpAt: new Date(now + 3600_000).toISOString() },
              },
            };
      },
    });
    const taskQueue = `test-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await workflowBundle(), activities });
    await worker.runUntil(async () => {
      const fired = await env.client.workflow.execute(scheduledJobRun, {
        taskQueue,
        workflowId: 'job-schedule/s1-2026-12-02T03:00:00Z',
        args: [{ scheduleId: 's1' }],
      });
      expect(fired).toMatchObject({ jobRunId, result: { status: 'succeeded' } });
      expect(recorded).toEqual(['s1 job-schedule/s1-2026-12-02T03:00:00Z']);
      const child = await env.client.workflow.getHandle(`job-run/${jobRunId}`).describe();
      expect(child.parentExecution?.workflowId).toBe('job-schedule/s1-2026-12-02T03:00:00Z');
      expect(state.batches).toHaveLength(1);
      const skipped = await env.client.workflow.execute(scheduledJobRun, {
        taskQueue,
        workflowId: `job-schedule/empty-${randomUUID()}`,
        args: [{ scheduleId: 'empty' }],
      });
      expect(skipped).toEqual({ notStarted: 'Not started: The target selection matches no devices.' });
    });
  });
});
