import { createRoute, z } from '@hono/zod-openapi';
import { createUserRequest, updateUserRequest, user as userDto, userList, uuid } from '@opsconductor/contracts/api';
import type { UserRecord } from '@opsconductor/identity';
import { createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { requestOrigin } from '../lib/audit.ts';
import { documentedProblem, problemResponses } from '../lib/problem.ts';

export function toUserDto(u: UserRecord): z.infer<typeof userDto> {
  return { id: u.id, email: u.email, name: u.name, role: u.role, disabled: u.disabledAt !== null, createdAt: u.createdAt.toISOString() };
}

const admin = [authenticate, requireRole('admin')];
const security = [{ bearerAuth: [] }];

const list = createRoute({
  method: 'get',
  path: '/users',
  operationId: 'listUsers',
  tags: ['users'],
  summary: 'List users (admin)',
  security,
  middleware: admin,
  responses: { 200: json(userList, 'Users'), ...problemResponses },
});
const create = createRoute({
  method: 'post',
  path: '/users',
  operationId: 'createUser',
  tags: ['users'],
  summary: 'Create a user (admin)',
  security,
  middleware: admin,
  request: { body: { content: { 'application/json': { schema: createUserRequest } }, required: true } },
  description: 'The password must meet the password policy (400 `weak_password` with the reasons as field errors).',
  responses: { 201: json(userDto, 'Created'), 409: documentedProblem('Email taken'), ...problemResponses },
});
const update = createRoute({
  method: 'patch',
  path: '/users/{id}',
  operationId: 'updateUser',
  tags: ['users'],
  summary: 'Change a user: name, role, password, disabled (admin)',
  security,
  middleware: admin,
  description:
    "At least one field (an empty body is 400). A new `password` ends all of that user's sessions and must meet the password policy " +
    '(400 `weak_password`). Your own password cannot be set here (400 `current_password_required`): use POST /api/v1/auth/password.',
  request: {
    params: z.object({ id: uuid.describe("The user's ID") }),
    body: { content: { 'application/json': { schema: updateUserRequest } }, required: true },
  },
  responses: {
    200: json(userDto, 'Updated'),
    409: documentedProblem('You cannot disable yourself or drop your own admin role'),
    ...problemResponses,
  },
});

export const userRoutes = createRouter()
  .openapi(list, async (c) => {
    const users = await c.var.deps.db.prisma.user.findMany({ orderBy: { createdAt: 'asc' } });
    return c.json({ items: users.map(toUserDto) }, 200);
  })
  .openapi(create, async (c) => c.json(toUserDto(await c.var.deps.services.users.create(requestOrigin(c), c.req.valid('json'))), 201))
  .openapi(update, async (c) => {
    const u = await c.var.deps.services.users.update(requestOrigin(c), c.req.valid('param').id, c.req.valid('json'));
    return c.json(toUserDto(u), 200);
  });
