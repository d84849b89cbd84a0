/**
 * The Linux collectors for real, on this machine, plus their parsers on recorded tool output for the
 * setups this machine does not have (AD joins, LUKS, firewalls, RPM hosts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { inventorySections, type InventorySections } from '@opsconductor/contracts/inventory';
import { sectionHash } from '@opsconductor/contracts/inventory-hash';
import { EXIT_OK, EXIT_USAGE, main, type CliIo } from '../src/cli.ts';
import { collectInventoryDetailed, collectSections, type CollectedInventory } from '../src/inventory/index.ts';
import { directoryFromRealms, directoryFromSssd, defaultRealm, parseRealmList } from '../src/inventory/linux/directory.ts';
import { parseMounts, selectLocalMounts, usageFromStatfs } from '../src/inventory/linux/filesystems.ts';
import {
  chassisFromSmbios,
  expandIpv6,
  isoBiosDate,
  parseCpuinfo,
  parseLsblkDisks,
  temporaryIpv6,
  virtKindFromDmi,
  virtKindFromSystemd,
} from '../src/inventory/linux/hardware.ts';
import { cpuPercent, parseCpuTimes, parseLoadavg, parseMeminfo } from '../src/inventory/linux/performance.ts';
import {
  encryptionFromLsblk,
  iptablesFiltersInput,
  listeningPorts,
  localAdmins,
  nftFiltersInput,
  sshPorts,
} from '../src/inventory/linux/security.ts';
import { mergeServices, parseListUnitFiles, parseListUnits } from '../src/inventory/linux/services.ts';
import { parseDpkgList, parsePacmanDesc, parseRpmList } from '../src/inventory/linux/software.ts';
import { parseBootTime, zoneFromLocaltimeLink } from '../src/inventory/linux/system.ts';
import { createLogger } from '../src/log.ts';
import { clip, normalizeMac, quantizeFree, quantizeUptime, realValue } from '../src/inventory/normalize.ts';
import type { SectionCollectors } from '../src/inventory/types.ts';

/** Collectors that return fixed sections, with some replaced. */
async function fixedCollectors(overrides: Partial<Record<keyof InventorySections, () => Promise<unknown>>>): Promise<SectionCollectors> {
  const base = (await collectSections({ platform: 'aix' })).sections as InventorySections;
  const collectors = Object.fromEntries(Object.entries(base).map(([name, section]) => [name, async () => section]));
  return { ...collectors, ...overrides } as unknown as SectionCollectors;
}

vi.setConfig({ testTimeout: 60_000 });

describe.runIf(process.platform === 'linux')('linux collectors on this machine', () => {
  const DPKG_STATUS = '/var/lib/dpkg/status';
  let first: CollectedInventory;
  let second: CollectedInventory;
  const logs: string[] = [];

  beforeAll(async () => {
    const log = createLogger({ level: 'debug', write: (line) => logs.push(line) });
    // Other test files install and remove .deb packages on this machine: when dpkg's database changed between the
    // two collections, the software section did change, so the pair is collected again.
    const dpkgChangedAt = () => (existsSync(DPKG_STATUS) ? statSync(DPKG_STATUS).mtimeMs : 0);
    for (let attempt = 1; ; attempt++) {
      const before = dpkgChangedAt();
      first = await collectInventoryDetailed({ log });
      second = await collectInventoryDetailed({ log });
      if (dpkgChangedAt() === before || attempt === 5) break;
    }
  });

  it('collects every section without a failure, and the report validates', () => {
    expect(first.failed).toEqual([]);
    expect(logs.filter((l) => /"level":"(warn|error)"/.test(l))).toEqual([]);
    expect(inventorySections.safeParse(first.sections).success).toBe(true);
  });

  it('system matches what the OS says', () => {
    const { system } = first.sections;
    expect(system.hostname).toBe(os.hostname());
    expect(system.kernel).toBe(os.release());
    expect(system.osFamily).toBe('linux');
    expect(system.architecture).toBe(os.arch() === 'x64' ? 'x64' : os.arch());
    expect(system.osVersion).toBe(execFileSync('sh', ['-c', '. /etc/os-release && printf %s "$VERSION_ID"'], { encoding: 'utf8' }));
    expect(Date.parse(system.bootTime!)).toBeLessThanOrEqual(Date.now());
    expect(Math.abs(Date.parse(system.bootTime!) - (Date.now() - os.uptime() * 1000))).toBeLessThan(120_000);
    expect(system.uptimeSeconds! % 86_400).toBe(0);
  });

  it('software lists installed dpkg packages with the versions dpkg reports', () => {
    const packages = first.sections.software.packages;
    expect(packages.length).toBeGreaterThan(50);
    for (const name of ['bash', 'coreutils']) {
      const version = execFileSync('dpkg-query', ['-W', '-f=${Version}', name], { encoding: 'utf8' });
      const pkg = packages.find((p) => p.name === name);
      expect(pkg).toMatchObject({ name, version, source: 'dpkg' });
      expect(pkg!.installDate).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      expect(pkg!.architecture).toMatch(/^(amd64|arm64|i386|armhf|all)$/);
    }
    // `rc` packages (removed, config files left) are not installed software.
    const removed = execFileSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Abbrev}\\n'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => / rc\s*$/.test(l))
      .map((l) => l.split(' ')[0]);
    for (const name of removed) expect(packages.some((p) => p.name === name)).toBe(false);
  });

  it('hardware: root filesystem, memory, CPU, network', () => {
    const hw = first.sections.hardware;
    expect(hw.filesystems.map((f) => f.mount)).toContain('/');
    const root = hw.filesystems.find((f) => f.mount === '/')!;
    expect(root.sizeBytes).toBeGreaterThan(0);
    expect(root.freeBytes).toBeLessThanOrEqual(root.sizeBytes);
    expect(hw.memoryBytes).toBeGreaterThan(0);
    expect(hw.cpu.cores).toBeGreaterThan(0);
    expect(hw.cpu.threads).toBeGreaterThanOrEqual(hw.cpu.cores!);
    expect(hw.networkInterfaces.some((i) => i.name === 'lo')).toBe(false);
    expect(hw.virtualization.kind).not.toBe('unknown');
    // Pseudo filesystems are not inventory.
    expect(hw.filesystems.some((f) => ['proc', 'sysfs', 'tmpfs', 'devtmpfs', 'cgroup2'].includes(f.fsType ?? ''))).toBe(false);
  });

  it('security and performance carry real values', () => {
    const { security, performance } = first.sections;
    expect(security.localAdmins).toContain('root');
    expect(typeof security.sshListening).toBe('boolean');
    expect(performance.memoryTotalBytes).toBeGreaterThan(0);
    expect(performance.memoryUsedBytes).toBeGreaterThan(0);
    expect(performance.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(performance.cpuLoad1).toBeGreaterThanOrEqual(0);
    expect(performance.filesystems.find((f) => f.mount === '/')?.usedBytes).toBeGreaterThan(0);
  });

  it('hardware and performance agree on how full each filesystem is (within the 1 % step of free space)', () => {
    const { hardware, performance } = first.sections;
    for (const fs of hardware.filesystems) {
      const perf = performance.filesystems.find((p) => p.mount === fs.mount)!;
      const hardwareUsed = (fs.sizeBytes - fs.freeBytes) / fs.sizeBytes;
      const performanceUsed = perf.usedBytes / perf.sizeBytes;
      expect(Math.abs(hardwareUsed - performanceUsed), fs.mount).toBeLessThan(0.015);
    }
  });

  it('hashes of unchanged sections are stable between two collections', () => {
    for (const name of ['system', 'hardware', 'software', 'directory', 'security'] as const) {
      expect(sectionHash(second.sections[name]), name).toBe(sectionHash(first.sections[name]));
    }
  });

  it('collects a single section on request', async () => {
    const only = await collectSections({ sections: ['system'] });
    expect(Object.keys(only.sections)).toEqual(['system']);
    expect(only.sections.system?.hostname).toBe(os.hostname());
  });

  it('prints the inventory from the CLI without a server', async () => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} };
    expect(await main(['inventory', '--section', 'software'], io)).toBe(EXIT_OK);
    const software = JSON.parse(stdout) as InventorySections['software'];
    expect(software.packages.some((p) => p.name === 'bash')).toBe(true);

    stdout = '';
    expect(await main(['inventory'], io)).toBe(EXIT_OK);
    expect(inventorySections.parse(JSON.parse(stdout)).system.hostname).toBe(os.hostname());
    expect(stderr).toBe('');

    expect(await main(['inventory', '--section', 'bogus'], io)).toBe(EXIT_USAGE);
    expect(stderr).toContain('--section');
  });
});

describe('collection robustness', () => {
  it('replaces a failing or invalid section with a minimal valid one and names it', async () => {
    const logs: string[] = [];
    const result = await collectInventoryDetailed({
      log: createLogger({ write: (l) => logs.push(l) }),
      collectors: await fixedCollectors({
        software: async () => {
          throw new Error('dpkg database locked');
        },
        services: async () => ({ services: 'not a list' }),
      }),
    });
    expect(result.failed).toEqual(['services', 'software']);
    expect(result.sections.software).toEqual({ packages: [] });
    expect(inventorySections.safeParse(result.sections).success).toBe(true);
    expect(logs.join('')).toContain('dpkg database locked');
  });

  it('drops single invalid packages instead of the whole list', async () => {
    const result = await collectInventoryDetailed({
      collectors: await fixedCollectors({
        software: async () => ({
          packages: [
            { name: 'good', version: '1', source: 'dpkg' },
            { name: '', version: '1', source: 'dpkg' },
            { name: 'also-good', version: '2', source: 'rpm' },
          ],
        }),
      }),
    });
    expect(result.failed).toEqual([]);
    expect(result.sections.software.packages.map((p) => p.name)).toEqual(['good', 'also-good']);
  });

  it('gives a minimal but valid report on platforms without collectors', async () => {
    const result = await collectInventoryDetailed({ platform: 'freebsd' });
    expect(result.failed).toEqual([]);
    expect(inventorySections.parse(result.sections).system.hostname).toBe(os.hostname());
  });

  it('times out a hanging section', async () => {
    const result = await collectInventoryDetailed({
      sectionTimeoutMs: 200,
      collectors: await fixedCollectors({ directory: () => new Promise(() => {}) }),
    });
    expect(result.failed).toEqual(['directory']);
    expect(result.sections.directory.type).toBe('none');
  });
});

describe('normalize helpers', () => {
  it('quantizes values that would otherwise change every collection', () => {
    expect(quantizeUptime(86_399.9)).toBe(0);
    expect(quantizeUptime(3 * 86_400 + 5)).toBe(3 * 86_400);
    expect(quantizeUptime(-1)).toBeNull();
    expect(quantizeFree(55_555, 100_000)).toBe(55_000);
    expect(quantizeFree(55_999, 100_000)).toBe(55_000);
    expect(quantizeFree(100_000, 100_000)).toBe(100_000);
  });

  it('clips text without splitting surrogate pairs and drops firmware placeholders', () => {
    expect(clip('  abc  ')).toBe('abc');
    expect(clip('a😀', 2)).toBe('a');
    expect(clip('', 5)).toBeNull();
    expect(clip(42)).toBe('42');
    expect(realValue('To Be Filled By O.E.M.')).toBeNull();
    expect(realValue('00000000-0000-0000-0000-000000000000')).toBeNull();
    expect(realValue('FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF')).toBeNull();
    expect(realValue('PF4KX2AB')).toBe('PF4KX2AB');
    expect(normalizeMac('A4-C3-F0-5E-21-7B')).toBe('a4:c3:f0:5e:21:7b');
    expect(normalizeMac('00:00:00:00:00:00')).toBeNull();
  });
});

describe('linux parsers', () => {
  it('cpuinfo: sockets, cores and threads of a two-socket hyper-threaded host', () => {
    const block = (proc: number, socket: number, core: number) =>
      `processor\t: ${proc}\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Silver 4210 CPU @ 2.20GHz\nphysical id\t: ${socket}\nsiblings\t: 4\ncore id\t\t: ${core}\ncpu cores\t: 2\n`;
    const text = [
      block(0, 0, 0),
      block(1, 0, 1),
      block(2, 1, 0),
      block(3, 1, 1),
      block(4, 0, 0),
      block(5, 0, 1),
      block(6, 1, 0),
      block(7, 1, 1),
    ].join('\n');
    expect(parseCpuinfo(text)).toEqual({ model: 'Intel(R) Xeon(R) Silver 4210 CPU @ 2.20GHz', cores: 4, threads: 8, sockets: 2 });
    // ARM: no physical id or model name per CPU.
    expect(
      parseCpuinfo(
        'processor\t: 0\nBogoMIPS\t: 108.00\n\nprocessor\t: 1\nBogoMIPS\t: 108.00\n\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n',
      ),
    ).toEqual({
      model: 'BCM2835',
      cores: 2,
      threads: 2,
      sockets: 1,
    });
  });

  it('lsblk disks: real disks only, rotational flag from old and new lsblk', () => {
    const json = JSON.stringify({
      blockdevices: [
        { name: 'nvme0n1', model: 'Samsung SSD 980 PRO 1TB', size: 1000204886016, rota: false, type: 'disk' },
        { name: 'sda', model: 'ST4000DM004-2CV1', size: '4000787030016', rota: '1', type: 'disk' },
        { name: 'zram0', model: null, size: 8589934592, rota: false, type: 'disk' },
        { name: 'loop0', model: null, size: 67108864, rota: false, type: 'loop' },
        { name: 'sr0', model: 'DVD-RW', size: 1073741312, rota: true, type: 'rom' },
        { name: 'sdb', model: 'Card Reader', size: 0, rota: true, type: 'disk' },
      ],
    });
    expect(parseLsblkDisks(json)).toEqual([
      { name: 'nvme0n1', model: 'Samsung SSD 980 PRO 1TB', sizeBytes: 1000204886016, type: 'ssd' },
      { name: 'sda', model: 'ST4000DM004-2CV1', sizeBytes: 4000787030016, type: 'hdd' },
    ]);
    expect(parseLsblkDisks('not json')).toEqual([]);
  });

  it("filesystem usage from statfs is df's: used / (used + available), root's reserve counted nowhere", () => {
    // Recorded on the development VM (`df -B4096 /`: 66053021 blocks, 4921996 used, 18494846 available, Use% 22):
    // the hardware tab said 71 % (all blocks as the size) while performance said 7 %.
    const vm = usageFromStatfs({ bsize: 4096, blocks: 66_053_021, bfree: 61_131_025, bavail: 18_494_846 })!;
    expect(vm).toEqual({ usedBytes: 4_921_996 * 4096, freeBytes: 18_494_846 * 4096, sizeBytes: (4_921_996 + 18_494_846) * 4096 });
    const hardwareUsed = (vm.sizeBytes - quantizeFree(vm.freeBytes, vm.sizeBytes)) / vm.sizeBytes;
    expect(Math.round((vm.usedBytes / vm.sizeBytes) * 100)).toBe(21); // df rounds up: 22
    expect(Math.abs(hardwareUsed - vm.usedBytes / vm.sizeBytes)).toBeLessThan(0.01);
    // An ext4 volume with the default 5 % reserve, half full for its users.
    expect(usageFromStatfs({ bsize: 4096, blocks: 1000, bfree: 525, bavail: 475 })).toEqual({
      usedBytes: 475 * 4096,
      freeBytes: 475 * 4096,
      sizeBytes: 950 * 4096,
    });
    // Without a reserve (XFS, Windows-like) size is every block.
    expect(usageFromStatfs({ bsize: 512, blocks: 800, bfree: 200, bavail: 200 })).toEqual({
      usedBytes: 600 * 512,
      freeBytes: 200 * 512,
      sizeBytes: 800 * 512,
    });
    expect(usageFromStatfs({ bsize: 4096, blocks: 0, bfree: 0, bavail: 0 })).toBeNull();
  });

  it('mounts: local filesystems, escaped names, overlay root kept, shadowed mounts dropped', () => {
    const mounts = parseMounts(
      [
        'overlay / overlay rw,relatime 0 0',
        'proc /proc proc rw 0 0',
        'tmpfs /run tmpfs rw 0 0',
        '/dev/nvme0n1p2 /boot ext4 rw 0 0',
        '/dev/nvme0n1p1 /boot/efi vfat rw 0 0',
        '/dev/mapper/vg-home /home/My\\040Files xfs rw 0 0',
        'server:/export /mnt/nfs nfs4 rw 0 0',
        '/dev/sdb1 /data ext4 rw 0 0',
        'tmpfs /data tmpfs rw 0 0',
      ].join('\n'),
    );
    expect(selectLocalMounts(mounts).map((m) => [m.mount, m.fsType])).toEqual([
      ['/', 'overlay'],
      ['/boot', 'ext4'],
      ['/boot/efi', 'vfat'],
      ['/home/My Files', 'xfs'],
    ]);
  });

  it('virtualization and chassis', () => {
    expect(virtKindFromSystemd('kvm')).toBe('kvm');
    expect(virtKindFromSystemd('microsoft')).toBe('hyperv');
    expect(virtKindFromSystemd('oracle')).toBe('virtualbox');
    expect(virtKindFromSystemd('podman')).toBe('container');
    expect(virtKindFromSystemd('none')).toBe('physical');
    expect(virtKindFromSystemd('bochs')).toBe('other');
    expect(virtKindFromDmi('VMware, Inc.', 'VMware Virtual Platform')).toBe('vmware');
    expect(virtKindFromDmi('innotek GmbH', 'VirtualBox')).toBe('virtualbox');
    expect(virtKindFromDmi('QEMU', 'Standard PC (Q35 + ICH9, 2009)')).toBe('kvm');
    expect(virtKindFromDmi('Microsoft Corporation', 'Virtual Machine')).toBe('hyperv');
    expect(virtKindFromDmi('Dell Inc.', 'Latitude 7440')).toBeNull();
    expect([3, 10, 17, 1, 2].map(chassisFromSmbios)).toEqual(['desktop', 'laptop', 'server', 'other', 'unknown']);
    expect(isoBiosDate('11/15/2023\n')).toBe('2023-11-15');
  });

  it('IPv6 temporary (privacy) addresses are recognised from /proc/net/if_inet6', () => {
    expect(expandIpv6('fe80::1')).toBe('fe800000000000000000000000000001');
    expect(expandIpv6('2001:db8::8a2e:370:7334%eth0')).toBe('20010db80000000000008a2e03707334');
    expect(expandIpv6('1:2:3')).toBeNull();
    const temp = temporaryIpv6(
      '20010db8000000001c2f3e4d5a6b7c8d 02 40 00 01     wlan0\n20010db8000000000000000000000010 02 40 00 00     wlan0\n',
    );
    expect(temp.has(expandIpv6('2001:db8::1c2f:3e4d:5a6b:7c8d')!)).toBe(true);
    expect(temp.has(expandIpv6('2001:db8::10')!)).toBe(false);
  });

  it('directory: realm list, sssd.conf, krb5.conf', () => {
    const realm = parseRealmList(
      'corp.example.com\n  type: kerberos\n  realm-name: CORP.EXAMPLE.COM\n  domain-name: corp.example.com\n  configured: kerberos-member\n  server-software: active-directory\n  client-software: sssd\n  required-package: sssd-tools\n  login-formats: %U@corp.example.com\n',
    );
    expect(directoryFromRealms(realm)).toEqual({ type: 'ad', domain: 'corp.example.com', workgroup: null, provider: 'realmd' });
    expect(
      directoryFromRealms(
        parseRealmList(
          'ipa.example.org\n  type: kerberos\n  domain-name: ipa.example.org\n  configured: kerberos-member\n  server-software: ipa\n',
        ),
      ),
    ).toMatchObject({ type: 'realm', domain: 'ipa.example.org' });
    expect(directoryFromRealms(parseRealmList('corp.example.com\n  type: kerberos\n  configured: no\n'))).toBeNull();
    const sssd =
      '[sssd]\ndomains = corp.example.com\nservices = nss, pam\n\n[domain/corp.example.com]\nid_provider = ad\nad_domain = corp.example.com\nkrb5_realm = CORP.EXAMPLE.COM\n';
    expect(directoryFromSssd(sssd)).toEqual({ type: 'ad', domain: 'corp.example.com', workgroup: null, provider: 'sssd' });
    expect(directoryFromSssd('[domain/ipa.example.org]\nid_provider = ipa\nipa_domain = ipa.example.org\n')).toMatchObject({
      type: 'realm',
      domain: 'ipa.example.org',
    });
    expect(defaultRealm('[libdefaults]\n\tdefault_realm = EXAMPLE.COM\n\tdns_lookup_kdc = true\n[realms]\n')).toBe('EXAMPLE.COM');
  });

  it('software: dpkg keeps ii only, rpm maps (none) and skips gpg-pubkey, pacman desc', () => {
    const dpkg =
      'bash\t5.2.15-2+b8\tamd64\tMatthias Klose <doko@debian.org>\tii \nold-pkg\t1.0\tamd64\tX <x@y>\trc \nhalf\t2.0\tamd64\tY <y@z>\tiF \n';
    expect(parseDpkgList(dpkg)).toEqual([
      { name: 'bash', version: '5.2.15-2+b8', architecture: 'amd64', vendor: 'Matthias Klose <doko@debian.org>' },
    ]);
    const rpm =
      'bash\t5.1.8-9.el9\tx86_64\tRocky Enterprise Software Foundation\t1700000000\ngpg-pubkey\t350d275d-6279464b\t(none)\t(none)\t1700000000\nlocal-tool\t1.0-1\tnoarch\t(none)\t(none)\n';
    expect(parseRpmList(rpm)).toEqual([
      {
        name: 'bash',
        version: '5.1.8-9.el9',
        architecture: 'x86_64',
        vendor: 'Rocky Enterprise Software Foundation',
        installDate: '2023-11-14T22:13:20.000Z',
        source: 'rpm',
      },
      { name: 'local-tool', version: '1.0-1', architecture: 'noarch', vendor: null, installDate: null, source: 'rpm' },
    ]);
    expect(parsePacmanDesc('%NAME%\nbash\n\n%VERSION%\n5.2.026-2\n\n%ARCH%\nx86_64\n\n%INSTALLDATE%\n1707000000\n')).toMatchObject({
      NAME: 'bash',
      ARCH: 'x86_64',
      INSTALLDATE: '1707000000',
    });
  });

  it('services: systemd states and start modes merged, templates and aliases skipped', () => {
    const units = parseListUnits(
      [
        'ssh.service loaded active running OpenBSD Secure Shell server',
        'apt-daily.service loaded inactive dead Daily apt download activities',
        'cloud-init.service loaded active exited Cloud-init: Network Stage',
        '● nginx.service loaded failed failed A high performance web server',
        'getty@tty1.service loaded active running Getty on tty1',
        'foo.service not-found inactive dead foo.service',
        'postgresql.service masked inactive dead postgresql.service',
      ].join('\n'),
    );
    const files = parseListUnitFiles(
      'ssh.service enabled enabled\napt-daily.service static -\ncloud-init.service enabled enabled\nnginx.service enabled enabled\ngetty@.service enabled enabled\nsshd.service alias -\nrsync.service disabled enabled\npostgresql.service masked enabled\n',
    );
    expect(mergeServices(units, files)).toEqual([
      { name: 'apt-daily', displayName: 'Daily apt download activities', state: 'stopped', startMode: 'manual' },
      { name: 'cloud-init', displayName: 'Cloud-init: Network Stage', state: 'stopped', startMode: 'auto' },
      { name: 'getty@tty1', displayName: 'Getty on tty1', state: 'running', startMode: 'auto' },
      { name: 'nginx', displayName: 'A high performance web server', state: 'failed', startMode: 'auto' },
      { name: 'postgresql', displayName: 'postgresql.service', state: 'stopped', startMode: 'disabled' },
      { name: 'rsync', displayName: null, state: 'stopped', startMode: 'manual' },
      { name: 'ssh', displayName: 'OpenBSD Secure Shell server', state: 'running', startMode: 'auto' },
    ]);
  });

  it('security: admins from groups and uid 0, listening ports, firewall rule sets, LUKS', () => {
    const passwd =
      'root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:27::/home/bob:/bin/bash\n+@netgroup::::::\n';
    const group = 'root:x:0:\nsudo:x:27:alice,carol\nwheel:x:10:dave\nadm:x:4:syslog,alice\n';
    expect(localAdmins(passwd, group)).toEqual(['alice', 'bob', 'carol', 'dave', 'root', 'toor']);

    const tcp =
      '  sl  local_address rem_address   st\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n   1: 0100007F:0CEA 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n';
    const tcp6 = '  sl  local_address\n   0: 00000000000000000000000000000000:0885 00000000000000000000000000000000:0000 0A 0 0 0 0\n';
    expect([...listeningPorts(tcp, tcp6)].sort()).toEqual([2181, 22]);
    expect(sshPorts(['# Port 22\nPort 2222\n'])).toEqual([2222]);
    expect(sshPorts(['#Port 22\n'])).toEqual([22]);

    expect(
      nftFiltersInput(
        'table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tct state established,related accept\n\t}\n}\n',
      ),
    ).toBe(true);
    expect(
      nftFiltersInput(
        'table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t\tiifname "docker0" accept\n\t}\n}\n',
      ),
    ).toBe(false);
    expect(iptablesFiltersInput('-P INPUT ACCEPT\n')).toBe(false);
    expect(iptablesFiltersInput('-P INPUT ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n')).toBe(true);

    const lsblk = JSON.stringify({
      blockdevices: [
        {
          name: 'nvme0n1',
          type: 'disk',
          fstype: null,
          mountpoint: null,
          children: [
            { name: 'nvme0n1p1', type: 'part', fstype: 'vfat', mountpoint: '/boot/efi' },
            { name: 'nvme0n1p2', type: 'part', fstype: 'ext4', mountpoint: '/boot' },
            {
              name: 'nvme0n1p3',
              type: 'part',
              fstype: 'crypto_LUKS',
              mountpoint: null,
              children: [
                {
                  name: 'nvme0n1p3_crypt',
                  type: 'crypt',
                  fstype: 'LVM2_member',
                  mountpoint: null,
                  children: [
                    { name: 'vg-root', type: 'lvm', fstype: 'ext4', mountpoint: '/' },
                    { name: 'vg-swap', type: 'lvm', fstype: 'swap', mountpoint: '[SWAP]' },
                  ],
                },
              ],
            },
          ],
        },
        {
          name: 'sda',
          type: 'disk',
          fstype: null,
          mountpoint: null,
          children: [{ name: 'sda1', type: 'part', fstype: 'xfs', mountpoint: '/data' }],
        },
      ],
    });
    expect(encryptionFromLsblk(lsblk)).toEqual([
      { mount: '/boot/efi', method: null },
      { mount: '/boot', method: null },
      { mount: '/', method: 'LUKS' },
      { mount: '/data', method: null },
    ]);
  });

  it('performance: loadavg, meminfo, CPU percent from two samples', () => {
    expect(parseLoadavg('0.52 0.58 0.59 1/467 12345\n')).toEqual([0.52, 0.58, 0.59]);
    expect(parseMeminfo('MemTotal:       16314220 kB\nMemFree:         1000000 kB\nMemAvailable:    8157110 kB\n')).toEqual({
      totalBytes: 16314220 * 1024,
      usedBytes: 8157110 * 1024,
    });
    const a = parseCpuTimes('cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3\n');
    const b = parseCpuTimes('cpu  150 0 150 800 100 0 0 0 0 0\n');
    expect(cpuPercent(a, b)).toBe(50);
    expect(cpuPercent(b, b)).toBeNull();
  });

  it('system: zone from the localtime link and boot time from btime', () => {
    expect(zoneFromLocaltimeLink('../usr/share/zoneinfo/Europe/Berlin')).toBe('Europe/Berlin');
    expect(zoneFromLocaltimeLink('/usr/share/zoneinfo/posix/America/New_York')).toBe('America/New_York');
    expect(zoneFromLocaltimeLink('/etc/whatever')).toBeNull();
    expect(parseBootTime('cpu 1 2 3\nbtime 1706659200\nprocesses 5\n')?.toISOString()).toBe('2024-01-31T00:00:00.000Z');
  });
});
