/** What one delivery attempt came to, and whether trying again can help. */

export interface DeliveryResult {
  ok: boolean;
  /** The HTTP status, or the SMTP reply code; null when no response came. */
  responseCode: number | null;
  /** The response body (at most 4 KiB) or what went wrong. */
  detail: string | null;
  /** Whether a later attempt may succeed (timeouts, connection errors, 408/425/429/5xx, SMTP 4xx). */
  retryable: boolean;
  /** The receiver's Retry-After, when it sent one. */
  retryAfterSeconds?: number;
}

const RETRYABLE_STATUS = new Set([408, 425, 429]);

/** Retry-After as seconds from `now`: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or bad. */
export function parseRetryAfter(value: string | null, now: Date = new Date()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}

/** The result of an HTTP response: 2xx delivered; 3xx refused (never followed); 408/425/429/5xx retryable. */
export function httpResult(status: number, headers: { get(name: string): string | null }, body: string): DeliveryResult {
  const detail = body.length > 0 ? body : null;
  const retryAfterSeconds = parseRetryAfter(headers.get('retry-after'));
  const withRetryAfter = (result: DeliveryResult): DeliveryResult =>
    retryAfterSeconds === undefined ? result : { ...result, retryAfterSeconds };
  if (status >= 200 && status < 300) return { ok: true, responseCode: status, detail, retryable: false };
  if (status >= 300 && status < 400) {
    const location = headers.get('location');
    return {
      ok: false,
      responseCode: status,
      detail: `redirect${location === null ? '' : ` to ${location.slice(0, 500)}`} not followed`,
      retryable: false,
    };
  }
  return withRetryAfter({ ok: false, responseCode: status, detail, retryable: RETRYABLE_STATUS.has(status) || status >= 500 });
}

/** The result of a request that got no response: refused destinations are final, anything else may pass later. */
export function failureResult(detail: string, retryable: boolean): DeliveryResult {
  return { ok: false, responseCode: null, detail, retryable };
}
