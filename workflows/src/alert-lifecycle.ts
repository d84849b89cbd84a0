/**
 * `alertLifecycle` (ADR 25): one open alert — notify, wait for an acknowledgement, escalate by policy, resolve.
 *
 * **Workflow ID and deduplication.** The starter (the rule evaluator, through the API's services) names the workflow
 * `alert/<ruleId>/<subjectKey>` with `alertWorkflowId` (alert-workflow-id.ts; `subjectKey` is e.g. a device ID) and
 * starts it with `WorkflowIdConflictPolicy.USE_EXISTING` (or catches `WorkflowExecutionAlreadyStartedError`): while
 * an alert of that rule and subject is open, a second start finds the running workflow instead of opening a
 * duplicate. Once this workflow has closed, the next start opens a new alert.
 *
 * **Search attribute.** The starter sets `OpsAlertRuleId` (Keyword) in the start options, next to the workflow ID it
 * derives from the same rule; the workflow does not upsert it (no event, and it is there from the first moment).
 *
 * **Course.** The plan (`loadAlertPlan`) gives the escalation levels. A plan already resolved ends at once. Level 0's
 * channels get `opened`, each channel its own `deliverNotification` (in parallel); when all of a level's deliveries
 * have an outcome, `notified` is recorded with them. The workflow waits up to the level's `delaySeconds` for an
 * acknowledgement or a resolution; without one it records `escalated` and notifies the next level (`escalated`), and
 * so on to the last level. After the last level, or once acknowledged, it waits — one `condition()` without a timer
 * — for the resolution: `resolved` is recorded, every channel notified so far gets `resolved` once (after its
 * earlier notifications, in order per channel), and `closed` ends the timeline. Result `{ state: 'resolved' }`.
 *
 * **Failing channels.** A delivery is retried by Temporal (5 s, ×2, at most 5 min apart, 6 attempts of at most 60 s;
 * `NonRetryableDelivery` is not retried); the activity logs each attempt. A delivery that failed for good is a
 * `failed` outcome on the timeline: deliveries run beside the escalation timer, so a retrying or failing channel
 * delays neither the other channels nor the next level.
 *
 * **Control.** Updates with validators `acknowledge` and `resolve` (a request that makes no sense now is refused
 * with its reason before it reaches the history), the signal `conditionCleared` (the evaluator's automatic
 * resolution: idempotent, ignored once resolved), the query `alertStatus`.
 *
 * **History.** Bounded by the plan: about ten events per delivery and a few per state change; no periodic timer
 * (one timer per level), so an alert open for weeks adds nothing while it waits. No continue-as-new is needed.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { allHandlersFinished, condition, defineQuery, defineSignal, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';
import type {
  AlertActivities,
  AlertPlan,
  AlertState,
  AlertTimelineEntry,
  DeliveryOutcome,
  NotificationKind,
} from '@opsconductor/activities';

export interface AlertLifecycleInput {
  alertId: string;
}

export interface AlertLifecycleResult {
  state: 'resolved';
}

export interface AcknowledgeRequest {
  /** Who acknowledges (the user's e-mail, or an API key's name): shown on the timeline. */
  by: string;
  comment?: string;
}

export interface ResolveRequest {
  /** Who resolves (the user's e-mail, or an API key's name). */
  by: string;
  reason: string;
}

/** The evaluator saw the alert's condition clear. */
export interface ConditionCleared {
  reason: string;
}

/** How the alert was resolved: by a user, or automatically when its condition cleared (`by` null). */
export interface AlertResolution {
  by: string | null;
  reason: string;
  automatic: boolean;
}

export interface AlertStatus {
  state: AlertState;
  /** The escalation level reached (0-based); null before the first notification, or when nobody is notified. */
  level: number | null;
  /** The channels notified so far (each once, in the order first notified). */
  notifiedChannelIds: string[];
  acknowledgedBy: string | null;
}

/** Each answers the alert's status once the change is on the timeline. */
export const acknowledgeUpdate = defineUpdate<AlertStatus, [AcknowledgeRequest]>('acknowledge');
export const resolveUpdate = defineUpdate<AlertStatus, [ResolveRequest]>('resolve');
export const conditionClearedSignal = defineSignal<[ConditionCleared]>('conditionCleared');
export const alertStatusQuery = defineQuery<AlertStatus>('alertStatus');

/** Bounds on what users send (an e-mail address's maximum length; a comment or reason). */
export const MAX_ACTOR_LENGTH = 320;
export const MAX_TEXT_LENGTH = 2000;

/** The retry policy of `deliverNotification` (the activity logs every attempt). */
export const DELIVERY_RETRY = {
  initialInterval: '5 seconds',
  backoffCoefficient: 2,
  maximumInterval: '5 minutes',
  maximumAttempts: 6,
  nonRetryableErrorTypes: ['NonRetryableDelivery'],
} as const;

const bookkeeping = proxyActivities<AlertActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

const delivery = proxyActivities<AlertActivities>({
  startToCloseTimeout: '60 seconds',
  retry: { ...DELIVERY_RETRY, nonRetryableErrorTypes: [...DELIVERY_RETRY.nonRetryableErrorTypes] },
});

type Outcome = DeliveryOutcome & { channelId: string };

export async function alertLifecycle({ alertId }: AlertLifecycleInput): Promise<AlertLifecycleResult> {
  let state: AlertState = 'open';
  let level: number | null = null;
  let acknowledgedBy: string | null = null;
  /** Accepted, not yet on the timeline. */
  let pendingAck: AcknowledgeRequest | null = null;
  let resolution: AlertResolution | null = null;
  let resolutionRecorded = false;
  /** Why an update accepted before the plan loaded cannot be carried out (the plan says it is too late). */
  let ackRefused: string | null = null;
  let resolveRefused: string | null = null;
  /** Every channel notified so far: the level it was last notified at, and its last delivery (kept in order). */
  const channels = new Map<string, { level: number; last: Promise<unknown> }>();

  const status = (): AlertStatus => ({ state, level, notifiedChannelIds: [...channels.keys()], acknowledgedBy });

  // Registered before the plan loads, so that nothing sent early is refused for want of a handler.
  setHandler(alertStatusQuery, status);
  setHandler(
    acknowledgeUpdate,
    async (req) => {
      pendingAck = typeof req.comment === 'string' && req.comment ? { by: req.by, comment: req.comment } : { by: req.by };
      acknowledgedBy = req.by;
      state = 'acknowledged';
      await condition(() => pendingAck === null);
      if (ackRefused) throw ApplicationFailure.nonRetryable(ackRefused, 'AlertRefused');
      return status();
    },
    {
      validator: (req) => {
        checkActor(req);
        if (req.comment !== undefined) checkText(req.comment, 'comment');
        if (resolution || state === 'resolved') throw new Error('The alert is already resolved.');
        if (state === 'acknowledged') {
          throw new Error(
            acknowledgedBy ? `The alert is already acknowledged by ${acknowledgedBy}.` : 'The alert is already acknowledged.',
          );
        }
      },
    },
  );
  setHandler(
    resolveUpdate,
    async (req) => {
      resolution = { by: req.by, reason: req.reason, automatic: false };
      state = 'resolved';
      await condition(() => resolutionRecorded || resolveRefused !== null);
      if (resolveRefused) throw ApplicationFailure.nonRetryable(resolveRefused, 'AlertRefused');
      return status();
    },
    {
      validator: (req) => {
        checkActor(req);
        checkText(req.reason, 'reason');
        if (resolution || state === 'resolved') {
          throw new Error(resolution?.by ? `The alert is already resolved by ${resolution.by}.` : 'The alert is already resolved.');
        }
      },
    },
  );
  setHandler(conditionClearedSignal, (signal) => {
    if (resolution || state === 'resolved') return; // resolved already (by a user, or an earlier signal)
    const reason = typeof signal?.reason === 'string' && signal.reason ? signal.reason.slice(0, MAX_TEXT_LENGTH) : 'the condition cleared';
    resolution = { by: null, reason, automatic: true };
    state = 'resolved';
  });

  const plan: AlertPlan = await bookkeeping.loadAlertPlan({ alertId });
  if (plan.state === 'resolved') {
    // Resolved before this workflow got to it (e.g. a start that raced the resolution): nothing to do.
    if (pendingAck) ackRefused = 'The alert is already resolved.';
    if (resolution) resolveRefused = 'The alert is already resolved.';
    pendingAck = null;
    state = 'resolved';
    await condition(allHandlersFinished);
    return { state: 'resolved' };
  }
  if (plan.state === 'acknowledged') {
    if (pendingAck) ackRefused = 'The alert is already acknowledged.';
    pendingAck = null;
    if (state === 'open') state = 'acknowledged';
  }

  // The timeline, in the order its entries were decided.
  let timeline: Promise<void> = Promise.resolve();
  const record = (entry: Omit<AlertTimelineEntry, 'alertId'>): Promise<void> => {
    const next = timeline.then(() => bookkeeping.recordAlertEvent({ alertId, ...entry }));
    timeline = next.catch(() => undefined);
    return next;
  };

  /** One delivery to one channel, after the channel's earlier ones; a delivery that failed for good is an outcome. */
  const deliver = (channelId: string, kind: NotificationKind, at: number): Promise<Outcome> => {
    const before = channels.get(channelId)?.last ?? Promise.resolve();
    const outcome = before
      .then(() => delivery.deliverNotification({ alertId, channelId, kind, level: at }))
      .then(
        (o): Outcome => ({ channelId, ...o }),
        (err: unknown): Outcome => ({ channelId, ...failedOutcome(err) }),
      );
    if (kind !== 'resolved') channels.set(channelId, { level: at, last: outcome });
    return outcome;
  };

  /** Level notifications still under way (each records `notified` when its deliveries have their outcomes). */
  const notifying: Promise<void>[] = [];
  const notifyLevel = (at: number, kind: 'opened' | 'escalated') => {
    level = at;
    const channelIds = [...new Set(plan.levels[at]!.channelIds)];
    const deliveries = channelIds.map((id) => deliver(id, kind, at));
    notifying.push(
      Promise.all(deliveries).then((outcomes) =>
        record({
          type: 'notified',
          message: notifiedMessage(at, kind, outcomes),
          actor: null,
          details: { level: at, kind, outcomes },
        }),
      ),
    );
  };

  if (state === 'open') {
    if (plan.levels.length === 0) {
      await record({
        type: 'notified',
        message: 'Nobody to notify: the rule has no channels and no escalation policy.',
        actor: null,
        details: { level: null, kind: 'opened', outcomes: [] },
      });
    }
    for (let at = 0; at < plan.levels.length && state === 'open'; at++) {
      if (at > 0) {
        const waited = plan.levels[at - 1]!.delaySeconds;
        await record({
          type: 'escalated',
          message: `Escalated to level ${at + 1}: not acknowledged within ${duration(waited)}.`,
          actor: null,
          details: { level: at, afterSeconds: waited },
        });
        if (state !== 'open') break; // acknowledged or resolved meanwhile: the next level is not bothered
      }
      notifyLevel(at, at === 0 ? 'opened' : 'escalated');
      if (at === plan.levels.length - 1) break;
      const delayMs = Math.max(0, plan.levels[at]!.delaySeconds) * 1000;
      if (delayMs > 0) await condition(() => state !== 'open', delayMs);
    }
  }

  // Past the last level, or acknowledged: no timer from here on, only the people (and the evaluator).
  for (;;) {
    await condition(() => pendingAck !== null || resolution !== null);
    if (pendingAck) {
      const ack: AcknowledgeRequest = pendingAck;
      await record({
        type: 'acknowledged',
        message: ack.comment ? `Acknowledged by ${ack.by}: ${ack.comment}` : `Acknowledged by ${ack.by}`,
        actor: ack.by,
        ...(ack.comment ? { details: { comment: ack.comment } } : {}),
      });
      pendingAck = null;
      continue;
    }
    break;
  }

  const resolved: AlertResolution = resolution!;
  await record({
    type: 'resolved',
    message: resolved.automatic
      ? `Resolved automatically: ${resolved.reason}`
      : `Resolved by ${resolved.by}${resolved.reason ? `: ${resolved.reason}` : ''}`,
    actor: resolved.by,
    details: { ...resolved },
  });
  resolutionRecorded = true;
  const resolvedOutcomes = await Promise.all([...channels].map(([id, c]) => deliver(id, 'resolved', c.level)));
  await Promise.all(notifying);
  await record({
    type: 'closed',
    message: resolvedOutcomes.length
      ? `Closed: ${resolvedOutcomes.length} channels told of the resolution (${tally(resolvedOutcomes)}).`
      : 'Closed.',
    actor: null,
    details: { outcomes: resolvedOutcomes },
  });
  await condition(allHandlersFinished);
  return { state: 'resolved' };
}

function checkActor(req: { by?: unknown } | null | undefined): void {
  if (!req || typeof req !== 'object') throw new Error('Send a request object.');
  if (typeof req.by !== 'string' || !req.by.trim()) throw new Error('Say who asks (by).');
  if (req.by.length > MAX_ACTOR_LENGTH) throw new Error(`"by" is longer than ${MAX_ACTOR_LENGTH} characters.`);
}

function checkText(value: unknown, name: string): void {
  if (typeof value !== 'string') throw new Error(`"${name}" must be a string.`);
  if (value.length > MAX_TEXT_LENGTH) throw new Error(`"${name}" is longer than ${MAX_TEXT_LENGTH} characters.`);
}

/** A delivery whose attempts all failed (or whose failure is not retryable): what the last attempt said. A
 * cancelled delivery (the workflow was cancelled) is a failure too: the cancellation itself ends the workflow. */
function failedOutcome(err: unknown): DeliveryOutcome {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  const detail = cause instanceof Error ? cause.message : String(cause);
  const first: unknown = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
  const code = typeof first === 'object' && first !== null ? (first as { responseCode?: unknown }).responseCode : undefined;
  return { status: 'failed', responseCode: typeof code === 'number' ? code : null, detail };
}

function tally(outcomes: DeliveryOutcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o.status, (counts.get(o.status) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
}

function notifiedMessage(at: number, kind: 'opened' | 'escalated', outcomes: DeliveryOutcome[]): string {
  const what = kind === 'opened' ? 'Notified' : 'Escalation notified';
  if (outcomes.length === 0) return `${what} nobody: level ${at + 1} has no channels.`;
  return `${what} level ${at + 1}: ${outcomes.length} channels (${tally(outcomes)}).`;
}

function duration(seconds: number): string {
  if (seconds > 0 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
