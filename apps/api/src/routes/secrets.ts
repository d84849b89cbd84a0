/** The secret store's master keys (admin): which key protects how many secrets, and rotation to the current key. */
import { createRoute } from '@hono/zod-openapi';
import { secretKeyUsage, secretRotation } from '@opsconductor/contracts/api';
import { createRouter } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { requestOrigin } from '../lib/audit.ts';
import { problemResponses } from '../lib/problem.ts';

const security = [{ bearerAuth: [] }];
const middleware = [authenticate, requireRole('admin')];
const tags = ['secrets'];

const keys = createRoute({
  method: 'get',
  path: '/admin/secrets/keys',
  operationId: 'getSecretKeyUsage',
  tags,
  summary: 'Master keys and how many secrets each protects (admin)',
  description:
    'Metadata only: secret values and keys are never sent by the API. Keys come from `SECRETS_MASTER_KEYS` (the first is current).',
  security,
  middleware,
  responses: { 200: { description: 'Key usage', content: { 'application/json': { schema: secretKeyUsage } } }, ...problemResponses },
});
const rotate = createRoute({
  method: 'post',
  path: '/admin/secrets/rotate',
  operationId: 'rotateSecrets',
  tags,
  summary: 'Re-encrypt secrets under the current master key (admin)',
  description:
    'Re-encrypts the data keys of secrets protected by older master keys with the current one (the first of `SECRETS_MASTER_KEYS`), ' +
    'up to 10,000 per call in one transaction with its audit row (`secrets.rotate`); call again while `remaining` is above 0, then remove ' +
    "the old key. 503 `secrets_unavailable` when no master key is configured or a secret's key is missing (nothing changes then).",
  security,
  middleware,
  responses: {
    200: { description: 'Rotated', content: { 'application/json': { schema: secretRotation } } },
    ...problemResponses,
    503: {
      ...problemResponses[503],
      description: "No master key, or a secret's key is not configured (`secrets_unavailable`); or the database is unavailable",
    },
  },
});

export const secretRoutes = createRouter()
  .openapi(keys, async (c) => {
    const { secrets } = c.var.deps;
    return c.json({ configured: secrets.configured, currentKeyId: secrets.currentKeyId, keys: await secrets.keyUsage() }, 200);
  })
  .openapi(rotate, async (c) => {
    const result = await c.var.deps.secrets.rotate(requestOrigin(c));
    c.var.deps.logger.info({ ...result, by: c.var.user.email }, 'secrets re-encrypted under the current master key');
    return c.json(result, 200);
  });
