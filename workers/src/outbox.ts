/**
 * The outbox dispatcher this worker runs beside its Temporal worker: it delivers domain events to the
 * registered consumers (one active dispatcher per consumer across all workers; see packages/domain-events).
 * New consumers (rollouts on group changes, alert rules, webhooks) register here.
 */
import type { Database } from '@opsconductor/db';
import { deviceActivityConsumer } from '@opsconductor/devices';
import { OutboxDispatcher, type EventConsumer } from '@opsconductor/domain-events';
import type { Logger } from 'pino';

export function eventConsumers(db: Database): EventConsumer[] {
  return [deviceActivityConsumer(db)];
}

export function createOutboxDispatcher(o: {
  db: Database;
  databaseUrl: string;
  logger: Logger;
  consumers?: EventConsumer[];
}): OutboxDispatcher {
  return new OutboxDispatcher({
    pool: o.db.pool,
    databaseUrl: o.databaseUrl,
    consumers: o.consumers ?? eventConsumers(o.db),
    logger: o.logger.child({ component: 'outbox' }),
  });
}
