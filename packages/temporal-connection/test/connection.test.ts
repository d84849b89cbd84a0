/**
 * The Temporal TLS / API key settings: validation and mapping (unit), then real connections from both SDK clients
 * (@temporalio/client for the API, the worker's NativeConnection) through an mTLS proxy in front of the suite's
 * Temporal server (test/support/temporal-tls.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import type {} from '../../../test/support/database.ts'; // inject() typing
import { createTestPki, startTlsProxy, tlsEnv, TLS_SERVER_NAME, type TestPki, type TlsProxy } from '../../../test/support/temporal-tls.ts';
import { checkTemporalConnectionEnv, describeTemporalConnection, temporalConnectionEnv, temporalConnectionOptions } from '../src/index.ts';

const schema = z.object(temporalConnectionEnv).superRefine(checkTemporalConnectionEnv);
const parse = (env: Record<string, string>) => schema.safeParse(env);
const problems = (env: Record<string, string>) => {
  const r = parse(env);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};
const options = (env: Record<string, string>) => temporalConnectionOptions(schema.parse(env));

let pki: TestPki;
beforeAll(async () => {
  pki = await createTestPki();
});
afterAll(async () => {
  await pki?.remove();
});

describe('settings', () => {
  it('connects in plaintext by default', () => {
    expect(options({})).toEqual({ address: '127.0.0.1:7233' });
    expect(describeTemporalConnection(options({}))).toBe('plaintext');
  });

  it('turns TLS on for an API key (Temporal Cloud) and passes the key', () => {
    const o = options({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'key-123' });
    expect(o).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: {}, apiKey: 'key-123' });
    expect(describeTemporalConnection(o)).toBe('TLS + API key');
  });

  it('reads the CA, the client certificate pair and the server name', () => {
    const o = options({
      TEMPORAL_TLS_CA: pki.caCert,
      TEMPORAL_TLS_CERT: pki.clientCert,
      TEMPORAL_TLS_KEY: pki.clientKey,
      TEMPORAL_TLS_SERVER_NAME: TLS_SERVER_NAME,
    });
    expect(o.tls?.serverNameOverride).toBe(TLS_SERVER_NAME);
    expect(Buffer.from(o.tls!.serverRootCACertificate!).equals(readFileSync(pki.caCert))).toBe(true);
    expect(Buffer.from(o.tls!.clientCertPair!.crt).equals(readFileSync(pki.clientCert))).toBe(true);
    expect(Buffer.from(o.tls!.clientCertPair!.key).equals(readFileSync(pki.clientKey))).toBe(true);
    expect(o.apiKey).toBeUndefined();
    expect(describeTemporalConnection(o)).toBe('TLS + client certificate');
  });

  it('TEMPORAL_TLS=true alone means TLS with the system CAs', () => {
    expect(options({ TEMPORAL_TLS: 'true' }).tls).toEqual({});
    expect(options({ TEMPORAL_TLS: 'false' }).tls).toBeUndefined();
  });

  it('treats empty values as unset (compose passes ${VAR:-} through)', () => {
    expect(options({ TEMPORAL_API_KEY: '', TEMPORAL_TLS: '', TEMPORAL_TLS_CA: '', TEMPORAL_TLS_SERVER_NAME: '' })).toEqual({
      address: '127.0.0.1:7233',
    });
  });

  it('lists every problem', () => {
    expect(problems({ TEMPORAL_TLS_CERT: pki.clientCert })).toEqual([
      'TEMPORAL_TLS_KEY: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together',
    ]);
    expect(problems({ TEMPORAL_TLS_KEY: pki.clientKey })).toEqual([
      'TEMPORAL_TLS_CERT: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together',
    ]);
    expect(problems({ TEMPORAL_TLS_CA: join(pki.dir, 'missing.pem') })).toEqual([
      `TEMPORAL_TLS_CA: cannot read ${join(pki.dir, 'missing.pem')} (ENOENT)`,
    ]);
    expect(problems({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k', TEMPORAL_TLS_CA: pki.caCert })).toEqual([
      'TEMPORAL_TLS: is false, but TEMPORAL_TLS_CA, TEMPORAL_API_KEY need TLS',
    ]);
    expect(problems({ TEMPORAL_TLS: 'yes' })).toHaveLength(1);
    expect(problems({ TEMPORAL_API_KEY: 'two words' })).toHaveLength(1);
    expect(problems({ TEMPORAL_TLS_CA: 'a\0b' })).toContain('TEMPORAL_TLS_CA: must not contain NUL');
    expect(problems({ TEMPORAL_TLS_SERVER_NAME: 'bad name/x' })).toHaveLength(1);
  });
});

describe('connecting through mTLS', () => {
  let proxy: TlsProxy;
  beforeAll(async () => {
    proxy = await startTlsProxy(inject('temporalAddress'), pki);
  });
  afterAll(async () => {
    await proxy?.close();
  });

  const clientConnects = async (env: Record<string, string>) => {
    const connection = await Connection.connect({ ...options(env), connectTimeout: '3s' });
    try {
      return (await connection.workflowService.getSystemInfo({})).serverVersion;
    } finally {
      await connection.close();
    }
  };
  const workerConnects = async (env: Record<string, string>) => {
    const connection = await NativeConnection.connect(options(env));
    try {
      return (await connection.workflowService.getSystemInfo({})).serverVersion;
    } finally {
      await connection.close();
    }
  };

  it('the API client and the worker connect with the CA, client certificate, server name and an API key', async () => {
    const env = tlsEnv(proxy, pki, { TEMPORAL_API_KEY: 'test-api-key' });
    expect(await clientConnects(env)).toMatch(/^\d+\.\d+/);
    expect(await workerConnects(env)).toMatch(/^\d+\.\d+/);
    expect(proxy.clients).toContain('opsconductor-client');
  });

  it('fails without the client certificate, with an untrusted one, with the wrong server name or CA', async () => {
    const { TEMPORAL_TLS_CERT: _c, TEMPORAL_TLS_KEY: _k, ...noClientCert } = tlsEnv(proxy, pki);
    // The server's certificate names temporal.test only: checking it against the address (127.0.0.1) fails.
    const { TEMPORAL_TLS_SERVER_NAME: _n, ...noServerName } = tlsEnv(proxy, pki);
    const stranger = tlsEnv(proxy, pki, { TEMPORAL_TLS_CERT: pki.strangerCert, TEMPORAL_TLS_KEY: pki.strangerKey });
    const otherCa = tlsEnv(proxy, pki, { TEMPORAL_TLS_CA: join(pki.dir, 'stranger-ca.pem') });
    const attempts = [noClientCert, noServerName, stranger, otherCa].flatMap((env) => [clientConnects(env), workerConnects(env)]);
    const results = await Promise.allSettled(attempts);
    expect(results.map((r) => r.status)).toEqual(attempts.map(() => 'rejected'));
  });
});
