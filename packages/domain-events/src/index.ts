export * from './catalog.ts';
export { appendEvents, wakeDispatchers, DOMAIN_EVENTS_CHANNEL, type Sql } from './outbox.ts';
export { OutboxDispatcher, deleteDeliveredEvents, type DispatcherOptions, type EventConsumer } from './dispatcher.ts';
