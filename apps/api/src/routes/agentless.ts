/**
 * Agentless targets and their credentials (services/agentless.ts, ADR 21). Credentials are admin-only, reading
 * included; so are changes to targets (a target decides where a credential's secret is sent). Everyone signed in
 * reads the targets, which carry no secret.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { uuid } from '@opsconductor/contracts/api';
import {
  agentlessCredential,
  agentlessCredentialList,
  agentlessTarget,
  agentlessTargetList,
  createAgentlessCredentialBody,
  createAgentlessTargetBody,
  updateAgentlessCredentialBody,
  updateAgentlessTargetBody,
} from '@opsconductor/contracts/agentless-api';
import { body, createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { requestOrigin } from '../lib/audit.ts';
import { documentedProblem, problemResponses } from '../lib/problem.ts';
import {
  createAgentlessCredential,
  createAgentlessTarget,
  deleteAgentlessCredential,
  deleteAgentlessTarget,
  getAgentlessCredential,
  getAgentlessTarget,
  listAgentlessCredentials,
  listAgentlessTargets,
  updateAgentlessCredential,
  updateAgentlessTarget,
} from '../services/agentless.ts';

const security = [{ bearerAuth: [] }];
const read = [authenticate];
const admin = [authenticate, requireRole('admin')];
const credentialTags = ['agentless credentials'];
const targetTags = ['agentless targets'];
const credentialId = z.object({ id: uuid.describe("The credential's ID") });
const targetId = z.object({ id: uuid.describe("The target's ID (its device ID)") });
const secretNote =
  'The secret (a password, or an OpenSSH/PEM/PuTTY private key with its passphrase) is kept in the secret store, encrypted, and never returned by any request. A private key is parsed when saved: one that cannot be used is 400.';

const listCredentials = createRoute({
  method: 'get',
  path: '/agentless-credentials',
  operationId: 'listAgentlessCredentials',
  tags: credentialTags,
  summary: 'List credentials for agentless targets (admin)',
  security,
  middleware: admin,
  responses: { 200: json(agentlessCredentialList, 'Credentials (no secrets)'), ...problemResponses },
});
const getCredential = createRoute({
  method: 'get',
  path: '/agentless-credentials/{id}',
  operationId: 'getAgentlessCredential',
  tags: credentialTags,
  summary: 'One credential (admin)',
  security,
  middleware: admin,
  request: { params: credentialId },
  responses: { 200: json(agentlessCredential, 'The credential (no secret)'), ...problemResponses },
});
const createCredential = createRoute({
  method: 'post',
  path: '/agentless-credentials',
  operationId: 'createAgentlessCredential',
  tags: credentialTags,
  summary: 'Create a credential (admin)',
  description: secretNote,
  security,
  middleware: admin,
  request: body(createAgentlessCredentialBody),
  responses: { 201: json(agentlessCredential, 'Created'), 409: documentedProblem('The name is taken (`name_taken`)'), ...problemResponses },
});
const updateCredential = createRoute({
  method: 'patch',
  path: '/agentless-credentials/{id}',
  operationId: 'updateAgentlessCredential',
  tags: credentialTags,
  summary: 'Change or rotate a credential (admin)',
  description: `Changes what is given. \`secret\` rotates it: the old secret is gone once this returns, and the next command on each target using it logs in with the new one. ${secretNote}`,
  security,
  middleware: admin,
  request: { params: credentialId, ...body(updateAgentlessCredentialBody) },
  responses: { 200: json(agentlessCredential, 'Changed'), 409: documentedProblem('The name is taken (`name_taken`)'), ...problemResponses },
});
const deleteCredential = createRoute({
  method: 'delete',
  path: '/agentless-credentials/{id}',
  operationId: 'deleteAgentlessCredential',
  tags: credentialTags,
  summary: 'Delete a credential no target uses (admin)',
  security,
  middleware: admin,
  request: { params: credentialId },
  responses: {
    204: { description: 'Deleted, with its secret' },
    409: documentedProblem('Targets use it (`credential_in_use`)'),
    ...problemResponses,
  },
});

const targetNote =
  'An agentless target is a device (its `id` is a device ID): run jobs on it, put it in static groups, tag it. Shell, script and file copy steps run on it; reboots and inventories need an agent. SSH runs sh/bash/python/pwsh; WinRM runs PowerShell and cmd (see docs/agentless.md). An SSH host key given is pinned; without one, the first connection pins the key it sees, and a different key later fails the command (`host key changed`).';

const listTargets = createRoute({
  method: 'get',
  path: '/agentless-targets',
  operationId: 'listAgentlessTargets',
  tags: targetTags,
  summary: 'List agentless targets',
  description: targetNote,
  security,
  middleware: read,
  responses: { 200: json(agentlessTargetList, 'Targets'), ...problemResponses },
});
const getTarget = createRoute({
  method: 'get',
  path: '/agentless-targets/{id}',
  operationId: 'getAgentlessTarget',
  tags: targetTags,
  summary: 'One agentless target',
  security,
  middleware: read,
  request: { params: targetId },
  responses: { 200: json(agentlessTarget, 'The target'), ...problemResponses },
});
const createTarget = createRoute({
  method: 'post',
  path: '/agentless-targets',
  operationId: 'createAgentlessTarget',
  tags: targetTags,
  summary: 'Add an agentless target (admin)',
  description: targetNote,
  security,
  middleware: admin,
  request: body(createAgentlessTargetBody),
  responses: { 201: json(agentlessTarget, 'Added'), ...problemResponses },
});
const updateTarget = createRoute({
  method: 'patch',
  path: '/agentless-targets/{id}',
  operationId: 'updateAgentlessTarget',
  tags: targetTags,
  summary: 'Change an agentless target (admin)',
  description:
    'Changes what is given. `hostKey` pins another SSH host key; `null` forgets the pinned one (the next connection pins the key it sees).',
  security,
  middleware: admin,
  request: { params: targetId, ...body(updateAgentlessTargetBody) },
  responses: { 200: json(agentlessTarget, 'Changed'), ...problemResponses },
});
const deleteTarget = createRoute({
  method: 'delete',
  path: '/agentless-targets/{id}',
  operationId: 'deleteAgentlessTarget',
  tags: targetTags,
  summary: 'Remove an agentless target (admin): its device is retired, its runs stay in the history',
  security,
  middleware: admin,
  request: { params: targetId },
  responses: { 204: { description: 'Removed' }, ...problemResponses },
});

export const agentlessRoutes = createRouter()
  .openapi(listCredentials, async (c) => c.json({ items: await listAgentlessCredentials(c.var.deps) }, 200))
  .openapi(getCredential, async (c) => c.json(await getAgentlessCredential(c.var.deps, c.req.valid('param').id), 200))
  .openapi(createCredential, async (c) =>
    c.json(await createAgentlessCredential(c.var.deps, c.var.user, requestOrigin(c), c.req.valid('json')), 201),
  )
  .openapi(updateCredential, async (c) =>
    c.json(await updateAgentlessCredential(c.var.deps, requestOrigin(c), c.req.valid('param').id, c.req.valid('json')), 200),
  )
  .openapi(deleteCredential, async (c) => {
    await deleteAgentlessCredential(c.var.deps, requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(listTargets, async (c) => c.json({ items: await listAgentlessTargets(c.var.deps) }, 200))
  .openapi(getTarget, async (c) => c.json(await getAgentlessTarget(c.var.deps, c.req.valid('param').id), 200))
  .openapi(createTarget, async (c) => c.json(await createAgentlessTarget(c.var.deps, requestOrigin(c), c.req.valid('json')), 201))
  .openapi(updateTarget, async (c) =>
    c.json(await updateAgentlessTarget(c.var.deps, requestOrigin(c), c.req.valid('param').id, c.req.valid('json')), 200),
  )
  .openapi(deleteTarget, async (c) => {
    await deleteAgentlessTarget(c.var.deps, requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  });
