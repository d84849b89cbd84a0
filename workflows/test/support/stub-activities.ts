/**
 * Stand-ins for the job-run activities with the same signatures, backed by an in-memory "database" that follows the
 * real rules (first terminal writer wins, offline vs timed out, finalize sweeps and aggregates). They also record
 * what the workflow asked for, and how many dispatches were in flight at once.
 */
import { ApplicationFailure, CompleteAsyncError, Context } from '@temporalio/activity';
import type {
  DeviceStatusCounts,
  DispatchResult,
  DispatchToAgentInput,
  FinalizeJobRunInput,
  JobActivities,
  JobRunSummary,
  RecordDeviceOutcomeInput,
  TerminalDeviceStatus,
} from '@opsconductor/activities';

export type DeviceBehaviour =
  /** The agent runs the command; the API writes the outcome and completes the activity after `delayMs`. */
  | { kind: 'succeed'; delayMs?: number }
  /** The command ran and exited non-zero. */
  | { kind: 'exit-nonzero' }
  /** Dispatch itself fails (e.g. a bug or a permanent error). */
  | { kind: 'dispatch-error'; message: string }
  /** The agent never picks the command up (device offline). */
  | { kind: 'offline' }
  /** The agent picked the command up but no result ever comes. */
  | { kind: 'silent-after-delivery' };

export interface StubState {
  dispatched: string[];
  /** What each dispatch was given, in order. */
  dispatchInputs: DispatchToAgentInput[];
  dispatchTimeouts: Map<string, number>;
  inFlight: number;
  maxInFlight: number;
  /** Order in which dispatches returned (successful ones). */
  completed: string[];
  recordCalls: RecordDeviceOutcomeInput[];
  withdrawCalls: string[];
  refreshCalls: number;
  presenceCalls: number;
  finalizeCalls: FinalizeJobRunInput[];
  markRunningCalls: number;
  /** Terminal state per device, as the database would hold it. */
  outcomes: Map<string, TerminalDeviceStatus>;
  /** Number of terminal writes that were applied per device (must be exactly 1). */
  writes: Map<string, number>;
  delivered: Set<string>;
  jobStatus: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
}

const STATUSES = ['pending', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'offline'] as const;

export function createStubActivities(deviceIds: readonly string[], behaviour: (deviceId: string) => DeviceBehaviour) {
  const state: StubState = {
    dispatched: [],
    dispatchInputs: [],
    dispatchTimeouts: new Map(),
    inFlight: 0,
    maxInFlight: 0,
    completed: [],
    recordCalls: [],
    withdrawCalls: [],
    refreshCalls: 0,
    presenceCalls: 0,
    finalizeCalls: [],
    markRunningCalls: 0,
    outcomes: new Map(),
    writes: new Map(),
    delivered: new Set(),
    jobStatus: 'queued',
  };
  const targets = new Set(deviceIds);

  function write(deviceId: string, status: TerminalDeviceStatus): boolean {
    if (state.outcomes.has(deviceId)) return false;
    state.outcomes.set(deviceId, status);
    state.writes.set(deviceId, (state.writes.get(deviceId) ?? 0) + 1);
    return true;
  }

  const activities: JobActivities = {
    async dispatchToAgent(input): Promise<DispatchResult> {
      const { deviceId } = input;
      if (!targets.has(deviceId)) throw ApplicationFailure.nonRetryable('not a target', 'JobRunTargetNotFound');
      const stored = state.outcomes.get(deviceId);
      if (stored) return { status: stored, exitCode: null, alreadyFinished: true };
      state.dispatched.push(deviceId);
      state.dispatchInputs.push(input);
      state.dispatchTimeouts.set(deviceId, Context.current().info.scheduleToCloseTimeoutMs);
      const b = behaviour(deviceId);
      switch (b.kind) {
        case 'offline':
          throw new CompleteAsyncError();
        case 'silent-after-delivery':
          state.delivered.add(deviceId);
          throw new CompleteAsyncError();
        case 'dispatch-error':
          throw ApplicationFailure.nonRetryable(b.message, 'StubDispatchError');
        case 'succeed':
        case 'exit-nonzero': {
          state.delivered.add(deviceId);
          state.inFlight++;
          state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
          try {
            if (b.kind === 'succeed' && b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
          } finally {
            state.inFlight--;
          }
          const status = b.kind === 'succeed' ? 'succeeded' : 'failed';
          write(deviceId, status); // what the API does before completing the activity
          state.completed.push(deviceId);
          const now = new Date().toISOString();
          return { status, exitCode: status === 'succeeded' ? 0 : 2, startedAt: now, finishedAt: now, durationMs: 1 };
        }
      }
    },

    async recordDeviceOutcome(input) {
      state.recordCalls.push(input);
      if (!targets.has(input.deviceId)) throw ApplicationFailure.nonRetryable('not a target', 'JobRunTargetNotFound');
      let status: TerminalDeviceStatus = input.outcome;
      if (input.outcome === 'timed_out' && state.dispatched.includes(input.deviceId) && !state.delivered.has(input.deviceId)) {
        status = 'offline';
      }
      const applied = write(input.deviceId, status);
      return { status: state.outcomes.get(input.deviceId)!, applied };
    },

    async withdrawUndeliveredCommand({ deviceId }) {
      state.withdrawCalls.push(deviceId);
      return { withdrawn: !state.delivered.has(deviceId) };
    },

    async refreshTimeBasedGroups() {
      state.refreshCalls++;
      return { added: 2, removed: 1 };
    },

    async announceDevicePresence() {
      state.presenceCalls++;
      return { cameOnline: 3, wentOffline: 4 };
    },

    async markJobRunRunning() {
      state.markRunningCalls++;
      if (state.jobStatus === 'queued') state.jobStatus = 'running';
      return { status: state.jobStatus };
    },

    async finalizeJobRun(input): Promise<JobRunSummary> {
      state.finalizeCalls.push(input);
      if (state.jobStatus === 'queued' || state.jobStatus === 'running') {
        for (const id of targets) write(id, input.cancelled ? 'cancelled' : 'failed');
      }
      const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as DeviceStatusCounts;
      for (const id of targets) counts[state.outcomes.get(id) ?? 'pending']++;
      if (state.jobStatus === 'queued' || state.jobStatus === 'running') {
        state.jobStatus = input.cancelled ? 'cancelled' : counts.succeeded === targets.size ? 'succeeded' : 'failed';
      }
      return { status: state.jobStatus as JobRunSummary['status'], counts, total: targets.size };
    },
  };
  return { activities, state };
}

/** Deterministic fake UUIDs, easy to read in failures. */
export function deviceIdList(n: number, prefix = 'd'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
}
