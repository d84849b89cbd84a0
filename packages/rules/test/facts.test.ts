import { describe, expect, it } from 'vitest';
import { ruleFields } from '@opsconductor/contracts/rules';
import {
  builtInFieldTypes,
  factsFromDevice,
  inventoryFactKeys,
  inventoryFacts,
  normalizeArchitecture,
  type DeviceFactsInput,
  type PresenceThresholds,
} from '../src/index.ts';
import { debianServerVm, neverSeenDevice, NOW, staleDevice, windows11Laptop } from './fixtures.ts';

const DAY = 86_400_000;

describe('the field catalog', () => {
  it("DeviceFacts covers exactly the contract's built-in fields, with the same types", () => {
    expect(Object.fromEntries(ruleFields.map((f) => [f.key, f.type]))).toEqual(builtInFieldTypes);
  });

  it('factsFromDevice sets every built-in field', () => {
    const facts = factsFromDevice(staleDevice, NOW);
    for (const f of ruleFields) expect(Object.hasOwn(facts, f.key), f.key).toBe(true);
  });
});

describe('factsFromDevice: a Windows 11 laptop', () => {
  const f = factsFromDevice(windows11Laptop, NOW);
  it('maps identity, OS and agent', () => {
    expect(f).toMatchObject({
      hostname: 'LT-0042',
      fqdn: 'LT-0042.corp.example.com',
      'os.family': 'windows',
      'os.name': 'Windows 11 Pro',
      'os.version': '10.0.22631',
      'os.build': '22631',
      'os.kernel': null,
      'os.architecture': 'x64',
      'agent.version': '1.4.0',
    });
  });
  it('maps hardware', () => {
    expect(f).toMatchObject({
      'hardware.manufacturer': 'LENOVO',
      'hardware.model': '21HM',
      'hardware.serialNumber': 'PF3ABCDE',
      'hardware.chassisType': 'laptop',
      'hardware.virtualization': 'physical',
      'hardware.isVirtual': false,
      'hardware.firmwareType': 'uefi',
      'hardware.memoryBytes': 32 * 2 ** 30,
      'hardware.cpuCores': 10,
      'hardware.biosVersion': 'N3HET80W (1.52 )',
    });
  });
  it('maps directory, system, security and performance', () => {
    expect(f).toMatchObject({
      'directory.type': 'ad',
      'directory.domain': 'corp.example.com',
      'system.pendingReboot': true,
      'system.timezone': 'W. Europe Standard Time',
      'security.sshEnabled': false,
      'security.rdpEnabled': true,
      'security.firewallEnabled': true,
      'security.diskEncrypted': true,
      'security.localAdmins': ['Administrator', 'CORP\\Domain Admins'],
      'performance.memoryUsedPercent': 50,
    });
    expect(f['performance.minDiskFreePercent']).toBeCloseTo(20);
  });
  it('computes status and ages at `now`', () => {
    expect(f['device.status']).toBe('online');
    expect(f['device.lastSeenAgeDays']).toBeCloseTo(30 / 86_400);
    expect(f['device.enrolledAgeDays']).toBeCloseTo(200);
    expect(f['system.uptimeDays']).toBeCloseTo(26 / 24); // from bootTime, not the reported uptimeSeconds
  });
  it('merges addresses from the row and the interfaces, without loopback, lowercased', () => {
    expect(f['network.ipAddresses']).toEqual(['192.168.1.23', 'fe80::1234']);
  });
  it('passes tags, custom fields, groups and software through', () => {
    expect(f.tags).toEqual(['Finance', 'laptop-pool']);
    expect(f.customFields).toEqual({ cost_center: 'CC-100', ring: 'pilot' });
    expect(f.groups).toBeInstanceOf(Set);
    expect(f.software).toHaveLength(2);
  });
});

describe('factsFromDevice: a Debian server VM', () => {
  const f = factsFromDevice(debianServerVm, NOW);
  it('recognises the VM', () => {
    expect(f['hardware.isVirtual']).toBe(true);
    expect(f['hardware.virtualization']).toBe('kvm');
  });
  it('ignores snap squashfs and tmpfs mounts for free disk space', () => {
    expect(f['performance.minDiskFreePercent']).toBeCloseTo(5);
  });
  it('falls back to hardware.memoryBytes for the memory total', () => {
    expect(f['performance.memoryUsedPercent']).toBeCloseTo(75);
  });
  it('reports unknown encryption (no volumes) and firewall as null', () => {
    expect(f['security.diskEncrypted']).toBeNull();
    expect(f['security.firewallEnabled']).toBeNull();
    expect(f['security.rdpEnabled']).toBeNull();
  });
  it('anchors uptimeSeconds at the collection time', () => {
    expect(f['system.uptimeDays']).toBeCloseTo(3 + 1 / 24);
  });
  it('keeps directory type none, domain null', () => {
    expect(f['directory.type']).toBe('none');
    expect(f['directory.domain']).toBeNull();
  });
});

describe('factsFromDevice: stale and never-seen devices', () => {
  it('a device last seen 21 days ago is offline, inventory facts null', () => {
    const f = factsFromDevice(staleDevice, NOW);
    expect(f['device.status']).toBe('offline');
    expect(f['device.lastSeenAgeDays']).toBeCloseTo(21);
    expect(f['os.architecture']).toBe('x64'); // AMD64 normalised
    expect(f['hardware.isVirtual']).toBeNull();
    expect(f['security.localAdmins']).toBeNull();
    expect(f['performance.minDiskFreePercent']).toBeNull();
    expect(f['system.uptimeDays']).toBeNull();
    expect(f['network.ipAddresses']).toEqual([]);
  });
  it('a device never seen has no last-seen age', () => {
    const f = factsFromDevice(neverSeenDevice, NOW);
    expect(f['device.status']).toBe('never_seen');
    expect(f['device.lastSeenAgeDays']).toBeNull();
    expect(f['device.enrolledAgeDays']).toBeCloseTo(10);
  });
});

describe('factsFromDevice: details', () => {
  const at = (lastSeenAt: Date | null, extra: Partial<DeviceFactsInput> = {}, presence?: PresenceThresholds) =>
    factsFromDevice({ ...staleDevice, ...extra, device: { ...staleDevice.device, lastSeenAt } }, NOW, presence ? { presence } : {});
  const ago = (ms: number) => new Date(NOW.getTime() - ms);

  it('online within the online window (default 90 s), stale until the offline threshold (default 600 s), offline after', () => {
    expect(at(ago(90_000))['device.status']).toBe('online');
    expect(at(ago(90_001))['device.status']).toBe('stale');
    expect(at(ago(600_000))['device.status']).toBe('stale');
    expect(at(ago(600_001))['device.status']).toBe('offline');
    const presence = { onlineWindowSeconds: 300, offlineAfterSeconds: 3600 };
    expect(at(ago(200_000), {}, presence)['device.status']).toBe('online');
    expect(at(ago(301_000), {}, presence)['device.status']).toBe('stale');
    expect(at(ago(3_601_000), {}, presence)['device.status']).toBe('offline');
    // Equal thresholds: no stale band.
    expect(at(ago(91_000), {}, { onlineWindowSeconds: 90, offlineAfterSeconds: 90 })['device.status']).toBe('offline');
  });

  it('offline at once when the agent said goodbye, whatever the window', () => {
    const justSeen = new Date(NOW.getTime() - 1000);
    const stopped = factsFromDevice(
      { ...staleDevice, device: { ...staleDevice.device, lastSeenAt: justSeen, agentStoppedAt: justSeen } },
      NOW,
    );
    expect(stopped['device.status']).toBe('offline');
    expect(at(justSeen, {}, { onlineWindowSeconds: 3600, offlineAfterSeconds: 7200 })['device.status']).toBe('online');
  });

  it('a last-seen time in the future (clock skew) reads as just now', () => {
    const f = at(new Date(NOW.getTime() + 5 * 60_000));
    expect(f['device.lastSeenAgeDays']).toBe(0);
    expect(f['device.status']).toBe('online');
  });

  it('isVirtual: physical and unknown are not virtual; a virtual chassis is', () => {
    const hw = windows11Laptop.sections!.hardware!;
    const virt = (kind: typeof hw.virtualization.kind, chassisType: typeof hw.chassisType = 'desktop') =>
      factsFromDevice({ ...staleDevice, sections: { hardware: { ...hw, chassisType, virtualization: { kind, detail: null } } } }, NOW)[
        'hardware.isVirtual'
      ];
    expect(virt('physical')).toBe(false);
    expect(virt('unknown')).toBe(false);
    expect(virt('unknown', 'virtual')).toBe(true);
    for (const kind of ['kvm', 'vmware', 'hyperv', 'virtualbox', 'xen', 'container', 'other'] as const) expect(virt(kind)).toBe(true);
  });

  it('diskEncrypted: every volume encrypted', () => {
    const sec = windows11Laptop.sections!.security!;
    const enc = (flags: boolean[]) =>
      factsFromDevice(
        {
          ...staleDevice,
          sections: { security: { ...sec, diskEncryption: flags.map((encrypted, i) => ({ volume: `v${i}`, encrypted, method: null })) } },
        },
        NOW,
      )['security.diskEncrypted'];
    expect(enc([true, true])).toBe(true);
    expect(enc([true, false])).toBe(false);
    expect(enc([])).toBeNull();
  });

  it('minDiskFreePercent falls back to hardware.filesystems without performance data', () => {
    const hw = debianServerVm.sections!.hardware!;
    const f = factsFromDevice({ ...staleDevice, sections: { hardware: hw } }, NOW);
    expect(f['performance.minDiskFreePercent']).toBeCloseTo(5); // / has 5 of 100 GB free; squashfs/tmpfs ignored
  });

  it('prefers the device row, falls back to the system section', () => {
    const f = factsFromDevice(
      { ...debianServerVm, device: { ...debianServerVm.device, hostname: '', osName: ' ', architecture: '' } },
      NOW,
    );
    expect(f.hostname).toBe('db-01');
    expect(f['os.name']).toBe('Debian GNU/Linux 12 (bookworm)');
    expect(f['os.architecture']).toBe('x64');
  });

  it('drops non-scalar custom field values', () => {
    const f = factsFromDevice({ ...staleDevice, customFields: { a: 1, b: { x: 1 } as never, c: NaN, d: null, e: 'x' } }, NOW);
    expect({ ...f.customFields }).toEqual({ a: 1, d: null, e: 'x' });
  });

  it.each([
    ['x64', 'x64'],
    ['x86_64', 'x64'],
    ['AMD64', 'x64'],
    ['aarch64', 'arm64'],
    ['arm64', 'arm64'],
    ['ia32', 'x86'],
    ['i686', 'x86'],
    ['armv7l', 'arm'],
    ['riscv64', 'riscv64'],
    ['', null],
  ])('normalizeArchitecture(%j) = %j', (input, expected) => {
    expect(normalizeArchitecture(input)).toBe(expected);
  });
});

describe('inventoryFacts: stored at ingest, combined at evaluation', () => {
  it('survives a JSON round trip and yields the same facts as the sections', () => {
    const stored = JSON.parse(JSON.stringify(inventoryFacts(debianServerVm.sections!, debianServerVm.inventoryCollectedAt!)));
    const fromStored = factsFromDevice({ ...debianServerVm, sections: {}, inventory: stored }, NOW);
    const fromSections = factsFromDevice(debianServerVm, NOW);
    expect(fromStored).toEqual(fromSections);
  });

  it('holds only clock-independent inventory facts', () => {
    expect(Object.keys(inventoryFacts(windows11Laptop.sections!, NOW).facts).sort()).toEqual([...inventoryFactKeys].sort());
    expect(inventoryFactKeys).not.toContain('system.uptimeDays');
  });

  it('lets uptime keep advancing after the report', () => {
    const stored = inventoryFacts(debianServerVm.sections!, debianServerVm.inventoryCollectedAt!);
    const later = new Date(NOW.getTime() + 2 * DAY);
    const a = factsFromDevice({ ...debianServerVm, inventory: stored }, NOW)['system.uptimeDays']!;
    const b = factsFromDevice({ ...debianServerVm, inventory: stored }, later)['system.uptimeDays']!;
    expect(b - a).toBeCloseTo(2);
  });
});
