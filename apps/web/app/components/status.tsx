/** Status badges for devices, job runs, per-device run targets and a job's steps on a device. */
import type { DeviceRunStatus, JobRunSummary, Device } from '@opsconductor/contracts/api';
import { stepStatusLabels, type StepStatus } from '~/lib/job-run';
import { Badge, type Tone } from './ui';

const deviceStatus: Record<Device['status'], { tone: Tone; label: string }> = {
  online: { tone: 'green', label: 'Online' },
  stale: { tone: 'amber', label: 'Stale' },
  offline: { tone: 'gray', label: 'Offline' },
  never_seen: { tone: 'neutral', label: 'Never seen' },
};

export function DeviceStatusBadge({ status }: { status: Device['status'] }) {
  const s = deviceStatus[status] ?? { tone: 'neutral' as const, label: status };
  return (
    <Badge tone={s.tone} data-testid="device-status" data-status={status}>
      {s.label}
    </Badge>
  );
}

/** Red: the command failed; amber: it did not (fully) get done or waits for someone; gray: nothing ran. */
const runStatus: Record<JobRunSummary['status'], { tone: Tone; label: string; title: string }> = {
  awaiting_approval: { tone: 'amber', label: 'Awaiting approval', title: 'Waiting for another operator to approve the run' },
  queued: { tone: 'neutral', label: 'Queued', title: 'Waiting for the workflow to start' },
  running: { tone: 'blue', label: 'Running', title: 'Devices are running the command' },
  succeeded: { tone: 'green', label: 'Succeeded', title: 'The command succeeded on every device' },
  partially_succeeded: { tone: 'amber', label: 'Partially succeeded', title: 'The command succeeded on some devices, not on others' },
  failed: { tone: 'red', label: 'Failed', title: 'The command succeeded on no device and failed on at least one' },
  timed_out: { tone: 'amber', label: 'Timed out', title: 'The command ran past its timeout or the deadline, and succeeded nowhere' },
  unreachable: { tone: 'gray', label: 'Unreachable', title: 'No device picked the command up before the deadline' },
  cancelled: { tone: 'gray', label: 'Cancelled', title: 'The run was cancelled' },
  rejected: { tone: 'gray', label: 'Rejected', title: 'An operator rejected the run: nothing ran' },
  expired: { tone: 'gray', label: 'Expired', title: 'Nobody approved the run in time: nothing ran' },
};

/** A run status in words ("Awaiting approval"), e.g. for the runs list's filter. */
export const runStatusLabel = (s: string) => runStatus[s as JobRunSummary['status']]?.label ?? s;

export function RunStatusBadge({ status, testId }: { status: JobRunSummary['status']; testId?: string }) {
  const s = runStatus[status] ?? { tone: 'neutral' as const, label: status, title: status };
  return (
    <Badge tone={s.tone} pulse={status === 'running'} data-status={status} title={s.title} {...(testId ? { 'data-testid': testId } : {})}>
      {s.label}
    </Badge>
  );
}

const targetStatus: Record<DeviceRunStatus, { tone: Tone; label: string }> = {
  pending: { tone: 'neutral', label: 'Pending' },
  running: { tone: 'blue', label: 'Running' },
  succeeded: { tone: 'green', label: 'Succeeded' },
  failed: { tone: 'red', label: 'Failed' },
  timed_out: { tone: 'amber', label: 'Timed out' },
  cancelled: { tone: 'gray', label: 'Cancelled' },
  offline: { tone: 'gray', label: 'Offline' },
};

export function TargetStatusBadge({ status }: { status: DeviceRunStatus }) {
  const s = targetStatus[status] ?? { tone: 'neutral' as const, label: status };
  return (
    <Badge tone={s.tone} pulse={status === 'running'} data-testid="target-status" data-status={status}>
      {s.label}
    </Badge>
  );
}

export const targetStatusOrder: DeviceRunStatus[] = ['running', 'pending', 'succeeded', 'failed', 'timed_out', 'cancelled', 'offline'];
export const targetStatusLabel = (s: string) => targetStatus[s as DeviceRunStatus]?.label ?? s;
export const targetStatusTone = (s: string): Tone => targetStatus[s as DeviceRunStatus]?.tone ?? 'neutral';

const stepTones: Record<StepStatus, Tone> = {
  not_reached: 'neutral',
  pending: 'neutral',
  running: 'blue',
  succeeded: 'green',
  failed: 'red',
  timed_out: 'amber',
  cancelled: 'gray',
  offline: 'gray',
  skipped: 'gray',
};

export function StepStatusBadge({ status }: { status: StepStatus }) {
  return (
    <Badge tone={stepTones[status] ?? 'neutral'} pulse={status === 'running'} data-testid="step-status" data-status={status}>
      {stepStatusLabels[status] ?? status}
    </Badge>
  );
}
