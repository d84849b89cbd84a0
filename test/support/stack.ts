/**
 * The product as separate processes for end-to-end tests: API and worker (killable and restartable),
 * real agent processes, optionally the console; on a fresh database and the run's Temporal server.
 * From sources with tsx by default; with `production`, the services run with plain `node` from a staged
 * production build (scripts/stage-production.mjs). The agent always runs from sources.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { inject } from 'vitest';
import { seedAdmin } from '@opsconductor/db/seed';
import { readConfig } from '../../agent/src/state.ts';
import { fromSources, startChild, type Child } from '../../scripts/lib/child.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { freePort, repoRoot, waitFor } from './tools.ts';

export const ADMIN = { email: 'admin@example.com', password: 'e2e-Hx4v-Pn7s-Bq2m' };

export interface AgentHandle {
  deviceId: string;
  stateDir: string;
  process?: Child;
  /** Starts the agent process; `env` is added to its environment (e.g. OPSCONDUCTOR_AGENT_BOOT_ID). */
  start(env?: Record<string, string>): Promise<void>;
  /** SIGTERM by default; SIGKILL simulates a crash. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

export interface Stack {
  database: TestDatabase;
  apiUrl: string;
  webUrl?: string;
  adminToken: string;
  logs: string[];
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  startApi(): Promise<void>;
  stopApi(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  startWorker(): Promise<void>;
  stopWorker(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  enrollAgent(): Promise<AgentHandle>;
  close(): Promise<void>;
}

export interface StackOptions {
  web?: boolean;
  /** The folder of a staged production build: API, worker and console run from it with plain `node`. */
  production?: string;
  /** A database to use instead of a fresh clone of the migrated template (closing the stack drops it). */
  database?: TestDatabase;
  /** More environment for the API and the worker (e.g. Temporal TLS settings). */
  serviceEnv?: Record<string, string>;
}

/** The environment of a production process: nothing of the dev tree (node_modules/.bin: tsx, …) on PATH. */
export function productionEnv(): Record<string, string> {
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !dir.includes('node_modules'))
    .join(delimiter);
  return { PATH: path, NODE_OPTIONS: '', NODE_PATH: '', NODE_ENV: 'production' };
}

/** How each service starts: from sources with tsx, or built with node in the production environment. */
function serviceCommands(production: string | undefined): {
  api: [command: string, args: string[]];
  worker: [command: string, args: string[]];
  webDir: string;
  env: Record<string, string>;
} {
  if (!production) {
    return {
      api: fromSources(join(repoRoot, 'apps/api/src/main.ts')),
      worker: fromSources(join(repoRoot, 'workers/src/main.ts')),
      webDir: join(repoRoot, 'apps/web'),
      env: {},
    };
  }
  return {
    api: [process.execPath, [join(production, 'apps/api/dist/main.js')]],
    worker: [process.execPath, [join(production, 'workers/dist/main.js')]],
    webDir: join(production, 'apps/web'),
    env: productionEnv(),
  };
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const database = opts.database ?? (await createTestDatabase());
  await seedAdmin(database.db.prisma, ADMIN);
  const commands = serviceCommands(opts.production);
  const temporalAddress = inject('temporalAddress');
  const apiPort = await freePort();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const scratch = await mkdtemp(join(tmpdir(), 'opsconductor-e2e-'));
  const logs: string[] = [];
  const output = (name: string) => (line: string) => {
    logs.push(`[${name}] ${line}`);
    if (logs.length > 5000) logs.shift();
    if (process.env.E2E_VERBOSE) console.log(`[${name}] ${line}`);
  };
  // Stacks of different test files share the Temporal server: each gets its own task queue, or one
  // stack's worker would pick up another stack's runs.
  const common = {
    ...commands.env,
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    LOG_LEVEL: 'info',
    ...opts.serviceEnv,
  };
  const secretsMasterKeys = `stack:${randomBytes(32).toString('base64')}`;
  let apiChild: Child | undefined;
  let workerChild: Child | undefined;
  let webChild: Child | undefined;
  const agents: AgentHandle[] = [];

  async function startApi() {
    apiChild = startChild('api', ...commands.api, {
      env: {
        ...common,
        API_PORT: String(apiPort),
        API_HOST: '127.0.0.1',
        API_METRICS_PORT: '0',
        API_PUBLIC_URL: apiUrl,
        TRUSTED_PROXIES: '127.0.0.1',
        DB_POOL_MAX: '10',
        FILE_STORE_DIR: join(scratch, 'files'),
        DEPOT_DIR: join(scratch, 'depot'),
        // Required in production (the production stack runs with NODE_ENV=production).
        SECRETS_MASTER_KEYS: secretsMasterKeys,
      },
      output: output('api'),
    });
    await waitFor('API health', async () => (await fetch(`${apiUrl}/healthz`)).ok, 60_000, 200);
  }
  async function startWorker() {
    workerChild = startChild('worker', ...commands.worker, {
      // The worker delivers alert notifications: it reads channels' configurations from the secret store.
      env: { ...common, WORKER_METRICS_PORT: String(await freePort()), SECRETS_MASTER_KEYS: secretsMasterKeys },
      output: output('worker'),
    });
    await waitFor(
      'worker to poll',
      async () => logs.some((l) => l.startsWith('[worker]') && /RUNNING|Worker state changed|worker started/i.test(l)),
      90_000,
      200,
    );
  }

  await startApi();
  await startWorker();
  const login = await fetch(`${apiUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ADMIN),
  });
  const adminToken = ((await login.json()) as { token: string }).token;

  let webUrl: string | undefined;
  if (opts.web) {
    const webPort = await freePort();
    webUrl = `http://127.0.0.1:${webPort}`;
    webChild = startChild('web', process.execPath, ['server.mjs'], {
      cwd: commands.webDir,
      env: {
        ...commands.env,
        PORT: String(webPort),
        HOST: '127.0.0.1',
        API_URL: apiUrl,
        NODE_ENV: 'production',
        SESSION_SECRET: 'e2e-session-secret-e2e-session-secret',
      },
      output: output('web'),
    });
    await waitFor('console', async () => (await fetch(`${webUrl}/login`)).ok, 60_000, 200);
  }

  const api: Stack['api'] = async (method, path, body) => {
    const res = await fetch(apiUrl + path, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  return {
    database,
    apiUrl,
    webUrl,
    adminToken,
    logs,
    api,
    startApi,
    async stopApi(signal = 'SIGTERM') {
      if (signal === 'SIGKILL') apiChild?.kill('SIGKILL');
      await apiChild?.stop();
    },
    startWorker,
    async stopWorker(signal = 'SIGTERM') {
      if (signal === 'SIGKILL') workerChild?.kill('SIGKILL');
      await workerChild?.stop();
    },
    async enrollAgent() {
      const created = await api('POST', '/api/v1/enrollment-tokens', { name: 'e2e', maxUses: 1, expiresInHours: 1 });
      const stateDir = await mkdtemp(join(scratch, 'agent-'));
      const enroll = startChild(
        'agent-enroll',
        ...fromSources(join(repoRoot, 'agent/src/cli.ts'), [
          'enroll',
          '--server',
          apiUrl,
          '--token',
          created.body.token,
          '--state-dir',
          stateDir,
        ]),
        { output: output('agent-enroll') },
      );
      if ((await enroll.exited) !== 0)
        throw new Error(`agent enroll failed:\n${logs.filter((l) => l.startsWith('[agent-enroll]')).join('\n')}`);
      // The agent's own record of its device (the newest device would be another's when agents enrol at once).
      const device = await database.db.prisma.device.findUniqueOrThrow({ where: { id: readConfig(stateDir).deviceId } });
      const handle: AgentHandle = {
        deviceId: device.id,
        stateDir,
        async start(env = {}) {
          handle.process = startChild(
            `agent-${device.id.slice(0, 8)}`,
            ...fromSources(join(repoRoot, 'agent/src/cli.ts'), ['run', '--state-dir', stateDir]),
            { env, output: output(`agent-${device.id.slice(0, 8)}`) },
          );
          const since = new Date();
          // The agent's first request is a check-in: seen at or after its start means this process runs
          // (enrollment also sets last-seen, so an earlier timestamp proves nothing).
          await waitFor(
            'agent check-in',
            async () => {
              const d = await database.db.prisma.device.findUnique({ where: { id: device.id } });
              return d?.lastSeenAt && d.lastSeenAt >= since && d.agentStoppedAt === null && handle.process?.process.exitCode === null;
            },
            60_000,
            200,
          );
        },
        async stop(signal = 'SIGTERM') {
          if (signal === 'SIGKILL') handle.process?.kill('SIGKILL');
          await handle.process?.stop();
        },
      };
      agents.push(handle);
      return handle;
    },
    async close() {
      await Promise.allSettled([...agents.map((a) => a.stop()), webChild?.stop(), workerChild?.stop(), apiChild?.stop()]);
      await database.drop();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** Polls a run until it has finished (or the timeout passes) and returns it. */
export async function waitForRun(stack: Stack, id: string, timeoutMs = 60_000): Promise<any> {
  return waitFor(
    `run ${id} to finish`,
    async () => {
      const { body } = await stack.api('GET', `/api/v1/job-runs/${id}`);
      return body?.finishedAt ? body : null;
    },
    timeoutMs,
    250,
  );
}

/** Uploads a file for `file.fetch` commands and file copy steps (POST /api/v1/files, as the admin). */
export async function uploadFile(stack: Stack, name: string, content: Buffer): Promise<{ sha256: string; size: number }> {
  const res = await fetch(`${stack.apiUrl}/api/v1/files?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/octet-stream' },
    body: content,
  });
  if (res.status !== 201) throw new Error(`uploading ${name}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { sha256: string; size: number };
}

/** All stdout (or stderr) text of one device in a run. */
export async function outputOf(stack: Stack, runId: string, deviceId: string, stream: 'stdout' | 'stderr' = 'stdout'): Promise<string> {
  const { body } = await stack.api('GET', `/api/v1/job-runs/${runId}/output?deviceId=${deviceId}&limit=5000`);
  return (body.items as { stream: string; data: string }[])
    .filter((c) => c.stream === stream)
    .map((c) => c.data)
    .join('');
}
