/** The agent API, /agent/v1. Devices authenticate with their secret and only ever see their own commands. */
import { createRoute, z } from '@hono/zod-openapi';
import { randomBytes } from 'node:crypto';
import {
  AGENT_PROTOCOL_VERSION, MAX_POLL_WAIT_SECONDS,
  checkinRequest, checkinResponse, commandResult, outputEncodings, enrollRequest, enrollResponse, goodbyeRequest, goodbyeResponse, heartbeatResponse, outputRequest, pollResponse, resultResponse, startRequest,
} from '@opsconductor/contracts/agent-protocol';
import { inventoryReport, inventoryResponse } from '@opsconductor/contracts/inventory';
import type { ApiDeps } from '../context.ts';
import { createRouter } from '../lib/router.ts';
import { hashToken } from '../lib/auth.ts';
import { audit } from '../lib/audit.ts';
import { authenticateDevice } from '../lib/device-auth.ts';
import { ApiError, documentedProblem, problemResponses } from '../lib/problem.ts';
import { AgentCommandService } from '../services/agent-commands.ts';
import { ingestInventory } from '../services/inventory.ts';

const TOUCH_EVERY_MS = 15_000;
const security = [{ deviceSecret: [] }];
const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const body = <T extends z.ZodType>(schema: T) => ({ body: { content: { 'application/json': { schema } }, required: true } });
const commandParams = z.object({ id: z.string().uuid().describe("The command's ID") });
const tags = ['agent'];

const enroll = createRoute({
  method: 'post', path: '/enroll', operationId: 'enrollDevice', tags, summary: 'Enroll a device with an enrollment token', security: [],
  description: 'Returns the device secret once (256 random bits); the server keeps only its SHA-256.',
  request: body(enrollRequest), responses: { 201: json(enrollResponse, 'Enrolled'), ...problemResponses },
});
const checkin = createRoute({
  method: 'post', path: '/checkin', operationId: 'checkIn', tags, summary: 'Report facts and liveness', security, middleware: [authenticateDevice],
  request: body(checkinRequest), responses: { 200: json(checkinResponse, 'OK'), ...problemResponses },
});
const goodbye = createRoute({
  method: 'post', path: '/goodbye', operationId: 'sayGoodbye', tags, summary: 'The agent is stopping cleanly: show the device offline now', security, middleware: [authenticateDevice],
  description: 'Optional: an agent that cannot say goodbye (crash, power loss, an older agent) goes offline when the online window passes. The next check-in makes the device online again.',
  request: body(goodbyeRequest), responses: { 200: json(goodbyeResponse, 'The device is offline'), ...problemResponses },
});
const poll = createRoute({
  method: 'get', path: '/commands', operationId: 'pollCommands', tags, summary: 'Long-poll for commands and cancellations', security, middleware: [authenticateDevice],
  request: { query: z.object({ wait: z.coerce.number().int().min(0).max(MAX_POLL_WAIT_SECONDS).default(25).describe('Seconds to hold the request open when there is nothing to do (the server may wait less)') }) },
  responses: { 200: json(pollResponse, 'Commands to run and commands to cancel'), ...problemResponses },
});
const start = createRoute({
  method: 'post', path: '/commands/{id}/start', operationId: 'startCommand', tags, summary: 'The agent starts a command', security, middleware: [authenticateDevice],
  request: { params: commandParams, ...body(startRequest) }, responses: { 200: json(heartbeatResponse, 'OK'), ...problemResponses },
});
const output = createRoute({
  method: 'post', path: '/commands/{id}/output', operationId: 'sendCommandOutput', tags, summary: 'A chunk of output (heartbeats the activity)', security, middleware: [authenticateDevice],
  request: { params: commandParams, ...body(outputRequest) }, responses: { 200: json(heartbeatResponse, 'OK'), 409: documentedProblem('`output_after_finish`: the device has finished in this run'), 413: documentedProblem('Chunk too large'), ...problemResponses },
});
const heartbeat = createRoute({
  method: 'post', path: '/commands/{id}/heartbeat', operationId: 'sendCommandHeartbeat', tags, summary: 'Still running (heartbeats the activity)', security, middleware: [authenticateDevice],
  request: { params: commandParams }, responses: { 200: json(heartbeatResponse, 'OK'), ...problemResponses },
});
const result = createRoute({
  method: 'post', path: '/commands/{id}/result', operationId: 'sendCommandResult', tags, summary: 'The final result (completes the activity; duplicates are recorded, not re-applied)',
  security, middleware: [authenticateDevice],
  request: { params: commandParams, ...body(commandResult) }, responses: { 200: json(resultResponse, 'Recorded'), ...problemResponses },
});

const inventory = createRoute({
  method: 'post', path: '/inventory', operationId: 'reportInventory', tags, summary: 'Report inventory (full, or only the sections that changed)',
  description: 'A delta whose unchanged sections do not match the stored hashes is refused with 409 `inventory_full_report_required`, changing nothing.',
  security, middleware: [authenticateDevice],
  request: body(inventoryReport), responses: { 200: json(inventoryResponse, 'Stored'), 409: documentedProblem('Send a full report'), 413: documentedProblem('Report too large'), ...problemResponses },
});

export function agentRoutes(deps: ApiDeps) {
  const commands = new AgentCommandService(deps);
  const lastTouch = new Map<string, number>();
  /** Last-seen is written at most every TOUCH_EVERY_MS per device: polls are frequent, the column is not hot. */
  const touch = async (deviceId: string) => {
    const now = Date.now();
    if (now - (lastTouch.get(deviceId) ?? 0) < TOUCH_EVERY_MS) return;
    lastTouch.set(deviceId, now);
    // updateMany, not update: a device deleted after it authenticated is a 401, never a 500.
    const { count } = await deps.db.prisma.device.updateMany({ where: { id: deviceId, retiredAt: null }, data: { lastSeenAt: new Date(now), agentStoppedAt: null } });
    if (count === 0) throw deps.deviceAuth.gone(deviceId);
  };

  // Agent schemas sanitize text themselves (agentText), and output data may hold NUL: it is stored as bytes.
  return createRouter({ refuseUnstorableText: false })
    .openapi(enroll, async (c) => {
      const req = c.req.valid('json');
      const { prisma } = deps.db;
      const secret = randomBytes(32).toString('base64url');
      const device = await prisma.$transaction(async (tx) => {
        // Consumes one use atomically; an exhausted, expired or revoked token matches no row.
        const used = await tx.$queryRaw<{ id: string }[]>`
          UPDATE enrollment_tokens SET used_count = used_count + 1
           WHERE token_hash = ${hashToken(req.enrollmentToken)} AND revoked_at IS NULL AND expires_at > now() AND used_count < max_uses
          RETURNING id::text`;
        if (!used[0]) throw new ApiError(401, 'enrollment_token_invalid');
        return tx.device.create({
          data: { ...req.facts, secretHash: hashToken(secret), enrollmentTokenId: used[0].id, protocolVersion: req.protocolVersion, lastSeenAt: new Date() },
        });
      });
      await audit(c, { action: 'device.enroll', targetType: 'device', targetId: device.id, details: { hostname: device.hostname }, actor: { type: 'device', id: device.id, name: device.hostname } });
      // Groups on enrollment facts (OS family, name, version) apply before the first inventory arrives.
      await deps.groups.deviceChanged(device.id, 'device enrolled');
      return c.json({ deviceId: device.id, deviceSecret: secret, pollWaitSeconds: deps.config.pollWaitSeconds, checkinIntervalSeconds: deps.config.checkinIntervalSeconds }, 201);
    })
    .openapi(checkin, async (c) => {
      const { facts } = c.req.valid('json');
      const id = c.var.device.id;
      const { count } = await deps.db.prisma.device.updateMany({ where: { id, retiredAt: null }, data: { ...facts, protocolVersion: AGENT_PROTOCOL_VERSION, lastSeenAt: new Date(), agentStoppedAt: null } });
      if (count === 0) throw deps.deviceAuth.gone(id);
      lastTouch.set(id, Date.now());
      return c.json({ deviceId: id, serverTime: new Date().toISOString(), checkinIntervalSeconds: deps.config.checkinIntervalSeconds, outputEncodings: [...outputEncodings] }, 200);
    })
    .openapi(goodbye, async (c) => {
      const id = c.var.device.id;
      const { count } = await deps.db.prisma.device.updateMany({ where: { id, retiredAt: null }, data: { agentStoppedAt: new Date() } });
      if (count === 0) throw deps.deviceAuth.gone(id);
      // The next request of a restarted agent must record it as seen again, whatever the throttle says.
      lastTouch.delete(id);
      // Rules on device.status see the change now rather than at the next time-based refresh.
      await deps.groups.deviceChanged(id, 'agent stopped');
      return c.json({ deviceId: id }, 200);
    })
    .openapi(poll, async (c) => {
      await touch(c.var.device.id);
      const wait = Math.min(c.req.valid('query').wait, deps.config.pollWaitSeconds);
      return c.json(await commands.poll(c.var.device, wait, c.req.raw.signal), 200);
    })
    .openapi(start, async (c) => c.json(await commands.start(c.var.device, c.req.valid('param').id, new Date(c.req.valid('json').startedAt)), 200))
    .openapi(output, async (c) => c.json(await commands.output(c.var.device, c.req.valid('param').id, c.req.valid('json')), 200))
    .openapi(heartbeat, async (c) => c.json(await commands.heartbeat(c.var.device, c.req.valid('param').id), 200))
    .openapi(result, async (c) => c.json(await commands.result(c.var.device, c.req.valid('param').id, c.req.valid('json')), 200))
    .openapi(inventory, async (c) => {
      const device = c.var.device;
      const { factsChanged, ...response } = await ingestInventory(deps, device, c.req.valid('json'), deps.groups.ruleFacts);
      await touch(device.id);
      if (factsChanged) await deps.groups.deviceChanged(device.id, 'inventory changed');
      return c.json(response, 200);
    });
}
