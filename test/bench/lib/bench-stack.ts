/**
 * The product as separate processes for benchmarks: embedded PostgreSQL, a Temporal dev server (optional), the
 * API built to plain JavaScript and run with `node` (as in production, so its RSS and CPU are the product's) and
 * a worker, each on a fresh data directory, and the console's production server (optional). Their process IDs are
 * exposed for /proc measurements.
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase } from '@opsconductor/db';
import { startEmbeddedPostgres, type RunningPostgres } from '@opsconductor/db/embedded';
import { migrate } from '@opsconductor/db/migrate';
import { seedAdmin } from '@opsconductor/db/seed';
import { fromSources, startChild, type Child } from '../../../scripts/lib/child.ts';
import { freePort, repoRoot, startTemporalDevServer, waitFor, type DevServer } from '../../../scripts/lib/temporal.ts';
import { processTree } from './proc.ts';

export const BENCH_ADMIN = { email: 'operator@example.com', password: 'Qx7v-Lm3k-Rt9p-Wz4d' };

export interface BenchStack {
  apiUrl: string;
  databaseUrl: string;
  adminToken: string;
  /** The API's process (node, not a launcher). */
  apiPid: number;
  /** The postmaster and its backends, at the time of the call. */
  postgresPids(): number[];
  temporalPid?: number;
  /** The Temporal dev server's frontend (host:port), when there is one; its namespace is `default`. */
  temporalAddress?: string;
  /** The console (its production server, `node server.mjs`), when started with `web` and its build could be made. */
  webUrl?: string;
  webPid?: number;
  /** Which console build runs, or why none does. */
  webNote?: string;
  /** Signs in to the console as the bench admin (its login form): the session cookie to send as `Cookie`. */
  webSession(): Promise<string>;
  /** The worker's processes (its launcher and node), when there is a worker. */
  workerPids(): number[];
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; ms: number }>;
  /** The API's Prometheus metrics, as text. */
  metrics(): Promise<string>;
  enrollmentToken(maxUses: number): Promise<string>;
  /** The last lines the services logged (for a failure report). */
  logs: string[];
  close(): Promise<void>;
}

export interface BenchStackOptions {
  /** Start Temporal and a worker (job runs); without, only PostgreSQL and the API. */
  temporal?: boolean;
  /** More environment for the API. */
  apiEnv?: Record<string, string>;
  /** Start the console too (see consoleBuild: which build). */
  web?: boolean;
  /** Flags for the API's node, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] (default: BENCH_API_NODE_ARGS, space-separated). */
  apiNodeArgs?: string[];
}

/** `KEY=value KEY2=value2` (BENCH_API_ENV, BENCH_WORKER_ENV) as an environment, e.g. to try another AGENT_DB_POOL_MAX. */
function envFromList(list: string | undefined): Record<string, string> {
  return Object.fromEntries(
    (list ?? '')
      .split(' ')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

let built = false;
/** The API as production runs it: bundled by scripts/build-service.mjs (once per benchmark process). */
function buildApi(): string {
  if (!built) {
    execFileSync(process.execPath, [join(repoRoot, 'scripts/build-service.mjs'), 'src/main.ts'], {
      cwd: join(repoRoot, 'apps/api'),
      stdio: 'inherit',
    });
    built = true;
  }
  return join(repoRoot, 'apps/api/dist/main.js');
}

/** Newest modification time (ms) of the files under `dir` (0 when it does not exist). */
function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * The console to run: `apps/web` when its build (`npm run build -w @opsconductor/web`) is there and newer than the
 * console's and the contracts' sources. Otherwise the console of the commit checked out, built in a folder of its
 * own (`.data/bench-web-<commit>`, kept for the next run), so the benchmark never writes `apps/web/build` while
 * someone edits the console. `note` says which one it is.
 */
function consoleBuild(): { dir: string; note: string } {
  const webDir = join(repoRoot, 'apps/web');
  const bundle = join(webDir, 'build/server/index.js');
  const sources = Math.max(
    ...['apps/web/app', 'apps/web/public', 'packages/contracts/src'].map((d) => newestMtime(join(repoRoot, d))),
    statSync(join(webDir, 'vite.config.ts')).mtimeMs,
  );
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= sources) return { dir: webDir, note: 'apps/web/build' };
  const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  // Two folders below the root, as apps/web is: its tsconfig extends ../../tsconfig.base.json; node_modules are the root's.
  const dir = join(repoRoot, '.data', `bench-web-${commit}`);
  mkdirSync(join(repoRoot, '.data'), { recursive: true });
  if (!existsSync(join(dir, 'build/server/index.js'))) {
    // Builds of earlier commits are not needed any more.
    for (const old of readdirSync(join(repoRoot, '.data'), { withFileTypes: true }))
      if (old.isDirectory() && old.name.startsWith('bench-web-'))
        rmSync(join(repoRoot, '.data', old.name), { recursive: true, force: true });
    execFileSync(
      'sh',
      ['-c', `rm -rf '${dir}' && mkdir -p '${dir}' && git archive ${commit} apps/web | tar -x -C '${dir}' --strip-components=2`],
      {
        cwd: repoRoot,
      },
    );
    execFileSync(process.execPath, [join(repoRoot, 'node_modules/@remix-run/dev/dist/cli.js'), 'vite:build'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }
  return { dir, note: `built from commit ${commit} (apps/web/build was missing or older than its sources)` };
}

/** Runs `command` with the soft open-file limit raised to the hard one (a socket per simulated device). */
function withOpenFileLimit(command: string[]): [string, string[]] {
  const quoted = command.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  return ['/bin/sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${quoted}`]];
}

export async function startBenchStack(opts: BenchStackOptions = {}): Promise<BenchStack> {
  const dir = await mkdtemp(join(tmpdir(), 'opsconductor-bench-'));
  await chmod(dir, 0o755);
  const logs: string[] = [];
  const output = (name: string) => (line: string) => {
    logs.push(`[${name}] ${line}`);
    if (logs.length > 2000) logs.shift();
    if (process.env.BENCH_VERBOSE) console.error(`[${name}] ${line}`);
  };
  const children: Child[] = [];
  let pg: RunningPostgres | undefined;
  let temporal: DevServer | undefined;
  const close = async () => {
    await Promise.allSettled(children.reverse().map((c) => c.stop()));
    await Promise.allSettled([temporal?.stop(), pg?.stop()]);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const dataDir = join(dir, 'pg');
    [pg, temporal] = await Promise.all([
      (async () => startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'bench' }))(),
      opts.temporal ? startTemporalDevServer() : undefined,
    ]);
    await migrate(pg.url);
    const db = createDatabase({ url: pg.url, poolMax: 2 });
    await seedAdmin(db.prisma, BENCH_ADMIN);
    await db.close();

    const taskQueue = 'bench-jobs';
    const common = {
      DATABASE_URL: pg.url,
      TEMPORAL_ADDRESS: temporal?.address ?? '127.0.0.1:1',
      TEMPORAL_TASK_QUEUE: taskQueue,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    };
    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const metricsPort = await freePort();
    const nodeArgs = opts.apiNodeArgs ?? process.env.BENCH_API_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const [cmd, args] = withOpenFileLimit([process.execPath, ...nodeArgs, buildApi()]);
    const api = startChild('api', cmd, args, {
      env: {
        ...common,
        NODE_ENV: 'production',
        SECRETS_MASTER_KEYS: `bench:${randomBytes(32).toString('base64')}`,
        FILE_STORE_DIR: join(dir, 'files'),
        API_HOST: '127.0.0.1',
        API_PORT: String(apiPort),
        API_METRICS_PORT: String(metricsPort),
        API_PUBLIC_URL: apiUrl,
        ...envFromList(process.env.BENCH_API_ENV),
        ...opts.apiEnv,
      },
      output: output('api'),
    });
    children.push(api);
    await waitFor('the API', async () => (await fetch(`${apiUrl}/healthz`)).ok, 60_000, 200);
    let workerPid: number | undefined;
    if (opts.temporal) {
      const worker = startChild('worker', ...fromSources(join(repoRoot, 'workers/src/main.ts')), {
        env: { ...common, WORKER_METRICS_PORT: '0', LOG_LEVEL: 'info', ...envFromList(process.env.BENCH_WORKER_ENV) },
        output: output('worker'),
      });
      children.push(worker);
      workerPid = worker.process.pid;
      await waitFor(
        'the worker to poll',
        async () => logs.some((l) => l.startsWith('[worker]') && /RUNNING|worker started/i.test(l)),
        180_000,
        250,
      );
    }

    const login = await fetch(`${apiUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(BENCH_ADMIN),
    });
    if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
    const adminToken = ((await login.json()) as { token: string }).token;
    const call: BenchStack['api'] = async (method, path, body, headers = {}) => {
      const began = performance.now();
      const res = await fetch(apiUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed, ms: performance.now() - began };
    };
    let webUrl: string | undefined;
    let webPid: number | undefined;
    let webNote: string | undefined;
    let webDir: string | undefined;
    if (opts.web) {
      try {
        ({ dir: webDir, note: webNote } = consoleBuild());
      } catch (err) {
        const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
        webNote = `not started: its build failed (${(stderr.split('\n').find((l) => /error|failed/i.test(l)) ?? (err as Error).message).trim()})`;
      }
    }
    if (webDir) {
      webUrl = `http://127.0.0.1:${await freePort()}`;
      const web = startChild('web', process.execPath, ['server.mjs'], {
        cwd: webDir,
        env: {
          PORT: new URL(webUrl).port,
          HOST: '127.0.0.1',
          API_URL: apiUrl,
          NODE_ENV: 'production',
          SESSION_SECRET: randomBytes(32).toString('hex'),
        },
        output: output('web'),
      });
      children.push(web);
      webPid = web.process.pid;
      await waitFor('the console', async () => (await fetch(`${webUrl}/login`)).ok, 60_000, 200);
    }
    const webSession = async () => {
      if (!webUrl) throw new Error('the console was not started (web: true)');
      const res = await fetch(`${webUrl}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: webUrl },
        body: new URLSearchParams({ ...BENCH_ADMIN, redirectTo: '/' }),
        redirect: 'manual',
      });
      const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]!);
      if (res.status !== 302 || cookies.length === 0) throw new Error(`console login failed: ${res.status} ${await res.text()}`);
      return cookies.join('; ');
    };
    const postmaster = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    return {
      apiUrl,
      databaseUrl: pg.url,
      adminToken,
      apiPid: api.process.pid!,
      logs,
      postgresPids: () => processTree(postmaster),
      workerPids: () => (workerPid === undefined ? [] : processTree(workerPid)),
      ...(temporal ? { temporalPid: temporal.process.pid!, temporalAddress: temporal.address } : {}),
      ...(webUrl ? { webUrl, webPid: webPid! } : {}),
      ...(webNote ? { webNote } : {}),
      webSession,
      api: call,
      metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
      async enrollmentToken(maxUses) {
        const res = await call('POST', '/api/v1/enrollment-tokens', { name: 'bench', maxUses, expiresInHours: 24 });
        if (res.status !== 201) throw new Error(`token creation failed: ${res.status} ${JSON.stringify(res.body)}`);
        return res.body.token as string;
      },
      close,
    };
  } catch (err) {
    console.error(logs.slice(-50).join('\n'));
    await close();
    throw err;
  }
}
