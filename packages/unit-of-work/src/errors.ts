/**
 * Errors services raise for their callers to map: the API to problem+json (kind → status, `code` → the
 * stable problem code), activities to non-retryable failures. `code` must be one of the API's problem codes.
 */

export type ServiceErrorKind = 'invalid' | 'unauthenticated' | 'not_found' | 'conflict' | 'too_expensive' | 'unavailable';

export interface FieldError {
  path: string;
  message: string;
}

export class ServiceError extends Error {
  constructor(
    readonly kind: ServiceErrorKind,
    readonly code: string,
    readonly detail?: string,
    readonly fieldErrors?: FieldError[],
  ) {
    super(detail ?? code);
    this.name = 'ServiceError';
  }
}

export const notFound = (detail?: string) => new ServiceError('not_found', 'not_found', detail);
export const invalid = (code: string, detail?: string, fieldErrors?: FieldError[]) =>
  new ServiceError('invalid', code, detail, fieldErrors);
export const conflict = (code: string, detail?: string) => new ServiceError('conflict', code, detail);

/**
 * A name (or key, or email) that must be unique is taken: by a row that existed, or by a concurrent request
 * that won the race to the unique index.
 */
export class NameTakenError extends ServiceError {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super('conflict', 'name_taken', detail, [{ path: field, message: 'is taken' }]);
    this.name = 'NameTakenError';
  }
}

/** True when `err` is PostgreSQL's unique violation on `constraint` (the loser of a race to insert). */
export function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown };
  return e?.code === '23505' && e.constraint === constraint;
}
