import { createRoute } from '@hono/zod-openapi';
import { auditLogList, pagination } from '@opsconductor/contracts/api';
import { createRouter } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { problemResponses } from '../lib/problem.ts';

const list = createRoute({
  method: 'get', path: '/audit-logs', tags: ['audit'], summary: 'The audit log, newest first (admin)', security: [{ bearerAuth: [] }],
  middleware: [authenticate, requireRole('admin')],
  request: { query: pagination },
  responses: { 200: { description: 'Entries', content: { 'application/json': { schema: auditLogList } } }, ...problemResponses },
});

export const auditLogRoutes = createRouter().openapi(list, async (c) => {
  const { page, pageSize } = c.req.valid('query');
  const { prisma } = c.var.deps.db;
  const [rows, total] = await Promise.all([
    prisma.auditLog.findMany({ orderBy: { id: 'desc' }, skip: (page - 1) * pageSize, take: pageSize }),
    prisma.auditLog.count(),
  ]);
  return c.json({
    items: rows.map((r) => ({
      id: r.id.toString(), actorType: r.actorType, actorId: r.actorId, actorName: r.actorName, action: r.action,
      targetType: r.targetType, targetId: r.targetId, details: r.details ?? null, ipAddress: r.ipAddress, createdAt: r.createdAt.toISOString(),
    })),
    total,
  }, 200);
});
