/**
 * GET /readyz: whether this API can do its work: the database answers, Temporal answers, and a worker
 * polls our task queue. Each check is bounded, so the answer comes within about two seconds whatever
 * is down.
 *
 * Worker liveness comes from Temporal itself (DescribeTaskQueue): it lists who polled the task queue
 * and when. That proves what matters, that a worker takes *this* namespace's and task queue's work
 * from *this* Temporal server, for workflow and activity tasks alike, with no table or heartbeat of our
 * own. An idle worker polls again each time its long poll ends (about once a minute), so a poller
 * counts as alive when seen within `workerPollerWindowSeconds` (90 s by default).
 */
import type { ApiDeps } from '../context.ts';
import { TemporalTimeoutError, withTemporalDeadline } from './temporal.ts';

/** The Temporal checks use withTemporalDeadline's 2 s; the database gets the same. */
const DATABASE_CHECK_TIMEOUT_MS = 2000;
/** temporal.api.enums.v1.TaskQueueType */
const TASK_QUEUE_TYPES = { workflow: 1, activity: 2 } as const;

export type CheckName = 'database' | 'temporal' | 'worker';
export interface Readiness {
  ready: boolean;
  /** 'ok', or why not. */
  checks: Record<CheckName, string>;
}

function timeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function database(deps: ApiDeps): Promise<string> {
  await timeout(deps.db.pool.query('SELECT 1'), DATABASE_CHECK_TIMEOUT_MS);
  return 'ok';
}

async function temporal(deps: ApiDeps): Promise<string> {
  await withTemporalDeadline(deps.temporal, () => deps.temporal.connection.workflowService.getSystemInfo({}));
  return 'ok';
}

async function worker(deps: ApiDeps): Promise<string> {
  const { temporalNamespace: namespace, temporalTaskQueue: taskQueue, workerPollerWindowSeconds: window } = deps.config;
  const since = Date.now() - window * 1000;
  const kinds = Object.keys(TASK_QUEUE_TYPES) as (keyof typeof TASK_QUEUE_TYPES)[];
  // allSettled: the call counts as ended (see temporalCallsEnded) only once both requests ended.
  const results = await withTemporalDeadline(deps.temporal, () =>
    Promise.allSettled(
      kinds.map(async (kind) => {
        const { pollers } = await deps.temporal.connection.workflowService.describeTaskQueue({
          namespace,
          taskQueue: { name: taskQueue },
          taskQueueType: TASK_QUEUE_TYPES[kind],
        });
        return pollers.some((p) => p.lastAccessTime?.seconds != null && Number(p.lastAccessTime.seconds) * 1000 >= since);
      }),
    ),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const missing = kinds.filter((_, i) => !(results[i] as PromiseFulfilledResult<boolean>).value);
  return missing.length ? `no worker polled task queue "${taskQueue}" for ${missing.join(' or ')} tasks in the last ${window} s` : 'ok';
}

function reason(err: unknown): string {
  if (err instanceof TemporalTimeoutError) return `unavailable: no answer within ${err.timeoutMs} ms`;
  return err instanceof Error && err.message.startsWith('timed out') ? `unavailable: ${err.message}` : 'unavailable';
}

const checks = { database, temporal, worker } satisfies Record<CheckName, (deps: ApiDeps) => Promise<string>>;

/** Returns the check function; it logs when a check starts or stops failing, not on every probe. */
export function createReadinessCheck(deps: ApiDeps): () => Promise<Readiness> {
  const previous = new Map<CheckName, string>();
  return async () => {
    const errors = new Map<CheckName, unknown>();
    const results = await Promise.all(
      (Object.keys(checks) as CheckName[]).map(async (name) => {
        try {
          return [name, await checks[name](deps)] as const;
        } catch (err) {
          errors.set(name, err);
          return [name, reason(err)] as const;
        }
      }),
    );
    const out = Object.fromEntries(results) as Record<CheckName, string>;
    // With Temporal down nobody can tell whether a worker polls.
    if (out.temporal !== 'ok') out.worker = 'unknown: Temporal is unavailable';
    for (const name of Object.keys(out) as CheckName[]) {
      const was = previous.get(name);
      if (out[name] !== 'ok' && out[name] !== was) deps.logger.warn({ check: name, reason: out[name], err: errors.get(name) }, 'not ready');
      if (out[name] === 'ok' && was !== undefined && was !== 'ok') deps.logger.info({ check: name }, 'ready again');
      previous.set(name, out[name]);
    }
    return { ready: Object.values(out).every((v) => v === 'ok'), checks: out };
  };
}
