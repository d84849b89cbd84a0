/**
 * Responses every operation of a kind can give, added to the generated document so that no route can
 * forget them: any operation can fail with 500 and refuse an unknown query parameter with 400 (see
 * createRouter), and any operation with a body can be refused for its size (413, the body limit runs
 * before the route) or its media type (415). Route-specific statuses (409, 429, 503…) are declared on the routes.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../context.ts';
import { problemSchemaRef } from './problem.ts';

interface Operation {
  requestBody?: unknown;
  responses?: Record<string, unknown>;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

// The generator has already turned zod into JSON Schema by now: refer to the registered component.
const documentedProblem = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemSchemaRef } } });

export function withImpliedResponses<T extends { paths?: object }>(doc: T): T {
  for (const item of Object.values(doc.paths ?? {}) as object[]) {
    for (const [method, op] of Object.entries(item)) {
      if (!HTTP_METHODS.has(method)) continue;
      const operation = op as Operation;
      const responses = (operation.responses ??= {});
      responses['400'] ??= documentedProblem('Invalid request (`validation_failed`): an unknown query parameter');
      if (operation.requestBody) {
        responses['413'] ??= documentedProblem('The request body is too large');
        responses['415'] ??= documentedProblem('The request body is not JSON');
      }
      responses['500'] ??= documentedProblem('An unexpected error');
    }
  }
  return doc;
}

/** The document's tags, in the order the reference shows them (every operation names one of these). */
const documentTags = [
  { name: 'auth', description: 'Sign in and out, the signed-in user, changing your own password' },
  { name: 'users', description: 'User accounts and their roles (admin)' },
  { name: 'enrollment', description: 'Enrollment tokens with which agents enroll devices (admin)' },
  {
    name: 'devices',
    description: 'The inventory: devices, their software, services and history; tags and custom fields; retiring and deleting',
  },
  { name: 'fleet', description: 'The fleet at a glance: presence, OS and agent versions, software compliance, deployments in progress' },
  { name: 'groups', description: 'Static groups and dynamic groups with rules' },
  { name: 'job runs', description: 'Running commands and saved jobs on devices: approvals, progress per step, output and results' },
  {
    name: 'job schedules',
    description: 'Scheduled runs of jobs: Temporal Schedules with cron or intervals, pause, trigger now, next and recent runs',
  },
  {
    name: 'agentless targets',
    description: 'Machines without an agent, reached over SSH or WinRM by the API (they are devices: run jobs on them; changes: admin)',
  },
  { name: 'agentless credentials', description: 'Logins for agentless targets; their secrets are write-only (admin)' },
  { name: 'files', description: 'Files held by the server for `file.fetch` commands, by SHA-256 (upload: operator)' },
  {
    name: 'depot',
    description:
      'The software depot: artifacts (installers, by SHA-256), streamed uploads; a version uses an artifact, which then cannot be deleted (write: operator)',
  },
  {
    name: 'software',
    description:
      'The package catalog: packages, their versions (installer, commands, detection rules, requirements, dependencies) (write: operator)',
  },
  {
    name: 'deployments',
    description:
      'Staged rollouts of a package version: dry run, pilot and waves, auto-pause, health analysis, maintenance windows per group, pause / resume / abort / rollback, approval (write: operator)',
  },
  { name: 'alerts', description: 'Alerts raised by the alert rules: list, timeline, acknowledge and resolve (operator)' },
  {
    name: 'alert rules',
    description:
      'What raises alerts: device offline, disk free, failed runs and deployments, outdated agents, a dynamic-group rule (admin)',
  },
  { name: 'alert silences', description: 'Mute notifications of alerts matching a rule, device, group or tag for a while (operator)' },
  { name: 'escalation policies', description: 'Who is notified, level after level, while nobody acknowledges an alert (admin)' },
  {
    name: 'notification channels',
    description: 'Slack, Teams, Discord, signed webhooks and email; secrets never returned; test send and delivery log (admin)',
  },
  { name: 'audit', description: 'Who did what, when (admin)' },
  {
    name: 'jobs',
    description: 'The job library: jobs with typed parameters and steps, their immutable versions and diffs, export and import as code',
  },
  { name: 'secrets', description: "The secret store's master keys: usage and rotation (admin); secret values are never sent" },
  { name: 'config', description: 'Server settings the console needs' },
  { name: 'agent', description: 'The agent protocol: enrollment, check-in, commands, inventory (device secret)' },
  { name: 'operations', description: 'Liveness, readiness and metrics for operators and orchestrators' },
  { name: 'documentation', description: 'This document and its interactive reference' },
];

/** The OpenAPI document of an app's routes, served at /api/openapi.json (`serverUrl`: where clients reach it). */
export function buildOpenApiDocument(app: OpenAPIHono<AppEnv>, serverUrl: string) {
  return withImpliedResponses(
    app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: {
        title: 'OpsConductor API',
        version: '1.0.0',
        description:
          'Admin API (/api/v1) and agent API (/agent/v1). Errors are RFC 9457 problem+json with a stable `code`. ' +
          'Strings sent to the admin API must not contain NUL or unpaired UTF-16 surrogates (400 `validation_failed`); the agent API replaces them by U+FFFD. ' +
          'Unknown query parameters are refused (400 `validation_failed` naming them).',
      },
      servers: [{ url: serverUrl }],
      tags: documentTags,
    }),
  );
}
