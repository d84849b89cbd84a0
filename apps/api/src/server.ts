/** Starts the API over explicit configuration (used by main.ts, tests and the dev launcher). */
import { serve, type ServerType } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import pino, { type Logger } from 'pino';
import { createDatabase } from '@opsconductor/db';
import { GroupMembership, ensureBuiltInGroups } from '@opsconductor/groups';
import type { TemporalConnectionOptions } from '@opsconductor/temporal-connection';
import type { ApiConfig, ApiDeps } from './context.ts';
import { createApp } from './app.ts';
import { EventHub } from './lib/events.ts';
import { createApiMetrics } from './lib/metrics.ts';

export interface ApiServerOptions {
  databaseUrl: string;
  dbPoolMax?: number;
  temporalAddress: string;
  /** TLS and API key for Temporal (see @opsconductor/temporal-connection). */
  temporalTls?: TemporalConnectionOptions['tls'];
  temporalApiKey?: string;
  host?: string;
  port: number;
  config?: Partial<ApiConfig>;
  logger?: Logger;
}

export interface RunningApi { url: string; port: number; deps: ApiDeps; close(): Promise<void> }

export const defaultApiConfig: ApiConfig = {
  temporalNamespace: 'default',
  temporalTaskQueue: 'opsconductor-jobs',
  temporalUiUrl: 'http://localhost:8233',
  apiPublicUrl: 'http://localhost:4000',
  webOrigins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
  trustProxy: false,
  sessionTtlDays: 30,
  secureCookies: false,
  pollWaitSeconds: 25,
  checkinIntervalSeconds: 60,
  onlineWindowSeconds: 90,
  inventoryFullIntervalSeconds: 24 * 3600,
  inventoryDeltaIntervalSeconds: 3600,
};

export async function startApiServer(o: ApiServerOptions): Promise<RunningApi> {
  const logger = o.logger ?? pino({ name: 'api' });
  const config: ApiConfig = { ...defaultApiConfig, ...o.config };
  const db = createDatabase({ url: o.databaseUrl, poolMax: o.dbPoolMax ?? 20, connectionTimeoutMillis: 5000 });
  // Connection.lazy: the API starts (and reports not-ready) while Temporal is still coming up.
  const connection = Connection.lazy({
    address: o.temporalAddress,
    ...(o.temporalTls ? { tls: o.temporalTls } : {}),
    ...(o.temporalApiKey ? { apiKey: o.temporalApiKey } : {}),
  });
  const temporal = new Client({ connection, namespace: config.temporalNamespace });
  const events = new EventHub(db.pool, o.databaseUrl, logger);
  await events.start();
  const groups = new GroupMembership({ db, logger, onlineWindowSeconds: config.onlineWindowSeconds });
  await ensureBuiltInGroups(db, groups);
  const deps: ApiDeps = { db, groups, temporal, events, metrics: createApiMetrics(), logger, config };
  const app = createApp(deps);
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: o.host ?? '127.0.0.1', port: o.port }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    deps,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Long-polls and event streams would hold the server open.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await events.stop();
      await connection.close().catch(() => {});
      await db.close();
    },
  };
}
