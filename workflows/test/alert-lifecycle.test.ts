/**
 * `alertLifecycle` against the time-skipping test server, with an in-memory alert (test/support/stub-alert-
 * activities.ts). Time is the server's (`env.currentTimeMs()`): escalation delays and retry backoffs are skipped, and
 * the assertions check when deliveries happened in that time.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { AlertPlan, AlertTimelineEntry, DeliverNotificationInput, EscalationLevel } from '@opsconductor/activities';
import {
  acknowledgeUpdate,
  alertLifecycle,
  alertStatusQuery,
  conditionClearedSignal,
  evaluateAlerts,
  resolveUpdate,
  type AcknowledgeRequest,
  type ResolveRequest,
} from '../src/index.ts';
import { OpsAlertRuleId, alertWorkflowId } from '../src/search-attributes.ts';
import { createStubAlert, type ChannelBehaviour, type StubAlert } from './support/stub-alert-activities.ts';
import { createTimeSkippingEnv, workflowBundle } from './support/temporal.ts';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  await workflowBundle();
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

const SECOND = 1000;
const MINUTE = 60_000;
const DAY = 24 * 3600_000;
const ALICE = 'alice@example.com';
/** Three levels: 5 min, then 15 min, then the last (its delay is ignored). */
const THREE_LEVELS: EscalationLevel[] = [
  { channelIds: ['slack-ops'], delaySeconds: 300 },
  { channelIds: ['mail-oncall'], delaySeconds: 900 },
  { channelIds: ['webhook-pager'], delaySeconds: 600 },
];

interface Alert {
  handle: WorkflowHandle<typeof alertLifecycle>;
  stub: StubAlert;
  /** Server time when the workflow was started. */
  t0: number;
  ruleId: string;
}

/** Runs an alert on its own task queue and worker; whatever still runs afterwards is terminated. */
async function withAlert(
  plan: Partial<AlertPlan>,
  drive: (a: Alert) => Promise<void>,
  behaviour?: (channelId: string, kind: 'opened' | 'escalated' | 'resolved') => ChannelBehaviour,
): Promise<void> {
  const alertId = randomUUID();
  const ruleId = randomUUID();
  const t0 = await env.currentTimeMs();
  const stub = createStubAlert(
    { alertId, ruleId, severity: 'critical', state: 'open', levels: THREE_LEVELS, ...plan },
    () => env.currentTimeMs(),
    behaviour,
  );
  const taskQueue = `alert-${alertId}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: stub.activities,
  });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(alertLifecycle, {
      taskQueue,
      workflowId: alertWorkflowId(ruleId, `device-${alertId}`),
      args: [{ alertId }],
      typedSearchAttributes: [{ key: OpsAlertRuleId, value: ruleId }],
    });
    try {
      await drive({ handle, stub, t0, ruleId });
    } finally {
      await handle.terminate('test over').catch(() => undefined);
    }
  });
}

/** Lets server time pass in steps until `predicate` holds (the server skips time only while a client waits). */
async function advanceUntil(what: string, predicate: () => boolean, stepMs = 30 * SECOND, realTimeoutMs = 15_000) {
  const until = Date.now() + realTimeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await env.sleep(stepMs);
  }
}

/** Waits in real time (no time skipped) until `predicate` holds: for what follows at once from an action. */
async function until(what: string, predicate: () => boolean, realTimeoutMs = 10_000) {
  const deadline = Date.now() + realTimeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function status(handle: WorkflowHandle<typeof alertLifecycle>) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await handle.query(alertStatusQuery);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function refusal(
  handle: WorkflowHandle<typeof alertLifecycle>,
  update: typeof acknowledgeUpdate | typeof resolveUpdate,
  req: unknown,
) {
  const err = await handle
    .executeUpdate(update as typeof acknowledgeUpdate, { args: [req as AcknowledgeRequest & ResolveRequest] })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return ((err as WorkflowUpdateFailedError).cause as Error).message;
}

const types = (stub: StubAlert) => stub.state.timeline.map((e) => e.type);
const deliveries = (stub: StubAlert, kind?: string) =>
  stub
    .delivered()
    .filter((d) => kind === undefined || d.kind === kind)
    .map((d) => `${d.kind}:${d.channelId}:${d.level}`);

async function historyEvents(handle: WorkflowHandle<typeof alertLifecycle>) {
  return (await handle.fetchHistory()).events ?? [];
}

describe('alertWorkflowId', () => {
  it('is alert/<ruleId>/<subjectKey>, with each part encoded so that a slash cannot make two pairs collide', () => {
    expect(alertWorkflowId('r1', 'd1')).toBe('alert/r1/d1');
    expect(alertWorkflowId('a/b', 'c')).not.toBe(alertWorkflowId('a', 'b/c'));
    expect(() => alertWorkflowId('', 'd1')).toThrow(TypeError);
  });
});

describe('alertLifecycle', () => {
  it('escalates through 3 levels at 0, 5 and 20 minutes when nobody acknowledges, then waits without timers until resolved', async () => {
    await withAlert({}, async ({ handle, stub, t0, ruleId }) => {
      await until('level 0 notified', () => stub.delivered().length === 1);
      expect(await status(handle)).toEqual({ state: 'open', level: 0, notifiedChannelIds: ['slack-ops'], acknowledgedBy: null });
      const described = await handle.describe();
      expect(described.typedSearchAttributes.get(OpsAlertRuleId)).toBe(ruleId);

      // A second start with the same workflow ID (the evaluator firing again) finds the open alert.
      const again = await env.client.workflow.start(alertLifecycle, {
        taskQueue: described.taskQueue,
        workflowId: handle.workflowId,
        args: [{ alertId: stub.state.plan.alertId }],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      expect(again.firstExecutionRunId).toBe(described.runId);

      await advanceUntil('level 2 notified', () => stub.delivered().length === 3);
      expect(deliveries(stub)).toEqual(['opened:slack-ops:0', 'escalated:mail-oncall:1', 'escalated:webhook-pager:2']);
      const at = stub.delivered().map((d) => d.at - t0);
      expect(at[0]).toBeLessThan(5 * SECOND);
      expect(at[1]).toBeGreaterThanOrEqual(5 * MINUTE);
      expect(at[1]).toBeLessThan(5 * MINUTE + 5 * SECOND);
      expect(at[2]).toBeGreaterThanOrEqual(20 * MINUTE);
      expect(at[2]).toBeLessThan(20 * MINUTE + 5 * SECOND);
      expect(await status(handle)).toEqual({
        state: 'open',
        level: 2,
        notifiedChannelIds: ['slack-ops', 'mail-oncall', 'webhook-pager'],
        acknowledgedBy: null,
      });

      // Past the last level: a fortnight later nothing more went out, and the history did not grow.
      const before = (await historyEvents(handle)).length;
      await env.sleep(14 * DAY);
      expect(stub.state.attempts).toHaveLength(3);
      const events = await historyEvents(handle);
      expect(events.length).toBe(before);
      expect(events.filter((e) => e.timerStartedEventAttributes)).toHaveLength(2);

      expect(await handle.executeUpdate(resolveUpdate, { args: [{ by: ALICE, reason: 'disk cleaned up' }] })).toMatchObject({
        state: 'resolved',
      });
      expect(await handle.result()).toEqual({ state: 'resolved' });
      expect(types(stub)).toEqual(['notified', 'escalated', 'notified', 'escalated', 'notified', 'resolved', 'closed']);
      expect(stub.state.timeline[1]).toMatchObject({
        message: 'Escalated to level 2: not acknowledged within 5 min.',
        details: { level: 1 },
      });
      expect(stub.state.timeline[3]).toMatchObject({
        message: 'Escalated to level 3: not acknowledged within 15 min.',
        details: { level: 2 },
      });
      expect(stub.state.timeline[0]!.details).toMatchObject({
        level: 0,
        kind: 'opened',
        outcomes: [{ channelId: 'slack-ops', status: 'delivered', responseCode: 200 }],
      });
      expect(deliveries(stub, 'resolved').sort()).toEqual(['resolved:mail-oncall:1', 'resolved:slack-ops:0', 'resolved:webhook-pager:2']);
    });
  }, 30_000);

  it('an acknowledgement during level 1 stops escalating: level 2 is never notified, and it waits for the resolution', async () => {
    await withAlert({}, async ({ handle, stub, t0 }) => {
      await advanceUntil('level 1 notified', () => stub.delivered().length === 2);
      await env.sleep(MINUTE);
      const acked = await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: ALICE, comment: 'on it' }] });
      expect(acked).toEqual({ state: 'acknowledged', level: 1, notifiedChannelIds: ['slack-ops', 'mail-oncall'], acknowledgedBy: ALICE });
      expect(stub.state.state).toBe('acknowledged');
      expect(stub.state.timeline.at(-1)).toMatchObject({
        type: 'acknowledged',
        actor: ALICE,
        message: 'Acknowledged by alice@example.com: on it',
        details: { comment: 'on it' },
      });
      expect(stub.state.timeline.at(-1)!.at - t0).toBeGreaterThan(6 * MINUTE);

      expect(await refusal(handle, acknowledgeUpdate, { by: 'bob@example.com' })).toBe(
        'The alert is already acknowledged by alice@example.com.',
      );
      await env.sleep(30 * DAY);
      expect(deliveries(stub)).toEqual(['opened:slack-ops:0', 'escalated:mail-oncall:1']);
      expect(await status(handle)).toMatchObject({ state: 'acknowledged', level: 1, acknowledgedBy: ALICE });

      await handle.executeUpdate(resolveUpdate, { args: [{ by: 'bob@example.com', reason: 'fixed' }] });
      expect(await handle.result()).toEqual({ state: 'resolved' });
      expect(types(stub)).toEqual(['notified', 'escalated', 'notified', 'acknowledged', 'resolved', 'closed']);
      expect(deliveries(stub, 'resolved').sort()).toEqual(['resolved:mail-oncall:1', 'resolved:slack-ops:0']);
      expect(deliveries(stub).filter((d) => d.includes('webhook-pager'))).toEqual([]);
    });
  }, 30_000);

  it('a manual resolve tells every channel notified so far once, refuses a second resolve and ignores conditionCleared while closing, and ends', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const levels = [
      { channelIds: ['slack-ops', 'mail-oncall', 'slack-ops'], delaySeconds: 300 },
      { channelIds: ['mail-oncall', 'webhook-pager'], delaySeconds: 300 },
      { channelIds: ['sms-boss'], delaySeconds: 0 },
    ];
    await withAlert(
      { levels },
      async ({ handle, stub }) => {
        await advanceUntil('level 1 notified', () => stub.delivered().length === 4);
        const resolved = await handle.executeUpdate(resolveUpdate, { args: [{ by: ALICE, reason: 'false alarm' }] });
        expect(resolved).toMatchObject({ state: 'resolved', level: 1, notifiedChannelIds: ['slack-ops', 'mail-oncall', 'webhook-pager'] });
        expect(stub.state.state).toBe('resolved');

        // The resolved notifications are under way (held): the workflow still runs and refuses what comes too late.
        expect(await refusal(handle, resolveUpdate, { by: 'bob@example.com', reason: 'me too' })).toBe(
          'The alert is already resolved by alice@example.com.',
        );
        expect(await refusal(handle, acknowledgeUpdate, { by: 'bob@example.com' })).toBe('The alert is already resolved.');
        await handle.signal(conditionClearedSignal, { reason: 'disk below 80%' });
        release();
        expect(await handle.result()).toEqual({ state: 'resolved' });

        expect(types(stub)).toEqual(['notified', 'escalated', 'notified', 'resolved', 'closed']);
        expect(stub.state.timeline[3]).toMatchObject({
          actor: ALICE,
          message: 'Resolved by alice@example.com: false alarm',
          details: { by: ALICE, reason: 'false alarm', automatic: false },
        });
        expect(stub.state.timeline[4]).toMatchObject({ message: 'Closed: 3 channels told of the resolution (3 delivered).' });
        expect(deliveries(stub, 'resolved').sort()).toEqual(['resolved:mail-oncall:1', 'resolved:slack-ops:0', 'resolved:webhook-pager:1']);
        expect(deliveries(stub).filter((d) => d.includes('sms-boss'))).toEqual([]);
        const events = await historyEvents(handle);
        expect(events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toHaveLength(1);
        // After it closed, Temporal itself refuses.
        await expect(handle.signal(conditionClearedSignal, { reason: 'again' })).rejects.toThrow();
      },
      (_, kind) => (kind === 'resolved' ? { kind: 'held', release: held } : { kind: 'deliver' }),
    );
  }, 30_000);

  it('resolves automatically on conditionCleared; a second signal is ignored', async () => {
    await withAlert({}, async ({ handle, stub }) => {
      await until('level 0 notified', () => stub.delivered().length === 1);
      await handle.signal(conditionClearedSignal, { reason: 'the device is back online' });
      await handle.signal(conditionClearedSignal, { reason: 'again' });
      expect(await handle.result()).toEqual({ state: 'resolved' });
      expect(types(stub)).toEqual(['notified', 'resolved', 'closed']);
      expect(stub.state.timeline[1]).toMatchObject({
        actor: null,
        message: 'Resolved automatically: the device is back online',
        details: { by: null, reason: 'the device is back online', automatic: true },
      });
      expect(deliveries(stub)).toEqual(['opened:slack-ops:0', 'resolved:slack-ops:0']);
    });
  }, 30_000);

  it('refuses invalid updates with their reasons, and they stay out of the history', async () => {
    await withAlert({}, async ({ handle, stub }) => {
      await until('level 0 notified', () => stub.delivered().length === 1);
      expect(await refusal(handle, acknowledgeUpdate, { by: '' })).toBe('Say who asks (by).');
      expect(await refusal(handle, acknowledgeUpdate, { by: 42 })).toBe('Say who asks (by).');
      expect(await refusal(handle, acknowledgeUpdate, { by: 'x'.repeat(321) })).toBe('"by" is longer than 320 characters.');
      expect(await refusal(handle, acknowledgeUpdate, { by: ALICE, comment: 'refused-comment'.repeat(200) })).toBe(
        '"comment" is longer than 2000 characters.',
      );
      expect(await refusal(handle, resolveUpdate, { by: ALICE })).toBe('"reason" must be a string.');
      expect(await refusal(handle, resolveUpdate, { reason: 'refused-reason' })).toBe('Say who asks (by).');
      expect(await refusal(handle, resolveUpdate, null)).toBe('Send a request object.');

      await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: ALICE }] });
      const events = await historyEvents(handle);
      expect(events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toHaveLength(1);
      expect(events.filter((e) => e.workflowExecutionUpdateRejectedEventAttributes)).toHaveLength(0);
      const text = JSON.stringify(events);
      expect(text).not.toContain('refused-comment');
      expect(text).not.toContain('refused-reason');
      expect(types(stub)).toEqual(['notified', 'acknowledged']);
      expect(stub.state.timeline[1]).toMatchObject({ message: 'Acknowledged by alice@example.com', actor: ALICE });
      expect(stub.state.timeline[1]!.details).toBeUndefined();
    });
  }, 30_000);

  it('a channel that fails for good, or keeps failing, is recorded and delays neither the other channel nor the escalation', async () => {
    const levels = [
      { channelIds: ['slack-ops', 'webhook-gone', 'webhook-down'], delaySeconds: 60 },
      { channelIds: ['mail-oncall'], delaySeconds: 0 },
    ];
    await withAlert(
      { levels },
      async ({ handle, stub, t0 }) => {
        await advanceUntil('every delivery settled', () => types(stub).filter((t) => t === 'notified').length === 2, 10 * SECOND);
        const gone = stub.state.attempts.filter((a) => a.channelId === 'webhook-gone');
        expect(gone.map((a) => a.attempt)).toEqual([1]);
        const down = stub.state.attempts.filter((a) => a.channelId === 'webhook-down');
        expect(down.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
        const slack = stub.delivered().find((d) => d.channelId === 'slack-ops')!;
        expect(slack.at - t0).toBeLessThan(5 * SECOND);
        // Level 1 went out at 1 min, while webhook-down was still being retried (its last attempt after 155 s of backoff).
        const mail = stub.delivered().find((d) => d.channelId === 'mail-oncall')!;
        expect(mail.at - t0).toBeGreaterThanOrEqual(MINUTE);
        expect(mail.at - t0).toBeLessThan(MINUTE + 5 * SECOND);
        expect(down.at(-1)!.at - t0).toBeGreaterThanOrEqual(155 * SECOND);

        expect(types(stub)).toEqual(['escalated', 'notified', 'notified']);
        const level0 = stub.state.timeline.find((e) => e.type === 'notified' && (e.details as { level: number }).level === 0)!;
        expect(level0.message).toBe('Notified level 1: 3 channels (1 delivered, 2 failed).');
        expect(level0.details!.outcomes).toEqual([
          { channelId: 'slack-ops', status: 'delivered', responseCode: 200, detail: null },
          { channelId: 'webhook-gone', status: 'failed', responseCode: 410, detail: 'webhook-gone: 410 Gone' },
          { channelId: 'webhook-down', status: 'failed', responseCode: null, detail: 'webhook-down: 503 Service Unavailable' },
        ]);
        await handle.executeUpdate(resolveUpdate, { args: [{ by: ALICE, reason: 'done' }] });
        expect(await handle.result()).toEqual({ state: 'resolved' });
        expect(stub.state.timeline.at(-1)).toMatchObject({
          type: 'closed',
          message: 'Closed: 4 channels told of the resolution (2 delivered, 2 failed).',
        });
      },
      (channelId) =>
        channelId === 'webhook-gone'
          ? { kind: 'non-retryable' }
          : channelId === 'webhook-down'
            ? { kind: 'retryable', times: 99 }
            : { kind: 'deliver' },
    );
  }, 30_000);

  it('retries a retryable failure with backoff (5 s, then 10 s) and then delivers', async () => {
    await withAlert(
      { levels: [{ channelIds: ['slack-ops'], delaySeconds: 300 }] },
      async ({ handle, stub }) => {
        await advanceUntil('delivered', () => stub.delivered().length === 1, 2 * SECOND);
        const attempts = stub.state.attempts;
        expect(attempts.map((a) => `${a.attempt}:${a.outcome}`)).toEqual(['1:failed', '2:failed', '3:delivered']);
        expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(5 * SECOND);
        expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(10 * SECOND);
        await until('notified recorded', () => types(stub).includes('notified'));
        expect(stub.state.timeline[0]!.details!.outcomes).toEqual([
          { channelId: 'slack-ops', status: 'delivered', responseCode: 200, detail: null },
        ]);
        await handle.signal(conditionClearedSignal, { reason: 'cleared' });
        expect(await handle.result()).toEqual({ state: 'resolved' });
      },
      (_, kind) => (kind === 'opened' ? { kind: 'retryable', times: 2 } : { kind: 'deliver' }),
    );
  }, 30_000);

  it('an alert whose plan has no levels records that nobody is notified and still resolves', async () => {
    await withAlert({ levels: [] }, async ({ handle, stub }) => {
      await until('recorded', () => stub.state.timeline.length === 1);
      expect(stub.state.timeline[0]).toMatchObject({
        type: 'notified',
        message: 'Nobody to notify: the rule has no channels and no escalation policy.',
      });
      expect(await status(handle)).toEqual({ state: 'open', level: null, notifiedChannelIds: [], acknowledgedBy: null });
      await handle.executeUpdate(resolveUpdate, { args: [{ by: ALICE, reason: '' }] });
      expect(await handle.result()).toEqual({ state: 'resolved' });
      expect(types(stub)).toEqual(['notified', 'resolved', 'closed']);
      expect(stub.state.timeline[1]!.message).toBe('Resolved by alice@example.com');
      expect(stub.state.timeline[2]!.message).toBe('Closed.');
      expect(stub.state.attempts).toEqual([]);
    });
  }, 30_000);

  it('a plan already resolved ends at once, notifying and recording nothing', async () => {
    await withAlert({ state: 'resolved' }, async ({ handle, stub }) => {
      expect(await handle.result()).toEqual({ state: 'resolved' });
      expect(stub.state.planLoads).toBe(1);
      expect(stub.state.attempts).toEqual([]);
      expect(stub.state.timeline).toEqual([]);
    });
  }, 30_000);
});

describe('evaluateAlerts', () => {
  it('starts a lifecycle per opened alert, takes back one whose workflow ID still runs, and tells the cleared ones', async () => {
    const ruleId = randomUUID();
    const closing = randomUUID();
    const fresh = randomUUID();
    // The new alert's plan says resolved: its workflow loads it and ends, so no clock the server skips can time it out.
    const stubs = [closing, fresh].map((alertId) =>
      createStubAlert({ alertId, ruleId, severity: 'warning', state: alertId === fresh ? 'resolved' : 'open', levels: [] }, () =>
        env.currentTimeMs(),
      ),
    );
    const of = (alertId: string) => stubs.find((x) => x.state.plan.alertId === alertId)!.activities;
    const runningId = alertWorkflowId(ruleId, 'device-1');
    const newId = alertWorkflowId(ruleId, 'device-2');
    const withdrawn: string[] = [];
    const taskQueue = `evaluate-${ruleId}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: {
        loadAlertPlan: (input: { alertId: string }) => of(input.alertId).loadAlertPlan(input),
        deliverNotification: (input: DeliverNotificationInput) => of(input.alertId).deliverNotification(input),
        recordAlertEvent: (entry: AlertTimelineEntry) => of(entry.alertId).recordAlertEvent(entry),
        async evaluateAlertRules() {
          return {
            rules: 1,
            opened: [
              { alertId: 'opened-again', ruleId, workflowId: runningId },
              { alertId: fresh, ruleId, workflowId: newId },
            ],
            cleared: [runningId],
          };
        },
        async withdrawAlert({ alertId }: { alertId: string }) {
          withdrawn.push(alertId);
        },
      },
    });
    await worker.runUntil(async () => {
      const running = await env.client.workflow.start(alertLifecycle, { taskQueue, workflowId: runningId, args: [{ alertId: closing }] });
      const result = await env.client.workflow.execute(evaluateAlerts, { taskQueue, workflowId: `alert-evaluation-${ruleId}` });
      expect(result).toEqual({ rules: 1, opened: 1, withdrawn: 1, cleared: 1 });
      expect(withdrawn).toEqual(['opened-again']);
      // The cleared alert resolved by itself; the new one was started as a workflow of its own, with its rule's
      // search attribute.
      expect(await running.result()).toEqual({ state: 'resolved' });
      expect(stubs[0]!.state.timeline.map((e) => e.type)).toContain('resolved');
      const started = env.client.workflow.getHandle(newId);
      expect(await started.result()).toEqual({ state: 'resolved' });
      expect(stubs[1]!.state.planLoads).toBe(1);
      expect((await started.describe()).typedSearchAttributes.get(OpsAlertRuleId)).toBe(ruleId);
    });
  });
});
