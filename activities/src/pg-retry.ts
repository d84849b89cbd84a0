/** Retrying database work across a short outage (e.g. Postgres restarting) inside one activity attempt. */
import { setTimeout as sleep } from 'node:timers/promises';

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

/** True for errors that say "try again later" rather than "this is wrong". */
export function isTransientDatabaseError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || code.startsWith('08'))) return true;
  return /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error/i.test(err.message);
}

/** Runs `fn`, retrying transient database errors with backoff until `maxElapsedMs` has passed. */
export async function withDatabaseRetry<T>(
  fn: () => Promise<T>,
  opts: { maxElapsedMs: number; onRetry?: (err: unknown, attempt: number) => void },
): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const delay = Math.min(250 * 2 ** (attempt - 1), 5000);
      if (!isTransientDatabaseError(err) || Date.now() - started + delay > opts.maxElapsedMs) throw err;
      opts.onRetry?.(err, attempt);
      await sleep(delay);
    }
  }
}
