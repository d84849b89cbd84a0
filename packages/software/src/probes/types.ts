/**
 * What detection asks of a device. The agent implements it per platform (`linuxProbes()`, `windowsProbes()`);
 * tests implement it with fakes. A probe throws when it cannot answer (a tool failed, access denied, a
 * timeout); "not there" is an answer, never an exception.
 */
import type { LinuxPackageManager } from '@opsconductor/contracts/software';
import type { ScriptInterpreter } from '@opsconductor/contracts/constants';

export type RegistryHive = 'HKLM' | 'HKCU' | 'HKCR' | 'HKU';
export type RegistryView = '64' | '32';

export type RegistryValue =
  | { type: 'REG_SZ' | 'REG_EXPAND_SZ'; data: string }
  | { type: 'REG_DWORD'; data: number }
  | { type: 'REG_QWORD'; data: bigint }
  | { type: 'REG_MULTI_SZ'; data: string[] }
  | { type: 'REG_BINARY'; data: Uint8Array }
  /** REG_NONE, REG_LINK, REG_RESOURCE_LIST…: the type as reg.exe names it and the data as it prints it. */
  | { type: 'other'; rawType: string; data: string };

export interface RegistryProbeResult {
  keyExists: boolean;
  /** The value asked for (absent when the key or the value does not exist, or no value name was asked). */
  value?: RegistryValue;
}

export interface FileProbeResult {
  exists: boolean;
  /** The file's version resource (PE `FileVersion` as `a.b.c.d`); undefined when it has none. Lazy: costs a process on Windows. */
  version?: () => Promise<string | undefined>;
  /** The content's SHA-256 in lowercase hex, streamed. Lazy: reads the whole file. */
  sha256?: () => Promise<string>;
}

export interface DetectionProbes {
  msiProduct(productCode: string): Promise<{ installed: boolean; version?: string }>;
  msiProductsByUpgradeCode(upgradeCode: string): Promise<{ productCode: string; version?: string }[]>;
  registryValue(hive: RegistryHive, key: string, valueName: string | undefined, view: RegistryView): Promise<RegistryProbeResult>;
  file(path: string): Promise<FileProbeResult>;
  service(name: string): Promise<{ exists: boolean; running?: boolean }>;
  linuxPackage(manager: LinuxPackageManager, name: string): Promise<{ installed: boolean; version?: string }>;
  runScript(interpreter: ScriptInterpreter, script: string, timeoutSeconds: number): Promise<{ exitCode: number }>;
}

/** A probe that cannot answer, with a reason fit for the agent's report. */
export class ProbeError extends Error {
  override readonly name = 'ProbeError';
}
