#!/usr/bin/env node
/**
 * Assembles the production build into a folder that runs with plain `node` and only production dependencies:
 *   node scripts/stage-production.mjs <target>       (after `npm run build`)
 * The folder holds the built services (dist/, the console's build/), the migrations, the package.json files of the
 * workspace packages the services depend on (their sources are inlined in the bundles and are left out), the lockfile,
 * and node_modules pruned with `npm prune --omit=dev`: no tsx, no bundler, no test tools. docker/Dockerfile ships
 * exactly this folder; the smoke test (test/smoke/production-build.test.ts) runs the services from it.
 *   node <target>/prisma/dist/migrate.js    node <target>/prisma/dist/seed.js
 *   node <target>/apps/api/dist/main.js     node <target>/workers/dist/main.js    (cd <target>/apps/web && node server.mjs)
 * node_modules is copied as hard links when the target is on the same file system (seconds instead of a copy of the
 * whole tree); npm rewrites only its own lockfiles there, which are therefore real copies.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = process.argv[2] ? resolve(process.argv[2]) : undefined;
if (!target) {
  console.error('usage: stage-production.mjs <target-dir>');
  process.exit(2);
}

/** The services and what each needs at run time besides its package.json. */
const services = {
  '@opsconductor/db': ['dist/migrate.js', 'dist/seed.js', 'migrations'],
  '@opsconductor/api': ['dist/main.js', 'dist/scalar-api-reference.js'],
  '@opsconductor/workers': ['dist/main.js', 'dist/workflow-bundle.js'],
  '@opsconductor/web': ['build/server/index.js', 'build/client', 'server.mjs', 'same-origin.mjs'],
};

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const rootManifest = readJson(join(root, 'package.json'));

// Workspace folders by package name (root workspaces are folders or folder/* globs).
const workspaces = new Map();
for (const pattern of rootManifest.workspaces) {
  const dirs = pattern.endsWith('/*')
    ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => `${pattern.slice(0, -2)}/${d.name}`)
    : [pattern];
  for (const dir of dirs) {
    if (existsSync(join(root, dir, 'package.json'))) workspaces.set(readJson(join(root, dir, 'package.json')).name, dir);
  }
}

// The services and every workspace package they depend on, transitively: their package.json files keep their npm
// dependencies in the pruned tree.
const needed = new Set();
const visit = (name) => {
  if (needed.has(name) || !workspaces.has(name)) return;
  needed.add(name);
  for (const dep of Object.keys(readJson(join(root, workspaces.get(name), 'package.json')).dependencies ?? {})) visit(dep);
};
Object.keys(services).forEach(visit);

const missing = Object.entries(services)
  .flatMap(([name, files]) => files.map((f) => join(workspaces.get(name), f)))
  .filter((f) => !existsSync(join(root, f)));
if (missing.length > 0) {
  console.error(`not built: ${missing.join(', ')}\nrun \`npm run build\` first`);
  process.exit(1);
}

rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
const neededDirs = [...needed].map((name) => workspaces.get(name)).sort();
writeFileSync(join(target, 'package.json'), JSON.stringify({ ...rootManifest, workspaces: neededDirs }, null, 2) + '\n');
copyFileSync(join(root, 'package-lock.json'), join(target, 'package-lock.json'));
for (const name of needed) {
  const dir = workspaces.get(name);
  mkdirSync(join(target, dir), { recursive: true });
  copyFileSync(join(root, dir, 'package.json'), join(target, dir, 'package.json'));
  for (const file of services[name] ?? []) cpSync(join(root, dir, file), join(target, dir, file), { recursive: true });
}

const linked = spawnSync('cp', ['-al', join(root, 'node_modules'), join(target, 'node_modules')], { stdio: ['ignore', 'ignore', 'pipe'] });
if (linked.status !== 0) {
  rmSync(join(target, 'node_modules'), { recursive: true, force: true });
  cpSync(join(root, 'node_modules'), join(target, 'node_modules'), { recursive: true, verbatimSymlinks: true });
}
const hiddenLock = join(target, 'node_modules', '.package-lock.json');
rmSync(hiddenLock, { force: true });
if (existsSync(join(root, 'node_modules', '.package-lock.json')))
  copyFileSync(join(root, 'node_modules', '.package-lock.json'), hiddenLock);

// A prune started from `npm run` would inherit its workspace selection.
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_config_(workspaces?|include_workspace_root|omit|include)$/i.test(k)),
);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const pruned = spawnSync(npm, ['prune', '--omit=dev', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
  cwd: target,
  env,
  stdio: 'inherit',
});
if (pruned.status !== 0) {
  console.error(`npm prune failed (${pruned.status ?? pruned.signal})`);
  process.exit(1);
}
// Links to packages the prune removed (e.g. the agent's CLI).
const bin = join(target, 'node_modules', '.bin');
for (const entry of existsSync(bin) ? readdirSync(bin) : []) {
  try {
    statSync(join(bin, entry));
  } catch {
    rmSync(join(bin, entry), { force: true });
  }
}
console.log(`[stage-production] ${target}: ${neededDirs.join(', ')}`);
