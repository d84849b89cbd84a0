/**
 * The Temporal connection settings the API and the worker share: TLS (server CA, client certificate for mTLS,
 * server name) and API keys (Temporal Cloud). Each process merges `temporalConnectionEnv` into its own env schema,
 * so a bad setting is listed with the process's other configuration problems, and passes the parsed values to
 * `temporalConnectionOptions` for `Connection.connect` / `NativeConnection.connect`.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { z } from 'zod';

/** Compose files pass unset variables through as empty strings: treat those as unset. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const filePath = z
  .string()
  .max(4096)
  .refine((p) => !p.includes('\0'), 'must not contain NUL');

export const temporalConnectionEnv = {
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  /** TLS with the system's trusted CAs; implied by every setting below. */
  TEMPORAL_TLS: optional(bool),
  /** PEM file: the CA that signed the server's certificate. */
  TEMPORAL_TLS_CA: optional(filePath),
  /** PEM files: client certificate and key for mTLS. */
  TEMPORAL_TLS_CERT: optional(filePath),
  TEMPORAL_TLS_KEY: optional(filePath),
  /** The name the server's certificate is checked against (and sent as SNI), when not the host of TEMPORAL_ADDRESS. */
  TEMPORAL_TLS_SERVER_NAME: optional(
    z
      .string()
      .max(253)
      .regex(/^[A-Za-z0-9.-]+$/, 'must be a host name'),
  ),
  /** API key (Temporal Cloud); implies TLS. */
  TEMPORAL_API_KEY: optional(
    z
      .string()
      .max(8192)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  ),
};

export type TemporalConnectionEnv = z.output<z.ZodObject<typeof temporalConnectionEnv>>;

/** Cross-field checks; use as `schema.superRefine(checkTemporalConnectionEnv)`. Files must be readable now, not at the first connect. */
export function checkTemporalConnectionEnv(env: TemporalConnectionEnv, ctx: z.RefinementCtx): void {
  const issue = (path: keyof TemporalConnectionEnv, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (Boolean(env.TEMPORAL_TLS_CERT) !== Boolean(env.TEMPORAL_TLS_KEY)) {
    issue(env.TEMPORAL_TLS_CERT ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together');
  }
  for (const key of ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY'] as const) {
    const path = env[key];
    if (!path) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (err) {
      issue(key, `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (env.TEMPORAL_TLS === false) {
    const needTls = (
      ['TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY'] as const
    ).filter((k) => env[k]);
    if (needTls.length > 0) issue('TEMPORAL_TLS', `is false, but ${needTls.join(', ')} need TLS`);
  }
}

/** What Connection.connect and NativeConnection.connect both take. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
}

/** Maps validated settings to connection options, reading the PEM files. */
export function temporalConnectionOptions(env: TemporalConnectionEnv): TemporalConnectionOptions {
  const tlsOn =
    env.TEMPORAL_TLS === true ||
    Boolean(env.TEMPORAL_TLS_CA || env.TEMPORAL_TLS_CERT || env.TEMPORAL_TLS_SERVER_NAME || env.TEMPORAL_API_KEY);
  if (!tlsOn) return { address: env.TEMPORAL_ADDRESS };
  const tls: TLSConfig = {};
  if (env.TEMPORAL_TLS_SERVER_NAME) tls.serverNameOverride = env.TEMPORAL_TLS_SERVER_NAME;
  if (env.TEMPORAL_TLS_CA) tls.serverRootCACertificate = readFileSync(env.TEMPORAL_TLS_CA);
  if (env.TEMPORAL_TLS_CERT && env.TEMPORAL_TLS_KEY) {
    tls.clientCertPair = { crt: readFileSync(env.TEMPORAL_TLS_CERT), key: readFileSync(env.TEMPORAL_TLS_KEY) };
  }
  return { address: env.TEMPORAL_ADDRESS, tls, ...(env.TEMPORAL_API_KEY ? { apiKey: env.TEMPORAL_API_KEY } : {}) };
}

/** For logs: how the connection is secured, without secrets. */
export function describeTemporalConnection(o: TemporalConnectionOptions): string {
  if (!o.tls) return 'plaintext';
  const parts = ['TLS'];
  if (o.tls.clientCertPair) parts.push('client certificate');
  if (o.apiKey) parts.push('API key');
  return parts.join(' + ');
}
