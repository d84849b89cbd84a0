/** The fleet simulator's command line: flags, durations, ranges and device subsets. */
import { parseArgs } from 'node:util';
import type { BehaviourSubset, CommandBehaviour, DeviceSelector } from './behaviour.ts';
import type { FleetOptions } from './fleet.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const usage = `Usage: npm run fleet-sim -- --server <url> --token <enrollment token> [options]

Simulates many agents in one process, each enrolled with its own credentials and speaking the real
agent protocol (check-in, long-poll, start, output, heartbeat, result) as the real agent does: over
its agent channel (a WebSocket) when the server offers one, else over HTTP.

Fleet
  --server <url>             API base URL (or OPSCONDUCTOR_SERVER_URL)
  --token <token>            a multi-use enrollment token (or OPSCONDUCTOR_ENROLLMENT_TOKEN);
                             not needed when every device is in --state-file
  --agents <n>               virtual devices (default 100)
  --ramp <n>/s               devices brought online per second (default 100/s; "all" for no limit)
  --enroll-concurrency <n>   enrolments in flight at once (default 32)
  --state-file <path>        keep credentials here; devices found in it skip enrolment
                             (and what they installed, and whether they went silent)
  --revive                   devices the state file says went silent come back online
  --hostname-prefix <text>   hostnames are <prefix>-00000, <prefix>-00001, … (default sim)
  --first-index <n>          index of the first device (default 0)
  --checkin-interval <dur>   override the server's check-in interval; 0 = only when coming online
  --jitter <dur>             random delay before reacting to a command (default 0)
  --seed <n>                 seeds every random choice (default 1)
  --group-size <n>           devices per connection pool (default 500)
  --transport <channel|http> channel (default): as the real agent; http: long-poll and post over HTTP

Every command (defaults: instant success)
  --latency <dur>[-<dur>]    how long a command runs, e.g. 200ms or 50-200ms or 1s-5s
  --exit-code <n>            exit code of commands that do not fail (default 0)
  --fail-rate <p>            probability 0…1 that a command fails (default 0)
  --fail-exit-code <n>       exit code of a failing command (default 1)
  --output-chunks <n>        stdout chunks posted while it runs (default 0)
  --output-bytes <n>         bytes per chunk (default 64)
  --reboot-rate <p>          probability 0…1 that a command reboots the device afterwards
  --reboot-offline <dur>     how long a reboot keeps the device away (default 30s)
  --lose-journal             a rebooted device forgets its commands (default: it keeps its journal)

Software commands (software.install / software.uninstall; each device keeps its installed versions,
in --state-file too): an install of an installed version reports already_installed, an uninstall of
a missing one not_installed; otherwise the installer exits as drawn
  --install-fail-rate <p>    probability 0…1 that an install (or a dependency) fails (default: --fail-rate)
  --install-fail-exit-code <n>
                             the installer's exit code when it fails (default 1603)
  --silent-after-install-rate <p>
                             probability 0…1 that a device goes silent after a successful install: no
                             more polls, check-ins or heartbeats until revived (SIGUSR2 to this
                             process, --revive at start, or an action from code) (default 0)
  --download-artifacts       software commands download their artifacts (depot, http/s3 sources) and
                             report bytes and source (default: no downloads)

  --subset <spec>            override the above for some devices (repeatable; later ones win):
                             comma-separated selector and behaviour keys, e.g.
                               index=0-99,exit-code=3          hostname=sim-0001*,fail-rate=1
                               every=10,latency=5s             fraction=0.05,offline
                             selectors: index=<from>-<to>[+<from>-<to>…], hostname=<glob>, every=<n>,
                             fraction=<p>; behaviour: the flags above without --, plus offline
                             (enrolled, never polls), e.g. index=100-299,install-fail-rate=0.3
                             or fraction=0.2,silent-after-install-rate=1

Run
  --duration <dur>           stop after this long (default: until SIGINT/SIGTERM)
  --stats-interval <dur>     print statistics this often (default 10s; 0 = only at the end)
  --json                     statistics as JSON lines
  --goodbye                  devices say goodbye when the simulator stops (they show offline at once)
  --help

Durations: 250ms, 5s, 2m, 1h (a bare number is milliseconds).
Open files: every device holds a socket; the npm script raises the limit to the hard limit
(ulimit -n). 10,000 devices need about 12,000.`;

export interface CliOptions {
  fleet: FleetOptions;
  durationMs?: number;
  statsIntervalMs: number;
  json: boolean;
  goodbye: boolean;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${what}: "${text}" is not a duration (250ms, 5s, 2m, 1h)`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}

/** `200ms`, `50-200ms` (the unit of the upper bound applies to a bare lower one), `1s-5s`. */
export function parseLatency(text: string): readonly [number, number] {
  const parts = text.split('-');
  if (parts.length > 2) throw new UsageError(`latency: "${text}" is not a duration or a range`);
  const upper = parts.at(-1)!;
  const unit = /[a-z]+$/.exec(upper)?.[0] ?? '';
  const lower = /[a-z]$/.test(parts[0]!) ? parts[0]! : parts[0]! + unit;
  const range = [parseDuration(lower, 'latency'), parseDuration(upper, 'latency')] as const;
  if (range[0] > range[1]) throw new UsageError(`latency: "${text}" runs backwards`);
  return range;
}

function parseNumber(text: string, what: string, opts: { min?: number; max?: number; integer?: boolean } = {}): number {
  const n = Number(text);
  if (
    text.trim() === '' ||
    !Number.isFinite(n) ||
    (opts.integer && !Number.isInteger(n)) ||
    n < (opts.min ?? -Infinity) ||
    n > (opts.max ?? Infinity)
  ) {
    const bounds = [opts.min !== undefined ? `≥ ${opts.min}` : '', opts.max !== undefined ? `≤ ${opts.max}` : '']
      .filter(Boolean)
      .join(' and ');
    throw new UsageError(`${what}: "${text}" must be ${opts.integer ? 'a whole number' : 'a number'}${bounds ? ` ${bounds}` : ''}`);
  }
  return n;
}

const probability = (text: string, what: string) => parseNumber(text, what, { min: 0, max: 1 });
const exitCode = (text: string, what: string) => parseNumber(text, what, { integer: true, min: -(2 ** 31), max: 2 ** 32 - 1 });
const count = (text: string, what: string, min = 0) => parseNumber(text, what, { integer: true, min });

/** A boolean key: bare or `=true` turns it on, `=false` off. */
function flag(key: string, value: string | undefined): boolean {
  if (value === undefined || value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`${key}: "${value}" must be true or false`);
}

/** Behaviour keys shared by the flags and --subset. */
function applyBehaviour(b: Partial<CommandBehaviour>, key: string, value: string | undefined): boolean {
  const need = () => {
    if (value === undefined) throw new UsageError(`${key} needs a value`);
    return value;
  };
  switch (key) {
    case 'latency':
      b.latencyMs = parseLatency(need());
      return true;
    case 'exit-code':
      b.exitCode = exitCode(need(), key);
      return true;
    case 'fail-rate':
      b.failRate = probability(need(), key);
      return true;
    case 'fail-exit-code':
      b.failExitCode = exitCode(need(), key);
      return true;
    case 'output-chunks':
      b.outputChunks = count(need(), key);
      return true;
    case 'output-bytes':
      b.outputBytes = count(need(), key, 1);
      return true;
    case 'reboot-rate':
      b.rebootRate = probability(need(), key);
      return true;
    case 'reboot-offline':
      b.rebootOfflineMs = parseDuration(need(), key);
      return true;
    case 'lose-journal':
      b.keepJournal = !(value === undefined || value === 'true');
      return true;
    case 'offline':
      b.offline = flag(key, value);
      return true;
    case 'install-fail-rate':
      b.installFailRate = probability(need(), key);
      return true;
    case 'install-fail-exit-code':
      b.installFailExitCode = exitCode(need(), key);
      return true;
    case 'silent-after-install-rate':
      b.silentAfterInstallRate = probability(need(), key);
      return true;
    case 'download-artifacts':
      b.downloadArtifacts = flag(key, value);
      return true;
    case 'metered':
      b.metered = flag(key, value);
      return true;
    default:
      return false;
  }
}

export function parseSubset(spec: string): BehaviourSubset {
  const select: DeviceSelector = {};
  const behaviour: Partial<CommandBehaviour> = {};
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? undefined : part.slice(eq + 1);
    if (key === 'index') {
      select.indexes = (value ?? '').split('+').map((r) => {
        const [from, to = from] = r.split('-');
        const range = [count(from ?? '', 'index'), count(to ?? '', 'index')] as const;
        if (range[0] > range[1]) throw new UsageError(`index: "${r}" runs backwards`);
        return range;
      });
    } else if (key === 'hostname') {
      if (!value) throw new UsageError('hostname needs a pattern');
      select.hostname = value;
    } else if (key === 'every') {
      select.every = count(value ?? '', 'every', 1);
    } else if (key === 'fraction') {
      select.fraction = probability(value ?? '', 'fraction');
    } else if (!applyBehaviour(behaviour, key, value)) {
      throw new UsageError(`--subset: unknown key "${key}"`);
    }
  }
  if (Object.keys(select).length === 0)
    throw new UsageError(`--subset "${spec}" selects no devices: give index=, hostname=, every= or fraction=`);
  return { select, behaviour };
}

const behaviourFlags = [
  'latency',
  'exit-code',
  'fail-rate',
  'fail-exit-code',
  'output-chunks',
  'output-bytes',
  'reboot-rate',
  'reboot-offline',
  'install-fail-rate',
  'install-fail-exit-code',
  'silent-after-install-rate',
] as const;

/** Parses the simulator's arguments; `--help` is reported as `null`. */
export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        token: { type: 'string' },
        agents: { type: 'string' },
        ramp: { type: 'string' },
        'enroll-concurrency': { type: 'string' },
        'state-file': { type: 'string' },
        'hostname-prefix': { type: 'string' },
        'first-index': { type: 'string' },
        'checkin-interval': { type: 'string' },
        jitter: { type: 'string' },
        seed: { type: 'string' },
        'group-size': { type: 'string' },
        transport: { type: 'string' },
        'lose-journal': { type: 'boolean' },
        'download-artifacts': { type: 'boolean' },
        revive: { type: 'boolean' },
        subset: { type: 'string', multiple: true },
        duration: { type: 'string' },
        'stats-interval': { type: 'string' },
        json: { type: 'boolean' },
        goodbye: { type: 'boolean' },
        help: { type: 'boolean' },
        ...Object.fromEntries(behaviourFlags.map((f) => [f, { type: 'string' as const }])),
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (v.help) return null;
  const str = (k: string) => v[k] as string | undefined;
  const serverUrl = str('server') ?? env.OPSCONDUCTOR_SERVER_URL;
  if (!serverUrl) throw new UsageError('--server is required (or set OPSCONDUCTOR_SERVER_URL)');
  try {
    if (!/^https?:$/.test(new URL(serverUrl).protocol)) throw new Error();
  } catch {
    throw new UsageError(`--server: "${serverUrl}" is not an http(s) URL`);
  }
  const behaviour: Partial<CommandBehaviour> = {};
  for (const flag of behaviourFlags) if (str(flag) !== undefined) applyBehaviour(behaviour, flag, str(flag));
  if (v['lose-journal']) behaviour.keepJournal = false;
  if (v['download-artifacts']) behaviour.downloadArtifacts = true;
  const ramp = str('ramp');
  const fleet: FleetOptions = {
    serverUrl,
    agents: str('agents') === undefined ? 100 : count(str('agents')!, '--agents', 1),
    behaviour,
    subsets: ((v.subset as string[] | undefined) ?? []).map(parseSubset),
  };
  const token = str('token') ?? env.OPSCONDUCTOR_ENROLLMENT_TOKEN;
  if (token) fleet.enrollmentToken = token;
  if (ramp !== undefined) fleet.rampPerSecond = ramp === 'all' ? Infinity : parseNumber(ramp.replace(/\/s$/, ''), '--ramp', { min: 0.001 });
  if (str('enroll-concurrency') !== undefined) fleet.enrollConcurrency = count(str('enroll-concurrency')!, '--enroll-concurrency', 1);
  if (str('state-file') !== undefined) fleet.stateFile = str('state-file');
  if (v.revive) fleet.reviveSilent = true;
  if (str('hostname-prefix') !== undefined) fleet.hostnamePrefix = str('hostname-prefix');
  if (str('first-index') !== undefined) fleet.firstIndex = count(str('first-index')!, '--first-index');
  if (str('checkin-interval') !== undefined)
    fleet.checkinIntervalSeconds = parseDuration(str('checkin-interval')!, '--checkin-interval') / 1000;
  if (str('jitter') !== undefined) fleet.jitterMs = parseDuration(str('jitter')!, '--jitter');
  if (str('seed') !== undefined) fleet.seed = count(str('seed')!, '--seed');
  if (str('group-size') !== undefined) fleet.groupSize = count(str('group-size')!, '--group-size', 1);
  const transport = str('transport');
  if (transport !== undefined) {
    if (transport !== 'channel' && transport !== 'http') throw new UsageError(`--transport: must be channel or http, not "${transport}"`);
    fleet.transport = transport;
  }
  return {
    fleet,
    ...(str('duration') !== undefined ? { durationMs: parseDuration(str('duration')!, '--duration') } : {}),
    statsIntervalMs: str('stats-interval') === undefined ? 10_000 : parseDuration(str('stats-interval')!, '--stats-interval'),
    json: Boolean(v.json),
    goodbye: Boolean(v.goodbye),
  };
}
