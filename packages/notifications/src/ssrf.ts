/**
 * The SSRF guard: every HTTP request a notification makes goes through it, because the URL comes from whoever
 * configured the channel and the request is made from inside the network.
 *
 * - Only `http:` and `https:`, no user name or password in the URL, no redirects (a 3xx is returned, never followed).
 * - The host name is resolved once per connection and EVERY address it resolves to must be public
 *   (`blockedAddressReason`); the connection then goes to those checked addresses only (the resolver is the socket's
 *   `lookup`), so a second, different DNS answer cannot slip in between check and connect (DNS rebinding). TLS SNI and
 *   the Host header stay the name.
 * - IP literals, in any form WHATWG URL parsing normalises (`http://2130706433/`, `http://0x7f.1/`,
 *   `http://[::ffff:127.0.0.1]/`), are checked as addresses.
 * - `allowHosts` lets an admin's internal receivers through: exact host names or `host:port`, case-insensitive.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { blockedAddressReason } from './address.ts';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to all its addresses (the default: `dns.lookup` with `all: true`). Tests inject their own. */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface DestinationPolicy {
  /** Host names or `host:port` let through whatever they resolve to (exact, case-insensitive; IPv6 in brackets). */
  allowHosts?: readonly string[];
  resolve?: HostResolver;
}

/** A destination the guard refused: `reason` says why ("private address 10.0.0.5", "scheme file: is not allowed"). */
export class BlockedDestinationError extends Error {
  override readonly name = 'BlockedDestinationError';
  constructor(
    readonly reason: string,
    readonly destination: string,
  ) {
    super(`refused to connect to ${destination}: ${reason}`);
  }
}

export const defaultResolver: HostResolver = async (hostname) => {
  const addresses = await dnsLookup(hostname, { all: true, verbatim: true });
  return addresses.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

const bare = (host: string) => host.replace(/^\[|\]$/g, '').toLowerCase();

function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80';
}

/** Whether `hostname` (and `port`) is on the allow-list: an entry names the host alone, or the host and the port. */
export function isAllowedHost(hostname: string, port: string, protocol: string, allowHosts: readonly string[] = []): boolean {
  const host = bare(hostname);
  const effectivePort = port === '' ? defaultPort(protocol) : port;
  return allowHosts.some((entry) => {
    const wanted = entry.trim().toLowerCase();
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(wanted);
    if (v6 !== null) return v6[1] === host && (v6[2] === undefined || v6[2] === effectivePort);
    const colon = wanted.lastIndexOf(':');
    // A bare IPv6 address has colons but no port.
    if (colon === -1 || isIP(wanted) === 6) return wanted === host;
    return wanted.slice(0, colon) === host && wanted.slice(colon + 1) === effectivePort;
  });
}

/**
 * `url` parsed and checked before any connection: scheme, user info, and an IP literal's address (unless allowed).
 * Host names are checked when they are resolved, at connection time.
 */
export function checkDestinationUrl(url: string | URL, policy: DestinationPolicy = {}): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BlockedDestinationError('not a valid URL', '(invalid URL)');
  }
  const shown = `${parsed.protocol}//${parsed.host}`;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new BlockedDestinationError(`scheme ${parsed.protocol} is not allowed`, parsed.protocol);
  }
  if (parsed.username !== '' || parsed.password !== '') throw new BlockedDestinationError('user info in the URL is not allowed', shown);
  if (parsed.hostname === '') throw new BlockedDestinationError('no host', shown);
  if (!isAllowedHost(parsed.hostname, parsed.port, parsed.protocol, policy.allowHosts)) {
    const host = bare(parsed.hostname);
    if (isIP(host) !== 0) {
      const reason = blockedAddressReason(host);
      if (reason !== null) throw new BlockedDestinationError(`${reason} ${host}`, shown);
    }
  }
  return parsed;
}

/** The addresses `hostname` resolves to, after checking every one of them. */
async function checkedAddresses(hostname: string, resolve: HostResolver, check: boolean): Promise<ResolvedAddress[]> {
  const addresses = await resolve(hostname);
  if (addresses.length === 0) throw new BlockedDestinationError('the name has no addresses', hostname);
  if (check) {
    for (const { address } of addresses) {
      const reason = blockedAddressReason(address);
      if (reason !== null) throw new BlockedDestinationError(`${reason} ${address}`, hostname);
    }
  }
  return addresses;
}

/** A `net.connect` lookup that answers with checked addresses only. */
function guardedLookup(resolve: HostResolver, check: boolean): LookupFunction {
  return (hostname, options, callback) => {
    checkedAddresses(hostname, resolve, check).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (options.all === true) {
          callback(null, wanted);
          return;
        }
        const first = wanted[0];
        if (first === undefined)
          callback(Object.assign(new Error(`no IPv${String(options.family)} address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        else callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), '', 0),
    );
  };
}

export interface GuardedDispatcherOptions extends DestinationPolicy {
  /** Connect, response-header and body-idle timeouts, in milliseconds. */
  timeoutMs?: number;
  /** A response body over this many bytes fails the request (the bound on what a client library may buffer). */
  maxResponseBytes?: number;
  /** Told of every refused connection (for clients that hide the error they got). */
  onRefused?: (error: BlockedDestinationError) => void;
}

/**
 * An undici dispatcher whose every connection passes the guard. Give it to `fetch` as `dispatcher` (for libraries
 * that call the global fetch); `destroy()` it when done.
 */
export function createGuardedDispatcher(options: GuardedDispatcherOptions = {}): Agent {
  const timeout = options.timeoutMs ?? 10_000;
  const resolve = options.resolve ?? defaultResolver;
  const checking = buildConnector({ timeout, lookup: guardedLookup(resolve, true) });
  const allowed = buildConnector({ timeout, lookup: guardedLookup(resolve, false) });
  return new Agent({
    headersTimeout: timeout,
    bodyTimeout: timeout,
    maxResponseSize: options.maxResponseBytes ?? 1024 * 1024,
    connect: (connectOptions, done) => {
      const callback: typeof done = (...args) => {
        const refused = blockedCause(args[0]);
        if (refused !== null) options.onRefused?.(refused);
        done(...args);
      };
      const { hostname, port, protocol } = connectOptions;
      const host = bare(hostname);
      const shown = `${protocol}//${hostname}${port === '' ? '' : `:${port}`}`;
      if (protocol !== 'http:' && protocol !== 'https:') {
        callback(new BlockedDestinationError(`scheme ${protocol} is not allowed`, shown), null);
        return;
      }
      if (isAllowedHost(hostname, port, protocol, options.allowHosts)) {
        allowed(connectOptions, callback);
        return;
      }
      // An IP literal is connected to without a lookup: check it here.
      const reason = isIP(host) !== 0 ? blockedAddressReason(host) : null;
      if (reason !== null) {
        callback(new BlockedDestinationError(`${reason} ${host}`, shown), null);
        return;
      }
      checking(connectOptions, callback);
    },
  });
}

export interface GuardedFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface GuardedFetchOptions extends GuardedDispatcherOptions {
  /** The whole request, response body included (default 10 s). */
  timeoutMs?: number;
  /** Response body bytes kept (default 4 KiB); the rest is not read. */
  maxBodyBytes?: number;
}

/** The first `BlockedDestinationError` in an error's `cause` chain. */
export function blockedCause(error: unknown): BlockedDestinationError | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof BlockedDestinationError) return current;
    current = current.cause;
  }
  return null;
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/**
 * One HTTP request through the guard. Redirects are returned as they are (never followed); the response body is read
 * up to `maxBodyBytes` and the connection closed, so the returned `Response` holds everything in memory.
 * Throws `BlockedDestinationError` for a refused destination, and fetch's errors (a `TimeoutError`, `TypeError`
 * with a `cause`) otherwise.
 */
export async function guardedFetch(url: string | URL, init: GuardedFetchInit = {}, options: GuardedFetchOptions = {}): Promise<Response> {
  const target = checkDestinationUrl(url, options);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const dispatcher = createGuardedDispatcher({ ...options, timeoutMs });
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = init.signal === undefined ? timeout : AbortSignal.any([init.signal, timeout]);
  try {
    const response = await undiciFetch(target, {
      method: init.method ?? 'GET',
      ...(init.headers === undefined ? {} : { headers: init.headers }),
      ...(init.body === undefined ? {} : { body: init.body }),
      redirect: 'manual',
      signal,
      dispatcher,
    });
    const body = await readAtMost(response.body, options.maxBodyBytes ?? 4096);
    return new Response(NULL_BODY_STATUS.has(response.status) ? null : body, {
      status: response.status,
      statusText: response.statusText,
      headers: [...response.headers],
    });
  } catch (error) {
    throw blockedCause(error) ?? error;
  } finally {
    // The connection is not reused: close it (and whatever of the body was not read).
    void dispatcher.destroy().catch(() => undefined);
  }
}

async function readAtMost(body: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    while (length < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.byteLength;
    }
  } finally {
    if (length >= max) await reader.cancel().catch(() => undefined);
    else reader.releaseLock();
  }
  const all = Buffer.concat(chunks);
  return all.subarray(0, Math.min(max, all.byteLength));
}
