/**
 * scripts/build-service.mjs on a throwaway package: workspace packages are inlined, npm packages stay external, a
 * deep import into a package without an `exports` map gets the file name Node's ESM loader needs, and an npm package
 * that the importing package does not declare in `dependencies` fails the build.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { repoRoot } from '../support/tools.ts';

const run = promisify(execFile);
let dir: string;
const pkg = () => join(dir, 'service');
const writeManifest = (dependencies: Record<string, string>) =>
  writeFile(join(pkg(), 'package.json'), JSON.stringify({ name: 'fixture-service', type: 'module', dependencies }));
const build = () => run(process.execPath, [join(repoRoot, 'scripts/build-service.mjs'), 'src/main.ts'], { cwd: pkg() });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opsconductor-build-service-'));
  await mkdir(join(pkg(), 'src'), { recursive: true });
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  await writeFile(
    join(pkg(), 'src/main.ts'),
    [
      "import pino from 'pino';",
      "import { defineSearchAttributeKey } from '@temporalio/common/lib/search-attributes';",
      "import { roles } from '@opsconductor/contracts';",
      "console.log(typeof pino, typeof defineSearchAttributeKey, roles.includes('admin'));",
    ].join('\n'),
  );
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('fails listing the npm packages the importing package does not declare', async () => {
  await writeManifest({ pino: '*' });
  const failure = await build().then(
    () => null,
    (err: { code: number; stderr: string }) => err,
  );
  expect(failure?.code).toBe(1);
  expect(failure?.stderr).toContain('fixture-service (.) imports @temporalio/common in src/main.ts');
  expect(failure?.stderr).not.toContain('imports pino');
});

it('inlines workspace packages, keeps npm packages external and spells out deep imports', async () => {
  await writeManifest({ pino: '*', '@temporalio/common': '*' });
  await build();
  const bundle = await readFile(join(pkg(), 'dist/main.js'), 'utf8');
  expect(bundle).toMatch(/from "pino"/);
  expect(bundle).toContain('from "@temporalio/common/lib/search-attributes.js"');
  expect(bundle).not.toContain('@opsconductor/');
  const { stdout } = await run(process.execPath, [join(pkg(), 'dist/main.js')], { cwd: pkg() });
  expect(stdout.trim()).toBe('function function true');
});
