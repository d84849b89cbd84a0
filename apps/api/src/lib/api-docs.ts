/**
 * The API reference at /api/docs: Scalar's viewer, its script served by this process instead of a CDN, so
 * the page works where the API has no internet access (and loads no fonts or telemetry from elsewhere).
 */
import { createReadStream, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createRoute, z } from '@hono/zod-openapi';
import { Scalar } from '@scalar/hono-api-reference';
import type { AppEnv } from '../context.ts';
import { createRouter } from './router.ts';

export const API_DOCS_PATH = '/api/docs';
export const API_DOCS_SCRIPT_PATH = '/api/docs/scalar.js';
/** Name of the viewer's copy next to the production bundle (apps/api's build puts it there). */
export const BUNDLED_VIEWER_FILE = 'scalar-api-reference.js';

/**
 * The standalone browser build of @scalar/api-reference: next to the production bundle (dist/, where the
 * package itself is not installed: it is a build-time dependency), else in the installed package.
 */
export function viewerScriptFile(): string {
  const bundled = fileURLToPath(new URL(`./${BUNDLED_VIEWER_FILE}`, import.meta.url));
  if (existsSync(bundled)) return bundled;
  // The package exports no path to its browser build: find it from its main module (dist/index.js).
  const main = createRequire(import.meta.url).resolve('@scalar/api-reference');
  return join(dirname(main), 'browser', 'standalone.js');
}

const tags = ['documentation'];
const document = createRoute({
  method: 'get',
  path: '/api/openapi.json',
  operationId: 'getOpenApiDocument',
  tags,
  summary: 'This document (OpenAPI 3.1)',
  security: [],
  responses: {
    200: {
      description: 'The OpenAPI document',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi('OpenApiDocument') } },
    },
  },
});
const page = createRoute({
  method: 'get',
  path: API_DOCS_PATH,
  operationId: 'getApiReference',
  tags,
  summary: 'This document as an interactive reference (HTML)',
  security: [],
  responses: {
    200: { description: 'The reference page; it loads its script from this server only', content: { 'text/html': { schema: z.string() } } },
  },
});
const script = createRoute({
  method: 'get',
  path: API_DOCS_SCRIPT_PATH,
  operationId: 'getApiReferenceScript',
  tags,
  summary: "The reference page's viewer (Scalar)",
  security: [],
  responses: { 200: { description: 'JavaScript', content: { 'text/javascript': { schema: z.string() } } } },
});

const scalarPage = Scalar<AppEnv>({
  url: '/api/openapi.json',
  pageTitle: 'OpsConductor API',
  cdn: API_DOCS_SCRIPT_PATH,
  // Fonts would come from fonts.scalar.com and telemetry goes to Scalar: neither leaves this network. The
  // developer toolbar and the AI agent are Scalar's hosted services.
  withDefaultFonts: false,
  telemetry: false,
  showDeveloperTools: 'never',
  agent: { disabled: true },
});

/** GET /api/openapi.json, /api/docs and the viewer's script; `openApiDocument` builds the document once asked. */
export function apiDocsRoutes(openApiDocument: () => object) {
  let scriptFile: string | undefined;
  return (
    createRouter()
      .openapi(document, (c) => c.json(openApiDocument(), 200))
      // Scalar's page is a middleware that always answers (it never calls `next`).
      .openapi(page, async (c) => (await scalarPage(c, () => Promise.resolve())) as Response)
      .openapi(script, (c) => {
        scriptFile ??= viewerScriptFile();
        const body = Readable.toWeb(createReadStream(scriptFile)) as ReadableStream<Uint8Array>;
        return c.body(body, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=3600' });
      })
  );
}
