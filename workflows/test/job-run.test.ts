/**
 * `jobRun` against the time-skipping test server, with stubbed activities (test/support/stub-activities.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { jobRun, progressQuery, refreshDynamicGroups, sweepDevicePresence, type JobRunInput } from '../src/index.ts';
import { batchWorkflowId, DISPATCH_GRACE_MS } from '../src/job-run.ts';
import { OpsDeviceIds, OpsJobRunId, deviceIdsForSearch } from '../src/search-attributes.ts';
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
  opts: { shortDispatchTimeout?: boolean; deadlineInMs?: number } = {},
): Promise<T> {
  const { activities, state } = createStubActivities(input.deviceIds, behaviour);
  const taskQueue = `test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(opts),
    activities,
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
  it('succeeds when every device succeeds', async () => {
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
        const progress = await handle.query(progressQuery);
        expect(progress).toEqual({ total: 5, finished: 5, counts: { succeeded: 5 } });
        // schedule-to-close = time left until the deadline + command timeout + grace
        const expected = 10 * 60_000 + PAYLOAD.timeoutSeconds * 1000 + DISPATCH_GRACE_MS;
        for (const timeout of state.dispatchTimeouts.values()) {
          expect(timeout).toBeLessThanOrEqual(expected);
          expect(timeout).toBeGreaterThan(expected - 30_000);
        }
      },
    );
  });

  it('records devices that never answer as offline or timed out when their dispatch times out', async () => {
    const ids = deviceIdList(4);
    const [ok, offline, silent, broken] = ids as [string, string, string, string];
    const behaviours: Record<string, DeviceBehaviour> = {
      [ok]: { kind: 'succeed' },
      [offline]: { kind: 'offline' },
      [silent]: { kind: 'silent-after-delivery' },
      [broken]: { kind: 'dispatch-error', message: 'agent protocol too old' },
    };
    const input = await makeInput(ids);
    await withRun(
      input,
      (id) => behaviours[id]!,
      async (handle, state) => {
        const result = await handle.result();
        expect(result.status).toBe('failed');
        expect(Object.fromEntries(state.outcomes)).toEqual({
          [ok]: 'succeeded',
          [offline]: 'offline',
          [silent]: 'timed_out',
          [broken]: 'failed',
        });
        expect(state.recordCalls).toHaveLength(3);
        expect(state.recordCalls).toEqual(
          expect.arrayContaining([
            { jobRunId: input.jobRunId, deviceId: offline, outcome: 'timed_out' },
            { jobRunId: input.jobRunId, deviceId: silent, outcome: 'timed_out' },
            { jobRunId: input.jobRunId, deviceId: broken, outcome: 'failed', message: 'Dispatch failed: agent protocol too old' },
          ]),
        );
        expect(result.counts).toMatchObject({ succeeded: 1, offline: 1, timed_out: 1, failed: 1, pending: 0 });
        expect(state.finalizeCalls).toEqual([{ jobRunId: input.jobRunId, cancelled: false }]);
        expectOneOutcomeEach(state, ids);
      },
      { shortDispatchTimeout: true },
    );
  });

  it('records a device that never picked its command up as offline at the deadline, and lets a device that did finish', async () => {
    const ids = deviceIdList(2);
    const [offline, slow] = ids as [string, string];
    // No shortened dispatch timeout here: the deadline timer alone must settle the offline device.
    const input = await makeInput(ids);
    await withRun(
      input,
      (id) => (id === offline ? { kind: 'offline' } : { kind: 'succeed', delayMs: 3000 }),
      async (handle, state) => {
        const result = await handle.result();
        expect(Object.fromEntries(state.outcomes)).toEqual({ [offline]: 'offline', [slow]: 'succeeded' });
        expect(state.withdrawCalls.sort()).toEqual([...ids].sort());
        expect(state.recordCalls).toEqual([{ jobRunId: input.jobRunId, deviceId: offline, outcome: 'timed_out' }]);
        expect(result.status).toBe('failed');
        expectOneOutcomeEach(state, ids);
      },
      { deadlineInMs: 1500 },
    );
  });

  it('keeps the history of a full inline run where every device times out well below 10,240 events', async () => {
    const ids = deviceIdList(500);
    const input = await makeInput(ids);
    await withRun(
      input,
      () => ({ kind: 'offline' }),
      async (handle, state) => {
        const result = await handle.result();
        expect(result.counts.offline).toBe(500);
        expect(state.recordCalls).toHaveLength(500);
        const events = (await handle.fetchHistory()).events?.length ?? 0;
        expect(events).toBeLessThan(10_240 / 2);
      },
      { shortDispatchTimeout: true },
    );
  });

  it('does not dispatch devices whose turn comes after the deadline', async () => {
    const ids = deviceIdList(3);
    // One slot; the first device (offline) holds it until the deadline timer withdraws its command. The
    // deadline counts from the workflow's start (withRun); the dispatch timeout is the real, long one.
    const input = await makeInput(ids, { maxConcurrency: 1 });
    await withRun(
      input,
      (id) => (id === ids[0] ? { kind: 'offline' } : { kind: 'succeed' }),
      async (handle, state) => {
        const result = await handle.result();
        expect(state.dispatched).toEqual([ids[0]]);
        expect(Object.fromEntries(state.outcomes)).toEqual({ [ids[0]!]: 'offline', [ids[1]!]: 'timed_out', [ids[2]!]: 'timed_out' });
        expect(state.recordCalls.slice(1)).toEqual(
          ids.slice(1).map((deviceId) => ({
            jobRunId: input.jobRunId,
            deviceId,
            outcome: 'timed_out',
            message: 'The deadline passed before the command could be dispatched.',
          })),
        );
        expect(result.status).toBe('failed');
      },
      { deadlineInMs: 3000 },
    );
  });

  it('on cancellation records cancelled for unfinished devices, finalizes as cancelled and ends Cancelled', async () => {
    const ids = deviceIdList(8);
    const input = await makeInput(ids, { maxConcurrency: 4 });
    // Two devices answer, the rest never do: the window fills with 4 silent ones and 2 devices are never dispatched.
    await withRun(
      input,
      (id) => (id === ids[0] || id === ids[1] ? { kind: 'succeed' } : { kind: 'silent-after-delivery' }),
      async (handle, state) => {
        await waitUntil('six dispatches', () => state.dispatched.length === 6);
        await handle.cancel();
        const err = await handle.result().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WorkflowFailedError);
        expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
        expect((await handle.describe()).status.name).toBe('CANCELLED');

        expect(state.outcomes.get(ids[0]!)).toBe('succeeded');
        expect(state.outcomes.get(ids[1]!)).toBe('succeeded');
        for (const id of ids.slice(2)) expect(state.outcomes.get(id)).toBe('cancelled');
        // Every device without an outcome got its own 'cancelled' record, including the two never dispatched.
        expect(state.recordCalls.map((c) => `${c.deviceId}:${c.outcome}`).sort()).toEqual(ids.slice(2).map((id) => `${id}:cancelled`));
        expect(state.dispatched).toHaveLength(6);
        expect(state.finalizeCalls).toEqual([{ jobRunId: input.jobRunId, cancelled: true }]);
        expect(state.jobStatus).toBe('cancelled');
        expectOneOutcomeEach(state, ids);
      },
    );
  });

  it('keeps at most maxConcurrency dispatches in flight, as a sliding window', async () => {
    const ids = deviceIdList(20);
    const input = await makeInput(ids, { maxConcurrency: 4 });
    // The first device is slow: with fixed batches of 4 the other devices would wait for it.
    await withRun(
      input,
      (id) => ({ kind: 'succeed', delayMs: id === ids[0] ? 3000 : 100 }),
      async (handle, state) => {
        const result = await handle.result();
        expect(result.status).toBe('succeeded');
        expect(state.maxInFlight).toBe(4);
        // The slow device finished last: the 19 others flowed through the remaining 3 slots meanwhile.
        expect(state.completed.at(-1)).toBe(ids[0]);
        expect(state.dispatched).toHaveLength(20);
        expectOneOutcomeEach(state, ids);
      },
    );
  });

  it('fans out more than 500 devices to child workflows and records one outcome per device', async () => {
    const ids = deviceIdList(1101);
    const input = await makeInput(ids);
    const failing = new Set(ids.filter((_, i) => i % 100 === 7));
    await withRun(
      input,
      (id) => (failing.has(id) ? { kind: 'exit-nonzero' } : { kind: 'succeed' }),
      async (handle, state) => {
        const result = await handle.result();
        expect(result.status).toBe('failed');
        expect(result.counts).toMatchObject({ succeeded: 1101 - failing.size, failed: failing.size, pending: 0 });
        expect(state.dispatched).toHaveLength(1101);
        expectOneOutcomeEach(state, ids);
        expect(state.finalizeCalls).toEqual([{ jobRunId: input.jobRunId, cancelled: false }]);

        // Three children of ≤ 500 devices, with their own search attributes.
        for (const [batch, size] of [
          [1, 500],
          [2, 500],
          [3, 101],
        ] as const) {
          const child = env.client.workflow.getHandle(batchWorkflowId(input.jobRunId, batch));
          const description = await child.describe();
          expect(description.type).toBe('jobRunBatch');
          expect(description.status.name).toBe('COMPLETED');
          expect(description.typedSearchAttributes.get(OpsJobRunId)).toBe(input.jobRunId);
          expect(description.typedSearchAttributes.get(OpsDeviceIds)?.length).toBeGreaterThan(0);
          expect(await child.result()).toMatchObject({ total: size });
          const childEvents = (await child.fetchHistory()).events?.length ?? 0;
          expect(childEvents).toBeLessThan(10_240);
        }
        await expect(env.client.workflow.getHandle(batchWorkflowId(input.jobRunId, 4)).describe()).rejects.toThrow();
        const parentEvents = (await handle.fetchHistory()).events?.length ?? 0;
        expect(parentEvents).toBeLessThan(100);
      },
    );
  });

  it('cancels a batched run: children record their devices, finalize closes batches that never started', async () => {
    const ids = deviceIdList(1001);
    // maxConcurrency 500 → one child at a time, so batches 2 and 3 have not started when we cancel.
    const input = await makeInput(ids, { maxConcurrency: 500 });
    await withRun(
      input,
      () => ({ kind: 'offline' }),
      async (handle, state) => {
        await waitUntil('first batch dispatched', () => state.dispatched.length === 500);
        await handle.cancel();
        await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        expect(state.dispatched).toHaveLength(500);
        expect(state.recordCalls).toHaveLength(500);
        expect(state.recordCalls.every((c) => c.outcome === 'cancelled')).toBe(true);
        expect(state.finalizeCalls).toEqual([{ jobRunId: input.jobRunId, cancelled: true }]);
        expect([...state.outcomes.values()].every((s) => s === 'cancelled')).toBe(true);
        expectOneOutcomeEach(state, ids);
        const child = await env.client.workflow.getHandle(batchWorkflowId(input.jobRunId, 1)).describe();
        expect(child.status.name).toBe('CANCELLED');
      },
    );
  });

  it("hands each dispatch the command by reference; an older run's inline shell payload is passed on as it was", async () => {
    const ids = deviceIdList(2);
    const input = await makeInput(ids);
    await withRun(
      input,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        await handle.result();
        expect(state.dispatchInputs.map((d) => d.command)).toEqual([COMMAND, COMMAND]);
        expect(state.dispatchInputs.every((d) => d.payload === undefined)).toBe(true);
      },
    );
    const older: JobRunInput = { ...(await makeInput(ids)), command: undefined, payload: { ...PAYLOAD } };
    await withRun(
      older,
      () => ({ kind: 'succeed' }),
      async (handle, state) => {
        expect((await handle.result()).status).toBe('succeeded');
        expect(state.dispatchInputs.map((d) => [d.command, d.payload])).toEqual([
          [undefined, PAYLOAD],
          [undefined, PAYLOAD],
        ]);
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
        expect(state.dispatched).toEqual([]);
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
