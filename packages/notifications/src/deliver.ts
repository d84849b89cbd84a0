/**
 * One delivery attempt of one message to one channel. Retries and backoff belong to the caller (a Temporal activity):
 * `deliver` makes exactly one request and says whether another could succeed. It never throws for what the channel
 * or its receiver did; only a message the caller built wrongly (`InvalidMessageError`) throws.
 */
import { randomUUID } from 'node:crypto';
import { IncomingWebhook, IncomingWebhookHTTPError, type FetchFunction } from '@slack/webhook';
import { Webhook } from 'standardwebhooks';
import type { NotificationChannel, WebhookChannel } from './channel.ts';
import type { AlertMessage } from './message.ts';
import { renderDiscord } from './render/discord.ts';
import { renderSlack } from './render/slack.ts';
import { renderTeams } from './render/teams.ts';
import { renderWebhook } from './render/webhook.ts';
import { failureResult, httpResult, type DeliveryResult } from './result.ts';
import { deliverResend } from './send/resend.ts';
import { deliverSmtp } from './send/smtp.ts';
import { blockedCause, guardedFetch, type DestinationPolicy } from './ssrf.ts';

export interface DeliveryOptions extends DestinationPolicy {
  /** Per request (SMTP: per connection phase), default 10,000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * The generic webhook's `webhook-id`: pass the same ID on every retry of one notification so receivers can
   * deduplicate (default: a random UUID).
   */
  messageId?: string;
  /** The clock the webhook signature's timestamp is taken from. */
  now?: () => Date;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

export async function deliver(channel: NotificationChannel, message: AlertMessage, options: DeliveryOptions = {}): Promise<DeliveryResult> {
  switch (channel.type) {
    case 'slack':
      return deliverSlack(channel.webhookUrl, message, options);
    case 'teams':
      return postJson(channel.webhookUrl, renderTeams(message), {}, options);
    case 'discord':
      return postJson(channel.webhookUrl, renderDiscord(message), {}, options);
    case 'webhook':
      return deliverWebhook(channel, message, options);
    case 'smtp':
      return deliverSmtp(channel, message, options);
    case 'resend':
      return deliverResend(channel, message, options);
  }
}

/** What a request that got no response comes to. */
export function requestFailure(error: unknown, timeoutMs: number): DeliveryResult {
  const blocked = blockedCause(error);
  if (blocked !== null) return failureResult(blocked.message, false);
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return failureResult(error.name === 'TimeoutError' ? `no response within ${timeoutMs} ms` : 'aborted', true);
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = cause instanceof Error && 'code' in cause && typeof cause.code === 'string' ? `${cause.code}: ` : '';
  return failureResult(`request failed: ${code}${cause instanceof Error ? cause.message : String(cause)}`, true);
}

async function postJson(url: string, payload: unknown, headers: Record<string, string>, options: DeliveryOptions): Promise<DeliveryResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    const response = await guardedFetch(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'OpsConductor-Notifications', ...headers },
        body: typeof payload === 'string' ? payload : JSON.stringify(payload),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
      { ...options, timeoutMs },
    );
    return httpResult(response.status, response.headers, await response.text());
  } catch (error) {
    return requestFailure(error, timeoutMs);
  }
}

/**
 * Slack through @slack/webhook's IncomingWebhook, whose transport is injectable (`fetch`): it goes through the
 * guard like every other request. The library's error carries the status and body but not the headers, so the
 * response it saw is kept here for Retry-After; its own retries stay off (the caller retries).
 */
async function deliverSlack(url: string, message: AlertMessage, options: DeliveryOptions): Promise<DeliveryResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let last: Response | null = null;
  const fetch: FetchFunction = async (target, init) => {
    const body = init?.body;
    if (typeof body !== 'string') throw new TypeError('a Slack webhook body is JSON text');
    last = await guardedFetch(
      target,
      {
        method: init?.method ?? 'POST',
        ...(init?.headers === undefined ? {} : { headers: init.headers }),
        body,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
      { ...options, timeoutMs },
    );
    return last.clone();
  };
  const webhook = new IncomingWebhook(url, { fetch, retryConfig: { retries: 0 } });
  try {
    const result = await webhook.send(renderSlack(message));
    return { ok: true, responseCode: (last as Response | null)?.status ?? 200, detail: result.text || null, retryable: false };
  } catch (error) {
    const response = last as Response | null;
    if (error instanceof IncomingWebhookHTTPError) {
      return httpResult(error.statusCode, response?.headers ?? new Headers(), error.body);
    }
    // IncomingWebhookRequestError wraps what our fetch threw.
    return requestFailure(error instanceof Error && error.cause instanceof Error ? error.cause : unwrapOriginal(error), timeoutMs);
  }
}

function unwrapOriginal(error: unknown): unknown {
  return error instanceof Error && 'original' in error && error.original instanceof Error ? error.original : error;
}

/** The generic webhook, signed the Standard Webhooks way: `webhook-id`, `webhook-timestamp`, `webhook-signature`. */
async function deliverWebhook(channel: WebhookChannel, message: AlertMessage, options: DeliveryOptions): Promise<DeliveryResult> {
  if (!isSigningSecret(channel.signingSecret)) {
    return failureResult('the signing secret is not a Standard Webhooks secret (whsec_ and 24 to 64 bytes in base64)', false);
  }
  const signer = new Webhook(channel.signingSecret);
  const id = options.messageId ?? `msg_${randomUUID()}`;
  const timestamp = options.now?.() ?? new Date();
  const body = JSON.stringify(renderWebhook(message));
  const headers = {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signer.sign(id, timestamp, body),
  };
  return postJson(channel.url, body, headers, options);
}

/** `whsec_` and base64 of 24 to 64 bytes (Standard Webhooks' recommendation); the library decodes anything. */
export function isSigningSecret(secret: string): boolean {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  if (match?.[1] === undefined || match[1].length % 4 !== 0) return false;
  const bytes = Buffer.from(match[1], 'base64').byteLength;
  return bytes >= 24 && bytes <= 64;
}
