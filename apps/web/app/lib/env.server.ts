/**
 * The console's configuration, read from the environment once and validated with zod. Everything
 * else takes its configuration from here (or as arguments), never from process.env directly.
 */
import { z } from 'zod';

const DEV_SESSION_SECRET = 'opsconductor-dev-session-secret-do-not-use-in-production';

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  API_URL: z
    .string()
    .url()
    .default('http://127.0.0.1:4000')
    .transform((url) => url.replace(/\/+$/, '')),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -hex 32`)').optional(),
  /** Milliseconds the console waits for the API before it reports it unreachable. */
  API_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
});

export type Env = {
  nodeEnv: 'development' | 'production' | 'test';
  apiUrl: string;
  sessionSecret: string;
  apiTimeoutMs: number;
};

function load(): Env {
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  - ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new Error(`Invalid environment for @opsconductor/web:\n${problems.join('\n')}`);
  }
  const env = parsed.data;
  let sessionSecret = env.SESSION_SECRET;
  if (!sessionSecret) {
    if (env.NODE_ENV === 'production') {
      throw new Error(
        'Invalid environment for @opsconductor/web:\n  - SESSION_SECRET: required when NODE_ENV=production (e.g. `openssl rand -hex 32`)',
      );
    }
    console.warn('[web] SESSION_SECRET is not set; using a built-in development secret. Set it in production.');
    sessionSecret = DEV_SESSION_SECRET;
  } else if (env.NODE_ENV === 'production' && sessionSecret === DEV_SESSION_SECRET) {
    throw new Error('Invalid environment for @opsconductor/web:\n  - SESSION_SECRET: the development secret cannot be used in production');
  }
  return {
    nodeEnv: env.NODE_ENV,
    apiUrl: env.API_URL,
    sessionSecret,
    apiTimeoutMs: env.API_TIMEOUT_MS,
  };
}

/** Evaluated when the server build is imported, so a misconfigured production server fails at start. */
export const env: Env = load();
