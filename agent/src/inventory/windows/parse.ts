/**
 * Pure mapping of collect.ps1's raw JSON to the inventory sections. Everything that can vary between
 * Windows versions and PowerShell's serializer lives here, where recorded fixtures test it:
 * - ConvertTo-Json writes a one-element list as a bare object, and (PowerShell 5.1 type data) some lists
 *   as {"value": [...], "Count": n};
 * - dates come as "/Date(ms)/" (CIM), as DMTF "yyyymmddHHMMSS.ffffff+UUU" (WMI), as {value, DateTime}
 *   (Get-Date objects), as ISO strings (PowerShell 7) or as registry "yyyymmdd";
 * - enums come as names or as their numbers, booleans as true/"True"/1.
 */
import type { InventorySections } from '@opsconductor/contracts/inventory';
import {
  byKey,
  clip,
  clipOr,
  count,
  isoOrNull,
  normalizeArch,
  normalizeMac,
  quantizeFree,
  quantizeUptime,
  realValue,
  uniqueSorted,
} from '../normalize.ts';
import type { SectionInput } from '../types.ts';

type Raw = Record<string, unknown>;

// --- generic accessors ------------------------------------------------------------------------------

export function obj(value: unknown): Raw | null {
  if (Array.isArray(value)) return obj(value[0]);
  return value !== null && typeof value === 'object' ? (value as Raw) : null;
}

/** A list whatever ConvertTo-Json made of it: null → [], bare object → [object], {value, Count} → value. */
export function list(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value;
  if (typeof value === 'object' && Array.isArray((value as Raw).value) && 'Count' in (value as Raw))
    return (value as Raw).value as unknown[];
  return [value];
}

export function objects(value: unknown): Raw[] {
  return list(value).filter((v): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v));
}

export function bool(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === '1') return true;
  if (value === 0 || value === '0') return false;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (v === 'true' || v === 'yes' || v === 'on') return true;
    if (v === 'false' || v === 'no' || v === 'off') return false;
  }
  return null;
}

export function num(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

/** Parses every date shape PowerShell and the registry produce; null for anything unreadable. */
export function parseWindowsDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'object') {
    const wrapped = (value as Raw).value ?? (value as Raw).DateTime;
    return wrapped === undefined ? null : parseWindowsDate(wrapped);
  }
  if (typeof value === 'number') return new Date(value);
  if (typeof value !== 'string') return null;
  const text = value.trim();
  // "/Date(1706659200000)/", optionally with a "+0100" suffix that only says which zone it was shown in.
  const msDate = /^\/?Date\((-?\d+)(?:[+-]\d{4})?\)\/?$/.exec(text);
  if (msDate) return new Date(Number(msDate[1]));
  // DMTF: yyyymmddHHMMSS.ffffff followed by the UTC offset in minutes (+060, -300).
  const dmtf = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\.(\d{6})([+-])(\d{3})$/.exec(text);
  if (dmtf) {
    const [, y, mo, d, h, mi, s, micro, sign, offset] = dmtf;
    const utc = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, Math.floor(+micro! / 1000));
    const offsetMs = (sign === '-' ? -1 : 1) * +offset! * 60_000;
    return validDate(new Date(utc - offsetMs), +y!, +mo!, +d!, offsetMs);
  }
  // Registry InstallDate: yyyymmdd.
  const ymd = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (ymd) return validDate(new Date(Date.UTC(+ymd[1]!, +ymd[2]! - 1, +ymd[3]!)), +ymd[1]!, +ymd[2]!, +ymd[3]!, 0);
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?$/.test(text)) {
    const parsed = new Date(text);
    return Number.isNaN(parsed.getTime()) ? null : parsed;
  }
  return null;
}

/** Rejects rolled-over dates (Date.UTC(2024, 1, 31) is March 2) and years no software was installed in. */
function validDate(date: Date, year: number, month: number, day: number, offsetMs: number): Date | null {
  const local = new Date(date.getTime() + offsetMs);
  if (local.getUTCFullYear() !== year || local.getUTCMonth() !== month - 1 || local.getUTCDate() !== day) return null;
  if (year < 1980 || year > 2200) return null;
  return date;
}

const dateOnly = (date: Date | null) => (date ? date.toISOString().slice(0, 10) : null);

// --- MSI codes --------------------------------------------------------------------------------------

const GUID = /^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$/;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/**
 * Windows Installer stores product and upgrade codes "packed" under Installer\UpgradeCodes: the first three
 * groups reversed, then each remaining byte with its two hex digits swapped. The transform is its own inverse.
 */
export function unpackGuid(packed: string): string | null {
  if (!/^[0-9A-Fa-f]{32}$/.test(packed)) return null;
  const p = packed.toUpperCase();
  const rev = (s: string) => [...s].reverse().join('');
  const swapPairs = (s: string) => s.replace(/(.)(.)/g, '$2$1');
  const a = rev(p.slice(0, 8));
  const b = rev(p.slice(8, 12));
  const c = rev(p.slice(12, 16));
  const d = swapPairs(p.slice(16, 20));
  const e = swapPairs(p.slice(20, 32));
  return `{${a}-${b}-${c}-${d}-${e}}`;
}

export function packGuid(guid: string): string | null {
  if (!isGuid(guid)) return null;
  const hex = guid.replace(/[{}-]/g, '').toUpperCase();
  const rev = (s: string) => [...s].reverse().join('');
  const swapPairs = (s: string) => s.replace(/(.)(.)/g, '$2$1');
  return (
    rev(hex.slice(0, 8)) + rev(hex.slice(8, 12)) + rev(hex.slice(12, 16)) + swapPairs(hex.slice(16, 20)) + swapPairs(hex.slice(20, 32))
  );
}

/** Product code ({GUID}, upper case) → upgrade code, from the raw UpgradeCodes list. */
export function upgradeCodeMap(raw: unknown): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of objects(raw)) {
    const upgrade = typeof entry.UpgradeCode === 'string' ? unpackGuid(entry.UpgradeCode) : null;
    if (!upgrade) continue;
    for (const code of list(entry.ProductCodes)) {
      const product = typeof code === 'string' ? unpackGuid(code) : null;
      if (product) map.set(product, upgrade);
    }
  }
  return map;
}

// --- sections ---------------------------------------------------------------------------------------

export interface WindowsParseOptions {
  /** Used when the raw data carries no clock of its own. */
  now?: Date;
}

function osArch(raw: Raw): string {
  const fromEnv = clip(raw.ProcessorArchitecture, 50);
  if (fromEnv) return normalizeArch(fromEnv);
  const os = obj(raw.OperatingSystem);
  const label = String(os?.OSArchitecture ?? '');
  if (/arm/i.test(label)) return /64/.test(label) ? 'arm64' : 'arm';
  return /64/.test(label) ? 'x64' : 'x86';
}

export function parseSystem(raw: Raw, options: WindowsParseOptions = {}): SectionInput<'system'> {
  const os = obj(raw.OperatingSystem) ?? {};
  const cs = obj(raw.ComputerSystem) ?? {};
  const cv = obj(raw.CurrentVersion) ?? {};
  const identity = obj(raw.NetworkIdentity) ?? {};
  const hostname = clip(identity.HostName) ?? clip(cs.DNSHostName) ?? clip(cs.Name) ?? clipOr(raw.ComputerName, 'unknown');
  const suffix = clip(identity.DomainName) ?? (bool(cs.PartOfDomain) ? clip(cs.Domain) : null);
  const boot = parseWindowsDate(os.LastBootUpTime);
  const now = parseWindowsDate(os.LocalDateTime) ?? parseWindowsDate(raw.CollectedAt) ?? options.now ?? new Date();
  const build = clip(os.BuildNumber, 20);
  const ubr = num(cv.UBR);
  const displayVersion = clip(cv.DisplayVersion, 20) ?? clip(cv.ReleaseId, 20);
  const osBuild = build ? `${build}${ubr !== null ? `.${ubr}` : ''}${displayVersion ? ` (${displayVersion})` : ''}` : null;

  const pending = obj(raw.PendingReboot) ?? {};
  const reasons: string[] = [];
  if (bool(pending.ComponentBasedServicing)) reasons.push('Component Based Servicing: reboot pending');
  if (bool(pending.WindowsUpdate)) reasons.push('Windows Update: reboot required');
  if (bool(pending.PendingFileRename)) reasons.push('Pending file rename operations');

  return {
    hostname,
    fqdn: suffix ? clip(`${hostname}.${suffix}`) : hostname,
    osFamily: 'windows',
    // Caption, not the registry ProductName: ProductName still says "Windows 10" on Windows 11.
    osName: clipOr(os.Caption, 'Windows', 200),
    osVersion: clipOr(os.Version, 'unknown', 100),
    osBuild: clip(osBuild, 100),
    kernel: clip(os.Version, 200),
    architecture: osArch(raw),
    uptimeSeconds: boot ? quantizeUptime(Math.max(0, (now.getTime() - boot.getTime()) / 1000)) : null,
    bootTime: isoOrNull(boot),
    timezone: clip(obj(raw.TimeZone)?.Id, 100),
    pendingReboot: reasons.length > 0,
    pendingRebootReasons: reasons,
  };
}

type VirtKind = SectionInput<'hardware'>['virtualization']['kind'];

/**
 * The VM vendor from SMBIOS strings. HypervisorPresent alone proves nothing: it is also true on physical
 * machines running Hyper-V, WSL 2 or virtualization-based security (the Windows 11 default).
 */
export function windowsVirtualization(
  manufacturer: string | null,
  model: string | null,
  hypervisorPresent: boolean | null,
): { kind: VirtKind; detail: string | null } {
  const text = `${manufacturer ?? ''} ${model ?? ''}`.toLowerCase();
  const detail = clip(`${manufacturer ?? ''} ${model ?? ''}`);
  if (/microsoft corporation/.test(text) && /virtual machine/.test(text)) return { kind: 'hyperv', detail };
  if (/vmware/.test(text)) return { kind: 'vmware', detail };
  if (/virtualbox|innotek/.test(text)) return { kind: 'virtualbox', detail };
  if (/qemu|\bkvm\b|red hat|openstack|nutanix|google compute engine/.test(text)) return { kind: 'kvm', detail };
  if (/\bxen\b|hvm domu/.test(text)) return { kind: 'xen', detail };
  if (/amazon ec2/.test(text)) return { kind: 'kvm', detail };
  if (/parallels/.test(text)) return { kind: 'other', detail };
  if (manufacturer || model) return { kind: 'physical', detail: hypervisorPresent ? 'hypervisor present (Hyper-V/VBS host)' : null };
  return { kind: 'unknown', detail: null };
}

/** SMBIOS chassis types as Win32_SystemEnclosure reports them. */
function chassisType(code: number | null, pcSystemType: number | null): NonNullable<SectionInput<'hardware'>['chassisType']> {
  if (code !== null) {
    if ([3, 4, 5, 6, 7, 13, 15, 16, 24, 35, 36].includes(code)) return 'desktop';
    if ([8, 9, 10, 14, 30, 31, 32].includes(code)) return 'laptop';
    if ([17, 23, 25, 28, 29].includes(code)) return 'server';
    if (code !== 2) return 'other';
  }
  // Win32_ComputerSystem.PCSystemType: 1 desktop, 2 mobile, 4/5/7 server kinds.
  if (pcSystemType === 2) return 'laptop';
  if (pcSystemType === 1 || pcSystemType === 3 || pcSystemType === 6) return 'desktop';
  if (pcSystemType === 4 || pcSystemType === 5 || pcSystemType === 7) return 'server';
  return 'unknown';
}

function mediaType(value: unknown): 'ssd' | 'hdd' | 'unknown' {
  const text = String(value ?? '').toLowerCase();
  if (text === 'ssd' || text === '4') return 'ssd';
  if (text === 'hdd' || text === '3') return 'hdd';
  return 'unknown';
}

export function parseHardware(raw: Raw): SectionInput<'hardware'> {
  const cs = obj(raw.ComputerSystem) ?? {};
  const bios = obj(raw.Bios) ?? {};
  const product = obj(raw.ComputerSystemProduct) ?? {};
  const manufacturer = realValue(cs.Manufacturer);
  const model = realValue(cs.Model);
  const virtualization = windowsVirtualization(manufacturer, model, bool(cs.HypervisorPresent));
  const isVm = !['physical', 'container', 'unknown'].includes(virtualization.kind);
  const chassisCode = num(list(obj(raw.Enclosure)?.ChassisTypes)[0]);

  const processors = objects(raw.Processors);
  const sum = (key: string) => {
    const values = processors.map((p) => count(p[key]));
    return values.every((v) => v === null) ? null : values.reduce<number>((a, b) => a + (b ?? 0), 0);
  };

  const firmware = obj(raw.Firmware) ?? {};
  const fwType = String(firmware.FirmwareType ?? '').toLowerCase();
  const secureBoot = bool(firmware.SecureBoot);
  const firmwareType =
    fwType === 'uefi' ? 'uefi' : fwType === 'legacy' || fwType === 'bios' ? 'bios' : secureBoot !== null ? 'uefi' : 'unknown';

  const physical = new Map(objects(raw.PhysicalDisks).map((d) => [String(d.DeviceId), d]));
  const disks = objects(raw.DiskDrives).map((d) => {
    const index = num(d.Index);
    const device = clip(d.DeviceID) ?? `PHYSICALDRIVE${index ?? '?'}`;
    return {
      name: clipOr(device.replace(/^\\\\\.\\/, ''), 'disk'),
      model: clip(d.Model),
      sizeBytes: count(d.Size),
      type: mediaType(physical.get(String(index))?.MediaType),
    };
  });

  const names = new Map(objects(raw.NetAdapterNames).map((a) => [num(a.InterfaceIndex), clip(a.NetConnectionID)]));
  const interfaces = objects(raw.NetworkAdapters).map((a) => {
    const addresses = list(a.IPAddress).filter((x): x is string => typeof x === 'string');
    return {
      name: clipOr(names.get(num(a.InterfaceIndex)) ?? a.Description, `adapter ${String(a.Index ?? '?')}`),
      mac: normalizeMac(a.MACAddress),
      ipv4: uniqueSorted(addresses.filter((x) => !x.includes(':'))).slice(0, 64),
      ipv6: uniqueSorted(addresses.filter((x) => x.includes(':'))).slice(0, 64),
    };
  });

  return {
    manufacturer,
    model,
    serialNumber: realValue(bios.SerialNumber) ?? realValue(product.IdentifyingNumber),
    systemUuid: realValue(product.UUID, 64)?.toLowerCase() ?? null,
    chassisType: isVm ? 'virtual' : chassisType(chassisCode, num(cs.PCSystemType)),
    biosVendor: realValue(bios.Manufacturer),
    biosVersion: realValue(bios.SMBIOSBIOSVersion),
    biosDate: dateOnly(parseWindowsDate(bios.ReleaseDate)),
    firmwareType,
    cpu: {
      model: clip(processors[0]?.Name),
      cores: sum('NumberOfCores'),
      threads: sum('NumberOfLogicalProcessors'),
      sockets: processors.length || null,
    },
    memoryBytes: count(cs.TotalPhysicalMemory),
    disks: disks.sort(byKey((d) => d.name)).slice(0, 256),
    filesystems: logicalDisks(raw).map((d) => ({
      mount: d.mount,
      device: null,
      fsType: d.fsType,
      sizeBytes: d.size,
      freeBytes: quantizeFree(d.free, d.size),
    })),
    networkInterfaces: interfaces.sort(byKey((i) => i.name)).slice(0, 128),
    virtualization,
  };
}

function logicalDisks(raw: Raw): { mount: string; fsType: string | null; size: number; free: number }[] {
  return objects(raw.LogicalDisks)
    .map((d) => ({ mount: clip(d.DeviceID, 1024), fsType: clip(d.FileSystem, 50), size: count(d.Size), free: count(d.FreeSpace) }))
    .filter(
      (d): d is { mount: string; fsType: string | null; size: number; free: number } =>
        d.mount !== null && d.size !== null && d.size > 0 && d.free !== null,
    )
    .sort(byKey((d) => d.mount))
    .slice(0, 256);
}

export function parseDirectory(raw: Raw): SectionInput<'directory'> {
  const cs = obj(raw.ComputerSystem) ?? {};
  if (bool(cs.PartOfDomain)) return { type: 'ad', domain: clip(cs.Domain), workgroup: null, provider: 'windows' };
  // Not joined: Win32_ComputerSystem.Domain holds the workgroup name too.
  return { type: 'workgroup', domain: null, workgroup: clip(cs.Workgroup) ?? clip(cs.Domain), provider: 'windows' };
}

export function parseSoftware(raw: Raw): SectionInput<'software'> {
  const upgradeCodes = upgradeCodeMap(raw.UpgradeCodes);
  const arch = osArch(raw);
  const seen = new Set<string>();
  const packages: SectionInput<'software'>['packages'] = [];
  for (const entry of objects(raw.Uninstall)) {
    const name = clip(entry.DisplayName, 300);
    // No DisplayName: not shown in Programs and Features. ParentKeyName: an update of another entry.
    if (!name || clip(entry.ParentKeyName)) continue;
    const keyName = String(entry.PSChildName ?? '');
    const msi = bool(entry.WindowsInstaller) === true && isGuid(keyName);
    const productCode = msi ? keyName.toUpperCase() : null;
    const architecture = String(entry.Hive) === '32' ? 'x86' : arch;
    const version = clipOr(entry.DisplayVersion, '', 200);
    const dedupe = `${keyName}\u0000${architecture}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    packages.push({
      name,
      version,
      architecture,
      vendor: clip(entry.Publisher, 300),
      installDate: dateOnly(parseWindowsDate(typeof entry.InstallDate === 'number' ? String(entry.InstallDate) : entry.InstallDate)),
      source: msi ? 'msi' : 'registry',
      productCode,
      upgradeCode: productCode ? (upgradeCodes.get(productCode) ?? null) : null,
    });
  }
  packages.sort(byKey((p) => `${p.name}\u0000${p.architecture ?? ''}\u0000${p.version}\u0000${p.productCode ?? ''}`));
  return { packages: packages.slice(0, 20_000) };
}

export function serviceStateFromWindows(state: unknown): SectionInput<'services'>['services'][number]['state'] {
  switch (String(state ?? '').toLowerCase()) {
    case 'running':
      return 'running';
    case 'stopped':
      return 'stopped';
    case 'start pending':
    case 'continue pending':
      return 'starting';
    case 'stop pending':
    case 'pause pending':
      return 'stopping';
    default:
      return 'other'; // Paused, Unknown
  }
}

export function startModeFromWindows(mode: unknown): SectionInput<'services'>['services'][number]['startMode'] {
  switch (String(mode ?? '').toLowerCase()) {
    case 'auto':
    case 'boot':
    case 'system':
      return 'auto';
    case 'manual':
      return 'manual';
    case 'disabled':
      return 'disabled';
    default:
      return 'other';
  }
}

export function parseServices(raw: Raw): SectionInput<'services'> {
  const services = objects(raw.Services)
    .map((s) => ({
      name: clip(s.Name, 300),
      displayName: clip(s.DisplayName, 300),
      state: serviceStateFromWindows(s.State),
      startMode: startModeFromWindows(s.StartMode),
    }))
    .filter((s): s is typeof s & { name: string } => s.name !== null)
    .sort(byKey((s) => s.name.toLowerCase()));
  return { services: services.slice(0, 5000) };
}

/** `net localgroup` output: members between the dashed rule and the final (localised) completion line. */
export function parseNetLocalgroup(lines: unknown): string[] {
  const text = list(lines).filter((l): l is string => typeof l === 'string');
  const rule = text.findIndex((l) => /^-{10,}\s*$/.test(l));
  if (rule < 0) return [];
  const members = text
    .slice(rule + 1)
    .map((l) => l.trim())
    .filter(Boolean);
  return members.slice(0, -1);
}

const BITLOCKER_METHODS = ['None', 'Aes128Diffuser', 'Aes256Diffuser', 'Aes128', 'Aes256', 'Hardware', 'XtsAes128', 'XtsAes256'];
const VOLUME_STATUS = [
  'FullyDecrypted',
  'FullyEncrypted',
  'EncryptionInProgress',
  'DecryptionInProgress',
  'EncryptionPaused',
  'DecryptionPaused',
];

/** Enums arrive as names when the script cast them, as numbers when it could not. */
function enumName(value: unknown, names: string[]): string | null {
  if (typeof value === 'number') return names[value] ?? null;
  if (typeof value === 'string' && /^\d+$/.test(value)) return names[Number(value)] ?? null;
  return clip(value, 100);
}

/**
 * Encrypted means fully encrypted with protection on: with protection suspended the key sits in the clear
 * on the disk, which is how Intune compliance judges it too.
 */
function diskEncryption(raw: Raw): SectionInput<'security'>['diskEncryption'] {
  const out: SectionInput<'security'>['diskEncryption'] = [];
  const fixed = new Set(logicalDisks(raw).map((d) => d.mount.toUpperCase()));
  const fixedOnly = (volume: string) => fixed.size === 0 || fixed.has(volume.toUpperCase());
  if (raw.BitLocker !== null && raw.BitLocker !== undefined) {
    for (const v of objects(raw.BitLocker)) {
      const volume = clip(v.MountPoint, 1024);
      if (!volume || !fixedOnly(volume)) continue;
      const status = enumName(v.VolumeStatus, VOLUME_STATUS);
      const protection = enumName(v.ProtectionStatus, ['Off', 'On', 'Unknown']);
      const method = enumName(v.EncryptionMethod, BITLOCKER_METHODS);
      const encrypted = status === 'FullyEncrypted' && protection === 'On';
      out.push({ volume, encrypted, method: status === 'FullyDecrypted' ? null : describeMethod(method, protection) });
    }
  } else {
    for (const v of objects(raw.EncryptableVolumes)) {
      const volume = clip(v.DriveLetter, 1024);
      if (!volume || !fixedOnly(volume)) continue;
      const conversion = num(v.ConversionStatus);
      const protection = enumName(v.ProtectionStatus, ['Off', 'On', 'Unknown']);
      const method = enumName(v.EncryptionMethod, BITLOCKER_METHODS);
      out.push({
        volume,
        encrypted: conversion === 1 && protection === 'On',
        method: conversion === 0 ? null : describeMethod(method, protection),
      });
    }
  }
  return out.sort(byKey((v) => v.volume)).slice(0, 256);
}

function describeMethod(method: string | null, protection: string | null): string {
  const base = `BitLocker${method && method !== 'None' ? ` ${method}` : ''}`;
  return protection === 'On' ? base : `${base} (protection ${protection === 'Off' ? 'suspended' : 'unknown'})`;
}

/**
 * Security Center productState: byte 2 (0x00XX00) says on (0x10/0x11) or off, byte 3 (0x0000XX) says the
 * definitions are up to date (0x00) or not (0x10).
 */
export function decodeProductState(state: number): { enabled: boolean; upToDate: boolean } {
  const scanner = (state >> 8) & 0xff;
  const definitions = state & 0xff;
  return { enabled: scanner === 0x10 || scanner === 0x11, upToDate: definitions === 0x00 };
}

function antivirus(raw: Raw): SectionInput<'security'>['antivirus'] {
  // An active third-party product puts Defender in passive mode: report the product that protects.
  const products = objects(raw.AntivirusProducts)
    .map((p) => ({ name: clip(p.displayName), state: num(p.productState) }))
    .filter((p): p is { name: string; state: number } => p.name !== null && p.state !== null);
  const active = products.find((p) => !/windows defender|microsoft defender/i.test(p.name) && decodeProductState(p.state).enabled);
  if (active) {
    const decoded = decodeProductState(active.state);
    return { product: active.name, enabled: decoded.enabled, upToDate: decoded.upToDate };
  }
  const defender = obj(raw.Defender);
  if (defender) {
    const enabled = bool(defender.AntivirusEnabled);
    const realtime = bool(defender.RealTimeProtectionEnabled);
    const outOfDate = bool(defender.DefenderSignaturesOutOfDate);
    const age = num(defender.AntivirusSignatureAge);
    // Defender's own flag when the platform has it; otherwise its default staleness threshold (7 days).
    const upToDate = outOfDate !== null ? !outOfDate : age !== null ? age <= 7 : null;
    const passive = /passive/i.test(String(defender.AMRunningMode ?? ''));
    return {
      product: 'Microsoft Defender Antivirus',
      enabled: enabled === null ? null : enabled && realtime !== false && !passive,
      upToDate,
    };
  }
  const first = products[0];
  if (first) {
    const decoded = decodeProductState(first.state);
    return { product: first.name, enabled: decoded.enabled, upToDate: decoded.upToDate };
  }
  return null;
}

export function parseSecurity(raw: Raw): SectionInput<'security'> {
  const admins =
    raw.LocalAdmins !== null && raw.LocalAdmins !== undefined
      ? list(raw.LocalAdmins).filter((a): a is string => typeof a === 'string')
      : parseNetLocalgroup(raw.LocalAdminsNet);

  const services = objects(raw.Services);
  const sshd = services.find((s) => String(s.Name).toLowerCase() === 'sshd');
  const ports = new Set(list(raw.ListeningTcpPorts).map(num));
  const rdp = obj(raw.Rdp);
  const deny = rdp ? num(rdp.fDenyTSConnections) : null;

  // Enabled only when every profile (Domain, Private, Public) is: one open profile is an open door.
  const profiles = objects(raw.FirewallProfiles).map((p) => bool(p.Enabled));
  const firewall =
    profiles.length === 0
      ? { enabled: null, product: null }
      : { enabled: profiles.some((p) => p === null) ? null : profiles.every(Boolean), product: 'Windows Defender Firewall' };

  return {
    localAdmins: uniqueSorted(admins.map((a) => clip(a, 300)).filter((a): a is string => a !== null)).slice(0, 500),
    sshEnabled: raw.Services === null || raw.Services === undefined ? null : sshd ? startModeFromWindows(sshd.StartMode) === 'auto' : false,
    sshListening: raw.ListeningTcpPorts === null || raw.ListeningTcpPorts === undefined ? null : ports.has(22),
    rdpEnabled: deny === null ? null : deny === 0,
    firewall,
    diskEncryption: diskEncryption(raw),
    antivirus: antivirus(raw),
  };
}

export function parsePerformance(raw: Raw): SectionInput<'performance'> {
  const os = obj(raw.OperatingSystem) ?? {};
  const totalKb = count(os.TotalVisibleMemorySize);
  const freeKb = count(os.FreePhysicalMemory);
  const perf = num(obj(raw.Performance)?.ProcessorPercent);
  const loads = objects(raw.Processors)
    .map((p) => num(p.LoadPercentage))
    .filter((n): n is number => n !== null);
  const cpuPercent = perf ?? (loads.length ? loads.reduce((a, b) => a + b, 0) / loads.length : null);
  return {
    // Windows has no load average.
    cpuLoad1: null,
    cpuLoad5: null,
    cpuLoad15: null,
    cpuPercent: cpuPercent === null ? null : Math.round(Math.min(100, Math.max(0, cpuPercent)) * 10) / 10,
    memoryUsedBytes: totalKb !== null && freeKb !== null ? Math.max(0, totalKb - freeKb) * 1024 : null,
    memoryTotalBytes: totalKb !== null ? totalKb * 1024 : null,
    filesystems: logicalDisks(raw).map((d) => ({ mount: d.mount, sizeBytes: d.size, usedBytes: Math.max(0, d.size - d.free) })),
  };
}

export const windowsParsers: { [K in keyof InventorySections]: (raw: Raw, options?: WindowsParseOptions) => SectionInput<K> } = {
  system: parseSystem,
  hardware: parseHardware,
  directory: parseDirectory,
  software: parseSoftware,
  services: parseServices,
  security: parseSecurity,
  performance: parsePerformance,
};

/** collect.ps1's stdout → the raw object (a BOM or stray lines before the JSON are tolerated). */
export function parseRawOutput(stdout: string): Raw {
  const text = stdout.replace(/^\uFEFF/, '');
  const start = text.indexOf('{');
  if (start < 0) throw new Error('collect.ps1 printed no JSON object');
  const parsed: unknown = JSON.parse(text.slice(start));
  const raw = obj(parsed);
  if (!raw || Array.isArray(parsed)) throw new Error('collect.ps1 output is not a JSON object');
  return raw;
}

/** Errors the script recorded for parts it could not collect. */
export function scriptErrors(raw: Raw): { part: string; message: string }[] {
  return objects(raw.Errors).map((e) => ({ part: String(e.Part ?? '?'), message: String(e.Message ?? '') }));
}
