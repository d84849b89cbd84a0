/**
 * Temporal over TLS for tests. The Temporal CLI's dev server only speaks plaintext, so a TLS-terminating proxy on
 * loopback stands in front of it: it presents a server certificate for `temporal.test` (signed by a throwaway CA),
 * requires a client certificate signed by the same CA (mTLS), negotiates HTTP/2 and forwards the decrypted bytes to
 * the dev server. Certificates come from Debian's `openssl`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type TLSSocket } from 'node:tls';

export const TLS_SERVER_NAME = 'temporal.test';

export interface TestPki {
  dir: string;
  /** PEM file paths. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from a CA the server does not trust. */
  strangerCert: string;
  strangerKey: string;
  remove(): Promise<void>;
}

export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'opsconductor-pki-'));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = (name: string) =>
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.pem`),
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  const leaf = async (name: string, signer: string, ext: string) => {
    await writeFile(f(`${name}.ext`), ext);
    openssl('req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`);
    openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f(`${signer}.pem`),
      '-CAkey',
      f(`${signer}.key`),
      '-CAcreateserial',
      '-out',
      f(`${name}.pem`),
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
    );
  };
  ca('test-ca');
  ca('stranger-ca');
  await leaf(
    'server',
    'test-ca',
    `subjectAltName=DNS:${TLS_SERVER_NAME}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`,
  );
  const clientExt = 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n';
  await leaf('opsconductor-client', 'test-ca', clientExt);
  await leaf('stranger', 'stranger-ca', clientExt);
  return {
    dir,
    caCert: f('test-ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('opsconductor-client.pem'),
    clientKey: f('opsconductor-client.key'),
    strangerCert: f('stranger.pem'),
    strangerKey: f('stranger.key'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface TlsProxy {
  address: string;
  /** Common names of the client certificates of every connection that completed the TLS handshake. */
  clients: string[];
  close(): Promise<void>;
}

/** mTLS in front of `target` (host:port of a plaintext Temporal frontend). */
export async function startTlsProxy(target: string, pki: TestPki): Promise<TlsProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const clients: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer(
    {
      cert: await readFile(pki.serverCert),
      key: await readFile(pki.serverKey),
      ca: await readFile(pki.caCert),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (tlsSocket: TLSSocket) => {
      clients.push(String(tlsSocket.getPeerCertificate().subject?.CN ?? ''));
      const upstream = connect(port, host);
      for (const s of [tlsSocket, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          tlsSocket.destroy();
          upstream.destroy();
        });
      }
      tlsSocket.pipe(upstream).pipe(tlsSocket);
    },
  );
  // Failed handshakes (the tests' wrong certificates) are expected here.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: listenPort } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${listenPort}`,
    clients,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The TEMPORAL_* environment for a process that connects through the proxy with mTLS. */
export function tlsEnv(proxy: TlsProxy, pki: TestPki, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_TLS_CA: pki.caCert,
    TEMPORAL_TLS_CERT: pki.clientCert,
    TEMPORAL_TLS_KEY: pki.clientKey,
    TEMPORAL_TLS_SERVER_NAME: TLS_SERVER_NAME,
    ...extra,
  };
}
