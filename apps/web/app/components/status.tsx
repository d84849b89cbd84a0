/** Status badges for devices, job runs and per-device run targets. */
import type { DeviceRunStatus, JobRunSummary, Device } from '@opsconductor/contracts/api';
import { Badge, type Tone } from './ui';

const deviceStatus: Record<Device['status'], { tone: Tone; label: string }> = {
  online: { tone: 'green', label: 'Online' },
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

const runStatus: Record<JobRunSummary['status'], { tone: Tone; label: string }> = {
  queued: { tone: 'neutral', label: 'Queued' },
  running: { tone: 'blue', label: 'Running' },
  succeeded: { tone: 'green', label: 'Succeeded' },
  failed: { tone: 'red', label: 'Failed' },
  cancelled: { tone: 'gray', label: 'Cancelled' },
};

export function RunStatusBadge({ status, testId }: { status: JobRunSummary['status']; testId?: string }) {
  const s = runStatus[status] ?? { tone: 'neutral' as const, label: status };
  return (
    <Badge tone={s.tone} pulse={status === 'running'} data-status={status} {...(testId ? { 'data-testid': testId } : {})}>
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
