import { createRoute, z } from '@hono/zod-openapi';
import { createEnrollmentTokenRequest, createdEnrollmentToken, enrollmentToken, enrollmentTokenList, uuid } from '@opsconductor/contracts/api';
import type { EnrollmentToken, User } from '@opsconductor/db';
import { createRouter } from '../lib/router.ts';
import { authenticate, generateToken, hashToken, requireRole } from '../lib/auth.ts';
import { audit } from '../lib/audit.ts';
import { ApiError, problemResponses } from '../lib/problem.ts';

function toDto(t: EnrollmentToken & { createdBy: Pick<User, 'email'> | null }): z.infer<typeof enrollmentToken> {
  return {
    id: t.id, name: t.name, tokenPrefix: t.tokenPrefix, maxUses: t.maxUses, usedCount: t.usedCount,
    expiresAt: t.expiresAt.toISOString(), revokedAt: t.revokedAt?.toISOString() ?? null, createdAt: t.createdAt.toISOString(),
    createdBy: t.createdBy?.email ?? null,
  };
}

const admin = [authenticate, requireRole('admin')];
const security = [{ bearerAuth: [] }];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

const list = createRoute({ method: 'get', path: '/enrollment-tokens', operationId: 'listEnrollmentTokens', tags: ['enrollment'], summary: 'List enrollment tokens (admin)', security, middleware: admin, responses: { 200: json(enrollmentTokenList, 'Tokens'), ...problemResponses } });
const create = createRoute({
  method: 'post', path: '/enrollment-tokens', operationId: 'createEnrollmentToken', tags: ['enrollment'], summary: 'Create an enrollment token (admin)',
  description: 'The secret `token` is returned once; only its hash is stored. Agents enroll with it until it expires, is revoked or reaches `maxUses`.',
  security, middleware: admin,
  request: { body: { content: { 'application/json': { schema: createEnrollmentTokenRequest } }, required: true } },
  responses: { 201: json(createdEnrollmentToken, 'Created'), ...problemResponses },
});
const revoke = createRoute({
  method: 'delete', path: '/enrollment-tokens/{id}', operationId: 'revokeEnrollmentToken', tags: ['enrollment'], summary: 'Revoke an enrollment token (admin)', security, middleware: admin,
  request: { params: z.object({ id: uuid.describe("The enrollment token's ID") }) },
  responses: { 200: json(enrollmentToken, 'Revoked'), ...problemResponses },
});

export const enrollmentTokenRoutes = createRouter()
  .openapi(list, async (c) => {
    const tokens = await c.var.deps.db.prisma.enrollmentToken.findMany({ orderBy: { createdAt: 'desc' }, take: 500, include: { createdBy: { select: { email: true } } } });
    return c.json({ items: tokens.map(toDto) }, 200);
  })
  .openapi(create, async (c) => {
    const body = c.req.valid('json');
    const token = `oce_${generateToken(32)}`;
    const t = await c.var.deps.db.prisma.enrollmentToken.create({
      data: {
        name: body.name, maxUses: body.maxUses, tokenHash: hashToken(token), tokenPrefix: token.slice(0, 10),
        expiresAt: new Date(Date.now() + body.expiresInHours * 3600_000), createdById: c.var.user.id,
      },
      include: { createdBy: { select: { email: true } } },
    });
    await audit(c, { action: 'enrollment_token.create', targetType: 'enrollment_token', targetId: t.id, details: { name: t.name, maxUses: t.maxUses, expiresAt: t.expiresAt.toISOString() } });
    return c.json({ ...toDto(t), token }, 201);
  })
  .openapi(revoke, async (c) => {
    const { id } = c.req.valid('param');
    const { prisma } = c.var.deps.db;
    const existing = await prisma.enrollmentToken.findUnique({ where: { id } });
    if (!existing) throw new ApiError(404, 'not_found');
    const t = await prisma.enrollmentToken.update({ where: { id }, data: { revokedAt: existing.revokedAt ?? new Date() }, include: { createdBy: { select: { email: true } } } });
    await audit(c, { action: 'enrollment_token.revoke', targetType: 'enrollment_token', targetId: id });
    return c.json(toDto(t), 200);
  });
