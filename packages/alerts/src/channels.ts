/**
 * Notification channels (ADR 25): a row with what may be shown, and the whole configuration — webhook URL, signing
 * secret, SMTP password, API key — as one secret in the secret store (owner `notification_channel`). Delivering
 * reads the secret, sends through packages/notifications (its SSRF guard on every outgoing request) and writes
 * one row per attempt in `notification_deliveries`.
 */
import type { NotificationChannelConfig, NotificationChannelType } from '@opsconductor/contracts/alerts-api';
import type { Database } from '@opsconductor/db';
import { deliver, type AlertMessage, type DeliveryResult } from '@opsconductor/notifications';
import type { SecretRef, SecretStore } from '@opsconductor/secrets';

export const CHANNEL_SECRET_OWNER = 'notification_channel';

export const channelSecretRef = (channelId: string): SecretRef => ({
  ownerType: CHANNEL_SECRET_OWNER,
  ownerId: channelId,
  purpose: 'config',
});

/** What of a configuration may be shown (no URL, password or key), and the destination for display. */
export function shownSettings(config: NotificationChannelConfig): { settings: Record<string, unknown>; target: string } {
  switch (config.type) {
    case 'slack':
    case 'teams':
    case 'discord':
      return { settings: {}, target: new URL(config.webhookUrl).host };
    case 'webhook':
      return { settings: {}, target: new URL(config.url).host };
    case 'smtp':
      return {
        settings: {
          host: config.host,
          port: config.port,
          security: config.security,
          username: config.username ?? null,
          from: config.from,
          to: config.to,
        },
        target: config.to.join(', '),
      };
    case 'resend':
      return { settings: { from: config.from, to: config.to }, target: config.to.join(', ') };
  }
}

export interface DeliveryDeps {
  db: Database;
  secrets: SecretStore;
  /** Hosts an admin allowed although they resolve to private addresses (NOTIFICATION_ALLOWED_HOSTS). */
  allowHosts: readonly string[];
  /** One request's timeout (default: the notifications package's). */
  timeoutMs?: number;
}

export interface DeliveryRequest {
  channelId: string;
  /** Not sent, logged as skipped with this detail (the alert is silenced). */
  skip?: string;
  alertId: string | null;
  kind: AlertMessage['kind'];
  level: number;
  attempt: number;
  message: AlertMessage;
}

export interface LoggedDelivery {
  status: 'delivered' | 'failed' | 'skipped';
  responseCode: number | null;
  detail: string | null;
  /** Worth another attempt (a timeout, 5xx, 429). */
  retryable: boolean;
  retryAfterSeconds: number | null;
}

interface ChannelRow {
  type: NotificationChannelType;
  enabled: boolean;
}

/** One attempt to one channel, logged; a channel deleted, disabled or without its secret is `skipped`. */
export async function deliverToChannel(deps: DeliveryDeps, req: DeliveryRequest): Promise<LoggedDelivery> {
  const started = Date.now();
  const { rows } = await deps.db.pool.query<ChannelRow>('SELECT type, enabled FROM notification_channels WHERE id = $1', [req.channelId]);
  const channel = rows[0];
  let outcome: LoggedDelivery;
  if (!channel)
    return { status: 'skipped', responseCode: null, detail: 'The channel was deleted.', retryable: false, retryAfterSeconds: null };
  if (req.skip) {
    outcome = { status: 'skipped', responseCode: null, detail: req.skip, retryable: false, retryAfterSeconds: null };
  } else if (!channel.enabled) {
    outcome = { status: 'skipped', responseCode: null, detail: 'The channel is disabled.', retryable: false, retryAfterSeconds: null };
  } else {
    const secret = deps.secrets.configured ? await deps.secrets.revealText(channelSecretRef(req.channelId)) : null;
    if (secret === null) {
      outcome = {
        status: 'failed',
        responseCode: null,
        detail: deps.secrets.configured
          ? 'The channel has no stored configuration.'
          : 'The secret store is not configured (SECRETS_MASTER_KEYS).',
        retryable: false,
        retryAfterSeconds: null,
      };
    } else {
      const config = JSON.parse(secret) as NotificationChannelConfig;
      const result: DeliveryResult = await deliver(config, req.message, { allowHosts: [...deps.allowHosts], timeoutMs: deps.timeoutMs });
      outcome = {
        status: result.ok ? 'delivered' : 'failed',
        responseCode: result.responseCode,
        detail: result.detail,
        retryable: !result.ok && result.retryable,
        retryAfterSeconds: result.retryAfterSeconds ?? null,
      };
    }
  }
  await deps.db.pool.query(
    `INSERT INTO notification_deliveries (channel_id, alert_id, kind, level, attempt, status, response_code, detail, duration_ms)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM notification_channels WHERE id = $1)`,
    [
      req.channelId,
      req.alertId,
      req.kind,
      req.level,
      req.attempt,
      outcome.status,
      outcome.responseCode,
      outcome.detail?.slice(0, 2000) ?? null,
      Date.now() - started,
    ],
  );
  return outcome;
}
