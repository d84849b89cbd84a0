/** RFC 9457 problem+json errors with a stable, documented `code` clients can branch on. */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from '@hono/zod-openapi';
import { problem } from '@opsconductor/contracts/agent-protocol';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { isDatabaseUnavailable, Prisma } from '@opsconductor/db';
import { ServiceError, type ServiceErrorKind } from '@opsconductor/unit-of-work';
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

/** What a response to a failed request says: status, problem code and the rest of its problem document. */
export interface ProblemAnswer {
  status: ContentfulStatusCode;
  code: ProblemCode;
  detail?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
}

/** A domain service's error as the API answers it: its kind decides the status, its code the problem code. */
function serviceErrorAnswer(err: ServiceError): ProblemAnswer {
  return {
    status: statusOfKind[err.kind],
    code: isProblemCode(err.code) ? err.code : fallbackCode[err.kind],
    detail: err.detail,
    errors: err.fieldErrors,
  };
}

/**
 * How the API answers an error a handler threw (HTTP routes and the agent channel alike). Only what is
 * none of the known kinds is a 500, logged as a bug.
 */
export function answerForError(err: unknown, logger: Logger, path: string): ProblemAnswer {
  if (err instanceof ApiError) return { status: err.status, code: err.code, detail: err.detail, errors: err.errors, headers: err.headers };
  if (err instanceof ServiceError) return serviceErrorAnswer(err);
  if (err instanceof z.ZodError) return { status: 400, code: 'validation_failed', errors: zodFieldErrors(err) };
  if (err instanceof HTTPException) {
    // Hono's validator raises 400 for unparsable JSON bodies.
    if (err.status === 400) return { status: 400, code: 'malformed_json', detail: err.message };
    // @hono/zod-openapi refuses a body of a media type the route does not declare.
    if (err.status === 415) return { status: 415, code: 'unsupported_media_type', detail: err.message };
    return { status: err.status as 400, code: 'validation_failed', detail: err.message };
  }
  if (isDatabaseUnavailable(err)) {
    logger.warn({ err, path }, 'database unavailable');
    return { status: 503, code: 'database_unavailable' };
  }
  // A row that vanished between a handler's check and its write (deleted meanwhile, by a concurrent
  // request or by hand) is a 404 / 409, not a server error.
  if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025')
    return { status: 404, code: 'not_found', detail: 'It no longer exists.' };
  if ((err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2003') || (err as { code?: unknown }).code === '23503') {
    return { status: 409, code: 'conflict', detail: 'Something this refers to no longer exists.' };
  }
  // Two requests creating the same name at once: the loser hits the unique index.
  if ((err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') || (err as { code?: unknown }).code === '23505') {
    return { status: 409, code: 'conflict', detail: 'It exists already.' };
  }
  logger.error({ err, path }, 'unhandled error');
  return { status: 500, code: 'internal_error' };
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
