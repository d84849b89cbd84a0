/** An in-process API on a fresh database, plus helpers to act as users and devices over real HTTP. */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import pino from 'pino';
import { hashPassword } from '../../apps/api/src/lib/auth.ts';
import { startApiServer, type ApiServerOptions, type RunningApi } from '../../apps/api/src/server.ts';
import type { ApiConfig } from '../../apps/api/src/context.ts';
import type { Role } from '@opsconductor/contracts/api';
import { createTestDatabase, type TestDatabase } from './database.ts';

// Random-looking on purpose: well-known passphrases (xkcd's "correct horse battery staple") fail the password policy.
export const TEST_PASSWORD = 'Kq8-Wz3r-Jd6n-Tv5p';

export interface TestApi {
  api: RunningApi;
  database: TestDatabase;
  url: string;
  request(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>;
  createUser(role: Role, email?: string): Promise<{ id: string; email: string }>;
  login(email: string, password?: string): Promise<string>;
  /** Creates a user of the role and returns a session token for it. */
  tokenFor(role: Role): Promise<string>;
  createEnrollmentToken(adminToken: string, body?: { maxUses?: number; expiresInHours?: number }): Promise<string>;
  enrollDevice(enrollmentToken: string, hostname?: string): Promise<{ deviceId: string; deviceSecret: string }>;
  close(): Promise<void>;
}

export interface TestApiOptions {
  /** Where the API finds Temporal (default: the run's Temporal server). */
  temporalAddress?: string;
  /** Rewrites the database URL the API uses (the test itself keeps the direct one), e.g. through a proxy. */
  databaseUrl?: (direct: string) => string;
  /** Also serve GET /metrics on a listener of its own. */
  metricsListener?: boolean;
  /** Fault injection into inventory ingest (crash tests). */
  inventoryHooks?: ApiServerOptions['inventoryHooks'];
  /** The secret store's master keys (none by default: the store refuses to keep secrets). */
  secretsMasterKeys?: ApiServerOptions['secretsMasterKeys'];
  /** Where the API logs (silent by default, or at TEST_LOG_LEVEL). */
  logger?: ApiServerOptions['logger'];
}

/** The facts a test device enrolls and checks in with. */
/**
 * Connections the API has taken so far from the pools that serve requests (every query outside a transaction takes
 * one); the background pool (the outbox dispatcher's polls) serves none.
 */
export async function requestPoolCheckouts(t: TestApi): Promise<number> {
  const metric = await t.api.deps.metrics.dbCheckouts.get();
  return metric.values.filter((v) => v.labels.pool !== 'background').reduce((sum, v) => sum + v.value, 0);
}

export const deviceFacts = (hostname: string) => ({
  hostname,
  osFamily: 'linux' as const,
  osName: 'Debian',
  osVersion: '12',
  architecture: 'x64',
  ipAddresses: ['127.0.0.1'],
  agentVersion: '0.1.0',
});

export async function startTestApi(config: Partial<ApiConfig> = {}, options: TestApiOptions = {}): Promise<TestApi> {
  const database = await createTestDatabase();
  const fileStoreDir = await mkdtemp(join(tmpdir(), 'opsconductor-files-'));
  const depotDir = await mkdtemp(join(tmpdir(), 'opsconductor-depot-'));
  const api = await startApiServer({
    databaseUrl: options.databaseUrl?.(database.url) ?? database.url,
    temporalAddress: options.temporalAddress ?? inject('temporalAddress'),
    port: 0,
    ...(options.metricsListener ? { metrics: { port: 0 } } : {}),
    ...(options.inventoryHooks ? { inventoryHooks: options.inventoryHooks } : {}),
    ...(options.secretsMasterKeys ? { secretsMasterKeys: options.secretsMasterKeys } : {}),
    logger: options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    // A task queue of its own: no other test's worker takes its runs or counts as its worker.
    config: { pollWaitSeconds: 5, temporalTaskQueue: `test-api-${randomUUID()}`, fileStoreDir, depotDir, ...config },
  });
  let n = 0;
  const request: TestApi['request'] = (path, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('authorization', `Bearer ${init.token}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    return fetch(api.url + path, { ...init, headers, body });
  };
  const t: TestApi = {
    api,
    database,
    url: api.url,
    request,
    async createUser(role, email = `${role}-${++n}-${Date.now()}@example.com`) {
      const u = await database.db.prisma.user.create({
        data: { email, name: role, role, passwordHash: await hashPassword(TEST_PASSWORD) },
      });
      return { id: u.id, email };
    },
    async login(email, password = TEST_PASSWORD) {
      const res = await request('/api/v1/auth/login', { method: 'POST', json: { email, password } });
      if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
    async tokenFor(role) {
      return t.login((await t.createUser(role)).email);
    },
    async createEnrollmentToken(adminToken, body = {}) {
      const res = await request('/api/v1/enrollment-tokens', { method: 'POST', token: adminToken, json: { name: 'test', ...body } });
      if (res.status !== 201) throw new Error(`token creation failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
    async enrollDevice(enrollmentToken, hostname = `host-${++n}`) {
      const res = await request('/agent/v1/enroll', {
        method: 'POST',
        json: {
          enrollmentToken,
          facts: deviceFacts(hostname),
        },
      });
      if (res.status !== 201) throw new Error(`enroll failed: ${res.status} ${await res.text()}`);
      return (await res.json()) as { deviceId: string; deviceSecret: string };
    },
    async close() {
      await api.close();
      await database.drop();
      await rm(fileStoreDir, { recursive: true, force: true });
      await rm(depotDir, { recursive: true, force: true });
    },
  };
  return t;
}
