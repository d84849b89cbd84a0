/**
 * Deployments (ADR 24) as the console shows and asks for them: statuses in words and tones, which controls a status
 * offers, a wave's progress as bar segments, the wizard's waves field ("10%, 50%, 100%" or counts), where the API's
 * validation issues belong on the wizard, and the geometry of the installs-over-time chart.
 *
 * Pure and browser-safe: only *types* come from the contracts.
 */
import type { components } from '@opsconductor/contracts/openapi-types';

export type Deployment = components['schemas']['Deployment'];
export type DeploymentSummary = components['schemas']['DeploymentSummary'];
export type DeploymentStatus = DeploymentSummary['status'];
export type DeploymentDevice = components['schemas']['DeploymentDevice'];
export type DeploymentDeviceStatus = DeploymentDevice['status'];
export type DeviceCounts = Record<DeploymentDeviceStatus, number>;
export type WaveSize = components['schemas']['WaveSize'];
export type Tone = 'green' | 'red' | 'amber' | 'blue' | 'gray' | 'neutral';

// ---- statuses -----------------------------------------------------------------------------------------

export const deploymentStatusInfo: Record<DeploymentStatus, { label: string; tone: Tone; title: string }> = {
  pending_approval: { label: 'Pending approval', tone: 'amber', title: 'Waits for a second operator to approve it' },
  rejected: { label: 'Rejected', tone: 'gray', title: 'An operator rejected it: nothing was installed' },
  scheduled: { label: 'Scheduled', tone: 'neutral', title: 'Waits for its start time' },
  running: { label: 'Running', tone: 'blue', title: 'Devices are installing' },
  paused: { label: 'Paused', tone: 'amber', title: 'No new device starts until it is resumed' },
  completed: { label: 'Completed', tone: 'green', title: 'Every wave is done' },
  failed: { label: 'Failed', tone: 'red', title: 'Its rollout failed, or its deadline passed with waves left' },
  aborted: { label: 'Aborted', tone: 'gray', title: 'An operator aborted it' },
  rolling_back: { label: 'Rolling back', tone: 'amber', title: 'Uninstalling from the devices it touched' },
  rolled_back: { label: 'Rolled back', tone: 'gray', title: 'Uninstalled from the devices it touched' },
};
export const deploymentStatusOrder = Object.keys(deploymentStatusInfo) as DeploymentStatus[];
export const deploymentStatusLabel = (s: string) => deploymentStatusInfo[s as DeploymentStatus]?.label ?? s;

/** The statuses a deployment does not leave (the dashboard stops refreshing). */
const FINISHED: ReadonlySet<DeploymentStatus> = new Set(['rejected', 'completed', 'failed', 'aborted', 'rolled_back']);
export const isFinished = (s: DeploymentStatus) => FINISHED.has(s);

export const deviceStatusInfo: Record<DeploymentDeviceStatus, { label: string; tone: Tone }> = {
  planned: { label: 'Planned', tone: 'neutral' },
  waiting_for_window: { label: 'Waiting for window', tone: 'amber' },
  queued: { label: 'Queued', tone: 'neutral' },
  downloading: { label: 'Downloading', tone: 'blue' },
  installing: { label: 'Installing', tone: 'blue' },
  succeeded: { label: 'Succeeded', tone: 'green' },
  already_installed: { label: 'Already installed', tone: 'green' },
  failed: { label: 'Failed', tone: 'red' },
  reboot_pending: { label: 'Reboot pending', tone: 'amber' },
  skipped: { label: 'Skipped', tone: 'gray' },
  cancelled: { label: 'Cancelled', tone: 'gray' },
};
/** Device statuses in the order a device goes through them (bars and legends). */
export const deviceStatusOrder: DeploymentDeviceStatus[] = [
  'succeeded',
  'already_installed',
  'reboot_pending',
  'failed',
  'installing',
  'downloading',
  'queued',
  'waiting_for_window',
  'skipped',
  'cancelled',
  'planned',
];
export const deviceStatusLabel = (s: string) => deviceStatusInfo[s as DeploymentDeviceStatus]?.label ?? s;

const OK: DeploymentDeviceStatus[] = ['succeeded', 'already_installed', 'reboot_pending'];
const ACTIVE: DeploymentDeviceStatus[] = ['queued', 'downloading', 'installing', 'waiting_for_window'];

/** Succeeded (already installed and reboot pending included), failed, and pending (not yet done: planned or under way). */
export function progressOf(counts: Partial<DeviceCounts>): { succeeded: number; failed: number; pending: number; inProgress: number } {
  const n = (s: DeploymentDeviceStatus) => counts[s] ?? 0;
  return {
    succeeded: OK.reduce((t, s) => t + n(s), 0),
    failed: n('failed'),
    pending: n('planned') + ACTIVE.reduce((t, s) => t + n(s), 0),
    inProgress: ACTIVE.reduce((t, s) => t + n(s), 0),
  };
}

/** A wave's (or the deployment's) devices as bar segments in percent of `size`, in the order of deviceStatusOrder. */
export function barSegments(
  counts: Partial<DeviceCounts>,
  size: number,
): Array<{ status: DeploymentDeviceStatus; count: number; percent: number }> {
  const total = Math.max(size, 1);
  return deviceStatusOrder
    .map((status) => ({ status, count: counts[status] ?? 0 }))
    .filter((s) => s.count > 0)
    .map((s) => ({ ...s, percent: (s.count / total) * 100 }));
}

// ---- controls -----------------------------------------------------------------------------------------

export const controlActions = ['pause', 'resume', 'abort', 'rollback'] as const;
export type ControlAction = (typeof controlActions)[number];
export const isControlAction = (v: unknown): v is ControlAction =>
  typeof v === 'string' && (controlActions as readonly string[]).includes(v);
export const controlLabels: Record<ControlAction, string> = { pause: 'Pause', resume: 'Resume', abort: 'Abort', rollback: 'Roll back' };
export const controlHints: Record<ControlAction, string> = {
  pause: 'No new device starts; installs under way finish.',
  resume: 'Devices start again where the deployment left off.',
  abort: 'No new device starts and the waves left are cancelled. This cannot be undone.',
  rollback: 'Uninstalls from every device the deployment touched, then reinstalls what each had before.',
};

/**
 * The controls a status offers. The workflow decides (it refuses with a reason, shown as it is); these are the ones
 * that can make sense, so that the page does not offer Resume on a running deployment. A deployment that ended
 * (completed, failed, aborted) can still be rolled back: the API starts a new run of its workflow for it.
 */
export function controlsFor(d: Pick<DeploymentSummary, 'status' | 'action'>): ControlAction[] {
  switch (d.status) {
    case 'scheduled':
    case 'running':
      return ['pause', 'abort', ...(d.action === 'install' ? (['rollback'] as const) : [])];
    case 'paused':
      return ['resume', 'abort', ...(d.action === 'install' ? (['rollback'] as const) : [])];
    case 'completed':
    case 'failed':
    case 'aborted':
      return d.action === 'install' ? ['rollback'] : [];
    default:
      // Rejected, rolled back, rolling back, or waiting for approval.
      return [];
  }
}

// ---- the wizard ----------------------------------------------------------------------------------------

/**
 * The waves field: sizes separated by commas or spaces, each a cumulative percentage ("10%") or a device count ("5").
 * "5, 25%, 100%" is five devices, then up to a quarter, then the rest. Null for an empty field (the API's default: one
 * wave of everything); a message when a size is not one.
 */
export function parseWaves(text: string): { ok: true; waves: WaveSize[] | null } | { ok: false; message: string } {
  const parts = text
    .split(/[\s,;]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) return { ok: true, waves: null };
  const waves: WaveSize[] = [];
  for (const part of parts) {
    const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(part);
    if (!m) return { ok: false, message: `“${part.slice(0, 20)}” is neither a percentage (25%) nor a device count (5)` };
    const n = Number(m[1]);
    if (m[2]) waves.push({ percent: n });
    else if (Number.isInteger(n)) waves.push({ count: n });
    else return { ok: false, message: `“${part}”: a device count is a whole number` };
  }
  return { ok: true, waves };
}

export function wavesText(waves: readonly WaveSize[] | undefined): string {
  return (waves ?? []).map((w) => ('percent' in w ? `${w.percent}%` : String(w.count))).join(', ');
}

/** The wizard's fields, as named in the form. */
export type DeploymentFormField =
  | 'name'
  | 'versionId'
  | 'action'
  | 'target'
  | 'startsAt'
  | 'deadlineAt'
  | 'pilotGroupId'
  | 'waves'
  | 'soakMinutes'
  | 'successPercent'
  | 'autoPauseFailurePercent'
  | 'autoPauseMinResults'
  | 'healthMaxExcessPercent'
  | 'healthMinDevices'
  | 'healthOfflineMinutes'
  | 'healthScript'
  | 'healthTimeoutSeconds'
  | 'rebootMessage'
  | 'rebootDelaySeconds'
  | 'maxKilobytesPerSecond'
  | 'sourceIds'
  | 'retryCount'
  | 'retryBackoffSeconds'
  | 'maxConcurrency';

const FIELD_OF_PATH: Array<[prefix: string, field: DeploymentFormField]> = [
  ['name', 'name'],
  ['versionId', 'versionId'],
  ['action', 'action'],
  ['targets', 'target'],
  ['expectedDeviceCount', 'target'],
  ['startsAt', 'startsAt'],
  ['deadlineAt', 'deadlineAt'],
  ['strategy.pilotGroupId', 'pilotGroupId'],
  ['strategy.waves', 'waves'],
  ['strategy.soakSeconds', 'soakMinutes'],
  ['strategy.successPercent', 'successPercent'],
  ['strategy.autoPause.failurePercent', 'autoPauseFailurePercent'],
  ['strategy.autoPause.minResults', 'autoPauseMinResults'],
  ['strategy.health.maxExcessPercent', 'healthMaxExcessPercent'],
  ['strategy.health.minDevices', 'healthMinDevices'],
  ['strategy.health.offlineAfterSeconds', 'healthOfflineMinutes'],
  ['strategy.health.script.timeoutSeconds', 'healthTimeoutSeconds'],
  ['strategy.health.script', 'healthScript'],
  ['strategy.rebootNotice.delaySeconds', 'rebootDelaySeconds'],
  ['strategy.rebootNotice', 'rebootMessage'],
  ['strategy.network.maxBytesPerSecond', 'maxKilobytesPerSecond'],
  ['strategy.network.sourceIds', 'sourceIds'],
  ['strategy.retries.count', 'retryCount'],
  ['strategy.retries.backoffSeconds', 'retryBackoffSeconds'],
  ['strategy.maxConcurrency', 'maxConcurrency'],
];

/** Where each of the API's issues belongs on the wizard; the others as "path: message". */
export function deploymentFormIssues(errors: ReadonlyArray<{ path: string; message: string }>): {
  fields: Partial<Record<DeploymentFormField, string>>;
  other: string[];
} {
  const fields: Partial<Record<DeploymentFormField, string>> = {};
  const other: string[] = [];
  for (const { path: given, message } of errors) {
    const path = given.replace(/^body[./]/, '');
    const hit = FIELD_OF_PATH.find(([prefix]) => path === prefix || path.startsWith(`${prefix}.`));
    if (hit) fields[hit[1]] = fields[hit[1]] ? `${fields[hit[1]]}; ${message}` : message;
    else other.push(path ? `${path}: ${message}` : message);
  }
  return { fields, other };
}

// ---- the chart --------------------------------------------------------------------------------------------

export type TimelinePoint = { at: string; succeeded: number; failed: number };

/**
 * The chart's two lines (cumulative succeeded and failed) as SVG polyline points in a width × height box, and the
 * largest value (the top of the y axis). Times are spread by their instants, not by index.
 */
export function chartLines(
  points: readonly TimelinePoint[],
  width: number,
  height: number,
): { succeeded: string; failed: string; max: number; start: number; end: number } {
  const times = points.map((p) => Date.parse(p.at));
  const start = times[0] ?? 0;
  const end = times.at(-1) ?? 0;
  const span = Math.max(end - start, 1);
  const max = Math.max(1, ...points.map((p) => Math.max(p.succeeded, p.failed)));
  const line = (value: (p: TimelinePoint) => number) =>
    points
      .map((p, i) => {
        const x = ((times[i]! - start) / span) * width;
        const y = height - (value(p) / max) * height;
        return `${round(x)},${round(y)}`;
      })
      .join(' ');
  return { succeeded: line((p) => p.succeeded), failed: line((p) => p.failed), max, start, end };
}

const round = (n: number) => Math.round(n * 10) / 10;

// ---- maintenance windows ------------------------------------------------------------------------------------

export const weekdayLabels = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/** "Daily 02:00 for 2 h" / "Mon, Wed 22:30 for 90 min", in the window's zone. */
export function windowText(w: { recurrence: string; daysOfWeek: number[]; startTime: string; durationMinutes: number }): string {
  const days =
    w.recurrence === 'daily'
      ? 'Daily'
      : [...w.daysOfWeek]
          .sort((a, b) => a - b)
          .map((d) => weekdayLabels[d] ?? d)
          .join(', ');
  return `${days} ${w.startTime} for ${minutesText(w.durationMinutes)}`;
}

export function minutesText(minutes: number): string {
  if (minutes % 1440 === 0) return `${minutes / 1440} d`;
  if (minutes % 60 === 0) return `${minutes / 60} h`;
  return `${minutes} min`;
}
