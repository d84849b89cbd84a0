/**
 * The database package: one Prisma client per process, over a pg pool we size ourselves (the adapter's
 * defaults never time out). The same pool serves raw SQL on hot paths and LISTEN/NOTIFY.
 */
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client.ts';

export * from './generated/prisma/client.ts';
export { Prisma } from './generated/prisma/client.ts';
export { isDatabaseUnavailable } from './unavailable.ts';

export interface DatabaseOptions {
  url: string;
  /** Most connections this process may hold. */
  poolMax?: number;
  /** How long to wait for a free connection before failing. */
  connectionTimeoutMillis?: number;
  /** Longest a statement may run before PostgreSQL cancels it (none by default). */
  statementTimeoutMillis?: number;
}

export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  close(): Promise<void>;
}

/** A pg pool sized and bounded explicitly (pg's defaults never time out waiting for a connection). */
export function createPool(options: DatabaseOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5000,
    idleTimeoutMillis: 30_000,
    ...(options.statementTimeoutMillis ? { statement_timeout: options.statementTimeoutMillis } : {}),
  });
  // An idle client losing its connection (e.g. Postgres restarting) must not crash the process.
  pool.on('error', () => {});
  return pool;
}

export function createDatabase(options: DatabaseOptions): Database {
  const pool = createPool(options);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      await pool.end().catch(() => {});
    },
  };
}

/**
 * Runs `fn` in a transaction on one pooled connection: COMMIT on success, ROLLBACK on error. A
 * connection that cannot even roll back is discarded instead of going back to the pool.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
