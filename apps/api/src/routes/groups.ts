import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { pagination, searchText, uuid } from '@opsconductor/contracts/api';
import { deviceSummaryList, groupMembersRequest, membershipEventList, rulePreview } from '@opsconductor/contracts/inventory-api';
import {
  createGroupBody,
  groupListResponse as groupList,
  groupResponse as groupDto,
  rulePreviewBody,
  updateGroupBody,
} from '../lib/rule-openapi.ts';
import type { Rule } from '@opsconductor/contracts/rules';
import type { AppEnv } from '../context.ts';
import { body, createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { requestOrigin } from '../lib/audit.ts';
import { ApiError, documentedProblem, problemResponses } from '../lib/problem.ts';
import { listDeviceSummaries } from '../services/devices.ts';

const security = [{ bearerAuth: [] }];
const read = [authenticate];
const operate = [authenticate, requireRole('operator')];
const idParam = z.object({ id: uuid.describe("The group's ID") });
const tags = ['groups'];
/** CPU time a preview may spend evaluating (anyone signed in can preview; saved groups have no limit). */
const PREVIEW_BUDGET_MS = 5_000;

const list = createRoute({
  method: 'get',
  path: '/groups',
  operationId: 'listGroups',
  tags,
  summary: 'List groups with member counts',
  security,
  middleware: read,
  responses: { 200: json(groupList, 'Groups'), ...problemResponses },
});
const get = createRoute({
  method: 'get',
  path: '/groups/{id}',
  operationId: 'getGroup',
  tags,
  summary: 'One group',
  security,
  middleware: read,
  request: { params: idParam },
  responses: { 200: json(groupDto, 'Group'), ...problemResponses },
});
const create = createRoute({
  method: 'post',
  path: '/groups',
  operationId: 'createGroup',
  tags,
  summary: 'Create a static or dynamic group (operator)',
  security,
  middleware: operate,
  description: 'A dynamic group is evaluated over all devices at once; its rule is validated (400 `rule_invalid` with `errors[].path`).',
  request: body(createGroupBody),
  responses: { 201: json(groupDto, 'Created'), 409: documentedProblem('Name taken'), ...problemResponses },
});
const update = createRoute({
  method: 'patch',
  path: '/groups/{id}',
  operationId: 'updateGroup',
  tags,
  summary: 'Rename, describe or change the rule (operator)',
  description: 'At least one field; an empty change is 400.',
  security,
  middleware: operate,
  request: { params: idParam, ...body(updateGroupBody) },
  responses: {
    200: json(groupDto, 'Updated'),
    409: documentedProblem('Name taken, a built-in group, or a rule for a static group'),
    ...problemResponses,
  },
});
const remove = createRoute({
  method: 'delete',
  path: '/groups/{id}',
  operationId: 'deleteGroup',
  tags,
  summary: 'Delete a group (operator; not built-in ones)',
  security,
  middleware: operate,
  request: { params: idParam },
  responses: {
    204: { description: 'Deleted' },
    409: documentedProblem('A built-in group, or one that other rules reference'),
    ...problemResponses,
  },
});
const members = createRoute({
  method: 'get',
  path: '/groups/{id}/members',
  operationId: 'listGroupMembers',
  tags,
  summary: 'Members of a group',
  security,
  middleware: read,
  request: {
    params: idParam,
    query: pagination.extend({
      search: searchText.optional().describe('Hostname, OS name or model containing this text (case-insensitive), or an exact IP address'),
    }),
  },
  responses: { 200: json(deviceSummaryList, 'Members'), ...problemResponses },
});
const changeMembers = createRoute({
  method: 'post',
  path: '/groups/{id}/members',
  operationId: 'updateGroupMembers',
  tags,
  summary: 'Add or remove devices of a static group (operator)',
  security,
  middleware: operate,
  request: { params: idParam, ...body(groupMembersRequest) },
  responses: {
    200: json(groupDto, 'Updated'),
    409: documentedProblem('A dynamic group (its members follow its rule)'),
    ...problemResponses,
  },
});
const events = createRoute({
  method: 'get',
  path: '/groups/{id}/events',
  operationId: 'listGroupEvents',
  tags,
  summary: 'Membership changes of a group, newest first',
  security,
  middleware: read,
  request: { params: idParam, query: pagination },
  responses: { 200: json(membershipEventList, 'Events'), ...problemResponses },
});
const preview = createRoute({
  method: 'post',
  path: '/groups/preview',
  operationId: 'previewGroupRule',
  tags,
  summary: 'Evaluate a rule without saving it',
  security,
  middleware: read,
  description: `Evaluation yields to other requests every few milliseconds and stops after ${PREVIEW_BUDGET_MS / 1000} s of CPU time with 422 \`rule_too_expensive\`.`,
  request: body(rulePreviewBody),
  responses: {
    200: json(rulePreview, 'Matches'),
    422: { description: 'The rule took too long to evaluate', content: problemResponses[400].content },
    ...problemResponses,
  },
});

export async function groupDtos(c: Context<AppEnv>, where: { id?: string } = {}) {
  const rows = await c.var.deps.db.prisma.deviceGroup.findMany({
    where,
    orderBy: [{ builtInKey: { sort: 'asc', nulls: 'last' } }, { name: 'asc' }],
    include: { _count: { select: { members: true } } },
  });
  return rows.map((g) => ({
    id: g.id,
    name: g.name,
    description: g.description,
    kind: g.kind,
    rule: (g.rule as Rule | null) ?? null,
    builtIn: g.builtInKey !== null,
    memberCount: g._count.members,
    createdAt: g.createdAt.toISOString(),
    updatedAt: g.updatedAt.toISOString(),
  }));
}
async function mustGet(c: Context<AppEnv>, id: string) {
  const [g] = await groupDtos(c, { id });
  if (!g) throw new ApiError(404, 'not_found');
  return g;
}

export const groupRoutes = createRouter()
  .openapi(list, async (c) => c.json({ items: await groupDtos(c) }, 200))
  .openapi(preview, async (c) => {
    const { rule, limit } = c.req.valid('json');
    const started = performance.now();
    const ids = await c.var.deps.services.groups.preview(rule, PREVIEW_BUDGET_MS);
    const evaluatedIn = Math.round((performance.now() - started) * 10) / 10;
    const devices = limit
      ? await c.var.deps.db.prisma.device.findMany({
          where: { id: { in: ids.slice(0, 5000) } },
          select: { id: true, hostname: true, osName: true },
          orderBy: { hostname: 'asc' },
          take: limit,
        })
      : [];
    return c.json({ count: ids.length, devices, evaluatedIn }, 200);
  })
  .openapi(get, async (c) => c.json(await mustGet(c, c.req.valid('param').id), 200))
  .openapi(create, async (c) => {
    const id = await c.var.deps.services.groups.create(requestOrigin(c), c.req.valid('json'));
    return c.json(await mustGet(c, id), 201);
  })
  .openapi(update, async (c) => {
    const { id } = c.req.valid('param');
    await c.var.deps.services.groups.update(requestOrigin(c), id, c.req.valid('json'));
    return c.json(await mustGet(c, id), 200);
  })
  .openapi(remove, async (c) => {
    await c.var.deps.services.groups.delete(requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(members, async (c) => {
    const { id } = c.req.valid('param');
    await mustGet(c, id);
    const q = c.req.valid('query');
    return c.json(await listDeviceSummaries(c.var.deps, { ...q, groupId: id, sort: 'hostname', order: 'asc' }), 200);
  })
  .openapi(changeMembers, async (c) => {
    const { id } = c.req.valid('param');
    const { add, remove: del } = c.req.valid('json');
    await c.var.deps.services.groups.changeMembers(requestOrigin(c), id, add, del);
    return c.json(await mustGet(c, id), 200);
  })
  .openapi(events, async (c) => {
    const { id } = c.req.valid('param');
    const { page, pageSize } = c.req.valid('query');
    const { prisma } = c.var.deps.db;
    // A deleted group's events went with it: 404, not an empty page that looks like a live group.
    if (!(await prisma.deviceGroup.findUnique({ where: { id }, select: { id: true } }))) throw new ApiError(404, 'not_found');
    const [rows, total] = await Promise.all([
      prisma.groupMembershipEvent.findMany({
        where: { groupId: id },
        orderBy: { id: 'desc' },
        skip: (page - 1) * pageSize,
        take: pageSize,
        include: { device: { select: { hostname: true } } },
      }),
      prisma.groupMembershipEvent.count({ where: { groupId: id } }),
    ]);
    return c.json(
      {
        items: rows.map((e) => ({
          id: e.id.toString(),
          groupId: e.groupId,
          deviceId: e.deviceId,
          hostname: e.device.hostname,
          change: e.change as 'added' | 'removed',
          reason: e.reason,
          occurredAt: e.occurredAt.toISOString(),
        })),
        total,
      },
      200,
    );
  });
