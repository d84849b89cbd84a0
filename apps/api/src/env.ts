/** The API's configuration: read once from the environment, validated, failing fast with every problem listed. */
import { checkTemporalConnectionEnv, temporalConnectionEnv } from '@opsconductor/temporal-connection';
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const apiEnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: z.string().url(),
  DB_POOL_MAX: z.coerce.number().int().min(2).max(200).default(20),
  ...temporalConnectionEnv,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('opsconductor-jobs'),
  /** Base URL of the Temporal Web UI, for links to workflows; empty to hide them. */
  TEMPORAL_UI_URL: z.string().default('http://localhost:8233'),
  API_HOST: z.string().default('0.0.0.0'),
  API_PORT: z.coerce.number().int().min(1).max(65535).default(4000),
  /** The URL agents and API clients use to reach this server (shown in enroll commands). */
  API_PUBLIC_URL: z.string().url().default('http://localhost:4000'),
  /** Origins allowed to make cookie-authenticated state-changing requests (comma-separated). */
  WEB_ORIGINS: z.string().default('http://localhost:3000,http://127.0.0.1:3000'),
  /** Take the client address from X-Forwarded-For (set when behind the console or a reverse proxy). */
  TRUST_PROXY: bool.default(false),
  SESSION_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).superRefine(checkTemporalConnectionEnv);
export type ApiEnv = z.infer<typeof apiEnvSchema>;

export function loadApiEnv(source: NodeJS.ProcessEnv = process.env): ApiEnv {
  const parsed = apiEnvSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`);
    console.error(`Invalid API configuration:\n${lines.join('\n')}`);
    process.exit(78); // EX_CONFIG
  }
  return parsed.data;
}
