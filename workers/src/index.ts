export { createWorker, workflowsPath, DEFAULT_TASK_QUEUE, type CreateWorkerOptions } from './worker.ts';
export { ensureSearchAttributes, type EnsureSearchAttributesResult } from './search-attributes.ts';
export { parseWorkerEnv, loadWorkerEnv, InvalidEnvError, type WorkerEnv } from './env.ts';
export { temporalLogger } from './logger.ts';
export { createOutboxDispatcher, eventConsumers } from './outbox.ts';
