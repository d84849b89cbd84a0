/**
 * The real worker (createWorker: bundled workflows + database activities) against the shared Temporal dev server and
 * a fresh PostgreSQL database. The test plays the API's part: it completes `dispatchToAgent` by task token.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { recordAgentResult, storePayload } from '@opsconductor/commands';
import { createTestDatabase, type TestDatabase } from '@opsconductor/test/support/database';
import type { JobRunInput } from '@opsconductor/workflows';
import { OpsDeviceIds, OpsJobRunId, deviceIdsForSearch } from '@opsconductor/workflows/search-attributes';
import { createJobRunFixture } from '../../activities/test/support/fixtures.ts';
import { createWorker, ensureSearchAttributes } from '../src/index.ts';

let testDb: TestDatabase;
let nativeConnection: NativeConnection;
let connection: Connection;
let client: Client;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `worker-test-${randomUUID()}`;

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already installed in this process.
  }
  testDb = await createTestDatabase();
  const address = inject('temporalAddress');
  nativeConnection = await NativeConnection.connect({ address });
  connection = await Connection.connect({ address });
  client = new Client({ connection });
  // Idempotent on a namespace that already has them.
  expect(await ensureSearchAttributes(nativeConnection, 'default')).toMatchObject({ added: [] });
  worker = await createWorker({ connection: nativeConnection, db: testDb.db, taskQueue });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await nativeConnection?.close();
  await connection?.close();
  await testDb?.drop();
});

async function startRun(deviceCount: number) {
  const fixture = await createJobRunFixture(testDb.db, deviceCount);
  const input: JobRunInput = {
    jobRunId: fixture.jobRunId,
    deviceIds: fixture.deviceIds,
    command: {
      kind: 'shell',
      payloadSha256: await storePayload(testDb.db.pool, { kind: 'shell', command: 'uptime', shell: 'default', timeoutSeconds: 30 }),
      timeoutSeconds: 30,
    },
    deadlineAt: new Date(Date.now() + 10 * 60_000).toISOString(),
  };
  const handle = await client.workflow.start('jobRun', {
    taskQueue,
    workflowId: `job-run/${fixture.jobRunId}`,
    args: [input],
    typedSearchAttributes: [
      { key: OpsJobRunId, value: fixture.jobRunId },
      { key: OpsDeviceIds, value: deviceIdsForSearch(fixture.deviceIds) },
    ],
  });
  return { ...fixture, handle };
}

interface PendingCommand {
  id: string;
  device_id: string;
  job_run_device_id: string;
}

async function waitForCommands(jobRunId: string, count: number): Promise<PendingCommand[]> {
  const until = Date.now() + 20_000;
  for (;;) {
    const { rows } = await testDb.db.pool.query<PendingCommand>(
      `SELECT c.id, c.device_id, c.job_run_device_id
         FROM agent_commands c JOIN job_run_devices t ON t.id = c.job_run_device_id
        WHERE t.job_run_id = $1 ORDER BY c.created_at`,
      [jobRunId],
    );
    if (rows.length >= count) return rows;
    if (Date.now() > until) throw new Error(`only ${rows.length} of ${count} commands were queued`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('job worker', () => {
  it('runs a job to completion as the agents report: the batch activity sees each result in the database', async () => {
    const run = await startRun(3);
    const commands = await waitForCommands(run.jobRunId, 3);
    for (const [i, command] of commands.entries()) {
      const status = i === 0 ? 'failed' : 'succeeded';
      // What the API does with an agent's result: end the command (its target takes the outcome). Nothing in Temporal.
      await testDb.db.pool.query(`UPDATE agent_commands SET state = 'delivered', delivered_at = now() WHERE id = $1`, [command.id]);
      await recordAgentResult(testDb.db.pool, command.device_id, command.id, {
        status,
        exitCode: i === 0 ? 1 : 0,
        startedAt: new Date().toISOString(),
        finishedAt: new Date().toISOString(),
        durationMs: 3,
      });
    }
    const result = await run.handle.result();
    expect(result).toMatchObject({ status: 'partially_succeeded', total: 3, counts: { succeeded: 2, failed: 1, pending: 0 } });
    const row = await testDb.db.prisma.jobRun.findUniqueOrThrow({ where: { id: run.jobRunId } });
    expect(row.status).toBe('partially_succeeded');
    expect(row.startedAt).toBeInstanceOf(Date);
    expect(row.finishedAt).toBeInstanceOf(Date);
    const description = await run.handle.describe();
    expect(description.typedSearchAttributes.get(OpsJobRunId)).toBe(run.jobRunId);
  });

  it('cancels a running job: devices cancelled, commands ended or flagged, run cancelled, workflow Cancelled', async () => {
    const run = await startRun(2);
    const [delivered, undelivered] = await waitForCommands(run.jobRunId, 2);
    await testDb.db.pool.query(`UPDATE agent_commands SET state = 'delivered', delivered_at = now() WHERE id = $1`, [delivered!.id]);
    await testDb.db.pool.query(`UPDATE agent_commands SET state = 'running', started_at = now() WHERE id = $1`, [delivered!.id]);
    await run.handle.cancel();
    const err = await run.handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((await run.handle.describe()).status.name).toBe('CANCELLED');

    const jobRun = await testDb.db.prisma.jobRun.findUniqueOrThrow({ where: { id: run.jobRunId }, include: { targets: true } });
    expect(jobRun.status).toBe('cancelled');
    expect(jobRun.targets.map((t) => t.status)).toEqual(['cancelled', 'cancelled']);
    const commands = await testDb.db.prisma.agentCommand.findMany({ where: { id: { in: [delivered!.id, undelivered!.id] } } });
    const byId = new Map(commands.map((c) => [c.id, c]));
    expect(byId.get(delivered!.id)).toMatchObject({ state: 'running', cancelRequestedAt: expect.any(Date) });
    expect(byId.get(undelivered!.id)).toMatchObject({ state: 'cancelled', cancelRequestedAt: null });
  });
});
