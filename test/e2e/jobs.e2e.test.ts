/**
 * Runs of saved jobs end to end (issue 7, ADR 20): API, worker, Temporal and real agent processes. A job with
 * parameters (one of them secret, one device-scoped) whose steps fail, continue, clean up and report; a value full of
 * shell metacharacters that runs as data; a secret that appears in no output, API answer, log, database payload or
 * workflow history; the chain started on failure; a reboot step across an agent restart; cancelling one device
 * mid-step; and a re-run of the devices that failed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { readJournal } from '../../agent/src/journal.ts';
import { outputOf, startStack, waitForRun, type AgentHandle, type Stack } from '../support/stack.ts';
import { waitFor } from '../support/tools.ts';

let stack: Stack;
let a: AgentHandle;
let b: AgentHandle;
const agentEnv = (bootId: string) => ({ OPSCONDUCTOR_AGENT_BOOT_ID: bootId, OPSCONDUCTOR_AGENT_REBOOT_COMMAND: 'echo restart requested' });

beforeAll(async () => {
  stack = await startStack();
  [a, b] = await Promise.all([stack.enrollAgent(), stack.enrollAgent()]);
  await Promise.all([a.start(agentEnv('jobs-a-1')), b.start(agentEnv('jobs-b-1'))]);
}, 240_000);
afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await stack?.close();
});

async function createJob(definition: Record<string, unknown>): Promise<{ id: string }> {
  const res = await stack.api('POST', '/api/v1/jobs', definition);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function runJob(jobId: string, body: Record<string, unknown>) {
  const res = await stack.api('POST', `/api/v1/jobs/${jobId}/runs`, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; workflowId: string };
}

async function stepsOf(runId: string, deviceId: string) {
  const res = await stack.api('GET', `/api/v1/job-runs/${runId}/devices/${deviceId}/steps`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.steps as { index: number; status: string; attempts: number; exitCode: number | null }[];
}

async function stepOutput(runId: string, deviceId: string, step: number): Promise<string> {
  const { body } = await stack.api('GET', `/api/v1/job-runs/${runId}/output?deviceId=${deviceId}&step=${step}&limit=5000`);
  return (body.items as { data: string; step: number }[]).map((c) => c.data).join('');
}

async function hostnameOf(deviceId: string): Promise<string> {
  return (await stack.database.db.prisma.device.findUniqueOrThrow({ where: { id: deviceId } })).hostname;
}

const targetOf = (run: any, deviceId: string) => run.targets.find((t: any) => t.deviceId === deviceId);

describe('runs of saved jobs on real agents', () => {
  const SECRET = `s3cr3t-${randomUUID()}`;
  let failedRunId: string;

  it('runs the steps with parameters as data, continue-on-error, a cleanup on failure, a redacted secret, and the chain on failure', async () => {
    const marker = join(a.stateDir, `pwned-${randomUUID()}`);
    const hostileGreeting = `; touch ${marker}; $(touch ${marker}) \`touch ${marker}\` "quoted" 'single'\nsecond line *`;
    const followUp = await createJob({
      name: `follow-up-${randomUUID()}`,
      steps: [{ name: 'notify', kind: 'shell', command: 'echo follow-up ran' }],
    });
    const followUpName = (await stack.api('GET', `/api/v1/jobs/${followUp.id}`)).body.name as string;
    const job = await createJob({
      name: `deploy-${randomUUID()}`,
      parameters: [
        { name: 'greeting', type: 'string', required: true },
        { name: 'token', type: 'secret' },
        { name: 'host', type: 'device', field: 'hostname' },
        { name: 'device', type: 'device', field: 'device_id' },
      ],
      steps: [
        { name: 'greet', kind: 'shell', command: "printf '%s|%s' {{ greeting }} {{ host }}" },
        { name: 'optional check', kind: 'shell', command: 'echo optional fails; exit 4', continueOnError: true },
        { name: 'use the token', kind: 'shell', command: `printf 'token=%s\\n' {{ token }}; test {{ device }} != '${b.deviceId}'` },
        { name: 'cleanup', kind: 'shell', command: 'echo cleaning up', condition: 'on_failure' },
        { name: 'report', kind: 'script', interpreter: 'sh', body: 'echo "report for $OC_PARAM_HOST"', condition: 'always' },
      ],
      chains: { onFailure: followUpName },
    });

    const started = await runJob(job.id, {
      deviceIds: [a.deviceId, b.deviceId],
      parameters: { greeting: hostileGreeting, token: SECRET },
    });
    expect(JSON.stringify(started)).not.toContain(SECRET);
    const done = await waitForRun(stack, started.id, 90_000);
    failedRunId = done.id;
    expect(done, JSON.stringify([done.targets, await stepsOf(done.id, a.deviceId), await stepsOf(done.id, b.deviceId)])).toMatchObject({
      kind: 'job',
      status: 'partially_succeeded',
      job: { id: job.id, version: 1 },
      parameters: { greeting: hostileGreeting },
      secretParameters: ['token'],
    });
    expect(targetOf(done, a.deviceId)).toMatchObject({ status: 'succeeded' });
    expect(targetOf(done, b.deviceId)).toMatchObject({ status: 'failed', exitCode: 0 });

    const statuses = async (deviceId: string) => (await stepsOf(done.id, deviceId)).map((s) => s.status);
    expect(await statuses(a.deviceId)).toEqual(['succeeded', 'failed', 'succeeded', 'skipped', 'succeeded']);
    expect(await statuses(b.deviceId)).toEqual(['succeeded', 'failed', 'failed', 'succeeded', 'succeeded']);
    expect((await stepsOf(done.id, b.deviceId))[1]).toMatchObject({ exitCode: 4, attempts: 1 });

    // The hostile value was printed, never run.
    const aHost = await hostnameOf(a.deviceId);
    expect(await stepOutput(done.id, a.deviceId, 0)).toBe(`${hostileGreeting}|${aHost}`);
    expect(existsSync(marker)).toBe(false);
    expect(await stepOutput(done.id, b.deviceId, 3)).toBe('cleaning up\n');
    expect(await stepOutput(done.id, a.deviceId, 4)).toBe(`report for ${aHost}\n`);

    // The secret reached the command (it printed it) and was redacted before the output left the device.
    expect(await stepOutput(done.id, a.deviceId, 2)).toBe('token=[redacted]\n');
    const everything = [
      JSON.stringify((await stack.api('GET', `/api/v1/job-runs/${done.id}`)).body),
      await outputOf(stack, done.id, a.deviceId),
      await outputOf(stack, done.id, b.deviceId),
      JSON.stringify((await stack.api('GET', '/api/v1/audit-logs?pageSize=100')).body),
      JSON.stringify(await stack.database.db.prisma.commandPayload.findMany()),
      stack.logs.join('\n'),
    ].join('\n');
    expect(everything).toContain('token=[redacted]');
    expect(everything).not.toContain(SECRET);
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const history = await new Client({ connection }).workflow.getHandle(done.workflowId).fetchHistory();
      expect(JSON.stringify(history, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v))).not.toContain(SECRET);
    } finally {
      await connection.close();
    }
    // Kept only while the run could use it.
    expect(await stack.database.db.prisma.secret.count({ where: { ownerType: 'job_run', ownerId: done.id } })).toBe(0);

    // Not every device succeeded: the chain on failure ran the follow-up job on the same devices.
    const chained = await waitFor(
      'the chained run',
      async () => (await stack.database.db.prisma.jobRun.findFirst({ where: { chainedFromId: done.id } })) ?? null,
      30_000,
    );
    const chainedDone = await waitForRun(stack, chained.id, 60_000);
    expect(chainedDone).toMatchObject({ status: 'succeeded', job: { id: followUp.id }, chainedFromId: done.id });
    expect(chainedDone.targets.map((t: any) => t.deviceId).sort()).toEqual([a.deviceId, b.deviceId].sort());
    expect((await stack.api('GET', `/api/v1/job-runs/${done.id}`)).body.chainNote).toMatch(/Chain on failure: started run/);
  });

  it('re-runs only the devices that failed, with the secret given again', async () => {
    const withoutSecret = await stack.api('POST', `/api/v1/job-runs/${failedRunId}/rerun`, {});
    expect(withoutSecret).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    const res = await stack.api('POST', `/api/v1/job-runs/${failedRunId}/rerun`, { secrets: { token: SECRET } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ rerunOfId: failedRunId });
    expect(res.body.targets.map((t: any) => t.deviceId)).toEqual([b.deviceId]);
    const done = await waitForRun(stack, res.body.id, 60_000);
    expect(targetOf(done, b.deviceId)).toMatchObject({ status: 'failed' });
    expect(await stepOutput(done.id, b.deviceId, 2)).toBe('token=[redacted]\n');
  });

  it('cancels one device mid-step: its process is stopped and its later steps never run, the other device finishes', async () => {
    const job = await createJob({
      name: `slow-${randomUUID()}`,
      parameters: [{ name: 'device', type: 'device', field: 'device_id' }],
      steps: [
        { name: 'slow on a', kind: 'shell', command: `if [ {{ device }} = '${a.deviceId}' ]; then sleep 60; fi; echo first` },
        { name: 'second', kind: 'shell', command: 'echo second' },
      ],
    });
    const started = await runJob(job.id, { deviceIds: [a.deviceId, b.deviceId] });
    await waitFor(
      'the slow step to run on a',
      async () =>
        (await stepsOf(started.id, a.deviceId))[0]!.status === 'running' &&
        targetOf((await stack.api('GET', `/api/v1/job-runs/${started.id}`)).body, a.deviceId).status === 'running',
      30_000,
    );
    const cancelled = await stack.api('POST', `/api/v1/job-runs/${started.id}/devices/${a.deviceId}/cancel`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    const done = await waitForRun(stack, started.id, 60_000);
    expect(targetOf(done, a.deviceId)).toMatchObject({ status: 'cancelled' });
    expect(targetOf(done, b.deviceId), JSON.stringify([done.targets, await stepsOf(done.id, b.deviceId)])).toMatchObject({
      status: 'succeeded',
    });
    expect((await stepsOf(done.id, a.deviceId)).map((s) => s.status)).toEqual(['cancelled', 'not_reached']);
    // The agent stopped the process: its command ended cancelled, not after the 60 s sleep.
    const commands = await stack.database.db.prisma.agentCommand.findMany({
      where: { jobRunDevice: { jobRunId: done.id, deviceId: a.deviceId } },
    });
    await waitFor(
      'the agent to confirm the cancellation',
      async () => {
        const states = await stack.database.db.prisma.agentCommand.findMany({ where: { id: { in: commands.map((c) => c.id) } } });
        return states.every((c) => c.state === 'cancelled') || null;
      },
      20_000,
    );
    expect(await stepOutput(done.id, a.deviceId, 0)).not.toContain('first');
    expect((await stack.api('POST', `/api/v1/job-runs/${done.id}/devices/${a.deviceId}/cancel`)).body.code).toBe('device_run_finished');
  });

  it('reboots in a step and goes on once the agent runs under a new boot ID', async () => {
    const job = await createJob({
      name: `reboot-${randomUUID()}`,
      steps: [
        { name: 'reboot', kind: 'reboot', timeoutSeconds: 300 },
        { name: 'after', kind: 'shell', command: 'echo back after the reboot' },
      ],
    });
    const started = await runJob(job.id, { deviceIds: [a.deviceId] });
    await waitFor(
      'the restart to be requested',
      async () => {
        const commands = await stack.database.db.prisma.agentCommand.findMany({ where: { jobRunDevice: { jobRunId: started.id } } });
        return commands.some((c) => readJournal(a.stateDir).entries.get(c.id)?.awaitingReboot) || null;
      },
      30_000,
    );
    await a.stop('SIGTERM');
    expect((await stepsOf(started.id, a.deviceId)).map((s) => s.status)).toEqual(['running', 'not_reached']);
    await a.start(agentEnv('jobs-a-2'));
    const done = await waitForRun(stack, started.id, 60_000);
    expect(done.status).toBe('succeeded');
    expect((await stepsOf(done.id, a.deviceId)).map((s) => s.status)).toEqual(['succeeded', 'succeeded']);
    expect(await stepOutput(done.id, a.deviceId, 1)).toBe('back after the reboot\n');
  });

  it('waits for a second operator to approve (four-eyes): its creator cannot, a rejection ends it', async () => {
    const email = `approver-${randomUUID()}@example.com`;
    const password = 'Kp4-Wz8r-Ty2m-Vb6q';
    expect((await stack.api('POST', '/api/v1/users', { email, name: 'Approver', password, role: 'operator' })).status).toBe(201);
    const login = await fetch(`${stack.apiUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    const { token } = (await login.json()) as { token: string };
    const asApprover = async (path: string, body: unknown) => {
      const res = await fetch(`${stack.apiUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const job = await createJob({
      name: `guarded-${randomUUID()}`,
      approval: { expiresAfterSeconds: 3600 },
      steps: [{ name: 'one', kind: 'shell', command: 'echo approved and ran' }],
    });
    const started = await runJob(job.id, { deviceIds: [a.deviceId] });
    const waiting = (await stack.api('GET', `/api/v1/job-runs/${started.id}`)).body;
    expect(waiting).toMatchObject({ status: 'awaiting_approval', approval: { decision: null } });
    expect((await stack.api('GET', '/api/v1/job-runs?status=awaiting_approval')).body.items.map((r: any) => r.id)).toContain(started.id);
    // Nothing runs while it waits, and its creator (the admin here) cannot approve it.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await stack.database.db.prisma.agentCommand.count({ where: { jobRunDevice: { jobRunId: started.id } } })).toBe(0);
    expect(await stack.api('POST', `/api/v1/job-runs/${started.id}/approve`, {})).toMatchObject({
      status: 403,
      body: { code: 'own_run_approval' },
    });

    const approved = await asApprover(`/api/v1/job-runs/${started.id}/approve`, { comment: 'change ticket 42' });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const done = await waitForRun(stack, started.id, 60_000);
    expect(done).toMatchObject({ status: 'succeeded', approval: { decision: 'approved', decidedBy: email, comment: 'change ticket 42' } });
    expect(await stepOutput(done.id, a.deviceId, 0)).toBe('approved and ran\n');
    expect((await asApprover(`/api/v1/job-runs/${started.id}/reject`, {})).body.code).toBe('approval_decided');

    const second = await runJob(job.id, { deviceIds: [a.deviceId] });
    expect((await asApprover(`/api/v1/job-runs/${second.id}/reject`, { comment: 'not now' })).status).toBe(200);
    const rejected = await waitForRun(stack, second.id, 30_000);
    expect(rejected).toMatchObject({ status: 'rejected', approval: { decision: 'rejected', decidedBy: email } });
    expect(targetOf(rejected, a.deviceId)).toMatchObject({ status: 'cancelled', errorMessage: `Not run: ${email} rejected the run.` });
    expect(await stack.database.db.prisma.agentCommand.count({ where: { jobRunDevice: { jobRunId: second.id } } })).toBe(0);
  });

  it('schedules runs as Temporal Schedules: cron in a time zone, next times, trigger now, pause, intervals, delete', async () => {
    const job = await createJob({
      name: `nightly-${randomUUID()}`,
      parameters: [
        { name: 'label', type: 'string', required: true },
        { name: 'token', type: 'secret' },
      ],
      steps: [{ name: 'report', kind: 'shell', command: "printf '%s %s\\n' {{ label }} {{ token }}" }],
    });
    const created = await stack.api('POST', `/api/v1/jobs/${job.id}/schedules`, {
      name: `nightly-${randomUUID()}`,
      deviceIds: [a.deviceId],
      spec: { cron: ['0 3 * * *'], timeZone: 'Europe/Berlin', jitterSeconds: 60 },
      overlap: 'buffer_one',
      parameters: { label: 'scheduled', token: SECRET },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const schedule = created.body;
    expect(JSON.stringify(schedule)).not.toContain(SECRET);
    expect(schedule).toMatchObject({ scheduleId: `job-schedule/${schedule.id}`, secretParameters: ['token'], paused: false });
    // The next times are 03:00 in Berlin, whatever the offset that day.
    expect(schedule.temporal.upcoming.length).toBeGreaterThan(0);
    for (const at of schedule.temporal.upcoming) {
      expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }).format(new Date(at))).toBe(
        '03:00',
      );
    }
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const described = await new Client({ connection }).schedule.getHandle(schedule.scheduleId).describe();
      expect(described.spec.timezone).toBe('Europe/Berlin');
      expect(described.policies.overlap).toBe('BUFFER_ONE');
      expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'scheduledJobRun' });

      // Trigger now: a run with the schedule's settings, its secret from the schedule, redacted.
      expect((await stack.api('POST', `/api/v1/job-schedules/${schedule.id}/trigger`)).status).toBe(200);
      const fired = await waitFor(
        'the triggered run',
        async () => (await stack.database.db.prisma.jobRun.findFirst({ where: { scheduleId: schedule.id } })) ?? null,
        30_000,
      );
      const done = await waitForRun(stack, fired.id, 60_000);
      expect(done).toMatchObject({ status: 'succeeded', job: { id: job.id }, parameters: { label: 'scheduled' }, scheduleId: schedule.id });
      expect(await stepOutput(done.id, a.deviceId, 0)).toBe('scheduled [redacted]\n');
      const child = await new Client({ connection }).workflow.getHandle(done.workflowId).describe();
      expect(child.parentExecution?.workflowId).toMatch(new RegExp(`^job-schedule/${schedule.id}`));
      const detail = (await stack.api('GET', `/api/v1/job-schedules/${schedule.id}`)).body;
      expect(detail.recentRuns.map((r: any) => r.id)).toContain(done.id);
      expect(detail.temporal.recentActions.length).toBe(1);

      const paused = await stack.api('POST', `/api/v1/job-schedules/${schedule.id}/pause`, { note: 'change freeze' });
      expect(paused.body).toMatchObject({ paused: true, temporal: { paused: true, note: 'change freeze' } });
      expect((await stack.api('POST', `/api/v1/job-schedules/${schedule.id}/unpause`, {})).body.temporal.paused).toBe(false);

      // A cron expression Temporal cannot read is refused, and nothing is left behind.
      const bad = await stack.api('POST', `/api/v1/jobs/${job.id}/schedules`, {
        name: `bad-${randomUUID()}`,
        deviceIds: [a.deviceId],
        spec: { cron: ['61 25 * * *'] },
        parameters: { label: 'x', token: 'y' },
      });
      expect(bad.status, JSON.stringify(bad.body)).toBe(400);

      // An interval schedule fires on its own; deleting it removes the Temporal Schedule.
      const every = await stack.api('POST', `/api/v1/jobs/${job.id}/schedules`, {
        name: `every-${randomUUID()}`,
        deviceIds: [a.deviceId],
        spec: { intervals: [{ everySeconds: 2 }] },
        parameters: { label: 'interval', token: SECRET },
      });
      expect(every.status, JSON.stringify(every.body)).toBe(201);
      const auto = await waitFor(
        'a run of the interval schedule',
        async () => (await stack.database.db.prisma.jobRun.findFirst({ where: { scheduleId: every.body.id } })) ?? null,
        30_000,
      );
      expect(auto.createdById).not.toBeNull();
      expect((await stack.api('DELETE', `/api/v1/job-schedules/${every.body.id}`)).status).toBe(204);
      await expect(new Client({ connection }).schedule.getHandle(every.body.scheduleId).describe()).rejects.toThrow();
      expect(await stack.database.db.prisma.secret.count({ where: { ownerType: 'job_schedule', ownerId: every.body.id } })).toBe(0);
      expect((await stack.api('GET', `/api/v1/job-schedules/${every.body.id}`)).status).toBe(404);
    } finally {
      await connection.close();
    }
  });

  it('refuses values that do not fit the job, naming each problem', async () => {
    const job = await createJob({
      name: `checked-${randomUUID()}`,
      parameters: [
        { name: 'count', type: 'number', integer: true, min: 1, max: 5 },
        { name: 'mode', type: 'enum', values: ['fast', 'safe'], required: true },
      ],
      steps: [{ name: 'one', kind: 'shell', command: 'echo {{ mode }} {{ count }}' }],
    });
    const res = await stack.api('POST', `/api/v1/jobs/${job.id}/runs`, { deviceIds: [a.deviceId], parameters: { count: 9, other: 'x' } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: any) => e.path).sort()).toEqual(['parameters.count', 'parameters.mode', 'parameters.other']);
  });
});
