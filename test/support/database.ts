/** A fresh, migrated database per caller, cloned from the template the global setup migrated. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createDatabase, type Database } from '@opsconductor/db';

/** What the global setup provides to every test file. */
declare module 'vitest' {
  export interface ProvidedContext {
    postgresTemplateUrl: string;
    temporalAddress: string;
  }
}

export interface TestDatabase {
  url: string;
  db: Database;
  drop(): Promise<void>;
}

/** `empty`: a database without any schema (for tests of the migration runner itself), not a clone of the template. */
export async function createTestDatabase(opts: { empty?: boolean } = {}): Promise<TestDatabase> {
  const templateUrl = new URL(inject('postgresTemplateUrl'));
  const template = templateUrl.pathname.slice(1);
  const name = `t_${randomBytes(6).toString('hex')}`;
  const adminUrl = new URL(templateUrl);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    await admin.query(opts.empty ? `CREATE DATABASE "${name}"` : `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(templateUrl);
  url.pathname = `/${name}`;
  const db = createDatabase({ url: url.toString(), poolMax: 10 });
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.close();
      const c = new pg.Client({ connectionString: adminUrl.toString() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
