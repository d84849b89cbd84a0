/**
 * `deploymentRollout` against the time-skipping test server, with an in-memory deployment
 * (test/support/stub-deployment-activities.ts) whose waves run as real child `jobRun` workflows: the tallies the
 * rollout decides on come from those runs' device outcomes. Time is the server's (`env.currentTimeMs()`): soaks,
 * start times, windows and deadlines are skipped, and the assertions check when things happened in that time.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import type { MaintenanceWindowSpec } from '@opsconductor/contracts/maintenance-windows';
import {
  abortUpdate,
  deploymentApprovalSignal,
  deploymentRollout,
  pauseUpdate,
  resumeUpdate,
  rollbackUpdate,
  rolloutStatusQuery,
  type DeploymentRolloutInput,
} from '../src/index.ts';
import { healthPollMs } from '../src/deployment-rollout.ts';
import { OpsDeploymentId } from '../src/search-attributes.ts';
import { deviceIdList } from './support/stub-activities.ts';
import {
  createStubDeployment,
  PAYLOADS,
  type RecordedEvent,
  type StubDeployment,
  type StubRolloutOptions,
} from './support/stub-deployment-activities.ts';
import { createTimeSkippingEnv, workflowBundle } from './support/temporal.ts';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  await Promise.all([workflowBundle(), workflowBundle({ earlyContinueAsNew: true })]);
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

const HOUR = 3600_000;
const MINUTE = 60_000;
const BY = { by: 'alice@example.com' };
/** The soak of the tests with several waves (its polls cost real time: kept short). */
const SOAK_SECONDS = 900;

type Options = Omit<Partial<StubRolloutOptions>, 'deploymentId'> & { deviceIds: string[] };

interface Rollout {
  handle: WorkflowHandle<typeof deploymentRollout>;
  stub: StubDeployment;
  /** Server time when the workflow was started. */
  t0: number;
}

/**
 * Runs a rollout of a stub deployment on its own task queue and worker: `drive` acts as the operator and asserts.
 * Whatever is still running afterwards (the rollout, its child runs) is terminated, so nothing keeps the test
 * server's clock locked for the next test. `startsIn` sets the start time relative to the server's clock.
 */
async function withRollout(
  options: Options & { startsIn?: number; deadlineIn?: number },
  drive: (r: Rollout) => Promise<void>,
  opts: { earlyContinueAsNew?: boolean; ownServer?: boolean } = {},
): Promise<void> {
  if (opts.ownServer) {
    // A test that cancels a run gets a test server of its own: the time-skipping server keeps its clock locked
    // after a batch activity waiting for its next attempt was cancelled, and later tests could not skip time.
    const shared = env;
    env = await createTimeSkippingEnv();
    try {
      return await withRollout(options, drive, { ...opts, ownServer: false });
    } finally {
      await env.teardown();
      env = shared;
    }
  }
  const deploymentId = randomUUID();
  const t0 = await env.currentTimeMs();
  const { startsIn = 0, deadlineIn, ...rest } = options;
  const stub = createStubDeployment(
    { status: 'scheduled', startsAt: t0 + startsIn, deadlineAt: deadlineIn === undefined ? null : t0 + deadlineIn, ...rest, deploymentId },
    () => env.currentTimeMs(),
  );
  const taskQueue = `rollout-${deploymentId}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(opts),
    activities: stub.activities,
  });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start(deploymentRollout, {
      taskQueue,
      workflowId: `deployment/${deploymentId}`,
      args: [{ deploymentId }],
      typedSearchAttributes: [{ key: OpsDeploymentId, value: deploymentId }],
    });
    try {
      await drive({ handle, stub, t0 });
    } finally {
      const open = [handle.workflowId, ...[...stub.state.runs.keys()].map((id) => `job-run/${id}`)];
      await Promise.all(
        open.map((id) =>
          env.client.workflow
            .getHandle(id)
            .terminate('test over')
            .catch(() => undefined),
        ),
      );
    }
  });
}

/**
 * Lets server time pass in steps until `predicate` holds (the server skips time only while a client waits). A step
 * runs in real time while an activity is open, so the predicate is also checked while a step is under way.
 */
async function advanceUntil(what: string, predicate: () => boolean | Promise<boolean>, stepMs = 5_000, realTimeoutMs = 30_000) {
  const until = Date.now() + realTimeoutMs;
  while (!(await predicate())) {
    let stepped = false;
    const step = env.sleep(stepMs).then(() => (stepped = true));
    while (!stepped) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await Promise.race([step, new Promise((r) => setTimeout(r, 50))]);
      if (!stepped && (await predicate())) return;
    }
  }
}

/** The rollout's status query (its handler is set once the plan has loaded: until then, asked again). */
async function rolloutStatus(handle: WorkflowHandle<typeof deploymentRollout>) {
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      return await handle.query(rolloutStatusQuery);
    } catch (err) {
      if (Date.now() > until || !String((err as Error).cause ?? err).includes('did not register a handler')) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const types = (events: RecordedEvent[]) => events.map((e) => e.type);
const eventsOf = (stub: StubDeployment, type: RecordedEvent['type']) => stub.state.events.filter((e) => e.type === type);
const installs = (stub: StubDeployment, deviceId?: string) =>
  stub.state.commands.filter((c) => c.purpose === 'install' && (deviceId === undefined || c.deviceId === deviceId));

/** Every device ran the install exactly once, to its end, and its job run has exactly one outcome for it. */
function expectInstalledOnce(stub: StubDeployment, deviceIds: string[]) {
  const notOnce = deviceIds.filter((id) => installs(stub, id).length !== 1 || installs(stub, id)[0]!.doneAt === null);
  expect(notOnce).toEqual([]);
  for (const run of stub.state.runs.values()) {
    if (run.purpose !== 'install') continue;
    expect([...run.jobs.state.writes.values()].every((n) => n === 1)).toBe(true);
    expect(run.jobs.state.writes.size).toBe(run.deviceIds.length);
  }
}

describe('deploymentRollout', () => {
  it('runs 3 waves (5% / 25% / 100% of 40 devices) with a soak between them; the last wave has none', async () => {
    const deviceIds = deviceIdList(40);
    await withRollout(
      {
        deviceIds,
        waves: [{ percent: 5 }, { percent: 25 }, { percent: 100 }],
        soakSeconds: SOAK_SECONDS,
        maxConcurrency: 10,
        successPercent: 90,
      },
      async ({ handle, stub, t0 }) => {
        expect(await handle.result()).toEqual({ status: 'completed' });
        const { state } = stub;
        expect(stub.waves.map((w) => w.length)).toEqual([2, 8, 30]);
        expect(types(state.events)).toEqual([
          'started',
          'wave_started',
          'soak_started',
          'wave_completed',
          'wave_started',
          'soak_started',
          'wave_completed',
          'wave_started',
          'wave_completed',
          'completed',
        ]);
        expect(state.events.map((e) => e.status)).toEqual([
          'running',
          'running',
          'running',
          'running',
          'running',
          'running',
          'running',
          'running',
          'running',
          'completed',
        ]);
        expect(eventsOf(stub, 'wave_started').map((e) => e.message)).toEqual([
          'Wave 1 started: 2 devices',
          'Wave 2 started: 8 devices',
          'Wave 3 started: 30 devices',
        ]);
        // One install run per wave, on exactly that wave's devices.
        const runs = [...state.runs.values()];
        expect(runs.map((r) => [r.purpose, r.wave, r.attempt])).toEqual([
          ['install', 0, 1],
          ['install', 1, 1],
          ['install', 2, 1],
        ]);
        for (const [i, run] of runs.entries()) expect(new Set(run.deviceIds)).toEqual(new Set(stub.waves[i]));

        // Wave N+1 starts when wave N's soak (an hour after its installs finished) is over, not before.
        const soaks = eventsOf(stub, 'soak_started');
        const started = eventsOf(stub, 'wave_started');
        const completedWaves = eventsOf(stub, 'wave_completed');
        for (const i of [0, 1]) {
          const soakUntil = state.waves[i]!.soakUntil!;
          expect(soakUntil - soaks[i]!.at).toBeGreaterThanOrEqual(SOAK_SECONDS * 1000 - 5_000);
          expect(soakUntil - soaks[i]!.at).toBeLessThanOrEqual(SOAK_SECONDS * 1000);
          // Its installs all finished before the soak began.
          const lastDone = Math.max(
            ...installs(stub)
              .filter((c) => stub.waves[i]!.includes(c.deviceId))
              .map((c) => c.doneAt!),
          );
          expect(soaks[i]!.at).toBeGreaterThanOrEqual(lastDone);
          expect(completedWaves[i]!.at).toBeGreaterThanOrEqual(soakUntil);
          expect(started[i + 1]!.at).toBeGreaterThanOrEqual(soakUntil);
          expect(started[i + 1]!.at - soakUntil).toBeLessThan(MINUTE);
          const firstNext = Math.min(
            ...installs(stub)
              .filter((c) => stub.waves[i + 1]!.includes(c.deviceId))
              .map((c) => c.startedAt),
          );
          expect(firstNext).toBeGreaterThanOrEqual(soakUntil);
        }
        expect(state.waves.map((w) => w.state)).toEqual(['completed', 'completed', 'completed']);
        expect(state.waves[2]!.soakUntil).toBeNull();
        expect(state.status).toBe('completed');
        expect(state.finishedAt! - t0).toBeGreaterThan(2 * SOAK_SECONDS * 1000);
        expectInstalledOnce(stub, deviceIds);
        expect(deviceIds.every((id) => state.devices.get(id)!.installed === PAYLOADS.install)).toBe(true);
        // The concurrency cap holds: at no instant more than 10 installs of wave 3 ran at once.
        const wave3 = installs(stub).filter((c) => stub.waves[2]!.includes(c.deviceId));
        for (const c of wave3)
          expect(wave3.filter((o) => o.startedAt <= c.startedAt && o.doneAt! > c.startedAt).length).toBeLessThanOrEqual(10);
        expect((await rolloutStatus(handle)).stage).toBe('done');
      },
    );
  }, 60_000);

  it('starts nothing before its start time: scheduled, then running at the start time', async () => {
    const deviceIds = deviceIdList(4);
    await withRollout({ deviceIds, startsIn: 30 * MINUTE }, async ({ handle, stub, t0 }) => {
      const startsAt = t0 + 30 * MINUTE;
      expect(await rolloutStatus(handle)).toMatchObject({ status: 'scheduled', stage: 'scheduled', wave: 0 });
      await env.sleep(28 * MINUTE);
      expect(await env.currentTimeMs()).toBeLessThan(startsAt);
      expect(await rolloutStatus(handle)).toMatchObject({ status: 'scheduled', stage: 'scheduled' });
      expect(stub.state.events).toEqual([]);
      expect(stub.state.runs.size).toBe(0);

      expect(await handle.result()).toEqual({ status: 'completed' });
      const [started] = stub.state.events;
      expect(started).toMatchObject({ type: 'started', status: 'running', message: 'Started: 1 waves' });
      expect(started!.at).toBeGreaterThanOrEqual(startsAt);
      expect(started!.at - startsAt).toBeLessThan(MINUTE);
      expect(Math.min(...installs(stub).map((c) => c.startedAt))).toBeGreaterThanOrEqual(startsAt);
      expect(stub.state.startedAt).toBeGreaterThanOrEqual(startsAt);
      expectInstalledOnce(stub, deviceIds);
    });
  }, 60_000);

  describe('maintenance windows across a daylight saving change', () => {
    // Each case: the window's start time on the night the clocks change, and the UTC instant it opens at
    // (JS Temporal's 'compatible' rule: a start in the gap opens as far after it; a repeated one at its first time).
    const DAY = 24 * HOUR;
    /** The n-th Sunday of a month (n = -1: the last), 00:00 UTC. */
    const sunday = (year: number, month: number, n: number) => {
      if (n > 0) {
        const first = Date.UTC(year, month - 1, 1);
        return first + (((7 - new Date(first).getUTCDay()) % 7) + (n - 1) * 7) * DAY;
      }
      const last = Date.UTC(year, month, 0);
      return last - new Date(last).getUTCDay() * DAY;
    };
    const cases = [
      {
        name: 'Europe/Berlin, spring forward: 02:30 does not exist that night and opens at 03:30 CEST (01:30 UTC)',
        zone: 'Europe/Berlin',
        day: (y: number) => sunday(y, 3, -1),
        startTime: '02:30',
        opens: 1.5 * HOUR,
        local: { time: '03:30', offset: 'GMT+2' },
        start: 1.5 * HOUR - 2 * MINUTE, // 03:28 CEST
      },
      {
        name: 'Europe/Berlin, fall back: 02:30 happens twice and opens at the first, 02:30 CEST (00:30 UTC)',
        zone: 'Europe/Berlin',
        day: (y: number) => sunday(y, 10, -1),
        startTime: '02:30',
        opens: 0.5 * HOUR,
        local: { time: '02:30', offset: 'GMT+2' },
        start: 0.5 * HOUR - 2 * MINUTE, // 02:28 CEST
      },
      {
        name: 'America/New_York, spring forward: 02:30 does not exist that night and opens at 03:30 EDT (07:30 UTC)',
        zone: 'America/New_York',
        day: (y: number) => sunday(y, 3, 2),
        startTime: '02:30',
        opens: 7.5 * HOUR,
        local: { time: '03:30', offset: 'GMT-4' },
        start: 7.5 * HOUR - 2 * MINUTE, // 03:28 EDT
      },
      {
        name: 'America/New_York, fall back: 01:30 happens twice and opens at the first, 01:30 EDT (05:30 UTC)',
        zone: 'America/New_York',
        day: (y: number) => sunday(y, 11, 1),
        startTime: '01:30',
        opens: 5.5 * HOUR,
        local: { time: '01:30', offset: 'GMT-4' },
        start: 5.5 * HOUR - 2 * MINUTE, // 01:28 EDT (the first time)
      },
    ];

    it.each(cases)(
      '$name',
      async ({ zone, day, startTime, opens, local, start }) => {
        // The next such night ahead of the server's clock; skip to shortly before its window opens.
        const now = await env.currentTimeMs();
        let year = new Date(now).getUTCFullYear();
        if (day(year) + start < now + MINUTE) year++;
        const startAt = day(year) + start;
        const opensAt = day(year) + opens;
        await env.sleep(startAt - now);

        const [always, insideNow, waits] = deviceIdList(3, 'w');
        const windows: Record<string, MaintenanceWindowSpec[]> = {
          [insideNow!]: [{ name: 'all day', timeZone: zone, recurrence: 'daily', startTime: '00:00', durationMinutes: 1440 }],
          [waits!]: [{ name: 'night', timeZone: zone, recurrence: 'daily', startTime, durationMinutes: 60 }],
        };
        await withRollout(
          { deviceIds: [always!, insideNow!, waits!], respectMaintenanceWindows: true, windows: (id) => windows[id] ?? [] },
          async ({ handle, stub, t0 }) => {
            expect(t0).toBeGreaterThanOrEqual(startAt);
            await advanceUntil('the run to hold back the device outside its window', () => installs(stub).length === 2, 1_000);
            const statuses = await stub.deviceStatuses();
            expect(statuses.get(waits!)).toBe('waiting_for_window');
            const [run] = stub.state.runs.values();
            expect(run!.targets.get(waits!)!.notBefore).toBe(opensAt);

            expect(await handle.result()).toEqual({ status: 'completed' });
            // Devices without windows, or inside one, installed at once; the other at its window's opening.
            for (const id of [always!, insideNow!]) expect(installs(stub, id)[0]!.startedAt - startAt).toBeLessThan(MINUTE);
            const ran = installs(stub, waits!)[0]!.startedAt;
            expect(ran).toBeGreaterThanOrEqual(opensAt);
            expect(ran - opensAt).toBeLessThan(10_000);
            const shown = new Intl.DateTimeFormat('en-GB', {
              timeZone: zone,
              hour: '2-digit',
              minute: '2-digit',
              timeZoneName: 'shortOffset',
            }).format(opensAt);
            expect(shown).toBe(`${local.time} ${local.offset}`);
            expectInstalledOnce(stub, [always!, insideNow!, waits!]);
            expect(types(stub.state.events)).toEqual(['started', 'wave_started', 'wave_completed', 'completed']);
          },
        );
      },
      60_000,
    );
  });

  it('fails when its deadline passes with waves left: the open waves are cancelled, their devices never run', async () => {
    const deviceIds = deviceIdList(40);
    await withRollout(
      { deviceIds, waves: [{ percent: 5 }, { percent: 25 }, { percent: 100 }], soakSeconds: SOAK_SECONDS, deadlineIn: 10 * MINUTE },
      async ({ handle, stub, t0 }) => {
        const deadline = t0 + 10 * MINUTE;
        expect(await handle.result()).toEqual({ status: 'failed' });
        const { state } = stub;
        expect(types(state.events)).toEqual(['started', 'wave_started', 'soak_started', 'wave_completed', 'failed']);
        const failed = eventsOf(stub, 'failed')[0]!;
        expect(failed).toMatchObject({ status: 'failed', message: 'The deadline passed with 2 waves not started' });
        // Wave 1 soaked its 15 minutes; the deadline had passed by then, so wave 2 never started.
        expect(failed.at).toBeGreaterThanOrEqual(state.waves[0]!.soakUntil!);
        expect(failed.at).toBeGreaterThan(deadline);
        expect(state.waves.map((w) => w.state)).toEqual(['completed', 'cancelled', 'cancelled']);
        expect([...state.runs.values()].map((r) => r.jobRunId)).toEqual([`${stub.state.options.deploymentId}.wave:0:1`]);
        // The wave's run had the deployment's deadline (earlier than the wave's own).
        expect([...state.runs.values()][0]!.deadlineAt).toBe(deadline);
        const statuses = await stub.deviceStatuses();
        for (const id of [...stub.waves[1]!, ...stub.waves[2]!]) expect(statuses.get(id)).toBe('cancelled');
        for (const id of stub.waves[0]!) expect(statuses.get(id)).toBe('succeeded');
        expect(installs(stub)).toHaveLength(2);
      },
    );
  }, 60_000);

  it('fails when its deadline passes during a wave: no retry, no success criteria, the wave cancelled', async () => {
    const deviceIds = deviceIdList(20);
    await withRollout(
      // Two at a time, 10 s each: the deadline (1 minute) ends the wave's run with devices it did not reach.
      { deviceIds, maxConcurrency: 2, deadlineIn: MINUTE, successPercent: 95, retries: { count: 2, backoffSeconds: 60 } },
      async ({ handle, stub, t0 }) => {
        expect(await handle.result()).toEqual({ status: 'failed' });
        const { state } = stub;
        expect(types(state.events)).toEqual(['started', 'wave_started', 'failed']);
        const failed = eventsOf(stub, 'failed')[0]!;
        expect(failed.message).toBe('The deadline passed during Wave 1: 1 waves not finished');
        expect(failed.at).toBeGreaterThanOrEqual(t0 + MINUTE);
        // Neither a retry attempt nor a pause on the success criteria.
        expect([...state.runs.values()].map((r) => r.purpose)).toEqual(['install']);
        expect(state.waves.map((w) => w.state)).toEqual(['cancelled']);
        const done = installs(stub).filter((c) => c.doneAt !== null).length;
        expect(done).toBeGreaterThan(0);
        expect(done).toBeLessThan(deviceIds.length);
      },
      // The deadline cancels the wave's run with its devices' activities open (see withRollout).
      { ownServer: true },
    );
  }, 60_000);

  it('pauses itself when more than 30% of the first results failed, holds the run, and after resume does not pause again', async () => {
    const deviceIds = deviceIdList(20);
    // In the run's order (by hostname): 2 of the first 5 fail, and 3 more later, after the resume.
    const failing = new Set([deviceIds[0], deviceIds[3], deviceIds[12], deviceIds[13], deviceIds[14]]);
    await withRollout(
      {
        deviceIds,
        maxConcurrency: 5,
        autoPause: { failurePercent: 30, minResults: 5 },
        successPercent: 70,
        result: (id) => (failing.has(id) ? 'failed' : 'installed'),
      },
      async ({ handle, stub }) => {
        const { state } = stub;
        await advanceUntil('the auto-pause', () => state.status === 'paused');
        const paused = eventsOf(stub, 'paused')[0]!;
        expect(paused).toMatchObject({
          status: 'paused',
          automatic: true,
          actor: null,
          message: 'Paused itself: Wave 1: 2 of 5 results failed (40%), above the auto-pause threshold of 30%',
        });
        expect(state.pausedReason).toBe('Wave 1: 2 of 5 results failed (40%), above the auto-pause threshold of 30%');
        const runId = `${state.options.deploymentId}.wave:0:1`;
        expect(state.holdCalls).toEqual([{ jobRunId: runId, held: true, at: expect.any(Number) }]);
        expect(await rolloutStatus(handle)).toMatchObject({ status: 'paused', stage: 'install', wave: 0, runId });

        // While paused (ten minutes of it) the held run starts no device; the installs under way finish.
        const heldAt = state.holdCalls[0]!.at;
        const startedBefore = installs(stub).length;
        await env.sleep(10 * MINUTE);
        expect(installs(stub).filter((c) => c.startedAt > heldAt)).toEqual([]);
        expect(installs(stub)).toHaveLength(startedBefore);
        expect(installs(stub).every((c) => c.doneAt !== null)).toBe(true);
        expect(state.status).toBe('paused');

        const resumedAt = await env.currentTimeMs();
        expect(await handle.executeUpdate(resumeUpdate, { args: [{ ...BY, reason: 'known bad disks' }] })).toBe('running');
        expect(state.holdCalls.map((h) => h.held)).toEqual([true, false]);
        expect(await handle.result()).toEqual({ status: 'completed' });

        // The later failures (5 of 15 results after the third round: above 30% again) did not pause it again.
        expect(types(state.events)).toEqual(['started', 'wave_started', 'paused', 'resumed', 'wave_completed', 'completed']);
        expect(eventsOf(stub, 'resumed')[0]).toMatchObject({ actor: BY.by, message: 'Resumed: known bad disks', status: 'running' });
        expect(
          installs(stub)
            .filter((c) => c.startedAt > heldAt)
            .every((c) => c.startedAt >= resumedAt),
        ).toBe(true);
        const statuses = await stub.deviceStatuses();
        expect(deviceIds.filter((id) => statuses.get(id) === 'failed').sort()).toEqual([...failing].sort());
        expectInstalledOnce(stub, deviceIds);
      },
    );
  }, 60_000);

  it('pauses during the soak when the updated devices stop checking in (the baseline keeps checking in)', async () => {
    const deviceIds = deviceIdList(40);
    await withRollout(
      {
        deviceIds,
        waves: [{ percent: 25 }, { percent: 100 }],
        soakSeconds: 1200,
        health: { maxExcessPercent: 20, minDevices: 5, onFailure: 'pause', script: false, offlineAfterSeconds: 300 },
        // Half of wave 1 goes silent once installed.
        checkIns: (id) => (Number(id.slice(2)) % 2 === 0 ? 'stops-after-install' : 'always'),
      },
      async ({ handle, stub }) => {
        const { state } = stub;
        await advanceUntil('the health pause', () => state.status === 'paused', 60_000);
        const silent = stub.waves[0]!.filter((id) => Number(id.slice(2)) % 2 === 0);
        const checked = eventsOf(stub, 'health_checked')[0]!;
        const reason = `Wave 1: ${silent.length} of 10 updated devices are unhealthy (${silent.length * 10}%) against 0% of the devices not yet updated, more than 20% above`;
        expect(checked).toMatchObject({
          message: reason,
          details: { watched: 10, unhealthy: silent.length, baselineWatched: 30, baselineUnhealthy: 0 },
        });
        expect(eventsOf(stub, 'paused')[0]).toMatchObject({ automatic: true, message: `Paused itself: ${reason}` });
        // Not before the silent devices had been quiet for offlineAfterSeconds, and well inside the soak.
        const lastDone = Math.max(...installs(stub).map((c) => c.doneAt!));
        expect(checked.at - lastDone).toBeGreaterThanOrEqual(300_000);
        expect(checked.at - lastDone).toBeLessThan(300_000 + 2 * MINUTE);
        expect(checked.at).toBeLessThan(state.waves[0]!.soakUntil!);
        expect(await rolloutStatus(handle)).toMatchObject({ status: 'paused', stage: 'soak', wave: 0 });
        // The samples before (one a minute) were healthy: the silent devices were not yet overdue.
        const samples = state.healthSamples.filter((h) => h.at <= checked.at);
        expect(samples.length).toBeGreaterThanOrEqual(5);
        expect(samples.slice(0, -1).every((h) => h.sample.unhealthy === 0)).toBe(true);
        expect(samples.at(-1)!.sample.unhealthy).toBe(silent.length);
        expect(state.holdCalls).toEqual([]); // nothing to hold during a soak
        expect(state.devices.get(silent[0]!)!.healthFailure).toMatch(/^not heard from since /);

        expect(await handle.executeUpdate(resumeUpdate, { args: [BY] })).toBe('running');
        expect(await handle.result()).toEqual({ status: 'completed' });
        // The soak ran to its end without pausing again, then wave 2 ran.
        expect(types(state.events)).toEqual([
          'started',
          'wave_started',
          'soak_started',
          'health_checked',
          'paused',
          'resumed',
          'wave_completed',
          'wave_started',
          'wave_completed',
          'completed',
        ]);
        expect(eventsOf(stub, 'wave_completed')[0]!.at).toBeGreaterThanOrEqual(state.waves[0]!.soakUntil!);
        expectInstalledOnce(stub, deviceIds);
      },
    );
  }, 60_000);

  it('analyzes a soak’s health every third of the time a device may stay silent, between 10 s and a minute', () => {
    const health = { maxExcessPercent: 10, minDevices: 5, onFailure: 'pause' as const, script: false };
    expect(healthPollMs({ ...health, offlineAfterSeconds: 30 })).toBe(10_000);
    expect(healthPollMs({ ...health, offlineAfterSeconds: 90 })).toBe(30_000);
    expect(healthPollMs({ ...health, offlineAfterSeconds: 300 })).toBe(MINUTE);
    // A plan loaded before the limit was part of it.
    expect(healthPollMs(health)).toBe(MINUTE);
  });

  it("rolls back by itself when the health script fails on the updated devices and onFailure is 'rollback'", async () => {
    const deviceIds = deviceIdList(40);
    const previous = 'e'.repeat(64);
    await withRollout(
      {
        deviceIds,
        waves: [{ percent: 25 }, { percent: 100 }],
        soakSeconds: 1200,
        health: { maxExcessPercent: 20, minDevices: 5, onFailure: 'rollback', script: true, offlineAfterSeconds: 600 },
        previous: () => previous,
        // The installs succeed; the health script then fails on 6 of the 10 updated devices.
        result: (id, run) => (run.purpose === 'health' && Number(id.slice(2)) % 5 < 3 ? 'failed' : 'installed'),
      },
      async ({ handle, stub }) => {
        expect(await handle.result()).toEqual({ status: 'rolled_back' });
        const { state } = stub;
        expect(types(state.events)).toEqual([
          'started',
          'wave_started',
          'soak_started',
          'health_checked',
          'rollback_started',
          'rolled_back',
        ]);
        const wave1 = stub.waves[0]!;
        const failing = wave1.filter((id) => Number(id.slice(2)) % 5 < 3);
        const reason = `Wave 1: ${failing.length} of 10 updated devices are unhealthy (${failing.length * 10}%) against 0% of the devices not yet updated, more than 20% above`;
        expect(eventsOf(stub, 'rollback_started')[0]).toMatchObject({
          actor: null,
          status: 'rolling_back',
          message: `Rolling back by itself: ${reason}`,
        });
        expect(eventsOf(stub, 'rolled_back')[0]).toMatchObject({ status: 'rolled_back', message: 'Rolled back on 10 devices' });
        const runs = [...state.runs.values()];
        expect(runs.map((r) => r.purpose)).toEqual(['install', 'health', 'rollback', 'reinstall']);
        expect(new Set(runs[1]!.deviceIds)).toEqual(new Set(wave1));
        expect(new Set(runs[2]!.deviceIds)).toEqual(new Set(wave1));
        expect(runs[3]!.payloadSha256).toBe(previous);
        // The health check happened during the soak, right after the health script's run.
        expect(eventsOf(stub, 'health_checked')[0]!.at).toBeLessThan(state.waves[0]!.soakUntil!);
        expect(state.waves.map((w) => w.state)).toEqual(['cancelled', 'cancelled']);
        for (const id of deviceIds) expect(state.devices.get(id)!.installed).toBe(previous);
        expect(
          installs(stub)
            .map((c) => c.deviceId)
            .sort(),
        ).toEqual([...wave1].sort());
      },
    );
  }, 60_000);

  it('aborts on the abort update during a wave: its run is cancelled and no device starts after it', async () => {
    const deviceIds = deviceIdList(40);
    await withRollout(
      { deviceIds, maxConcurrency: 5 },
      async ({ handle, stub }) => {
        const { state } = stub;
        await advanceUntil('ten finished installs', () => installs(stub).filter((c) => c.doneAt !== null).length >= 10);
        const abortedAt = await env.currentTimeMs();
        expect(await handle.executeUpdate(abortUpdate, { args: [{ ...BY, reason: 'wrong version' }] })).toBe('aborted');
        expect(await handle.result()).toEqual({ status: 'aborted' });
        expect(types(state.events)).toEqual(['started', 'wave_started', 'aborted']);
        expect(eventsOf(stub, 'aborted')[0]).toMatchObject({ actor: BY.by, message: 'Aborted: wrong version', status: 'aborted' });
        const [run] = state.runs.values();
        const child = env.client.workflow.getHandle(`job-run/${run!.jobRunId}`);
        await expect(child.result()).rejects.toBeInstanceOf(WorkflowFailedError);
        expect((await child.describe()).status.name).toBe('CANCELLED');
        expect(run!.jobs.state.jobStatus).toBe('cancelled');
        expect(installs(stub).filter((c) => c.startedAt > abortedAt)).toEqual([]);
        const statuses = await stub.deviceStatuses();
        const finished = installs(stub)
          .filter((c) => c.doneAt !== null)
          .map((c) => c.deviceId);
        for (const id of deviceIds) expect(statuses.get(id)).toBe(finished.includes(id) ? 'succeeded' : 'cancelled');
        expect(state.waves[0]!.state).toBe('cancelled');
        expect([...run!.jobs.state.writes.values()].every((n) => n === 1)).toBe(true);
      },
      { ownServer: true },
    );
  }, 60_000);

  it('aborts when its workflow is cancelled in Temporal, and cancels the wave’s run', async () => {
    const deviceIds = deviceIdList(20);
    await withRollout(
      { deviceIds, maxConcurrency: 5 },
      async ({ handle, stub }) => {
        await advanceUntil('the first installs', () => installs(stub).length >= 5);
        await handle.cancel();
        const err = await handle.result().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WorkflowFailedError);
        expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
        expect((await handle.describe()).status.name).toBe('CANCELLED');
        expect(stub.state.status).toBe('aborted');
        expect(types(stub.state.events)).toEqual(['started', 'wave_started', 'aborted']);
        expect(eventsOf(stub, 'aborted')[0]).toMatchObject({ message: 'Aborted: its workflow was cancelled', actor: null });
        const [run] = stub.state.runs.values();
        await env.client.workflow
          .getHandle(`job-run/${run!.jobRunId}`)
          .result()
          .catch(() => undefined);
        expect(run!.jobs.state.jobStatus).toBe('cancelled');
        expect(stub.state.waves[0]!.state).toBe('cancelled');
      },
      { ownServer: true },
    );
  }, 60_000);

  it('rolls back on the rollback update: rolling_back, the uninstall run, then one reinstall run per previous version', async () => {
    const deviceIds = deviceIdList(40);
    const [v1, v2] = ['1'.repeat(64), '2'.repeat(64)];
    // A third of the devices had v1, a third v2, the rest nothing (a first install: uninstalled only).
    const previous = (id: string) => [v1, v2, null][Number(id.slice(2)) % 3]!;
    await withRollout(
      { deviceIds, waves: [{ percent: 5 }, { percent: 25 }, { percent: 100 }], soakSeconds: 600, maxConcurrency: 4, previous },
      async ({ handle, stub }) => {
        const { state } = stub;
        // Steps of 1 s: the step under way when the predicate holds goes on skipping time, and wave 2's other installs
        // (10 s each) must not finish before the rollback arrives.
        await advanceUntil(
          'wave 2 half-way',
          () => state.currentWave === 1 && installs(stub).filter((c) => c.doneAt !== null).length >= 6,
          1_000,
          60_000,
        );
        expect(await handle.executeUpdate(rollbackUpdate, { args: [{ ...BY, reason: 'crashes on start' }] })).toBe('rolling_back');
        expect(await handle.result()).toEqual({ status: 'rolled_back' });

        expect(types(state.events)).toEqual([
          'started',
          'wave_started',
          'soak_started',
          'wave_completed',
          'wave_started',
          'rollback_started',
          'rolled_back',
        ]);
        expect(eventsOf(stub, 'rollback_started')[0]).toMatchObject({
          actor: BY.by,
          status: 'rolling_back',
          message: 'Rolling back: crashes on start',
        });
        const runs = [...state.runs.values()];
        const touched = installs(stub)
          .filter((c) => c.doneAt !== null)
          .map((c) => c.deviceId)
          .sort();
        // The waves are drawn by the deployment's (random) ID: which previous versions the touched devices had varies.
        const replaced = [v1, v2].filter((v) => touched.some((id) => previous(id) === v));
        expect(replaced.length).toBeGreaterThan(0);
        expect(runs.map((r) => r.purpose)).toEqual(['install', 'install', 'rollback', ...replaced.map(() => 'reinstall')]);
        // Wave 2's run was cancelled; the uninstall took every device an install had finished on.
        expect(runs[1]!.jobs.state.jobStatus).toBe('cancelled');
        expect([...runs[2]!.deviceIds].sort()).toEqual(touched);
        expect(eventsOf(stub, 'rolled_back')[0]!.message).toBe(`Rolled back on ${touched.length} devices`);
        // Reinstalls: one run per previous version, on the devices that had it, after the uninstall finished.
        expect(runs.slice(3).map((r) => r.payloadSha256)).toEqual(replaced);
        for (const r of runs.slice(3)) {
          expect([...r.deviceIds].sort()).toEqual(touched.filter((id) => previous(id) === r.payloadSha256));
          expect(r.createdAt).toBeGreaterThanOrEqual(runs[2]!.finishedAt!);
        }
        for (const id of deviceIds) expect(state.devices.get(id)!.installed).toBe(previous(id));
        // Wave 3 never started; the waves not completed are cancelled.
        expect(state.waves.map((w) => w.state)).toEqual(['completed', 'cancelled', 'cancelled']);
        expect(installs(stub).filter((c) => stub.waves[2]!.includes(c.deviceId))).toEqual([]);
      },
      { ownServer: true },
    );
  }, 60_000);

  it('rolls back a deployment that completed with a new run of its workflow ID started with `rollback`', async () => {
    const deviceIds = deviceIdList(10);
    const v1 = '1'.repeat(64);
    const previous = (id: string) => (Number(id.slice(2)) % 2 === 0 ? v1 : null);
    await withRollout({ deviceIds, waves: [{ percent: 100 }], previous }, async ({ handle, stub }) => {
      const { state } = stub;
      expect(await handle.result()).toEqual({ status: 'completed' });
      const again = await env.client.workflow.start(deploymentRollout, {
        taskQueue: `rollout-${state.options.deploymentId}`,
        workflowId: handle.workflowId,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        args: [{ deploymentId: state.options.deploymentId, rollback: { ...BY, reason: 'breaks printing' } }],
        typedSearchAttributes: [{ key: OpsDeploymentId, value: state.options.deploymentId }],
      });
      expect(await again.result()).toEqual({ status: 'rolled_back' });
      expect(types(state.events)).toEqual(['started', 'wave_started', 'wave_completed', 'completed', 'rollback_started', 'rolled_back']);
      expect(eventsOf(stub, 'rollback_started')[0]).toMatchObject({ actor: BY.by, message: 'Rolling back: breaks printing' });
      const runs = [...state.runs.values()];
      expect(runs.map((r) => r.purpose)).toEqual(['install', 'rollback', 'reinstall']);
      expect([...runs[1]!.deviceIds].sort()).toEqual([...deviceIds].sort());
      for (const id of deviceIds) expect(state.devices.get(id)!.installed).toBe(previous(id));
      // No wave runs again: every device installed once.
      expectInstalledOnce(stub, deviceIds);
    });
  }, 60_000);

  it('refuses control requests that make no sense now, with the reason, and keeps them out of the history', async () => {
    let releaseCompleted!: () => void;
    const completedHeld = new Promise<void>((r) => (releaseCompleted = r));
    let completing = false;
    await withRollout(
      {
        deviceIds: deviceIdList(3),
        canRollBack: false,
        startsIn: 10 * MINUTE,
        holdRecord: (type) => {
          if (type !== 'completed') return undefined;
          completing = true;
          return completedHeld;
        },
      },
      async ({ handle, stub }) => {
        const refusal = async (update: typeof pauseUpdate, req: { by: string }) => {
          const err = await handle.executeUpdate(update, { args: [req] }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
          return ((err as WorkflowUpdateFailedError).cause as Error).message;
        };
        await rolloutStatus(handle);
        expect(await refusal(resumeUpdate, BY)).toBe('The deployment is not paused.');
        expect(await refusal(rollbackUpdate, BY)).toBe('This version has no uninstall command, so it cannot be rolled back.');
        expect(await refusal(pauseUpdate, { by: '' })).toBe('Say who asks (by).');
        expect(await handle.executeUpdate(pauseUpdate, { args: [{ ...BY, reason: 'change freeze' }] })).toBe('paused');
        expect(await refusal(pauseUpdate, BY)).toBe('The deployment is already paused.');
        expect(await handle.executeUpdate(resumeUpdate, { args: [BY] })).toBe('scheduled');
        expect(await refusal(resumeUpdate, BY)).toBe('The deployment is not paused.');

        // At the end: the workflow has decided `completed` (its last record is under way) and refuses everything.
        await advanceUntil('the final record', () => completing, 30_000, 60_000);
        expect(await rolloutStatus(handle)).toMatchObject({ status: 'completed', stage: 'done' });
        for (const update of [pauseUpdate, resumeUpdate, abortUpdate, rollbackUpdate]) {
          expect(await refusal(update, BY)).toBe('The deployment has ended (completed).');
        }
        releaseCompleted();
        expect(await handle.result()).toEqual({ status: 'completed' });
        // After it closed, Temporal itself refuses (the API answers "The deployment has ended").
        await expect(handle.executeUpdate(abortUpdate, { args: [BY] })).rejects.toThrow();

        expect(types(stub.state.events)).toEqual(['paused', 'resumed', 'started', 'wave_started', 'wave_completed', 'completed']);
        expect(stub.state.events[0]).toMatchObject({ status: 'paused', actor: BY.by, automatic: false, message: 'Paused: change freeze' });
        expect(stub.state.events[1]).toMatchObject({ status: 'scheduled', actor: BY.by });
        const history = await handle.fetchHistory();
        const accepted = history.events!.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
        expect(accepted).toBe(2);
      },
    );
  }, 60_000);

  it('waits for approval until the approvalDecided signal, then runs', async () => {
    const deviceIds = deviceIdList(4);
    await withRollout({ deviceIds, status: 'pending_approval' }, async ({ handle, stub }) => {
      expect(await rolloutStatus(handle)).toMatchObject({ status: 'pending_approval', stage: 'approval' });
      await env.sleep(6 * HOUR);
      expect(stub.state.approvalCalls).toBe(1);
      // A signal while still pending (a decision's signal that raced an earlier one) changes nothing.
      await handle.signal(deploymentApprovalSignal);
      await advanceUntil('the approval state read again', () => stub.state.approvalCalls === 2, 1_000);
      expect(await rolloutStatus(handle)).toMatchObject({ stage: 'approval' });
      expect(stub.state.events).toEqual([]);
      expect(stub.state.runs.size).toBe(0);

      const decidedAt = await env.currentTimeMs();
      stub.decideApproval('approved');
      await handle.signal(deploymentApprovalSignal);
      expect(await handle.result()).toEqual({ status: 'completed' });
      expect(stub.state.approvalCalls).toBe(3);
      expect(types(stub.state.events)).toEqual(['started', 'wave_started', 'wave_completed', 'completed']);
      expect(stub.state.events[0]!.at).toBeGreaterThanOrEqual(decidedAt);
      expect(Math.min(...installs(stub).map((c) => c.startedAt))).toBeGreaterThanOrEqual(decidedAt);
      expectInstalledOnce(stub, deviceIds);
    });
  }, 60_000);

  it('ends as rejected when the approval is rejected, without starting anything', async () => {
    await withRollout({ deviceIds: deviceIdList(4), status: 'pending_approval' }, async ({ handle, stub }) => {
      expect(await rolloutStatus(handle)).toMatchObject({ stage: 'approval' });
      stub.decideApproval('rejected');
      await handle.signal(deploymentApprovalSignal);
      expect(await handle.result()).toEqual({ status: 'rejected' });
      expect(stub.state.events).toEqual([]);
      expect(stub.state.runs.size).toBe(0);
      expect(stub.state.approvalCalls).toBe(2);
    });
  }, 60_000);

  it('continues as new mid-wave and still completes, every device installed exactly once', async () => {
    const deviceIds = deviceIdList(40);
    await withRollout(
      { deviceIds, maxConcurrency: 4 },
      async ({ handle, stub }) => {
        const firstRunId = (await handle.describe()).runId;
        expect(await handle.result()).toEqual({ status: 'completed' });
        // Follow the chain of runs: each but the last continued as new, with the checkpoint of the wave under way.
        const checkpoints: DeploymentRolloutInput['checkpoint'][] = [];
        let runId: string | null | undefined = firstRunId;
        while (runId) {
          const history: temporal.api.history.v1.IHistory = await env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
          const next = history.events!.at(-1)!.workflowExecutionContinuedAsNewEventAttributes;
          if (next) {
            const [input] = next.input!.payloads!.map((p) => defaultPayloadConverter.fromPayload<DeploymentRolloutInput>(p));
            checkpoints.push(input!.checkpoint);
          }
          runId = next?.newExecutionRunId;
        }
        expect(checkpoints.length).toBeGreaterThanOrEqual(1);
        const runOfWave = `${stub.state.options.deploymentId}.wave:0:1`;
        for (const cp of checkpoints)
          expect(cp).toMatchObject({ wave: 0, stage: 'install', attempt: 1, runId: runOfWave, pausedReason: null });
        expect((await handle.describe()).runId).not.toBe(firstRunId);
        // No status of the deployment was touched by continuing as new (it is not a failure).
        expect(stub.state.events.map((e) => e.status)).toEqual(['running', 'running', 'running', 'completed']);
        expect(types(stub.state.events)).toEqual(['started', 'wave_started', 'wave_completed', 'completed']);
        expect([...stub.state.runs.keys()]).toEqual([`${stub.state.options.deploymentId}.wave:0:1`]);
        expectInstalledOnce(stub, deviceIds);
        expect(installs(stub)).toHaveLength(40);
      },
      { earlyContinueAsNew: true },
    );
  }, 60_000);
});
