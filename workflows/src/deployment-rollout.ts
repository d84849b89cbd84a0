/**
 * `deploymentRollout` (ADR 24): one deployment's staged rollout — workflow ID `deployment/<id>`, search attributes
 * OpsDeploymentId, OpsPackageId, OpsVersionId.
 *
 * Approval (when the deployment needs one) → the start time → the pilot (wave 0, when there is one) → each wave in
 * turn. A wave's attempt is a job run (created by `startWaveAttempt`, run by a child `jobRun` that outlives this
 * workflow's runs: ABANDON, so continue-as-new never interrupts it). While it runs the rollout polls the wave's
 * standing from the database: when more than the auto-pause share of its results failed it pauses itself — the run is
 * held (no new device starts), the timeline and a `deployment.paused` event say why — and waits for an operator.
 * Devices whose failure a retry may help are tried again after a backoff. A finished wave must meet the success
 * criteria (else it pauses); the reboot policy `in_window` then restarts the devices that need it inside their
 * maintenance windows; then the soak: the health analysis watches the updated devices (check-ins, the health
 * script) against those not yet updated and pauses — or rolls back — when they are worse.
 *
 * Operators act through updates with validators (`pause`, `resume`, `abort`, `rollback`): a request that makes no
 * sense now is refused with the reason, before it reaches the history. Rollback uninstalls the version from the
 * devices the deployment touched, then reinstalls the version each had before; a deployment that already ended is
 * rolled back by a new run of this workflow started with `rollback` (the API does that). The database is the source of truth;
 * the history holds decisions and small tallies only, and the workflow continues as new before it grows large.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  CancellationScope,
  ContinueAsNew,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { JobActivities, RolloutPlan, RolloutRun, WaveProgress } from '@opsconductor/activities';
import type { DeploymentStatus } from '@opsconductor/contracts/deployments';
import { autoPauseReason, healthReason, successCriteriaReason } from '@opsconductor/deployments';
import { jobRun } from './job-run.ts';
import { OpsDeviceIds, OpsJobRunId, deviceIdsForSearch } from './search-attributes.ts';

/** How often a running wave's standing is read. */
export const WAVE_POLL_MS = 5_000;
/** How often a held-back run is looked at, and at most how often a soak's health is analyzed. */
export const HEALTH_POLL_MS = 60_000;

/**
 * How often a soak's health is analyzed: a third of the time an updated device may stay silent (so a device that
 * went silent is noticed soon after it is overdue), between 10 s and a minute.
 */
export function healthPollMs(health: RolloutPlan['health']): number {
  if (!health?.offlineAfterSeconds) return HEALTH_POLL_MS;
  return Math.min(HEALTH_POLL_MS, Math.max(10_000, Math.round((health.offlineAfterSeconds * 1000) / 3)));
}
/** Continue as new past this many history events (Temporal warns at 10,240 and stops at 51,200). */
export const CONTINUE_AS_NEW_AFTER_EVENTS = 8_000;

export interface ControlRequest {
  /** Who asks (the user's e-mail, or an API key's name): shown on the timeline. */
  by: string;
  reason?: string;
}

export const pauseUpdate = defineUpdate<DeploymentStatus, [ControlRequest]>('pause');
export const resumeUpdate = defineUpdate<DeploymentStatus, [ControlRequest]>('resume');
export const abortUpdate = defineUpdate<DeploymentStatus, [ControlRequest]>('abort');
export const rollbackUpdate = defineUpdate<DeploymentStatus, [ControlRequest]>('rollback');
/** The API recorded an approval decision (the database holds it; the signal wakes the rollout). */
export const deploymentApprovalSignal = defineSignal('approvalDecided');

export interface RolloutStatus {
  status: DeploymentStatus;
  wave: number | null;
  stage: Stage;
  pausedReason: string | null;
  runId: string | null;
}
export const rolloutStatusQuery = defineQuery<RolloutStatus>('status');

type Stage = 'approval' | 'scheduled' | 'install' | 'soak' | 'rollback' | 'done';

/** Where the rollout is, carried over continue-as-new. */
export interface RolloutCheckpoint {
  wave: number;
  stage: 'install' | 'soak';
  attempt: number;
  /** The job run of the current attempt (install), or the health-check run (soak). */
  runId: string | null;
  soakUntil: string | null;
  /** An operator resumed after an auto-pause in this wave: it does not pause itself again for the same wave. */
  autoPauseDisarmed: boolean;
  pausedReason: string | null;
}

export interface DeploymentRolloutInput {
  deploymentId: string;
  checkpoint?: RolloutCheckpoint;
  /**
   * A deployment that ended (completed, failed, aborted) is rolled back by a new run of its workflow, started by the
   * API with the operator's request: it only rolls back.
   */
  rollback?: ControlRequest;
}

export interface DeploymentRolloutResult {
  status: DeploymentStatus;
}

const bookkeeping = proxyActivities<JobActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['InvalidActivityInput', 'DeploymentNotFound'],
  },
});

/** The rollout ended its decision loop with this: a finished status, or a rollback to run. */
class Stop {
  constructor(
    readonly kind: 'aborted' | 'rollback',
    readonly request: ControlRequest,
    readonly automatic = false,
  ) {}
}

export async function deploymentRollout(input: DeploymentRolloutInput): Promise<DeploymentRolloutResult> {
  const { deploymentId } = input;
  const plan = await bookkeeping.loadRollout({ deploymentId });
  const lastWave = plan.waves.length - 1;
  const open = plan.waves.findIndex((w) => w.state !== 'completed' && w.state !== 'cancelled');
  const cp: RolloutCheckpoint = input.checkpoint ?? {
    wave: open === -1 ? plan.waves.length : open,
    stage: 'install',
    attempt: 0,
    runId: null,
    soakUntil: null,
    autoPauseDisarmed: false,
    pausedReason: plan.status === 'paused' ? 'paused' : null,
  };
  let status: DeploymentStatus = plan.status;
  let stage: Stage = plan.status === 'pending_approval' ? 'approval' : plan.status === 'scheduled' ? 'scheduled' : 'install';
  if (cp.stage === 'soak') stage = 'soak';
  const finished = () => ['rejected', 'completed', 'failed', 'aborted', 'rolled_back'].includes(status);

  // Operator requests, taken by the decision loop in order.
  let pauseRequest: ControlRequest | null = null;
  let resumeRequest: ControlRequest | null = null;
  let stopRequest: Stop | null = null;
  let approvalSignalled = false;
  const controlPending = () => pauseRequest !== null || resumeRequest !== null || stopRequest !== null;

  setHandler(rolloutStatusQuery, () => ({
    status,
    wave: plan.waves.length ? cp.wave : null,
    stage,
    pausedReason: cp.pausedReason,
    runId: cp.runId,
  }));
  setHandler(deploymentApprovalSignal, () => {
    approvalSignalled = true;
  });
  const refuseWhenOver = (req: ControlRequest) => {
    if (!req || typeof req.by !== 'string' || !req.by) throw new Error('Say who asks (by).');
    if (finished()) throw new Error(`The deployment has ended (${status}).`);
    if (status === 'rolling_back') throw new Error('The deployment is being rolled back.');
    if (stopRequest) throw new Error(`The deployment is already being ${stopRequest.kind === 'aborted' ? 'aborted' : 'rolled back'}.`);
  };
  setHandler(
    pauseUpdate,
    async (req) => {
      pauseRequest = req;
      await condition(() => pauseRequest === null);
      return status;
    },
    {
      validator: (req) => {
        refuseWhenOver(req);
        if (stage === 'approval') throw new Error('The deployment waits for approval: reject or abort it instead.');
        if (status === 'paused' || pauseRequest) throw new Error('The deployment is already paused.');
      },
    },
  );
  setHandler(
    resumeUpdate,
    async (req) => {
      resumeRequest = req;
      await condition(() => resumeRequest === null);
      return status;
    },
    {
      validator: (req) => {
        refuseWhenOver(req);
        if (status !== 'paused' && !pauseRequest) throw new Error('The deployment is not paused.');
      },
    },
  );
  setHandler(
    abortUpdate,
    async (req) => {
      stopRequest = new Stop('aborted', req);
      await condition(() => finished() || status === 'rolling_back');
      return status;
    },
    { validator: (req) => refuseWhenOver(req) },
  );
  setHandler(
    rollbackUpdate,
    async (req) => {
      stopRequest = new Stop('rollback', req);
      await condition(() => finished() || status === 'rolling_back');
      return status;
    },
    {
      validator: (req) => {
        refuseWhenOver(req);
        if (!plan.canRollBack) {
          throw new Error(
            plan.action === 'uninstall'
              ? 'An uninstall deployment cannot be rolled back: deploy the version again instead.'
              : 'This version has no uninstall command, so it cannot be rolled back.',
          );
        }
      },
    },
  );

  const record = (r: Omit<Parameters<typeof bookkeeping.recordRollout>[0], 'deploymentId'>) => {
    if (r.status) status = r.status;
    return bookkeeping.recordRollout({ deploymentId, ...r });
  };
  const label = (wave: number) => plan.waves[wave]?.label ?? `wave ${wave}`;
  const deadlinePassed = () => plan.deadlineAt !== null && Date.now() >= Date.parse(plan.deadlineAt);

  /** The runs this workflow run started as its children (not those of runs before a continue-as-new). */
  const startedHere = new Set<string>();

  async function startRun(run: RolloutRun): Promise<void> {
    await startChild(jobRun, {
      workflowId: `job-run/${run.jobRunId}`,
      args: [run],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: OpsJobRunId, value: run.jobRunId },
        { key: OpsDeviceIds, value: deviceIdsForSearch(run.deviceIds) },
      ],
    }).then(
      () => startedHere.add(run.jobRunId),
      (err: unknown) => {
        // A start repeated after continue-as-new: the run is already under way.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      },
    );
  }

  async function cancelRun(jobRunId: string | null): Promise<void> {
    if (!jobRunId || (await bookkeeping.runsFinished({ jobRunIds: [jobRunId] }))) return;
    await getExternalWorkflowHandle(`job-run/${jobRunId}`)
      .cancel()
      .catch((err: unknown) => log.warn('could not cancel the run', { jobRunId, error: String(err) }));
  }

  /** Continues as new when the history has grown, at a point where the checkpoint says everything. */
  async function maybeContinueAsNew(): Promise<void> {
    if (controlPending()) return;
    const info = workflowInfo();
    if (info.historyLength > CONTINUE_AS_NEW_AFTER_EVENTS || info.continueAsNewSuggested) {
      await continueAsNew<typeof deploymentRollout>({ deploymentId, checkpoint: { ...cp } });
    }
  }

  /**
   * Pauses (with the run held, if one is under way) and waits for the operator: returns when resumed, throws Stop on
   * abort or rollback.
   */
  async function pause(reason: string, request: ControlRequest | null, automatic: boolean): Promise<void> {
    const before = status === 'paused' ? 'running' : status;
    cp.pausedReason = reason;
    if (cp.runId && cp.stage === 'install') await bookkeeping.holdRun({ jobRunId: cp.runId, held: true });
    await record({
      status: 'paused',
      currentWave: cp.wave,
      pausedReason: reason,
      automatic,
      event: { type: 'paused', message: automatic ? `Paused itself: ${reason}` : `Paused: ${reason}`, actor: request?.by ?? null },
    });
    pauseRequest = null;
    for (;;) {
      await condition(() => resumeRequest !== null || stopRequest !== null || pauseRequest !== null);
      if (stopRequest) throw stopRequest;
      if (pauseRequest) {
        pauseRequest = null; // already paused
        continue;
      }
      break;
    }
    const by = resumeRequest!;
    cp.pausedReason = null;
    if (cp.runId && cp.stage === 'install') await bookkeeping.holdRun({ jobRunId: cp.runId, held: false });
    await record({
      status: before,
      pausedReason: null,
      event: { type: 'resumed', message: `Resumed${by.reason ? `: ${by.reason}` : ''}`, actor: by.by },
    });
    resumeRequest = null;
  }

  /** Takes an operator's request made while the rollout was busy. */
  async function takeControl(): Promise<void> {
    if (stopRequest) throw stopRequest;
    if (resumeRequest) resumeRequest = null; // not paused: nothing to resume
    if (pauseRequest) {
      const req: ControlRequest = pauseRequest;
      await pause(req.reason ?? `by ${req.by}`, req, false);
    }
  }

  /** Waits up to `ms` (or until an operator acts), then takes the operator's request. */
  async function wait(ms: number): Promise<void> {
    if (ms > 0) await condition(controlPending, ms);
    await takeControl();
  }

  async function waitUntil(at: number, step = HEALTH_POLL_MS): Promise<void> {
    while (Date.now() < at) {
      await wait(Math.min(step, at - Date.now()));
      await maybeContinueAsNew();
    }
  }

  /** One wave: its attempts, auto-pause while they run, retries, success criteria, reboot, soak and health. */
  async function runWave(): Promise<void> {
    const wave = cp.wave;
    if (cp.stage === 'install') {
      let progress: WaveProgress | null = null;
      if (cp.attempt === 0) {
        await record({
          status: 'running',
          currentWave: wave,
          wave: { index: wave, state: 'installing' },
          event: { type: 'wave_started', message: `${label(wave)} started: ${plan.waves[wave]!.size} devices` },
        });
      }
      for (;;) {
        if (!cp.runId) {
          cp.attempt++;
          const run = await bookkeeping.startWaveAttempt({ deploymentId, wave, attempt: cp.attempt });
          if (!run) {
            if (cp.attempt > 1) cp.attempt--;
            break;
          }
          cp.runId = run.jobRunId;
          if (cp.attempt > 1) {
            await record({
              event: {
                type: 'wave_retry',
                message: `${label(wave)}: attempt ${cp.attempt} on ${run.deviceIds.length} devices`,
                details: { jobRunId: run.jobRunId },
              },
            });
          }
          await startRun(run);
        }
        for (;;) {
          progress = await bookkeeping.waveProgress({ deploymentId, wave, jobRunId: cp.runId });
          if (!cp.autoPauseDisarmed) {
            const reason = autoPauseReason(progress, plan.autoPause);
            if (reason) {
              await pause(`${label(wave)}: ${reason}`, null, true);
              cp.autoPauseDisarmed = true;
              continue;
            }
          }
          if (progress.runFinished) break;
          await wait(WAVE_POLL_MS);
          await maybeContinueAsNew();
        }
        cp.runId = null;
        if (progress.retrying === 0 || cp.attempt > plan.retries.count || deadlinePassed()) break;
        await waitUntil(Date.now() + plan.retries.backoffSeconds * 1000);
      }
      // Past the deadline the wave's run ended with the devices it did not reach: the rollout fails, not judges it.
      if (deadlinePassed()) return;
      progress ??= await bookkeeping.waveProgress({ deploymentId, wave, jobRunId: null });
      const unmet = successCriteriaReason(progress, plan.successPercent, label(wave));
      if (unmet) await pause(unmet, null, true);
      if (plan.rebootPolicy === 'in_window') {
        const reboot = await bookkeeping.startRebootRun({ deploymentId, wave });
        if (reboot) {
          await startRun(reboot);
          await record({
            event: {
              type: 'reboot_scheduled',
              message: `${label(wave)}: ${reboot.deviceIds.length} devices restart in their maintenance windows`,
            },
          });
        }
      }
      const soakSeconds = wave < lastWave ? plan.soakSeconds : 0;
      cp.stage = 'soak';
      cp.attempt = 0;
      cp.autoPauseDisarmed = false;
      cp.soakUntil = new Date(Date.now() + soakSeconds * 1000).toISOString();
      if (soakSeconds > 0) {
        stage = 'soak';
        const health = await bookkeeping.startHealthCheck({ deploymentId, wave });
        if (health) await startRun(health);
        cp.runId = health?.jobRunId ?? null;
        await record({
          wave: { index: wave, state: 'soaking', soakUntil: cp.soakUntil },
          event: { type: 'soak_started', message: `${label(wave)}: soaking until ${cp.soakUntil}` },
        });
      }
    }
    // Soak: the health analysis watches the devices the wave updated.
    const soakUntil = Date.parse(cp.soakUntil!);
    while (Date.now() < soakUntil) {
      await wait(Math.min(healthPollMs(plan.health), soakUntil - Date.now()));
      if (plan.health) {
        const sample = await bookkeeping.analyzeWaveHealth({ deploymentId, wave, healthRunId: cp.runId });
        const unhealthy = healthReason(sample, plan.health, label(wave));
        if (unhealthy && !cp.autoPauseDisarmed) {
          await record({ event: { type: 'health_checked', message: unhealthy, details: { ...sample } } });
          if (plan.health.onFailure === 'rollback' && plan.canRollBack) {
            throw new Stop('rollback', { by: 'health analysis', reason: unhealthy }, true);
          }
          await pause(unhealthy, null, true);
          cp.autoPauseDisarmed = true;
        }
      }
      await maybeContinueAsNew();
    }
    await record({ wave: { index: wave, state: 'completed' }, event: { type: 'wave_completed', message: `${label(wave)} completed` } });
    cp.wave++;
    cp.stage = 'install';
    cp.runId = null;
    cp.soakUntil = null;
    cp.autoPauseDisarmed = false;
    stage = 'install';
  }

  async function rollBack(stop: Stop): Promise<void> {
    stage = 'rollback';
    if (cp.stage === 'install') await cancelRun(cp.runId);
    await record({
      status: 'rolling_back',
      cancelOpenWaves: true,
      event: {
        type: 'rollback_started',
        message: `${stop.automatic ? 'Rolling back by itself' : 'Rolling back'}${stop.request.reason ? `: ${stop.request.reason}` : ''}`,
        actor: stop.automatic ? null : stop.request.by,
      },
    });
    const uninstall = await bookkeeping.startRollbackUninstall({ deploymentId });
    if (uninstall) {
      await startRun(uninstall);
      await untilFinished([uninstall.jobRunId]);
      const reinstalls = await bookkeeping.startRollbackReinstall({ deploymentId });
      for (const run of reinstalls) await startRun(run);
      await untilFinished(reinstalls.map((r) => r.jobRunId));
    }
    await record({
      status: 'rolled_back',
      event: {
        type: 'rolled_back',
        message: uninstall ? `Rolled back on ${uninstall.deviceIds.length} devices` : 'Rolled back: no device had been touched',
      },
    });
  }

  async function untilFinished(jobRunIds: string[]): Promise<void> {
    while (!(await bookkeeping.runsFinished({ jobRunIds }))) await condition(() => false, WAVE_POLL_MS);
  }

  try {
    if (input.rollback) {
      if (!plan.canRollBack) return { status };
      status = 'rolling_back';
      throw new Stop('rollback', input.rollback);
    }
    if (stage === 'approval') {
      for (;;) {
        const decision = await bookkeeping.approvalState({ deploymentId });
        if (decision === 'rejected') {
          status = 'rejected';
          return { status };
        }
        if (decision === 'approved') break;
        await condition(() => approvalSignalled || stopRequest !== null);
        approvalSignalled = false;
        if (stopRequest) throw stopRequest;
      }
      status = 'scheduled';
      stage = 'scheduled';
    }
    if (stage === 'scheduled') {
      await waitUntil(Date.parse(plan.startsAt));
      await record({ status: 'running', event: { type: 'started', message: `Started: ${plan.waves.length} waves` } });
      stage = 'install';
    }
    if (cp.pausedReason && status === 'paused') await pause(cp.pausedReason, null, false);
    while (cp.wave <= lastWave) {
      if (cp.stage === 'install' && deadlinePassed()) {
        const left = lastWave - cp.wave + 1;
        await record({
          status: 'failed',
          cancelOpenWaves: true,
          event: {
            type: 'failed',
            message:
              cp.attempt === 0
                ? `The deadline passed with ${left} waves not started`
                : `The deadline passed during ${label(cp.wave)}: ${left} waves not finished`,
          },
        });
        return { status };
      }
      await runWave();
    }
    stage = 'done';
    await record({ status: 'completed', currentWave: null, event: { type: 'completed', message: 'Completed: every wave finished' } });
    return { status };
  } catch (err) {
    // Continuing as new is no failure: the next run takes over from the checkpoint.
    if (err instanceof ContinueAsNew) throw err;
    if (isCancellation(err)) {
      // Cancelled in Temporal (not through the API): an abort by whoever cancelled it.
      await CancellationScope.nonCancellable(async () => {
        // Children this run started are cancelled with it by the SDK; a second request would fail the workflow
        // task on servers that refuse it. A run started before a continue-as-new is cancelled here.
        if (cp.stage === 'install' && !startedHere.has(cp.runId ?? '')) await cancelRun(cp.runId);
        await record({
          status: 'aborted',
          cancelOpenWaves: true,
          event: { type: 'aborted', message: 'Aborted: its workflow was cancelled' },
        });
      });
      throw err;
    }
    if (!(err instanceof Stop)) {
      log.error('deployment rollout failed', { deploymentId, error: String(err) });
      await CancellationScope.nonCancellable(() =>
        record({ status: 'failed', cancelOpenWaves: true, event: { type: 'failed', message: `Failed: ${String(err)}` } }),
      ).catch(() => {});
      throw err;
    }
    if (err.kind === 'rollback') {
      await rollBack(err);
    } else {
      if (cp.stage === 'install') await cancelRun(cp.runId);
      await record({
        status: 'aborted',
        cancelOpenWaves: true,
        event: { type: 'aborted', message: `Aborted${err.request.reason ? `: ${err.request.reason}` : ''}`, actor: err.request.by },
      });
    }
    stage = 'done';
    return { status };
  }
}

export type { RolloutPlan };
