/**
 * A TCP proxy on loopback in front of a real server (PostgreSQL, Temporal), to take that server away
 * from a process under test and give it back: `down()` refuses connections and cuts open ones, as a
 * stopped server does; `hang()` accepts connections and never answers, as an unreachable host does;
 * `mute()` still delivers what clients send but drops every answer, as a network that fails after the
 * request went out does (the server acts on requests whose answers are lost).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** host:port of the proxy. */
  address: string;
  down(): Promise<void>;
  hang(): Promise<void>;
  mute(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: 'up' | 'hang' | 'mute' = 'up';
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const cutAll = () => {
    for (const s of sockets) s.destroy();
  };
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      track(client);
      if (mode === 'hang') return; // accepted, never answered
      const upstream = connect(target.port, target.host);
      track(upstream);
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (mode !== 'mute') client.write(chunk);
      });
      upstream.on('end', () => client.end());
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => resolve());
    });
    port = (server.address() as { port: number }).port;
  };
  const stopListening = () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  const down = async () => {
    const closing = stopListening();
    cutAll();
    await closing;
    server = undefined;
  };
  await listen();
  return {
    port,
    address: `127.0.0.1:${port}`,
    down,
    async hang() {
      mode = 'hang';
      cutAll();
      if (!server) await listen();
    },
    async mute() {
      mode = 'mute';
      if (!server) await listen();
    },
    async up() {
      // Connections accepted while hanging were never forwarded, and muted ones lost answers mid-stream: end them,
      // as a restarted server would.
      if (mode !== 'up') cutAll();
      mode = 'up';
      if (!server) await listen();
    },
    close: down,
  };
}
