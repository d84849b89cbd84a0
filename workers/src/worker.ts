/**
 * The job worker: the `jobRun` workflow (and the scheduled ones) and their activities on one task queue. Configuration comes in
 * as arguments (only main.ts reads the environment), so tests can run the real worker in-process.
 */
import { createRequire } from 'node:module';
import type { Duration } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps, type JobActivities } from '@opsconductor/activities';
import type { Database } from '@opsconductor/db';
import type { EventHub } from '@opsconductor/db/event-hub';
import type { Logger } from 'pino';

export const DEFAULT_TASK_QUEUE = 'opsconductor-jobs';
/** Activities one worker runs at once (Temporal's default is 100). */
export const MAX_CONCURRENT_ACTIVITIES = 1000;

/** The workflow bundle's entry point (TypeScript source; the bundler compiles it). Resolved only when needed: the
 * production build runs from a prebuilt bundle, without the workflow sources. */
export const workflowsPath = (): string => createRequire(import.meta.url).resolve('@opsconductor/workflows');

export interface CreateWorkerOptions {
  connection: NativeConnection;
  db: Database;
  namespace?: string;
  taskQueue?: string;
  logger?: Logger;
  /** DEVICE_ONLINE_WINDOW_SECONDS and DEVICE_OFFLINE_AFTER_SECONDS, for time-based group rules (default 90 s and 600 s). */
  presence?: ActivityDeps['presence'];
  /** LISTEN/NOTIFY wake-ups for batch dispatches (without: they poll the database). */
  events?: EventHub;
  /** DISPATCH_PER_SECOND: new commands this worker hands out per second, across all runs. */
  dispatchPerSecond?: number;
  /** SECRETS_MASTER_KEYS, CONSOLE_PUBLIC_URL and NOTIFICATION_ALLOWED_HOSTS, for alert notifications. */
  alerts?: ActivityDeps['alerts'];
  /** Replaces some activity implementations (tests). */
  activities?: Partial<JobActivities>;
  /** A prebuilt bundle (see bundleWorkflowCode); by default workflowsPath() is bundled at startup. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** How long in-flight activities get to finish on shutdown. */
  shutdownGraceTime?: Duration;
  identity?: string;
}

export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  const activities = {
    ...createActivities({
      db: options.db,
      logger: options.logger,
      presence: options.presence,
      events: options.events,
      dispatchPerSecond: options.dispatchPerSecond,
      alerts: options.alerts,
    }),
    ...options.activities,
  };
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: workflowsPath() }),
    activities,
    // A batch dispatch holds its slot while it waits for its devices (an await on the database, no CPU): 20 per
    // large run. Bookkeeping activities need slots beside them.
    maxConcurrentActivityTaskExecutions: MAX_CONCURRENT_ACTIVITIES,
    // Heartbeats reach Temporal at most this far apart (the SDK's default would be 24 s for a 30 s heartbeat
    // timeout), so a cancelled batch stops within seconds and the UI's progress is fresh.
    maxHeartbeatThrottleInterval: '5 seconds',
    // A batch stops waiting at once when cancelled; bookkeeping writes return within milliseconds.
    shutdownGraceTime: options.shutdownGraceTime ?? '10 seconds',
    ...(options.identity ? { identity: options.identity } : {}),
  });
}
