/**
 * Inventory reports, agent → server (`POST /agent/v1/inventory`). A report is split into sections; each
 * section's hash (SHA-256 of its canonical JSON, see inventory-hash.ts) lets the agent send only the
 * sections that changed (delta mode). Sizes are bounded: agent data is untrusted.
 */
import { z } from 'zod';
import { agentText, isoTimestamp } from './text.ts';

/** Agent strings: bounded, NUL and unpaired surrogates replaced by U+FFFD (they could not be stored). */
const text = (max = 255) => agentText(max);
const optText = (max = 255) => text(max).nullish();
const count = z.number().int().min(0);
const bytes = z
  .number()
  .int()
  .min(0)
  .max(2 ** 53);
const isoDate = agentText(40);

export const inventorySectionNames = ['system', 'hardware', 'directory', 'software', 'services', 'security', 'performance'] as const;
export type InventorySectionName = (typeof inventorySectionNames)[number];

export const systemSection = z.object({
  hostname: text().min(1),
  fqdn: optText(),
  osFamily: z.enum(['linux', 'windows', 'macos', 'other']),
  osName: text(200),
  osVersion: text(100),
  /** Windows build (e.g. 22631) or distribution codename; free text. */
  osBuild: optText(100),
  kernel: optText(200),
  architecture: text(50),
  uptimeSeconds: count.nullish(),
  bootTime: isoDate.nullish(),
  timezone: optText(100),
  pendingReboot: z.boolean(),
  pendingRebootReasons: z.array(text(200)).max(20).default([]),
});
export type SystemSection = z.infer<typeof systemSection>;

export const virtualizationKinds = ['physical', 'kvm', 'vmware', 'hyperv', 'virtualbox', 'xen', 'container', 'other', 'unknown'] as const;
export const chassisTypes = ['desktop', 'laptop', 'server', 'virtual', 'other', 'unknown'] as const;

export const hardwareSection = z.object({
  manufacturer: optText(),
  model: optText(),
  serialNumber: optText(),
  systemUuid: optText(64),
  chassisType: z.enum(chassisTypes).default('unknown'),
  biosVendor: optText(),
  biosVersion: optText(),
  biosDate: optText(40),
  firmwareType: z.enum(['uefi', 'bios', 'unknown']),
  cpu: z.object({ model: optText(), cores: count.nullish(), threads: count.nullish(), sockets: count.nullish() }),
  memoryBytes: bytes.nullish(),
  disks: z
    .array(
      z.object({ name: text(), model: optText(), sizeBytes: bytes.nullish(), type: z.enum(['ssd', 'hdd', 'unknown']).default('unknown') }),
    )
    .max(256),
  /**
   * `sizeBytes` is what ordinary users can fill (used + free; on Linux root's reserved blocks are not
   * counted, as in df's Use%), so size − free here is the `usedBytes` of the performance section.
   */
  filesystems: z
    .array(z.object({ mount: text(1024), device: optText(1024), fsType: optText(50), sizeBytes: bytes, freeBytes: bytes }))
    .max(256),
  networkInterfaces: z
    .array(z.object({ name: text(), mac: optText(64), ipv4: z.array(text(64)).max(64), ipv6: z.array(text(64)).max(64) }))
    .max(128),
  virtualization: z.object({ kind: z.enum(virtualizationKinds), detail: optText() }),
});
export type HardwareSection = z.infer<typeof hardwareSection>;

export const directorySection = z.object({
  /** ad: Active Directory (Windows or a Linux host joined via sssd/winbind); realm: Kerberos/IPA; workgroup: not joined (Windows). */
  type: z.enum(['ad', 'realm', 'workgroup', 'none']),
  domain: optText(),
  workgroup: optText(),
  /** How membership is managed: windows, sssd, realmd, winbind. */
  provider: optText(50),
});
export type DirectorySection = z.infer<typeof directorySection>;

export const softwarePackage = z.object({
  name: text(300).min(1),
  version: text(200),
  architecture: optText(50),
  vendor: optText(300),
  installDate: optText(40),
  source: z.enum(['dpkg', 'rpm', 'pacman', 'msi', 'registry', 'other']),
  /** MSI ProductCode ({GUID}) for Windows Installer packages. */
  productCode: optText(64),
  upgradeCode: optText(64),
});
export type SoftwarePackage = z.infer<typeof softwarePackage>;
export const softwareSection = z.object({ packages: z.array(softwarePackage).max(20000) });
export type SoftwareSection = z.infer<typeof softwareSection>;

export const servicesSection = z.object({
  services: z
    .array(
      z.object({
        name: text(300).min(1),
        displayName: optText(300),
        state: z.enum(['running', 'stopped', 'failed', 'starting', 'stopping', 'other']),
        startMode: z.enum(['auto', 'manual', 'disabled', 'other']),
      }),
    )
    .max(5000),
});
export type ServicesSection = z.infer<typeof servicesSection>;

export const securitySection = z.object({
  localAdmins: z.array(text(300)).max(500),
  sshEnabled: z.boolean().nullish(),
  sshListening: z.boolean().nullish(),
  rdpEnabled: z.boolean().nullish(),
  firewall: z.object({ enabled: z.boolean().nullable(), product: optText() }),
  diskEncryption: z.array(z.object({ volume: text(1024), encrypted: z.boolean(), method: optText(100) })).max(256),
  antivirus: z.object({ product: text(), enabled: z.boolean().nullable(), upToDate: z.boolean().nullable() }).nullish(),
});
export type SecuritySection = z.infer<typeof securitySection>;

export const performanceSection = z.object({
  cpuLoad1: z.number().min(0).nullish(),
  cpuLoad5: z.number().min(0).nullish(),
  cpuLoad15: z.number().min(0).nullish(),
  cpuPercent: z.number().min(0).max(100).nullish(),
  memoryUsedBytes: bytes.nullish(),
  memoryTotalBytes: bytes.nullish(),
  /** Same `sizeBytes` as the hardware section's filesystems: used / size is the usage both show. */
  filesystems: z.array(z.object({ mount: text(1024), sizeBytes: bytes, usedBytes: bytes })).max(256),
});
export type PerformanceSection = z.infer<typeof performanceSection>;

export const inventorySections = z.object({
  system: systemSection,
  hardware: hardwareSection,
  directory: directorySection,
  software: softwareSection,
  services: servicesSection,
  security: securitySection,
  performance: performanceSection,
});
export type InventorySections = z.infer<typeof inventorySections>;

const sectionHash = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * `full`: every section. `delta`: only the sections whose hash changed since the last accepted report;
 * `hashes` always lists the hash of every section the agent has. The server answers 409
 * `inventory_full_report_required` (changing nothing) when it lacks the base a delta builds on.
 */
export const inventoryReport = z
  .object({
    mode: z.enum(['full', 'delta']),
    collectedAt: isoTimestamp,
    sections: inventorySections.partial(),
    hashes: z.record(z.enum(inventorySectionNames), sectionHash),
  })
  .superRefine((r, ctx) => {
    for (const name of Object.keys(r.sections)) {
      if (!(name in r.hashes)) ctx.addIssue({ code: 'custom', path: ['hashes', name], message: 'every sent section needs its hash' });
    }
    if (r.mode === 'full') {
      for (const name of inventorySectionNames) {
        if (!(name in r.sections)) ctx.addIssue({ code: 'custom', path: ['sections', name], message: 'a full report has every section' });
      }
    }
  })
  .meta({ id: 'InventoryReport' });
export type InventoryReport = z.infer<typeof inventoryReport>;

export const inventoryResponse = z
  .object({
    accepted: z.boolean(),
    /** Sections stored by this report (unchanged ones are not counted). */
    changedSections: z.array(z.enum(inventorySectionNames)),
    /** Seconds until the agent should send a full report again; deltas go every `deltaIntervalSeconds`. */
    fullIntervalSeconds: z.number().int(),
    deltaIntervalSeconds: z.number().int(),
  })
  .meta({ id: 'InventoryResponse' });
export type InventoryResponse = z.infer<typeof inventoryResponse>;

/** Largest inventory report body the server accepts (bytes). */
export const MAX_INVENTORY_REPORT_BYTES = 8 * 1024 * 1024;
