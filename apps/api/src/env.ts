/** The API's configuration: read once from the environment, validated, failing fast with every problem listed. */
import { checkTemporalConnectionEnv, temporalConnectionEnv } from '@opsconductor/temporal-connection';
import { z } from 'zod';
import { masterKeysEnv } from '@opsconductor/secrets';
import { parseTrustedProxies } from './lib/client-address.ts';
import { DEFAULT_HEAP_GROWING_PERCENT } from './lib/heap.ts';
import { MAX_ARTIFACT_BYTES } from '@opsconductor/contracts/software';

const trustedProxies = z
  .string()
  .default('')
  .transform((value, ctx) => {
    try {
      return parseTrustedProxies(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

const SECRETS_MASTER_KEYS_REQUIRED =
  "required in production: the secret store's master keys as id:base64key[,id:base64key…], each 32 random bytes, the first current " +
  `(make one with: node -e "console.log('k1:' + require('node:crypto').randomBytes(32).toString('base64'))")`;

export const apiEnvSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    DATABASE_URL: z.string().url(),
    /** Connections for people's requests (the console, the API) and inventory ingest. */
    DB_POOL_MAX: z.coerce.number().int().min(2).max(200).default(20),
    /** Connections for agent traffic (polls, reports, last-seen): a pool of its own, so agents cannot starve people. */
    AGENT_DB_POOL_MAX: z.coerce.number().int().min(2).max(200).default(20),
    /** Long-polls one API process holds at once; more are answered 503 `server_busy` with Retry-After. */
    AGENT_MAX_LONG_POLLS: z.coerce.number().int().min(1).max(1_000_000).default(20_000),
    /** How far the heap may grow past the live heap before a full collection, in percent (0: V8's own choice). */
    API_HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(1000).default(DEFAULT_HEAP_GROWING_PERCENT),
    /** Where files for `file.fetch` commands are kept (content-addressed); relative to the working directory. */
    FILE_STORE_DIR: z.string().min(1).default('.data/files'),
    /**
     * Whether this process runs commands on agentless targets over SSH and WinRM (ADR 21): \`off\` on API processes
     * that cannot reach them (at least one process must relay, or their commands wait until they expire).
     */
    AGENTLESS_RELAY: z.enum(['on', 'off']).default('on'),
    /** Largest file that may be uploaded (POST /api/v1/files), in bytes. */
    FILE_UPLOAD_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(2 ** 40)
      .default(1024 ** 3),
    /** The built-in software depot: artifacts content-addressed by SHA-256 (ADR 23); relative to the working directory. */
    DEPOT_DIR: z.string().min(1).default('.data/depot'),
    /** Largest artifact that may be uploaded to the depot (POST /api/v1/depot/artifacts), in bytes. */
    DEPOT_UPLOAD_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_ARTIFACT_BYTES)
      .default(16 * 1024 ** 3),
    /** Every depot source is checked this often, by one API process at a time (an advisory lock); 0 turns it off. */
    DEPOT_HEALTH_INTERVAL_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .default(300),
    /** A deployment of at least this many devices needs a second operator's approval; 0 turns approvals off. */
    DEPLOYMENT_APPROVAL_MIN_DEVICES: z.coerce.number().int().min(0).max(1_000_000).default(0),
    /** Required software assignments are re-applied this often (a removed package comes back); 0 turns it off. */
    ASSIGNMENT_ENFORCE_INTERVAL_SECONDS: z.coerce
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(4 * 3600),
    ...temporalConnectionEnv,
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('opsconductor-jobs'),
    /** Base URL of the Temporal Web UI, for links to workflows; empty to hide them. */
    TEMPORAL_UI_URL: z.string().default('http://localhost:8233'),
    /** All interfaces, for containers; the dev launcher passes 127.0.0.1. */
    API_HOST: z.string().default('0.0.0.0'),
    API_PORT: z.coerce.number().int().min(1).max(65535).default(4000),
    /** A separate listener for Prometheus: GET /metrics only; port 0 turns it off. */
    API_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    API_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
    /** When set, /metrics (on either listener) needs `Authorization: Bearer <token>`, and the API port serves it too. */
    METRICS_TOKEN: z.string().min(16, 'use at least 16 characters').max(512).regex(/^\S+$/, 'no spaces').optional(),
    /** The URL agents and API clients use to reach this server (shown in enroll commands). */
    API_PUBLIC_URL: z.string().url().default('http://localhost:4000'),
    /** Where people open the console: alert notifications link to it. */
    CONSOLE_PUBLIC_URL: z.string().url().default('http://localhost:3000'),
    /**
     * Hosts (names or host:port, comma-separated) notification webhooks may reach although they resolve to
     * private, loopback or link-local addresses (ADR 25: every other such destination is refused).
     */
    NOTIFICATION_ALLOWED_HOSTS: z.string().max(4096).default(''),
    /** Origins allowed to make cookie-authenticated state-changing requests (comma-separated). */
    WEB_ORIGINS: z.string().default('http://localhost:3000,http://127.0.0.1:3000'),
    /**
     * Proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For is believed: the console and any
     * reverse proxy in front of the API. Empty (the default) trusts nobody: the TCP peer is the client.
     */
    TRUSTED_PROXIES: trustedProxies,
    /**
     * Replaced by TRUSTED_PROXIES. `true` used to believe X-Forwarded-For from anyone (forgeable audit
     * addresses, unlimited password guesses), so it is refused rather than mapped to something.
     */
    TRUST_PROXY: z
      .string()
      .optional()
      .refine((v) => v === undefined || ['', 'false', '0'].includes(v.trim().toLowerCase()), {
        message:
          'TRUST_PROXY was replaced by TRUSTED_PROXIES: list the proxy addresses or CIDRs to trust (e.g. TRUSTED_PROXIES=127.0.0.1 for a console on this host) and unset TRUST_PROXY',
      }),
    SESSION_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
    /**
     * A device not heard from for longer is stale, and past DEVICE_OFFLINE_AFTER_SECONDS offline (a cleanly stopped
     * agent is offline at once). Agents are heard from at least every long-poll (25 s), so below 30 s devices would
     * flicker. The worker reads the same variables for time-based group rules and presence events: set them alike.
     */
    DEVICE_ONLINE_WINDOW_SECONDS: z.coerce.number().int().min(30).max(86_400).default(90),
    DEVICE_OFFLINE_AFTER_SECONDS: z.coerce
      .number()
      .int()
      .min(30)
      .max(30 * 86_400)
      .default(600),
    /**
     * Master keys of the secret store (packages/secrets): `id:base64key`, comma-separated, the first current.
     * Required in production; without it in development the store refuses to keep secrets.
     */
    SECRETS_MASTER_KEYS: masterKeysEnv,
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine(checkTemporalConnectionEnv)
  .superRefine((env, ctx) => {
    if (env.DEVICE_OFFLINE_AFTER_SECONDS < env.DEVICE_ONLINE_WINDOW_SECONDS) {
      ctx.addIssue({ code: 'custom', path: ['DEVICE_OFFLINE_AFTER_SECONDS'], message: 'must be at least DEVICE_ONLINE_WINDOW_SECONDS' });
    }
    if (env.NODE_ENV === 'production' && env.SECRETS_MASTER_KEYS.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['SECRETS_MASTER_KEYS'], message: SECRETS_MASTER_KEYS_REQUIRED });
    }
  });
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
