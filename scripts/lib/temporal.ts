/**
 * The Temporal CLI and test server binaries (env override, else .tools/bin from scripts/ensure-tools.mjs),
 * and `temporal server start-dev` with our search attributes (in-memory, or SQLite with a db file).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { devServerSearchAttributeArgs } from '@opsconductor/workflows/search-attributes';
import { answers, isPortTaken } from './ports.ts';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function tool(envName: string, bin: string): string {
  const path = process.env[envName] || join(repoRoot, '.tools', 'bin', bin);
  if (!existsSync(path)) throw new Error(`${bin} not found at ${path}: run node scripts/ensure-tools.mjs or set ${envName}`);
  return path;
}
export const temporalCliPath = () => tool('TEMPORAL_CLI', 'temporal');
export const temporalTestServerPath = () => tool('TEMPORAL_TEST_SERVER', 'temporal-test-server');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < until) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

export interface DevServer {
  address: string;
  uiPort: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(opts: { port?: number; uiPort?: number; dbFilename?: string } = {}): Promise<DevServer> {
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  // Waiting for the port to answer would otherwise succeed on somebody else's server.
  for (const p of [port, uiPort])
    if (await isPortTaken('127.0.0.1', p)) throw new Error(`port ${p} is in use: another Temporal server is running there`);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort), '--log-level', 'error'];
  if (opts.dbFilename) args.push('--db-filename', opts.dbFilename);
  else args.push('--headless');
  args.push(...devServerSearchAttributeArgs());
  const child = spawn(temporalCliPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const failed = exited.then(() => {
    throw new Error(`temporal exited: ${stderr.trim() || `code ${child.exitCode}`}`);
  });
  failed.catch(() => {});
  try {
    await Promise.race([waitFor(`temporal dev server on ${port}`, () => answers('127.0.0.1', port)), failed]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    address: `127.0.0.1:${port}`,
    uiPort,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
