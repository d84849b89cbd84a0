/** RFC 9457 problem+json errors with a stable, documented `code` clients can branch on. */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from '@hono/zod-openapi';
import { problem } from '@opsconductor/contracts/agent-protocol';
import type { ServiceError, ServiceErrorKind } from '@opsconductor/unit-of-work';

export const problemCodes = {
  validation_failed: 'The request is not valid.',
  malformed_json: 'The request body is not valid JSON.',
  unauthenticated: 'Authentication is required.',
  invalid_credentials: 'The email or password is wrong.',
  too_many_attempts: 'Too many failed attempts; try again later.',
  weak_password: 'The password does not meet the password policy.',
  invalid_current_password: 'The current password is wrong.',
  current_password_required: 'Changing your own password needs your current password.',
  forbidden: 'Your role does not allow this.',
  csrf_rejected: 'The request origin is not allowed.',
  not_found: 'Not found.',
  method_not_allowed: 'This method is not allowed on this path.',
  conflict: 'The request conflicts with the current state.',
  name_taken: 'The name (or key, or email) is taken.',
  payload_too_large: 'The request body is too large.',
  unsupported_media_type: 'The request body is not of a media type this operation takes.',
  enrollment_token_invalid: 'The enrollment token is unknown, expired, revoked or used up.',
  device_unauthenticated: 'The device credentials are missing or wrong.',
  device_retired: 'The device was retired: it is no longer managed.',
  confirmation_mismatch: 'The confirmation does not match.',
  unknown_devices: 'Some devices do not exist.',
  unknown_groups: 'Some groups do not exist.',
  no_target_devices: 'The target selection matches no devices.',
  too_many_devices: 'The target selection matches more devices than one run may target.',
  target_count_changed: 'The target selection now matches a different number of devices than confirmed.',
  run_finished: 'The run has already finished.',
  idempotency_key_reused: 'This Idempotency-Key was already used for a different request.',
  output_after_finish: 'This command has already ended; its output can no longer change.',
  command_not_delivered: 'This command was never handed to an agent, so it cannot have a result.',
  unknown_file: 'No stored file has this SHA-256; upload it first (POST /api/v1/files).',
  inventory_full_report_required: 'A full inventory report is required.',
  rule_invalid: 'The rule is not valid.',
  rule_too_expensive: 'The rule takes too long to evaluate.',
  built_in_group: 'Built-in groups cannot be changed this way.',
  wrong_group_kind: 'This operation does not apply to this kind of group.',
  temporal_unavailable: 'The workflow service is unavailable; try again.',
  database_unavailable: 'The database is unavailable; try again.',
  server_busy: 'The server is busy; try again after Retry-After seconds.',
  secrets_unavailable: 'The secret store cannot work: no master key is configured, or not the one a secret needs.',
  internal_error: 'An unexpected error occurred.',
} as const;
export type ProblemCode = keyof typeof problemCodes;

export interface FieldError { path: string; message: string }

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly errors?: FieldError[],
    /** Extra response headers, e.g. `Retry-After` on 429. */
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? problemCodes[code]);
  }
}

export function problemBody(status: number, code: ProblemCode, detail?: string, errors?: FieldError[]) {
  return {
    type: `https://opsconductor.dev/problems/${code.replaceAll('_', '-')}`,
    title: problemCodes[code],
    status,
    code,
    ...(detail ? { detail } : {}),
    ...(errors?.length ? { errors } : {}),
  };
}

/** Seconds a client should wait before retrying a 503 (a dependency is down; it usually comes back). */
export const RETRY_AFTER_SECONDS = 5;

export function problemResponse(c: Context, status: ContentfulStatusCode, code: ProblemCode, detail?: string, errors?: FieldError[], headers?: Record<string, string>) {
  const all: Record<string, string> = { ...(status === 503 ? { 'Retry-After': String(RETRY_AFTER_SECONDS) } : {}), ...headers, 'Content-Type': 'application/problem+json' };
  return c.body(JSON.stringify(problemBody(status, code, detail, errors)), status, all);
}

const statusOfKind: Record<ServiceErrorKind, ContentfulStatusCode> = {
  invalid: 400, unauthenticated: 401, not_found: 404, conflict: 409, too_expensive: 422, unavailable: 503,
};
const fallbackCode: Record<ServiceErrorKind, ProblemCode> = {
  invalid: 'validation_failed', unauthenticated: 'unauthenticated', not_found: 'not_found', conflict: 'conflict', too_expensive: 'rule_too_expensive', unavailable: 'internal_error',
};
const isProblemCode = (code: string): code is ProblemCode => Object.hasOwn(problemCodes, code);

/** A domain service's error as the API answers it: its kind decides the status, its code the problem code. */
export function serviceErrorProblem(c: Context, err: ServiceError) {
  return problemResponse(c, statusOfKind[err.kind], isProblemCode(err.code) ? err.code : fallbackCode[err.kind], err.detail, err.fieldErrors);
}

export function zodFieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.slice(0, 50).map((i) => ({ path: i.path.join('.'), message: i.message }));
}

/**
 * OpenAPI schema of problem responses, the `Problem` component: the schema clients parse (packages/contracts),
 * rebuilt here because `.openapi()` exists only on schemas created after @hono/zod-openapi loaded.
 */
export const problemSchema = z.object(problem.shape).openapi('Problem');
export const problemSchemaRef = { $ref: '#/components/schemas/Problem' };
const problemContent = { 'application/problem+json': { schema: problemSchema } };
/** A documented problem+json response (every error status a route can answer is documented with one). */
export const documentedProblem = (description: string) => ({ description, content: problemContent });
export const problemResponses = {
  400: documentedProblem('Invalid request'),
  401: documentedProblem('Not authenticated'),
  403: documentedProblem('Forbidden for this role'),
  404: documentedProblem('Not found'),
  503: {
    ...documentedProblem('A dependency (database or Temporal) is unavailable, or the server is overloaded: `database_unavailable`, `temporal_unavailable` or `server_busy`; retry after `Retry-After` seconds'),
    headers: { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } } },
  },
} as const;
/** 429 from the login throttle: the `Retry-After` header says how many seconds to wait. */
export const tooManyAttemptsResponse = {
  429: {
    ...documentedProblem('Too many failed attempts for this account or from this address (`too_many_attempts`); wait `Retry-After` seconds'),
    headers: { 'Retry-After': { description: 'Seconds to wait before the next attempt', schema: { type: 'integer' as const, minimum: 1 } } },
  },
} as const;
