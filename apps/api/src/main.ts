/** The API process: reads the environment once and serves until SIGINT/SIGTERM. */
import path from 'node:path';
import pino from 'pino';
import { describeTemporalConnection, temporalConnectionOptions } from '@opsconductor/temporal-connection';
import { loadApiEnv } from './env.ts';
import { limitHeapGrowth } from './lib/heap.ts';
import { startApiServer } from './server.ts';

const env = loadApiEnv();
limitHeapGrowth(env.API_HEAP_GROWING_PERCENT);
const logger = pino({ name: 'api', level: env.LOG_LEVEL });
const temporal = temporalConnectionOptions(env);
const api = await startApiServer({
  databaseUrl: env.DATABASE_URL,
  dbPoolMax: env.DB_POOL_MAX,
  agentDbPoolMax: env.AGENT_DB_POOL_MAX,
  temporalAddress: temporal.address,
  ...(temporal.tls ? { temporalTls: temporal.tls } : {}),
  ...(temporal.apiKey ? { temporalApiKey: temporal.apiKey } : {}),
  host: env.API_HOST,
  port: env.API_PORT,
  ...(env.API_METRICS_PORT ? { metrics: { host: env.API_METRICS_HOST, port: env.API_METRICS_PORT } } : {}),
  secretsMasterKeys: env.SECRETS_MASTER_KEYS,
  logger,
  config: {
    temporalNamespace: env.TEMPORAL_NAMESPACE,
    temporalTaskQueue: env.TEMPORAL_TASK_QUEUE,
    temporalUiUrl: env.TEMPORAL_UI_URL || null,
    apiPublicUrl: env.API_PUBLIC_URL,
    webOrigins: env.WEB_ORIGINS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    trustedProxies: env.TRUSTED_PROXIES,
    sessionTtlDays: env.SESSION_TTL_DAYS,
    secureCookies: env.API_PUBLIC_URL.startsWith('https://'),
    presence: { onlineWindowSeconds: env.DEVICE_ONLINE_WINDOW_SECONDS, offlineAfterSeconds: env.DEVICE_OFFLINE_AFTER_SECONDS },
    metricsToken: env.METRICS_TOKEN ?? null,
    maxLongPolls: env.AGENT_MAX_LONG_POLLS,
    fileStoreDir: path.resolve(env.FILE_STORE_DIR),
    fileUploadMaxBytes: env.FILE_UPLOAD_MAX_BYTES,
    depotDir: path.resolve(env.DEPOT_DIR),
    depotUploadMaxBytes: env.DEPOT_UPLOAD_MAX_BYTES,
    depotHealthIntervalSeconds: env.DEPOT_HEALTH_INTERVAL_SECONDS,
    deploymentApprovalMinDevices: env.DEPLOYMENT_APPROVAL_MIN_DEVICES,
    assignmentEnforceIntervalSeconds: env.ASSIGNMENT_ENFORCE_INTERVAL_SECONDS,
    agentlessRelay: env.AGENTLESS_RELAY === 'on',
    consoleUrl: env.CONSOLE_PUBLIC_URL,
    notificationAllowedHosts: env.NOTIFICATION_ALLOWED_HOSTS.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  },
});
logger.info(
  {
    url: `http://${env.API_HOST}:${api.port}`,
    docs: `${env.API_PUBLIC_URL}/api/docs`,
    trustedProxies: env.TRUSTED_PROXIES.entries,
    metrics: api.metricsUrl ? `${api.metricsUrl}/metrics` : 'off',
    temporal: { address: temporal.address, security: describeTemporalConnection(temporal) },
    secrets: env.SECRETS_MASTER_KEYS.length
      ? { currentKeyId: env.SECRETS_MASTER_KEYS[0]!.id, keys: env.SECRETS_MASTER_KEYS.length }
      : 'no master key: secrets cannot be stored',
  },
  'API listening',
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    api.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
