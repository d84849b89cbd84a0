/**
 * Worker process: `node workers/dist/main.js` after `npm run build` (or from sources: `npm run dev -w @opsconductor/workers`).
 * Reads the environment (env.ts), logs JSON with pino, serves Prometheus metrics from the Temporal runtime at
 * http://WORKER_METRICS_HOST:WORKER_METRICS_PORT/metrics, runs the outbox dispatcher (domain events to their
 * consumers), and drains on SIGINT/SIGTERM.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { createDatabase } from '@opsconductor/db';
import { EventHub } from '@opsconductor/db/event-hub';
import { describeTemporalConnection, temporalConnectionOptions } from '@opsconductor/temporal-connection';
import { pino } from 'pino';
import { loadWorkerEnv } from './env.ts';
import { temporalLogger } from './logger.ts';
import { ensureSearchAttributes } from './search-attributes.ts';
import { createWorker } from './worker.ts';
import { ensureSchedules } from './schedules.ts';
import { createOutboxDispatcher } from './outbox.ts';

const env = loadWorkerEnv();
const logger = pino({ level: env.LOG_LEVEL, base: { service: 'worker', pid: process.pid } });
process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));

const metricsAddress = env.WORKER_METRICS_PORT > 0 ? `${env.WORKER_METRICS_HOST}:${env.WORKER_METRICS_PORT}` : undefined;
Runtime.install({
  logger: temporalLogger(logger.child({ component: 'temporal' })),
  // We handle signals ourselves (below) to log and close the database after the worker drained.
  shutdownSignals: [],
  telemetryOptions: {
    logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
    ...(metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress } } } : {}),
  },
});

const temporal = temporalConnectionOptions(env);
// The production build (npm run build) puts the prebuilt workflow bundle beside this file, so the worker starts without
// bundling (and without the workflow sources); run from sources, the worker bundles the workflows at start.
const prebuiltBundle = fileURLToPath(new URL('./workflow-bundle.js', import.meta.url));
const workflowBundle = existsSync(prebuiltBundle) ? { codePath: prebuiltBundle } : undefined;

const db = createDatabase({ url: env.DATABASE_URL, poolMax: env.DB_POOL_MAX, connectionTimeoutMillis: 5000 });
const outbox = createOutboxDispatcher({ db, databaseUrl: env.DATABASE_URL, logger });
// Batch dispatches wait on the runs' notifications (an agent's result, an outcome); without LISTEN they poll.
const events = new EventHub(db.pool, env.DATABASE_URL, logger);
let connection: NativeConnection | undefined;
try {
  connection = await NativeConnection.connect(temporal);
  await registerSearchAttributes(connection);
  await events.start().catch((err: unknown) => logger.warn({ err }, 'LISTEN failed; batch dispatches poll the database instead'));
  await ensureSchedules({
    connection: temporal,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    logger,
    alertEvaluationSeconds: env.ALERT_EVALUATION_INTERVAL_SECONDS,
  });
  const worker = await createWorker({
    connection,
    db,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    logger,
    presence: { onlineWindowSeconds: env.DEVICE_ONLINE_WINDOW_SECONDS, offlineAfterSeconds: env.DEVICE_OFFLINE_AFTER_SECONDS },
    events,
    dispatchPerSecond: env.DISPATCH_PER_SECOND,
    alerts: {
      secretsMasterKeys: env.SECRETS_MASTER_KEYS,
      consoleUrl: env.CONSOLE_PUBLIC_URL,
      resolveAfterSeconds: env.ALERT_RESOLVE_AFTER_SECONDS,
      notificationAllowedHosts: env.NOTIFICATION_ALLOWED_HOSTS.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    },
    ...(workflowBundle ? { workflowBundle } : {}),
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without draining');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight tasks');
    worker.shutdown();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await outbox.start();

  logger.info(
    {
      address: env.TEMPORAL_ADDRESS,
      security: describeTemporalConnection(temporal),
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      metrics: metricsAddress ? `http://${metricsAddress}/metrics` : 'off',
      workflows: workflowBundle ? 'prebuilt bundle' : 'bundled from sources at start',
      outbox: outbox.identity,
    },
    'worker started',
  );
  await worker.run();
  logger.info('worker stopped');
} catch (err) {
  logger.fatal({ err }, 'worker failed');
  process.exitCode = 1;
} finally {
  await outbox.stop();
  await events.stop();
  await connection?.close().catch(() => {});
  await db.close();
}

/** Registers our search attributes; a namespace we may not modify (e.g. Temporal Cloud) only gets a warning. */
async function registerSearchAttributes(conn: NativeConnection): Promise<void> {
  try {
    const result = await ensureSearchAttributes(conn, env.TEMPORAL_NAMESPACE);
    if (result.added.length > 0) logger.info({ added: result.added }, 'registered search attributes');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 7 /* PERMISSION_DENIED */ || code === 12 /* UNIMPLEMENTED */) {
      logger.warn(
        { err },
        'could not register search attributes; register OpsJobRunId (Keyword) and OpsDeviceIds (KeywordList) on the namespace',
      );
      return;
    }
    throw err;
  }
}
