/**
 * Alert activities (ADR 25): what the `alertLifecycle` workflow needs of its alert, one delivery to one channel
 * (each attempt logged; a non-retryable failure — 4xx, a blocked destination, a redirect — fails at once as
 * `NonRetryableDelivery`, a retryable one is thrown for Temporal's retry policy, honouring Retry-After), the alert's
 * timeline, and the `alert-evaluation` schedule's round over the state rules.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { alertMessage, deliverToChannel, evaluateStateRules, silenceOf, withdrawAlert, type EvaluationResult } from '@opsconductor/alerts';
import type { Rule } from '@opsconductor/contracts/rules';
import type { Database } from '@opsconductor/db';
import { SecretStore, type MasterKey } from '@opsconductor/secrets';
import type { Logger } from 'pino';
import type {
  AlertActivities,
  AlertPlan,
  AlertTimelineEntry,
  DeliverNotificationInput,
  DeliveryOutcome,
  EscalationLevel,
} from './alert-types.ts';

export interface AlertActivityDeps {
  db: Database;
  logger: Logger;
  /** The secret store's master keys (SECRETS_MASTER_KEYS), to read channels' configurations. */
  secretsMasterKeys?: readonly MasterKey[];
  /** The console's URL (CONSOLE_PUBLIC_URL), for links in messages. */
  consoleUrl?: string;
  /** NOTIFICATION_ALLOWED_HOSTS. */
  notificationAllowedHosts?: readonly string[];
  /** How long a condition must stay clear before its alert resolves (ALERT_RESOLVE_AFTER_SECONDS). */
  resolveAfterSeconds?: number;
  /** The devices a dynamic-group rule matches (GroupMembership.matching). */
  matching: (rule: Rule) => Promise<string[]>;
}

/** What the `alertLifecycle` workflow calls, and the evaluation round of `evaluateAlerts`. */
export function createAlertActivities(
  deps: AlertActivityDeps,
): AlertActivities & { evaluateAlertRules(): Promise<EvaluationResult>; withdrawAlert(input: { alertId: string }): Promise<void> } {
  const secrets = new SecretStore({ db: deps.db, keys: deps.secretsMasterKeys ?? [] });
  const delivery = { db: deps.db, secrets, allowHosts: deps.notificationAllowedHosts ?? [] };
  return {
    async loadAlertPlan({ alertId }: { alertId: string }): Promise<AlertPlan> {
      const { rows } = await deps.db.pool.query<{
        rule_id: string;
        severity: AlertPlan['severity'];
        state: AlertPlan['state'];
        channel_ids: string[];
        levels: Array<{ channelIds: string[]; delayMinutes: number }> | null;
      }>(
        `SELECT a.rule_id, a.severity, a.state, r.channel_ids, p.levels
           FROM alerts a JOIN alert_rules r ON r.id = a.rule_id LEFT JOIN escalation_policies p ON p.id = r.escalation_policy_id
          WHERE a.id = $1`,
        [alertId],
      );
      const a = rows[0];
      // A deleted alert (its rule was deleted) is over.
      if (!a) return { alertId, ruleId: '', severity: 'info', state: 'resolved', levels: [] };
      const levels: EscalationLevel[] = a.levels
        ? a.levels.map((l) => ({ channelIds: l.channelIds, delaySeconds: l.delayMinutes * 60 }))
        : a.channel_ids.length
          ? [{ channelIds: a.channel_ids, delaySeconds: 0 }]
          : [];
      return { alertId, ruleId: a.rule_id, severity: a.severity, state: a.state, levels };
    },

    async deliverNotification(input: DeliverNotificationInput): Promise<DeliveryOutcome> {
      const message = await alertMessage(deps.db, { ...input, consoleUrl: deps.consoleUrl ?? 'http://localhost:3000' });
      if (!message) return { status: 'skipped', responseCode: null, detail: 'The alert was deleted.' };
      // A silenced alert's notifications are logged, not sent (its resolution too, while the silence lasts).
      const silence = await silenceOf(deps.db, input.alertId);
      const skip = silence ? `Silenced until ${silence.endsAt.toISOString()} by ${silence.createdBy}: ${silence.reason}` : undefined;
      const outcome = await deliverToChannel(delivery, {
        ...input,
        attempt: Context.current().info.attempt,
        message,
        ...(skip ? { skip } : {}),
      });
      if (outcome.status !== 'failed') return { status: outcome.status, responseCode: outcome.responseCode, detail: outcome.detail };
      const detail = `${outcome.responseCode ?? 'no response'}: ${outcome.detail ?? 'failed'}`;
      if (!outcome.retryable) throw ApplicationFailure.nonRetryable(detail, 'NonRetryableDelivery', outcome);
      throw ApplicationFailure.create({
        message: detail,
        type: 'RetryableDelivery',
        details: [outcome],
        ...(outcome.retryAfterSeconds ? { nextRetryDelay: `${Math.min(outcome.retryAfterSeconds, 3600)}s` } : {}),
      });
    },

    async recordAlertEvent(e: AlertTimelineEntry): Promise<void> {
      const client = await deps.db.pool.connect();
      try {
        await client.query('BEGIN');
        if (e.type === 'acknowledged') {
          await client.query(
            `UPDATE alerts SET state = 'acknowledged', acknowledged_at = now(), acknowledged_by = $2 WHERE id = $1 AND state = 'open'`,
            [e.alertId, e.actor],
          );
        }
        if (e.type === 'resolved') {
          await client.query(
            `UPDATE alerts SET state = 'resolved', resolved_at = now(), resolved_by = $2, resolution = $3 WHERE id = $1 AND state <> 'resolved'`,
            [e.alertId, e.actor, e.message],
          );
        }
        await client.query(
          `INSERT INTO alert_events (alert_id, type, message, actor, details) SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM alerts WHERE id = $1)`,
          [e.alertId, e.type, e.message, e.actor, e.details ?? null],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    /** An alert just opened whose workflow could not start yet (see withdrawAlert): it opens again next round. */
    async withdrawAlert({ alertId }: { alertId: string }): Promise<void> {
      await withdrawAlert(deps.db, alertId);
    },

    /** One round over the state rules: the alerts it opened (their workflows to start) and those to resolve. */
    async evaluateAlertRules(): Promise<EvaluationResult> {
      const result = await evaluateStateRules({ db: deps.db, matching: deps.matching, resolveAfterSeconds: deps.resolveAfterSeconds });
      if (result.opened.length || result.cleared.length)
        deps.logger.info(
          { activity: 'evaluateAlertRules', opened: result.opened.length, cleared: result.cleared.length },
          'alert rules evaluated',
        );
      return result;
    },
  };
}
