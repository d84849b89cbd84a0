/**
 * Inputs and outputs of the alert activities (ADR 25) that the `alertLifecycle` workflow calls. Workflow code imports
 * these as types only, so this module must stay free of runtime code.
 */

export type AlertSeverity = 'info' | 'warning' | 'critical';
export type AlertState = 'open' | 'acknowledged' | 'resolved';

/** One level of an escalation policy: who is notified, and how long to wait for an acknowledgement before the next. */
export interface EscalationLevel {
  /** Notification channel IDs notified at this level. */
  channelIds: string[];
  /** Wait this long for an acknowledgement before notifying the next level (the last level's is ignored). */
  delaySeconds: number;
}

/** What the lifecycle workflow needs of its alert (the rest stays in the database). */
export interface AlertPlan {
  alertId: string;
  ruleId: string;
  severity: AlertSeverity;
  state: AlertState;
  /**
   * The levels in order: the rule's escalation policy, or one level with the rule's own channels (delay 0).
   * Empty: nobody to notify (the alert is still recorded and shown).
   */
  levels: EscalationLevel[];
}

/** Why a notification goes out: the alert opened (level 0), escalated to a later level, or resolved. */
export type NotificationKind = 'opened' | 'escalated' | 'resolved';

export interface DeliverNotificationInput {
  alertId: string;
  channelId: string;
  kind: NotificationKind;
  /**
   * The escalation level being notified. For `resolved`: each channel notified so far gets one call (a channel on
   * several levels only once), with the last level it was notified at.
   */
  level: number;
}

/**
 * The result of one delivery (after the activity's own retries): every attempt is logged in the delivery log by the
 * activity. `skipped`: the channel was deleted or disabled, or the alert is silenced (recorded, not sent).
 */
export interface DeliveryOutcome {
  status: 'delivered' | 'failed' | 'skipped';
  /** The HTTP status code (webhooks) or SMTP reply code, when there was one. */
  responseCode: number | null;
  detail: string | null;
}

/** A change the workflow records on the alert's timeline (and, for states, on the alert's row). */
export interface AlertTimelineEntry {
  alertId: string;
  type: 'notified' | 'escalated' | 'acknowledged' | 'resolved' | 'closed';
  message: string;
  /** The user's e-mail, an API key's name, or null for the system. */
  actor: string | null;
  details?: Record<string, unknown>;
}

export interface LoadAlertPlanInput {
  alertId: string;
}

/**
 * The alert activities (implemented in activities/src/alerts.ts), as the workflow proxies them. A type of functions
 * (not an interface) so that it satisfies the SDK's `ActivityInterface` index signature.
 *
 * - `loadAlertPlan`: the alert's state and its escalation levels (channel IDs per level, in order).
 * - `deliverNotification`: one notification to one channel. It logs every attempt in the delivery log itself; a
 *   channel that can never work (deleted, misconfigured, a 4xx other than 408/429) fails with the non-retryable type
 *   `NonRetryableDelivery`. The workflow retries it (5 s, ×2, at most 5 min apart, 6 attempts, 60 s each) and
 *   records a delivery that failed for good on the timeline.
 * - `recordAlertEvent`: appends a timeline entry and, for `acknowledged` / `resolved`, updates the alert's row
 *   (state, who, when). Idempotent per workflow run and entry is the implementation's concern (retried activities).
 */
export type AlertActivities = {
  loadAlertPlan: (input: LoadAlertPlanInput) => Promise<AlertPlan>;
  deliverNotification: (input: DeliverNotificationInput) => Promise<DeliveryOutcome>;
  recordAlertEvent: (entry: AlertTimelineEntry) => Promise<void>;
};
