/**
 * DTOs of the admin API (`/api/v1`). The API validates requests with these schemas and the console's
 * typed client (apps/web/app/lib/api.server.ts) uses the same types, so both sides change together.
 */
import { z } from 'zod';
import { exitCode } from './agent-protocol.ts';

export const roles = ['admin', 'operator', 'viewer'] as const;
export const role = z.enum(roles);
export type Role = z.infer<typeof role>;

export const uuid = z.string().uuid();
export const pagination = z.object({
  page: z.coerce.number().int().min(1).max(100000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});

// ---- auth & users ---------------------------------------------------------------------------
export const loginRequest = z.object({
  email: z.string().trim().toLowerCase().email().max(320),
  password: z.string().min(1).max(1024),
});
export const user = z.object({
  id: uuid,
  email: z.string(),
  name: z.string(),
  role,
  disabled: z.boolean(),
  createdAt: z.string(),
});
export type User = z.infer<typeof user>;
export const loginResponse = z.object({ token: z.string(), expiresAt: z.string(), user });
export type LoginResponse = z.infer<typeof loginResponse>;

export const createUserRequest = z.object({
  email: z.string().trim().toLowerCase().email().max(320),
  name: z.string().trim().min(1).max(200),
  password: z.string().min(12).max(1024),
  role,
});
export const updateUserRequest = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  role: role.optional(),
  disabled: z.boolean().optional(),
  password: z.string().min(12).max(1024).optional(),
});
export const userList = z.object({ items: z.array(user) });

// ---- enrollment tokens ----------------------------------------------------------------------
export const createEnrollmentTokenRequest = z.object({
  name: z.string().trim().min(1).max(200),
  maxUses: z.number().int().min(1).max(100000).default(1),
  expiresInHours: z.number().int().min(1).max(24 * 365).default(24),
});
export const enrollmentToken = z.object({
  id: uuid,
  name: z.string(),
  tokenPrefix: z.string(),
  maxUses: z.number().int(),
  usedCount: z.number().int(),
  expiresAt: z.string(),
  revokedAt: z.string().nullable(),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
});
export type EnrollmentToken = z.infer<typeof enrollmentToken>;
/** The secret token is returned once, at creation. */
export const createdEnrollmentToken = enrollmentToken.extend({ token: z.string() });
export type CreatedEnrollmentToken = z.infer<typeof createdEnrollmentToken>;
export const enrollmentTokenList = z.object({ items: z.array(enrollmentToken) });

// ---- devices ---------------------------------------------------------------------------------
export const deviceStatus = z.enum(['online', 'offline', 'never_seen']);
export const device = z.object({
  id: uuid,
  hostname: z.string(),
  osFamily: z.string(),
  osName: z.string(),
  osVersion: z.string(),
  architecture: z.string(),
  ipAddresses: z.array(z.string()),
  agentVersion: z.string(),
  status: deviceStatus,
  lastSeenAt: z.string().nullable(),
  enrolledAt: z.string(),
});
export type Device = z.infer<typeof device>;

// ---- job runs --------------------------------------------------------------------------------
export const jobRunStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export const deviceRunStatus = z.enum(['pending', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'offline']);
export type DeviceRunStatus = z.infer<typeof deviceRunStatus>;

export const createJobRunRequest = z.object({
  deviceIds: z.array(uuid).min(1).max(10000),
  command: z.string().min(1).max(64 * 1024),
  shell: z.enum(['default', 'sh', 'bash', 'powershell', 'cmd']).default('default'),
  /** How long the command may run on a device before the agent kills it. */
  timeoutSeconds: z.number().int().min(1).max(24 * 3600).default(300),
  /** How long to wait for offline devices to come back and pick the command up. */
  deadlineSeconds: z.number().int().min(10).max(7 * 24 * 3600).default(3600),
});
export type CreateJobRunRequest = z.infer<typeof createJobRunRequest>;

export const jobRunTarget = z.object({
  deviceId: uuid,
  hostname: z.string(),
  status: deviceRunStatus,
  /** As the platform reported it: Windows codes are unsigned 32-bit (3221225477 = 0xC0000005). */
  exitCode: exitCode.nullable(),
  errorMessage: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().int().nullable(),
  stdoutTruncated: z.boolean(),
  stderrTruncated: z.boolean(),
});
export type JobRunTarget = z.infer<typeof jobRunTarget>;
export const jobRunSummary = z.object({
  id: uuid,
  workflowId: z.string(),
  temporalUrl: z.string().nullable(),
  command: z.string(),
  shell: z.string(),
  timeoutSeconds: z.number().int(),
  deadlineAt: z.string(),
  status: jobRunStatus,
  cancelRequested: z.boolean(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  counts: z.record(z.string(), z.number().int()),
});
export type JobRunSummary = z.infer<typeof jobRunSummary>;
export const jobRun = jobRunSummary.extend({ targets: z.array(jobRunTarget) });
export type JobRun = z.infer<typeof jobRun>;
export const jobRunList = z.object({ items: z.array(jobRunSummary), total: z.number().int() });

/** Largest output chunk ID (the cursor is a PostgreSQL bigint). */
export const MAX_OUTPUT_CURSOR = 9223372036854775807n;
const DIGITS = /^\d{1,19}$/;
/** A chunk ID to continue after: decimal digits, at most the largest bigint (beyond it: 400, not a database error). */
export const outputCursor = z.string().regex(DIGITS).refine((s) => !DIGITS.test(s) || BigInt(s) <= MAX_OUTPUT_CURSOR, 'larger than the largest chunk ID (2^63 - 1)');

/**
 * How output is returned. `text` (default): each chunk's bytes decoded as UTF-8, bytes that are not valid
 * UTF-8 shown as U+FFFD, NUL and other control characters kept (JSON escapes them). `base64`: the stored
 * bytes exactly, in standard base64 — what the process wrote, byte for byte.
 */
export const outputEncoding = z.enum(['text', 'base64']);
export type OutputEncodingParam = z.infer<typeof outputEncoding>;

export const outputChunk = z.object({
  id: z.string(), // bigint as string; use as the `after` cursor
  deviceId: uuid,
  stream: z.enum(['stdout', 'stderr']),
  encoding: outputEncoding,
  data: z.string(),
});
export type OutputChunk = z.infer<typeof outputChunk>;
export const outputQuery = z.object({
  deviceId: uuid.optional(),
  after: outputCursor.optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  encoding: outputEncoding.default('text'),
});
export const outputPage = z.object({ items: z.array(outputChunk), nextCursor: z.string().nullable() });

/**
 * Server-sent events on GET /api/v1/job-runs/:id/events?after=<chunk id>:
 * `output` (data: OutputChunk), `target` (data: JobRunTarget), `run` (data: JobRunSummary),
 * and `end` once the run is finished and all output was sent.
 */
export const jobRunEventNames = ['output', 'target', 'run', 'end'] as const;

// ---- audit log -------------------------------------------------------------------------------
export const auditLogEntry = z.object({
  id: z.string(),
  actorType: z.string(),
  actorId: z.string().nullable(),
  actorName: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  details: z.unknown().nullable(),
  ipAddress: z.string().nullable(),
  createdAt: z.string(),
});
export const auditLogList = z.object({ items: z.array(auditLogEntry), total: z.number().int() });
