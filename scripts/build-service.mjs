#!/usr/bin/env node
/**
 * Builds a service's entry points into dist/ as plain JavaScript for `node` (ESM, with source maps).
 *   node ../scripts/build-service.mjs src/main.ts [src/other.ts …]     (run from the package folder)
 * Our workspace packages export TypeScript sources: those are inlined. npm packages stay external and are resolved
 * from node_modules at run time; several cannot be bundled anyway (the Temporal core bridge and argon2 load native
 * binaries, Prisma's runtime loads its query compiler, pino starts worker threads by file name).
 * Every external package must be declared in `dependencies` of the workspace package whose code imports it: the
 * production install (npm prune --omit=dev, scripts/stage-production.mjs) keeps only those, so a package that is
 * merely hoisted from someone's devDependencies would be missing at run time. The build fails listing them.
 */
import { readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';

const entryPoints = process.argv.slice(2);
if (entryPoints.length === 0) {
  console.error('usage: build-service.mjs <entry.ts> [entry.ts …]');
  process.exit(2);
}
const outdir = resolve('dist');
rmSync(outdir, { recursive: true, force: true });

const workspacePrefix = '@opsconductor/';
const packageName = (specifier) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/**
 * How the bundle imports an npm package at run time. Node's ESM loader wants full file names for deep imports into a
 * package without an `exports` map (`@temporalio/common/lib/search-attributes` must become `…/search-attributes.js`,
 * which the TypeScript sources need not spell out), so those are resolved to the file the bundler would have taken.
 */
async function externalSpecifier(b, args) {
  const name = packageName(args.path);
  if (args.path === name || builtinModules.includes(name)) return args.path;
  const resolved = await b.resolve(args.path, {
    kind: args.kind,
    resolveDir: args.resolveDir,
    importer: args.importer,
    pluginData: 'resolving',
  });
  if (resolved.errors.length > 0) return args.path;
  const marker = `${sep}node_modules${sep}${name.split('/').join(sep)}${sep}`;
  const at = resolved.path.lastIndexOf(marker);
  if (at < 0) return args.path;
  const manifest = JSON.parse(readFileSync(join(resolved.path.slice(0, at + marker.length), 'package.json'), 'utf8'));
  if (manifest.exports) return args.path; // the package maps its own subpaths
  return `${name}/${resolved.path
    .slice(at + marker.length)
    .split(sep)
    .join('/')}`;
}
const result = await build({
  entryPoints,
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  // Node 20 syntax: the supported lines are 22 and 24, but the development and CI machines still run 20.
  target: 'node20',
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'external-npm-packages',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, async (args) => {
          if (args.path.startsWith(workspacePrefix) || args.pluginData === 'resolving') return undefined;
          return { path: await externalSpecifier(b, args), external: true };
        });
      },
    },
  ],
});

const builtins = new Set(builtinModules);
const manifestCache = new Map();
/** The package.json that owns a source file: the nearest one above it. */
function owningManifest(file) {
  for (let dir = dirname(resolve(file)); ; dir = dirname(dir)) {
    if (manifestCache.has(dir)) return manifestCache.get(dir);
    try {
      const manifest = { dir, json: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) };
      manifestCache.set(dir, manifest);
      return manifest;
    } catch (err) {
      if (err.code !== 'ENOENT' || dirname(dir) === dir) throw err;
    }
  }
}
const undeclared = [];
for (const [file, input] of Object.entries(result.metafile.inputs)) {
  for (const imported of input.imports) {
    if (!imported.external || imported.path.startsWith('node:') || builtins.has(imported.path)) continue;
    const name = packageName(imported.path);
    const { dir, json } = owningManifest(file);
    if (!json.dependencies?.[name]) undeclared.push(`${json.name} (${relative(process.cwd(), dir) || '.'}) imports ${name} in ${file}`);
  }
}
if (undeclared.length > 0) {
  console.error(
    `These packages are used at run time but not in "dependencies" of the package that uses them:\n${[...new Set(undeclared)].map((l) => `  - ${l}`).join('\n')}`,
  );
  process.exit(1);
}
