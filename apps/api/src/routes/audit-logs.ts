import { createRoute, z } from '@hono/zod-openapi';
import { auditLogExportQuery, auditLogList, auditLogListQuery } from '@opsconductor/contracts/api';
import { createRouter } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { streamCsv } from '../lib/csv.ts';
import { problemResponses } from '../lib/problem.ts';
import { auditLogCsvHeader, auditLogCsvPages, listAuditLogs } from '../services/audit-logs.ts';

const security = [{ bearerAuth: [] }];
const middleware = [authenticate, requireRole('admin')];
const filtersDescription =
  "Filters (all optional, combined with AND): `actor` (a user's email, a device's hostname or an actor ID), `actorType`, `action` (exact, or `job_run.*` for every action of a kind), `targetType`, `targetId`, `from` (inclusive) and `to` (exclusive) as a date (YYYY-MM-DD, UTC; a date as `to` includes that day) or an ISO 8601 date-time with offset.";

const list = createRoute({
  method: 'get',
  path: '/audit-logs',
  operationId: 'listAuditLogs',
  tags: ['audit'],
  summary: 'The audit log, newest first (admin)',
  description: filtersDescription,
  security,
  middleware,
  request: { query: auditLogListQuery },
  responses: { 200: { description: 'Entries', content: { 'application/json': { schema: auditLogList } } }, ...problemResponses },
});
const exportCsv = createRoute({
  method: 'get',
  path: '/audit-logs.csv',
  operationId: 'exportAuditLogs',
  tags: ['audit'],
  summary: 'The filtered audit log as CSV, newest first (admin)',
  description: `${filtersDescription}\n\nStreamed, UTF-8 with a byte-order mark, RFC 4180 quoting; text cells starting with = + - @, tab or CR are prefixed with \`'\` so spreadsheets do not run them as formulas. \`details\` is JSON.`,
  security,
  middleware,
  request: { query: auditLogExportQuery },
  responses: { 200: { description: 'CSV', content: { 'text/csv': { schema: z.string() } } }, ...problemResponses },
});

export const auditLogRoutes = createRouter()
  .openapi(list, async (c) => c.json(await listAuditLogs(c.var.deps, c.req.valid('query')), 200))
  .openapi(exportCsv, (c) => {
    const deps = c.var.deps;
    const filename = `audit-log-${new Date().toISOString().slice(0, 10)}.csv`;
    return streamCsv(c, filename, auditLogCsvHeader, auditLogCsvPages(deps, c.req.valid('query')), (err) =>
      deps.logger.error({ err }, 'audit log export failed'),
    );
  });
