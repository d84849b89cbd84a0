/**
 * The generic webhook's JSON body, in the Standard Webhooks shape (https://www.standardwebhooks.com/):
 * `{ type, timestamp, data }`. Receivers are programs, so the message goes as data (cleaned and bounded, not escaped),
 * with every subject the message carries.
 */
import { normaliseMessage, type AlertMessage, type AlertMessageKind } from '../message.ts';

export interface WebhookPayload {
  type: `alert.${AlertMessageKind}`;
  /** When the event happened (the alert's `occurredAt`), ISO 8601. */
  timestamp: string;
  data: AlertMessage;
}

export function renderWebhook(input: AlertMessage): WebhookPayload {
  const message = normaliseMessage(input);
  return { type: `alert.${message.kind}`, timestamp: message.occurredAt, data: message };
}
