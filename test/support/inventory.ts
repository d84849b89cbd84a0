/** Valid, realistic inventory reports for tests and benchmarks. */
import type { InventoryReport, InventorySections, InventorySectionName, SoftwarePackage } from '@opsconductor/contracts/inventory';
import { inventorySectionNames } from '@opsconductor/contracts/inventory';
import { sectionHash } from '@opsconductor/contracts/inventory-hash';

export function samplePackages(count: number, seed = 0): SoftwarePackage[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `pkg-${String(i).padStart(4, '0')}`,
    version: `${1 + ((i + seed) % 5)}.${i % 10}.${seed}`,
    architecture: 'amd64',
    vendor: 'Debian',
    installDate: '2026-01-01T00:00:00.000Z',
    source: 'dpkg' as const,
  }));
}

export function sampleSections(
  o: {
    hostname?: string;
    packages?: number;
    osFamily?: 'linux' | 'windows';
    osName?: string;
    osVersion?: string;
    ip?: string;
    virtual?: boolean;
    diskFreePercent?: number;
    pendingReboot?: boolean;
  } = {},
): InventorySections {
  const family = o.osFamily ?? 'linux';
  const size = 100 * 2 ** 30;
  const free = Math.round((size * (o.diskFreePercent ?? 50)) / 100);
  return {
    system: {
      hostname: o.hostname ?? 'ws-001',
      fqdn: `${o.hostname ?? 'ws-001'}.corp.example`,
      osFamily: family,
      osName: o.osName ?? (family === 'windows' ? 'Microsoft Windows 11 Enterprise' : 'Debian GNU/Linux 12 (bookworm)'),
      osVersion: o.osVersion ?? (family === 'windows' ? '10.0.22631' : '12'),
      osBuild: null,
      kernel: family === 'linux' ? '6.1.0-18-amd64' : null,
      architecture: 'x64',
      uptimeSeconds: 3600,
      bootTime: '2026-11-22T00:00:00.000Z',
      timezone: 'Europe/Berlin',
      pendingReboot: o.pendingReboot ?? false,
      pendingRebootReasons: [],
    },
    hardware: {
      manufacturer: o.virtual ? 'QEMU' : 'Dell Inc.',
      model: o.virtual ? 'Standard PC (Q35 + ICH9, 2009)' : 'Latitude 7440',
      serialNumber: 'ABC1234',
      systemUuid: '4c4c4544-0042-4310-8031-b4c04f4a3332',
      chassisType: o.virtual ? 'virtual' : 'laptop',
      biosVendor: 'Dell Inc.',
      biosVersion: '1.12.0',
      biosDate: '2024-01-31',
      firmwareType: 'uefi',
      cpu: { model: 'Intel(R) Core(TM) i7-1365U', cores: 10, threads: 12, sockets: 1 },
      memoryBytes: 16 * 2 ** 30,
      disks: [{ name: 'nvme0n1', model: 'PM9A1', sizeBytes: 512 * 10 ** 9, type: 'ssd' }],
      filesystems: [{ mount: '/', device: '/dev/nvme0n1p2', fsType: 'ext4', sizeBytes: size, freeBytes: free }],
      networkInterfaces: [{ name: 'eth0', mac: '00:11:22:33:44:55', ipv4: [o.ip ?? '10.1.2.3'], ipv6: [] }],
      virtualization: { kind: o.virtual ? 'kvm' : 'physical', detail: null },
    },
    directory: { type: 'ad', domain: 'corp.example', workgroup: null, provider: 'sssd' },
    software: { packages: samplePackages(o.packages ?? 300) },
    services: { services: [{ name: 'ssh.service', displayName: 'OpenBSD Secure Shell server', state: 'running', startMode: 'auto' }] },
    security: {
      localAdmins: ['root', 'alice'],
      sshEnabled: true,
      sshListening: true,
      rdpEnabled: false,
      firewall: { enabled: true, product: 'nftables' },
      diskEncryption: [{ volume: '/', encrypted: true, method: 'LUKS' }],
      antivirus: null,
    },
    performance: {
      cpuLoad1: 0.5,
      cpuLoad5: 0.4,
      cpuLoad15: 0.3,
      cpuPercent: 12,
      memoryUsedBytes: 4 * 2 ** 30,
      memoryTotalBytes: 16 * 2 ** 30,
      filesystems: [{ mount: '/', sizeBytes: size, usedBytes: size - free }],
    },
  };
}

export function hashesOf(sections: InventorySections): Record<InventorySectionName, string> {
  return Object.fromEntries(inventorySectionNames.map((n) => [n, sectionHash(sections[n])])) as Record<InventorySectionName, string>;
}

export function fullReport(sections: InventorySections): InventoryReport {
  return { mode: 'full', collectedAt: new Date().toISOString(), sections, hashes: hashesOf(sections) };
}

/** A delta carrying only the sections that differ from `previous`. */
export function deltaReport(previous: InventorySections, next: InventorySections): InventoryReport {
  const before = hashesOf(previous);
  const after = hashesOf(next);
  const sections = Object.fromEntries(inventorySectionNames.filter((n) => before[n] !== after[n]).map((n) => [n, next[n]]));
  return { mode: 'delta', collectedAt: new Date().toISOString(), sections, hashes: after };
}
