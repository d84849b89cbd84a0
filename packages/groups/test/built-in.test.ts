/** The predefined groups are created once however many processes start at the same moment; real failures surface. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { builtInGroups } from '@opsconductor/rules';
import { createTestDatabase, type TestDatabase } from '@opsconductor/test/support/database';
import { GroupMembership, ensureBuiltInGroups } from '../src/index.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());

const membership = () => new GroupMembership({ db: t.db, logger: pino({ level: 'silent' }) });

it('refuses to hide a failure other than a concurrent create', async () => {
  await t.db.pool.query(`ALTER TABLE device_groups ADD CONSTRAINT test_no_groups CHECK (built_in_key IS NULL)`);
  try {
    await expect(ensureBuiltInGroups(t.db, membership())).rejects.toThrow(/test_no_groups/);
  } finally {
    await t.db.pool.query('ALTER TABLE device_groups DROP CONSTRAINT test_no_groups');
  }
});

it('creates each predefined group once when several processes start together', async () => {
  await Promise.all([1, 2, 3].map(() => ensureBuiltInGroups(t.db, membership())));
  const { rows } = await t.db.pool.query<{ built_in_key: string }>(
    'SELECT built_in_key FROM device_groups WHERE built_in_key IS NOT NULL ORDER BY 1',
  );
  expect(rows.map((r) => r.built_in_key)).toEqual(builtInGroups.map((g) => g.key).sort());
});
