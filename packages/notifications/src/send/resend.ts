/**
 * E-mail through Resend's API with the `resend` SDK. The SDK calls the global fetch with the request options it is
 * given, so the guard's dispatcher (and `redirect: 'manual'`) go in through them: the base URL is checked like any
 * webhook URL, and the connection goes to checked addresses only.
 */
import { createRequire } from 'node:module';
import type { ResendChannel } from '../channel.ts';
import type { AlertMessage } from '../message.ts';
import { renderEmail } from '../render/email.ts';
import { failureResult, parseRetryAfter, type DeliveryResult } from '../result.ts';
import { BlockedDestinationError, checkDestinationUrl, createGuardedDispatcher, type DestinationPolicy } from '../ssrf.ts';

/**
 * The part of the SDK used here. It is loaded with `require` and typed by hand: its own declarations import React's,
 * whose global DOM stand-ins would replace the DOM types of every program that compiles this package (the browser
 * tests' page callbacks among them).
 */
interface ResendClient {
  emails: {
    send(
      email: { from: string; to: string[]; subject: string; text: string; html: string },
      options: { signal: AbortSignal },
    ): Promise<{
      data: { id: string } | null;
      error: { name: string; message: string; statusCode?: number | null } | null;
      headers?: Record<string, string> | null;
    }>;
  };
}
const { Resend } = createRequire(import.meta.url)('resend') as {
  Resend: new (apiKey: string, options: { baseUrl: string }) => ResendClient;
};

export const RESEND_BASE_URL = 'https://api.resend.com';
/** Resend accepts at most 50 recipients per e-mail. */
export const RESEND_MAX_RECIPIENTS = 50;

export interface ResendDeliveryOptions extends DestinationPolicy {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export async function deliverResend(
  channel: ResendChannel,
  message: AlertMessage,
  options: ResendDeliveryOptions = {},
): Promise<DeliveryResult> {
  if (channel.to.length === 0 || channel.to.length > RESEND_MAX_RECIPIENTS) {
    return failureResult(`between 1 and ${RESEND_MAX_RECIPIENTS} recipients are needed`, false);
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  let baseUrl: string;
  try {
    baseUrl = checkDestinationUrl(channel.baseUrl ?? RESEND_BASE_URL, options).href.replace(/\/+$/, '');
  } catch (error) {
    if (error instanceof BlockedDestinationError) return failureResult(error.message, false);
    throw error;
  }
  let refused: BlockedDestinationError | null = null;
  const dispatcher = createGuardedDispatcher({
    ...options,
    timeoutMs,
    maxResponseBytes: 64 * 1024,
    onRefused: (error) => (refused = error),
  });
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  const email = renderEmail(message);
  try {
    const client = new Resend(channel.apiKey, { baseUrl });
    // `dispatcher` and `redirect` are not in the SDK's RequestOptions type, but it spreads its options into fetch's.
    const requestOptions = { signal, dispatcher, redirect: 'manual' } as { signal: AbortSignal };
    const { data, error, headers } = await client.emails.send(
      { from: channel.from, to: channel.to, subject: email.subject, text: email.text, html: email.html },
      requestOptions,
    );
    if (error === null) return { ok: true, responseCode: 200, detail: data?.id ?? null, retryable: false };
    const statusCode = typeof error.statusCode === 'number' ? error.statusCode : null;
    const retryAfterSeconds = parseRetryAfter(headers?.['retry-after'] ?? null);
    const detail = `${error.name}: ${error.message}`.slice(0, 4096);
    if (statusCode === null) {
      // No response: the SDK hides why, the guard and the timeout tell.
      const blocked = refused as BlockedDestinationError | null;
      if (blocked !== null) return failureResult(blocked.message, false);
      if (timeout.aborted) return failureResult(`no response within ${timeoutMs} ms`, true);
      return { ...failureResult(detail, true), ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
    }
    const retryable = statusCode === 408 || statusCode === 425 || statusCode === 429 || statusCode >= 500;
    return { ok: false, responseCode: statusCode, detail, retryable, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
  } finally {
    void dispatcher.destroy().catch(() => undefined);
  }
}
