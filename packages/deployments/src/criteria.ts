/**
 * The verdicts a rollout acts on (pure): whether a wave running now crossed its auto-pause threshold, whether a
 * finished wave met its success criteria, and whether the devices it updated are less healthy than those not yet
 * updated (the post-install health analysis). Each returns the reason to show, or null.
 */

/** A wave's devices by where they stand (deploymentDeviceStatuses folded into what the verdicts need). */
export interface WaveTally {
  total: number;
  /** Succeeded, already installed, or installed with a reboot pending. */
  succeeded: number;
  /** Failed for good: no retry left (or not a failure a retry can help). */
  failed: number;
  /** Failed in a way a retry may help (offline, timed out, download failed), with attempts left. */
  retrying: number;
  /** Their requirements are not met: nothing was installed. Neither success nor failure. */
  skipped: number;
  cancelled: number;
  /** Not finished: planned, waiting for a window, queued, downloading, installing. */
  pending: number;
}

export const emptyTally = (): WaveTally => ({ total: 0, succeeded: 0, failed: 0, retrying: 0, skipped: 0, cancelled: 0, pending: 0 });

export interface AutoPause {
  failurePercent: number;
  minResults: number;
}

const pct = (n: number, of: number) => (of === 0 ? 0 : (n / of) * 100);
const show = (p: number) => `${Math.round(p * 10) / 10}%`;

/**
 * Auto-pause: once at least `minResults` devices of the wave have a result (succeeded or failed for good), more than
 * `failurePercent` of them failed.
 */
export function autoPauseReason(t: WaveTally, rule: AutoPause | null): string | null {
  if (!rule) return null;
  const results = t.succeeded + t.failed;
  if (results < rule.minResults) return null;
  const failed = pct(t.failed, results);
  if (failed <= rule.failurePercent) return null;
  return `${t.failed} of ${results} results failed (${show(failed)}), above the auto-pause threshold of ${show(rule.failurePercent)}`;
}

/** The share of the wave's devices that succeeded, skipped devices left out; null when none count. */
export function successPercent(t: WaveTally): number | null {
  const judged = t.total - t.skipped;
  return judged <= 0 ? null : pct(t.succeeded, judged);
}

/** Success criteria of a finished wave: at least `required` percent of its devices (skipped ones left out) succeeded. */
export function successCriteriaReason(t: WaveTally, required: number, label: string): string | null {
  const share = successPercent(t);
  if (share === null || share >= required) return null;
  return `${label}: ${t.succeeded} of ${t.total - t.skipped} devices succeeded (${show(share)}), below the required ${show(required)}`;
}

/** What the health analysis of a soak measured. */
export interface HealthSample {
  /** Devices the wave updated, watched during its soak… */
  watched: number;
  /** …of which stopped checking in or failed the health script. */
  unhealthy: number;
  /** Devices of the deployment not yet updated, watched the same way (offline only): the baseline. */
  baselineWatched: number;
  baselineUnhealthy: number;
}

export interface HealthRule {
  maxExcessPercent: number;
  minDevices: number;
}

/**
 * The wave's updated devices are unhealthy more often than the baseline by more than `maxExcessPercent` points
 * (judged once it has `minDevices` watched devices). Comparing with devices not yet updated keeps a general outage
 * (a site losing its network) from being blamed on the package.
 */
export function healthReason(h: HealthSample, rule: HealthRule, label: string): string | null {
  if (h.watched < rule.minDevices) return null;
  const rate = pct(h.unhealthy, h.watched);
  const baseline = pct(h.baselineUnhealthy, h.baselineWatched);
  if (rate - baseline <= rule.maxExcessPercent) return null;
  return (
    `${label}: ${h.unhealthy} of ${h.watched} updated devices are unhealthy (${show(rate)}) against ${show(baseline)} of the devices ` +
    `not yet updated, more than ${show(rule.maxExcessPercent)} above`
  );
}
