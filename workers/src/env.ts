/** The worker's configuration: read once from the environment, validated, failing fast with every problem listed. */
import { DEFAULT_DISPATCH_PER_SECOND } from '@opsconductor/activities';
import { masterKeysEnv } from '@opsconductor/secrets';
import { checkTemporalConnectionEnv, temporalConnectionEnv } from '@opsconductor/temporal-connection';
import { z } from 'zod';

export const workerEnvSchema = z
  .object({
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL'),
    /** Most database connections this worker holds. */
    DB_POOL_MAX: z.coerce.number().int().min(2).max(100).default(10),
    ...temporalConnectionEnv,
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('opsconductor-jobs'),
    /**
     * Prometheus metrics at http://<host>:<port>/metrics; port 0 turns them off. Temporal's exporter
     * cannot check a token, so the listen address is the protection: loopback unless told otherwise.
     */
    WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
    WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    /** A device not heard from for longer is stale, and past the second offline: for time-based group rules and presence events; the API reads the same variables. */
    DEVICE_ONLINE_WINDOW_SECONDS: z.coerce.number().int().min(30).max(86_400).default(90),
    DEVICE_OFFLINE_AFTER_SECONDS: z.coerce
      .number()
      .int()
      .min(30)
      .max(30 * 86_400)
      .default(600),
    /**
     * New commands this worker hands out per second across all job runs (a token bucket holding one second's worth):
     * a fan-out to thousands of devices is released at a rate the API and PostgreSQL can take.
     */
    DISPATCH_PER_SECOND: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_DISPATCH_PER_SECOND),
    /** How often the state alert rules (device offline, disk free, …) are evaluated: the `alert-evaluation` schedule. */
    ALERT_EVALUATION_INTERVAL_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
    /** An alert whose condition has stayed clear this long resolves by itself (flap protection). */
    ALERT_RESOLVE_AFTER_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
    /** The secret store's master keys, as the API's (alert deliveries read their channels' configurations). */
    SECRETS_MASTER_KEYS: masterKeysEnv,
    /** As the API's: links in alert notifications, and webhook hosts allowed on private addresses. */
    CONSOLE_PUBLIC_URL: z.string().url().default('http://localhost:3000'),
    NOTIFICATION_ALLOWED_HOSTS: z.string().max(4096).default(''),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine(checkTemporalConnectionEnv)
  .superRefine((env, ctx) => {
    if (env.DEVICE_OFFLINE_AFTER_SECONDS < env.DEVICE_ONLINE_WINDOW_SECONDS) {
      ctx.addIssue({ code: 'custom', path: ['DEVICE_OFFLINE_AFTER_SECONDS'], message: 'must be at least DEVICE_ONLINE_WINDOW_SECONDS' });
    }
  });
export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export class InvalidEnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid worker configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InvalidEnvError';
  }
}

/** Parses the environment; throws InvalidEnvError listing every problem. */
export function parseWorkerEnv(source: NodeJS.ProcessEnv = process.env): WorkerEnv {
  const parsed = workerEnvSchema.safeParse(source);
  if (!parsed.success) {
    throw new InvalidEnvError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return parsed.data;
}

/** For the entry point: prints the problems and exits with EX_CONFIG. */
export function loadWorkerEnv(source: NodeJS.ProcessEnv = process.env): WorkerEnv {
  try {
    return parseWorkerEnv(source);
  } catch (err) {
    if (!(err instanceof InvalidEnvError)) throw err;
    console.error(err.message);
    process.exit(78); // EX_CONFIG
  }
}
