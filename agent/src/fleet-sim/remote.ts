/**
 * `spawnFleet`: the fleet simulator in a child process, with the same operations as `startFleet` (as
 * promises) and its command/result events. Benchmarks use it so the API's CPU and memory are measured
 * without the simulator's. The child's open-file limit is raised to the hard limit (a socket per device).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ArtifactDownload } from './artifact-download.ts';
import type { CommandBehaviour, DeviceSelector } from './behaviour.ts';
import type { FleetDevice } from './fleet.ts';
import type { FleetStatsSnapshot } from './fleet-stats.ts';
import type { ChildMessage, FleetCall, ParentMessage, RemoteFleetOptions } from './ipc.ts';
import type { CommandEvent, ResultEvent, VirtualAgentStatus } from './virtual-agent.ts';

export interface RemoteFleet {
  /** The child's process ID (its RSS and CPU are the simulator's). */
  readonly pid: number;
  /** Settles once every device is online (or deliberately offline); rejects if enrolment failed. */
  readonly ready: Promise<void>;
  stats(): Promise<FleetStatsSnapshot>;
  resetStats(): Promise<void>;
  counts(): Promise<Partial<Record<VirtualAgentStatus, number>>>;
  devices(select?: DeviceSelector): Promise<FleetDevice[]>;
  goOffline(select: DeviceSelector, opts?: { goodbye?: boolean }): Promise<void>;
  goOnline(select: DeviceSelector): Promise<void>;
  reboot(select: DeviceSelector, opts?: { offlineMs?: number; keepJournal?: boolean }): Promise<void>;
  revive(select?: DeviceSelector): Promise<number>;
  removeSoftware(select: DeviceSelector | undefined, versionId: string): Promise<number>;
  addSoftware(select: DeviceSelector | undefined, versionId: string): Promise<number>;
  changeBehaviour(select: DeviceSelector | undefined, changes: Partial<CommandBehaviour>): Promise<number>;
  downloadArtifact(select: DeviceSelector | undefined, sha256: string, opts?: { timeoutMs?: number }): Promise<ArtifactDownload[]>;
  /** Stops the devices and waits for the child to exit. */
  stop(opts?: { goodbye?: boolean }): Promise<void>;
}

export interface SpawnFleetOptions {
  onCommand?: (event: CommandEvent) => void;
  onResult?: (event: ResultEvent) => void;
  /** The child's stderr lines (default: written to this process's stderr). */
  onLog?: (line: string) => void;
  /** Extra flags for node (e.g. --max-old-space-size=4096). */
  nodeOptions?: string[];
}

const cliPath = fileURLToPath(new URL('./cli.ts', import.meta.url));

export async function spawnFleet(options: RemoteFleetOptions, opts: SpawnFleetOptions = {}): Promise<RemoteFleet> {
  const node = [process.execPath, ...(opts.nodeOptions ?? []), '--import', import.meta.resolve('tsx'), cliPath, '--ipc'];
  // A shell only to raise the soft open-file limit for the child; the command line is ours, quoted.
  const quoted = node.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  const child: ChildProcess = spawn('/bin/sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${quoted}`], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    // Structured clone: options such as `rampPerSecond: Infinity` survive the trip.
    serialization: 'advanced',
  });
  child.stderr?.setEncoding('utf8');
  let partial = '';
  child.stderr?.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) (opts.onLog ?? ((l) => process.stderr.write(`[fleet-sim] ${l}\n`)))(line);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let resolveStarted!: () => void;
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const started = new Promise<void>((resolve) => (resolveStarted = resolve));
  const ready = new Promise<void>((resolve, reject) => ((resolveReady = resolve), (rejectReady = reject)));
  ready.catch(() => {});
  child.on('message', (raw) => {
    const m = raw as ChildMessage;
    if (m.type === 'started') resolveStarted();
    else if (m.type === 'ready') {
      resolveStarted();
      if (m.error) rejectReady(new Error(m.error));
      else resolveReady();
    } else if (m.type === 'reply') {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error));
      else p?.resolve(m.value);
    } else if (m.type === 'events') {
      for (const e of m.commands) opts.onCommand?.(e);
      for (const e of m.results) opts.onResult?.(e);
    }
  });
  void exited.then(() => {
    const gone = new Error('the fleet simulator process exited');
    rejectReady(gone);
    for (const p of pending.values()) p.reject(gone);
    pending.clear();
  });

  const call = <T>(c: FleetCall) =>
    new Promise<T>((resolve, reject) => {
      if (!child.connected) return reject(new Error('the fleet simulator process is gone'));
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ type: 'call', id, call: c } satisfies ParentMessage);
    });

  child.send({ type: 'start', options, events: Boolean(opts.onCommand || opts.onResult) } satisfies ParentMessage);
  await Promise.race([started, exited.then(() => Promise.reject(new Error('the fleet simulator process exited before it started')))]);

  return {
    pid: child.pid!,
    ready,
    stats: () => call({ method: 'stats' }),
    resetStats: () => call({ method: 'resetStats' }),
    counts: () => call({ method: 'counts' }),
    devices: (select) => call({ method: 'devices', select }),
    goOffline: (select, o = {}) => call({ method: 'goOffline', select, goodbye: o.goodbye }),
    goOnline: (select) => call({ method: 'goOnline', select }),
    reboot: (select, o = {}) => call({ method: 'reboot', select, offlineMs: o.offlineMs, keepJournal: o.keepJournal }),
    revive: (select) => call({ method: 'revive', select }),
    removeSoftware: (select, versionId) => call({ method: 'removeSoftware', select, versionId }),
    addSoftware: (select, versionId) => call({ method: 'addSoftware', select, versionId }),
    changeBehaviour: (select, changes) => call({ method: 'changeBehaviour', select, changes }),
    downloadArtifact: (select, sha256, o = {}) => call({ method: 'downloadArtifact', select, sha256, timeoutMs: o.timeoutMs }),
    async stop(o = {}) {
      if (child.connected) await call({ method: 'stop', goodbye: o.goodbye }).catch(() => {});
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
