/** Where the Temporal binaries are: env override, else .tools/bin (installed by scripts/ensure-tools.mjs). */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
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
