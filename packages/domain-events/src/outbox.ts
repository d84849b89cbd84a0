/**
 * Writing to the transactional outbox: events go into `domain_events` with the change they describe, on
 * the same connection and in the same transaction, so either both are stored or neither. After the commit
 * a NOTIFY wakes the dispatchers (best effort: they poll too).
 */
import type pg from 'pg';
import type { EventActor, NewDomainEvent } from './catalog.ts';

/** NOTIFY channel that wakes dispatchers; no payload (they read the table). */
export const DOMAIN_EVENTS_CHANNEL = 'oc_domain_events';

/** Something that runs SQL: a pool, or the client of an open transaction. */
export type Sql = Pick<pg.Pool, 'query'>;

/** Inserts the events in order (their IDs follow the order of the array). */
export async function appendEvents(sql: Sql, events: readonly NewDomainEvent[], actor: EventActor | null = null): Promise<void> {
  if (!events.length) return;
  await sql.query(
    `INSERT INTO domain_events (type, subject_type, subject_id, payload, actor_type, actor_id, actor_name)
     SELECT t, st, si, p, $5, $6, $7 FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS e(t, st, si, p, n) ORDER BY n`,
    [
      events.map((e) => e.type),
      events.map((e) => e.subject.type),
      events.map((e) => e.subject.id),
      events.map((e) => JSON.stringify(e.payload)),
      actor?.type ?? null,
      actor?.id ?? null,
      actor?.name ?? null,
    ],
  );
}

/** Wakes every dispatcher now; call after the commit, never inside the transaction (NOTIFY locks at commit). */
export async function wakeDispatchers(pool: Sql): Promise<void> {
  await pool.query('SELECT pg_notify($1, $2)', [DOMAIN_EVENTS_CHANNEL, '']);
}
