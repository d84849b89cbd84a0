/**
 * How a virtual device behaves: when it answers, what its commands return, when it reboots or stays away.
 * A fleet has one default behaviour and subsets that override parts of it for the devices they select
 * (by index range, hostname pattern, every n-th device, or a random fraction fixed by the seed).
 */

export interface CommandBehaviour {
  /** How long a command "runs", drawn uniformly from [min, max] ms. */
  latencyMs: readonly [number, number];
  /** Exit code of a command that does not fail. 0 reports `succeeded`, anything else `failed`. */
  exitCode: number;
  /** Probability (0…1) that a command fails instead, with `failExitCode`. */
  failRate: number;
  failExitCode: number;
  /** Output chunks posted while the command runs (stdout), and the bytes in each. */
  outputChunks: number;
  outputBytes: number;
  /** Probability (0…1) that a command reboots the device once it reported its result. */
  rebootRate: number;
  /** How long a reboot keeps the device away, ms. */
  rebootOfflineMs: number;
  /** Whether the agent's journal survives a reboot (false: it forgets the commands it ran). */
  keepJournal: boolean;
  /** Enrolled but never polls: an offline device. */
  offline: boolean;
  /** Probability (0…1) that a `software.install` (or one of its dependencies) fails; null: `failRate`. */
  installFailRate: number | null;
  /** The installer's exit code when an install fails (default 1603, MSI's fatal error). */
  installFailExitCode: number;
  /**
   * Probability (0…1) that a device goes silent once it reported a successful install (`installed` or
   * `reboot_required`): it stops polling, checking in and heartbeating until an action brings it back
   * (`revive`, `goOnline` or `reboot`), as an update that broke the device.
   */
  silentAfterInstallRate: number;
  /**
   * Software commands download their artifacts (`GET /agent/v1/artifacts/{sha256}` for a depot source, the URL of
   * an http/s3 one) with the device's credentials, hashing what arrives, and report bytes and source; off: nothing is
   * downloaded (0 bytes, no source).
   */
  downloadArtifacts: boolean;
  /**
   * The device is on a metered connection: a software command whose network policy says `skipMetered` ends
   * `deferred_metered` without downloading or installing (as the real agent's probe would say). Changeable while the
   * fleet runs (`fleet.setMetered`).
   */
  metered: boolean;
}

export const defaultBehaviour: CommandBehaviour = {
  latencyMs: [0, 0],
  exitCode: 0,
  failRate: 0,
  failExitCode: 1,
  outputChunks: 0,
  outputBytes: 64,
  rebootRate: 0,
  rebootOfflineMs: 30_000,
  keepJournal: true,
  offline: false,
  installFailRate: null,
  installFailExitCode: 1603,
  silentAfterInstallRate: 0,
  downloadArtifacts: false,
  metered: false,
};

/** Which devices a subset (or an action like `fleet.reboot`) applies to; every given criterion must hold. */
export interface DeviceSelector {
  /** Inclusive index ranges, e.g. [[0, 99]]. */
  indexes?: ReadonlyArray<readonly [number, number]>;
  /** A hostname pattern with `*` (any run of characters) and `?` (one character), case-insensitive. */
  hostname?: string;
  /** Every n-th device (index % n === 0). */
  every?: number;
  /** This fraction (0…1) of the devices, the same ones for the same seed. */
  fraction?: number;
}

export interface BehaviourSubset {
  select: DeviceSelector;
  behaviour: Partial<CommandBehaviour>;
}

export interface DeviceIdentity {
  index: number;
  hostname: string;
}

/** A glob as a predicate, without building a regular expression from it (linear, no backtracking blow-ups). */
export function globMatcher(pattern: string): (text: string) => boolean {
  const p = pattern.toLowerCase();
  return (input: string) => {
    const s = input.toLowerCase();
    let pi = 0;
    let si = 0;
    let star = -1;
    let mark = 0;
    while (si < s.length) {
      if (pi < p.length && (p[pi] === '?' || p[pi] === s[si])) {
        pi++;
        si++;
      } else if (pi < p.length && p[pi] === '*') {
        star = pi++;
        mark = si;
      } else if (star >= 0) {
        pi = star + 1;
        si = ++mark;
      } else {
        return false;
      }
    }
    while (pi < p.length && p[pi] === '*') pi++;
    return pi === p.length;
  };
}

/** A stable number in [0, 1) per (seed, index): fractions pick the same devices on every run. */
export function unitHash(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

export function selectorMatcher(select: DeviceSelector, seed: number): (device: DeviceIdentity) => boolean {
  const host = select.hostname === undefined ? undefined : globMatcher(select.hostname);
  return (d) =>
    (select.indexes === undefined || select.indexes.some(([from, to]) => d.index >= from && d.index <= to)) &&
    (host === undefined || host(d.hostname)) &&
    (select.every === undefined || d.index % select.every === 0) &&
    (select.fraction === undefined || unitHash(seed, d.index) < select.fraction);
}

/** The behaviour of one device: the default, then every matching subset in order (later ones win). */
export function behaviourFor(
  device: DeviceIdentity,
  base: CommandBehaviour,
  subsets: readonly BehaviourSubset[],
  seed: number,
): CommandBehaviour {
  let b = base;
  for (const subset of subsets) if (selectorMatcher(subset.select, seed)(device)) b = { ...b, ...subset.behaviour };
  return b;
}

/** A small seeded generator (mulberry32): a run with the same seed makes the same choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export interface CommandOutcome {
  latencyMs: number;
  exitCode: number;
  reboot: boolean;
}

/** What one command does on a device with this behaviour. */
export function drawOutcome(b: CommandBehaviour, random: () => number): CommandOutcome {
  const [min, max] = b.latencyMs;
  const latencyMs = Math.round(min + random() * (max - min));
  const fails = b.failRate > 0 && random() < b.failRate;
  return { latencyMs, exitCode: fails ? b.failExitCode : b.exitCode, reboot: b.rebootRate > 0 && random() < b.rebootRate };
}
