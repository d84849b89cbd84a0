/**
 * The agent protocol (`/agent/v1`). Agents speak HTTPS only and never reach Temporal. Every body is
 * validated on both sides with these schemas; sizes are bounded because agent data is untrusted.
 * Compatible both ways: unknown fields are stripped, not refused, so a newer agent works with an
 * older server and an agent of protocol 1 still checks in and polls with this server (but is sent no
 * commands: see check-in).
 *
 * Protocol versions (the agent's is stored on the device; the server says its own at check-in):
 * - 1: shell commands only; results succeeded/failed/timed_out/cancelled.
 * - 2: typed command kinds (commands.ts) dispatched by capabilities announced at check-in with the
 *   boot ID; results may also be `interrupted` and `unsupported`; `/start` may answer cancelRequested;
 *   `GET /files/{sha256}` for `file.fetch`.
 * - 3: the agent channel (agent-channel.ts, ADR 17).
 * The check-in answer may carry the depot's signing keys (`depotSigningKeys`, ADR 23), which an agent of any
 * version may ignore. The software commands that need them are capabilities (`software.install@1`), not a
 * protocol version: only an agent that announces them gets them, and its result may carry `software`.
 */
import { z } from 'zod';
import { commandPayload } from './commands.ts';
import { depotSigningKey, softwareCommandReport } from './software.ts';
import { agentText, isoTimestamp } from './text.ts';

export {
  commandPayload,
  shellCommandPayload,
  scriptCommandPayload,
  fileFetchCommandPayload,
  rebootCommandPayload,
  inventoryRefreshCommandPayload,
  type CommandPayload,
  type CommandKind,
  type ShellCommandPayload,
  type ScriptCommandPayload,
  type FileFetchCommandPayload,
} from './commands.ts';

/** 2: command kinds, capabilities and boot IDs; 3: the agent channel (agent-channel.ts, ADR 17). */
export const AGENT_PROTOCOL_VERSION = 3;
export const AGENT_API_PREFIX = '/agent/v1';

/** Largest output chunk an agent may send in one request (bytes, after decoding `data`). */
export const MAX_OUTPUT_CHUNK_BYTES = 64 * 1024;
/** Longest base64 `data` of an output chunk: the base64 length of MAX_OUTPUT_CHUNK_BYTES. */
export const MAX_OUTPUT_CHUNK_BASE64_LENGTH = Math.ceil(MAX_OUTPUT_CHUNK_BYTES / 3) * 4;
/** Output kept per stream per device run: the newest 1 MiB. */
export const OUTPUT_RETENTION_BYTES = 1024 * 1024;
/** Longest long-poll the server honours, in seconds. */
export const MAX_POLL_WAIT_SECONDS = 30;

/** Every string an agent sends: bounded, with NUL and unpaired surrogates replaced by U+FFFD (see text.ts). */
const shortText = agentText;
/** Largest value of an int4 column (sequence numbers, durations in ms). */
const INT4_MAX = 2 ** 31 - 1;
/**
 * Exit codes as platforms report them: POSIX 0…255, Windows a DWORD (0xC0000005 = 3221225477; `exit -1`
 * is 4294967295), and some runtimes report negative values. Stored as bigint.
 */
export const EXIT_CODE_MIN = -(2 ** 31);
export const EXIT_CODE_MAX = 2 ** 32 - 1;
export const exitCode = z.number().int().min(EXIT_CODE_MIN).max(EXIT_CODE_MAX);

export const deviceFacts = z.object({
  hostname: shortText(255).min(1),
  osFamily: z.enum(['linux', 'windows', 'macos', 'other']),
  osName: shortText(200),
  osVersion: shortText(100),
  architecture: shortText(50),
  ipAddresses: z.array(shortText(64)).max(64),
  agentVersion: shortText(50),
});
export type DeviceFacts = z.infer<typeof deviceFacts>;

/**
 * POST /agent/v1/enroll — no auth besides the enrollment token in the body. `enrollmentId` (optional) is a random
 * UUID the agent makes once and sends again when it retries the same enrolment (a timeout, a 5xx): the server then
 * answers with the device the first attempt created, and a new secret (whoever got the first answer did not keep
 * it), instead of creating a second device and using up another use of the token. Within ENROLLMENT_RETRY_WINDOW_SECONDS,
 * with the same token, for a device that was not retired.
 */
export const enrollRequest = z
  .object({
    enrollmentToken: shortText(200).min(10),
    facts: deviceFacts,
    protocolVersion: z.number().int().positive().max(INT4_MAX).default(AGENT_PROTOCOL_VERSION),
    enrollmentId: z.string().uuid().optional(),
  })
  .meta({ id: 'EnrollRequest' });
/** How long a repeated enrolment (same `enrollmentId`) gets the device the first one created. */
export const ENROLLMENT_RETRY_WINDOW_SECONDS = 3600;
export type EnrollRequest = z.infer<typeof enrollRequest>;

export const enrollResponse = z
  .object({
    deviceId: z.string().uuid(),
    /** 256 random bits, base64url. Shown once; the server keeps only its SHA-256. */
    deviceSecret: z.string(),
    pollWaitSeconds: z.number().int(),
    checkinIntervalSeconds: z.number().int(),
  })
  .meta({ id: 'EnrollResponse' });
export type EnrollResponse = z.infer<typeof enrollResponse>;

/** Most capabilities an agent may announce. */
export const MAX_CAPABILITIES = 100;

/**
 * POST /agent/v1/checkin — Authorization: Bearer <deviceSecret>. Refreshes facts and last-seen, and
 * (protocol 2) the agent's protocol version, its capabilities and its boot ID. An agent that sends no
 * capabilities (protocol 1) is sent no commands (they end `unsupported`): it knows only shell commands of
 * version 1, which carry no environment, and must be upgraded.
 */
export const checkinRequest = z
  .object({
    facts: deviceFacts,
    protocolVersion: z.number().int().positive().max(INT4_MAX).optional(),
    /** `<kind>@<version>` for every command kind the agent can run (see commands.ts `capability`). */
    capabilities: z.array(shortText(100)).max(MAX_CAPABILITIES).optional(),
    /** Changes when the device restarts: Linux's kernel boot_id, Windows' last boot time. */
    bootId: shortText(100).optional(),
  })
  .meta({ id: 'CheckinRequest' });
export type CheckinRequest = z.input<typeof checkinRequest>;
export const checkinResponse = z
  .object({
    deviceId: z.string().uuid(),
    serverTime: z.string(),
    checkinIntervalSeconds: z.number().int(),
    /** Output encodings the server accepts (`utf8`, `base64`); older servers omit it and take text only. */
    outputEncodings: z.array(z.string()).optional(),
    /** The server's protocol version; older servers omit it (protocol 1). */
    protocolVersion: z.number().int().optional(),
    /**
     * The keys the depot signs artifact manifests with: the agent verifies every artifact it is
     * sent against these, learnt from the server it enrolled with, never from a mirror or share.
     */
    depotSigningKeys: z.array(depotSigningKey).max(8).optional(),
    /** The command phases the server records from heartbeats (`heartbeatRequest`); older servers omit it. */
    commandPhases: z.array(z.string().max(32)).max(16).optional(),
  })
  .meta({ id: 'CheckinResponse' });

/**
 * POST /agent/v1/goodbye — Authorization: Bearer <deviceSecret>. Sent once by an agent that stops
 * cleanly (SIGTERM/SIGINT, `systemctl stop`) after it delivered its results: the server shows the
 * device offline at once rather than when the online window runs out; the next check-in makes it
 * online again. Optional for both sides: an agent gives up after a few seconds (an older server
 * answers 404, which is fine), and a server never requires it.
 */
export const goodbyeRequest = z.object({}).meta({ id: 'GoodbyeRequest' });
export type GoodbyeRequest = z.infer<typeof goodbyeRequest>;
export const goodbyeResponse = z.object({ deviceId: z.string().uuid() }).meta({ id: 'GoodbyeResponse' });
/** How long a stopping agent waits for the goodbye's answer. */
export const GOODBYE_TIMEOUT_MS = 3000;

export const agentCommand = z.object({
  id: z.string().uuid(),
  /** Absolute time after which the server no longer wants the command started. */
  expiresAt: z.string(),
  /** Which attempt of its owner (e.g. a job-run target) this command is; protocol 2. */
  attempt: z.number().int().min(1).max(INT4_MAX).optional(),
  payload: commandPayload,
});
export type AgentCommand = z.infer<typeof agentCommand>;

/**
 * GET /agent/v1/commands?wait=25 — long-poll. Returns at once when commands or cancellations are
 * waiting, else within `wait` seconds (the server caps it at MAX_POLL_WAIT_SECONDS) with empty lists.
 * A command is handed out again if it was delivered but never started (the agent's journal makes
 * execution at-most-once). `cancel` lists IDs of commands this device is running that must be killed.
 */
export const pollResponse = z
  .object({
    commands: z.array(agentCommand),
    cancel: z.array(z.string().uuid()),
  })
  .meta({ id: 'PollResponse' });
export type PollResponse = z.infer<typeof pollResponse>;

/**
 * POST /agent/v1/commands/:id/start — the agent is about to spawn the process. Idempotent. Answers
 * like /heartbeat: `cancelRequested: true` when the server no longer wants it run (cancelled, or
 * already recorded as over).
 */
export const startRequest = z.object({ startedAt: isoTimestamp }).meta({ id: 'StartRequest' });

/** How `data` of an output chunk is encoded: `utf8` is the text itself, `base64` the raw bytes. */
export const outputEncodings = ['utf8', 'base64'] as const;
export type OutputEncoding = (typeof outputEncodings)[number];
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * POST /agent/v1/commands/:id/output — a chunk of output. `seq` starts at 0 per stream and makes
 * retries idempotent. Each chunk heartbeats the activity; the reply says whether to cancel.
 * Output is stored as bytes. `encoding: 'utf8'` (the default, what every agent sent before) stores the
 * UTF-8 of `data`, NUL included; `encoding: 'base64'` carries bytes that are not valid UTF-8 exactly as
 * the process wrote them (agents use it only when the server lists it in `outputEncodings` at check-in).
 * At most MAX_OUTPUT_CHUNK_BYTES bytes after decoding (else 413). Output for a command whose device has
 * already finished in the run is refused with 409 `output_after_finish`.
 */
export const outputRequest = z
  .object({
    stream: z.enum(['stdout', 'stderr']),
    seq: z.number().int().min(0).max(INT4_MAX),
    encoding: z.enum(outputEncodings).default('utf8'),
    data: z
      .string()
      .max(MAX_OUTPUT_CHUNK_BASE64_LENGTH)
      .describe(`UTF-8 text (at most ${MAX_OUTPUT_CHUNK_BYTES} UTF-16 code units), or with encoding base64 the bytes in standard base64`),
  })
  .superRefine((chunk, ctx) => {
    if (chunk.encoding === 'base64' ? !BASE64.test(chunk.data) : chunk.data.length > MAX_OUTPUT_CHUNK_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['data'],
        message: chunk.encoding === 'base64' ? 'not standard base64' : `longer than ${MAX_OUTPUT_CHUNK_BYTES}`,
      });
    }
  })
  .meta({ id: 'OutputRequest' });
export type OutputRequest = z.infer<typeof outputRequest>;
/** What an agent sends (`encoding` may be left out). */
export type OutputRequestBody = z.input<typeof outputRequest>;
/**
 * POST /agent/v1/commands/:id/heartbeat (`heartbeatRequest`: empty, or the phase) — sent every HEARTBEAT_INTERVAL_SECONDS while a
 * command runs without output. Same reply as /output: `cancelRequested` is true when the command must
 * stop — cancelled, or already recorded as over on the server (a command never keeps running then).
 */
export const heartbeatResponse = z.object({ cancelRequested: z.boolean() }).meta({ id: 'HeartbeatResponse' });
/**
 * Where a running command is, for commands that have stages (software commands: `downloading` its artifacts, then
 * `installing`). The server records the latest on the command (deployments show it as the device's status).
 */
export const commandPhases = ['downloading', 'installing'] as const;
export type CommandPhase = (typeof commandPhases)[number];
/**
 * The heartbeat's body: empty, or the command's current phase. An agent sends a phase only to a server that lists
 * phases in `commandPhases` at check-in (an older server's channel refuses unknown fields in a heartbeat); it sends
 * one heartbeat at once when the phase changes.
 */
export const heartbeatRequest = z.object({ phase: z.enum(commandPhases).optional() }).meta({ id: 'HeartbeatRequest' });
export type HeartbeatRequest = z.infer<typeof heartbeatRequest>;
export const HEARTBEAT_INTERVAL_SECONDS = 10;

/**
 * How a command ended on the agent. `interrupted`: the agent stopped it without it finishing (it
 * restarted, or the device did, mid-command). `unsupported`: the agent cannot run this kind. Agents
 * send these two only to servers of protocol 2 and later, and `failed` to older ones.
 */
export const commandResultStatuses = ['succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted', 'unsupported'] as const;
export type CommandResultStatus = (typeof commandResultStatuses)[number];
/** The statuses of protocol 1. */
export const protocol1ResultStatuses: readonly CommandResultStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled'];

/**
 * POST /agent/v1/commands/:id/result — the final result. Duplicates are recorded, not re-applied; a
 * result for a command the server already recorded as over is recorded and answered `accepted: false`.
 */
export const commandResult = z
  .object({
    status: z.enum(commandResultStatuses),
    exitCode: exitCode.nullable(),
    /** Set when the process could not be started or was lost (e.g. the agent restarted mid-run). */
    error: shortText(4000).optional(),
    startedAt: isoTimestamp,
    finishedAt: isoTimestamp,
    durationMs: z.number().int().min(0).max(INT4_MAX),
    /** `software.install` / `software.uninstall`: the precise outcome, stored with the result. */
    software: softwareCommandReport.optional(),
  })
  .meta({ id: 'CommandResult' });
export type CommandResult = z.infer<typeof commandResult>;
export const resultResponse = z.object({ accepted: z.boolean(), duplicate: z.boolean() }).meta({ id: 'ResultResponse' });

/** Every error is RFC 9457 problem+json with a stable `code`. */
export const problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  code: z.string(),
  detail: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof problem>;
