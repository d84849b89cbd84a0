/**
 * `scheduledJobRun`: what a job's Temporal Schedule (`job-schedule/<id>`, ADR 20) starts each time it fires. It records
 * a run with the schedule's settings (targets resolved now, values checked against the job version it runs) and runs
 * it as the child workflow `job-run/<run id>`, the same `jobRun` as any other, so the schedule's overlap policy sees
 * the run as going on until it has finished. When no run can be recorded (no device matches, a value no longer fits
 * the job), it ends with the reason, which the schedule also keeps as its `lastError`.
 */
import { ParentClosePolicy, executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { JobActivities } from '@opsconductor/activities';
import { jobRun, type JobRunResult } from './job-run.ts';
import { OpsDeviceIds, OpsJobRunId, deviceIdsForSearch } from './search-attributes.ts';

export interface ScheduledJobRunInput {
  scheduleId: string;
}

export type ScheduledJobRunResult = { jobRunId: string; result: JobRunResult } | { notStarted: string };

const bookkeeping = proxyActivities<JobActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['InvalidActivityInput'],
  },
});

export async function scheduledJobRun(input: ScheduledJobRunInput): Promise<ScheduledJobRunResult> {
  const recorded = await bookkeeping.recordScheduledRun({ scheduleId: input.scheduleId, workflowId: workflowInfo().workflowId });
  if (!recorded.run) return { notStarted: recorded.note ?? 'no run was recorded' };
  const run = recorded.run;
  const result = await executeChild(jobRun, {
    workflowId: `job-run/${run.jobRunId}`,
    args: [run],
    // Cancelling (or, by the overlap policy, terminating) the scheduled workflow cancels its run, which then ends cancelled.
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    typedSearchAttributes: [
      { key: OpsJobRunId, value: run.jobRunId },
      { key: OpsDeviceIds, value: deviceIdsForSearch(run.deviceIds) },
    ],
  });
  return { jobRunId: run.jobRunId, result };
}
