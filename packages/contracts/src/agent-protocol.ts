/**
 * The agent protocol, version 1 (`/agent/v1`). Agents speak HTTPS only and never reach Temporal.
 * Every body is validated on both sides with these schemas; sizes are bounded because agent data is
 * untrusted. A newer agent keeps working with an older server: unknown fields are stripped, not refused.
 */
import { z } from 'zod';
import { agentText, isoTimestamp } from './text.ts';

export const AGENT_PROTOCOL_VERSION = 1;
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

/** POST /agent/v1/enroll — no auth besides the enrollment token in the body. */
export const enrollRequest = z.object({
  enrollmentToken: shortText(200).min(10),
  facts: deviceFacts,
  protocolVersion: z.number().int().positive().max(INT4_MAX).default(AGENT_PROTOCOL_VERSION),
}).meta({ id: 'EnrollRequest' });
export type EnrollRequest = z.infer<typeof enrollRequest>;

export const enrollResponse = z.object({
  deviceId: z.string().uuid(),
  /** 256 random bits, base64url. Shown once; the server keeps only its SHA-256. */
  deviceSecret: z.string(),
  pollWaitSeconds: z.number().int(),
  checkinIntervalSeconds: z.number().int(),
}).meta({ id: 'EnrollResponse' });
export type EnrollResponse = z.infer<typeof enrollResponse>;

/** POST /agent/v1/checkin — Authorization: Bearer <deviceSecret>. Refreshes facts and last-seen. */
export const checkinRequest = z.object({ facts: deviceFacts }).meta({ id: 'CheckinRequest' });
export const checkinResponse = z.object({
  deviceId: z.string().uuid(),
  serverTime: z.string(),
  checkinIntervalSeconds: z.number().int(),
  /** Output encodings the server accepts (`utf8`, `base64`); older servers omit it and take text only. */
  outputEncodings: z.array(z.string()).optional(),
}).meta({ id: 'CheckinResponse' });

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

export const shellCommandPayload = z.object({
  kind: z.literal('shell'),
  /** The command line, run by the platform shell: /bin/sh -c on POSIX, powershell on Windows by default. */
  command: z.string().min(1).max(64 * 1024),
  shell: z.enum(['default', 'sh', 'bash', 'powershell', 'cmd']).default('default'),
  timeoutSeconds: z.number().int().min(1).max(7 * 24 * 3600),
});
export type ShellCommandPayload = z.infer<typeof shellCommandPayload>;

export const agentCommand = z.object({
  id: z.string().uuid(),
  /** Absolute time after which the server no longer wants the command started. */
  expiresAt: z.string(),
  payload: shellCommandPayload,
});
export type AgentCommand = z.infer<typeof agentCommand>;

/**
 * GET /agent/v1/commands?wait=25 — long-poll. Returns at once when commands or cancellations are
 * waiting, else within `wait` seconds (the server caps it at MAX_POLL_WAIT_SECONDS) with empty lists.
 * A command is handed out again if it was delivered but never started (the agent's journal makes
 * execution at-most-once). `cancel` lists IDs of commands this device is running that must be killed.
 */
export const pollResponse = z.object({
  commands: z.array(agentCommand),
  cancel: z.array(z.string().uuid()),
}).meta({ id: 'PollResponse' });
export type PollResponse = z.infer<typeof pollResponse>;

/** POST /agent/v1/commands/:id/start — the agent is about to spawn the process. Idempotent. */
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
export const outputRequest = z.object({
  stream: z.enum(['stdout', 'stderr']),
  seq: z.number().int().min(0).max(INT4_MAX),
  encoding: z.enum(outputEncodings).default('utf8'),
  data: z.string().max(MAX_OUTPUT_CHUNK_BASE64_LENGTH).describe(
    `UTF-8 text (at most ${MAX_OUTPUT_CHUNK_BYTES} UTF-16 code units), or with encoding base64 the bytes in standard base64`,
  ),
}).superRefine((chunk, ctx) => {
  if (chunk.encoding === 'base64' ? !BASE64.test(chunk.data) : chunk.data.length > MAX_OUTPUT_CHUNK_BYTES) {
    ctx.addIssue({ code: 'custom', path: ['data'], message: chunk.encoding === 'base64' ? 'not standard base64' : `longer than ${MAX_OUTPUT_CHUNK_BYTES}` });
  }
}).meta({ id: 'OutputRequest' });
export type OutputRequest = z.infer<typeof outputRequest>;
/** What an agent sends (`encoding` may be left out). */
export type OutputRequestBody = z.input<typeof outputRequest>;
/**
 * POST /agent/v1/commands/:id/heartbeat (empty body) — sent every HEARTBEAT_INTERVAL_SECONDS while a
 * command runs without output. Same reply as /output.
 */
export const heartbeatResponse = z.object({ cancelRequested: z.boolean() }).meta({ id: 'HeartbeatResponse' });
export const HEARTBEAT_INTERVAL_SECONDS = 10;

/** POST /agent/v1/commands/:id/result — the final result. Duplicates are recorded, not re-applied. */
export const commandResult = z.object({
  status: z.enum(['succeeded', 'failed', 'timed_out', 'cancelled']),
  exitCode: exitCode.nullable(),
  /** Set when the process could not be started or was lost (e.g. the agent restarted mid-run). */
  error: shortText(4000).optional(),
  startedAt: isoTimestamp,
  finishedAt: isoTimestamp,
  durationMs: z.number().int().min(0).max(INT4_MAX),
}).meta({ id: 'CommandResult' });
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
