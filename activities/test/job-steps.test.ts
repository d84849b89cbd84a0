/**
 * `runJobOnTargets` (a saved job's batch, ADR 20) against a real PostgreSQL, with a fake agent that claims, starts
 * and reports commands through packages/commands, as the API does for a real agent: conditions, retries,
 * continue-on-error, waits, the concurrency limit, the failure threshold and an attempt nobody picks up.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { claimCommands, recordAgentResult, startCommand, type ClaimedCommand } from '@opsconductor/commands';
import { jobDefinition, type JobDefinitionInput } from '@opsconductor/contracts/jobs';
import { EventHub } from '@opsconductor/db/event-hub';
import { channels, notifyEach } from '@opsconductor/db/notify';
import { recordJobRun } from '@opsconductor/jobs';
import { createTestDatabase, type TestDatabase } from '@opsconductor/test/support/database';
import { createActivities, type JobActivities } from '../src/index.ts';
import { createJobRunFixture } from './support/fixtures.ts';

let testDb: TestDatabase;
let hub: EventHub;
let activities: JobActivities;

beforeAll(async () => {
  testDb = await createTestDatabase();
  hub = new EventHub(testDb.db.pool, testDb.url, { warn: () => {} });
  await hub.start();
  activities = createActivities({ db: testDb.db, events: hub });
});

afterAll(async () => {
  await hub?.stop();
  await testDb?.drop();
});

/** Saves `input` as a new job's version 1. */
async function saveJob(input: JobDefinitionInput) {
  const definition = jobDefinition.parse(input);
  const id = randomUUID();
  await testDb.db.pool.query(`INSERT INTO jobs (id, name, current_version) VALUES ($1, $2, 1)`, [id, definition.name]);
  await testDb.db.pool.query(
    `INSERT INTO job_versions (job_id, version, definition, digest, actor_type) VALUES ($1, 1, $2, 'x', 'system')`,
    [id, JSON.stringify(definition)],
  );
  return { id, version: 1, definition };
}

interface RunOptions {
  values?: Record<string, string>;
  maxConcurrency?: number | null;
  failureThreshold?: { count?: number; percent?: number } | null;
  deadlineSeconds?: number;
}

/** Devices and a recorded run of the job on them (as the API records one). */
async function startRun(job: Awaited<ReturnType<typeof saveJob>>, deviceCount: number, opts: RunOptions = {}) {
  const { deviceIds } = await createJobRunFixture(testDb.db, deviceCount);
  const jobRunId = randomUUID();
  const { rows: hosts } = await testDb.db.pool.query<{ id: string; hostname: string }>(
    'SELECT id, hostname FROM devices WHERE id = ANY($1::uuid[])',
    [deviceIds],
  );
  const byId = new Map(hosts.map((h) => [h.id, h.hostname]));
  await recordJobRun(testDb.db.pool, {
    id: jobRunId,
    job,
    values: new Map(Object.entries(opts.values ?? {})),
    secretNames: [],
    targets: deviceIds.map((id) => ({ id, hostname: byId.get(id)! })),
    deadlineSeconds: opts.deadlineSeconds ?? 600,
    maxConcurrency: opts.maxConcurrency ?? null,
    failureThreshold: opts.failureThreshold ?? null,
    createdById: null,
    targetSelection: { deviceIds },
  });
  return { jobRunId, deviceIds };
}

type Respond = (deviceId: string, command: ClaimedCommand) => { status: 'succeeded' | 'failed'; exitCode: number } | 'ignore';

/** Claims, starts and reports the devices' commands until stopped (what agents and the API do together). */
function fakeAgent(deviceIds: string[], respond: Respond) {
  let stopped = false;
  const seen: { deviceId: string; command: ClaimedCommand; at: number }[] = [];
  const loop = (async () => {
    while (!stopped) {
      for (const deviceId of deviceIds) {
        const claim = await claimCommands(testDb.db.pool, deviceId, { limit: 10, redeliverAfterSeconds: 3600, cancelTtlSeconds: 60 });
        for (const command of claim.commands) {
          seen.push({ deviceId, command, at: Date.now() });
          const answer = respond(deviceId, command);
          if (answer === 'ignore') continue;
          const startedAt = new Date();
          await startCommand(testDb.db.pool, deviceId, command.id, startedAt);
          await recordAgentResult(testDb.db.pool, deviceId, command.id, {
            ...answer,
            startedAt: startedAt.toISOString(),
            finishedAt: new Date().toISOString(),
            durationMs: 3,
          });
          await notifyEach(testDb.db.pool, channels.jobRunEvents, [command.jobRunId!]);
        }
      }
      await new Promise((r) => setTimeout(r, 30));
    }
  })();
  return {
    seen,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

async function runBatch(jobRunId: string, deviceIds: string[], maxConcurrency = 500) {
  const mock = new MockActivityEnvironment();
  return mock.run(activities.runJobOnTargets, { jobRunId, deviceIds, maxConcurrency });
}

async function stepsOf(jobRunId: string, deviceId: string) {
  const { rows } = await testDb.db.pool.query<{
    step_index: number;
    status: string;
    attempts: number;
    exit_code: string | null;
    error_message: string | null;
  }>(
    `SELECT s.step_index, s.status::text, s.attempts, s.exit_code, s.error_message FROM job_run_steps s
       JOIN job_run_devices jrd ON jrd.id = s.job_run_device_id WHERE jrd.job_run_id = $1 AND jrd.device_id = $2 ORDER BY s.step_index`,
    [jobRunId, deviceId],
  );
  return rows;
}

async function deviceOf(jobRunId: string, deviceId: string) {
  const { rows } = await testDb.db.pool.query<{
    status: string;
    error_message: string | null;
    finished_at: Date | null;
    exit_code: string | null;
  }>('SELECT status::text, error_message, finished_at, exit_code FROM job_run_devices WHERE job_run_id = $1 AND device_id = $2', [
    jobRunId,
    deviceId,
  ]);
  return rows[0]!;
}

const commandLine = (c: ClaimedCommand) => (c.payload.kind === 'shell' ? c.payload.command : c.payload.kind);

describe('runJobOnTargets', () => {
  it('runs the steps in order with their conditions, retries, continue-on-error and waits, per device', async () => {
    const job = await saveJob({
      name: `steps-${randomUUID()}`,
      parameters: [
        { name: 'greeting', type: 'string', default: 'hello' },
        { name: 'host', type: 'device', field: 'hostname' },
      ],
      steps: [
        { name: 'prepare', kind: 'shell', command: 'echo {{ greeting }} {{ host }}', retries: { count: 1, backoffSeconds: 1 } },
        { name: 'optional check', kind: 'shell', command: 'check', continueOnError: true },
        { name: 'settle', kind: 'wait', seconds: 1 },
        { name: 'deploy', kind: 'shell', command: 'deploy' },
        { name: 'cleanup', kind: 'shell', command: 'cleanup', condition: 'on_failure' },
        { name: 'report', kind: 'shell', command: 'report', condition: 'always' },
      ],
    });
    const { jobRunId, deviceIds } = await startRun(job, 3, { values: { greeting: "'; rm -rf / $(id)" } });
    const [ok, flaky, broken] = deviceIds as [string, string, string];
    let flakyTries = 0;
    const agent = fakeAgent(deviceIds, (deviceId, c) => {
      const line = commandLine(c);
      if (line === 'check') return { status: 'failed', exitCode: 1 };
      if (deviceId === flaky && line.startsWith('echo') && flakyTries++ === 0) return { status: 'failed', exitCode: 7 };
      if (deviceId === broken && line === 'deploy') return { status: 'failed', exitCode: 3 };
      return { status: 'succeeded', exitCode: 0 };
    });
    const outcome = await runBatch(jobRunId, deviceIds).finally(() => agent.stop());
    expect(outcome).toEqual({ counts: { succeeded: 2, failed: 1 }, total: 3 });

    // Values travel as environment variables; the command line only refers to them.
    const first = agent.seen.find((s) => s.deviceId === ok)!.command.payload;
    expect(first).toMatchObject({
      kind: 'shell',
      shell: 'sh',
      command: 'echo "${OC_PARAM_GREETING}" "${OC_PARAM_HOST}"',
      env: { OC_PARAM_GREETING: "'; rm -rf / $(id)", OC_PARAM_HOST: 'host-0' },
    });
    const statuses = async (d: string) => (await stepsOf(jobRunId, d)).map((s) => [s.step_index, s.status, s.attempts]);
    expect(await statuses(ok)).toEqual([
      [0, 'succeeded', 1],
      [1, 'failed', 1],
      [2, 'succeeded', 1],
      [3, 'succeeded', 1],
      [4, 'skipped', 0],
      [5, 'succeeded', 1],
    ]);
    expect((await statuses(flaky))[0]).toEqual([0, 'succeeded', 2]);
    expect(await statuses(broken)).toEqual([
      [0, 'succeeded', 1],
      [1, 'failed', 1],
      [2, 'succeeded', 1],
      [3, 'failed', 1],
      [4, 'succeeded', 1],
      [5, 'succeeded', 1],
    ]);
    expect(await deviceOf(jobRunId, ok)).toMatchObject({ status: 'succeeded', exit_code: '0' });
    expect(await deviceOf(jobRunId, broken)).toMatchObject({ status: 'failed' });
    // The retry came after its backoff (1 s after the failed attempt).
    const tries = agent.seen.filter((s) => s.deviceId === flaky && commandLine(s.command).startsWith('echo'));
    expect(tries.map((t) => t.command.attempt)).toEqual([1, 2]);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it('keeps at most maxConcurrency devices under way, and stops starting devices at the failure threshold', async () => {
    const job = await saveJob({
      name: `limited-${randomUUID()}`,
      steps: [
        { name: 'one', kind: 'shell', command: 'one' },
        { name: 'two', kind: 'shell', command: 'two' },
      ],
    });
    const { jobRunId, deviceIds } = await startRun(job, 4, { maxConcurrency: 1, failureThreshold: { count: 2 } });
    const failing = new Set(deviceIds.slice(0, 2));
    const agent = fakeAgent(deviceIds, (deviceId, c) =>
      failing.has(deviceId) && commandLine(c) === 'two' ? { status: 'failed', exitCode: 1 } : { status: 'succeeded', exitCode: 0 },
    );
    const outcome = await runBatch(jobRunId, deviceIds, 1).finally(() => agent.stop());
    expect(outcome).toEqual({ counts: { failed: 2, cancelled: 2 }, total: 4 });
    // One device at a time: each device's first command came after the previous device's last.
    const order = [...new Set(agent.seen.map((s) => s.deviceId))];
    expect(order).toEqual(deviceIds.slice(0, 2));
    for (const d of deviceIds.slice(2)) {
      expect(await deviceOf(jobRunId, d)).toMatchObject({
        status: 'cancelled',
        error_message: expect.stringMatching(/failure threshold \(2 failed devices\)/),
      });
      expect(await stepsOf(jobRunId, d)).toEqual([]);
    }
    const run = await testDb.db.pool.query<{ threshold_reached_at: Date | null }>(
      'SELECT threshold_reached_at FROM job_runs WHERE id = $1',
      [jobRunId],
    );
    expect(run.rows[0]!.threshold_reached_at).toBeInstanceOf(Date);
  });

  it('gives up on a step nobody picks up once its pickup window ends: the device is offline', async () => {
    const job = await saveJob({
      name: `unreachable-${randomUUID()}`,
      steps: [{ name: 'one', kind: 'shell', command: 'one', timeoutSeconds: 5 }],
    });
    const { jobRunId, deviceIds } = await startRun(job, 1, { deadlineSeconds: 1 });
    const outcome = await runBatch(jobRunId, deviceIds);
    expect(outcome).toEqual({ counts: { offline: 1 }, total: 1 });
    expect((await stepsOf(jobRunId, deviceIds[0]!))[0]).toMatchObject({ status: 'offline', attempts: 1 });
  });
});

describe('startChainedRun', () => {
  it('does not start an archived job, and says so on the run', async () => {
    const next = await saveJob({ name: `archived-next-${randomUUID()}`, steps: [{ name: 'x', kind: 'shell', command: 'true' }] });
    await testDb.db.pool.query('UPDATE jobs SET archived_at = now() WHERE id = $1', [next.id]);
    const first = await saveJob({
      name: `chained-${randomUUID()}`,
      steps: [{ name: 'x', kind: 'shell', command: 'true' }],
      chains: { onSuccess: next.definition.name },
    });
    const { jobRunId } = await startRun(first, 1);
    await testDb.db.pool.query(`UPDATE job_runs SET status = 'succeeded', finished_at = now() WHERE id = $1`, [jobRunId]);
    const chained = await new MockActivityEnvironment().run(activities.startChainedRun, { jobRunId });
    expect(chained).toEqual({ note: `Chain on success: "${next.definition.name}" is archived and was not started.` });
    expect(await testDb.db.prisma.jobRun.count({ where: { chainedFromId: jobRunId } })).toBe(0);
  });
});
