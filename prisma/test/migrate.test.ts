/** The offline runner records migrations the way `prisma migrate deploy` does. */
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listMigrations, migrate, migrationsDir } from '../src/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());

it('records each migration with its SHA-256 checksum, finished, one step, and is idempotent', async () => {
  const { rows } = await t.db.pool.query(
    'SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, logs FROM _prisma_migrations ORDER BY migration_name',
  );
  const migrations = await listMigrations();
  expect(rows.map((r) => r.migration_name)).toEqual(migrations.map((m) => m.name));
  for (const [i, m] of migrations.entries()) {
    const sql = await readFile(join(migrationsDir, m.name, 'migration.sql'));
    expect(rows[i]).toMatchObject({
      checksum: createHash('sha256').update(sql).digest('hex'),
      rolled_back_at: null,
      applied_steps_count: 1,
      logs: null,
    });
    expect(rows[i].finished_at).toBeInstanceOf(Date);
  }
  expect(await migrate(t.url)).toEqual({ applied: [], alreadyApplied: migrations.map((m) => m.name) });
});

it('records a failing migration with its error and refuses to continue past it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'oc-migrations-'));
  await mkdir(join(dir, '20990101000000_broken'));
  await writeFile(join(dir, '20990101000000_broken', 'migration.sql'), 'CREATE TABLE "x" (id int);\nSELECT no_such_function();\n');
  await expect(migrate(t.url, dir)).rejects.toThrow(/20990101000000_broken failed/);
  const { rows } = await t.db.pool.query(`SELECT finished_at, logs FROM _prisma_migrations WHERE migration_name = '20990101000000_broken'`);
  expect(rows[0].finished_at).toBeNull();
  expect(rows[0].logs).toMatch(/no_such_function/);
  // Its statements were rolled back together.
  expect((await t.db.pool.query(`SELECT to_regclass('public.x') AS t`)).rows[0].t).toBeNull();
  await expect(migrate(t.url, dir)).rejects.toThrow(/P3009/);
});
