/**
 * Is this device on a metered connection? Asked by software commands whose network policy says `skipMetered`
 * (a deployment's `strategy.network`): on one, they download nothing and end `deferred_metered`.
 *
 * - Linux: the interface of the default route (/proc/net/route, lowest metric), then NetworkManager's view of it,
 *   `nmcli -t -f GENERAL.METERED device show <iface>` (`yes`, `no`, either with ` (guessed)`, or `unknown`).
 *   Without NetworkManager (no nmcli) the agent cannot tell.
 * - Windows: the internet connection profile's cost, `GetConnectionCost().NetworkCostType` through PowerShell:
 *   `Fixed` and `Variable` are metered, `Unrestricted` is not.
 * - Anything the agent cannot tell counts as not metered: a probe that fails must not hold every install back.
 *
 * OPSCONDUCTOR_AGENT_METERED=1 (or 0) overrides the probe: for tests, and for operators who know better than the
 * OS (a tethered router NetworkManager cannot see through).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export const METERED_ENV = 'OPSCONDUCTOR_AGENT_METERED';
const PROBE_TIMEOUT_MS = 10_000;

export interface MeteredState {
  /** null: the agent could not tell (treated as not metered). */
  metered: boolean | null;
  /** How the answer was found, for the command's output. */
  how: string;
}

export type ProbeRunner = (file: string, args: readonly string[]) => Promise<{ stdout: string } | { missing: true }>;

export interface MeteredProbeOptions {
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  /** Runs a program without a shell (default: execFile with a timeout); `missing` when it does not exist. */
  run?: ProbeRunner;
  /** Reads /proc/net/route (default: the file). */
  readRoutes?: () => Promise<string>;
}

/** The override: `1`/`true`/`yes` → metered, `0`/`false`/`no` → not; anything else (or unset) → no override. */
export function meteredOverride(value: string | undefined): boolean | undefined {
  const v = value?.trim().toLowerCase();
  if (v === '1' || v === 'true' || v === 'yes') return true;
  if (v === '0' || v === 'false' || v === 'no') return false;
  return undefined;
}

const INTERFACE_NAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** The interface of the default IPv4 route with the lowest metric in /proc/net/route's text, if any. */
export function defaultRouteInterface(procNetRoute: string): string | undefined {
  let best: { iface: string; metric: number } | undefined;
  for (const line of procNetRoute.split('\n').slice(1)) {
    const [iface, destination, , flags, , , metric, mask] = line.trim().split(/\s+/);
    if (!iface || destination !== '00000000' || mask !== '00000000' || !INTERFACE_NAME.test(iface)) continue;
    // RTF_UP
    if ((Number.parseInt(flags ?? '0', 16) & 0x1) === 0) continue;
    const m = Number(metric);
    if (!Number.isFinite(m)) continue;
    if (!best || m < best.metric) best = { iface, metric: m };
  }
  return best?.iface;
}

/** `nmcli -t -f GENERAL.METERED device show <iface>` → true (yes), false (no), null (unknown, or not that output). */
export function parseNmcliMetered(stdout: string): boolean | null {
  for (const line of stdout.split(/\r?\n/)) {
    const match = /^GENERAL\.METERED:\s*(yes|no|unknown)\b/i.exec(line.trim());
    if (!match) continue;
    const value = match[1]!.toLowerCase();
    return value === 'yes' ? true : value === 'no' ? false : null;
  }
  return null;
}

/**
 * NetworkCostType as PowerShell prints it (the enum's name, or its number): Fixed (2) and Variable (3) are metered,
 * Unrestricted (1) is not, Unknown (0) or anything else cannot tell.
 */
export function parseNetworkCostType(stdout: string): boolean | null {
  const value = stdout.trim().split(/\r?\n/).pop()?.trim().toLowerCase() ?? '';
  if (value === 'fixed' || value === 'variable' || value === '2' || value === '3') return true;
  if (value === 'unrestricted' || value === '1') return false;
  return null;
}

/** The PowerShell that prints the internet connection profile's NetworkCostType (`None` without a profile). */
export const WINDOWS_COST_SCRIPT =
  '$ErrorActionPreference = "Stop"; ' +
  '$p = [Windows.Networking.Connectivity.NetworkInformation, Windows.Networking.Connectivity, ContentType = WindowsRuntime]::GetInternetConnectionProfile(); ' +
  'if ($p) { $p.GetConnectionCost().NetworkCostType.ToString() } else { "None" }';

/** The argv of the probes (no shell; the interface name comes from the kernel's table and is checked). */
export function nmcliArgs(iface: string): string[] {
  return ['-t', '-f', 'GENERAL.METERED', 'device', 'show', iface];
}
export const WINDOWS_COST_ARGS = ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', WINDOWS_COST_SCRIPT];

const defaultRun: ProbeRunner = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: PROBE_TIMEOUT_MS, maxBuffer: 64 * 1024, windowsHide: true }, (err, stdout) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return resolve({ missing: true });
      if (err) return reject(err);
      resolve({ stdout: String(stdout) });
    });
  });

/** Whether the device's current connection is metered (see the module's comment); never throws. */
export async function probeMetered(options: MeteredProbeOptions = {}): Promise<MeteredState> {
  const env = options.env ?? process.env;
  const override = meteredOverride(env[METERED_ENV]);
  if (override !== undefined) return { metered: override, how: `${METERED_ENV}=${env[METERED_ENV]}` };
  const platform = options.platform ?? process.platform;
  const run = options.run ?? defaultRun;
  try {
    if (platform === 'linux') {
      const routes = await (options.readRoutes ?? (() => readFile('/proc/net/route', 'utf8')))();
      const iface = defaultRouteInterface(routes);
      if (!iface) return { metered: null, how: 'no default route' };
      const out = await run('nmcli', nmcliArgs(iface));
      if ('missing' in out) return { metered: null, how: 'nmcli not found (no NetworkManager)' };
      const metered = parseNmcliMetered(out.stdout);
      return { metered, how: `NetworkManager, device ${iface}: ${metered === null ? 'unknown' : metered ? 'metered' : 'not metered'}` };
    }
    if (platform === 'win32') {
      const out = await run('powershell.exe', WINDOWS_COST_ARGS);
      if ('missing' in out) return { metered: null, how: 'powershell.exe not found' };
      const metered = parseNetworkCostType(out.stdout);
      return { metered, how: `NetworkCostType ${out.stdout.trim().slice(0, 40) || 'unknown'}` };
    }
    return { metered: null, how: `no probe on ${platform}` };
  } catch (err) {
    return { metered: null, how: `the probe failed: ${(err instanceof Error ? err.message : String(err)).slice(0, 200)}` };
  }
}
