/**
 * The job worker: `jobRun` / `jobRunBatch` workflows and their activities on one task queue. Configuration comes in
 * as arguments (only main.ts reads the environment), so tests can run the real worker in-process.
 */
import { createRequire } from 'node:module';
import type { Duration } from '@temporalio/common';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type JobActivities } from '@opsconductor/activities';
import type { Database } from '@opsconductor/db';
import type { Logger } from 'pino';

export const DEFAULT_TASK_QUEUE = 'opsconductor-jobs';

/** The workflow bundle's entry point (TypeScript source; the bundler compiles it). Resolved only when needed: the
 * production build runs from a prebuilt bundle, without the workflow sources. */
export const workflowsPath = (): string => createRequire(import.meta.url).resolve('@opsconductor/workflows');

export interface CreateWorkerOptions {
  connection: NativeConnection;
  db: Database;
  namespace?: string;
  taskQueue?: string;
  logger?: Logger;
  /** DEVICE_ONLINE_WINDOW_SECONDS, for time-based group rules (default 90). */
  onlineWindowSeconds?: number;
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
    ...createActivities({ db: options.db, logger: options.logger, onlineWindowSeconds: options.onlineWindowSeconds }),
    ...options.activities,
  };
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: workflowsPath() }),
    activities,
    // Dispatches return within milliseconds (the agent completes them later), bookkeeping writes too.
    shutdownGraceTime: options.shutdownGraceTime ?? '10 seconds',
    ...(options.identity ? { identity: options.identity } : {}),
  });
}
