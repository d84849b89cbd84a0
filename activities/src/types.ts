/**
 * Inputs and outputs of the job-run activities. Workflow code imports these as types only (`import type`), so this
 * module must stay free of runtime code.
 */
import type { CommandKind, ShellCommandPayload } from '@opsconductor/contracts/commands';
import type { finalJobRunStatuses } from '@opsconductor/contracts/api';
import type { UnapprovedJobRunStatus } from '@opsconductor/contracts/constants';
import type { JobRunStart } from '@opsconductor/jobs';

/** Terminal states of one device in a job run (`job_run_devices.status` once `finished_at` is set). */
export type TerminalDeviceStatus = 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'offline';
/** Every `job_run_devices.status`. */
export type DeviceRunStatus = 'pending' | 'running' | TerminalDeviceStatus;
/** Terminal states of a job run (decided by jobRunOutcome; described at `jobRunStatus` in the contracts). */
export type FinalJobRunStatus = (typeof finalJobRunStatuses)[number];

export type DeviceStatusCounts = Record<DeviceRunStatus, number>;

/** A command stored once by the API (command_payloads), passed to workflows and activities by its hash. */
export interface CommandRef {
  kind: CommandKind;
  payloadSha256: string;
  /** The payload's own timeoutSeconds: how long the agent may take with it. */
  timeoutSeconds: number;
}

/** Devices per terminal status: what a batch of a run ended with. */
export type TerminalStatusCounts = Partial<Record<TerminalDeviceStatus, number>>;

/** A batch of a job run's targets (ADR 16): one activity queues the command for all of them and waits for the outcomes. */
export interface RunCommandOnTargetsInput {
  jobRunId: string;
  /** At most MAX_TARGETS_PER_BATCH devices, each a target of the run. */
  deviceIds: string[];
  /** The command, by reference. */
  command?: CommandRef;
  /** The command inline: runs started before commands went by reference (always a shell command). */
  payload?: ShellCommandPayload;
  /** ISO time after which a command is no longer started: undelivered ones end `offline`, undispatched targets `timed_out`. */
  deadlineAt: string;
  /** ISO time (deadline + command timeout + grace) after which a delivered command without a result ends `timed_out`. */
  giveUpAt: string;
  /** Most of these targets with a command in flight at once. */
  maxConcurrency: number;
}

/** A batch of a saved job's run (ADR 20): the job's steps, in order, on each of these targets. */
export interface RunJobOnTargetsInput {
  jobRunId: string;
  /** At most 1,000 devices, each a target of the run. */
  deviceIds: string[];
  /** Most of these targets under way (started, not finished) at once. */
  maxConcurrency: number;
}

/** Where a run that needs approval stands (resolveApproval): `giveUpAt` bounds its batches once approved. */
export type ApprovalOutcome = { decision: 'approved'; giveUpAt: string } | { decision: 'rejected' | 'expired' } | { decision: 'pending' };

/** A job's chain (on success / on failure) as the workflow starts it: the new run's workflow input, or why there is none. */
export interface ChainedRun {
  /** What the parent run records about its chain. */
  note: string | null;
  /** The chained run, recorded and ready to start (its workflow ID is `job-run/<jobRunId>`). */
  run?: JobRunStart;
}

/** How the targets of a batch ended (targets that are not the run's are left out). */
export interface TargetsOutcome {
  counts: TerminalStatusCounts;
  /** Targets with a terminal state. */
  total: number;
}

/** Progress a batch activity heartbeats (visible as the pending activity's heartbeat details in the Temporal UI). */
export interface BatchProgress {
  targets: number;
  finished: number;
  inFlight: number;
}

/** Outcomes the workflow itself may decide for targets (an agent's result is written by the API). */
export type WorkflowDeviceOutcome = 'timed_out' | 'cancelled' | 'failed';

export interface RecordTargetOutcomesInput {
  jobRunId: string;
  deviceIds: string[];
  outcome: WorkflowDeviceOutcome;
  message?: string;
}

export interface MarkJobRunRunningInput {
  jobRunId: string;
}

export interface FinalizeJobRunInput {
  jobRunId: string;
  cancelled: boolean;
  /**
   * Error message for targets that still have no terminal state (they are marked `cancelled` when the run was
   * cancelled, else `failed`). Normally none are left; this makes the run's rows consistent whatever happened.
   */
  reason?: string;
}

export interface JobRunSummary {
  /** How the run ended: from its devices' outcomes, or rejected / expired (a job that needs approval, never approved). */
  status: FinalJobRunStatus | UnapprovedJobRunStatus;
  /** Targets per status. */
  counts: DeviceStatusCounts;
  total: number;
}
