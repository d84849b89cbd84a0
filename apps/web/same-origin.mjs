/**
 * The console's CSRF defence: every state-changing request must come from the console's own origin.
 *
 * It runs as a connect/express middleware in front of Remix, in production (server.mjs) and under
 * `remix vite:dev` (vite.config.ts), so it sees every URL form Remix answers — documents, `?_data=`,
 * single-fetch `.data`, `?index`, resource routes, trailing slashes, percent-encoded paths — before any
 * loader or action runs. Remix's own check skips `?_data` and resource routes, and the API's Origin
 * check never sees browser requests (the console calls it with a bearer token from its server).
 *
 * Rule: GET, HEAD and OPTIONS pass. Anything else passes only when the `Origin` header equals the
 * console's own origin (scheme://host:port of the request as the server sees it, honouring
 * TRUST_PROXY in production) or one of the configured origins (WEB_ORIGINS, for a console behind a
 * proxy that rewrites Host). Without an `Origin` header only `Sec-Fetch-Site: same-origin` passes.
 * Everything else — another site, another port of the same host (same-site but not same-origin),
 * `Origin: null`, no header at all — gets 403. Content types do not matter: a text/plain form is
 * refused like any other. The login form is covered too (login CSRF).
 *
 * Plain JavaScript because server.mjs runs under plain `node` in production (no TypeScript loader).
 */

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `scheme://host[:port]` of an absolute http(s) URL, or null when `value` is not one. */
export function originOf(value) {
  if (typeof value !== 'string' || value === '' || value === 'null') return null;
  let url;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return url.origin;
}

/**
 * Parses a comma-separated list of origins (WEB_ORIGINS). Throws with a readable message for an entry
 * that is not a bare origin (a path, a query or a wildcard would never match an Origin header).
 */
export function parseAllowedOrigins(value) {
  if (value === undefined || value.trim() === '') return [];
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const origin = originOf(entry);
      const url = origin && new URL(entry);
      if (
        !url ||
        !/^([a-z0-9-]+\.)*[a-z0-9-]+$|^\[[0-9a-f:.]+\]$/.test(url.hostname) ||
        url.pathname !== '/' ||
        url.search ||
        url.hash ||
        url.username ||
        url.password
      ) {
        throw new Error(`WEB_ORIGINS: ${JSON.stringify(entry)} is not an origin like https://console.example.com`);
      }
      return origin;
    });
}

/**
 * Decides one request. `origin` and `secFetchSite` are the raw header values (undefined when absent),
 * `selfOrigin` the console's origin as this server sees the request.
 * Returns null when the request may proceed, otherwise the reason it is refused.
 */
export function refusalReason({ method, origin, secFetchSite, selfOrigin, allowedOrigins }) {
  if (SAFE_METHODS.has(method)) return null;
  if (origin !== undefined) {
    const normalized = originOf(origin);
    if (normalized && (normalized === originOf(selfOrigin) || allowedOrigins.includes(normalized))) return null;
    return `origin ${JSON.stringify(origin.slice(0, 200))} is not the console's (${selfOrigin})`;
  }
  if (secFetchSite === 'same-origin') return null;
  return secFetchSite ? `no Origin header and Sec-Fetch-Site is ${JSON.stringify(secFetchSite.slice(0, 50))}` : 'no Origin header';
}

const header = (req, name) => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

/**
 * A connect/express middleware applying refusalReason to every request.
 * `selfOrigin(req)` returns the console's origin for a request, the same way the server builds the
 * URL it hands to Remix.
 */
export function sameOriginGuard({ selfOrigin, allowedOrigins = [], log = console.warn }) {
  let logged = 0;
  return function sameOrigin(req, res, next) {
    const self = selfOrigin(req);
    const reason = refusalReason({
      method: req.method ?? '',
      origin: header(req, 'origin'),
      secFetchSite: header(req, 'sec-fetch-site'),
      selfOrigin: self,
      allowedOrigins,
    });
    if (reason === null) return next();
    // Enough to diagnose a misconfigured proxy without letting a flood of forged requests fill the log.
    if (logged < 100) {
      logged += 1;
      log(
        `[web] refused ${req.method} ${String(req.url).slice(0, 200)}: ${reason}; if the console is served under another origin, add it to WEB_ORIGINS`,
      );
    }
    // Drain the body so the connection stays usable, then answer.
    req.resume();
    res.statusCode = 403;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.end('Forbidden: this request did not come from the console (cross-origin request refused).\n');
  };
}

/** The console's origin under express, built exactly like @remix-run/express builds the request URL. */
export function expressSelfOrigin(req) {
  const port = (value) => {
    const n = Number.parseInt(value?.split(':')[1] ?? '', 10);
    return Number.isSafeInteger(n) ? n : undefined;
  };
  const p = port(req.get('X-Forwarded-Host')) ?? port(req.get('host'));
  return `${req.protocol}://${req.hostname}${p === undefined ? '' : `:${p}`}`;
}

/** The console's origin under a plain Node server (vite dev): the Host header on this socket. */
export function nodeSelfOrigin(req) {
  return `${req.socket?.encrypted ? 'https' : 'http'}://${req.headers.host ?? ''}`;
}
