/**
 * Detection probes on Windows, through the tools every Windows has: reg.exe (with /reg:64 or /reg:32 for the
 * view), sc.exe, and Windows PowerShell for file versions. The tools are run from System32 by full path (not
 * through PATH), every name is a separate argument, and their output is parsed by windows-parse.ts.
 *
 * MSI products are read from the Uninstall key Windows Installer writes per product code (both views), and
 * product families from Installer\UpgradeCodes\<packed upgrade code>. Per-user installs (HKCU) are not seen.
 * Linux packages do not exist here.
 */
import { win32 } from 'node:path';
import type { ScriptInterpreter } from '@opsconductor/contracts/constants';
import { MSI_GUID_PATTERN } from '@opsconductor/contracts/software';
import { expandWindowsPath } from '../detection.ts';
import { fileProbe, runDetectionScript, type ScriptInvocation } from './common.ts';
import { isMissingProgram, runProcess, type RunResult, type Runner } from './exec.ts';
import { ProbeError, type DetectionProbes, type RegistryProbeResult, type RegistryView } from './types.ts';
import {
  FILE_VERSION_SCRIPT,
  msiVersionFromUninstallKey,
  packGuid,
  parseFileVersionOutput,
  parseScQuery,
  productCodesOfUpgradeKey,
  queriedValue,
  regQueryOutcome,
  type RegQueryOutcome,
} from './windows-parse.ts';

export interface WindowsProbeOptions {
  run?: Runner;
  /** The environment %VARIABLES% in paths expand from, and where System32 is found (default: process.env). */
  env?: NodeJS.ProcessEnv;
  tempDir?: string;
  toolTimeoutMs?: number;
}

export const UNINSTALL_KEY = 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall';
export const UPGRADE_CODES_KEY = 'SOFTWARE\\Classes\\Installer\\UpgradeCodes';

export function windowsProbes(options: WindowsProbeOptions = {}): DetectionProbes {
  const run = options.run ?? runProcess;
  const env = options.env ?? process.env;
  const system32 = win32.join(env.SystemRoot ?? env.SYSTEMROOT ?? 'C:\\Windows', 'System32');
  const REG = win32.join(system32, 'reg.exe');
  const SC = win32.join(system32, 'sc.exe');
  const POWERSHELL = win32.join(system32, 'WindowsPowerShell', 'v1.0', 'powershell.exe');
  const CMD = win32.join(system32, 'cmd.exe');

  const tool = async (file: string, args: string[], extraEnv?: Record<string, string>): Promise<RunResult> => {
    try {
      return await run(file, args, { env: extraEnv ? { ...env, ...extraEnv } : env, timeoutMs: options.toolTimeoutMs ?? 30_000 });
    } catch (e) {
      throw new ProbeError(
        `${win32.basename(file)} could not run: ${isMissingProgram(e) ? 'not found' : e instanceof Error ? e.message : String(e)}`,
      );
    }
  };
  const reg = async (args: string[]): Promise<RegQueryOutcome> => regQueryOutcome(await tool(REG, ['query', ...args]));

  const msiProduct = async (productCode: string) => {
    if (!MSI_GUID_PATTERN.test(productCode)) throw new ProbeError(`not a product code: ${productCode}`);
    for (const view of ['64', '32'] as const) {
      const r = await reg([`HKLM\\${UNINSTALL_KEY}\\${productCode}`, `/reg:${view}`]);
      if (r.found) {
        const key = r.keys[0];
        const version = key ? msiVersionFromUninstallKey(key) : undefined;
        return version === undefined ? { installed: true } : { installed: true, version };
      }
    }
    return { installed: false };
  };

  const scripts: Partial<Record<ScriptInterpreter, ScriptInvocation>> = {
    cmd: { fileName: 'detect.cmd', command: (p) => ({ file: CMD, args: ['/d', '/c', p] }) },
    powershell: {
      fileName: 'detect.ps1',
      command: (p) => ({ file: POWERSHELL, args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', p] }),
    },
    python: { fileName: 'detect.py', command: (p) => ({ file: 'python', args: [p] }) },
  };

  return {
    msiProduct,
    async msiProductsByUpgradeCode(upgradeCode) {
      const r = await reg([`HKLM\\${UPGRADE_CODES_KEY}\\${packGuid(upgradeCode)}`, '/reg:64']);
      if (!r.found || !r.keys[0]) return [];
      const products = [];
      for (const productCode of productCodesOfUpgradeKey(r.keys[0])) {
        const p = await msiProduct(productCode);
        products.push(p.version === undefined ? { productCode } : { productCode, version: p.version });
      }
      return products;
    },
    async registryValue(hive, key, valueName, view: RegistryView): Promise<RegistryProbeResult> {
      const path = `${hive}\\${key}`;
      const viewArg = `/reg:${view}`;
      if (valueName === undefined) return { keyExists: (await reg([path, viewArg])).found };
      const r = await reg(valueName === '' ? [path, '/ve', viewArg] : [path, '/v', valueName, viewArg]);
      if (r.found) {
        const value = queriedValue(r.keys, valueName === '');
        return value ? { keyExists: true, value } : { keyExists: true };
      }
      // reg.exe says the same for a missing key and a missing value: ask about the key alone.
      return { keyExists: (await reg([path, viewArg])).found };
    },
    file: (path) =>
      fileProbe(expandWindowsPath(path, env), async (expanded) =>
        parseFileVersionOutput(
          await tool(POWERSHELL, ['-NoProfile', '-NonInteractive', '-Command', FILE_VERSION_SCRIPT], { OC_PROBE_PATH: expanded }),
        ),
      ),
    async service(name) {
      // sc.exe reads `key= value` pairs after the name: a name with `=` could be taken for one.
      if (name.includes('=')) throw new ProbeError(`cannot ask sc.exe about a service name containing "=": ${name}`);
      return parseScQuery(await tool(SC, ['query', name]));
    },
    linuxPackage: async () => ({ installed: false }),
    runScript: (interpreter, script, timeoutSeconds) =>
      runDetectionScript(run, interpreter, scripts[interpreter], script, timeoutSeconds, options.tempDir),
  };
}
