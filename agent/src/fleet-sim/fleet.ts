/**
 * `startFleet`: many virtual agents in one process, each with its own device credentials, speaking the
 * real agent protocol over HTTP. Devices come online at a ramp-up rate; each group of devices shares one
 * keep-alive connection pool sized for its long-polls plus the posts beside them.
 */
import { Pool } from 'undici';
import { Backoff, sleep } from '../backoff.ts';
import { downloadArtifacts, fetchManifestArtifact, type ArtifactDownload, type DownloadOptions } from './artifact-download.ts';
import { AGENT_VERSION } from '../version.ts';
import {
  behaviourFor,
  defaultBehaviour,
  seededRandom,
  selectorMatcher,
  type BehaviourSubset,
  type CommandBehaviour,
  type DeviceSelector,
} from './behaviour.ts';
import { FleetStats, type FleetStatsSnapshot } from './fleet-stats.ts';
import { ProtocolCallError, ProtocolClient } from './protocol-client.ts';
import { readFleetState, writeFleetState, type FleetDeviceState } from './state-file.ts';
import { VirtualAgent, type AgentEnvironment, type CommandEvent, type ResultEvent, type VirtualAgentStatus } from './virtual-agent.ts';

export interface FleetOptions {
  serverUrl: string;
  /** A multi-use enrollment token; needed unless every device has saved credentials in `stateFile`. */
  enrollmentToken?: string;
  agents: number;
  /** Devices brought online per second (enrolment, first check-in, polling). Default 100; Infinity for all at once. */
  rampPerSecond?: number;
  /** Enrolments and first check-ins in flight at once (default 32). */
  enrollConcurrency?: number;
  /** Where credentials are kept between runs (JSON, mode 0600); devices found there skip enrolment. */
  stateFile?: string;
  /** Devices the state file says went silent come back online at start (default: they stay silent). */
  reviveSilent?: boolean;
  /** Hostnames are `<prefix>-<index, 5 digits>` (default prefix `sim`). */
  hostnamePrefix?: string;
  /** Index of the first device (default 0): simulators side by side use disjoint ranges. */
  firstIndex?: number;
  /** Every device's behaviour, over the defaults (instant success). */
  behaviour?: Partial<CommandBehaviour>;
  /** Overrides for the devices each selector picks; later subsets win. */
  subsets?: BehaviourSubset[];
  /** Overrides the server's check-in interval; 0 checks in only when a device comes online. */
  checkinIntervalSeconds?: number;
  /** Each reaction (start after a command arrives) waits a random 0…jitterMs first (default 0). */
  jitterMs?: number;
  /** Seeds every random choice (default 1). */
  seed?: number;
  /** Devices per connection pool (default 500). */
  groupSize?: number;
  /** Timeout of every call but the long-poll (default 15 s). */
  requestTimeoutMs?: number;
  /** `channel` (default): each device's calls over its agent channel once the server offers it, as the real agent; `http`: long-polls. */
  transport?: 'channel' | 'http';
  onCommand?: (event: CommandEvent) => void;
  onResult?: (event: ResultEvent) => void;
}

export interface FleetDevice {
  index: number;
  hostname: string;
  deviceId: string | undefined;
  status: VirtualAgentStatus;
  bootId: string;
  /** Installed package versions (version IDs, sorted). */
  installed: string[];
  /** Went silent after an install and was not brought back since (status `silent`, or offline/stopped meanwhile). */
  silent: boolean;
}

export interface Fleet {
  /** Settles once every device is enrolled and online (or deliberately offline); rejects if enrolment failed. */
  readonly ready: Promise<void>;
  devices(select?: DeviceSelector): FleetDevice[];
  /** How many devices are in each state. */
  counts(): Partial<Record<VirtualAgentStatus, number>>;
  stats(): FleetStatsSnapshot;
  /** Starts a new measurement window. */
  resetStats(): void;
  /** The selected devices stop at once (as if killed or cut off); with `goodbye`, they stop cleanly. */
  goOffline(select: DeviceSelector, opts?: { goodbye?: boolean }): Promise<void>;
  goOnline(select: DeviceSelector): Promise<void>;
  /** The selected devices go away for `offlineMs` and come back with a new boot ID (silent ones too). */
  reboot(select: DeviceSelector, opts?: { offlineMs?: number; keepJournal?: boolean }): Promise<void>;
  /** Silent devices among the selected ones come back online (same boot ID); resolves to how many did. */
  revive(select?: DeviceSelector): Promise<number>;
  /**
   * A user uninstalled (`removeSoftware`) or installed (`addSoftware`) a package version by hand on the selected
   * devices, outside OpsConductor; returns how many devices changed.
   */
  removeSoftware(select: DeviceSelector | undefined, versionId: string): number;
  /** The selected devices move to (or off) a metered connection (behaviour `metered`); returns how many changed. */
  setMetered(select: DeviceSelector | undefined, metered: boolean): number;
  addSoftware(select: DeviceSelector | undefined, versionId: string): number;
  /** From now on the selected devices behave so (over their behaviour so far), e.g. a fault injected mid-rollout; returns how many. */
  changeBehaviour(select: DeviceSelector | undefined, changes: Partial<CommandBehaviour>): number;
  /**
   * The selected enrolled devices download a depot artifact at once with their own credentials, online or not (the
   * server decides by their open commands); each result with the SHA-256 of what arrived.
   */
  downloadArtifact(select: DeviceSelector | undefined, sha256: string, opts?: DownloadOptions): Promise<ArtifactDownload[]>;
  stop(opts?: { goodbye?: boolean }): Promise<void>;
}

const ENROLL_MAX_ATTEMPTS = 8;
const STATE_SAVE_DELAY_MS = 1000;

export function hostnameFor(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(5, '0')}`;
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  if (!Number.isInteger(options.agents) || options.agents < 1) throw new Error('agents must be a positive integer');
  const seed = options.seed ?? 1;
  const prefix = options.hostnamePrefix ?? 'sim';
  const firstIndex = options.firstIndex ?? 0;
  const groupSize = Math.max(1, options.groupSize ?? 500);
  const base: CommandBehaviour = { ...defaultBehaviour, ...options.behaviour };
  const subsets = options.subsets ?? [];
  const stats = new FleetStats();
  const random = seededRandom(seed);
  const saved = options.stateFile ? await readFleetState(options.stateFile, options.serverUrl) : new Map<number, FleetDeviceState>();
  const credentials = new Map(saved);
  let credentialsChanged = false;
  const byIndex = new Map<number, VirtualAgent>();
  let stateTimer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => {
    writing = writing
      .catch(() => {})
      .then(async () => {
        if (!options.stateFile || !credentialsChanged) return;
        credentialsChanged = false;
        // Devices of this run as they are now; others in the file (another range, another prefix) as they were.
        const devices = [...credentials.values()].map((c): FleetDeviceState => {
          const agent = byIndex.get(c.index);
          if (!agent || agent.hostname !== c.hostname) return c;
          const installed = agent.installedVersions();
          return {
            index: c.index,
            hostname: c.hostname,
            deviceId: c.deviceId,
            deviceSecret: c.deviceSecret,
            ...(installed.length ? { software: installed } : {}),
            ...(agent.silent ? { silent: true } : {}),
          };
        });
        await writeFleetState(options.stateFile, options.serverUrl, devices);
      });
    return writing;
  };
  /** Software state changed: saved within a second (one write at a time), so a killed simulator loses little. */
  const stateChanged = () => {
    if (!options.stateFile) return;
    credentialsChanged = true;
    stateTimer ??= setTimeout(() => {
      stateTimer = undefined;
      save().catch((err: unknown) => stats.note(`saving ${options.stateFile} failed: ${String((err as Error)?.message ?? err)}`));
    }, STATE_SAVE_DELAY_MS);
    stateTimer.unref();
  };

  const pools: Pool[] = [];
  const agents: VirtualAgent[] = [];
  for (let i = 0; i < options.agents; i++) {
    const index = firstIndex + i;
    if (i % groupSize === 0) {
      // A socket per long-poll, and room for the start/output/result posts of the devices that got work.
      pools.push(
        new Pool(new URL(options.serverUrl).origin, { connections: Math.ceil(groupSize * 1.5), pipelining: 1, keepAliveTimeout: 30_000 }),
      );
    }
    const env: AgentEnvironment = {
      client: new ProtocolClient({
        serverUrl: options.serverUrl,
        dispatcher: pools.at(-1)!,
        requestTimeoutMs: options.requestTimeoutMs,
        userAgent: `opsconductor-fleet-sim/${AGENT_VERSION}`,
        ...(options.transport ? { transport: options.transport } : {}),
      }),
      stats,
      random,
      jitterMs: options.jitterMs ?? 0,
      enrollmentToken: options.enrollmentToken,
      ...(options.checkinIntervalSeconds !== undefined ? { checkinIntervalSeconds: options.checkinIntervalSeconds } : {}),
      onCommand: options.onCommand,
      onResult: options.onResult,
      onCredentials: (c) => {
        credentials.set(c.index, c);
        credentialsChanged = true;
      },
      fetchArtifact: (secret, manifest, signal) => fetchManifestArtifact(options.serverUrl, secret, manifest, { signal }),
      onStateChange: stateChanged,
    };
    const hostname = hostnameFor(prefix, index);
    const known = saved.get(index)?.hostname === hostname ? saved.get(index) : undefined;
    const agent = new VirtualAgent(
      index,
      hostname,
      behaviourFor({ index, hostname }, base, subsets, seed),
      env,
      known && { index: known.index, hostname: known.hostname, deviceId: known.deviceId, deviceSecret: known.deviceSecret },
      { installed: known?.software ?? [], silent: !options.reviveSilent && (known?.silent ?? false) },
    );
    agents.push(agent);
    byIndex.set(index, agent);
  }

  let stopping = false;
  const ramp = rampUp(agents, options, () => stopping, save);
  ramp.catch(() => {}); // surfaced through `ready`

  const select = (selector?: DeviceSelector) => {
    if (!selector) return agents;
    const matches = selectorMatcher(selector, seed);
    return agents.filter((a) => matches(a));
  };

  return {
    ready: ramp,
    devices: (selector) =>
      select(selector).map((a) => ({
        index: a.index,
        hostname: a.hostname,
        deviceId: a.deviceId,
        status: a.status,
        bootId: a.bootId,
        installed: a.installedVersions(),
        silent: a.silent,
      })),
    counts() {
      const counts: Partial<Record<VirtualAgentStatus, number>> = {};
      for (const a of agents) counts[a.status] = (counts[a.status] ?? 0) + 1;
      return counts;
    },
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    async goOffline(selector, opts = {}) {
      await Promise.all(select(selector).map((a) => a.goOffline(opts)));
    },
    async goOnline(selector) {
      await Promise.all(
        select(selector)
          .filter((a) => a.credential && a.status !== 'rejected')
          .map((a) => a.goOnline()),
      );
    },
    async reboot(selector, opts = {}) {
      await Promise.all(
        select(selector).map((a) => a.reboot(opts.offlineMs ?? a.behaviour.rebootOfflineMs, opts.keepJournal ?? a.behaviour.keepJournal)),
      );
    },
    async revive(selector) {
      const revived = await Promise.all(select(selector).map((a) => a.revive()));
      return revived.filter(Boolean).length;
    },
    removeSoftware: (selector, versionId) => select(selector).filter((a) => a.removeSoftware(versionId)).length,
    setMetered: (selector, metered) =>
      select(selector).filter((a) => {
        const changed = a.metered !== metered;
        a.metered = metered;
        return changed;
      }).length,
    addSoftware: (selector, versionId) => select(selector).filter((a) => a.addSoftware(versionId)).length,
    changeBehaviour(selector, changes) {
      const chosen = select(selector);
      for (const a of chosen) a.behaviour = { ...a.behaviour, ...changes };
      return chosen.length;
    },
    downloadArtifact: (selector, sha256, opts) =>
      downloadArtifacts(
        options.serverUrl,
        select(selector).flatMap((a) => (a.credential ? [a.credential] : [])),
        sha256,
        opts,
      ),
    async stop(opts = {}) {
      stopping = true;
      // Devices first: that also ends the first check-ins the ramp may be waiting for.
      await Promise.all(agents.map((a) => a.stop(opts)));
      await ramp.catch(() => {});
      await Promise.all(agents.map((a) => a.stop(opts))); // any the ramp brought up meanwhile
      await Promise.all(pools.map((p) => p.close()));
      clearTimeout(stateTimer);
      stateTimer = undefined;
      await save();
    },
  };
}

/**
 * Brings the devices online in index order, at most `rampPerSecond` a second and `enrollConcurrency` at a time.
 * Enrolment is retried while the server is overloaded (5xx, timeouts); a refused token fails the ramp.
 */
async function rampUp(agents: VirtualAgent[], options: FleetOptions, stopping: () => boolean, save: () => Promise<void>): Promise<void> {
  const rate = options.rampPerSecond ?? 100;
  const intervalMs = rate === Infinity || rate <= 0 ? 0 : 1000 / rate;
  const began = performance.now();
  let next = 0;
  let failure: Error | undefined;
  let enrolledSinceSave = 0;
  const worker = async () => {
    while (!failure && !stopping() && next < agents.length) {
      const i = next++;
      const agent = agents[i]!;
      const due = began + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (stopping()) return;
      if (!agent.credential) {
        try {
          await enrollWithRetry(agent, options.enrollmentToken);
        } catch (err) {
          failure = err as Error;
          return;
        }
        if (++enrolledSinceSave >= 1000) {
          enrolledSinceSave = 0;
          await save();
        }
      }
      if (agent.silent) agent.status = 'silent';
      else if (!agent.behaviour.offline) await agent.goOnline();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.enrollConcurrency ?? 32) }, worker));
  await save();
  if (failure) throw failure;
}

async function enrollWithRetry(agent: VirtualAgent, token: string | undefined): Promise<void> {
  if (!token) throw new Error(`device ${agent.hostname} has no saved credentials and no enrollment token was given`);
  const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
  for (let attempt = 1; ; attempt++) {
    try {
      await agent.enroll(token);
      return;
    } catch (err) {
      const retryable = err instanceof ProtocolCallError && err.retryable;
      if (!retryable || attempt >= ENROLL_MAX_ATTEMPTS) {
        throw new Error(`enrolling ${agent.hostname} failed: ${(err as Error).message}`, { cause: err });
      }
      await sleep(backoff.next(err.retryAfterMs));
    }
  }
}
