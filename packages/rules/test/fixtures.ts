/** Sample devices as the server holds them: the device row plus stored inventory sections. */
import type { DeviceFactsInput } from '../src/index.ts';

export const NOW = new Date('2025-03-10T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000);

export const windows11Laptop: DeviceFactsInput = {
  device: {
    hostname: 'LT-0042',
    osFamily: 'windows',
    osName: 'Windows 11 Pro',
    osVersion: '10.0.22631',
    architecture: 'x64',
    ipAddresses: ['192.168.1.23'],
    agentVersion: '1.4.0',
    lastSeenAt: new Date(NOW.getTime() - 30_000),
    enrolledAt: daysAgo(200),
  },
  sections: {
    system: {
      hostname: 'LT-0042',
      fqdn: 'LT-0042.corp.example.com',
      osFamily: 'windows',
      osName: 'Windows 11 Pro',
      osVersion: '10.0.22631',
      osBuild: '22631',
      kernel: null,
      architecture: 'x64',
      uptimeSeconds: 90_000,
      bootTime: '2025-03-09T10:00:00Z',
      timezone: 'W. Europe Standard Time',
      pendingReboot: true,
      pendingRebootReasons: ['Windows Update'],
    },
    hardware: {
      manufacturer: 'LENOVO',
      model: '21HM',
      serialNumber: 'PF3ABCDE',
      systemUuid: null,
      chassisType: 'laptop',
      biosVendor: 'LENOVO',
      biosVersion: 'N3HET80W (1.52 )',
      biosDate: '2024-05-01',
      firmwareType: 'uefi',
      cpu: { model: 'Intel Core i7-1365U', cores: 10, threads: 12, sockets: 1 },
      memoryBytes: 32 * 2 ** 30,
      disks: [{ name: 'PhysicalDrive0', model: 'SAMSUNG MZVL2512', sizeBytes: 512e9, type: 'ssd' }],
      filesystems: [{ mount: 'C:\\', device: null, fsType: 'NTFS', sizeBytes: 500e9, freeBytes: 120e9 }],
      networkInterfaces: [
        { name: 'Wi-Fi', mac: 'AA:BB:CC:DD:EE:FF', ipv4: ['192.168.1.23'], ipv6: ['FE80::1234'] },
        { name: 'Loopback', mac: null, ipv4: ['127.0.0.1'], ipv6: ['::1'] },
      ],
      virtualization: { kind: 'physical', detail: null },
    },
    directory: { type: 'ad', domain: 'corp.example.com', workgroup: null, provider: 'windows' },
    security: {
      localAdmins: ['Administrator', 'CORP\\Domain Admins'],
      sshEnabled: false,
      sshListening: false,
      rdpEnabled: true,
      firewall: { enabled: true, product: 'Windows Defender Firewall' },
      diskEncryption: [{ volume: 'C:', encrypted: true, method: 'XtsAes128' }],
      antivirus: { product: 'Microsoft Defender', enabled: true, upToDate: true },
    },
    performance: {
      cpuLoad1: null,
      cpuLoad5: null,
      cpuLoad15: null,
      cpuPercent: 12,
      memoryUsedBytes: 16 * 2 ** 30,
      memoryTotalBytes: 32 * 2 ** 30,
      filesystems: [{ mount: 'C:\\', sizeBytes: 500e9, usedBytes: 400e9 }],
    },
  },
  tags: ['Finance', 'laptop-pool'],
  customFields: { cost_center: 'CC-100', ring: 'pilot' },
  groups: [],
  software: [
    { name: 'Google Chrome', version: '122.0.6261.95' },
    { name: '7-Zip 23.01 (x64)', version: '23.01' },
  ],
};

export const debianServerVm: DeviceFactsInput = {
  device: {
    hostname: 'db-01',
    osFamily: 'linux',
    osName: 'Debian GNU/Linux 12 (bookworm)',
    osVersion: '12',
    architecture: 'x64',
    ipAddresses: ['10.0.0.5'],
    agentVersion: '1.4.0',
    lastSeenAt: minutesAgo(10),
    enrolledAt: daysAgo(30),
  },
  sections: {
    system: {
      hostname: 'db-01',
      fqdn: 'db-01.example.net',
      osFamily: 'linux',
      osName: 'Debian GNU/Linux 12 (bookworm)',
      osVersion: '12',
      osBuild: 'bookworm',
      kernel: '6.1.0-18-amd64',
      architecture: 'x64',
      uptimeSeconds: 3 * 86_400,
      bootTime: null,
      timezone: 'Etc/UTC',
      pendingReboot: false,
      pendingRebootReasons: [],
    },
    hardware: {
      manufacturer: 'QEMU',
      model: 'Standard PC (Q35 + ICH9, 2009)',
      serialNumber: null,
      systemUuid: null,
      chassisType: 'other',
      biosVendor: 'SeaBIOS',
      biosVersion: '1.16.2-debian-1.16.2-1',
      biosDate: null,
      firmwareType: 'bios',
      cpu: { model: 'QEMU Virtual CPU', cores: 4, threads: 4, sockets: 1 },
      memoryBytes: 8 * 2 ** 30,
      disks: [{ name: 'vda', model: null, sizeBytes: 100e9, type: 'unknown' }],
      filesystems: [
        { mount: '/', device: '/dev/vda1', fsType: 'ext4', sizeBytes: 100e9, freeBytes: 5e9 },
        { mount: '/boot/efi', device: '/dev/vda15', fsType: 'vfat', sizeBytes: 100e6, freeBytes: 90e6 },
        { mount: '/snap/core22/1122', device: '/dev/loop0', fsType: 'squashfs', sizeBytes: 77e6, freeBytes: 0 },
        { mount: '/run', device: 'tmpfs', fsType: 'tmpfs', sizeBytes: 800e6, freeBytes: 0 },
      ],
      networkInterfaces: [{ name: 'ens3', mac: '52:54:00:12:34:56', ipv4: ['10.0.0.5'], ipv6: ['fd00::5'] }],
      virtualization: { kind: 'kvm', detail: 'QEMU' },
    },
    directory: { type: 'none', domain: null, workgroup: null, provider: null },
    security: {
      localAdmins: ['root', 'ops'],
      sshEnabled: true,
      sshListening: true,
      rdpEnabled: null,
      firewall: { enabled: null, product: null },
      diskEncryption: [],
      antivirus: null,
    },
    performance: {
      cpuLoad1: 0.4,
      cpuLoad5: 0.3,
      cpuLoad15: 0.2,
      cpuPercent: null,
      memoryUsedBytes: 6 * 2 ** 30,
      memoryTotalBytes: null,
      filesystems: [
        { mount: '/', sizeBytes: 100e9, usedBytes: 95e9 },
        { mount: '/snap/core22/1122', sizeBytes: 77e6, usedBytes: 77e6 },
        { mount: '/run', sizeBytes: 800e6, usedBytes: 800e6 },
      ],
    },
  },
  tags: ['db'],
  customFields: {},
  groups: [],
  software: [
    { name: 'openssl', version: '3.0.11-1~deb12u2' },
    { name: 'postgresql-15', version: '15.6-0+deb12u1' },
  ],
  inventoryCollectedAt: minutesAgo(60),
};

/** Enrolled long ago, last seen three weeks ago, inventory never arrived. */
export const staleDevice: DeviceFactsInput = {
  device: {
    hostname: 'kiosk-7',
    osFamily: 'windows',
    osName: 'Windows 10 Enterprise',
    osVersion: '10.0.19045',
    architecture: 'AMD64',
    ipAddresses: [],
    agentVersion: '1.2.0',
    lastSeenAt: daysAgo(21),
    enrolledAt: daysAgo(400),
  },
  sections: {},
  tags: [],
  customFields: {},
  groups: [],
  software: [],
};

/** Enrolled ten days ago, never checked in. */
export const neverSeenDevice: DeviceFactsInput = {
  ...staleDevice,
  device: { ...staleDevice.device, hostname: 'new-1', lastSeenAt: null, enrolledAt: daysAgo(10) },
};

export const windowsServer2025: DeviceFactsInput = {
  ...windows11Laptop,
  device: { ...windows11Laptop.device, hostname: 'SRV-01', osName: 'Windows Server 2025 Datacenter', osVersion: '10.0.26100' },
  sections: { ...windows11Laptop.sections, hardware: { ...windows11Laptop.sections!.hardware!, chassisType: 'server' } },
};
