/**
 * Detection probes on Linux: packages through dpkg-query / rpm / pacman, services through systemctl, files
 * through fs, scripts through sh / bash / python3 / pwsh. Names go to the tools as separate arguments, after
 * `--` where the tool takes options, and the tools run with LC_ALL=C so their output parses.
 *
 * A package manager that is not on the device has installed nothing: the rule is false, not unknown, so one
 * rule set can say `any: [dpkg nginx, rpm nginx]`. Windows things (MSI products, the registry) do not exist here.
 */
import type { LinuxPackageManager } from '@opsconductor/contracts/software';
import type { ScriptInterpreter } from '@opsconductor/contracts/constants';
import { compareRpm } from '../versions.ts';
import { fileProbe, runDetectionScript, type ScriptInvocation } from './common.ts';
import { firstLine, isMissingProgram, runProcess, type RunResult, type Runner } from './exec.ts';
import { ProbeError, type DetectionProbes } from './types.ts';

export interface LinuxProbeOptions {
  run?: Runner;
  /** Where detection scripts are written (default: the OS temporary directory). */
  tempDir?: string;
  /** Timeout of one package-manager or systemctl call. */
  toolTimeoutMs?: number;
}

export interface PackageState {
  installed: boolean;
  version?: string;
}

/** `dpkg-query -W -f='${Status}\t${Version}\n'`: one line per architecture; installed only when "install ok installed". */
export function parseDpkgQuery(r: RunResult): PackageState {
  if (r.exitCode === 1 && /no packages found/i.test(r.stderr)) return { installed: false };
  if (r.exitCode !== 0) throw new ProbeError(`dpkg-query failed (exit ${r.exitCode ?? r.signal}): ${firstLine(r.stderr)}`);
  for (const line of r.stdout.split('\n')) {
    const [status, version] = line.split('\t');
    if (status?.trim() === 'install ok installed' && version) return { installed: true, version: version.trim() };
  }
  return { installed: false };
}

/** `rpm -q --qf '%{EPOCH}:%{VERSION}-%{RELEASE}\n'`: `(none)` epoch dropped; of several installed versions (kernels), the highest. */
export function parseRpmQuery(r: RunResult): PackageState {
  if (r.exitCode !== 0) {
    if (/is not installed/.test(r.stdout + r.stderr)) return { installed: false };
    throw new ProbeError(`rpm -q failed (exit ${r.exitCode ?? r.signal}): ${firstLine(r.stderr || r.stdout)}`);
  }
  const versions = r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l.replace(/^\(none\):/, ''));
  const highest = versions.reduce<string | undefined>((best, v) => (best === undefined || compareRpm(v, best) > 0 ? v : best), undefined);
  return highest === undefined ? { installed: false } : { installed: true, version: highest };
}

/**
 * `pacman -Q name` prints `name version`. pacman also answers for a package that merely provides the name
 * (`pacman -Q sh` → `bash 5.2…`): that is not the package the rule names, so it reads as not installed.
 */
export function parsePacmanQuery(r: RunResult, name: string): PackageState {
  if (r.exitCode !== 0) {
    if (/was not found/.test(r.stderr)) return { installed: false };
    throw new ProbeError(`pacman -Q failed (exit ${r.exitCode ?? r.signal}): ${firstLine(r.stderr)}`);
  }
  const [found, version] = (r.stdout.split('\n')[0] ?? '').trim().split(/\s+/);
  return found === name && version ? { installed: true, version } : { installed: false };
}

/** `systemctl show -p LoadState,ActiveState`: a unit exists unless not-found; it runs when active (or reloading). */
export function parseSystemctlShow(r: RunResult): { exists: boolean; running?: boolean } {
  if (r.exitCode !== 0) throw new ProbeError(`systemctl failed (exit ${r.exitCode ?? r.signal}): ${firstLine(r.stderr)}`);
  const props = new Map(
    r.stdout
      .split('\n')
      .map((l) => l.trim().split('='))
      .filter((kv): kv is [string, string] => kv.length === 2),
  );
  const load = props.get('LoadState');
  const active = props.get('ActiveState');
  if (load === undefined || active === undefined) throw new ProbeError('systemctl show printed no LoadState/ActiveState');
  if (load === 'not-found') return { exists: false };
  return { exists: true, running: active === 'active' || active === 'reloading' };
}

const LINUX_SCRIPTS: Partial<Record<ScriptInterpreter, ScriptInvocation>> = {
  sh: { fileName: 'detect.sh', command: (p) => ({ file: 'sh', args: [p] }) },
  bash: { fileName: 'detect.sh', command: (p) => ({ file: 'bash', args: [p] }) },
  python: { fileName: 'detect.py', command: (p) => ({ file: 'python3', args: [p] }) },
  powershell: { fileName: 'detect.ps1', command: (p) => ({ file: 'pwsh', args: ['-NoProfile', '-NonInteractive', '-File', p] }) },
};

export function linuxProbes(options: LinuxProbeOptions = {}): DetectionProbes {
  const run = options.run ?? runProcess;
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  const tool = async (file: string, args: string[]): Promise<RunResult | 'missing'> => {
    try {
      return await run(file, args, { env, timeoutMs: options.toolTimeoutMs ?? 30_000 });
    } catch (e) {
      if (isMissingProgram(e)) return 'missing';
      throw new ProbeError(`${file} could not run: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const timedOut = (file: string, r: RunResult) => {
    if (r.timedOut) throw new ProbeError(`${file} timed out`);
    return r;
  };

  return {
    msiProduct: async () => ({ installed: false }),
    msiProductsByUpgradeCode: async () => [],
    registryValue: async () => ({ keyExists: false }),
    file: (path) => fileProbe(path),
    async service(name) {
      const r = await tool('systemctl', ['show', '-p', 'LoadState,ActiveState', '--', name]);
      if (r === 'missing') throw new ProbeError('systemctl is not installed (no systemd)');
      return parseSystemctlShow(timedOut('systemctl', r));
    },
    async linuxPackage(manager: LinuxPackageManager, name) {
      switch (manager) {
        case 'dpkg': {
          const r = await tool('dpkg-query', ['-W', '-f=${Status}\t${Version}\n', '--', name]);
          return r === 'missing' ? { installed: false } : parseDpkgQuery(timedOut('dpkg-query', r));
        }
        case 'rpm': {
          const r = await tool('rpm', ['-q', '--qf', '%{EPOCH}:%{VERSION}-%{RELEASE}\\n', '--', name]);
          return r === 'missing' ? { installed: false } : parseRpmQuery(timedOut('rpm', r));
        }
        case 'pacman': {
          const r = await tool('pacman', ['-Q', '--', name]);
          return r === 'missing' ? { installed: false } : parsePacmanQuery(timedOut('pacman', r), name);
        }
      }
    },
    runScript: (interpreter, script, timeoutSeconds) =>
      runDetectionScript(run, interpreter, LINUX_SCRIPTS[interpreter], script, timeoutSeconds, options.tempDir),
  };
}
