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

/**
 * Inserts the events in order (their IDs follow the order of the array). `actor`: who caused them all, or one
 * actor per event (a batch of reports from many devices).
 */
export async function appendEvents(
  sql: Sql,
  events: readonly NewDomainEvent[],
  actor: EventActor | null | readonly (EventActor | null)[] = null,
): Promise<void> {
  if (!events.length) return;
  const actors = Array.isArray(actor) ? (actor as readonly (EventActor | null)[]) : events.map(() => actor as EventActor | null);
  if (actors.length !== events.length) throw new Error(`appendEvents: ${events.length} events but ${actors.length} actors`);
  await sql.query(
    `INSERT INTO domain_events (type, subject_type, subject_id, payload, actor_type, actor_id, actor_name)
     SELECT t, st, si, p, at, ai, an
       FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS e(t, st, si, p, at, ai, an, n)
      ORDER BY n`,
    [
      events.map((e) => e.type),
      events.map((e) => e.subject.type),
      events.map((e) => e.subject.id),
      events.map((e) => JSON.stringify(e.payload)),
      actors.map((a) => a?.type ?? null),
      actors.map((a) => a?.id ?? null),
      actors.map((a) => a?.name ?? null),
    ],
  );
}

/** Wakes every dispatcher now; call after the commit, never inside the transaction (NOTIFY locks at commit). */
export async function wakeDispatchers(pool: Sql): Promise<void> {
  await pool.query('SELECT pg_notify($1, $2)', [DOMAIN_EVENTS_CHANNEL, '']);
}
