/**
 * An in-memory alert for the `alertLifecycle` workflow tests: the alert activities (AlertActivities) with their
 * signatures. `deliverNotification` records every attempt — with the Temporal server's time (`clock`: the test
 * server's time is skipped, the worker's Date.now() is not) and the attempt number Temporal gave it — and behaves per
 * channel as the test says: delivered, failing for good (`NonRetryableDelivery`), failing N times with a retryable
 * error before it gets through, or held until the test releases it. `recordAlertEvent` keeps the timeline and the
 * alert's state as the database row would.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type {
  AlertActivities,
  AlertPlan,
  AlertState,
  AlertTimelineEntry,
  DeliverNotificationInput,
  DeliveryOutcome,
} from '@opsconductor/activities';

export type ChannelBehaviour =
  | { kind: 'deliver' }
  /** Every attempt fails with ApplicationFailure type NonRetryableDelivery (e.g. a webhook answering 410). */
  | { kind: 'non-retryable' }
  /** The first `times` attempts fail with a retryable error (e.g. a 503), then it is delivered. */
  | { kind: 'retryable'; times: number }
  /** The activity answers only once `release` resolves (to test what happens while a delivery is under way). */
  | { kind: 'held'; release: Promise<void> };

export interface DeliveryAttempt extends DeliverNotificationInput {
  attempt: number;
  /** Server time (ms) when the attempt began. */
  at: number;
  outcome: 'delivered' | 'failed';
}

export interface RecordedEntry extends AlertTimelineEntry {
  at: number;
}

export interface StubAlertState {
  plan: AlertPlan;
  /** The alert row's state. */
  state: AlertState;
  attempts: DeliveryAttempt[];
  timeline: RecordedEntry[];
  planLoads: number;
}

export interface StubAlert {
  activities: AlertActivities;
  state: StubAlertState;
  /** Successful deliveries (one per notification that got through). */
  delivered(): DeliveryAttempt[];
}

export function createStubAlert(
  plan: AlertPlan,
  clock: () => Promise<number>,
  behaviour: (channelId: string, kind: DeliverNotificationInput['kind']) => ChannelBehaviour = () => ({ kind: 'deliver' }),
): StubAlert {
  const state: StubAlertState = { plan, state: plan.state, attempts: [], timeline: [], planLoads: 0 };
  const activities: AlertActivities = {
    async loadAlertPlan({ alertId }) {
      if (alertId !== plan.alertId) throw ApplicationFailure.nonRetryable(`no alert ${alertId}`, 'AlertNotFound');
      state.planLoads++;
      return structuredClone({ ...plan, state: state.state });
    },
    async deliverNotification(input): Promise<DeliveryOutcome> {
      const { attempt } = Context.current().info;
      const at = await clock();
      const b = behaviour(input.channelId, input.kind);
      const log = (outcome: DeliveryAttempt['outcome']) => state.attempts.push({ ...input, attempt, at, outcome });
      if (b.kind === 'non-retryable') {
        log('failed');
        throw ApplicationFailure.create({
          message: `${input.channelId}: 410 Gone`,
          type: 'NonRetryableDelivery',
          nonRetryable: true,
          details: [{ responseCode: 410 }],
        });
      }
      if (b.kind === 'retryable' && attempt <= b.times) {
        log('failed');
        throw ApplicationFailure.retryable(`${input.channelId}: 503 Service Unavailable`, 'DeliveryFailed');
      }
      if (b.kind === 'held') await b.release;
      log('delivered');
      return { status: 'delivered', responseCode: 200, detail: null };
    },
    async recordAlertEvent(entry) {
      state.timeline.push({ ...structuredClone(entry), at: await clock() });
      if (entry.type === 'acknowledged') state.state = 'acknowledged';
      if (entry.type === 'resolved') state.state = 'resolved';
    },
  };
  return { activities, state, delivered: () => state.attempts.filter((a) => a.outcome === 'delivered') };
}
