/**
 * Records workflow histories for the replay test (workflows/test/replay.test.ts): runs `jobRun` scenarios, the
 * scheduled workflows, `deploymentRollout` scenarios (an in-memory deployment, test/support/stub-deployment-
 * activities.ts) and an `alertLifecycle` (test/support/stub-alert-activities.ts) with stubbed activities on a local Temporal dev server and writes each history to
 * workflows/test/histories/*.json (the JSON form `temporal workflow show --output json` produces).
 *
 *   npx tsx workflows/scripts/record-histories.ts            # all scenarios (about half a minute: rollouts poll every 5 s)
 *   npx tsx workflows/scripts/record-histories.ts success    # only some
 *
 * Re-record when a workflow change is *meant* to be incompatible (and version it with `patched()` instead if
 * running workflows must survive the change). Commit the files.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { temporalCliPath } from '@opsconductor/test/support/tools';
import type { JobRunInput } from '../src/index.ts';
import {
  acknowledgeUpdate,
  alertLifecycle,
  approvalDecidedSignal,
  deploymentRollout,
  jobRun,
  progressQuery,
  refreshDynamicGroups,
  resolveUpdate,
  rollbackUpdate,
  scheduledJobRun,
  sweepDevicePresence,
} from '../src/index.ts';
import {
  OpsAlertRuleId,
  OpsDeploymentId,
  OpsDeviceIds,
  OpsJobRunId,
  alertWorkflowId,
  deviceIdsForSearch,
  searchAttributeKeys,
} from '../src/search-attributes.ts';
import type { ChainedRun } from '@opsconductor/activities';
import { historyToJSON } from '../test/support/history-json.ts';
import { createStubActivities, deviceIdList, type DeviceBehaviour, type StubState } from '../test/support/stub-activities.ts';
import { createStubAlert } from '../test/support/stub-alert-activities.ts';
import { createStubDeployment, type StubDeployment, type StubRolloutOptions } from '../test/support/stub-deployment-activities.ts';

const historiesDir = fileURLToPath(new URL('../test/histories/', import.meta.url));
const workflowsPath = fileURLToPath(new URL('../src/index.ts', import.meta.url));

interface Scenario {
  name: string;
  /** The input as runs started before commands went by reference (an inline shell payload): kept for replay. */
  inline?: boolean;
  deviceIds: string[];
  behaviour: (deviceId: string) => DeviceBehaviour;
  input?: () => Partial<JobRunInput>;
  /** What startChainedRun answers (a saved job's run). */
  chain?: (jobRunId: string) => ChainedRun;
  /** Drives the run (e.g. cancels it) and returns extra workflows to record besides the run itself. */
  drive?: (handle: WorkflowHandle<typeof jobRun>, state: StubState, input: JobRunInput) => Promise<Record<string, string>>;
}

const ids = deviceIdList(1001);
const CHAINED_RUN_ID = randomUUID();
const INLINE_PAYLOAD = { kind: 'shell', command: 'uptime', shell: 'default', timeoutSeconds: 60 } as const;
/** A stored script by reference (the stubs never resolve the hash). */
const SCRIPT_COMMAND = { kind: 'script', payloadSha256: 'b'.repeat(64), timeoutSeconds: 60 } as const;
const scenarios: Scenario[] = [
  { name: 'success', inline: true, deviceIds: ids.slice(0, 3), behaviour: () => ({ kind: 'succeed' }) },
  {
    // A batch that fails for good (its devices are recorded failed) beside one that reports offline and timed out.
    name: 'failed-batch',
    deviceIds: ids.slice(0, 600),
    behaviour: (id) =>
      id === ids[550]
        ? { kind: 'dispatch-error', message: 'agent protocol too old' }
        : id === ids[1]
          ? { kind: 'offline' }
          : id === ids[2]
            ? { kind: 'silent-after-delivery' }
            : { kind: 'succeed' },
  },
  {
    // Cancelled while the first of three batches (one at a time) is in flight.
    name: 'cancel',
    deviceIds: ids,
    input: () => ({ maxConcurrency: 500 }),
    behaviour: (id) => (id === ids[0] ? { kind: 'succeed' } : { kind: 'hang' }),
    async drive(handle, state) {
      while (state.inFlight < 1) await new Promise((r) => setTimeout(r, 50));
      await handle.cancel();
      await handle.result().catch(() => undefined);
      return {};
    },
  },
  // 1,001 devices: three batches; the command inline (older runs) and by reference (today's input).
  { name: 'batched', inline: true, deviceIds: ids, behaviour: (id) => (id === ids[7] ? { kind: 'exit-nonzero' } : { kind: 'succeed' }) },
  { name: 'by-reference-batched', deviceIds: ids, behaviour: () => ({ kind: 'succeed' }) },
  {
    // A run of a job that needs approval: it waits until the decision's signal, then runs.
    name: 'job-approval',
    deviceIds: ids.slice(0, 3),
    input: () => ({
      command: undefined,
      job: { giveUpAt: new Date(Date.now() + 3600_000).toISOString() },
      approval: { expiresAt: new Date(Date.now() + 24 * 3600_000).toISOString(), requestedBy: 'requester' },
    }),
    behaviour: () => ({ kind: 'succeed' }),
    async drive(handle, state) {
      while (!(await handle.query(progressQuery)).awaitingApproval) await new Promise((r) => setTimeout(r, 50));
      state.approvalDecision = 'approved';
      await handle.signal(approvalDecidedSignal, { decision: 'approved', by: 'approver' });
      await handle.result();
      return {};
    },
  },
  {
    // A saved job's run (ADR 20) on 600 devices whose chain starts another job's run as a child workflow.
    name: 'job-chain',
    deviceIds: ids.slice(0, 600),
    input: () => ({ command: undefined, job: { giveUpAt: new Date(Date.now() + 3600_000).toISOString() } }),
    behaviour: (id) => (id === ids[3] ? { kind: 'exit-nonzero' } : { kind: 'succeed' }),
    chain: (jobRunId) =>
      jobRunId === CHAINED_RUN_ID
        ? { note: null }
        : {
            note: 'Chain on failure: started',
            run: {
              jobRunId: CHAINED_RUN_ID,
              deviceIds: ids.slice(0, 600),
              deadlineAt: new Date(Date.now() + 10 * 60_000).toISOString(),
              job: { giveUpAt: new Date(Date.now() + 3600_000).toISOString() },
            },
          },
    async drive(handle, state) {
      await handle.result();
      while (!state.chainCalls.includes(CHAINED_RUN_ID)) await new Promise((r) => setTimeout(r, 50));
      await env.client.workflow.getHandle(`job-run/${CHAINED_RUN_ID}`).result();
      return { 'job-chain-child': `job-run/${CHAINED_RUN_ID}` };
    },
  },
];

/** Deployment rollouts (ADR 24), in real time: short soaks and installs; the rollout polls its wave every 5 s. */
interface RolloutScenario {
  name: string;
  options: Omit<Partial<StubRolloutOptions>, 'deploymentId' | 'startsAt'> & { deviceIds: string[] };
  drive?: (handle: WorkflowHandle<typeof deploymentRollout>, stub: StubDeployment) => Promise<void>;
}
const rolloutScenarios: RolloutScenario[] = [
  {
    // Two waves with a soak between them, to completion.
    name: 'deployment-rollout-completed',
    options: { deviceIds: ids.slice(0, 4), waves: [{ percent: 50 }, { percent: 100 }], soakSeconds: 2, installMs: 300 },
  },
  {
    // Half the installs fail: it pauses itself (the run held); the operator rolls back (uninstall, reinstall).
    name: 'deployment-rollout-rolled-back',
    options: {
      deviceIds: ids.slice(0, 4),
      autoPause: { failurePercent: 30, minResults: 2 },
      installMs: 300,
      previous: (id) => (id === ids[0] ? '1'.repeat(64) : null),
      result: (id, run) => (run.purpose === 'install' && (id === ids[1] || id === ids[2]) ? 'failed' : 'installed'),
    },
    async drive(handle, stub) {
      while (stub.state.status !== 'paused') await new Promise((r) => setTimeout(r, 100));
      await handle.executeUpdate(rollbackUpdate, { args: [{ by: 'operator', reason: 'installer fails' }] });
    },
  },
];

/** Workflows the Temporal Schedules start (workers/src/schedules.ts): one activity each. */
const scheduled = { 'group-refresh': refreshDynamicGroups, 'device-presence': sweepDevicePresence } as const;

const wanted = new Set(process.argv.slice(2));
const selected = scenarios.filter((s) => wanted.size === 0 || wanted.has(s.name));
const selectedScheduled = Object.entries(scheduled).filter(([name]) => wanted.size === 0 || wanted.has(name));
const selectedRollouts = rolloutScenarios.filter((s) => wanted.size === 0 || wanted.has(s.name));
const ALERT_SCENARIO = 'alert-lifecycle-escalated-acknowledged';

Runtime.install({ logger: new DefaultLogger('WARN') });
const env = await TestWorkflowEnvironment.createLocal({
  server: { executable: { type: 'existing-path', path: temporalCliPath() }, searchAttributes: [...searchAttributeKeys] },
});
try {
  const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  await mkdir(historiesDir, { recursive: true });
  const recordScheduled = selectedScheduled.map(async ([name, workflow]) => {
    const { activities } = createStubActivities([], () => ({ kind: 'succeed' }));
    const taskQueue = `record-${name}-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(workflow, { taskQueue, workflowId: `${name}-${randomUUID()}` });
      await handle.result();
      const history = await handle.fetchHistory();
      await writeFile(`${historiesDir}${name}.json`, historyToJSON(history));
      console.log(`recorded ${name}.json (${history.events?.length ?? 0} events)`);
    });
  });
  // A job's schedule firing: scheduledJobRun records a run and runs it as its child.
  const recordScheduledJobRun =
    wanted.size === 0 || wanted.has('scheduled-job-run')
      ? [
          (async () => {
            const deviceIds = ids.slice(0, 2);
            const { activities } = createStubActivities(deviceIds, () => ({ kind: 'succeed' }), {
              scheduled: () => ({
                note: null,
                run: {
                  jobRunId: randomUUID(),
                  deviceIds,
                  deadlineAt: new Date(Date.now() + 10 * 60_000).toISOString(),
                  job: { giveUpAt: new Date(Date.now() + 3600_000).toISOString() },
                },
              }),
            });
            const taskQueue = `record-scheduled-job-run-${randomUUID()}`;
            const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
            await worker.runUntil(async () => {
              const handle = await env.client.workflow.start(scheduledJobRun, {
                taskQueue,
                workflowId: `job-schedule/${randomUUID()}`,
                args: [{ scheduleId: 's' }],
              });
              await handle.result();
              const history = await handle.fetchHistory();
              await writeFile(`${historiesDir}scheduled-job-run.json`, historyToJSON(history));
              console.log(`recorded scheduled-job-run.json (${history.events?.length ?? 0} events)`);
            });
          })(),
        ]
      : [];
  const recordRollouts = selectedRollouts.map(async (scenario) => {
    const deploymentId = randomUUID();
    const stub = createStubDeployment({ ...scenario.options, deploymentId, startsAt: Date.now(), status: 'scheduled' }, async () =>
      Date.now(),
    );
    const taskQueue = `record-${scenario.name}-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: stub.activities });
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(deploymentRollout, {
        taskQueue,
        workflowId: `deployment/${deploymentId}`,
        args: [{ deploymentId }],
        typedSearchAttributes: [{ key: OpsDeploymentId, value: deploymentId }],
      });
      await scenario.drive?.(handle, stub);
      const result = await handle.result();
      const history = await handle.fetchHistory();
      await writeFile(`${historiesDir}${scenario.name}.json`, historyToJSON(history));
      console.log(`recorded ${scenario.name}.json (${history.events?.length ?? 0} events, ${result.status})`);
    });
  });
  // An alert (ADR 25) in real time with 2-second levels: level 0, escalated to level 1 (one of whose channels fails
  // once and is retried), acknowledged there (level 2 is never notified), resolved: every notified channel told once.
  const recordAlert =
    wanted.size === 0 || wanted.has(ALERT_SCENARIO)
      ? [
          (async () => {
            const alertId = randomUUID();
            const ruleId = randomUUID();
            const stub = createStubAlert(
              {
                alertId,
                ruleId,
                severity: 'critical',
                state: 'open',
                levels: [
                  { channelIds: ['slack-ops', 'mail-ops'], delaySeconds: 2 },
                  { channelIds: ['mail-oncall', 'webhook-pager'], delaySeconds: 2 },
                  { channelIds: ['sms-boss'], delaySeconds: 0 },
                ],
              },
              async () => Date.now(),
              (channelId, kind) =>
                channelId === 'webhook-pager' && kind === 'escalated' ? { kind: 'retryable', times: 1 } : { kind: 'deliver' },
            );
            const taskQueue = `record-${ALERT_SCENARIO}-${randomUUID()}`;
            const worker = await Worker.create({
              connection: env.nativeConnection,
              taskQueue,
              workflowBundle,
              activities: stub.activities,
            });
            await worker.runUntil(async () => {
              const handle = await env.client.workflow.start(alertLifecycle, {
                taskQueue,
                workflowId: alertWorkflowId(ruleId, 'device-1'),
                args: [{ alertId }],
                typedSearchAttributes: [{ key: OpsAlertRuleId, value: ruleId }],
              });
              while (!stub.delivered().some((d) => d.channelId === 'mail-oncall')) await new Promise((r) => setTimeout(r, 50));
              await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'operator', comment: 'looking' }] });
              while (!stub.delivered().some((d) => d.channelId === 'webhook-pager')) await new Promise((r) => setTimeout(r, 50));
              await new Promise((r) => setTimeout(r, 3000)); // past level 1's delay: level 2 stays quiet
              await handle.executeUpdate(resolveUpdate, { args: [{ by: 'operator', reason: 'fixed' }] });
              const result = await handle.result();
              const history = await handle.fetchHistory();
              await writeFile(`${historiesDir}${ALERT_SCENARIO}.json`, historyToJSON(history));
              console.log(`recorded ${ALERT_SCENARIO}.json (${history.events?.length ?? 0} events, ${result.state})`);
            });
          })(),
        ]
      : [];
  const results = await Promise.allSettled([
    ...recordAlert,
    ...recordRollouts,
    ...recordScheduled,
    ...recordScheduledJobRun,
    ...selected.map(async (scenario) => {
      const { activities, state } = createStubActivities(scenario.deviceIds, scenario.behaviour, { chain: scenario.chain });
      const taskQueue = `record-${scenario.name}-${randomUUID()}`;
      const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
      const input: JobRunInput = {
        jobRunId: randomUUID(),
        deviceIds: scenario.deviceIds,
        ...(scenario.inline ? { payload: INLINE_PAYLOAD } : { command: SCRIPT_COMMAND }),
        deadlineAt: new Date(Date.now() + 10 * 60_000).toISOString(),
        ...scenario.input?.(),
      };
      await worker.runUntil(async () => {
        const handle = await env.client.workflow.start(jobRun, {
          taskQueue,
          workflowId: `job-run/${input.jobRunId}`,
          args: [input],
          typedSearchAttributes: [
            { key: OpsJobRunId, value: input.jobRunId },
            { key: OpsDeviceIds, value: deviceIdsForSearch(input.deviceIds) },
          ],
        });
        const extra = scenario.drive ? await scenario.drive(handle, state, input) : (await handle.result(), {});
        const toRecord: Record<string, string> = { [scenario.name]: handle.workflowId, ...extra };
        for (const [name, workflowId] of Object.entries(toRecord)) {
          const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
          await writeFile(`${historiesDir}${name}.json`, historyToJSON(history));
          console.log(`recorded ${name}.json (${history.events?.length ?? 0} events)`);
        }
      });
    }),
  ]);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  for (const f of failed) console.error(f.reason);
  if (failed.length > 0) process.exitCode = 1;
} finally {
  await env.teardown();
}
