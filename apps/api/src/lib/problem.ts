/** RFC 9457 problem+json errors with a stable, documented `code` clients can branch on. */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from '@hono/zod-openapi';
import { problem } from '@opsconductor/contracts/agent-protocol';
import type { ServiceError, ServiceErrorKind } from '@opsconductor/unit-of-work';
import { problemCodes, type ProblemCode } from '@opsconductor/contracts/problem-codes';

// The list lives in contracts, where the console reads it too; re-exported for the API's modules.
export { problemCodes, type ProblemCode };

export interface FieldError {
  path: string;
  message: string;
}

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

export function problemResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: ProblemCode,
  detail?: string,
  errors?: FieldError[],
  headers?: Record<string, string>,
) {
  const all: Record<string, string> = {
    ...(status === 503 ? { 'Retry-After': String(RETRY_AFTER_SECONDS) } : {}),
    ...headers,
    'Content-Type': 'application/problem+json',
  };
  return c.body(JSON.stringify(problemBody(status, code, detail, errors)), status, all);
}

const statusOfKind: Record<ServiceErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  unauthenticated: 401,
  not_found: 404,
  conflict: 409,
  too_expensive: 422,
  unavailable: 503,
};
const fallbackCode: Record<ServiceErrorKind, ProblemCode> = {
  invalid: 'validation_failed',
  unauthenticated: 'unauthenticated',
  not_found: 'not_found',
  conflict: 'conflict',
  too_expensive: 'rule_too_expensive',
  unavailable: 'internal_error',
};
const isProblemCode = (code: string): code is ProblemCode => Object.hasOwn(problemCodes, code);

/** A domain service's error as the API answers it: its kind decides the status, its code the problem code. */
export function serviceErrorProblem(c: Context, err: ServiceError) {
  return problemResponse(
    c,
    statusOfKind[err.kind],
    isProblemCode(err.code) ? err.code : fallbackCode[err.kind],
    err.detail,
    err.fieldErrors,
  );
}

/** The issues of a failed validation as field errors; `target` is what was validated (query, json, param…). */
export function zodFieldErrors(error: z.ZodError, target?: string): FieldError[] {
  // An unknown name is reported at its own path, one error each, so that clients can show it where it was given.
  const unknownName = target === 'query' ? 'unknown query parameter' : 'unknown field';
  return error.issues
    .flatMap((i) =>
      i.code === 'unrecognized_keys'
        ? i.keys.map((key) => ({ path: [...i.path, key].join('.'), message: unknownName }))
        : [{ path: i.path.join('.'), message: i.message }],
    )
    .slice(0, 50);
}

/**
 * OpenAPI schema of problem responses, the `Problem` component: the schema clients parse (packages/contracts),
 * with `code` narrowed to the published list so that typed clients can branch on it.
 */
export const problemSchema = z
  .object({
    ...problem.shape,
    code: z.enum(Object.keys(problemCodes) as [ProblemCode, ...ProblemCode[]]).openapi({
      description: 'What went wrong, stable: branch on this. New codes may be added; treat an unknown one by its HTTP status.',
    }),
  })
  .openapi('Problem');
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
    ...documentedProblem(
      'A dependency (database or Temporal) is unavailable, or the server is overloaded: `database_unavailable`, `temporal_unavailable` or `server_busy`; retry after `Retry-After` seconds',
    ),
    headers: { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } } },
  },
} as const;
/** 429 from the login throttle: the `Retry-After` header says how many seconds to wait. */
export const tooManyAttemptsResponse = {
  429: {
    ...documentedProblem(
      'Too many failed attempts for this account or from this address (`too_many_attempts`); wait `Retry-After` seconds',
    ),
    headers: {
      'Retry-After': { description: 'Seconds to wait before the next attempt', schema: { type: 'integer' as const, minimum: 1 } },
    },
  },
} as const;
