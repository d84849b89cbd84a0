/**
 * Stand-ins for the job-run activities with the same signatures, backed by an in-memory "database" that follows the
 * real rules (first terminal writer wins, finalize sweeps and aggregates). The batch stub settles each device at once
 * by its behaviour (the real activity's deadline handling is tested against PostgreSQL in activities/test). They also
 * record what the workflow asked for, and how many batches were in flight at once.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { jobRunOutcome } from '@opsconductor/activities';

/** The activities of job runs (deployment and alert activities have stubs of their own). */
export type JobRunStubActivities = Omit<
  JobActivities,
  keyof DeploymentActivities | keyof AlertActivities | 'evaluateAlertRules' | 'withdrawAlert'
>;
import type {
  ChainedRun,
  DeploymentActivities,
  AlertActivities,
  DeviceStatusCounts,
  FinalizeJobRunInput,
  JobActivities,
  JobRunSummary,
  RecordTargetOutcomesInput,
  RunCommandOnTargetsInput,
  TargetsOutcome,
  TerminalDeviceStatus,
  TerminalStatusCounts,
} from '@opsconductor/activities';

export type DeviceBehaviour =
  /** The agent runs the command and reports success (after `delayMs`: the whole batch waits for its slowest device). */
  | { kind: 'succeed'; delayMs?: number }
  /** The command ran and exited non-zero. */
  | { kind: 'exit-nonzero' }
  /** The batch cannot be dispatched at all (a permanent error): the activity fails. */
  | { kind: 'dispatch-error'; message: string }
  /** The agent never picks the command up: offline at the deadline. */
  | { kind: 'offline' }
  /** The agent picked the command up but no result came before deadline + timeout + grace. */
  | { kind: 'silent-after-delivery' }
  /** No outcome while the test watches: the batch waits (heartbeating) until it is cancelled or times out. */
  | { kind: 'hang' };

export interface StubState {
  /** Every batch the workflow started, in order. */
  batches: RunCommandOnTargetsInput[];
  /** Each batch's schedule-to-close timeout and heartbeat timeout, as Temporal handed them to the activity. */
  batchTimeouts: { scheduleToCloseMs: number; heartbeatMs: number | undefined }[];
  inFlight: number;
  maxInFlight: number;
  recordCalls: RecordTargetOutcomesInput[];
  refreshCalls: number;
  presenceCalls: number;
  finalizeCalls: FinalizeJobRunInput[];
  markRunningCalls: number;
  /** Terminal state per device, as the database would hold it. */
  outcomes: Map<string, TerminalDeviceStatus>;
  /** Number of terminal writes that were applied per device (must be exactly 1). */
  writes: Map<string, number>;
  jobStatus: 'queued' | 'running' | JobRunSummary['status'];
  /** The runs whose chain the workflow asked for (startChainedRun). */
  chainCalls: string[];
  /** resolveApproval calls, and the decision the "database" holds (set by a test as the API would). */
  approvalCalls: { jobRunId: string; expired: boolean }[];
  approvalDecision: 'approved' | 'rejected' | null;
}

const STATUSES = ['pending', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'offline'] as const;

const SETTLED: Record<'succeed' | 'exit-nonzero' | 'offline' | 'silent-after-delivery', TerminalDeviceStatus> = {
  succeed: 'succeeded',
  'exit-nonzero': 'failed',
  offline: 'offline',
  'silent-after-delivery': 'timed_out',
};

export function createStubActivities(
  deviceIds: readonly string[],
  behaviour: (deviceId: string) => DeviceBehaviour,
  opts: { chain?: (jobRunId: string) => ChainedRun; scheduled?: (scheduleId: string, workflowId: string) => ChainedRun } = {},
) {
  const state: StubState = {
    batches: [],
    batchTimeouts: [],
    inFlight: 0,
    maxInFlight: 0,
    recordCalls: [],
    refreshCalls: 0,
    presenceCalls: 0,
    finalizeCalls: [],
    markRunningCalls: 0,
    outcomes: new Map(),
    writes: new Map(),
    jobStatus: 'queued',
    chainCalls: [],
    approvalCalls: [],
    approvalDecision: null,
  };
  const targets = new Set(deviceIds);

  function write(deviceId: string, status: TerminalDeviceStatus): boolean {
    if (state.outcomes.has(deviceId)) return false;
    state.outcomes.set(deviceId, status);
    state.writes.set(deviceId, (state.writes.get(deviceId) ?? 0) + 1);
    return true;
  }

  function outcomeOf(ids: readonly string[]): TargetsOutcome {
    const counts: TerminalStatusCounts = {};
    let total = 0;
    for (const id of ids) {
      const status = state.outcomes.get(id);
      if (!status) continue;
      counts[status] = (counts[status] ?? 0) + 1;
      total++;
    }
    return { counts, total };
  }

  const activities: JobRunStubActivities = {
    /** A job's batch settles like a one-command batch: the steps are the activity's business (tested in activities/test). */
    async runJobOnTargets(input) {
      return activities.runCommandOnTargets({ ...input, deadlineAt: '', giveUpAt: '' });
    },

    async resolveApproval({ jobRunId, expired }) {
      state.approvalCalls.push({ jobRunId, expired });
      const decision = state.approvalDecision;
      if (decision === 'approved') return { decision, giveUpAt: new Date(Date.now() + 3600_000).toISOString() };
      if (decision === 'rejected' || expired) {
        const closed = decision ?? 'expired';
        for (const id of targets) write(id, 'cancelled');
        state.jobStatus = closed;
        return { decision: closed };
      }
      return { decision: 'pending' };
    },

    async recordScheduledRun({ scheduleId, workflowId }) {
      return opts.scheduled?.(scheduleId, workflowId) ?? { note: 'no such schedule' };
    },

    async startChainedRun({ jobRunId }) {
      state.chainCalls.push(jobRunId);
      return opts.chain?.(jobRunId) ?? { note: null };
    },

    async runCommandOnTargets(input) {
      const ctx = Context.current();
      state.batches.push(input);
      state.batchTimeouts.push({ scheduleToCloseMs: ctx.info.scheduleToCloseTimeoutMs, heartbeatMs: ctx.info.heartbeatTimeoutMs });
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      try {
        const behaviours = input.deviceIds.map((id) => [id, behaviour(id)] as const);
        const broken = behaviours.find(([, b]) => b.kind === 'dispatch-error')?.[1];
        if (broken?.kind === 'dispatch-error') throw ApplicationFailure.nonRetryable(broken.message, 'StubDispatchError');
        const delay = Math.max(0, ...behaviours.map(([, b]) => (b.kind === 'succeed' ? (b.delayMs ?? 0) : 0)));
        if (delay) await ctx.sleep(delay);
        for (const [id, b] of behaviours)
          if (b.kind !== 'hang' && b.kind !== 'dispatch-error' && targets.has(id)) write(id, SETTLED[b.kind]);
        // Devices that hang keep the batch open: heartbeat until Temporal cancels it (or it times out).
        if (behaviours.some(([, b]) => b.kind === 'hang')) {
          for (;;) {
            ctx.heartbeat();
            await ctx.sleep(100);
          }
        }
        return outcomeOf(input.deviceIds);
      } finally {
        state.inFlight--;
      }
    },

    async recordTargetOutcomes(input) {
      state.recordCalls.push(input);
      for (const id of input.deviceIds) if (targets.has(id)) write(id, input.outcome);
      return outcomeOf(input.deviceIds);
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
        state.jobStatus = jobRunOutcome(counts, input.cancelled) as StubState['jobStatus'];
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
