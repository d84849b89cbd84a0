/**
 * DeviceFacts: the flat view of a device that rules are evaluated against, and its derivation from the
 * device row + stored inventory sections. Pure: the caller passes `now`, so time-dependent facts
 * (ages, status, uptime) are reproducible in tests and consistent across one evaluation pass.
 */
import type { InventorySections } from '@opsconductor/contracts/inventory';

/**
 * Every built-in rule field and its type. Mirrors `ruleFields` in the contract (a test asserts they
 * agree) so that DeviceFacts can be typed per key.
 */
export const builtInFieldTypes = {
  hostname: 'string',
  fqdn: 'string',
  'os.family': 'string',
  'os.name': 'string',
  'os.version': 'version',
  'os.build': 'string',
  'os.kernel': 'string',
  'os.architecture': 'string',
  'agent.version': 'version',
  'device.lastSeenAgeDays': 'number',
  'device.enrolledAgeDays': 'number',
  'device.status': 'string',
  'network.ipAddresses': 'list',
  'hardware.manufacturer': 'string',
  'hardware.model': 'string',
  'hardware.serialNumber': 'string',
  'hardware.chassisType': 'string',
  'hardware.virtualization': 'string',
  'hardware.isVirtual': 'boolean',
  'hardware.firmwareType': 'string',
  'hardware.memoryBytes': 'number',
  'hardware.cpuCores': 'number',
  'hardware.biosVersion': 'string',
  'directory.type': 'string',
  'directory.domain': 'string',
  'system.pendingReboot': 'boolean',
  'system.uptimeDays': 'number',
  'system.timezone': 'string',
  'security.sshEnabled': 'boolean',
  'security.rdpEnabled': 'boolean',
  'security.firewallEnabled': 'boolean',
  'security.diskEncrypted': 'boolean',
  'security.localAdmins': 'list',
  'performance.minDiskFreePercent': 'number',
  'performance.memoryUsedPercent': 'number',
  tags: 'list',
} as const;

export type BuiltInFieldKey = keyof typeof builtInFieldTypes;
type FactOf<T> = T extends 'string' | 'version' | 'date'
  ? string
  : T extends 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : readonly string[];

/** Values of the built-in fields; null = not known (section not reported, value not collected). */
export type BuiltInFacts = { readonly [K in BuiltInFieldKey]: FactOf<(typeof builtInFieldTypes)[K]> | null };

export type CustomFieldValue = string | number | boolean | null;
export type FactValue = string | number | boolean | readonly string[] | null;

export interface SoftwareFact {
  readonly name: string;
  readonly version: string;
}

export interface DeviceFacts extends BuiltInFacts {
  /** Custom field values by key (without the `customFields.` prefix); dates as ISO 8601 strings. */
  readonly customFields: Readonly<Record<string, CustomFieldValue>>;
  /** IDs of the groups the device is a member of (lowercase UUIDs, as Postgres returns them). */
  readonly groups: ReadonlySet<string>;
  /**
   * Installed packages; only those matching the rules' software patterns are needed (see
   * dependencies.ts). Do not mutate it after the first evaluation: the evaluator caches a name index per array.
   */
  readonly software: ReadonlyArray<SoftwareFact>;
}

/** The inventory sections factsFromDevice reads (software and services are passed separately or not at all). */
export type FactSections = Partial<Omit<InventorySections, 'software' | 'services'>>;

export interface DeviceFactsInput {
  device: {
    hostname: string;
    osFamily: string;
    osName: string;
    osVersion: string;
    architecture: string;
    ipAddresses: readonly string[];
    agentVersion: string | null;
    lastSeenAt: Date | null;
    /** Set when the agent said goodbye (clean shutdown) and has not been heard from since. */
    agentStoppedAt?: Date | null;
    enrolledAt: Date;
  };
  sections?: FactSections;
  tags: readonly string[];
  customFields: Readonly<Record<string, CustomFieldValue>>;
  groups: Iterable<string>;
  software: ReadonlyArray<SoftwareFact>;
  /** When the sections were collected; anchors `system.uptimeDays` when only `uptimeSeconds` is known (default: now). */
  inventoryCollectedAt?: Date | null;
  /** Stored InventoryFacts (from inventoryFacts at ingest); when given, `sections` is not read. */
  inventory?: InventoryFacts | null;
}

export interface FactsOptions {
  /** When a device counts as online, stale and offline (default DEFAULT_PRESENCE). */
  presence?: PresenceThresholds;
}

/** How long a device may go unheard before it is stale, and before it is offline (DEVICE_ONLINE_WINDOW_SECONDS, DEVICE_OFFLINE_AFTER_SECONDS). */
export interface PresenceThresholds {
  /** Heard from at most this long ago (and not stopped): `online`. Agents are heard from at least every 25 s. */
  onlineWindowSeconds: number;
  /** Not heard from for longer than this (or stopped): `offline`; in between: `stale`. At least the online window. */
  offlineAfterSeconds: number;
}

export const DEFAULT_PRESENCE: Readonly<PresenceThresholds> = Object.freeze({ onlineWindowSeconds: 90, offlineAfterSeconds: 600 });
const DAY_MS = 86_400_000;

export type DeviceStatus = 'online' | 'stale' | 'offline' | 'never_seen';

/**
 * Presence from check-ins: online while heard from within the online window, stale once it has missed check-ins
 * for longer, offline when not heard from past the offline threshold. An agent that said goodbye (a clean stop) is
 * offline at once, until it is heard from again.
 */
export function deviceStatusAt(
  device: { lastSeenAt: Date | null; agentStoppedAt?: Date | null },
  now: Date,
  presence: PresenceThresholds = DEFAULT_PRESENCE,
): DeviceStatus {
  if (!device.lastSeenAt) return 'never_seen';
  if (device.agentStoppedAt) return 'offline';
  const silentMs = now.getTime() - device.lastSeenAt.getTime();
  if (silentMs <= presence.onlineWindowSeconds * 1000) return 'online';
  return silentMs <= presence.offlineAfterSeconds * 1000 ? 'stale' : 'offline';
}

/** Empty strings carry no information; rules treat them as missing. */
function text(value: string | null | undefined): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

function ageDays(since: Date | null | undefined, now: Date): number | null {
  if (!since) return null;
  const ms = now.getTime() - since.getTime();
  if (!Number.isFinite(ms)) return null;
  return Math.max(0, ms) / DAY_MS; // a clock skewed into the future reads as "just now", never negative
}

/** Node's `os.arch()` and OS-native names, folded onto the catalog's x64/arm64/x86/arm. */
const ARCHITECTURES: Record<string, string> = {
  x64: 'x64',
  x86_64: 'x64',
  amd64: 'x64',
  'x86-64': 'x64',
  arm64: 'arm64',
  aarch64: 'arm64',
  x86: 'x86',
  ia32: 'x86',
  i386: 'x86',
  i486: 'x86',
  i586: 'x86',
  i686: 'x86',
  arm: 'arm',
  armhf: 'arm',
  armel: 'arm',
  armv7l: 'arm',
  armv6l: 'arm',
};

export function normalizeArchitecture(value: string | null | undefined): string | null {
  const a = text(value)?.trim().toLowerCase();
  if (!a) return null;
  return Object.hasOwn(ARCHITECTURES, a) ? ARCHITECTURES[a]! : a;
}

/** Read-only image and memory filesystems are always "full" or not disks: they would put every
 * Ubuntu host (snap squashfs mounts at 100 %) into "Low disk". */
const IGNORED_FS_TYPES: ReadonlySet<string> = new Set([
  'squashfs',
  'iso9660',
  'udf',
  'erofs',
  'cramfs',
  'tmpfs',
  'devtmpfs',
  'ramfs',
  'overlay',
  'proc',
  'sysfs',
  'devfs',
  'cgroup',
  'cgroup2',
  'nsfs',
  'autofs',
  'efivarfs',
  'fuse.snapfuse',
  'fuse.lxcfs',
]);
const isIgnoredMount = (mount: string): boolean =>
  mount.startsWith('/snap/') || mount.startsWith('/proc') || mount.startsWith('/sys') || mount === '/dev';

function minDiskFreePercent(sections: FactSections): number | null {
  const fsTypeByMount = new Map((sections.hardware?.filesystems ?? []).map((f) => [f.mount, f.fsType?.toLowerCase() ?? null]));
  const usable = (mount: string) => {
    const type = fsTypeByMount.get(mount);
    return !isIgnoredMount(mount) && !(type && IGNORED_FS_TYPES.has(type));
  };
  // performance.filesystems is the fresher measurement; hardware.filesystems is the fallback.
  const perf = sections.performance?.filesystems ?? [];
  const samples =
    perf.length > 0
      ? perf.filter((f) => f.sizeBytes > 0 && usable(f.mount)).map((f) => (f.sizeBytes - f.usedBytes) / f.sizeBytes)
      : (sections.hardware?.filesystems ?? []).filter((f) => f.sizeBytes > 0 && usable(f.mount)).map((f) => f.freeBytes / f.sizeBytes);
  if (samples.length === 0) return null;
  return Math.min(100, Math.max(0, Math.min(...samples) * 100));
}

function memoryUsedPercent(sections: FactSections): number | null {
  const used = sections.performance?.memoryUsedBytes;
  const total = sections.performance?.memoryTotalBytes ?? sections.hardware?.memoryBytes;
  if (used == null || !total) return null;
  return Math.min(100, Math.max(0, (used / total) * 100));
}

/**
 * When the device booted, in epoch ms: uptime keeps advancing between reports, so rules compare
 * against boot time rather than a snapshot. `uptimeSeconds` is anchored at the collection time.
 */
function bootTimeMs(system: FactSections['system'], collectedAt: Date): number | null {
  if (!system) return null;
  const boot = system.bootTime ? Date.parse(system.bootTime) : NaN;
  if (Number.isFinite(boot)) return boot;
  if (system.uptimeSeconds == null) return null;
  return collectedAt.getTime() - system.uptimeSeconds * 1000;
}

const isLoopback = (ip: string): boolean => ip.startsWith('127.') || ip === '::1';

function addresses(...lists: ReadonlyArray<readonly string[]>): string[] {
  const all = new Set<string>();
  for (const list of lists) {
    for (const ip of list) {
      const v = ip.trim().toLowerCase();
      if (v && !isLoopback(v)) all.add(v);
    }
  }
  return [...all];
}

function isVirtual(hardware: FactSections['hardware']): boolean | null {
  if (!hardware) return null;
  const kind = hardware.virtualization.kind;
  return (kind !== 'physical' && kind !== 'unknown') || hardware.chassisType === 'virtual';
}

function diskEncrypted(security: FactSections['security']): boolean | null {
  const volumes = security?.diskEncryption ?? [];
  return volumes.length === 0 ? null : volumes.every((v) => v.encrypted);
}

function customScalars(values: Readonly<Record<string, CustomFieldValue>>): Record<string, CustomFieldValue> {
  const out: Record<string, CustomFieldValue> = Object.create(null);
  for (const [key, value] of Object.entries(values)) {
    if (value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))
      out[key] = value;
  }
  return out;
}

/** The built-in facts derived from inventory sections alone (neither the device row nor the clock). */
export const inventoryFactKeys = [
  'fqdn',
  'os.build',
  'os.kernel',
  'hardware.manufacturer',
  'hardware.model',
  'hardware.serialNumber',
  'hardware.chassisType',
  'hardware.virtualization',
  'hardware.isVirtual',
  'hardware.firmwareType',
  'hardware.memoryBytes',
  'hardware.cpuCores',
  'hardware.biosVersion',
  'directory.type',
  'directory.domain',
  'system.pendingReboot',
  'system.timezone',
  'security.sshEnabled',
  'security.rdpEnabled',
  'security.firewallEnabled',
  'security.diskEncrypted',
  'security.localAdmins',
  'performance.minDiskFreePercent',
  'performance.memoryUsedPercent',
] as const satisfies readonly BuiltInFieldKey[];
export type InventoryFactKey = (typeof inventoryFactKeys)[number];

/**
 * The inventory-derived, clock-independent part of a device's facts: plain JSON, meant to be stored on
 * the device row at ingest (`Device.ruleFacts`) so that evaluating groups over every device needs no
 * section parsing. factsFromDevice combines it with the device row and `now`; in particular
 * `system.uptimeDays` is recomputed from `bootTime` at evaluation time instead of being frozen at ingest.
 */
export interface InventoryFacts {
  readonly facts: { readonly [K in InventoryFactKey]: BuiltInFacts[K] };
  /** Addresses of the reported network interfaces; merged with the device row's addresses. */
  readonly interfaceAddresses: readonly string[];
  /** When the device booted (ISO 8601), or null if unknown. */
  readonly bootTime: string | null;
  /** System section fallbacks for identity fields the device row leaves empty. */
  readonly system: {
    readonly hostname: string | null;
    readonly osFamily: string | null;
    readonly osName: string | null;
    readonly osVersion: string | null;
    readonly architecture: string | null;
  };
}

/** Derives InventoryFacts from (possibly partial) sections; `collectedAt` anchors a reported uptime. */
export function inventoryFacts(sections: FactSections, collectedAt: Date): InventoryFacts {
  const { system, hardware, directory, security } = sections;
  const boot = bootTimeMs(system, collectedAt);
  return {
    facts: {
      fqdn: text(system?.fqdn),
      'os.build': text(system?.osBuild),
      'os.kernel': text(system?.kernel),
      'hardware.manufacturer': text(hardware?.manufacturer),
      'hardware.model': text(hardware?.model),
      'hardware.serialNumber': text(hardware?.serialNumber),
      'hardware.chassisType': hardware?.chassisType ?? null,
      'hardware.virtualization': hardware?.virtualization.kind ?? null,
      'hardware.isVirtual': isVirtual(hardware),
      'hardware.firmwareType': hardware?.firmwareType ?? null,
      'hardware.memoryBytes': hardware?.memoryBytes ?? null,
      'hardware.cpuCores': hardware?.cpu.cores ?? null,
      'hardware.biosVersion': text(hardware?.biosVersion),
      'directory.type': directory?.type ?? null,
      'directory.domain': text(directory?.domain),
      'system.pendingReboot': system?.pendingReboot ?? null,
      'system.timezone': text(system?.timezone),
      'security.sshEnabled': security?.sshEnabled ?? null,
      'security.rdpEnabled': security?.rdpEnabled ?? null,
      'security.firewallEnabled': security?.firewall.enabled ?? null,
      'security.diskEncrypted': diskEncrypted(security),
      'security.localAdmins': security ? [...security.localAdmins] : null,
      'performance.minDiskFreePercent': minDiskFreePercent(sections),
      'performance.memoryUsedPercent': memoryUsedPercent(sections),
    },
    interfaceAddresses: addresses(...(hardware?.networkInterfaces ?? []).flatMap((nic) => [nic.ipv4, nic.ipv6])),
    bootTime: boot === null || !Number.isFinite(boot) ? null : new Date(boot).toISOString(),
    system: {
      hostname: text(system?.hostname),
      osFamily: text(system?.osFamily),
      osName: text(system?.osName),
      osVersion: text(system?.osVersion),
      architecture: text(system?.architecture),
    },
  };
}

/**
 * Builds the facts of one device at `now`. The device row (kept current by ingest) wins over the
 * system section for the identity fields; the section fills in what the row leaves empty. Pass
 * `inventory` (stored InventoryFacts) instead of `sections` to skip re-deriving them.
 */
export function factsFromDevice(input: DeviceFactsInput, now: Date, options: FactsOptions = {}): DeviceFacts {
  const { device } = input;
  const inv = input.inventory ?? inventoryFacts(input.sections ?? {}, input.inventoryCollectedAt ?? now);
  const boot = inv.bootTime ? Date.parse(inv.bootTime) : NaN;

  return {
    ...inv.facts,
    hostname: text(device.hostname) ?? inv.system.hostname,
    'os.family': (text(device.osFamily) ?? inv.system.osFamily)?.toLowerCase() ?? null,
    'os.name': text(device.osName) ?? inv.system.osName,
    'os.version': text(device.osVersion) ?? inv.system.osVersion,
    'os.architecture': normalizeArchitecture(text(device.architecture) ?? inv.system.architecture),
    'agent.version': text(device.agentVersion),
    'device.lastSeenAgeDays': ageDays(device.lastSeenAt, now),
    'device.enrolledAgeDays': ageDays(device.enrolledAt, now),
    'device.status': deviceStatusAt(device, now, options.presence),
    'network.ipAddresses': addresses(device.ipAddresses, inv.interfaceAddresses),
    'system.uptimeDays': Number.isFinite(boot) ? Math.max(0, now.getTime() - boot) / DAY_MS : null,
    tags: [...input.tags],
    customFields: customScalars(input.customFields),
    groups: new Set(input.groups),
    software: input.software.map((p) => ({ name: p.name, version: p.version })),
  };
}
