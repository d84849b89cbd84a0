/**
 * The workflow bundle's entry point (`workflowsPath`). Every exported function is a workflow type, so only workflows
 * are exported as functions here. Runs in Temporal's deterministic sandbox: import only `@temporalio/workflow`,
 * `@temporalio/common`, our own pure modules, and *types* (`import type`) from activities and contracts.
 */
export {
  jobRun,
  progressQuery,
  approvalDecidedSignal,
  BATCH_SIZE,
  MAX_BATCHES_IN_FLIGHT,
  DISPATCH_GRACE_MS,
  BATCH_HEARTBEAT_TIMEOUT_MS,
} from './job-run.ts';
export type { JobRunInput, JobRunResult, JobRunProgress, ApprovalDecided } from './job-run.ts';
export { refreshDynamicGroups } from './group-refresh.ts';
export { scheduledJobRun } from './scheduled-job-run.ts';
export type { ScheduledJobRunInput, ScheduledJobRunResult } from './scheduled-job-run.ts';
export { sweepDevicePresence } from './device-presence.ts';
export { evaluateAlerts } from './alert-evaluation.ts';
export {
  deploymentRollout,
  pauseUpdate,
  resumeUpdate,
  abortUpdate,
  rollbackUpdate,
  deploymentApprovalSignal,
  rolloutStatusQuery,
} from './deployment-rollout.ts';
export type { DeploymentRolloutInput, DeploymentRolloutResult, ControlRequest, RolloutStatus } from './deployment-rollout.ts';
export { alertLifecycle, acknowledgeUpdate, resolveUpdate, conditionClearedSignal, alertStatusQuery } from './alert-lifecycle.ts';
export type {
  AlertLifecycleInput,
  AlertLifecycleResult,
  AcknowledgeRequest,
  ResolveRequest,
  ConditionCleared,
  AlertResolution,
  AlertStatus,
} from './alert-lifecycle.ts';
