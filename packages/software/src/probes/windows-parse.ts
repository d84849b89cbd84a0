/**
 * Pure parsers for what the Windows tools print: `reg.exe query`, `sc.exe query`, and the PowerShell file
 * version one-liner; and Windows Installer's packed GUIDs. Pure so they are tested with recorded output on any
 * machine (test/fixtures/windows).
 */
import type { RunResult } from './exec.ts';
import { firstLine } from './exec.ts';
import { ProbeError, type RegistryValue } from './types.ts';

// ---- packed GUIDs ----------------------------------------------------------------------------------

const GUID = /^\{([0-9A-Fa-f]{8})-([0-9A-Fa-f]{4})-([0-9A-Fa-f]{4})-([0-9A-Fa-f]{4})-([0-9A-Fa-f]{12})\}$/;
const PACKED = /^[0-9A-Fa-f]{32}$/;
const reverse = (s: string): string => [...s].reverse().join('');
/** Swaps the two hex digits of each byte: `0FF1CE` → `F01FEC`. */
const swapNibbles = (s: string): string => s.replace(/(.)(.)/g, '$2$1');

/**
 * Windows Installer's "packed" (compressed) GUID, the form its registry keys use (Installer\UpgradeCodes,
 * Installer\Products): the first three groups reversed, each byte of the last two groups nibble-swapped,
 * no braces or dashes, upper case. `{90140000-0011-0000-0000-0000000FF1CE}` → `00004109110000000000000000F01FEC`.
 */
export function packGuid(guid: string): string {
  const m = GUID.exec(guid);
  if (!m) throw new ProbeError(`not a GUID in braces: ${guid}`);
  const [, a = '', b = '', c = '', d = '', e = ''] = m;
  return (reverse(a) + reverse(b) + reverse(c) + swapNibbles(d) + swapNibbles(e)).toUpperCase();
}

/** The inverse of packGuid (the transform is its own inverse, group by group). */
export function unpackGuid(packed: string): string {
  if (!PACKED.test(packed)) throw new ProbeError(`not a packed GUID: ${packed}`);
  const p = packed.toUpperCase();
  const part = (from: number, to: number, fn: (s: string) => string) => fn(p.slice(from, to));
  return `{${part(0, 8, reverse)}-${part(8, 12, reverse)}-${part(12, 16, reverse)}-${part(16, 20, swapNibbles)}-${part(20, 32, swapNibbles)}}`;
}

// ---- reg.exe query ---------------------------------------------------------------------------------

export interface RegQueryValue {
  name: string;
  rawType: string;
  rawData: string;
}

export interface RegQueryKey {
  path: string;
  values: RegQueryValue[];
  subkeys: string[];
}

/**
 * A value line is four spaces, the name, four spaces, the type, four spaces, the data (the last separator and
 * the data are absent for empty data). A name may itself contain spaces: the type is the last `REG_…` token
 * surrounded by four-space separators.
 */
const VALUE_LINE = /^ {4}(.*?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/;

/** Every key block of `reg query` output: `HKEY_…\path` followed by its value lines and subkey paths. */
export function parseRegQuery(stdout: string): RegQueryKey[] {
  const keys: RegQueryKey[] = [];
  let current: RegQueryKey | undefined;
  for (const line of stdout.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const value = VALUE_LINE.exec(line);
    if (value && current) {
      current.values.push({ name: value[1] ?? '', rawType: value[2] ?? '', rawData: value[3] ?? '' });
      continue;
    }
    if (/^HKEY_/i.test(line)) {
      // A key path directly below the current key is a subkey listing; otherwise a new block.
      const rest =
        current && line.toUpperCase().startsWith(`${current.path.toUpperCase()}\\`)
          ? line.slice(current.path.length + 1).trim()
          : undefined;
      if (current && rest && !rest.includes('\\')) {
        current.subkeys.push(rest);
        continue;
      }
      current = { path: line.trim(), values: [], subkeys: [] };
      keys.push(current);
    }
  }
  return keys;
}

/** reg.exe's "(value not set)" for an unset default value (English only: other locales read as that text). */
const VALUE_NOT_SET = '(value not set)';

/** reg.exe's data text as a typed value: DWORD/QWORD in 0x hex, MULTI_SZ with literal `\0` separators, BINARY in hex. */
export function parseRegData(rawType: string, rawData: string): RegistryValue {
  switch (rawType) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      return { type: rawType, data: rawData };
    case 'REG_DWORD': {
      if (!/^0x[0-9a-f]{1,8}$/i.test(rawData)) throw new ProbeError(`unexpected REG_DWORD data: ${rawData}`);
      return { type: 'REG_DWORD', data: Number.parseInt(rawData.slice(2), 16) };
    }
    case 'REG_QWORD': {
      if (!/^0x[0-9a-f]{1,16}$/i.test(rawData)) throw new ProbeError(`unexpected REG_QWORD data: ${rawData}`);
      return { type: 'REG_QWORD', data: BigInt(rawData) };
    }
    case 'REG_MULTI_SZ': {
      if (rawData === '') return { type: 'REG_MULTI_SZ', data: [] };
      const parts = rawData.split('\\0');
      while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
      return { type: 'REG_MULTI_SZ', data: parts };
    }
    case 'REG_BINARY': {
      if (!/^(?:[0-9a-f]{2})*$/i.test(rawData)) throw new ProbeError(`unexpected REG_BINARY data: ${rawData}`);
      return { type: 'REG_BINARY', data: Uint8Array.from(rawData.match(/../g) ?? [], (h) => Number.parseInt(h, 16)) };
    }
    default:
      return { type: 'other', rawType, data: rawData };
  }
}

/** reg.exe exits 1 both for "not found" and for real failures; the message (localized) tells them apart. */
const ACCESS_DENIED = /access is denied|zugriff verweigert|accès refusé|acceso denegado|accesso negato/i;
const BAD_REQUEST = /invalid syntax|invalid key name|ungültige syntax|syntaxe incorrecte/i;

export type RegQueryOutcome = { found: true; keys: RegQueryKey[] } | { found: false };

/** Reads a `reg query` run: found (with its blocks), not found, or a probe error (access denied, bad syntax…). */
export function regQueryOutcome(r: RunResult): RegQueryOutcome {
  if (r.timedOut) throw new ProbeError('reg.exe timed out');
  if (r.exitCode === 0) return { found: true, keys: parseRegQuery(r.stdout) };
  const message = firstLine(r.stderr || r.stdout);
  if (r.exitCode === 1 && !ACCESS_DENIED.test(message) && !BAD_REQUEST.test(message)) return { found: false };
  throw new ProbeError(`reg.exe failed (exit ${r.exitCode ?? r.signal}): ${message}`);
}

/**
 * The one value a `reg query KEY /v NAME` (or `/ve`) asked for: the first value line of the first block, by
 * position rather than by name, because the default value's name is localized (`(Default)`, `(Standard)`…).
 */
export function queriedValue(keys: readonly RegQueryKey[], defaultValue: boolean): RegistryValue | undefined {
  const v = keys[0]?.values[0];
  if (!v) return undefined;
  if (defaultValue && v.rawType === 'REG_SZ' && v.rawData === VALUE_NOT_SET) return undefined;
  return parseRegData(v.rawType, v.rawData);
}

/**
 * An MSI product's version from its Uninstall key: `DisplayVersion` as written, else the `Version` DWORD
 * (major << 24 | minor << 16 | build), as Windows Installer writes both.
 */
export function msiVersionFromUninstallKey(key: RegQueryKey): string | undefined {
  const byName = (n: string) => key.values.find((v) => v.name.toLowerCase() === n.toLowerCase());
  const display = byName('DisplayVersion');
  if (display && (display.rawType === 'REG_SZ' || display.rawType === 'REG_EXPAND_SZ') && display.rawData.trim() !== '')
    return display.rawData.trim();
  const version = byName('Version');
  if (version?.rawType === 'REG_DWORD') {
    const v = parseRegData('REG_DWORD', version.rawData);
    if (v.type === 'REG_DWORD') return `${v.data >>> 24}.${(v.data >>> 16) & 0xff}.${v.data & 0xffff}`;
  }
  return undefined;
}

/** Product codes under Installer\UpgradeCodes\<packed>: the value names, packed. Names that are not packed GUIDs are skipped. */
export function productCodesOfUpgradeKey(key: RegQueryKey): string[] {
  return key.values.filter((v) => PACKED.test(v.name)).map((v) => unpackGuid(v.name));
}

// ---- sc.exe query ----------------------------------------------------------------------------------

/** ERROR_SERVICE_DOES_NOT_EXIST */
const SC_NO_SUCH_SERVICE = 1060;
/** SERVICE_RUNNING */
const SC_STATE_RUNNING = 4;

/** `sc.exe query NAME`: exit 1060 = no such service; otherwise running when the state is SERVICE_RUNNING (4). */
export function parseScQuery(r: RunResult): { exists: boolean; running?: boolean } {
  if (r.timedOut) throw new ProbeError('sc.exe timed out');
  if (r.exitCode === SC_NO_SUCH_SERVICE) return { exists: false };
  if (r.exitCode !== 0) throw new ProbeError(`sc.exe failed (exit ${r.exitCode ?? r.signal}): ${firstLine(r.stdout + '\n' + r.stderr)}`);
  // By the state's number and English name, not the label (STATE is STATUS on a German Windows).
  const state = /:\s*(\d+)\s+(?:STOPPED|START_PENDING|STOP_PENDING|RUNNING|CONTINUE_PENDING|PAUSE_PENDING|PAUSED)\b/.exec(r.stdout);
  if (!state) throw new ProbeError('sc.exe printed no service state');
  return { exists: true, running: Number(state[1]) === SC_STATE_RUNNING };
}

// ---- PowerShell file version -----------------------------------------------------------------------

/**
 * Prints the fixed file info's version (`a.b.c.d`) of the file in $env:OC_PROBE_PATH, or nothing when it has
 * no version resource. The path goes through the environment so no text from a rule is parsed as PowerShell.
 * The numeric parts are used rather than the FileVersion string, which may carry text ("10.0.1 (WinBuild…)").
 */
export const FILE_VERSION_SCRIPT =
  "$v = (Get-Item -LiteralPath $env:OC_PROBE_PATH -ErrorAction Stop).VersionInfo; if ($null -ne $v.FileVersion) { '{0}.{1}.{2}.{3}' -f $v.FileMajorPart, $v.FileMinorPart, $v.FileBuildPart, $v.FilePrivatePart }";

export function parseFileVersionOutput(r: RunResult): string | undefined {
  if (r.timedOut) throw new ProbeError('PowerShell timed out reading the file version');
  if (r.exitCode !== 0) throw new ProbeError(`PowerShell failed reading the file version: ${firstLine(r.stderr)}`);
  const out = r.stdout.trim();
  if (out === '') return undefined;
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(out)) throw new ProbeError(`unexpected file version output: ${firstLine(out)}`);
  return out;
}
