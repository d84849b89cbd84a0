/** Helpers for the depot tests: Ed25519 depot keys and signed manifests as the server makes them. */
import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import type { ArtifactManifest, ArtifactSource, DepotSigningKey, SignedManifest } from '@opsconductor/contracts/software';

export interface DepotKey {
  trusted: DepotSigningKey;
  privateKey: KeyObject;
}

export function depotKey(keyId = 'k1'): DepotKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  // The last 32 bytes of the SPKI DER are the raw key, as the server publishes it.
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { trusted: { keyId, publicKey: raw.toString('base64') }, privateKey };
}

export function signManifestText(text: string, key: DepotKey): SignedManifest {
  return { manifest: text, keyId: key.trusted.keyId, signature: sign(null, Buffer.from(text, 'utf8'), key.privateKey).toString('base64') };
}

export function manifestFor(bytes: Buffer, sources: ArtifactSource[], overrides: Partial<ArtifactManifest> = {}): ArtifactManifest {
  return {
    v: 1,
    packageName: 'Example',
    packageVersion: '1.2.3',
    versionId: randomUUID(),
    fileName: 'example-setup.bin',
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sources,
    issuedAt: new Date().toISOString(),
    ...overrides,
  };
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface RecordedRequest {
  url: string;
  range: string | undefined;
  authorization: string | undefined;
}

export interface LoopbackServer {
  url: string;
  requests: RecordedRequest[];
  /** Body bytes written to clients. */
  bytesSent: number;
  close(): Promise<void>;
}

type Handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, n: number) => unknown;

/** A real HTTP server on 127.0.0.1; `handler` gets each request with its 0-based index. */
export async function loopbackServer(handler: Handler): Promise<LoopbackServer> {
  const { createServer } = await import('node:http');
  const sockets = new Set<import('node:net').Socket>();
  const state: LoopbackServer = {
    url: '',
    requests: [],
    bytesSent: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const n = state.requests.length;
    state.requests.push({ url: req.url ?? '', range: req.headers.range, authorization: req.headers.authorization });
    const write = res.write.bind(res) as (chunk: Buffer, cb?: () => void) => boolean;
    res.write = ((chunk: Buffer, ...rest: never[]) => {
      state.bytesSent += chunk.length;
      return write(chunk, ...rest);
    }) as typeof res.write;
    Promise.resolve(handler(req, res, n)).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
  return state;
}

/** Answers as a conforming server does: 200, or 206 for `Range: bytes=N-`, 416 beyond the end. Writes through res.write (counted). */
export function serveBytes(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, content: Buffer): void {
  const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (match) {
    const start = Number(match[1]);
    if (start >= content.length) {
      res.writeHead(416, { 'content-range': `bytes */${content.length}` }).end();
      return;
    }
    res.writeHead(206, {
      'content-range': `bytes ${start}-${content.length - 1}/${content.length}`,
      'content-length': content.length - start,
    });
    res.write(content.subarray(start));
    res.end();
    return;
  }
  res.writeHead(200, { 'content-length': content.length });
  res.write(content);
  res.end();
}

/** Sends the first `n` bytes of a 200 answer for all of `content`, then cuts the connection. */
export async function serveThenCut(res: import('node:http').ServerResponse, content: Buffer, n: number): Promise<void> {
  res.writeHead(200, { 'content-length': content.length });
  await new Promise<void>((resolve) => res.write(content.subarray(0, n), () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 150)); // let the client read them before the cut
  res.socket?.destroy();
}
