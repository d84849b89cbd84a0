/**
 * Tells "the database cannot be reached right now" (connection refused, server shutting down, pool
 * timeout, connection lost) from every other error, through the layers that wrap it: pg's errors,
 * Prisma's driver-adapter errors and Prisma's own connection error codes.
 */

/** Node socket errors that mean the server is not there (or not any more). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
/** Prisma: can't reach, timed out, server closed the connection, pool timeout, too many connections. */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);
/** Driver-adapter error kinds (@prisma/adapter-pg) with the same meaning. */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** pg-pool and pg say these in plain Errors without a code. */
const MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|connection timeout|Client has encountered a connection error|Connection is closed/i;

/** SQLSTATE classes 08 (connection exception) and 57P (shutdown, crash recovery), and 53300 (too many connections). */
function unavailableSqlState(code: string): boolean {
  return /^08[0-9A-Z]{3}$/.test(code) || /^57P0[1-4]$/.test(code) || code === '53300';
}

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as {
    code?: unknown;
    kind?: unknown;
    message?: unknown;
    meta?: { driverAdapterError?: { cause?: unknown } };
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof e.code === 'string' && (SOCKET_CODES.has(e.code) || PRISMA_CODES.has(e.code) || unavailableSqlState(e.code))) return true;
  if (
    typeof e.kind === 'string' &&
    (ADAPTER_KINDS.has(e.kind) || (e.kind === 'postgres' && typeof e.code === 'string' && unavailableSqlState(e.code)))
  )
    return true;
  if (typeof e.message === 'string' && e.code === undefined && MESSAGES.test(e.message)) return true;
  // Prisma raw queries (P2010) carry the adapter's error here; connecting to a name with several addresses fails with an AggregateError.
  if (isDatabaseUnavailable(e.meta?.driverAdapterError?.cause, depth + 1)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}
