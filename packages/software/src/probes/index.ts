/**
 * The agent's detection probes (Node built-ins: child_process, fs). `probesForPlatform()` picks the platform's
 * set; the parsers are exported for tests and for tools that read recorded output.
 */
import { linuxProbes, type LinuxProbeOptions } from './linux.ts';
import { windowsProbes, type WindowsProbeOptions } from './windows.ts';
import type { DetectionProbes } from './types.ts';

export {
  linuxProbes,
  parseDpkgQuery,
  parsePacmanQuery,
  parseRpmQuery,
  parseSystemctlShow,
  type LinuxProbeOptions,
  type PackageState,
} from './linux.ts';
export { windowsProbes, UNINSTALL_KEY, UPGRADE_CODES_KEY, type WindowsProbeOptions } from './windows.ts';
export {
  FILE_VERSION_SCRIPT,
  msiVersionFromUninstallKey,
  packGuid,
  parseFileVersionOutput,
  parseRegData,
  parseRegQuery,
  parseScQuery,
  productCodesOfUpgradeKey,
  queriedValue,
  regQueryOutcome,
  unpackGuid,
  type RegQueryKey,
  type RegQueryOutcome,
  type RegQueryValue,
} from './windows-parse.ts';
export { runProcess, type RunOptions, type RunResult, type Runner } from './exec.ts';
export { sha256File } from './common.ts';
export * from './types.ts';

/** Linux and Windows probes; other platforms (macOS) have none yet and get an error. */
export function probesForPlatform(
  platform: NodeJS.Platform = process.platform,
  options: LinuxProbeOptions & WindowsProbeOptions = {},
): DetectionProbes {
  if (platform === 'win32') return windowsProbes(options);
  if (platform === 'linux') return linuxProbes(options);
  throw new Error(`no detection probes for ${platform}`);
}
