/**
 * Depot sources are checked every DEPOT_HEALTH_INTERVAL_SECONDS by the API, by one process at a time (a PostgreSQL
 * advisory lock): a check runs on its own and records the health, and a process that cannot take the lock skips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DepotHealthMonitor } from '../src/services/depot-health.ts';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

const BUILT_IN = '00000000-0000-4000-8000-000000000001';
let t: TestApi;
beforeAll(async () => {
  t = await startTestApi({ depotHealthIntervalSeconds: 1 });
});
afterAll(async () => {
  await t?.close();
});

const checkedAt = async (id: string) =>
  (
    await t.database.db.pool.query<{ health_checked_at: Date | null; reachable: boolean | null }>(
      'SELECT health_checked_at, reachable FROM depot_sources WHERE id = $1',
      [id],
    )
  ).rows[0]!;

describe('periodic depot health', () => {
  it('checks every source on its own and records the result', async () => {
    const { rows } = await t.database.db.pool.query<{ id: string }>(
      `INSERT INTO depot_sources (id, name, kind, settings) VALUES (gen_random_uuid(), 'Unmounted', 'share', $1) RETURNING id`,
      [JSON.stringify({ mountPath: '/nonexistent/depot-share' })],
    );
    // Each source is checked on its own: wait for both (which comes first in a round is not fixed).
    const deadline = Date.now() + 10_000;
    const checked = async () =>
      (await checkedAt(rows[0]!.id)).health_checked_at !== null && (await checkedAt(BUILT_IN)).health_checked_at !== null;
    while (!(await checked()) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await checkedAt(rows[0]!.id)).toMatchObject({ reachable: false });
    expect(await checkedAt(BUILT_IN)).toMatchObject({ reachable: true });
  });

  it('is skipped by a process that cannot take the lock', async () => {
    const holder = await t.database.db.pool.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtextextended('depot-source-health', 0))`);
      const other = new DepotHealthMonitor(t.api.deps, 0);
      expect(await other.checkAll()).toBe(false);
      await holder.query(`SELECT pg_advisory_unlock(hashtextextended('depot-source-health', 0))`);
      const before = (await checkedAt(BUILT_IN)).health_checked_at!;
      // The API's own monitor may hold it for a moment.
      let ran = false;
      for (let i = 0; i < 50 && !ran; i++) {
        ran = await other.checkAll();
        if (!ran) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(ran).toBe(true);
      expect((await checkedAt(BUILT_IN)).health_checked_at!.getTime()).toBeGreaterThanOrEqual(before.getTime());
      await other.close();
    } finally {
      holder.release();
    }
  });
});
