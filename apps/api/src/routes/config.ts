/**
 * Server settings the console needs on signed-in pages (enroll commands, links to the Temporal UI).
 * Signed-in users only: the sign-in page needs none of them, and they describe the deployment.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { createRouter } from '../lib/router.ts';
import { authenticate } from '../lib/auth.ts';
import { problemResponses } from '../lib/problem.ts';

const serverConfig = z
  .object({
    apiPublicUrl: z.string().openapi({ description: 'The URL agents and API clients use to reach this server' }),
    temporalUiUrl: z.string().nullable().openapi({ description: 'Base URL of the Temporal Web UI, or null when links are hidden' }),
  })
  .openapi('ServerConfig');

const get = createRoute({
  method: 'get',
  path: '/config',
  operationId: 'getServerConfig',
  tags: ['config'],
  summary: 'Server settings for the console (any signed-in user)',
  security: [{ bearerAuth: [] }],
  middleware: [authenticate],
  responses: { 200: { description: 'Settings', content: { 'application/json': { schema: serverConfig } } }, ...problemResponses },
});

export const configRoutes = createRouter().openapi(get, (c) => {
  const { config } = c.var.deps;
  return c.json({ apiPublicUrl: config.apiPublicUrl, temporalUiUrl: config.temporalUiUrl }, 200);
});
