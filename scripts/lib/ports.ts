/**
 * Ports the dev launcher is about to bind, checked before anything starts. A taken port is not just a
 * failed bind: a client pointed at it would silently talk to whatever already listens there (another
 * stack's Temporal, say), so a port counts as taken when binding fails or when something answers on
 * loopback.
 */
import { connect, createServer } from 'node:net';

export interface PortClaim {
  port: number;
  /** The address the service will bind. */
  host: string;
  /** The environment variable that moves it. */
  variable: string;
  /** Who probably holds it, for the message. */
  likelyHolder: string;
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Whether something accepts connections on host:port (never binds, so it cannot get in a server's way). */
export function answers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function isPortTaken(host: string, port: number): Promise<boolean> {
  const [bindable, v4, v6] = await Promise.all([canBind(host, port), answers('127.0.0.1', port), answers('::1', port)]);
  return !bindable || v4 || v6;
}

/** Problems that keep the launcher from starting: ports claimed twice, then ports in use, one line each. */
export async function portProblems(claims: PortClaim[]): Promise<string[]> {
  const problems: string[] = [];
  const byPort = new Map<number, PortClaim[]>();
  for (const claim of claims) byPort.set(claim.port, [...(byPort.get(claim.port) ?? []), claim]);
  for (const [port, same] of byPort) {
    if (same.length > 1) problems.push(`${same.map((c) => c.variable).join(' and ')} are set to the same port ${port}: give each its own`);
  }
  const taken = await Promise.all(claims.map((c) => isPortTaken(c.host, c.port)));
  claims.forEach((c, i) => {
    if (taken[i]) problems.push(`port ${c.port} is in use (${c.variable}): ${c.likelyHolder} is running; stop it or set ${c.variable}`);
  });
  return problems;
}
