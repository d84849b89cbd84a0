/**
 * A unit of work: one transaction holding a change, its audit row and the domain events it causes, so a
 * crash at any point leaves all of them or none. Services open one per mutation and pass it to what they
 * call (the membership engine, other services), which then write into the same transaction.
 */
import type pg from 'pg';
import { withTransaction } from '@opsconductor/db';
import { appendEvents, wakeDispatchers, type NewDomainEvent } from '@opsconductor/domain-events';
import type { Origin } from './actor.ts';
import { writeAudit, type AuditEntry } from './audit.ts';

/** What code writing into someone else's transaction needs: its connection and a way to emit events. */
export interface EventTransaction {
  readonly sql: pg.PoolClient;
  emit(...events: NewDomainEvent[]): Promise<void>;
}

export interface UnitOfWork extends EventTransaction {
  readonly origin: Origin;
  audit(entry: AuditEntry): Promise<void>;
  /** Runs after the commit (wake-ups, cache invalidation); never after a rollback. Must not throw. */
  afterCommit(fn: () => void): void;
}

/** Deadlock and serialization failures: the transaction did nothing and can simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const ATTEMPTS = 3;

/**
 * Runs `fn` in a transaction and commits. A transaction PostgreSQL aborted as a deadlock victim runs again
 * (up to three times), so `fn` must keep its effects inside the transaction (use afterCommit for others).
 */
export async function withUnitOfWork<T>(db: { pool: pg.Pool }, origin: Origin, fn: (uow: UnitOfWork) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const hooks: (() => void)[] = [];
    let emitted = false;
    let result: T;
    try {
      result = await withTransaction(db.pool, (sql) =>
        fn({
          sql,
          origin,
          audit: (entry) => writeAudit(sql, origin, entry),
          async emit(...events) {
            await appendEvents(sql, events, origin.actor);
            emitted ||= events.length > 0;
          },
          afterCommit: (hook) => void hooks.push(hook),
        }),
      );
    } catch (err) {
      if (attempt < ATTEMPTS && RETRYABLE.has((err as { code?: string }).code ?? '')) continue;
      throw err;
    }
    // Dispatchers also poll, so a lost wake-up only delays delivery.
    if (emitted) wakeDispatchers(db.pool).catch(() => {});
    for (const hook of hooks) hook();
    return result;
  }
}

/** Joins the caller's transaction when there is one, else runs in a unit of work of its own. */
export function inTransaction<T>(
  db: { pool: pg.Pool },
  tx: EventTransaction | undefined,
  origin: Origin,
  fn: (tx: EventTransaction) => Promise<T>,
): Promise<T> {
  return tx ? fn(tx) : withUnitOfWork(db, origin, fn);
}

/**
 * Runs independent reads concurrently on the pool, or one after another on a transaction's connection
 * (a connection runs one query at a time; pg refuses to queue them from pg 9 on).
 */
export async function readAll<T extends readonly (() => Promise<unknown>)[]>(
  tx: EventTransaction | undefined,
  reads: T,
): Promise<{ -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
  if (!tx) return Promise.all(reads.map((read) => read())) as never;
  const out: unknown[] = [];
  for (const read of reads) out.push(await read());
  return out as never;
}
