/**
 * Inputs and outputs of the job-run activities. Workflow code imports these as types only (`import type`), so this
 * module must stay free of runtime code.
 */
import type { CommandKind, ShellCommandPayload } from '@opsconductor/contracts/commands';
import type { finalJobRunStatuses } from '@opsconductor/contracts/api';

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

export interface DispatchToAgentInput {
  jobRunId: string;
  deviceId: string;
  /** The command, by reference. */
  command?: CommandRef;
  /** The command inline: runs started before commands went by reference (always a shell command). */
  payload?: ShellCommandPayload;
  /** ISO time after which the agent must no longer start the command (the run's deadline). */
  expiresAt: string;
}

/**
 * How a command ended, as the API completes the activity with it (packages/commands `dispatchOutcomeOf`): the target's
 * status (a command `interrupted` or `unsupported` fails its target), with the agent's timings when it reported.
 * Activities completed before commands had states carry the agent's result, which has the same shape.
 */
export interface AgentOutcome {
  status: TerminalDeviceStatus;
  exitCode: number | null;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** How the command itself ended (`interrupted`, `unsupported`…). */
  commandState?: string;
}

/**
 * What `dispatchToAgent` resolves with: normally the {@link AgentOutcome} the API completes the activity with by task
 * token; or, when the target already had a terminal state (e.g. a replayed or duplicated dispatch), that stored
 * outcome without dispatching anything.
 */
export type DispatchResult =
  | (AgentOutcome & { alreadyFinished?: undefined })
  | { status: TerminalDeviceStatus; exitCode: number | null; error?: string; alreadyFinished: true };

/** Outcomes the workflow itself may decide for a device (an agent's result is written by the API). */
export type WorkflowDeviceOutcome = 'timed_out' | 'cancelled' | 'failed';

export interface RecordDeviceOutcomeInput {
  jobRunId: string;
  deviceId: string;
  outcome: WorkflowDeviceOutcome;
  message?: string;
}

export interface RecordDeviceOutcomeResult {
  /** The device's terminal status after the call: ours if we were the first writer, else the one already stored. */
  status: TerminalDeviceStatus;
  /** True if this call wrote the terminal state. */
  applied: boolean;
}

/** Input of `withdrawUndeliveredCommand`: the target whose deadline passed without a result. */
export interface WithdrawUndeliveredCommandInput {
  jobRunId: string;
  deviceId: string;
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
  status: FinalJobRunStatus;
  /** Targets per status. */
  counts: DeviceStatusCounts;
  total: number;
}
