/**
 * Delivers outbox events to consumers, at least once, in (transaction ID, event ID) order.
 *
 * - Progress is a cursor per consumer (`domain_event_consumers`), advanced after the consumer handled
 *   the events. Only events of transactions that have ended are read (their transaction ID is below the
 *   snapshot's xmin): an event that commits later can never land behind a cursor.
 * - One active dispatcher per consumer across all workers: a consumer's row carries a lease, claimed
 *   and renewed with one UPDATE; a crashed worker's lease runs out and another worker carries on from
 *   the last stored cursor, so the interrupted batch is delivered again (consumers dedupe by event ID).
 * - A failing consumer is retried with exponential backoff from the failed event, without holding up
 *   the others; after `maxAttempts` the event is parked in `domain_event_dead_letters` and it moves on.
 * - Woken by NOTIFY on `oc_domain_events` (sent after commits), polling as the fallback.
 * - Retention: events every active consumer has passed are deleted once older than `retentionMs`.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DomainEvent, DomainEventType } from './catalog.ts';
import { DOMAIN_EVENTS_CHANNEL, type Sql } from './outbox.ts';

export interface EventConsumer {
  /** Stable name: the key of its progress. Renaming a consumer starts it afresh. */
  readonly name: string;
  readonly types: readonly DomainEventType[];
  /**
   * Handles one event. May be called more than once for the same event (after a crash or a lost lease):
   * make it idempotent, e.g. by recording the event ID with the effect. Throwing retries it later.
   */
  handle(event: DomainEvent, context: { signal: AbortSignal }): Promise<void>;
  /** Where a consumer starts on its first run: every retained event (default) or only new ones. */
  readonly startAt?: 'beginning' | 'now';
}

export interface DispatcherOptions {
  pool: pg.Pool;
  /** For the LISTEN connection; without it the dispatcher only polls. */
  databaseUrl?: string;
  consumers: readonly EventConsumer[];
  logger: Logger;
  /** Names this dispatcher in leases (default: host, pid and a random suffix). */
  identity?: string;
  batchSize?: number;
  /** How often to look for events when no NOTIFY came (and to retry after a backoff). */
  pollIntervalMs?: number;
  /** How long a lease lasts without renewal; a handler running longer than half of it is aborted. */
  leaseMs?: number;
  /** First retry delay after a failure; doubles per attempt up to `maxBackoffMs` (±20% jitter). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Attempts of one event before it is parked as a dead letter. */
  maxAttempts?: number;
  /** Delivered events are kept this long (default 7 days), then deleted. */
  retentionMs?: number;
  retentionIntervalMs?: number;
}

interface Cursor {
  transactionId: bigint;
  eventId: bigint;
}
interface EventRow {
  row_kind: 'event' | 'high' | 'held';
  id: string;
  transaction_id: string;
  type: DomainEventType;
  subject_type: DomainEvent['subject']['type'];
  subject_id: string;
  payload: never;
  actor_type: string | null;
  actor_id: string | null;
  actor_name: string | null;
  occurred_at: Date;
}

const DAY_MS = 24 * 3600 * 1000;
/**
 * A consumer whose next events are committed but held back (an older transaction anywhere in the cluster is still
 * open, so they are past the snapshot's xmin) looks again this soon rather than after the poll interval: the NOTIFY
 * that announced them was taken by a round that could not deliver them yet.
 */
const HELD_BACK_RECHECK_MS = 500;

export class OutboxDispatcher {
  private readonly o: Required<Omit<DispatcherOptions, 'databaseUrl'>> & Pick<DispatcherOptions, 'databaseUrl'>;
  private started = false;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private wakers = new Set<() => void>();
  /** Counts wake-ups, so one that comes while a round is running is not lost: the sleep after it is skipped. */
  private wakeUps = 0;
  private listener: pg.Client | undefined;
  private readonly abort = new AbortController();
  /** Consumers whose last round found committed events it may not deliver yet (see HELD_BACK_RECHECK_MS). */
  private readonly heldBack = new Set<string>();

  constructor(options: DispatcherOptions) {
    const names = options.consumers.map((c) => c.name);
    if (new Set(names).size !== names.length) throw new Error(`consumer names must be unique: ${names.join(', ')}`);
    this.o = {
      identity: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      batchSize: 100,
      pollIntervalMs: 2000,
      leaseMs: 30_000,
      initialBackoffMs: 1000,
      maxBackoffMs: 5 * 60_000,
      maxAttempts: 12,
      retentionMs: 7 * DAY_MS,
      retentionIntervalMs: 10 * 60_000,
      ...options,
    };
  }

  get identity(): string {
    return this.o.identity;
  }

  /** Starts delivering; never fails (a database that is down is retried, meanwhile nothing is delivered). */
  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    this.started = true;
    if (this.o.databaseUrl) {
      await this.listen().catch((err: unknown) => {
        this.o.logger.warn({ err }, 'outbox LISTEN failed; polling until it is back');
        this.relisten(1000);
      });
    }
    this.loops = [...this.o.consumers.map((c) => this.consumerLoop(c)), this.retentionLoop()];
  }

  /** Stops after the events in hand; hands the leases back so another worker takes over at once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.started) return;
    this.abort.abort();
    this.wakeAll();
    await Promise.allSettled(this.loops);
    await this.o.pool
      .query('UPDATE domain_event_consumers SET leased_by = NULL, lease_expires_at = NULL WHERE leased_by = $1', [this.o.identity])
      .catch(() => {});
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => {});
  }

  /** Runs a round for every consumer now (tests; start() runs them continuously). Returns the events handled. */
  async runOnce(): Promise<number> {
    for (const c of this.o.consumers) await this.register(c);
    let n = 0;
    for (const c of this.o.consumers) n += await this.round(c);
    return n;
  }

  private async register(c: EventConsumer): Promise<void> {
    // Starting "now": at the newest event committed so far. Older ones are not delivered, nor are those of a
    // transaction still open now (it began before "now"). Not bounded by the snapshot's xmin: that is the
    // cluster's, and any open transaction anywhere (another database even) would move the start back.
    await this.o.pool.query(
      `INSERT INTO domain_event_consumers (name, cursor_transaction_id, cursor_event_id)
       SELECT $1, COALESCE(h.transaction_id, 0), COALESCE(h.id, 0)
         FROM (SELECT 1) one LEFT JOIN LATERAL (
           SELECT transaction_id, id FROM domain_events WHERE $2
            ORDER BY transaction_id DESC, id DESC LIMIT 1) h ON true
       ON CONFLICT (name) DO NOTHING`,
      [c.name, c.startAt === 'now'],
    );
  }

  private async consumerLoop(c: EventConsumer): Promise<void> {
    let registered = false;
    while (!this.stopped) {
      let handled = 0;
      const wakeUpsBefore = this.wakeUps;
      try {
        if (!registered) await this.register(c);
        registered = true;
        handled = await this.round(c);
      } catch (err) {
        this.o.logger.warn({ err, consumer: c.name }, 'outbox round failed; retrying after the poll interval');
      }
      const pause = this.heldBack.has(c.name) ? Math.min(this.o.pollIntervalMs, HELD_BACK_RECHECK_MS) : this.o.pollIntervalMs;
      if (handled < this.o.batchSize && this.wakeUps === wakeUpsBefore) await this.sleep(pause);
    }
  }

  /** Claims the lease, delivers one batch, stores the progress. Returns how many events were handled. */
  private async round(c: EventConsumer): Promise<number> {
    const { pool, identity, leaseMs } = this.o;
    const claimed = await pool.query<{ cursor_transaction_id: string; cursor_event_id: string; failed_attempts: number }>(
      `UPDATE domain_event_consumers SET leased_by = $2, lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
        WHERE name = $1 AND (leased_by IS NULL OR leased_by = $2 OR lease_expires_at < now()) AND (retry_at IS NULL OR retry_at <= now())
    RETURNING cursor_transaction_id::text, cursor_event_id::text, failed_attempts`,
      [c.name, identity, leaseMs / 1000],
    );
    const state = claimed.rows[0];
    if (!state) return 0; // another dispatcher holds it, or its retry is not due
    let leaseRenewedAt = Date.now();
    const start: Cursor = { transactionId: BigInt(state.cursor_transaction_id), eventId: BigInt(state.cursor_event_id) };
    const { events, high, held } = await this.fetch(pool, c, start);
    if (held) this.heldBack.add(c.name);
    else this.heldBack.delete(c.name);

    let cursor = start;
    let delivered = 0;
    let failure: { event: DomainEvent; transactionId: bigint; error: unknown } | undefined;
    for (const { event, transactionId } of events) {
      if (this.stopped) break;
      if (Date.now() - leaseRenewedAt > leaseMs / 3) {
        if (!(await this.renewLease(c))) return delivered; // lost it: the new holder redelivers from the stored cursor
        leaseRenewedAt = Date.now();
      }
      try {
        await this.deliver(c, event);
      } catch (error) {
        failure = { event, transactionId, error };
        break;
      }
      cursor = { transactionId, eventId: BigInt(event.id) };
      delivered++;
    }
    // Every matching event up to the high-water mark was handled: skip past the others too.
    if (!failure && !this.stopped && events.length < this.o.batchSize && high && compare(high, cursor) > 0) cursor = high;

    if (!failure) {
      await this.saveProgress(c, cursor, delivered, { attempts: 0, retryInMs: null, error: null });
      return delivered;
    }
    // Attempts count per event: progress before the failure means a different event failed.
    const attempts = delivered > 0 ? 1 : state.failed_attempts + 1;
    const message = describe(failure.error);
    if (attempts >= this.o.maxAttempts) {
      this.o.logger.error(
        { err: failure.error, consumer: c.name, eventId: failure.event.id, type: failure.event.type, attempts },
        'consumer gave up on an event; parked as a dead letter',
      );
      await pool.query(
        `INSERT INTO domain_event_dead_letters (consumer, event_id, event, attempts, error) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (consumer, event_id) DO UPDATE SET attempts = EXCLUDED.attempts, error = EXCLUDED.error, parked_at = now()`,
        [c.name, failure.event.id, JSON.stringify(failure.event), attempts, message],
      );
      await this.saveProgress(c, { transactionId: failure.transactionId, eventId: BigInt(failure.event.id) }, delivered, {
        attempts: 0,
        retryInMs: null,
        error: message,
      });
      return delivered + 1;
    }
    const retryInMs = this.backoff(attempts);
    this.o.logger.warn(
      { err: failure.error, consumer: c.name, eventId: failure.event.id, type: failure.event.type, attempts, retryInMs },
      'consumer failed; retrying later',
    );
    await this.saveProgress(c, cursor, delivered, { attempts, retryInMs, error: message });
    return delivered;
  }

  /** One statement, so the batch and the high-water mark come from the same snapshot. */
  private async fetch(
    sql: Sql,
    c: EventConsumer,
    after: Cursor,
  ): Promise<{ events: { event: DomainEvent; transactionId: bigint }[]; high: Cursor | undefined; held: boolean }> {
    const { rows } = await sql.query<EventRow>(
      `WITH bound AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin),
       batch AS (
         SELECT e.* FROM domain_events e
          WHERE (e.transaction_id, e.id) > ($1::bigint, $2::bigint) AND e.transaction_id < (SELECT xmin FROM bound) AND e.type = ANY($3::text[])
          ORDER BY e.transaction_id, e.id LIMIT $4),
       high AS (
         SELECT e.transaction_id, e.id FROM domain_events e
          WHERE (e.transaction_id, e.id) > ($1::bigint, $2::bigint) AND e.transaction_id < (SELECT xmin FROM bound)
          ORDER BY e.transaction_id DESC, e.id DESC LIMIT 1),
       held AS (
         SELECT e.transaction_id, e.id FROM domain_events e
          WHERE (e.transaction_id, e.id) > ($1::bigint, $2::bigint) AND e.transaction_id >= (SELECT xmin FROM bound) AND e.type = ANY($3::text[])
          LIMIT 1)
       SELECT 'event' AS row_kind, id::text, transaction_id::text, type, subject_type, subject_id, payload, actor_type, actor_id, actor_name, occurred_at FROM batch
       UNION ALL
       SELECT 'high', id::text, transaction_id::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM high
       UNION ALL
       SELECT 'held', id::text, transaction_id::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM held`,
      [after.transactionId.toString(), after.eventId.toString(), c.types, this.o.batchSize],
    );
    const highRow = rows.find((r) => r.row_kind === 'high');
    const events = rows
      .filter((r) => r.row_kind === 'event')
      .map((r) => ({
        transactionId: BigInt(r.transaction_id),
        event: {
          id: r.id,
          type: r.type,
          subject: { type: r.subject_type, id: r.subject_id },
          payload: r.payload,
          actor: r.actor_type ? { type: r.actor_type, id: r.actor_id, name: r.actor_name } : null,
          occurredAt: r.occurred_at,
        } as DomainEvent,
      }))
      .sort((a, b) =>
        compare(
          { transactionId: a.transactionId, eventId: BigInt(a.event.id) },
          { transactionId: b.transactionId, eventId: BigInt(b.event.id) },
        ),
      );
    return {
      events,
      high: highRow ? { transactionId: BigInt(highRow.transaction_id), eventId: BigInt(highRow.id) } : undefined,
      held: rows.some((r) => r.row_kind === 'held'),
    };
  }

  /** A handler gets half a lease: a hung handler must not hold the consumer (or let a second worker in). */
  private async deliver(c: EventConsumer, event: DomainEvent): Promise<void> {
    const timeout = AbortSignal.timeout(this.o.leaseMs / 2);
    const signal = AbortSignal.any([timeout, this.abort.signal]);
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () =>
        reject(
          timeout.aborted ? new Error(`the handler took longer than ${this.o.leaseMs / 2} ms`) : new Error('the dispatcher is stopping'),
        );
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([c.handle(event, { signal }), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private async renewLease(c: EventConsumer): Promise<boolean> {
    const r = await this.o.pool.query(
      'UPDATE domain_event_consumers SET lease_expires_at = now() + make_interval(secs => $3), updated_at = now() WHERE name = $1 AND leased_by = $2',
      [c.name, this.o.identity, this.o.leaseMs / 1000],
    );
    return r.rowCount === 1;
  }

  private async saveProgress(
    c: EventConsumer,
    cursor: Cursor,
    delivered: number,
    retry: { attempts: number; retryInMs: number | null; error: string | null },
  ): Promise<void> {
    const r = await this.o.pool.query(
      `UPDATE domain_event_consumers
          SET cursor_transaction_id = $3, cursor_event_id = $4, delivered_count = delivered_count + $5,
              last_delivered_at = CASE WHEN $5 > 0 THEN now() ELSE last_delivered_at END,
              failed_attempts = $6, retry_at = CASE WHEN $7::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $7::float8 / 1000) END,
              last_error = COALESCE($8, CASE WHEN $6 = 0 THEN NULL ELSE last_error END),
              lease_expires_at = now() + make_interval(secs => $9), updated_at = now()
        WHERE name = $1 AND leased_by = $2`,
      [
        c.name,
        this.o.identity,
        cursor.transactionId.toString(),
        cursor.eventId.toString(),
        delivered,
        retry.attempts,
        retry.retryInMs,
        retry.error,
        this.o.leaseMs / 1000,
      ],
    );
    if (r.rowCount !== 1) this.o.logger.warn({ consumer: c.name }, 'lost the consumer lease; its new holder delivers the batch again');
  }

  private backoff(attempts: number): number {
    const base = Math.min(this.o.maxBackoffMs, this.o.initialBackoffMs * 2 ** (attempts - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private async retentionLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await deleteDeliveredEvents(this.o.pool, this.o.retentionMs);
      } catch (err) {
        this.o.logger.warn({ err }, 'deleting delivered events failed');
      }
      // Only the timer or stop() ends this wait: new events (the NOTIFY wake-ups) have nothing to do with retention.
      await delay(this.o.retentionIntervalMs, undefined, { signal: this.abort.signal }).catch(() => {});
    }
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.o.databaseUrl, connectionTimeoutMillis: 5000 });
    client.on('notification', () => this.wakeAll());
    client.on('error', (err) => {
      if (this.listener !== client) return;
      this.o.logger.warn({ err }, 'outbox LISTEN connection lost; reconnecting (polling meanwhile)');
      this.listener = undefined;
      client.end().catch(() => {});
      this.relisten(1000);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${DOMAIN_EVENTS_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    if (this.stopped) await client.end();
    else this.listener = client;
  }

  /** Reconnects the LISTEN connection with backoff; on success, a round catches up on what was missed. */
  private relisten(delay: number): void {
    if (this.stopped) return;
    setTimeout(
      () =>
        void this.listen().then(
          () => this.wakeAll(),
          () => this.relisten(Math.min(delay * 2, 30_000)),
        ),
      delay,
    ).unref();
  }

  private wakeAll() {
    this.wakeUps++;
    for (const wake of [...this.wakers]) wake();
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}

/**
 * Deletes events older than `retentionMs` that every active consumer (one whose dispatcher ran within the
 * retention period) has passed, a bounded batch at a time. Returns how many went.
 */
export async function deleteDeliveredEvents(sql: Sql, retentionMs: number, batch = 10_000): Promise<number> {
  let total = 0;
  for (;;) {
    const r = await sql.query(
      `WITH slowest AS (
         SELECT cursor_transaction_id AS t, cursor_event_id AS i FROM domain_event_consumers
          WHERE updated_at > now() - make_interval(secs => $1::float8 / 1000)
          ORDER BY cursor_transaction_id, cursor_event_id LIMIT 1)
       DELETE FROM domain_events WHERE id IN (
         SELECT e.id FROM domain_events e, slowest s
          WHERE (e.transaction_id, e.id) <= (s.t, s.i) AND e.occurred_at < now() - make_interval(secs => $1::float8 / 1000)
          LIMIT $2)`,
      [retentionMs, batch],
    );
    total += r.rowCount ?? 0;
    if ((r.rowCount ?? 0) < batch) return total;
  }
}

function compare(a: Cursor, b: Cursor): number {
  if (a.transactionId !== b.transactionId) return a.transactionId < b.transactionId ? -1 : 1;
  return a.eventId === b.eventId ? 0 : a.eventId < b.eventId ? -1 : 1;
}

function describe(err: unknown): string {
  return (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 2000);
}
