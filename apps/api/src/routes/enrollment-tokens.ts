import { createRoute, z } from '@hono/zod-openapi';
import {
  createEnrollmentTokenRequest,
  createdEnrollmentToken,
  enrollmentToken,
  enrollmentTokenList,
  uuid,
} from '@opsconductor/contracts/api';
import type { EnrollmentTokenRecord } from '@opsconductor/identity';
import { createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { requestOrigin } from '../lib/audit.ts';
import { problemResponses } from '../lib/problem.ts';

function toDto(t: EnrollmentTokenRecord): z.infer<typeof enrollmentToken> {
  return {
    id: t.id,
    name: t.name,
    tokenPrefix: t.tokenPrefix,
    maxUses: t.maxUses,
    usedCount: t.usedCount,
    expiresAt: t.expiresAt.toISOString(),
    revokedAt: t.revokedAt?.toISOString() ?? null,
    createdAt: t.createdAt.toISOString(),
    createdBy: t.createdBy,
  };
}

const admin = [authenticate, requireRole('admin')];
const security = [{ bearerAuth: [] }];

const list = createRoute({
  method: 'get',
  path: '/enrollment-tokens',
  operationId: 'listEnrollmentTokens',
  tags: ['enrollment'],
  summary: 'List enrollment tokens (admin)',
  security,
  middleware: admin,
  responses: { 200: json(enrollmentTokenList, 'Tokens'), ...problemResponses },
});
const create = createRoute({
  method: 'post',
  path: '/enrollment-tokens',
  operationId: 'createEnrollmentToken',
  tags: ['enrollment'],
  summary: 'Create an enrollment token (admin)',
  description:
    'The secret `token` is returned once; only its hash is stored. Agents enroll with it until it expires, is revoked or reaches `maxUses`.',
  security,
  middleware: admin,
  request: { body: { content: { 'application/json': { schema: createEnrollmentTokenRequest } }, required: true } },
  responses: { 201: json(createdEnrollmentToken, 'Created'), ...problemResponses },
});
const revoke = createRoute({
  method: 'delete',
  path: '/enrollment-tokens/{id}',
  operationId: 'revokeEnrollmentToken',
  tags: ['enrollment'],
  summary: 'Revoke an enrollment token (admin)',
  security,
  middleware: admin,
  request: { params: z.object({ id: uuid.describe("The enrollment token's ID") }) },
  responses: { 200: json(enrollmentToken, 'Revoked'), ...problemResponses },
});

export const enrollmentTokenRoutes = createRouter()
  .openapi(list, async (c) => {
    const tokens = await c.var.deps.db.prisma.enrollmentToken.findMany({
      orderBy: { createdAt: 'desc' },
      take: 500,
      include: { createdBy: { select: { email: true } } },
    });
    return c.json({ items: tokens.map((t) => toDto({ ...t, createdBy: t.createdBy?.email ?? null })) }, 200);
  })
  .openapi(create, async (c) => {
    const { record, token } = await c.var.deps.services.enrollmentTokens.create(requestOrigin(c), c.req.valid('json'));
    return c.json({ ...toDto(record), token }, 201);
  })
  .openapi(revoke, async (c) =>
    c.json(toDto(await c.var.deps.services.enrollmentTokens.revoke(requestOrigin(c), c.req.valid('param').id)), 200),
  );
