import { createRoute, z } from '@hono/zod-openapi';
import { createUserRequest, updateUserRequest, user as userDto, userList, uuid } from '@opsconductor/contracts/api';
import type { User } from '@opsconductor/db';
import { createRouter } from '../lib/router.ts';
import { assertPasswordAllowed, authenticate, hashPassword, requireRole } from '../lib/auth.ts';
import { audit } from '../lib/audit.ts';
import { ApiError, documentedProblem, problemResponses } from '../lib/problem.ts';

export function toUserDto(u: User): z.infer<typeof userDto> {
  return { id: u.id, email: u.email, name: u.name, role: u.role, disabled: u.disabledAt !== null, createdAt: u.createdAt.toISOString() };
}

const admin = [authenticate, requireRole('admin')];
const security = [{ bearerAuth: [] }];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

const list = createRoute({ method: 'get', path: '/users', operationId: 'listUsers', tags: ['users'], summary: 'List users (admin)', security, middleware: admin, responses: { 200: json(userList, 'Users'), ...problemResponses } });
const create = createRoute({
  method: 'post', path: '/users', operationId: 'createUser', tags: ['users'], summary: 'Create a user (admin)', security, middleware: admin,
  request: { body: { content: { 'application/json': { schema: createUserRequest } }, required: true } },
  description: 'The password must meet the password policy (400 `weak_password` with the reasons as field errors).',
  responses: { 201: json(userDto, 'Created'), 409: documentedProblem('Email taken'), ...problemResponses },
});
const update = createRoute({
  method: 'patch', path: '/users/{id}', operationId: 'updateUser', tags: ['users'], summary: 'Change a user: name, role, password, disabled (admin)', security, middleware: admin,
  description:
    'At least one field (an empty body is 400). A new `password` ends all of that user\'s sessions and must meet the password policy ' +
    '(400 `weak_password`). Your own password cannot be set here (400 `current_password_required`): use POST /api/v1/auth/password.',
  request: { params: z.object({ id: uuid.describe("The user's ID") }), body: { content: { 'application/json': { schema: updateUserRequest } }, required: true } },
  responses: { 200: json(userDto, 'Updated'), 409: documentedProblem('You cannot disable yourself or drop your own admin role'), ...problemResponses },
});

export const userRoutes = createRouter()
  .openapi(list, async (c) => {
    const users = await c.var.deps.db.prisma.user.findMany({ orderBy: { createdAt: 'asc' } });
    return c.json({ items: users.map(toUserDto) }, 200);
  })
  .openapi(create, async (c) => {
    const body = c.req.valid('json');
    const { prisma } = c.var.deps.db;
    if (await prisma.user.findUnique({ where: { email: body.email } })) throw new ApiError(409, 'conflict', 'A user with this email exists.');
    assertPasswordAllowed(body.password, body.email, 'password');
    const u = await prisma.user.create({ data: { email: body.email, name: body.name, role: body.role, passwordHash: await hashPassword(body.password) } });
    await audit(c, { action: 'user.create', targetType: 'user', targetId: u.id, details: { email: u.email, role: u.role } });
    return c.json(toUserDto(u), 201);
  })
  .openapi(update, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const { prisma } = c.var.deps.db;
    const existing = await prisma.user.findUnique({ where: { id } });
    if (!existing) throw new ApiError(404, 'not_found');
    if (id === c.var.user.id && (body.disabled || (body.role && body.role !== 'admin'))) {
      throw new ApiError(409, 'conflict', 'You cannot disable yourself or drop your own admin role.');
    }
    if (body.password !== undefined) {
      // A stolen admin session must not be able to lock the admin out: their own password needs the current one.
      if (id === c.var.user.id) {
        throw new ApiError(400, 'current_password_required', 'Change your own password with POST /api/v1/auth/password, which asks for the current one.', [
          { path: 'password', message: 'Use "Change password" (it asks for your current password)' },
        ]);
      }
      assertPasswordAllowed(body.password, existing.email, 'password');
    }
    const u = await prisma.user.update({
      where: { id },
      data: {
        name: body.name,
        role: body.role,
        disabledAt: body.disabled === undefined ? undefined : body.disabled ? (existing.disabledAt ?? new Date()) : null,
        passwordHash: body.password ? await hashPassword(body.password) : undefined,
      },
    });
    // A disabled user or a new password ends every existing session.
    if (body.disabled || body.password) await prisma.session.deleteMany({ where: { userId: id } });
    const { password: _omit, ...changes } = body;
    await audit(c, { action: 'user.update', targetType: 'user', targetId: id, details: { ...changes, passwordChanged: body.password !== undefined } });
    return c.json(toUserDto(u), 200);
  });
