/**
 * The outbox dispatcher against a real PostgreSQL: at-least-once delivery across a crash, idempotent
 * consumers, order, retries with backoff that do not hold up other consumers, dead letters, one active
 * dispatcher per consumer, the NOTIFY wake-up and retention.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { withTransaction } from '@opsconductor/db';
import { createTestDatabase, type TestDatabase } from '@opsconductor/test/support/database';
import { repoRoot } from '@opsconductor/test/support/tools';
import {
  OutboxDispatcher,
  appendEvents,
  deleteDeliveredEvents,
  domainEvent,
  wakeDispatchers,
  type DispatcherOptions,
  type DomainEvent,
  type EventConsumer,
  type NewDomainEvent,
} from '../src/index.ts';

let t: TestDatabase;
const running: OutboxDispatcher[] = [];
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());
beforeEach(async () => {
  await t.db.pool.query('TRUNCATE domain_events, domain_event_consumers, domain_event_dead_letters');
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((d) => d.stop()));
});

const enrolled = (n: number, deviceId = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`) =>
  domainEvent('device.enrolled', { deviceId, hostname: `host-${n}`, enrollmentTokenId: 'token' });
/** Commits the events in one transaction of their own. */
const commit = (...events: NewDomainEvent[]) => withTransaction(t.db.pool, (sql) => appendEvents(sql, events));
const hostnames = (events: DomainEvent[]) => events.map((e) => (e.payload as { hostname: string }).hostname);

function dispatcher(consumers: EventConsumer[], o: Partial<DispatcherOptions> = {}) {
  const d = new OutboxDispatcher({ pool: t.db.pool, consumers, logger, pollIntervalMs: 50, initialBackoffMs: 100, ...o });
  running.push(d);
  return d;
}
function recorder(name: string, o: { fail?: (e: DomainEvent, attempt: number) => boolean } = {}) {
  const seen: DomainEvent[] = [];
  const attempts = new Map<string, number[]>();
  const consumer: EventConsumer = {
    name,
    types: ['device.enrolled'],
    async handle(e) {
      const n = (attempts.get(e.id) ?? []).length + 1;
      attempts.set(e.id, [...(attempts.get(e.id) ?? []), Date.now()]);
      if (o.fail?.(e, n)) throw new Error(`refusing ${(e.payload as { hostname: string }).hostname} (attempt ${n})`);
      seen.push(e);
    },
  };
  return { consumer, seen, attempts };
}
async function until(check: () => boolean | Promise<boolean>, ms = 15_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(25);
  }
}

describe('delivery', () => {
  it('delivers in transaction order, never rolled-back events, and never skips a transaction that commits later', async () => {
    const { consumer, seen } = recorder('order');
    const d = dispatcher([consumer]);
    // A writes first (lower event ID) but commits after B: a cursor over event IDs alone would pass A's event.
    const a = await t.db.pool.connect();
    await a.query('BEGIN');
    await appendEvents(a, [enrolled(1)]);
    await commit(enrolled(2), enrolled(3));
    await withTransaction(t.db.pool, async (sql) => {
      await appendEvents(sql, [enrolled(99)]);
      throw new Error('rolled back');
    }).catch(() => {});
    await d.runOnce();
    expect(seen).toEqual([]); // B's events wait while A, older, is still open
    await a.query('COMMIT');
    a.release();
    await commit(enrolled(4));
    // Delivery waits for every older transaction of the cluster (another test file's included): retry the round.
    await until(async () => (await d.runOnce(), seen.length >= 4));
    expect(hostnames(seen)).toEqual(['host-1', 'host-2', 'host-3', 'host-4']);
    await d.runOnce();
    expect(seen).toHaveLength(4);
  });

  it('delivers at least once across a dispatcher killed mid-batch; an idempotent consumer applies each event once', async () => {
    await t.db.pool.query('CREATE TABLE IF NOT EXISTS test_deliveries (event_id bigint, pid int)');
    await t.db.pool.query('CREATE TABLE IF NOT EXISTS test_effects (event_id bigint PRIMARY KEY)');
    for (let i = 1; i <= 30; i++) await commit(enrolled(i));
    // node itself (with tsx as a loader), so the kill hits the dispatcher's process and not a wrapper.
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/stalling-dispatcher.ts')], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: t.url, STALL_AT: '12' },
      stdio: 'ignore',
    });
    const count = async (sql: string) => Number((await t.db.pool.query<{ n: string }>(sql)).rows[0]!.n);
    try {
      await until(async () => (await count('SELECT count(*) AS n FROM test_deliveries')) === 12, 30_000);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
    const lease = await t.db.pool.query<{ leased_by: string; cursor_event_id: string }>(
      `SELECT leased_by, cursor_event_id::text FROM domain_event_consumers WHERE name = 'crash-test'`,
    );
    expect(lease.rows[0]).toMatchObject({ leased_by: `stalling-${child.pid}`, cursor_event_id: '0' }); // died holding the lease, mid-batch

    // Another worker takes over once the dead one's lease has run out (shortened here), from the stored cursor.
    await t.db.pool.query(`UPDATE domain_event_consumers SET lease_expires_at = now() WHERE name = 'crash-test'`);
    const d = dispatcher([
      {
        name: 'crash-test',
        types: ['device.enrolled'],
        async handle(event) {
          await t.db.pool.query('INSERT INTO test_deliveries (event_id, pid) VALUES ($1, $2)', [event.id, process.pid]);
          await t.db.pool.query('INSERT INTO test_effects (event_id) VALUES ($1) ON CONFLICT DO NOTHING', [event.id]);
        },
      },
    ]);
    await d.start();
    await until(async () => (await count(`SELECT count(*) AS n FROM test_deliveries WHERE pid = ${process.pid}`)) === 30);
    await d.stop(); // the last handler may still be between its two inserts
    expect(await count('SELECT count(*) AS n FROM test_effects')).toBe(30);
    expect(await count('SELECT count(DISTINCT event_id) AS n FROM test_deliveries')).toBe(30);
    // The 12 the dead dispatcher had handled were delivered again: at least once, not exactly once.
    expect(await count('SELECT count(*) AS n FROM (SELECT event_id FROM test_deliveries GROUP BY event_id HAVING count(*) = 2) x')).toBe(
      12,
    );
  });

  it('runs one active dispatcher per consumer: two dispatchers deliver every event once', async () => {
    const shared: string[] = [];
    const consumer = (): EventConsumer => ({
      name: 'shared',
      types: ['device.enrolled'],
      async handle(e) {
        shared.push(e.id);
        await sleep(2);
      },
    });
    const one = dispatcher([consumer()], { identity: 'one' });
    const two = dispatcher([consumer()], { identity: 'two' });
    await Promise.all([one.start(), two.start()]);
    for (let i = 1; i <= 40; i++) await commit(enrolled(i));
    await until(() => shared.length >= 40);
    await sleep(300);
    expect(shared).toHaveLength(40);
    expect(new Set(shared).size).toBe(40);
  });

  it('starts a new consumer at the beginning of the retained events, or only at new ones', async () => {
    await commit(enrolled(1), enrolled(2));
    const everything = recorder('everything');
    const fresh = recorder('fresh');
    const d = dispatcher([everything.consumer, { ...fresh.consumer, startAt: 'now' }]);
    await d.runOnce();
    await commit(enrolled(3));
    await until(async () => (await d.runOnce(), everything.seen.length >= 3 && fresh.seen.length >= 1));
    expect(hostnames(everything.seen)).toEqual(['host-1', 'host-2', 'host-3']);
    expect(hostnames(fresh.seen)).toEqual(['host-3']);
  });

  it('is woken by NOTIFY after a commit instead of waiting for its next poll', async () => {
    const { consumer, seen } = recorder('wake');
    const d = dispatcher([consumer], { databaseUrl: t.url, pollIntervalMs: 60_000 });
    await d.start();
    await sleep(200); // its first round found nothing; the next poll is a minute away
    const started = Date.now();
    await commit(enrolled(1));
    await wakeDispatchers(t.db.pool);
    await until(() => seen.length === 1, 5000);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('does not lose a NOTIFY that comes while a round is delivering', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const seen: string[] = [];
    let delivering = false;
    const consumer: EventConsumer = {
      name: 'busy',
      types: ['device.enrolled'],
      async handle(e) {
        const { hostname } = e.payload as { hostname: string };
        if (hostname === 'host-1') {
          delivering = true;
          await held;
        }
        seen.push(hostname);
      },
    };
    await commit(enrolled(1));
    const d = dispatcher([consumer], { databaseUrl: t.url, pollIntervalMs: 60_000 });
    await d.start();
    // The round fetched host-1 and is delivering it; host-2 commits and NOTIFYs meanwhile.
    await until(() => delivering, 5000);
    await commit(enrolled(2));
    await wakeDispatchers(t.db.pool);
    await sleep(300); // the notification has reached the dispatcher during the round
    release();
    await until(() => seen.length === 2, 5000);
    expect(seen).toEqual(['host-1', 'host-2']);
  });
});

describe('events held back by an open transaction', () => {
  it('are delivered soon after it ends, not at the next poll, although their NOTIFY came while they could not be', async () => {
    const seen: string[] = [];
    const consumer: EventConsumer = {
      name: 'held-back',
      types: ['device.enrolled'],
      async handle(e) {
        seen.push((e.payload as { hostname: string }).hostname);
      },
    };
    const d = dispatcher([consumer], { databaseUrl: t.url, pollIntervalMs: 60_000 });
    await d.start();
    // Another session's transaction, older than the event (anywhere in the cluster: it holds the snapshot's xmin back).
    const blocker = await t.db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT pg_current_xact_id()');
      await commit(enrolled(1));
      await wakeDispatchers(t.db.pool);
      await sleep(700); // the woken round found host-1 committed but behind the open transaction
      expect(seen).toEqual([]);
      await blocker.query('COMMIT');
    } finally {
      blocker.release();
    }
    const ended = Date.now();
    await until(() => seen.length === 1, 5000);
    expect(seen).toEqual(['host-1']);
    expect(Date.now() - ended).toBeLessThan(3000);
  });
});

describe('failures', () => {
  it('retries a failing consumer with backoff from the failed event, in order, without holding up another consumer', async () => {
    const failing = recorder('failing', {
      fail: (e, attempt) => (e.payload as { hostname: string }).hostname === 'host-2' && attempt <= 2,
    });
    const healthy = recorder('healthy');
    const d = dispatcher([failing.consumer, healthy.consumer]);
    for (let i = 1; i <= 4; i++) await commit(enrolled(i));
    await d.start();
    // The healthy consumer got everything while the failing one has tried host-2 (its retries are 100 ms and more away).
    await until(() => healthy.seen.length === 4 && failing.attempts.size >= 2);
    expect(hostnames(failing.seen)).toEqual(['host-1']); // held at its failed event, and only that consumer
    // The failure is recorded on the consumer (just after the handler threw).
    const lastError = async () =>
      (await t.db.pool.query<{ last_error: string | null }>(`SELECT last_error FROM domain_event_consumers WHERE name = 'failing'`)).rows[0]
        ?.last_error;
    await until(async () => (await lastError())?.includes('refusing host-2') ?? false);
    await until(() => failing.seen.length === 4);
    expect(hostnames(failing.seen)).toEqual(['host-1', 'host-2', 'host-3', 'host-4']);
    const tries = failing.attempts.get(failing.seen[1]!.id)!;
    expect(tries).toHaveLength(3);
    // Backoff: 100 ms, then 200 ms (±20%), plus polling.
    expect(tries[1]! - tries[0]!).toBeGreaterThanOrEqual(80);
    expect(tries[2]! - tries[1]!).toBeGreaterThanOrEqual(160);
    // The round stores its progress after the handler returns: the failure state clears with it.
    const failureState = async () =>
      (
        await t.db.pool.query<{ failed_attempts: number; last_error: string | null; retry_at: Date | null }>(
          `SELECT failed_attempts, last_error, retry_at FROM domain_event_consumers WHERE name = 'failing'`,
        )
      ).rows[0];
    await until(async () => (await failureState())?.failed_attempts === 0);
    expect(await failureState()).toEqual({ failed_attempts: 0, last_error: null, retry_at: null });
  });

  it('parks an event it keeps failing on as a dead letter and moves on', async () => {
    const stuck = recorder('stuck', { fail: (e) => (e.payload as { hostname: string }).hostname === 'host-2' });
    const d = dispatcher([stuck.consumer], { maxAttempts: 3, initialBackoffMs: 20 });
    for (let i = 1; i <= 3; i++) await commit(enrolled(i));
    await d.start();
    await until(() => stuck.seen.length === 2);
    expect(hostnames(stuck.seen)).toEqual(['host-1', 'host-3']);
    const parked = await t.db.pool.query<{ attempts: number; error: string; event: DomainEvent }>(
      `SELECT attempts, error, event FROM domain_event_dead_letters WHERE consumer = 'stuck'`,
    );
    expect(parked.rows).toHaveLength(1);
    expect(parked.rows[0]).toMatchObject({ attempts: 3, event: { type: 'device.enrolled', payload: { hostname: 'host-2' } } });
  });

  it('aborts a handler that outlives half its lease and retries the event', async () => {
    let calls = 0;
    const seen: string[] = [];
    const d = dispatcher(
      [
        {
          name: 'slow',
          types: ['device.enrolled'],
          async handle(e, { signal }) {
            if (++calls === 1) await new Promise((resolve) => signal.addEventListener('abort', resolve));
            if (!signal.aborted) seen.push(e.id);
          },
        },
      ],
      { leaseMs: 400, initialBackoffMs: 20 },
    );
    await commit(enrolled(1));
    await d.start();
    await until(() => seen.length >= 1);
    expect(calls).toBe(2);
  });
});

describe('retention', () => {
  it('deletes old events every active consumer has passed, and nothing else', async () => {
    const { consumer, seen } = recorder('passed');
    const d = dispatcher([consumer]);
    for (let i = 1; i <= 3; i++) await commit(enrolled(i));
    await until(async () => (await d.runOnce(), seen.length >= 3));
    expect(seen).toHaveLength(3);
    await commit(enrolled(4)); // not yet delivered
    await t.db.pool.query(`UPDATE domain_events SET occurred_at = now() - interval '8 days'`);
    await t.db.pool.query(`INSERT INTO domain_event_consumers (name, updated_at) VALUES ('gone', now() - interval '30 days')`); // not run for a month: ignored
    expect(await deleteDeliveredEvents(t.db.pool, 7 * 24 * 3600_000)).toBe(3);
    const left = await t.db.pool.query<{ payload: { hostname: string } }>('SELECT payload FROM domain_events');
    expect(left.rows.map((r) => r.payload.hostname)).toEqual(['host-4']);
  });

  it('runs on its own timer, not on every NOTIFY that wakes the consumers', async () => {
    const { consumer, seen } = recorder('timed');
    await commit(enrolled(1));
    const d = dispatcher([consumer], { databaseUrl: t.url, retentionMs: 1000, retentionIntervalMs: 60_000 });
    await d.start(); // its first retention pass finds nothing old enough
    await until(() => seen.length === 1);
    await sleep(1200); // host-1 is delivered and older than the retention now
    await commit(enrolled(2));
    await wakeDispatchers(t.db.pool);
    await until(() => seen.length === 2);
    await sleep(300);
    const left = await t.db.pool.query<{ payload: { hostname: string } }>('SELECT payload FROM domain_events ORDER BY id');
    expect(left.rows.map((r) => r.payload.hostname)).toEqual(['host-1', 'host-2']);
  });
});
