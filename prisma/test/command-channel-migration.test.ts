/**
 * 20261202010000_command_channel on a database holding commands and output of the model before it: every
 * command gets the state its status and result mean, its payload is stored once by content, runs name
 * theirs, output moves to its command (output of a deleted device's command keeps a stand-in command), and
 * from then on the state machine is guarded.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it, inject } from 'vitest';
import { listMigrations, migrate, migrationsDir } from '../src/migrate.ts';
import type {} from '../../test/support/database.ts'; // the ProvidedContext typing

const MIGRATION = '20261202010000_command_channel';
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

it('gives every command its state and a stored payload, and keeps all output readable', async () => {
  const device = randomUUID();
  await client.query(
    `INSERT INTO devices (id, hostname, os_family, os_name, os_version, architecture, ip_addresses, agent_version, secret_hash, updated_at)
     VALUES ($1, 'old', 'linux', 'Debian', '12', 'x64', '{}', '1.0.0', $2, now())`,
    [device, randomBytes(32).toString('hex')],
  );
  const run = randomUUID();
  await client.query(
    `INSERT INTO job_runs (id, workflow_id, command, shell, timeout_seconds, deadline_at) VALUES ($1, $2, 'uptime', 'sh', 30, now() + interval '1 hour')`,
    [run, `job-run/${run}`],
  );
  const payload = { kind: 'shell', command: 'uptime', shell: 'sh', timeoutSeconds: 30 };
  const cases: Record<string, { status: string; cancel?: boolean; delivered?: boolean; result?: object }> = {
    pending: { status: 'pending' },
    delivered: { status: 'delivered', delivered: true },
    runningCancelled: { status: 'running', delivered: true, cancel: true },
    succeeded: { status: 'completed', delivered: true, result: { status: 'succeeded', exitCode: 0 } },
    timedOut: { status: 'completed', delivered: true, result: { status: 'timed_out', exitCode: null, error: 'timed out after 30 s' } },
    cancelledBeforeDelivery: { status: 'expired', cancel: true },
    neverPickedUp: { status: 'expired' },
    retiredWhileRunning: { status: 'expired', delivered: true },
  };
  const ids: Record<string, { command: string; target: string }> = {};
  for (const [key, c] of Object.entries(cases)) {
    const target = randomUUID();
    const command = randomUUID();
    await client.query(
      `INSERT INTO job_run_devices (id, job_run_id, device_id, updated_at, stdout_bytes, stdout_truncated) VALUES ($1, $2, $3, now(), $4, $5)`,
      [target, run, randomUUID(), key === 'succeeded' ? 3 : 0, key === 'succeeded'],
    );
    await client.query(
      `INSERT INTO agent_commands (id, device_id, job_run_device_id, attempt, kind, payload, task_token, status, cancel_requested, expires_at, delivered_at, completed_at, result, result_count)
       VALUES ($1, $2, $3, 1, 'shell', $4, 'token', $5, $6, now() + interval '1 hour', $7, $8, $9, $10)`,
      [
        command,
        device,
        target,
        JSON.stringify(payload),
        c.status,
        c.cancel ?? false,
        c.delivered ? new Date() : null,
        c.result ? new Date() : null,
        c.result ? JSON.stringify(c.result) : null,
        c.result ? 1 : 0,
      ],
    );
    ids[key] = { command, target };
  }
  const chunk = (target: string, command: string, data: string) =>
    client.query(
      `INSERT INTO output_chunks (job_run_device_id, command_id, stream, seq, data, bytes) VALUES ($1, $2, 'stdout', 0, $3, $4)`,
      [target, command, Buffer.from(data), data.length],
    );
  await chunk(ids.succeeded!.target, ids.succeeded!.command, 'up\n');
  // The output of a command whose device was deleted (commands went with devices then).
  const orphanTarget = randomUUID();
  const orphanCommand = randomUUID();
  await client.query(
    `INSERT INTO job_run_devices (id, job_run_id, device_id, status, finished_at, updated_at) VALUES ($1, $2, $3, 'failed', now(), now())`,
    [orphanTarget, run, randomUUID()],
  );
  await chunk(orphanTarget, orphanCommand, 'before the device went\n');

  expect((await migrate(url.toString())).applied).toContain(MIGRATION);

  const { rows } = await client.query<{
    id: string;
    state: string;
    cancel_requested_at: Date | null;
    finished_at: Date | null;
    error_message: string | null;
    payload_sha256: string;
    stdout_bytes: string;
    stdout_truncated: boolean;
  }>(
    'SELECT id, state::text, cancel_requested_at, finished_at, error_message, payload_sha256, stdout_bytes::text, stdout_truncated FROM agent_commands',
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const stateOf = (key: string) => byId.get(ids[key]!.command)!.state;
  expect(Object.fromEntries(Object.keys(cases).map((key) => [key, stateOf(key)]))).toEqual({
    pending: 'queued',
    delivered: 'delivered',
    runningCancelled: 'running',
    succeeded: 'succeeded',
    timedOut: 'timed_out',
    cancelledBeforeDelivery: 'cancelled',
    neverPickedUp: 'offline',
    retiredWhileRunning: 'failed',
  });
  expect(byId.get(ids.runningCancelled!.command)!.cancel_requested_at).toBeInstanceOf(Date);
  expect(byId.get(ids.timedOut!.command)!.error_message).toBe('timed out after 30 s');
  expect(byId.get(ids.neverPickedUp!.command)!.finished_at).toBeInstanceOf(Date);
  expect(byId.get(ids.pending!.command)!.finished_at).toBeNull();
  expect(byId.get(ids.succeeded!.command)).toMatchObject({ stdout_bytes: '3', stdout_truncated: true });

  // One payload for all of them, the run's own the same, named by its content.
  const shas = new Set(rows.filter((r) => r.id !== orphanCommand).map((r) => r.payload_sha256));
  expect(shas.size).toBe(1);
  const stored = await client.query<{ payload: object; ok: boolean }>(
    'SELECT payload, sha256 = command_payload_sha256(payload) AS ok FROM command_payloads WHERE sha256 = $1',
    [[...shas][0]],
  );
  expect(stored.rows).toEqual([{ payload, ok: true }]);
  expect((await client.query('SELECT kind, payload_sha256 FROM job_runs WHERE id = $1', [run])).rows[0]).toEqual({
    kind: 'shell',
    payload_sha256: [...shas][0],
  });

  // Output through its command, the deleted device's included.
  expect(byId.get(orphanCommand)).toMatchObject({ state: 'failed', error_message: 'Kept for its output: the device was deleted.' });
  const output = await client.query<{ data: Buffer }>(
    `SELECT oc.data FROM output_chunks oc JOIN agent_commands ac ON ac.id = oc.command_id JOIN job_run_devices jrd ON jrd.id = ac.job_run_device_id
      WHERE jrd.job_run_id = $1 ORDER BY oc.id`,
    [run],
  );
  expect(output.rows.map((r) => r.data.toString())).toEqual(['up\n', 'before the device went\n']);

  // From now on the database guards the state machine.
  await expect(client.query(`UPDATE agent_commands SET state = 'failed' WHERE id = $1`, [ids.succeeded!.command])).rejects.toThrow(
    /can no longer change/,
  );
  await expect(client.query(`UPDATE agent_commands SET state = 'running' WHERE id = $1`, [ids.pending!.command])).rejects.toThrow(
    /not a transition/,
  );
});
