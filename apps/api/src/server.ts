/** Starts the API over explicit configuration (used by main.ts, tests and the dev launcher). */
import { OutboxDispatcher } from '@opsconductor/domain-events';
import { AssignmentEnforcer, softwareAssignmentConsumer } from './services/software-assignments.ts';
import { alertEventsConsumer } from './services/alerts.ts';
import { createAdaptorServer, type ServerType } from '@hono/node-server';
import type http from 'node:http';
import { Client, Connection } from '@temporalio/client';
import pino, { type Logger } from 'pino';
import path from 'node:path';
import { createDatabase, createPool } from '@opsconductor/db';
import { DeviceLifecycle } from '@opsconductor/devices';
import { AttributeService, GroupMembership, GroupService, ensureBuiltInGroups } from '@opsconductor/groups';
import { EnrollmentTokenService, UserService } from '@opsconductor/identity';
import { InventoryService, type InventoryServiceDeps } from '@opsconductor/inventory';
import { JobService } from '@opsconductor/jobs';
import { SecretStore, type MasterKey } from '@opsconductor/secrets';
import { DepotSigning } from './services/depot-signing.ts';
import { DepotHealthMonitor } from './services/depot-health.ts';
import { DEFAULT_PRESENCE } from '@opsconductor/rules';
import { CHANNEL_PING_SECONDS } from '@opsconductor/contracts/agent-channel';
import type { TemporalConnectionOptions } from '@opsconductor/temporal-connection';
import type { ApiConfig, ApiDeps, ApiServices } from './context.ts';
import { createApp, createMetricsApp } from './app.ts';
import { AgentAdmission } from './lib/agent-admission.ts';
import { trustNobody } from './lib/client-address.ts';
import { CommandWakeups } from './lib/command-wakeups.ts';
import { DeviceAuthenticator } from './lib/device-auth.ts';
import { EventHub } from '@opsconductor/db/event-hub';
import { LastSeenWriter } from './lib/last-seen.ts';
import { LoginThrottle, defaultLoginThrottlePolicy } from './lib/login-throttle.ts';
import { createApiMetrics } from './lib/metrics.ts';
import { FileStore } from './services/files.ts';
import { AgentChannelServer } from './routes/agent-channel.ts';
import { AgentlessRelay } from './services/agentless-relay.ts';
import { apiConnectionOptions, temporalCallsEnded } from './lib/temporal.ts';

export interface ApiServerOptions {
  databaseUrl: string;
  /** The admin API's pool (Prisma's too): people's requests, inventory ingest. */
  dbPoolMax?: number;
  /** The agents' pool: polls, reports, last-seen. Sized apart so agents cannot starve people. */
  agentDbPoolMax?: number;
  temporalAddress: string;
  /** TLS and API key for Temporal (see @opsconductor/temporal-connection). */
  temporalTls?: TemporalConnectionOptions['tls'];
  temporalApiKey?: string;
  host?: string;
  port: number;
  /** A listener serving only GET /metrics (loopback by default); none without a port. */
  metrics?: { host?: string; port: number };
  config?: Partial<ApiConfig>;
  logger?: Logger;
  /** Master keys of the secret store (SECRETS_MASTER_KEYS, the first is current); none leaves it unavailable. */
  secretsMasterKeys?: readonly MasterKey[];
  /** Fault injection for tests (see InventoryServiceDeps). */
  inventoryHooks?: Pick<InventoryServiceDeps, 'afterReportStored'>;
}

export interface RunningApi {
  url: string;
  port: number;
  metricsUrl?: string;
  deps: ApiDeps;
  close(): Promise<void>;
}

async function listen(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  hostname: string,
  port: number,
): Promise<{ server: ServerType; port: number }> {
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = createAdaptorServer({ fetch: app.fetch, hostname }) as http.Server;
    // Keep connections open longer than clients keep idle ones (the fleet simulator 30 s, agents between polls), so
    // a fleet reuses them instead of reconnecting, and take a deep accept queue: 10,000 agents answered at once
    // overflowed Node's default of 511 (the kernel caps it at net.core.somaxconn).
    s.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    s.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 5000;
    s.once('error', reject);
    s.listen({ port, host: hostname, backlog: LISTEN_BACKLOG }, () => resolve(s));
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : port };
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    // Long-polls and event streams would hold the server open.
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}

export const defaultApiConfig: ApiConfig = {
  temporalNamespace: 'default',
  temporalTaskQueue: 'opsconductor-jobs',
  temporalUiUrl: 'http://localhost:8233',
  apiPublicUrl: 'http://localhost:4000',
  webOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
  trustedProxies: trustNobody,
  loginThrottlePolicy: defaultLoginThrottlePolicy,
  sessionTtlDays: 30,
  secureCookies: false,
  pollWaitSeconds: 25,
  // Check-ins carry facts, capabilities and the boot ID, which seldom change; presence comes from the polls.
  checkinIntervalSeconds: 300,
  channelPingSeconds: CHANNEL_PING_SECONDS,
  presence: DEFAULT_PRESENCE,
  inventoryFullIntervalSeconds: 24 * 3600,
  inventoryDeltaIntervalSeconds: 3600,
  workerPollerWindowSeconds: 90,
  metricsToken: null,
  lastSeenFlushSeconds: 10,
  maxLongPolls: 20_000,
  inventoryConcurrency: 4,
  fileStoreDir: path.resolve('.data', 'files'),
  fileUploadMaxBytes: 1024 ** 3,
  depotDir: path.resolve('.data', 'depot'),
  depotUploadMaxBytes: 16 * 1024 ** 3,
  depotHealthIntervalSeconds: 300,
  deploymentApprovalMinDevices: 0,
  assignmentEnforceIntervalSeconds: 4 * 3600,
  agentlessRelay: true,
  consoleUrl: 'http://localhost:3000',
  notificationAllowedHosts: [],
};

/** Idle keep-alive connections are closed after this long. */
const KEEP_ALIVE_TIMEOUT_MS = 35_000;
/** Connections waiting to be accepted. */
const LISTEN_BACKLOG = 4096;
/** Longest an agent request waits for a database connection before it is answered 503. */
const AGENT_POOL_WAIT_MS = 8000;

export async function startApiServer(o: ApiServerOptions): Promise<RunningApi> {
  const logger = o.logger ?? pino({ name: 'api' });
  const config: ApiConfig = { ...defaultApiConfig, ...o.config };
  const db = createDatabase({ url: o.databaseUrl, poolMax: o.dbPoolMax ?? 20, connectionTimeoutMillis: 5000 });
  // A fleet reporting at once (a run's fan-out) queues here for a connection; a request that waits longer than this
  // (well inside the agent's 15 s request timeout) is answered 503 with Retry-After and retried with backoff.
  const agentPool = createPool({
    url: o.databaseUrl,
    poolMax: o.agentDbPoolMax ?? 20,
    connectionTimeoutMillis: AGENT_POOL_WAIT_MS,
    statementTimeoutMillis: 15_000,
  });
  // Connection.lazy: the API starts (and reports not-ready) while Temporal is still coming up.
  const connection = Connection.lazy({
    address: o.temporalAddress,
    ...apiConnectionOptions,
    ...(o.temporalTls ? { tls: o.temporalTls } : {}),
    ...(o.temporalApiKey ? { apiKey: o.temporalApiKey } : {}),
  });
  const temporal = new Client({ connection, namespace: config.temporalNamespace });
  const events = new EventHub(db.pool, o.databaseUrl, logger);
  await events.start();
  const groups = new GroupMembership({ db, logger, presence: config.presence });
  await ensureBuiltInGroups(db, groups);
  const loginThrottle = new LoginThrottle(db.pool, config.loginThrottlePolicy);
  const deviceAuth = new DeviceAuthenticator(agentPool, events);
  const metrics = createApiMetrics();
  metrics.observePool('admin', db.pool);
  metrics.observePool('agent', agentPool);
  const services: ApiServices = {
    groups: new GroupService({ db, membership: groups }),
    attributes: new AttributeService({ db, membership: groups }),
    users: new UserService({ db }),
    jobs: new JobService({ db }),
    enrollmentTokens: new EnrollmentTokenService({ db }),
    devices: new DeviceLifecycle({
      db,
      membership: groups,
      wake: (channel, id) => events.publish(channel, id),
      credentialsChanged: (id) => deviceAuth.forget(id),
    }),
    inventory: new InventoryService({
      db,
      membership: groups,
      fullIntervalSeconds: config.inventoryFullIntervalSeconds,
      deltaIntervalSeconds: config.inventoryDeltaIntervalSeconds,
      ...o.inventoryHooks,
    }),
  };
  const secrets = new SecretStore({ db, keys: o.secretsMasterKeys ?? [] });
  const deps: ApiDeps = {
    db,
    agentPool,
    groups,
    services,
    secrets,
    temporal,
    events,
    loginThrottle,
    deviceAuth,
    metrics,
    logger,
    config,
    wakeups: new CommandWakeups(events),
    lastSeen: new LastSeenWriter(agentPool, logger, config.lastSeenFlushSeconds),
    admission: new AgentAdmission(config.maxLongPolls, config.inventoryConcurrency),
    files: new FileStore(config.fileStoreDir, config.fileUploadMaxBytes),
    depot: new FileStore(config.depotDir, config.depotUploadMaxBytes),
    depotSigning: new DepotSigning({ db, secrets }),
  };
  if (config.agentlessRelay) {
    deps.agentlessRelay = new AgentlessRelay(deps);
    deps.agentlessRelay.start();
  }
  const depotHealth = new DepotHealthMonitor(deps, config.depotHealthIntervalSeconds);
  depotHealth.start();
  // Software assignments (ADR 24): applied to devices that join or leave groups, and enforced periodically.
  const assignments = new AssignmentEnforcer(deps, config.assignmentEnforceIntervalSeconds);
  assignments.start();
  // The outbox polls between its notifications: on a pool of its own, so background work neither waits for nor takes
  // the connections requests use.
  const outboxPool = createPool({ url: o.databaseUrl, poolMax: 2, connectionTimeoutMillis: 5000 });
  metrics.observePool('background', outboxPool);
  const outbox = new OutboxDispatcher({
    pool: outboxPool,
    databaseUrl: o.databaseUrl,
    consumers: [softwareAssignmentConsumer(deps, outboxPool), alertEventsConsumer(deps)],
    logger: logger.child({ component: 'outbox' }),
  });
  await outbox.start();
  const channel = new AgentChannelServer(deps);
  const { server, port } = await listen(createApp(deps), o.host ?? '127.0.0.1', o.port);
  server.on('upgrade', channel.upgrade);
  const metricsListener = o.metrics && (await listen(createMetricsApp(deps), o.metrics.host ?? '127.0.0.1', o.metrics.port));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    ...(metricsListener ? { metricsUrl: `http://${o.metrics?.host ?? '127.0.0.1'}:${metricsListener.port}` } : {}),
    deps,
    async close() {
      channel.close();
      await deps.agentlessRelay?.close();
      await depotHealth.close();
      await outbox.stop();
      await outboxPool.end().catch(() => {});
      await assignments.stop();
      await Promise.all([closeServer(server), metricsListener && closeServer(metricsListener.server)]);
      deviceAuth.close();
      deps.wakeups.close();
      await deps.lastSeen.close();
      await events.stop();
      await temporalCallsEnded(temporal);
      await connection.close().catch(() => {});
      await agentPool.end().catch(() => {});
      await db.close();
    },
  };
}
