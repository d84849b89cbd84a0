/**
 * An in-memory deployment for the `deploymentRollout` workflow tests: the deployment activities with the signatures
 * and rules of activities/src/deployments.ts (runs created idempotently per purpose, device statuses derived as
 * DEPLOYMENT_DEVICE_STATES_SQL derives them, tallies and health samples computed from them), plus the job-run
 * activities the child `jobRun` workflows call — one createStubActivities "database" per job run, so every run's
 * devices get exactly one terminal outcome each, and the wave tallies come from those outcomes.
 *
 * The batch activity (`runCommandOnTargets`) works in passes like the real one: each pass finishes the installs that
 * are done (each takes `installMs`), starts devices up to the run's concurrency cap — none while the run is held, and
 * with maintenance windows only devices inside one (the others get `not_before` from nextOpening, as
 * activities/src/job-run.ts sets it) — and at the deadline ends what never started. Where the real activity sleeps
 * between passes, this one fails with a benign, retryable error whose `nextRetryDelay` is the time to its next
 * pass: the time-skipping test server skips time only while no activity is open, so the waits between passes (an
 * install's duration, a window opening) are skipped too. A retried attempt resumes, as the real one does.
 *
 * Time is the Temporal server's (`clock`): the test server's time is skipped, the worker's Date.now() is not.
 */
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type {
  DeploymentActivities,
  HealthSample,
  JobActivities,
  RecordRolloutInput,
  RolloutPlan,
  RolloutRun,
  RolloutWave,
  TargetsOutcome,
  TerminalStatusCounts,
  WaveProgress,
} from '@opsconductor/activities';
import type { CommandKind } from '@opsconductor/contracts/commands';
import type { DeploymentDeviceStatus, DeploymentStatus } from '@opsconductor/contracts/deployments';
import type { MaintenanceWindowSpec } from '@opsconductor/contracts/maintenance-windows';
import { emptyTally, insideAnyWindow, nextOpening, planWaves, type AutoPause, type WaveSize } from '@opsconductor/deployments';
import { createStubActivities, type DeviceBehaviour, type JobRunStubActivities } from './stub-activities.ts';

/** How long an install (any command) takes on a device once it started, unless the options say otherwise. */
export const INSTALL_MS = 10_000;
/** A held run's batch looks again this often. */
export const HELD_RECHECK_MS = 30_000;

/** The payloads (by SHA-256) the stub deployment uses: the version it installs, its uninstall, other commands. */
export const PAYLOADS = {
  install: 'a'.repeat(64),
  uninstall: 'b'.repeat(64),
  health: 'c'.repeat(64),
  reboot: 'd'.repeat(64),
} as const;

/** What happens on a device when a run's command reaches it (for the health script: installed = passes). */
export type DeviceResult =
  | 'installed'
  | 'reboot_required'
  | 'already_installed'
  | 'requirement_not_met'
  /** The installer exited non-zero. */
  | 'failed'
  /** A failure a retry may help. */
  | 'download_failed'
  /** The agent never picks the command up: offline at the deadline (a retry may help). */
  | 'offline';

export type RunPurpose = 'install' | 'health' | 'reboot' | 'rollback' | 'reinstall';

export interface StubRolloutOptions {
  deploymentId: string;
  name: string;
  deviceIds: string[];
  waves: WaveSize[];
  status: 'pending_approval' | 'scheduled' | 'running';
  startsAt: number;
  deadlineAt: number | null;
  action: 'install' | 'uninstall';
  /** The version has an uninstall command. */
  canRollBack: boolean;
  soakSeconds: number;
  successPercent: number;
  autoPause: AutoPause | null;
  health: {
    maxExcessPercent: number;
    minDevices: number;
    onFailure: 'pause' | 'rollback';
    script: boolean;
    offlineAfterSeconds: number;
  } | null;
  rebootPolicy: 'suppress' | 'in_window' | 'force';
  retries: { count: number; backoffSeconds: number };
  waveDeadlineSeconds: number;
  maxConcurrency: number | undefined;
  respectMaintenanceWindows: boolean;
  /** How long a command takes on a device. */
  installMs: number;
  /** Each device's maintenance windows (through its groups). */
  windows: (deviceId: string) => MaintenanceWindowSpec[];
  /** The payload of the version each device had before (rollback reinstalls it), or null. */
  previous: (deviceId: string) => string | null;
  result: (deviceId: string, run: { purpose: RunPurpose; attempt: number }) => DeviceResult;
  /** Whether the device keeps checking in: `stops-after-install` goes silent once its install finished. */
  checkIns: (deviceId: string) => 'always' | 'stops-after-install' | 'never';
  /** Awaited by recordRollout before it applies an entry of this type (a test holds the rollout there). */
  holdRecord?: (type: RecordRolloutInput['event']['type']) => Promise<void> | undefined;
}

export interface StubDevice {
  id: string;
  hostname: string;
  wave: number;
  attempts: number;
  jobRunId: string | null;
  rebootJobRunId: string | null;
  rollbackJobRunId: string | null;
  reinstallJobRunId: string | null;
  previous: string | null;
  healthFailure: string | null;
  /** The payload installed on the device now (what the runs did to it). */
  installed: string | null;
}

interface Target {
  result: DeviceResult;
  notBefore: number | null;
  startedAt: number | null;
  doneAt: number | null;
}

export interface StubRun {
  jobRunId: string;
  purpose: RunPurpose;
  /** The wave's attempt (install runs), else 0. */
  attempt: number;
  wave: number | null;
  kind: CommandKind;
  payloadSha256: string;
  deviceIds: string[];
  createdAt: number;
  deadlineAt: number;
  maintenanceWindows: boolean;
  held: boolean;
  finishedAt: number | null;
  targets: Map<string, Target>;
  /** Its job_run_devices: the job-run stub that the child jobRun's activities write to. */
  jobs: ReturnType<typeof createStubActivities>;
}

export interface RecordedEvent {
  at: number;
  type: RecordRolloutInput['event']['type'];
  message: string;
  actor: string | null;
  automatic: boolean;
  /** The deployment's status once the entry was recorded. */
  status: DeploymentStatus;
  details?: Record<string, unknown>;
}

/** A command that reached a device (started, and finished unless the run was cancelled first). */
export interface DeviceCommand {
  jobRunId: string;
  purpose: RunPurpose;
  deviceId: string;
  startedAt: number;
  doneAt: number | null;
  result: DeviceResult;
}

const FINISHED: readonly DeploymentStatus[] = ['rejected', 'completed', 'failed', 'aborted', 'rolled_back'];
const DEFAULTS: Omit<StubRolloutOptions, 'deploymentId' | 'deviceIds' | 'startsAt'> = {
  name: 'Firefox 128',
  waves: [{ percent: 100 }],
  status: 'running',
  deadlineAt: null,
  action: 'install',
  canRollBack: true,
  soakSeconds: 0,
  successPercent: 0,
  autoPause: null,
  health: null,
  rebootPolicy: 'suppress',
  retries: { count: 0, backoffSeconds: 300 },
  waveDeadlineSeconds: 24 * 3600,
  maxConcurrency: undefined,
  respectMaintenanceWindows: false,
  installMs: INSTALL_MS,
  windows: () => [],
  previous: () => null,
  result: () => 'installed',
  checkIns: () => 'always',
};

const KIND: Record<RunPurpose, CommandKind> = {
  install: 'software.install',
  reinstall: 'software.install',
  rollback: 'software.uninstall',
  health: 'shell',
  reboot: 'reboot',
};

const BEHAVIOUR: Record<DeviceResult, DeviceBehaviour> = {
  installed: { kind: 'succeed' },
  reboot_required: { kind: 'succeed' },
  already_installed: { kind: 'succeed' },
  requirement_not_met: { kind: 'succeed' },
  failed: { kind: 'exit-nonzero' },
  download_failed: { kind: 'exit-nonzero' },
  offline: { kind: 'offline' },
};

export function createStubDeployment(
  options: Partial<StubRolloutOptions> & Pick<StubRolloutOptions, 'deploymentId' | 'deviceIds' | 'startsAt'>,
  clock: () => Promise<number>,
) {
  const o: StubRolloutOptions = { ...DEFAULTS, ...options };
  const waves = planWaves(o.deviceIds, o.waves, o.deploymentId);
  const devices = new Map<string, StubDevice>();
  for (const [wave, ids] of waves.entries()) {
    for (const id of ids) {
      const previous = o.previous(id);
      devices.set(id, {
        id,
        hostname: `host-${id}`,
        wave,
        attempts: 0,
        jobRunId: null,
        rebootJobRunId: null,
        rollbackJobRunId: null,
        reinstallJobRunId: null,
        previous,
        healthFailure: null,
        installed: previous,
      });
    }
  }
  const state = {
    options: o,
    status: o.status as DeploymentStatus,
    currentWave: null as number | null,
    pausedReason: null as string | null,
    startedAt: null as number | null,
    finishedAt: null as number | null,
    waves: waves.map(
      (
        ids,
        index,
      ): RolloutWave & { soakUntil: number | null; startedAt: number | null; finishedAt: number | null; health: HealthSample | null } => ({
        index,
        label: `Wave ${index + 1}`,
        size: ids.length,
        state: 'planned',
        soakUntil: null,
        startedAt: null,
        finishedAt: null,
        health: null,
      }),
    ),
    devices,
    runs: new Map<string, StubRun>(),
    events: [] as RecordedEvent[],
    commands: [] as DeviceCommand[],
    holdCalls: [] as { jobRunId: string; held: boolean; at: number }[],
    healthSamples: [] as { wave: number; at: number; sample: HealthSample }[],
    approvalCalls: 0,
  };

  // --- derived device status (DEPLOYMENT_DEVICE_STATES_SQL) ---

  const runOf = (jobRunId: string): StubRun => {
    const run = state.runs.get(jobRunId);
    if (!run) throw ApplicationFailure.nonRetryable(`no job run ${jobRunId}`, 'InvalidActivityInput');
    return run;
  };
  /** The device's job_run_devices status in a run, once terminal. */
  const outcomeIn = (jobRunId: string | null, deviceId: string) =>
    jobRunId ? runOf(jobRunId).jobs.state.outcomes.get(deviceId) : undefined;

  function statusOf(d: StubDevice, now: number): { status: DeploymentDeviceStatus; retrying: boolean; software: DeviceResult | null } {
    if (!d.jobRunId) {
      const over = ['aborted', 'rolling_back', 'rolled_back', 'rejected', 'failed', 'completed'].includes(state.status);
      return { status: over ? 'cancelled' : 'planned', retrying: false, software: null };
    }
    const run = runOf(d.jobRunId);
    const target = run.targets.get(d.id)!;
    const jrd = run.jobs.state.outcomes.get(d.id);
    if (!jrd) {
      const status =
        target.startedAt !== null ? 'installing' : target.notBefore !== null && target.notBefore > now ? 'waiting_for_window' : 'queued';
      return { status, retrying: false, software: null };
    }
    // The agent's software report exists only where the command ran to its end.
    const software = target.doneAt !== null && jrd !== 'offline' ? target.result : null;
    let status: DeploymentDeviceStatus;
    if (software === 'already_installed') status = 'already_installed';
    else if (software === 'installed' || software === 'reboot_required') {
      status =
        software === 'reboot_required' && o.rebootPolicy !== 'force' && outcomeIn(d.rebootJobRunId, d.id) !== 'succeeded'
          ? 'reboot_pending'
          : 'succeeded';
    } else if (software === 'requirement_not_met') status = 'skipped';
    else if (jrd === 'cancelled') status = 'cancelled';
    else if (jrd === 'succeeded') status = 'succeeded';
    else status = 'failed';
    const retryable = jrd === 'offline' || jrd === 'timed_out' || software === 'download_failed';
    return { status, retrying: status === 'failed' && retryable && d.attempts <= o.retries.count, software };
  }

  const inOrder = () => [...devices.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));

  // --- runs ---

  /** Creates the run for this purpose unless it exists (then returns it as created), and links its devices. */
  async function createRun(
    key: string,
    run: {
      purpose: RunPurpose;
      attempt?: number;
      wave?: number | null;
      payloadSha256: string;
      maintenanceWindows: boolean;
      deadlineAt: number;
    },
    pick: (now: number) => StubDevice[],
    link: { column: 'jobRunId' | 'rebootJobRunId' | 'rollbackJobRunId' | 'reinstallJobRunId' | null; countAttempt?: boolean },
  ): Promise<RolloutRun | null> {
    const jobRunId = `${o.deploymentId}.${key}`;
    let existing = state.runs.get(jobRunId);
    if (!existing) {
      const now = await clock();
      const picked = pick(now);
      if (picked.length === 0) return null;
      const deviceIds = picked.map((d) => d.id);
      const attempt = run.attempt ?? 0;
      const targets = new Map(
        deviceIds.map((id): [string, Target] => [
          id,
          { result: o.result(id, { purpose: run.purpose, attempt }), notBefore: null, startedAt: null, doneAt: null },
        ]),
      );
      existing = {
        jobRunId,
        purpose: run.purpose,
        attempt,
        wave: run.wave ?? null,
        kind: KIND[run.purpose],
        payloadSha256: run.payloadSha256,
        deviceIds,
        createdAt: now,
        deadlineAt: run.deadlineAt,
        maintenanceWindows: run.maintenanceWindows,
        held: false,
        finishedAt: null,
        targets,
        jobs: createStubActivities(deviceIds, (id) => BEHAVIOUR[targets.get(id)!.result]),
      };
      state.runs.set(jobRunId, existing);
      for (const d of picked) {
        if (link.column) d[link.column] = jobRunId;
        if (link.countAttempt) d.attempts++;
      }
    }
    return {
      jobRunId,
      deviceIds: existing.deviceIds,
      command: { kind: existing.kind, payloadSha256: existing.payloadSha256, timeoutSeconds: 600 },
      deadlineAt: new Date(existing.deadlineAt).toISOString(),
      ...(o.maxConcurrency ? { maxConcurrency: o.maxConcurrency } : {}),
    };
  }

  /** What a command that ran to its end did to the device's installed software. */
  function applied(run: StubRun, d: StubDevice, result: DeviceResult): void {
    if (result !== 'installed' && result !== 'reboot_required') return;
    if (run.purpose === 'install') d.installed = o.action === 'install' ? run.payloadSha256 : null;
    else if (run.purpose === 'rollback') d.installed = null;
    else if (run.purpose === 'reinstall') d.installed = run.payloadSha256;
  }

  /** One pass of a batch (see the module comment): resolves when every device has an outcome, else asks for a retry. */
  async function runBatchPass(input: Parameters<JobActivities['runCommandOnTargets']>[0]): Promise<TargetsOutcome> {
    const run = runOf(input.jobRunId);
    const inner = run.jobs;
    const now = await clock();
    const mine = input.deviceIds.filter((id) => run.targets.has(id));
    const open = () => mine.filter((id) => !inner.state.outcomes.has(id));
    // Installs that are done report their outcome (the stub's batch settles them by their behaviour).
    const done = open().filter((id) => {
      const t = run.targets.get(id)!;
      return t.startedAt !== null && t.startedAt + o.installMs <= now;
    });
    if (done.length > 0) {
      for (const id of done) {
        const t = run.targets.get(id)!;
        t.doneAt = now;
        const command = state.commands.find((c) => c.jobRunId === run.jobRunId && c.deviceId === id);
        if (command) command.doneAt = now;
        applied(run, devices.get(id)!, t.result);
      }
      await inner.activities.runCommandOnTargets({ ...input, deviceIds: done });
    }
    if (now >= run.deadlineAt) {
      // The deadline: commands no agent picked up end offline, devices never reached time out.
      const notStarted = open().filter((id) => run.targets.get(id)!.startedAt === null);
      const offline = notStarted.filter((id) => run.targets.get(id)!.result === 'offline');
      if (offline.length > 0) await inner.activities.runCommandOnTargets({ ...input, deviceIds: offline });
      const never = notStarted.filter((id) => !offline.includes(id));
      if (never.length > 0) await inner.activities.recordTargetOutcomes({ jobRunId: run.jobRunId, deviceIds: never, outcome: 'timed_out' });
    } else if (!run.held) {
      const cap = input.maxConcurrency;
      let inFlight = open().filter((id) => run.targets.get(id)!.startedAt !== null).length;
      for (const id of open()) {
        if (inFlight >= cap) break;
        const t = run.targets.get(id)!;
        if (t.startedAt !== null || t.result === 'offline') continue;
        const windows = run.maintenanceWindows ? o.windows(id) : [];
        if (windows.length > 0 && !insideAnyWindow(windows, new Date(now))) {
          t.notBefore = nextOpening(windows, new Date(now))!.getTime();
          continue;
        }
        t.startedAt = now;
        t.notBefore = null;
        state.commands.push({ jobRunId: run.jobRunId, purpose: run.purpose, deviceId: id, startedAt: now, doneAt: null, result: t.result });
        inFlight++;
      }
    }
    const remaining = open();
    if (remaining.length === 0) return outcomeOf(run, mine);
    // Sleep until something can change: an install finishes, a window opens, the deadline, a held run's next look.
    const wakeAt = Math.min(
      run.deadlineAt,
      ...remaining.map((id) => {
        const t = run.targets.get(id)!;
        if (t.startedAt !== null) return t.startedAt + o.installMs;
        if (run.held) return now + HELD_RECHECK_MS;
        return t.notBefore ?? Number.POSITIVE_INFINITY;
      }),
    );
    throw ApplicationFailure.create({
      message: `${remaining.length} devices not finished: next pass in ${wakeAt - now} ms`,
      type: 'StubBatchWaits',
      nextRetryDelay: Math.max(1, wakeAt - now),
      category: ApplicationFailureCategory.BENIGN,
    });
  }

  function outcomeOf(run: StubRun, ids: readonly string[]): TargetsOutcome {
    const counts: TerminalStatusCounts = {};
    let total = 0;
    for (const id of ids) {
      const s = run.jobs.state.outcomes.get(id);
      if (!s) continue;
      counts[s] = (counts[s] ?? 0) + 1;
      total++;
    }
    return { counts, total };
  }

  const devicesWhere = (now: number, fn: (d: StubDevice, s: ReturnType<typeof statusOf>) => boolean) =>
    inOrder().filter((d) => fn(d, statusOf(d, now)));

  const waveDeadline = (now: number) => Math.min(now + o.waveDeadlineSeconds * 1000, o.deadlineAt ?? Number.POSITIVE_INFINITY);

  const deploymentActivities: DeploymentActivities = {
    async loadRollout({ deploymentId }) {
      if (deploymentId !== o.deploymentId)
        throw ApplicationFailure.nonRetryable(`deployment ${deploymentId} not found`, 'DeploymentNotFound');
      const plan: RolloutPlan = {
        deploymentId,
        name: o.name,
        status: state.status,
        action: o.action,
        startsAt: new Date(o.startsAt).toISOString(),
        deadlineAt: o.deadlineAt === null ? null : new Date(o.deadlineAt).toISOString(),
        waves: state.waves.map(({ index, label, size, state: s }) => ({ index, label, size, state: s })),
        soakSeconds: o.soakSeconds,
        successPercent: o.successPercent,
        autoPause: o.autoPause,
        health: o.health && {
          maxExcessPercent: o.health.maxExcessPercent,
          minDevices: o.health.minDevices,
          onFailure: o.health.onFailure,
          script: o.health.script,
          offlineAfterSeconds: o.health.offlineAfterSeconds,
        },
        rebootPolicy: o.rebootPolicy,
        retries: o.retries,
        canRollBack: o.action === 'install' && o.canRollBack,
      };
      return plan;
    },

    async recordRollout(input) {
      await o.holdRecord?.(input.event.type);
      const now = await clock();
      if (input.status) {
        state.status = input.status;
        state.pausedReason = input.status === 'paused' ? (input.pausedReason ?? null) : null;
        if (input.status === 'running') state.startedAt ??= now;
        if (FINISHED.includes(input.status)) state.finishedAt ??= now;
      }
      if (input.currentWave !== undefined) state.currentWave = input.currentWave;
      if (input.wave) {
        const w = state.waves[input.wave.index]!;
        w.state = input.wave.state;
        if (input.wave.state === 'installing') w.startedAt ??= now;
        if (input.wave.soakUntil) w.soakUntil = Date.parse(input.wave.soakUntil);
        if (input.wave.state === 'completed' || input.wave.state === 'cancelled') w.finishedAt ??= now;
      }
      if (input.cancelOpenWaves) {
        for (const w of state.waves) {
          if (w.state !== 'completed' && w.state !== 'cancelled') {
            w.state = 'cancelled';
            w.finishedAt ??= now;
          }
        }
      }
      state.events.push({
        at: now,
        type: input.event.type,
        message: input.event.message,
        actor: input.event.actor ?? null,
        automatic: !!input.automatic,
        status: state.status,
        ...(input.event.details ? { details: input.event.details } : {}),
      });
    },

    async startWaveAttempt({ wave, attempt }) {
      const now = await clock();
      return createRun(
        `wave:${wave}:${attempt}`,
        {
          purpose: 'install',
          attempt,
          wave,
          payloadSha256: PAYLOADS.install,
          maintenanceWindows: o.respectMaintenanceWindows,
          deadlineAt: waveDeadline(now),
        },
        (t) => devicesWhere(t, (d, s) => d.wave === wave && (attempt === 1 ? d.jobRunId === null : s.retrying)),
        { column: 'jobRunId', countAttempt: true },
      );
    },

    async waveProgress({ wave, jobRunId }): Promise<WaveProgress> {
      const now = await clock();
      const tally = emptyTally();
      for (const d of devices.values()) {
        if (d.wave !== wave) continue;
        const s = statusOf(d, now);
        tally.total++;
        if (s.status === 'succeeded' || s.status === 'already_installed' || s.status === 'reboot_pending') tally.succeeded++;
        else if (s.status === 'failed') tally[s.retrying ? 'retrying' : 'failed']++;
        else if (s.status === 'skipped') tally.skipped++;
        else if (s.status === 'cancelled') tally.cancelled++;
        else tally.pending++;
      }
      const run = jobRunId ? state.runs.get(jobRunId) : undefined;
      const runFinished = run ? run.finishedAt !== null : true;
      return { ...tally, runFinished };
    },

    async runsFinished({ jobRunIds }) {
      return jobRunIds.every((id) => state.runs.get(id)?.finishedAt !== null);
    },

    async holdRun({ jobRunId, held }) {
      runOf(jobRunId).held = held;
      state.holdCalls.push({ jobRunId, held, at: await clock() });
    },

    async startHealthCheck({ wave }) {
      if (!o.health?.script) return null;
      const now = await clock();
      return createRun(
        `health:${wave}`,
        {
          purpose: 'health',
          wave,
          payloadSha256: PAYLOADS.health,
          maintenanceWindows: false,
          deadlineAt: now + Math.max(60, o.soakSeconds) * 1000,
        },
        (t) =>
          devicesWhere(
            t,
            (d, s) => d.wave === wave && (s.status === 'succeeded' || s.status === 'reboot_pending') && s.software !== 'already_installed',
          ),
        { column: null },
      );
    },

    async analyzeWaveHealth({ wave, healthRunId }) {
      const now = await clock();
      const offlineAfter = (o.health?.offlineAfterSeconds ?? 300) * 1000;
      const sample: HealthSample = { watched: 0, unhealthy: 0, baselineWatched: 0, baselineUnhealthy: 0 };
      for (const d of inOrder()) {
        const s = statusOf(d, now);
        const updated =
          d.wave === wave && (s.status === 'succeeded' || s.status === 'reboot_pending') && s.software !== 'already_installed';
        const baseline = d.wave > wave && d.jobRunId === null;
        if (!updated && !baseline) continue;
        const lastSeen = lastSeenAt(d, now);
        let failure: string | null = null;
        if (lastSeen < now - offlineAfter) failure = `not heard from since ${new Date(lastSeen).toISOString()}`;
        else if (updated && healthRunId) {
          const h = outcomeIn(healthRunId, d.id);
          if (h && h !== 'succeeded') failure = `health script ${h}`;
        }
        if (updated) {
          sample.watched++;
          if (failure) sample.unhealthy++;
          d.healthFailure = failure;
        } else {
          sample.baselineWatched++;
          if (failure) sample.baselineUnhealthy++;
        }
      }
      state.waves[wave]!.health = sample;
      state.healthSamples.push({ wave, at: now, sample });
      return sample;
    },

    async startRebootRun({ wave }) {
      const now = await clock();
      return createRun(
        `reboot:${wave}`,
        {
          purpose: 'reboot',
          wave,
          payloadSha256: PAYLOADS.reboot,
          maintenanceWindows: true,
          deadlineAt: o.deadlineAt ?? now + 8 * 24 * 3600_000,
        },
        (t) => devicesWhere(t, (d, s) => d.wave === wave && s.status === 'reboot_pending'),
        { column: 'rebootJobRunId' },
      );
    },

    async startRollbackUninstall() {
      if (!o.canRollBack) throw ApplicationFailure.nonRetryable('this deployment cannot be rolled back', 'InvalidActivityInput');
      const now = await clock();
      return createRun(
        'rollback',
        {
          purpose: 'rollback',
          payloadSha256: PAYLOADS.uninstall,
          maintenanceWindows: false,
          deadlineAt: now + o.waveDeadlineSeconds * 1000,
        },
        (t) =>
          devicesWhere(t, (_d, s) => ['succeeded', 'reboot_pending', 'failed'].includes(s.status) && s.software !== 'already_installed'),
        { column: 'rollbackJobRunId' },
      );
    },

    async startRollbackReinstall() {
      const now = await clock();
      const uninstalled = inOrder().filter((d) => d.previous !== null && outcomeIn(d.rollbackJobRunId, d.id) === 'succeeded');
      const runs: RolloutRun[] = [];
      for (const sha of [...new Set(uninstalled.map((d) => d.previous!))].sort()) {
        const run = await createRun(
          `reinstall:${sha}`,
          { purpose: 'reinstall', payloadSha256: sha, maintenanceWindows: false, deadlineAt: now + o.waveDeadlineSeconds * 1000 },
          () => uninstalled.filter((d) => d.previous === sha),
          { column: 'reinstallJobRunId' },
        );
        if (run) runs.push(run);
      }
      return runs;
    },

    async approvalState() {
      state.approvalCalls++;
      if (state.status === 'pending_approval') return 'pending';
      return state.status === 'rejected' ? 'rejected' : 'approved';
    },
  };

  function lastSeenAt(d: StubDevice, now: number): number {
    const mode = o.checkIns(d.id);
    if (mode === 'never') return o.startsAt - 24 * 3600_000;
    if (mode === 'stops-after-install' && d.jobRunId) {
      const doneAt = runOf(d.jobRunId).targets.get(d.id)!.doneAt;
      if (doneAt !== null) return doneAt;
    }
    return now;
  }

  /** The job-run activities of the child jobRun workflows, each call routed to its run's job-run stub. */
  const fallback = createStubActivities([], () => ({ kind: 'succeed' })).activities;
  const jobActivities: JobRunStubActivities = {
    ...fallback,
    runCommandOnTargets: (input) => runBatchPass(input),
    runJobOnTargets: () => Promise.reject(ApplicationFailure.nonRetryable('a deployment runs commands, not jobs', 'InvalidActivityInput')),
    recordTargetOutcomes: (input) => runOf(input.jobRunId).jobs.activities.recordTargetOutcomes(input),
    markJobRunRunning: (input) => runOf(input.jobRunId).jobs.activities.markJobRunRunning(input),
    async finalizeJobRun(input) {
      const run = runOf(input.jobRunId);
      const summary = await run.jobs.activities.finalizeJobRun(input);
      run.finishedAt ??= await clock();
      return summary;
    },
  };

  /** A second operator's decision, recorded as the API records it (the test then signals the rollout). */
  function decideApproval(decision: 'approved' | 'rejected'): void {
    if (state.status !== 'pending_approval') throw new Error(`the deployment is ${state.status}, not pending approval`);
    state.status = decision === 'approved' ? 'scheduled' : 'rejected';
  }

  /** Each device's status now (for assertions). */
  async function deviceStatuses(): Promise<Map<string, DeploymentDeviceStatus>> {
    const now = await clock();
    return new Map(inOrder().map((d) => [d.id, statusOf(d, now).status]));
  }

  return { activities: { ...jobActivities, ...deploymentActivities } as JobActivities, state, waves, deviceStatuses, decideApproval };
}

export type StubDeployment = ReturnType<typeof createStubDeployment>;
