/**
 * The client's address, as far as it can be known. `X-Forwarded-For` is anyone's to write, so it is read
 * only when the TCP peer is one of the configured trusted proxies (the console, a reverse proxy), and then
 * from the right: each trusted hop vouches for the address to its left, the first address that is not a
 * trusted proxy is the client. Nothing trusted configured (the default) means the TCP peer, always.
 */
import { BlockList, isIP } from 'node:net';

export interface TrustedProxies {
  /** The entries as configured, for logs and docs. */
  readonly entries: readonly string[];
  trusts(address: string): boolean;
}

/** `::ffff:10.0.0.1` is 10.0.0.1: IPv4 peers of a dual-stack socket arrive in this form. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return (mapped ? mapped[1]! : address).toLowerCase();
}

/** Parses `127.0.0.1, ::1, 10.0.0.0/8`; throws with every invalid entry named. */
export function parseTrustedProxies(list: string | readonly string[]): TrustedProxies {
  const entries = (typeof list === 'string' ? list.split(',') : [...list]).map((s) => s.trim()).filter(Boolean);
  const blocks = new BlockList();
  const invalid: string[] = [];
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? (family === 6 ? 128 : 32) : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!family || extra !== undefined || !(bits >= 0 && bits <= (family === 6 ? 128 : 32))) {
      invalid.push(entry);
      continue;
    }
    blocks.addSubnet(normalizeAddress(address), bits, family === 6 ? 'ipv6' : 'ipv4');
  }
  if (invalid.length) throw new Error(`not an IP address or CIDR: ${invalid.join(', ')}`);
  return {
    entries,
    trusts(address) {
      const a = normalizeAddress(address);
      const family = isIP(a);
      return family !== 0 && blocks.check(a, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

export const trustNobody: TrustedProxies = parseTrustedProxies([]);

/** One X-Forwarded-For element: a bare address, or (as some proxies write it) `[v6]:port` / `v4:port`. */
function forwardedAddress(raw: string): string | null {
  const s = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(s);
  const candidate = bracketed?.[1] ?? v4WithPort?.[1] ?? s;
  return isIP(candidate) ? normalizeAddress(candidate) : null;
}

/**
 * The client address for a request that arrived from `peer` carrying `forwardedFor`. Walks from the
 * peer leftwards through X-Forwarded-For while the current hop is trusted; stops at the first untrusted
 * address (the client) or at garbage, where the last trusted hop is the best we know.
 */
export function clientAddress(
  peer: string | null | undefined,
  forwardedFor: string | null | undefined,
  trusted: TrustedProxies,
): string | null {
  if (!peer) return null;
  let current = normalizeAddress(peer);
  if (!forwardedFor || !trusted.trusts(current)) return current;
  const hops = forwardedFor.split(',').slice(-32); // a bounded walk: the header is attacker-sized
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!trusted.trusts(current)) return current;
    const next = forwardedAddress(hops[i]!);
    if (!next) return current;
    current = next;
  }
  return current;
}
