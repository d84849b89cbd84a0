/**
 * Turns two versions of an inventory section into history events. Only changes produce events, so
 * history grows with what happens on the device, not with how often it reports. Sections that change
 * all the time (performance) or carry no history value (services) produce none.
 */
import type { InventorySections, SoftwarePackage } from '@opsconductor/contracts/inventory';
import type { inventoryEventKinds } from '@opsconductor/contracts/inventory-api';

export type InventoryEventKind = (typeof inventoryEventKinds)[number];
export interface InventoryChange {
  section: keyof InventorySections;
  kind: InventoryEventKind;
  subject: string;
  oldValue: string | null;
  newValue: string | null;
}

const str = (v: unknown): string | null =>
  v === null || v === undefined || v === '' ? null : typeof v === 'string' ? v : JSON.stringify(v);
const setText = (xs: readonly string[]) => [...new Set(xs)].sort().join(', ');

function fieldChanges(
  section: keyof InventorySections,
  kind: InventoryEventKind,
  fields: Record<string, [unknown, unknown]>,
): InventoryChange[] {
  const out: InventoryChange[] = [];
  for (const [subject, [a, b]] of Object.entries(fields)) {
    const oldValue = str(a);
    const newValue = str(b);
    if (oldValue !== newValue) out.push({ section, kind, subject, oldValue, newValue });
  }
  return out;
}

/** Identity of a package across reports: the same name from the same source for the same architecture. */
export const softwareKey = (p: Pick<SoftwarePackage, 'name' | 'source' | 'architecture'>) =>
  `${p.source}\u0000${p.name}\u0000${p.architecture ?? ''}`;

export function softwareChanges(before: readonly SoftwarePackage[], after: readonly SoftwarePackage[]) {
  const old = new Map(before.map((p) => [softwareKey(p), p]));
  const now = new Map(after.map((p) => [softwareKey(p), p]));
  const installed: SoftwarePackage[] = [];
  const removed: SoftwarePackage[] = [];
  const upgraded: { from: SoftwarePackage; to: SoftwarePackage }[] = [];
  for (const [k, p] of now) {
    const o = old.get(k);
    if (!o) installed.push(p);
    else if (o.version !== p.version || o.productCode !== p.productCode || o.vendor !== p.vendor || o.installDate !== p.installDate)
      upgraded.push({ from: o, to: p });
  }
  for (const [k, p] of old) if (!now.has(k)) removed.push(p);
  return { installed, removed, upgraded };
}

const label = (p: SoftwarePackage) => (p.architecture ? `${p.name} (${p.architecture})` : p.name);

export function diffSection<K extends keyof InventorySections>(
  section: K,
  before: InventorySections[K],
  after: InventorySections[K],
): InventoryChange[] {
  switch (section) {
    case 'software': {
      const { installed, removed, upgraded } = softwareChanges(
        (before as InventorySections['software']).packages,
        (after as InventorySections['software']).packages,
      );
      return [
        ...installed.map((p) => ({ section, kind: 'software_installed' as const, subject: label(p), oldValue: null, newValue: p.version })),
        ...removed.map((p) => ({ section, kind: 'software_removed' as const, subject: label(p), oldValue: p.version, newValue: null })),
        // A changed version is an upgrade (or downgrade); other metadata changes (e.g. reinstall) report the version too.
        ...upgraded.map(({ from, to }) => ({
          section,
          kind: 'software_upgraded' as const,
          subject: label(to),
          oldValue: from.version,
          newValue: to.version,
        })),
      ];
    }
    case 'system': {
      const a = before as InventorySections['system'];
      const b = after as InventorySections['system'];
      return [
        ...fieldChanges(section, 'hostname_changed', { hostname: [a.hostname, b.hostname], fqdn: [a.fqdn, b.fqdn] }),
        ...fieldChanges(section, 'os_changed', {
          'os name': [a.osName, b.osName],
          'os version': [a.osVersion, b.osVersion],
          'os build': [a.osBuild, b.osBuild],
          kernel: [a.kernel, b.kernel],
          architecture: [a.architecture, b.architecture],
        }),
      ];
    }
    case 'hardware': {
      const a = before as InventorySections['hardware'];
      const b = after as InventorySections['hardware'];
      const ips = (h: InventorySections['hardware']) => setText(h.networkInterfaces.flatMap((n) => [...n.ipv4, ...n.ipv6]));
      const macs = (h: InventorySections['hardware']) => setText(h.networkInterfaces.map((n) => `${n.name}=${n.mac ?? '?'}`));
      const disks = (h: InventorySections['hardware']) => setText(h.disks.map((d) => `${d.name} ${d.sizeBytes ?? '?'}`));
      return [
        ...fieldChanges(section, 'ip_changed', { 'IP addresses': [ips(a), ips(b)] }),
        ...fieldChanges(section, 'hardware_changed', {
          manufacturer: [a.manufacturer, b.manufacturer],
          model: [a.model, b.model],
          'serial number': [a.serialNumber, b.serialNumber],
          'system UUID': [a.systemUuid, b.systemUuid],
          'BIOS version': [a.biosVersion, b.biosVersion],
          firmware: [a.firmwareType, b.firmwareType],
          CPU: [a.cpu.model, b.cpu.model],
          'CPU cores': [a.cpu.cores, b.cpu.cores],
          memory: [a.memoryBytes, b.memoryBytes],
          disks: [disks(a), disks(b)],
          'network interfaces': [macs(a), macs(b)],
          virtualization: [a.virtualization.kind, b.virtualization.kind],
        }),
      ];
    }
    case 'directory': {
      const a = before as InventorySections['directory'];
      const b = after as InventorySections['directory'];
      return fieldChanges(section, 'domain_changed', {
        membership: [a.type, b.type],
        domain: [a.domain, b.domain],
        workgroup: [a.workgroup, b.workgroup],
      });
    }
    case 'security': {
      const a = before as InventorySections['security'];
      const b = after as InventorySections['security'];
      const enc = (s: InventorySections['security']) => setText(s.diskEncryption.map((d) => `${d.volume}:${d.encrypted ? 'on' : 'off'}`));
      return fieldChanges(section, 'security_changed', {
        'local administrators': [setText(a.localAdmins), setText(b.localAdmins)],
        'SSH server': [a.sshEnabled, b.sshEnabled],
        RDP: [a.rdpEnabled, b.rdpEnabled],
        firewall: [a.firewall.enabled, b.firewall.enabled],
        'disk encryption': [enc(a), enc(b)],
        antivirus: [a.antivirus?.enabled, b.antivirus?.enabled],
      });
    }
    default:
      return [];
  }
}
