/**
 * 20261201050100_job_run_outcome_statuses on a database holding runs finished under the old statuses:
 * each `failed` run gets the status its devices' outcomes give today (activities jobRunOutcome).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it, inject } from 'vitest';
import { listMigrations, migrate, migrationsDir } from '../src/migrate.ts';
import type {} from '../../test/support/database.ts'; // the ProvidedContext typing

const MIGRATION = '20261201050100_job_run_outcome_statuses';
const adminUrl = new URL(inject('postgresTemplateUrl'));
adminUrl.pathname = '/postgres';
const name = `t_${randomBytes(6).toString('hex')}`;
const url = new URL(adminUrl);
url.pathname = `/${name}`;
let client: pg.Client;
let before: string;

async function admin(sql: string) {
  const c = new pg.Client({ connectionString: adminUrl.toString() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  await admin(`CREATE DATABASE "${name}"`);
  // The migrations before this one, applied as an older release would have.
  before = await mkdtemp(join(tmpdir(), 'oc-migrations-'));
  for (const m of await listMigrations()) {
    if (m.name >= MIGRATION) break;
    await cp(join(migrationsDir, m.name), join(before, m.name), { recursive: true });
  }
  await migrate(url.toString(), before);
  client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await rm(before, { recursive: true, force: true });
  await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
});

let host = 0;
async function run(status: string, outcomes: string[], finished = true): Promise<string> {
  const id = randomUUID();
  await client.query(
    `INSERT INTO job_runs (id, workflow_id, command, timeout_seconds, deadline_at, status, finished_at)
     VALUES ($1, $2, 'echo', 30, now(), $3::"JobRunStatus", $4)`,
    [id, `job-run/${id}`, status, finished ? new Date() : null],
  );
  for (const outcome of outcomes) {
    const device = await client.query<{ id: string }>(
      `INSERT INTO devices (id, hostname, os_family, os_name, os_version, architecture, ip_addresses, agent_version, secret_hash, updated_at)
       VALUES (gen_random_uuid(), $1, 'linux', 'Debian', '12', 'x64', '{}', '1.0.0', $2, now()) RETURNING id`,
      [`host-${++host}`, randomBytes(32).toString('hex')],
    );
    await client.query(
      `INSERT INTO job_run_devices (id, job_run_id, device_id, status, finished_at, updated_at)
       VALUES (gen_random_uuid(), $1, $2, $3::"DeviceRunStatus", now(), now())`,
      [id, device.rows[0]!.id, outcome],
    );
  }
  return id;
}

it('re-derives the status of finished `failed` runs from their devices and keeps every other run as it was', async () => {
  const runs = {
    partial: await run('failed', ['succeeded', 'offline']),
    failed: await run('failed', ['failed', 'timed_out', 'offline']),
    timedOut: await run('failed', ['timed_out', 'offline']),
    unreachable: await run('failed', ['offline', 'offline']),
    succeeded: await run('succeeded', ['succeeded']),
    cancelled: await run('cancelled', ['cancelled', 'succeeded']),
    running: await run('running', []),
  };
  const result = await migrate(url.toString());
  expect(result.applied).toContain(MIGRATION);
  const { rows } = await client.query<{ id: string; status: string }>(`SELECT id, status::text FROM job_runs`);
  const status = Object.fromEntries(rows.map((r) => [r.id, r.status]));
  expect(Object.fromEntries(Object.entries(runs).map(([k, id]) => [k, status[id]]))).toEqual({
    partial: 'partially_succeeded',
    failed: 'failed',
    timedOut: 'timed_out',
    unreachable: 'unreachable',
    succeeded: 'succeeded',
    cancelled: 'cancelled',
    running: 'running',
  });
  // New runs still start queued.
  const id = randomUUID();
  await client.query(`INSERT INTO job_runs (id, workflow_id, command, timeout_seconds, deadline_at) VALUES ($1, $2, 'echo', 30, now())`, [
    id,
    `job-run/${id}`,
  ]);
  expect((await client.query(`SELECT status::text FROM job_runs WHERE id = $1`, [id])).rows[0].status).toBe('queued');
});
