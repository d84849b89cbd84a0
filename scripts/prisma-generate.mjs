#!/usr/bin/env node
// `prisma generate` offline: the CLI insists on a schema-engine binary it would download from Prisma's
// CDN, but generate never runs it. Point PRISMA_SCHEMA_ENGINE_BINARY at any existing file unless set.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const prismaDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'prisma');
const require = createRequire(join(prismaDir, 'package.json'));
const cli = join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js');
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const r = spawnSync(process.execPath, [cli, 'generate', '--config', 'prisma.config.ts'], { cwd: prismaDir, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
