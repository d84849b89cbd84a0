/** The agent API, /agent/v1. Devices authenticate with their secret and only ever see their own commands. */
import { createRoute, z } from '@hono/zod-openapi';
import { enrollDevice, recordGoodbye } from '@opsconductor/devices';
import { deviceActor } from '@opsconductor/unit-of-work';
import {
  AGENT_PROTOCOL_VERSION,
  MAX_POLL_WAIT_SECONDS,
  checkinRequest,
  checkinResponse,
  commandPhases,
  commandResult,
  outputEncodings,
  enrollRequest,
  enrollResponse,
  goodbyeRequest,
  goodbyeResponse,
  heartbeatRequest,
  heartbeatResponse,
  type HeartbeatRequest,
  outputRequest,
  pollResponse,
  resultResponse,
  startRequest,
} from '@opsconductor/contracts/agent-protocol';
import { fileContent } from '@opsconductor/contracts/api';
import { dispatchableKinds, sha256Hex } from '@opsconductor/contracts/commands';
import { inventoryReport, inventoryResponse } from '@opsconductor/contracts/inventory';
import type { DepotSigningKey } from '@opsconductor/contracts/software';
import type { ApiDeps } from '../context.ts';
import { body, createRouter, json } from '../lib/router.ts';
import { requestOrigin } from '../lib/audit.ts';
import { authenticateDevice } from '../lib/device-auth.ts';
import { ApiError, documentedProblem, problemResponses } from '../lib/problem.ts';
import { agentCommandService } from '../services/agent-commands.ts';
import { openFileForDevice } from '../services/files.ts';
import { artifactForDevice } from '../services/depot.ts';
import { requestedRange } from '../lib/range.ts';

const security = [{ deviceSecret: [] }];
const commandParams = z.object({ id: z.string().uuid().describe("The command's ID") });
const tags = ['agent'];

const enroll = createRoute({
  method: 'post',
  path: '/enroll',
  operationId: 'enrollDevice',
  tags,
  summary: 'Enroll a device with an enrollment token',
  security: [],
  description:
    'Returns the device secret once (256 random bits); the server keeps only its SHA-256. With `enrollmentId`, a retry of the same enrolment (same ID and token, within an hour, device not retired) answers with the device the first attempt created and a new secret, instead of enrolling a second device; 409 `conflict` when the ID belongs to another enrolment.',
  request: body(enrollRequest),
  responses: {
    201: json(enrollResponse, 'Enrolled'),
    409: documentedProblem('The `enrollmentId` belongs to another enrolment (`conflict`)'),
    ...problemResponses,
  },
});
const checkin = createRoute({
  method: 'post',
  path: '/checkin',
  operationId: 'checkIn',
  tags,
  summary: 'Report facts, liveness, protocol version, capabilities and boot ID',
  security,
  middleware: [authenticateDevice],
  description:
    'The server sends the device only command kinds among its `capabilities`, at the version the server speaks (an agent that sends none, protocol 1, gets no commands: it must be upgraded); others end `unsupported`.',
  request: body(checkinRequest),
  responses: { 200: json(checkinResponse, 'OK'), ...problemResponses },
});
const goodbye = createRoute({
  method: 'post',
  path: '/goodbye',
  operationId: 'sayGoodbye',
  tags,
  summary: 'The agent is stopping cleanly: show the device offline now',
  security,
  middleware: [authenticateDevice],
  description:
    'Optional: an agent that cannot say goodbye (crash, power loss, an older agent) goes offline when the online window passes. The next check-in makes the device online again.',
  request: body(goodbyeRequest),
  responses: { 200: json(goodbyeResponse, 'The device is offline'), ...problemResponses },
});
const poll = createRoute({
  method: 'get',
  path: '/commands',
  operationId: 'pollCommands',
  tags,
  summary: 'Long-poll for commands and cancellations',
  security,
  middleware: [authenticateDevice],
  // `wait=` is no number (coercion alone would read it as 0, a valid wait).
  request: {
    query: z.object({
      wait: z
        .preprocess((v) => (v === '' ? Number.NaN : v), z.coerce.number().int().min(0).max(MAX_POLL_WAIT_SECONDS))
        .default(25)
        .describe('Seconds to hold the request open when there is nothing to do (the server may wait less)'),
    }),
  },
  responses: { 200: json(pollResponse, 'Commands to run and commands to cancel'), ...problemResponses },
});
const start = createRoute({
  method: 'post',
  path: '/commands/{id}/start',
  operationId: 'startCommand',
  tags,
  summary: 'The agent starts a command (`cancelRequested`: do not run it)',
  security,
  middleware: [authenticateDevice],
  request: { params: commandParams, ...body(startRequest) },
  responses: { 200: json(heartbeatResponse, 'OK'), ...problemResponses },
});
const output = createRoute({
  method: 'post',
  path: '/commands/{id}/output',
  operationId: 'sendCommandOutput',
  tags,
  summary: 'A chunk of output (`cancelRequested`: stop the command)',
  security,
  middleware: [authenticateDevice],
  request: { params: commandParams, ...body(outputRequest) },
  responses: {
    200: json(heartbeatResponse, 'OK'),
    409: documentedProblem('`output_after_finish`: the command has ended'),
    413: documentedProblem('Chunk too large'),
    ...problemResponses,
  },
});
const heartbeat = createRoute({
  method: 'post',
  path: '/commands/{id}/heartbeat',
  operationId: 'sendCommandHeartbeat',
  tags,
  summary: 'Still running, maybe in a new phase (`cancelRequested`: stop the command)',
  security,
  middleware: [authenticateDevice],
  // Optional: agents before command phases sent `{}` or nothing.
  request: { params: commandParams, body: { content: { 'application/json': { schema: heartbeatRequest } }, required: false } },
  responses: { 200: json(heartbeatResponse, 'OK'), ...problemResponses },
});
const result = createRoute({
  method: 'post',
  path: '/commands/{id}/result',
  operationId: 'sendCommandResult',
  tags,
  summary: 'The final result (ends the command; duplicates are recorded, not re-applied)',
  security,
  middleware: [authenticateDevice],
  request: { params: commandParams, ...body(commandResult) },
  responses: {
    200: json(resultResponse, 'Recorded'),
    409: documentedProblem('`command_not_delivered`: the command was never handed out'),
    ...problemResponses,
  },
});
const file = createRoute({
  method: 'get',
  path: '/files/{sha256}',
  operationId: 'downloadCommandFile',
  tags,
  summary: 'Download a stored file for a `file.fetch` command',
  security,
  middleware: [authenticateDevice],
  description: "Only while one of the device's own open commands names the file; otherwise 404. The agent checks the SHA-256 itself.",
  request: { params: z.object({ sha256: sha256Hex.describe("The file's SHA-256, lowercase hex (from the command's payload)") }) },
  responses: { 200: { description: 'The file', content: { 'application/octet-stream': { schema: fileContent } } }, ...problemResponses },
});
const artifact = createRoute({
  method: 'get',
  path: '/artifacts/{sha256}',
  operationId: 'downloadDepotArtifact',
  tags,
  summary: 'Download a depot artifact for a software command (Range supported)',
  security,
  middleware: [authenticateDevice],
  description:
    "Only while one of the device's own open commands names the artifact; otherwise 404. A single byte range (`Range: bytes=N-`) resumes a download (206 with Content-Range; 416 past the end); the agent checks size and SHA-256 against the signed manifest.",
  request: { params: z.object({ sha256: sha256Hex.describe("The artifact's SHA-256, lowercase hex (from its signed manifest)") }) },
  responses: {
    200: { description: 'The artifact', content: { 'application/octet-stream': { schema: fileContent } } },
    206: { description: 'The requested range of it', content: { 'application/octet-stream': { schema: fileContent } } },
    416: documentedProblem('The range starts past the end'),
    ...problemResponses,
  },
});

const inventory = createRoute({
  method: 'post',
  path: '/inventory',
  operationId: 'reportInventory',
  tags,
  summary: 'Report inventory (full, or only the sections that changed)',
  description:
    'A delta whose unchanged sections do not match the stored hashes is refused with 409 `inventory_full_report_required`, changing nothing.',
  security,
  middleware: [authenticateDevice],
  request: body(inventoryReport),
  responses: {
    200: json(inventoryResponse, 'Stored'),
    409: documentedProblem('Send a full report'),
    413: documentedProblem('Report too large'),
    ...problemResponses,
  },
});

export function agentRoutes(deps: ApiDeps) {
  const commands = agentCommandService(deps);
  /**
   * The depot's signing keys for the check-in answer. Left out when they cannot be read (no master key for the secret
   * store, the database busy): the agent keeps the keys it has, and a check-in never fails for them.
   */
  const depotSigningKeys = async (): Promise<{ depotSigningKeys?: DepotSigningKey[] }> => {
    try {
      return { depotSigningKeys: await deps.depotSigning.publishedKeys() };
    } catch (err) {
      deps.logger.warn({ error: (err as Error).message }, 'the depot signing keys could not be read for a check-in');
      return {};
    }
  };
  /** Last-seen is written in batches (lib/last-seen.ts): polls are frequent, the column is not hot. */
  // Seen when the request arrived, not when its handler got to run: a poll the agent sent (and gave up on) before
  // its goodbye, handled after it, must not show the device online again.
  const touch = async (deviceId: string, receivedAt: Date) => {
    if (!(await deps.lastSeen.seen(deviceId, receivedAt))) throw deps.deviceAuth.gone(deviceId);
  };

  // Agent schemas sanitize text themselves (agentText), and output data may hold NUL: it is stored as bytes.
  return createRouter({ refuseUnstorableText: false })
    .openapi(enroll, async (c) => {
      const { deviceId, deviceSecret } = await enrollDevice(
        { db: deps.db, membership: deps.groups },
        requestOrigin(c),
        c.req.valid('json'),
      );
      return c.json(
        {
          deviceId,
          deviceSecret,
          pollWaitSeconds: deps.config.pollWaitSeconds,
          checkinIntervalSeconds: deps.config.checkinIntervalSeconds,
        },
        201,
      );
    })
    .openapi(checkin, async (c) => {
      const { facts, protocolVersion, capabilities, bootId } = c.req.valid('json');
      const id = c.var.device.id;
      // The agent's own protocol version and what it can run; an agent that says nothing is of protocol 1.
      // Written only when something changed (or the agent had said goodbye): a fleet checking in with the same
      // facts costs no row writes, and its last-seen goes with the polls' batch.
      const { rows } = await deps.agentPool.query<{ present: boolean; written: boolean }>(
        `WITH device AS (SELECT id FROM devices WHERE id = $1 AND retired_at IS NULL),
         written AS (
           UPDATE devices SET hostname = $2, os_family = $3, os_name = $4, os_version = $5, architecture = $6, ip_addresses = $7, agent_version = $8,
                  protocol_version = $9, capabilities = $10, command_kinds = $11, boot_id = $12,
                  last_seen_at = now(), agent_stopped_at = NULL, updated_at = now()
            WHERE id IN (SELECT id FROM device)
              AND (agent_stopped_at IS NOT NULL
                   OR (hostname, os_family, os_name, os_version, architecture, ip_addresses, agent_version, protocol_version, capabilities,
                       command_kinds, boot_id)
                      IS DISTINCT FROM ($2::text, $3::text, $4::text, $5::text, $6::text, $7::text[], $8::text, $9::int, $10::text[], $11::text[], $12::text))
        RETURNING id)
         SELECT EXISTS (SELECT 1 FROM device) AS present, EXISTS (SELECT 1 FROM written) AS written`,
        [
          id,
          facts.hostname,
          facts.osFamily,
          facts.osName,
          facts.osVersion,
          facts.architecture,
          facts.ipAddresses,
          facts.agentVersion,
          protocolVersion ?? 1,
          capabilities ?? [],
          dispatchableKinds(capabilities),
          bootId ?? null,
        ],
      );
      if (!rows[0]?.present) throw deps.deviceAuth.gone(id);
      if (rows[0].written) deps.lastSeen.written(id);
      else await touch(id, c.var.receivedAt);
      return c.json(
        {
          deviceId: id,
          serverTime: new Date().toISOString(),
          checkinIntervalSeconds: deps.config.checkinIntervalSeconds,
          outputEncodings: [...outputEncodings],
          commandPhases: [...commandPhases],
          protocolVersion: AGENT_PROTOCOL_VERSION,
          ...(await depotSigningKeys()),
        },
        200,
      );
    })
    .openapi(goodbye, async (c) => {
      const id = c.var.device.id;
      // Offline now (device.went_offline), and rules on device.status see it rather than at the next refresh.
      const said = await recordGoodbye(
        { db: deps.db, membership: deps.groups, presence: deps.config.presence },
        requestOrigin(c, deviceActor(c.var.device)),
        id,
      );
      if (!said) throw deps.deviceAuth.gone(id);
      // The next request of a restarted agent must record it as seen again, not with the next batch.
      deps.lastSeen.forget(id);
      return c.json({ deviceId: id }, 200);
    })
    .openapi(poll, async (c) => {
      await touch(c.var.device.id, c.var.receivedAt);
      const wait = Math.min(c.req.valid('query').wait, deps.config.pollWaitSeconds);
      return c.json(await commands.poll(c.var.device, wait, c.req.raw.signal), 200);
    })
    .openapi(start, async (c) =>
      c.json(await commands.start(c.var.device, c.req.valid('param').id, new Date(c.req.valid('json').startedAt)), 200),
    )
    .openapi(output, async (c) => c.json(await commands.output(c.var.device, c.req.valid('param').id, c.req.valid('json')), 200))
    .openapi(heartbeat, async (c) =>
      c.json(
        await commands.heartbeat(c.var.device, c.req.valid('param').id, (c.req.valid('json') as HeartbeatRequest | undefined) ?? {}),
        200,
      ),
    )
    .openapi(result, async (c) => c.json(await commands.result(c.var.device, c.req.valid('param').id, c.req.valid('json')), 200))
    .openapi(file, async (c) => {
      const { body, size } = await openFileForDevice(deps, c.var.device.id, c.req.valid('param').sha256);
      return c.body(body, 200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) });
    })
    .openapi(artifact, async (c) => {
      const found = await artifactForDevice(deps, c.var.device.id, c.req.valid('param').sha256);
      const range = requestedRange(c.req.header('range'), found.size);
      if (range === 'unsatisfiable') {
        throw new ApiError(416, 'range_not_satisfiable', `The artifact has ${found.size} bytes.`, undefined, {
          'content-range': `bytes */${found.size}`,
        });
      }
      const headers = { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes' };
      if (!range) return c.body(await found.open(), 200, { ...headers, 'Content-Length': String(found.size) });
      return c.body(await found.open(range), 206, {
        ...headers,
        'Content-Length': String(range.end - range.start + 1),
        'Content-Range': `bytes ${range.start}-${range.end}/${found.size}`,
      });
    })
    .openapi(inventory, async (c) => {
      const device = c.var.device;
      // The report and the group memberships it implies are stored together. Ingest runs on the admin pool: only a
      // few at once, so a fleet reporting together cannot starve people.
      const { factsChanged: _evaluated, ...response } = await deps.admission.inventory.run('inventory reports', () =>
        deps.services.inventory.ingest(requestOrigin(c), device, c.req.valid('json')),
      );
      await touch(device.id, c.var.receivedAt);
      return c.json(response, 200);
    });
}
