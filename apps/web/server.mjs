/**
 * Production HTTP server for the console: the Remix build behind express, like `remix-serve`, plus
 * what remix-serve cannot do: hand the browser's IP to loaders (the API records it in the audit
 * log as X-Forwarded-For) and honour a reverse proxy via TRUST_PROXY.
 *
 * It also refuses every state-changing request that does not come from the console's own origin
 * (same-origin.mjs, the CSRF defence), before Remix sees it.
 *
 *   PORT (default 3000), HOST (default all interfaces), TRUST_PROXY (express "trust proxy":
 *   e.g. `loopback`, `1`, `10.0.0.0/8`; unset = trust nobody), WEB_ORIGINS (further origins the
 *   console is served under, comma-separated), plus the app's own env (API_URL, SESSION_SECRET,
 *   NODE_ENV — see app/lib/env.server.ts).
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequestHandler } from '@remix-run/express';
import compression from 'compression';
import express from 'express';
import { expressSelfOrigin, parseAllowedOrigins, sameOriginGuard } from './same-origin.mjs';

const root = path.dirname(fileURLToPath(import.meta.url));
const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`[web] PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(1);
}

let allowedOrigins;
try {
  allowedOrigins = parseAllowedOrigins(process.env.WEB_ORIGINS);
} catch (error) {
  console.error(`[web] ${error.message}`);
  process.exit(78);
}

function trustProxySetting(value) {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

// Importing the build validates the environment (app/lib/env.server.ts) and fails fast.
let build;
try {
  build = await import(pathToFileURL(path.join(root, 'build/server/index.js')).href);
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('build/server')) {
    console.error('[web] no server build: run `npm run build -w @opsconductor/web` first');
  } else if (String(error?.message).startsWith('Invalid environment')) {
    console.error(`[web] ${error.message}`);
  } else {
    console.error(error);
  }
  process.exit(78); // EX_CONFIG, like the API
}
const clientDir = path.join(root, 'build/client');

const app = express();
app.disable('x-powered-by');
app.set('trust proxy', trustProxySetting(process.env.TRUST_PROXY));
// First of all: no loader or action may run for a forged cross-origin request.
app.use(sameOriginGuard({ selfOrigin: expressSelfOrigin, allowedOrigins }));
app.use(
  compression({
    // Event streams must reach the browser as they are written.
    filter: (req, res) => !String(res.getHeader('Content-Type') ?? '').startsWith('text/event-stream') && compression.filter(req, res),
  }),
);
// Fingerprinted assets are immutable; everything else in public/ may change between deploys.
app.use('/assets', express.static(path.join(clientDir, 'assets'), { immutable: true, maxAge: '1y', fallthrough: false }));
app.use(express.static(clientDir, { maxAge: '1h', index: false }));
app.all(
  '*',
  createRequestHandler({
    build,
    mode: process.env.NODE_ENV === 'production' ? 'production' : 'development',
    getLoadContext: (req) => ({ clientIp: req.ip ?? req.socket.remoteAddress }),
  }),
);

const onListen = () => console.log(`[web] console listening on http://${process.env.HOST ?? 'localhost'}:${port}`);
const server = process.env.HOST ? app.listen(port, process.env.HOST, onListen) : app.listen(port, onListen);
server.on('error', (error) => {
  console.error(`[web] ${error.message}`);
  process.exit(1);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    // Live event streams never end by themselves.
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 3000).unref();
  });
}
