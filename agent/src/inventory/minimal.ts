/**
 * Sections built from Node's `os` module alone: the report for platforms without collectors (macOS, BSD)
 * and the stand-in for a section whose collector failed, so a report is always complete and valid.
 */
import os from 'node:os';
import type { InventorySectionName } from '@opsconductor/contracts/inventory';
import { osFamily } from '../facts.ts';
import { clipOr, normalizeArch, normalizeMac, quantizeUptime } from './normalize.ts';
import type { SectionInput } from './types.ts';

function interfaces(): SectionInput<'hardware'>['networkInterfaces'] {
  const out: SectionInput<'hardware'>['networkInterfaces'] = [];
  for (const [name, list] of Object.entries(os.networkInterfaces())) {
    if (!list || list.every((info) => info.internal)) continue;
    out.push({
      name: clipOr(name, 'unknown'),
      mac: normalizeMac(list[0]?.mac),
      ipv4: list
        .filter((i) => i.family === 'IPv4')
        .map((i) => i.address)
        .slice(0, 64),
      ipv6: list
        .filter((i) => i.family === 'IPv6')
        .map((i) => i.address)
        .slice(0, 64),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).slice(0, 128);
}

export function minimalSection<K extends InventorySectionName>(name: K): SectionInput<K> {
  return minimalBuilders[name]() as SectionInput<K>;
}

const minimalBuilders: { [K in InventorySectionName]: () => SectionInput<K> } = {
  system: () => ({
    hostname: clipOr(os.hostname(), 'unknown'),
    fqdn: null,
    osFamily: osFamily(),
    osName: clipOr(os.type(), 'unknown', 200),
    osVersion: clipOr(os.release(), 'unknown', 100),
    osBuild: null,
    kernel: clipOr(os.release(), 'unknown', 200),
    architecture: normalizeArch(os.arch()),
    uptimeSeconds: quantizeUptime(os.uptime()),
    bootTime: null,
    timezone: null,
    pendingReboot: false,
    pendingRebootReasons: [],
  }),
  hardware: () => {
    const cpus = os.cpus();
    return {
      manufacturer: null,
      model: null,
      serialNumber: null,
      systemUuid: null,
      chassisType: 'unknown',
      biosVendor: null,
      biosVersion: null,
      biosDate: null,
      firmwareType: 'unknown',
      cpu: { model: cpus[0]?.model.trim().slice(0, 255) || null, cores: null, threads: cpus.length || null, sockets: null },
      memoryBytes: os.totalmem(),
      disks: [],
      filesystems: [],
      networkInterfaces: interfaces(),
      virtualization: { kind: 'unknown', detail: null },
    };
  },
  directory: () => ({ type: 'none', domain: null, workgroup: null, provider: null }),
  software: () => ({ packages: [] }),
  services: () => ({ services: [] }),
  security: () => ({
    localAdmins: [],
    sshEnabled: null,
    sshListening: null,
    rdpEnabled: null,
    firewall: { enabled: null, product: null },
    diskEncryption: [],
    antivirus: null,
  }),
  performance: () => {
    // Windows has no load average; os.loadavg() returns zeros there, which would read as "idle".
    const load = process.platform === 'win32' ? [null, null, null] : os.loadavg().map((v) => Math.round(v * 100) / 100);
    return {
      cpuLoad1: load[0],
      cpuLoad5: load[1],
      cpuLoad15: load[2],
      cpuPercent: null,
      memoryUsedBytes: os.totalmem() - os.freemem(),
      memoryTotalBytes: os.totalmem(),
      filesystems: [],
    };
  },
};
