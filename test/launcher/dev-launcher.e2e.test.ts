/**
 * `npm run dev` for real (scripts/dev.ts from sources on a temporary DATA_DIR and free ports): embedded
 * PostgreSQL, a Temporal dev server, API, worker and console. It comes up ready on loopback only,
 * never prints the admin password, refuses a second launcher that would share its ports or data,
 * restarts a crashed API, and stops in order on SIGTERM. One launcher run: it is slow.
 */
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromSources, startChild, type Child } from '../../scripts/lib/child.ts';
import { answers } from '../../scripts/lib/ports.ts';
import { freePort, repoRoot, waitFor } from '../support/tools.ts';

const portVariables = [
  'PG_PORT',
  'TEMPORAL_PORT',
  'TEMPORAL_UI_PORT',
  'API_PORT',
  'API_METRICS_PORT',
  'WEB_PORT',
  'WORKER_METRICS_PORT',
] as const;
type Ports = Record<(typeof portVariables)[number], number>;

async function freePorts(): Promise<Ports> {
  const ports = {} as Ports;
  for (const name of portVariables) ports[name] = await freePort();
  return ports;
}

function launch(dataDir: string, ports: Ports, lines: string[]): Child {
  const env: NodeJS.ProcessEnv = { DATA_DIR: dataDir, LOG_LEVEL: 'info' };
  for (const name of portVariables) env[name] = String(ports[name]);
  // Whatever the developer's shell has must not leak in.
  for (const name of [
    'DATABASE_URL',
    'TEMPORAL_ADDRESS',
    'ADMIN_PASSWORD',
    'API_HOST',
    'API_METRICS_HOST',
    'WEB_HOST',
    'WORKER_METRICS_HOST',
    'METRICS_TOKEN',
    'SECRETS_MASTER_KEYS',
  ])
    env[name] = undefined;
  return startChild('dev', ...fromSources(join(repoRoot, 'scripts/dev.ts')), {
    env,
    output: (line) => {
      lines.push(line);
      if (process.env.E2E_VERBOSE) console.log(`[launcher] ${line}`);
    },
  });
}

/** Local addresses of listening TCP sockets on `port` (Linux /proc). */
function listenAddresses(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const [, local, , state] = row.trim().split(/\s+/);
      if (!local || state !== '0A') continue; // 0A = LISTEN
      const [hexAddress, hexPort] = local.split(':') as [string, string];
      if (Number.parseInt(hexPort, 16) !== port) continue;
      found.push(
        hexAddress.length === 8
          ? hexAddress
              .match(/../g)!
              .reverse()
              .map((b) => Number.parseInt(b, 16))
              .join('.')
          : hexAddress,
      );
    }
  }
  return found;
}
const IPV4_LOOPBACK = '127.0.0.1';
const IPV6_LOOPBACK = '00000000000000000000000001000000';

const apiPid = (lines: string[]) =>
  lines.filter((l) => l.startsWith('[api] ') && l.includes('"API listening"')).map((l) => (JSON.parse(l.slice(6)) as { pid: number }).pid);

describe('npm run dev', () => {
  let scratch: string;
  let dataDir: string;
  let ports: Ports;
  const lines: string[] = [];
  let dev: Child | undefined;
  const apiUrl = () => `http://127.0.0.1:${ports.API_PORT}`;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'opsconductor-dev-'));
    await chmod(scratch, 0o755); // as root, PostgreSQL runs as `postgres` and must reach its data dir
    dataDir = join(scratch, 'data');
    // The ports are free when picked, but other test files running meanwhile may take one first: the launcher then
    // refuses to start ("port … is in use") and is launched again on other ports. Any other early exit fails at once.
    for (let attempt = 1; ; attempt++) {
      ports = await freePorts();
      const from = lines.length;
      const child = launch(dataDir, ports, lines);
      dev = child;
      let exited = false;
      void child.exited.then(() => (exited = true));
      await waitFor('the API', async () => exited || (await fetch(`${apiUrl()}/healthz`)).ok, 240_000, 500);
      if (!exited) break;
      const output = lines.slice(from);
      if (attempt === 3 || !output.some((l) => /port \d+ is in use/.test(l))) {
        throw new Error(`npm run dev exited before the API came up:\n${output.slice(-40).join('\n')}`);
      }
    }
  }, 300_000);

  afterAll(async () => {
    if (process.env.E2E_DUMP_LOGS) console.log(lines.join('\n'));
    await dev?.stop(30_000);
    await rm(scratch, { recursive: true, force: true });
  });

  it('comes up ready (worker included) on loopback only, with the password in a private file, not in the log', async () => {
    await waitFor('readiness', async () => (await fetch(`${apiUrl()}/readyz`)).status === 200, 180_000, 500);
    await waitFor('the console', () => answers('127.0.0.1', ports.WEB_PORT), 120_000, 500);
    await waitFor('worker metrics', () => answers('127.0.0.1', ports.WORKER_METRICS_PORT), 60_000, 500);
    for (const name of portVariables) {
      const addresses = listenAddresses(ports[name]);
      expect(addresses.length, `${name} listens`).toBeGreaterThan(0);
      for (const a of addresses) expect([IPV4_LOOPBACK, IPV6_LOOPBACK], `${name} listens on ${a}`).toContain(a);
    }

    expect((await fetch(`${apiUrl()}/metrics`)).status).toBe(404);
    expect(await (await fetch(`http://127.0.0.1:${ports.API_METRICS_PORT}/metrics`)).text()).toContain(
      'opsconductor_api_http_requests_total',
    );

    const passwordFile = join(dataDir, 'admin-password.txt');
    expect((await stat(passwordFile)).mode & 0o777).toBe(0o600);
    const password = (await readFile(passwordFile, 'utf8')).trim();
    expect(password.length).toBeGreaterThanOrEqual(12);
    expect(lines.filter((l) => l.includes(password))).toEqual([]);
    expect(lines).toContain(`    Password     in ${passwordFile} (readable by you only)`);
    const login = await fetch(`${apiUrl()}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@opsconductor.local', password }),
    });
    expect(login.status).toBe(200);

    // The secret store's master key: made on first start, private, never logged, and the API uses it.
    const keyFile = join(dataDir, 'secrets-master-keys.txt');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const [keyId, key] = (await readFile(keyFile, 'utf8')).trim().split(':') as [string, string];
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(lines.filter((l) => l.includes(key))).toEqual([]);
    const { token } = (await login.json()) as { token: string };
    const keys = await fetch(`${apiUrl()}/api/v1/admin/secrets/keys`, { headers: { authorization: `Bearer ${token}` } });
    expect(await keys.json()).toMatchObject({ configured: true, currentKeyId: keyId });
  }, 300_000);

  it('refuses a second launcher on the same ports, naming each variable, and one on the same DATA_DIR', async () => {
    const second: string[] = [];
    const sameScratch = await mkdtemp(join(scratch, 'second-'));
    const code = await launch(join(sameScratch, 'data'), ports, second).exited;
    expect(code, second.join('\n')).not.toBe(0);
    expect(second).toContain(
      `[dev] port ${ports.TEMPORAL_PORT} is in use (TEMPORAL_PORT): another OpsConductor or Temporal is running; stop it or set TEMPORAL_PORT`,
    );
    expect(second).toContain(
      `[dev] port ${ports.PG_PORT} is in use (PG_PORT): another OpsConductor or PostgreSQL is running; stop it or set PG_PORT`,
    );
    for (const name of portVariables)
      expect(
        second.some((l) => l.includes(`(${name})`)),
        name,
      ).toBe(true);
    expect(second.join('\n')).not.toMatch(/undefined/);

    const third: string[] = [];
    expect(await launch(dataDir, await freePorts(), third).exited, third.join('\n')).not.toBe(0);
    expect(third.join('\n')).toMatch(/DATA_DIR .* is in use by another launcher \(pid \d+\): stop it or set DATA_DIR/);
    expect(third.join('\n')).not.toMatch(/undefined/);
    // The running stack was not disturbed.
    expect((await fetch(`${apiUrl()}/readyz`)).status).toBe(200);
  }, 120_000);

  it('restarts the API after it is killed, and says so', async () => {
    const [pid] = apiPid(lines);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    await waitFor(
      'the restart message',
      async () => lines.some((l) => /^\[dev\] api was killed by SIGKILL; restarting in 1 s \(attempt 1\)$/.test(l)),
      30_000,
      100,
    );
    await waitFor(
      'the API again',
      async () =>
        apiPid(lines).length === 2 &&
        (await fetch(`${apiUrl()}/healthz`).then(
          (r) => r.ok,
          () => false,
        )),
      90_000,
      250,
    );
    expect(apiPid(lines)[1]).not.toBe(pid);
  }, 120_000);

  it('stops in order on SIGTERM and exits 0', async () => {
    const from = lines.length;
    dev!.process.kill('SIGTERM');
    const code = await dev!.exited;
    dev = undefined;
    const stops = lines.slice(from).filter((l) => l.startsWith('[dev] stop'));
    expect(stops).toEqual([
      '[dev] stopping…',
      '[dev] stopped console',
      '[dev] stopped api',
      '[dev] stopped worker',
      '[dev] stopped Temporal',
      '[dev] stopped PostgreSQL',
      '[dev] stopped',
    ]);
    expect(code, lines.slice(from).join('\n')).toBe(0);
    for (const name of portVariables) expect(await answers('127.0.0.1', ports[name]), `${name} still answers`).toBe(false);
  }, 120_000);
});
