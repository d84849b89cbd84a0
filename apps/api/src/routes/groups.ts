import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { pagination, searchText, uuid } from '@opsconductor/contracts/api';
import { deviceSummaryList, groupMembersRequest, membershipEventList, rulePreview } from '@opsconductor/contracts/inventory-api';
import { createGroupBody, groupListResponse as groupList, groupResponse as groupDto, rulePreviewBody, updateGroupBody } from '../lib/rule-openapi.ts';
import type { Rule } from '@opsconductor/contracts/rules';
import { EvaluationBudgetExceeded } from '@opsconductor/groups';
import { orderGroups, referencedGroups, validateRule } from '@opsconductor/rules';
import type { AppEnv } from '../context.ts';
import { createRouter } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { audit } from '../lib/audit.ts';
import { ApiError, documentedProblem, problemResponses } from '../lib/problem.ts';
import { listDeviceSummaries } from '../services/devices.ts';

const security = [{ bearerAuth: [] }];
const read = [authenticate];
const operate = [authenticate, requireRole('operator')];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const body = <T extends z.ZodType>(schema: T) => ({ body: { content: { 'application/json': { schema } }, required: true } });
const idParam = z.object({ id: uuid.describe("The group's ID") });
const tags = ['groups'];
/** CPU time a preview may spend evaluating (anyone signed in can preview; saved groups have no limit). */
const PREVIEW_BUDGET_MS = 5_000;

const list = createRoute({ method: 'get', path: '/groups', operationId: 'listGroups', tags, summary: 'List groups with member counts', security, middleware: read, responses: { 200: json(groupList, 'Groups'), ...problemResponses } });
const get = createRoute({ method: 'get', path: '/groups/{id}', operationId: 'getGroup', tags, summary: 'One group', security, middleware: read, request: { params: idParam }, responses: { 200: json(groupDto, 'Group'), ...problemResponses } });
const create = createRoute({
  method: 'post', path: '/groups', operationId: 'createGroup', tags, summary: 'Create a static or dynamic group (operator)', security, middleware: operate,
  description: 'A dynamic group is evaluated over all devices at once; its rule is validated (400 `rule_invalid` with `errors[].path`).',
  request: body(createGroupBody), responses: { 201: json(groupDto, 'Created'), 409: documentedProblem('Name taken'), ...problemResponses },
});
const update = createRoute({ method: 'patch', path: '/groups/{id}', operationId: 'updateGroup', tags, summary: 'Rename, describe or change the rule (operator)', description: 'At least one field; an empty change is 400.', security, middleware: operate, request: { params: idParam, ...body(updateGroupBody) }, responses: { 200: json(groupDto, 'Updated'), 409: documentedProblem('Name taken, a built-in group, or a rule for a static group'), ...problemResponses } });
const remove = createRoute({ method: 'delete', path: '/groups/{id}', operationId: 'deleteGroup', tags, summary: 'Delete a group (operator; not built-in ones)', security, middleware: operate, request: { params: idParam }, responses: { 204: { description: 'Deleted' }, 409: documentedProblem('A built-in group, or one that other rules reference'), ...problemResponses } });
const members = createRoute({
  method: 'get', path: '/groups/{id}/members', operationId: 'listGroupMembers', tags, summary: 'Members of a group', security, middleware: read,
  request: { params: idParam, query: pagination.extend({ search: searchText.optional().describe('Hostname, OS name or model containing this text (case-insensitive), or an exact IP address') }) }, responses: { 200: json(deviceSummaryList, 'Members'), ...problemResponses },
});
const changeMembers = createRoute({
  method: 'post', path: '/groups/{id}/members', operationId: 'updateGroupMembers', tags, summary: 'Add or remove devices of a static group (operator)', security, middleware: operate,
  request: { params: idParam, ...body(groupMembersRequest) }, responses: { 200: json(groupDto, 'Updated'), 409: documentedProblem('A dynamic group (its members follow its rule)'), ...problemResponses },
});
const events = createRoute({
  method: 'get', path: '/groups/{id}/events', operationId: 'listGroupEvents', tags, summary: 'Membership changes of a group, newest first', security, middleware: read,
  request: { params: idParam, query: pagination }, responses: { 200: json(membershipEventList, 'Events'), ...problemResponses },
});
const preview = createRoute({
  method: 'post', path: '/groups/preview', operationId: 'previewGroupRule', tags, summary: 'Evaluate a rule without saving it', security, middleware: read,
  description: `Evaluation yields to other requests every few milliseconds and stops after ${PREVIEW_BUDGET_MS / 1000} s of CPU time with 422 \`rule_too_expensive\`.`,
  request: body(rulePreviewBody),
  responses: { 200: json(rulePreview, 'Matches'), 422: { description: 'The rule took too long to evaluate', content: problemResponses[400].content }, ...problemResponses },
});

async function customFieldTypes(c: Context<AppEnv>) {
  const defs = await c.var.deps.db.prisma.customFieldDefinition.findMany();
  return new Map(defs.map((d) => [d.key, { type: d.type, enumValues: d.enumValues }]));
}

/** Validates a rule against the field catalog, the custom fields and the existing groups. */
async function checkedRule(c: Context<AppEnv>, input: unknown, selfId?: string): Promise<Rule> {
  const groupIds = new Set((await c.var.deps.db.prisma.deviceGroup.findMany({ select: { id: true } })).map((g) => g.id));
  const result = validateRule(input, { customFields: await customFieldTypes(c), groupIds, ...(selfId ? { groupId: selfId } : {}) });
  if (!result.ok) throw new ApiError(400, 'rule_invalid', undefined, result.errors);
  return result.rule;
}

export async function groupDtos(c: Context<AppEnv>, where: { id?: string } = {}) {
  const rows = await c.var.deps.db.prisma.deviceGroup.findMany({ where, orderBy: [{ builtInKey: { sort: 'asc', nulls: 'last' } }, { name: 'asc' }], include: { _count: { select: { members: true } } } });
  return rows.map((g) => ({
    id: g.id, name: g.name, description: g.description, kind: g.kind, rule: (g.rule as Rule | null) ?? null, builtIn: g.builtInKey !== null,
    memberCount: g._count.members, createdAt: g.createdAt.toISOString(), updatedAt: g.updatedAt.toISOString(),
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
    const { rule: input, limit } = c.req.valid('json');
    const rule = await checkedRule(c, input);
    const started = performance.now();
    const ids = await c.var.deps.groups.matching(rule, { budgetMs: PREVIEW_BUDGET_MS }).catch((err: unknown) => {
      if (err instanceof EvaluationBudgetExceeded) throw new ApiError(422, 'rule_too_expensive', `Evaluating this rule over all devices took more than ${PREVIEW_BUDGET_MS / 1000} s; narrow it down.`);
      throw err;
    });
    const evaluatedIn = Math.round((performance.now() - started) * 10) / 10;
    const devices = limit
      ? await c.var.deps.db.prisma.device.findMany({ where: { id: { in: ids.slice(0, 5000) } }, select: { id: true, hostname: true, osName: true }, orderBy: { hostname: 'asc' }, take: limit })
      : [];
    return c.json({ count: ids.length, devices, evaluatedIn }, 200);
  })
  .openapi(get, async (c) => c.json(await mustGet(c, c.req.valid('param').id), 200))
  .openapi(create, async (c) => {
    const req = c.req.valid('json');
    const { prisma } = c.var.deps.db;
    if (await prisma.deviceGroup.findUnique({ where: { name: req.name } })) throw new ApiError(409, 'conflict', 'A group with this name exists.');
    const rule = req.kind === 'dynamic' ? await checkedRule(c, req.rule) : null;
    const g = await prisma.deviceGroup.create({ data: { name: req.name, description: req.description, kind: req.kind, rule: rule ?? undefined } });
    if (req.kind === 'static' && req.deviceIds.length) await changeStaticMembers(c, g.id, req.deviceIds, []);
    if (req.kind === 'dynamic') await c.var.deps.groups.groupChanged(g.id, 'group created');
    await audit(c, { action: 'group.create', targetType: 'group', targetId: g.id, details: { name: g.name, kind: g.kind } });
    return c.json(await mustGet(c, g.id), 201);
  })
  .openapi(update, async (c) => {
    const { id } = c.req.valid('param');
    const req = c.req.valid('json');
    if (req.name === undefined && req.description === undefined && req.rule === undefined) {
      throw new ApiError(400, 'validation_failed', 'Give at least one of name, description, rule.', [{ path: '', message: 'Nothing to change' }]);
    }
    const { prisma } = c.var.deps.db;
    const g = await prisma.deviceGroup.findUnique({ where: { id } });
    if (!g) throw new ApiError(404, 'not_found');
    if (g.builtInKey && (req.rule || req.name)) throw new ApiError(409, 'built_in_group', 'Built-in groups keep their name and rule.');
    if (req.rule && g.kind !== 'dynamic') throw new ApiError(409, 'wrong_group_kind', 'Only dynamic groups have a rule.');
    if (req.name && req.name !== g.name && (await prisma.deviceGroup.findUnique({ where: { name: req.name } }))) throw new ApiError(409, 'conflict', 'A group with this name exists.');
    const rule = req.rule ? await checkedRule(c, req.rule, id) : undefined;
    if (rule) await assertNoCycle(c, id, rule);
    await prisma.deviceGroup.update({ where: { id }, data: { name: req.name, description: req.description, rule } });
    if (rule) await c.var.deps.groups.groupChanged(id, 'rule changed');
    await audit(c, { action: 'group.update', targetType: 'group', targetId: id, details: { ...req, rule: rule ? (rule as object) : undefined } as object });
    return c.json(await mustGet(c, id), 200);
  })
  .openapi(remove, async (c) => {
    const { id } = c.req.valid('param');
    const { prisma } = c.var.deps.db;
    const g = await prisma.deviceGroup.findUnique({ where: { id } });
    if (!g) throw new ApiError(404, 'not_found');
    if (g.builtInKey) throw new ApiError(409, 'built_in_group');
    const dependents = (await groupDtos(c)).filter((x) => x.rule && referencedGroups(x.rule).includes(id));
    if (dependents.length) throw new ApiError(409, 'conflict', `Rules of ${dependents.map((d) => d.name).join(', ')} reference this group.`);
    await prisma.deviceGroup.delete({ where: { id } });
    await audit(c, { action: 'group.delete', targetType: 'group', targetId: id, details: { name: g.name } });
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
    const g = await c.var.deps.db.prisma.deviceGroup.findUnique({ where: { id } });
    if (!g) throw new ApiError(404, 'not_found');
    if (g.kind !== 'static') throw new ApiError(409, 'wrong_group_kind', 'Members of a dynamic group follow its rule.');
    await changeStaticMembers(c, id, add, del);
    await audit(c, { action: 'group.members', targetType: 'group', targetId: id, details: { added: add.length, removed: del.length } });
    return c.json(await mustGet(c, id), 200);
  })
  .openapi(events, async (c) => {
    const { id } = c.req.valid('param');
    const { page, pageSize } = c.req.valid('query');
    const { prisma } = c.var.deps.db;
    // A deleted group's events went with it: 404, not an empty page that looks like a live group.
    if (!(await prisma.deviceGroup.findUnique({ where: { id }, select: { id: true } }))) throw new ApiError(404, 'not_found');
    const [rows, total] = await Promise.all([
      prisma.groupMembershipEvent.findMany({ where: { groupId: id }, orderBy: { id: 'desc' }, skip: (page - 1) * pageSize, take: pageSize, include: { device: { select: { hostname: true } } } }),
      prisma.groupMembershipEvent.count({ where: { groupId: id } }),
    ]);
    return c.json({
      items: rows.map((e) => ({ id: e.id.toString(), groupId: e.groupId, deviceId: e.deviceId, hostname: e.device.hostname, change: e.change as 'added' | 'removed', reason: e.reason, occurredAt: e.occurredAt.toISOString() })),
      total,
    }, 200);
  });

/** Static membership changes are events too; groups whose rules reference this one follow. */
async function changeStaticMembers(c: Context<AppEnv>, groupId: string, add: string[], remove: string[]) {
  const { prisma, pool } = c.var.deps.db;
  const found = await prisma.device.findMany({ where: { id: { in: [...add] } }, select: { id: true, retiredAt: true } });
  const known = new Set(found.map((d) => d.id));
  const unknown = add.filter((id) => !known.has(id));
  if (unknown.length) throw new ApiError(400, 'unknown_devices', `${unknown.length} device(s) do not exist.`);
  const retired = found.filter((d) => d.retiredAt).length;
  if (retired) throw new ApiError(400, 'device_retired', `${retired} device(s) are retired and belong to no group.`);
  const current = new Set((await pool.query<{ device_id: string }>('SELECT device_id FROM device_group_members WHERE group_id = $1 AND device_id = ANY($2::uuid[])', [groupId, [...add, ...remove]])).rows.map((r) => r.device_id));
  const changes = [
    ...[...new Set(add)].filter((d) => !current.has(d)).map((deviceId) => ({ groupId, deviceId, change: 'added' as const })),
    ...[...new Set(remove)].filter((d) => current.has(d)).map((deviceId) => ({ groupId, deviceId, change: 'removed' as const })),
  ];
  await c.var.deps.groups.apply(changes, `changed by ${c.var.user.email}`);
  if (changes.length) await c.var.deps.groups.groupChanged(groupId, 'a referenced group changed');
}

/** Refuses a rule that would make group rules reference each other in a circle. */
async function assertNoCycle(c: Context<AppEnv>, id: string, rule: Rule) {
  const all = await groupDtos(c);
  const ordered = orderGroups(all.map((g) => ({ id: g.id, rule: g.id === id ? rule : g.rule })));
  if ('cycle' in ordered) {
    const names = ordered.cycle.map((x) => all.find((g) => g.id === x)?.name ?? x);
    throw new ApiError(400, 'rule_invalid', `Group rules would form a cycle: ${names.join(' → ')}`);
  }
}
