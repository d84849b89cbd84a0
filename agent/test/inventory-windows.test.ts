/**
 * The Windows parsers on recorded collect.ps1 output (Windows APIs cannot run here): a domain-joined
 * Windows 11 laptop and a Windows Server 2022 Hyper-V VM in a workgroup.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inventorySections } from '@opsconductor/contracts/inventory';
import { sectionHash } from '@opsconductor/contracts/inventory-hash';
import {
  decodeProductState,
  list,
  packGuid,
  parseNetLocalgroup,
  parseRawOutput,
  parseWindowsDate,
  unpackGuid,
  upgradeCodeMap,
  windowsParsers,
} from '../src/inventory/windows/parse.ts';
import { COLLECT_SCRIPT, powershellPath } from '../src/inventory/windows/index.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/windows/${name}`, import.meta.url), 'utf8');
const laptopText = fixture('win11-23h2-laptop-ad.json');
const serverText = fixture('server2022-hyperv-workgroup.json');

function parseAll(text: string) {
  const raw = parseRawOutput(text);
  return inventorySections.parse(Object.fromEntries(Object.entries(windowsParsers).map(([name, parse]) => [name, parse(raw)])));
}

describe('windows parsers: Windows 11 23H2 laptop joined to AD', () => {
  const inv = parseAll(laptopText);

  it('system: OS, build, domain FQDN, uptime from CIM dates, pending reboot reasons', () => {
    expect(inv.system).toEqual({
      hostname: 'LT-4821',
      fqdn: 'LT-4821.corp.contoso.com',
      osFamily: 'windows',
      osName: 'Microsoft Windows 11 Enterprise', // Caption, not the registry's "Windows 10 Enterprise"
      osVersion: '10.0.22631',
      osBuild: '22631.3007 (23H2)',
      kernel: '10.0.22631',
      architecture: 'x64',
      uptimeSeconds: 3 * 86_400, // booted 2024-01-22 07:12, collected 2024-01-25 14:30: 3 d 7 h, whole days
      bootTime: '2024-01-22T07:12:03.500Z',
      timezone: 'W. Europe Standard Time',
      pendingReboot: true,
      pendingRebootReasons: ['Windows Update: reboot required', 'Pending file rename operations'],
    });
  });

  it('hardware: a physical Lenovo laptop although the hypervisor (VBS) is present', () => {
    const hw = inv.hardware;
    expect(hw).toMatchObject({
      manufacturer: 'LENOVO',
      model: '21HD003UGE',
      serialNumber: 'PF4KX2AB',
      systemUuid: '4c4c4544-0051-3310-8052-b4c04f4d3733',
      chassisType: 'laptop',
      biosVendor: 'LENOVO',
      biosVersion: 'R2FET61W (1.41 )',
      biosDate: '2023-11-15',
      firmwareType: 'uefi',
      cpu: { model: '13th Gen Intel(R) Core(TM) i7-1365U', cores: 10, threads: 12, sockets: 1 },
      memoryBytes: 34072449024,
      disks: [{ name: 'PHYSICALDRIVE0', model: 'SAMSUNG MZVL4512HBLU-00BL7', sizeBytes: 512105932800, type: 'ssd' }],
    });
    expect(hw.virtualization.kind).toBe('physical');
    expect(hw.filesystems).toHaveLength(1);
    expect(hw.filesystems[0]).toMatchObject({ mount: 'C:', fsType: 'NTFS', sizeBytes: 510770802688 });
    // Free space is reported in 1 % steps of the size, never above the real value.
    expect(hw.filesystems[0]!.freeBytes).toBeLessThanOrEqual(287654301696);
    expect(287654301696 - hw.filesystems[0]!.freeBytes).toBeLessThan(510770802688 / 100);
    expect(hw.networkInterfaces).toEqual([
      { name: 'Ethernet 2', mac: '00:05:9a:3c:7a:00', ipv4: ['172.16.5.23'], ipv6: ['fe80::2a1:b2ff:fec3:d4e5'] },
      { name: 'Wi-Fi', mac: 'a4:c3:f0:5e:21:7b', ipv4: ['10.20.30.41'], ipv6: ['fe80::8d2c:1b3a:9f4e:2c71'] },
    ]);
  });

  it('directory: Active Directory domain', () => {
    expect(inv.directory).toEqual({ type: 'ad', domain: 'corp.contoso.com', workgroup: null, provider: 'windows' });
  });

  it('software: MSI product and upgrade codes, 32-bit entries from WOW6432Node, registry-only apps', () => {
    const byName = new Map(inv.software.packages.map((p) => [p.name, p]));
    expect(byName.get('7-Zip 23.01 (x64 edition)')).toEqual({
      name: '7-Zip 23.01 (x64 edition)',
      version: '23.01.00.0',
      architecture: 'x64',
      vendor: 'Igor Pavlov',
      installDate: '2023-11-08',
      source: 'msi',
      productCode: '{23170F69-40C1-2702-2301-000001000000}',
      upgradeCode: '{23170F69-40C1-2702-0000-000004000000}',
    });
    expect(byName.get('Adobe Acrobat Reader DC')).toMatchObject({
      version: '23.008.20470',
      architecture: 'x86',
      source: 'msi',
      productCode: '{AC76BA86-7AD7-1033-7B44-AC0F074E4100}',
      upgradeCode: '{A6EADE66-0000-0000-484E-7E8A45000000}',
      installDate: '2024-01-12',
    });
    expect(byName.get('Zoom Workplace (32-bit)')).toMatchObject({
      architecture: 'x86',
      source: 'msi',
      upgradeCode: '{7C6A6E74-8F4F-4D4B-8C2A-52E1B4D9D1F0}',
    });
    // SystemComponent MSI runtimes are kept: deployments detect them by product code.
    expect(byName.get('Microsoft Visual C++ 2022 X64 Minimum Runtime - 14.38.33130')).toMatchObject({
      source: 'msi',
      productCode: '{0025DD72-A959-45B5-A0A3-7EFEB15A8050}',
      upgradeCode: '{36F68A90-239C-34DF-B58C-64B30153CE35}',
    });
    // An MSI product without an UpgradeCodes entry.
    expect(byName.get('Microsoft Teams Meeting Add-in for Microsoft Office')).toMatchObject({ source: 'msi', upgradeCode: null });
    // A Burn bundle: its key is a GUID but it is not a Windows Installer product.
    expect(byName.get('Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33130')).toMatchObject({
      source: 'registry',
      productCode: null,
      upgradeCode: null,
      architecture: 'x86',
      installDate: null,
    });
    expect(byName.get('Mozilla Firefox (x64 en-US)')).toMatchObject({
      version: '121.0.1',
      source: 'registry',
      vendor: 'Mozilla',
      installDate: null,
    });
    expect(byName.get('Microsoft Edge')).toMatchObject({ architecture: 'x86', source: 'registry', installDate: '2024-01-20' });
    expect(byName.get('Lenovo System Update')).toMatchObject({ source: 'registry', productCode: null }); // {GUID}_is1 is Inno Setup
    // Unparseable vendor date formats become null rather than a wrong date.
    expect(byName.get('Cisco Secure Client - AnyConnect VPN')).toMatchObject({ installDate: null, source: 'msi' });
    // Entries without DisplayName and updates of another entry (ParentKeyName) are not products.
    expect([...byName.keys()].some((n) => n.startsWith('Security Update'))).toBe(false);
    expect(inv.software.packages.some((p) => p.productCode === '{F5B09CFD-F0B2-36AF-8DF4-1DF6B63FC7B4}')).toBe(false);
    expect(inv.software.packages).toHaveLength(13);
    const names = inv.software.packages.map((p) => p.name);
    expect(names).toEqual([...names].sort());
  });

  it('services: states and start modes', () => {
    const byName = new Map(inv.services.services.map((s) => [s.name, s]));
    expect(inv.services.services).toHaveLength(12);
    expect(byName.get('WinDefend')).toEqual({
      name: 'WinDefend',
      displayName: 'Microsoft Defender Antivirus Service',
      state: 'running',
      startMode: 'auto',
    });
    expect(byName.get('lfsvc')).toMatchObject({ state: 'stopped', startMode: 'disabled' });
    expect(byName.get('TrustedInstaller')).toMatchObject({ state: 'starting', startMode: 'manual' });
  });

  it('security: admins, no RDP, BitLocker on, Defender up to date, firewall on', () => {
    expect(inv.security).toEqual({
      localAdmins: ['CONTOSO\\Domain Admins', 'CONTOSO\\LT-Workstation-Admins', 'LT-4821\\Administrator', 'LT-4821\\lapsadmin'],
      sshEnabled: false,
      sshListening: false,
      rdpEnabled: false,
      firewall: { enabled: true, product: 'Windows Defender Firewall' },
      diskEncryption: [{ volume: 'C:', encrypted: true, method: 'BitLocker XtsAes128' }],
      antivirus: { product: 'Microsoft Defender Antivirus', enabled: true, upToDate: true },
    });
  });

  it('performance: memory from the OS counters, CPU from the perf counter, no load average', () => {
    expect(inv.performance).toEqual({
      cpuLoad1: null,
      cpuLoad5: null,
      cpuLoad15: null,
      cpuPercent: 9,
      memoryUsedBytes: (33273876 - 17852340) * 1024,
      memoryTotalBytes: 33273876 * 1024,
      filesystems: [{ mount: 'C:', sizeBytes: 510770802688, usedBytes: 510770802688 - 287654301696 }],
    });
  });
});

describe('windows parsers: Windows Server 2022 Hyper-V VM in a workgroup', () => {
  const inv = parseAll(serverText);

  it('system: build with UBR, FQDN without a DNS suffix, DMTF dates with a UTC offset', () => {
    expect(inv.system).toMatchObject({
      hostname: 'SRV-APP01',
      fqdn: 'SRV-APP01',
      osName: 'Microsoft Windows Server 2022 Datacenter',
      osVersion: '10.0.20348',
      osBuild: '20348.2227 (21H2)',
      bootTime: '2024-01-10T03:15:00.500Z', // 04:15:00.5 at UTC+60 min
      uptimeSeconds: 15 * 86_400,
      timezone: 'UTC',
      pendingReboot: false,
      pendingRebootReasons: [],
    });
  });

  it('hardware: Hyper-V from the SMBIOS strings, virtual chassis, two sockets summed', () => {
    expect(inv.hardware).toMatchObject({
      manufacturer: 'Microsoft Corporation',
      model: 'Virtual Machine',
      serialNumber: '4286-3174-6520-9843-2217-1009-81',
      chassisType: 'virtual',
      biosDate: '2023-03-01',
      firmwareType: 'uefi',
      virtualization: { kind: 'hyperv', detail: 'Microsoft Corporation Virtual Machine' },
      cpu: { model: 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz', cores: 8, threads: 16, sockets: 2 },
      memoryBytes: 17179332608,
    });
    expect(inv.hardware.disks).toEqual([
      { name: 'PHYSICALDRIVE0', model: 'Microsoft Virtual Disk', sizeBytes: 136366917120, type: 'unknown' },
      { name: 'PHYSICALDRIVE1', model: 'Microsoft Virtual Disk', sizeBytes: 1099507433472, type: 'unknown' },
    ]);
    expect(inv.hardware.filesystems.map((f) => [f.mount, f.fsType])).toEqual([
      ['C:', 'NTFS'],
      ['E:', 'ReFS'],
    ]);
  });

  it('directory: workgroup', () => {
    expect(inv.directory).toEqual({ type: 'workgroup', domain: null, workgroup: 'WORKGROUP', provider: 'windows' });
  });

  it('software: DWORD install dates, missing versions, 32-bit runtimes', () => {
    const byName = new Map(inv.software.packages.map((p) => [p.name, p]));
    expect(byName.get('PowerShell 7.4.1.0-x64')).toMatchObject({
      source: 'msi',
      architecture: 'x64',
      productCode: '{8E9D4B2A-1C6F-4B7E-A3D5-2F0E9C8B7A61}',
      upgradeCode: '{31AB5147-9A97-4452-8443-D9709F0516E1}',
      installDate: '2024-01-11',
    });
    expect(byName.get('Microsoft ODBC Driver 18 for SQL Server')).toMatchObject({
      installDate: '2024-01-11',
      upgradeCode: '{B0D8A3C2-6E5F-4A1B-9C7D-3E2F1A0B9C8D}',
    });
    expect(byName.get('Microsoft SQL Server 2022 (64-bit)')).toMatchObject({ version: '', source: 'registry' });
    expect(byName.get('Git')).toMatchObject({ version: '2.43.0', source: 'registry', installDate: '2024-01-12' });
    expect(byName.get('Microsoft Visual C++ 2022 X86 Minimum Runtime - 14.38.33130')).toMatchObject({
      architecture: 'x86',
      productCode: '{E3D6A6F0-5B2C-4C7E-9A1D-8F4B2E6C0D93}',
      upgradeCode: '{65E5BD06-6392-3027-8C26-853107D3CF1A}',
    });
    expect(inv.software.packages).toHaveLength(7);
  });

  it('security: RDP on (fDenyTSConnections=0), OpenSSH, BitLocker off, stale Defender, Public profile off', () => {
    expect(inv.security).toEqual({
      // From the net.exe fallback, because Get-LocalGroupMember failed on an orphaned SID.
      localAdmins: ['Administrator', 'S-1-5-21-3623811015-3361044348-30300820-1013', 'opsadmin'],
      sshEnabled: true,
      sshListening: true,
      rdpEnabled: true,
      firewall: { enabled: false, product: 'Windows Defender Firewall' },
      diskEncryption: [
        { volume: 'C:', encrypted: false, method: null },
        { volume: 'E:', encrypted: false, method: null },
      ],
      antivirus: { product: 'Microsoft Defender Antivirus', enabled: true, upToDate: false },
    });
  });

  it('services and performance', () => {
    expect(inv.services.services.find((s) => s.name === 'TermService')).toMatchObject({ state: 'running', startMode: 'manual' });
    expect(inv.services.services.find((s) => s.name === 'Spooler')).toMatchObject({ state: 'stopped', startMode: 'disabled' });
    expect(inv.performance).toMatchObject({ cpuPercent: 23, memoryTotalBytes: 16776692 * 1024, cpuLoad1: null });
    expect(inv.performance.filesystems.map((f) => f.mount)).toEqual(['C:', 'E:']);
  });
});

describe('windows parsers: serializer quirks', () => {
  it('reads a one-element list written as a bare object and a {value, Count} wrapper like a real list', () => {
    const raw = JSON.parse(laptopText);
    const baseline = parseAll(laptopText);
    raw.Processors = raw.Processors[0]; // ConvertTo-Json unrolled a single-element array
    raw.LogicalDisks = raw.LogicalDisks[0];
    raw.BitLocker = raw.BitLocker[0];
    raw.Enclosure.ChassisTypes = 10;
    raw.LocalAdmins = { value: raw.LocalAdmins, Count: raw.LocalAdmins.length }; // PowerShell 5.1 type data
    raw.Services = { value: raw.Services, Count: raw.Services.length };
    const quirky = parseAll(JSON.stringify(raw));
    expect(quirky).toEqual(baseline);
    for (const name of Object.keys(baseline) as (keyof typeof baseline)[]) {
      expect(sectionHash(quirky[name])).toBe(sectionHash(baseline[name]));
    }
  });

  it('accepts enums as numbers (VolumeStatus, ProtectionStatus, EncryptionMethod, firewall GpoBoolean)', () => {
    const raw = JSON.parse(laptopText);
    raw.BitLocker = [{ MountPoint: 'C:', VolumeStatus: 1, ProtectionStatus: 1, EncryptionMethod: 7 }];
    raw.FirewallProfiles = [
      { Name: 'Domain', Enabled: 1 },
      { Name: 'Public', Enabled: 0 },
    ];
    const inv = parseAll(JSON.stringify(raw));
    expect(inv.security.diskEncryption).toEqual([{ volume: 'C:', encrypted: true, method: 'BitLocker XtsAes256' }]);
    expect(inv.security.firewall.enabled).toBe(false);
  });

  it('falls back to Win32_EncryptableVolume and reports suspended protection as not encrypted', () => {
    const raw = JSON.parse(laptopText);
    raw.BitLocker = null;
    raw.EncryptableVolumes = [{ DriveLetter: 'C:', ProtectionStatus: 0, ConversionStatus: 1, EncryptionMethod: 6 }];
    expect(parseAll(JSON.stringify(raw)).security.diskEncryption).toEqual([
      { volume: 'C:', encrypted: false, method: 'BitLocker XtsAes128 (protection suspended)' },
    ]);
  });

  it('survives a script whose parts all failed: every section still validates', () => {
    const inv = parseAll(
      JSON.stringify({ SchemaVersion: 1, ComputerName: 'WS-01', Errors: [{ Part: 'OperatingSystem', Message: 'Access denied' }] }),
    );
    expect(inv.system).toMatchObject({ hostname: 'WS-01', osFamily: 'windows', uptimeSeconds: null });
    expect(inv.software.packages).toEqual([]);
    expect(inv.security).toMatchObject({
      localAdmins: [],
      rdpEnabled: null,
      sshEnabled: null,
      firewall: { enabled: null, product: null },
      antivirus: null,
    });
    expect(inv.hardware.virtualization.kind).toBe('unknown');
  });

  it('parses output with a BOM and refuses output without a JSON object', () => {
    expect(parseRawOutput('\uFEFF{"ComputerName":"X"}')).toEqual({ ComputerName: 'X' });
    expect(() => parseRawOutput('WARNING: something')).toThrow(/no JSON/);
  });
});

describe('windows parse helpers', () => {
  it('parses every date shape PowerShell produces', () => {
    expect(parseWindowsDate('/Date(1706659200000)/')?.toISOString()).toBe('2024-01-31T00:00:00.000Z');
    expect(parseWindowsDate('\\/Date(1706659200000)\\/')).toBeNull(); // only after JSON.parse is it /Date()/
    expect(parseWindowsDate('/Date(1706659200000+0100)/')?.toISOString()).toBe('2024-01-31T00:00:00.000Z');
    expect(
      parseWindowsDate({
        value: '/Date(1706659200000)/',
        DisplayHint: 2,
        DateTime: 'Wednesday, January 31, 2024 1:00:00 AM',
      })?.toISOString(),
    ).toBe('2024-01-31T00:00:00.000Z');
    expect(parseWindowsDate('20240131000000.000000+000')?.toISOString()).toBe('2024-01-31T00:00:00.000Z');
    expect(parseWindowsDate('20240131013000.250000+060')?.toISOString()).toBe('2024-01-31T00:30:00.250Z');
    expect(parseWindowsDate('20240130190000.000000-300')?.toISOString()).toBe('2024-01-31T00:00:00.000Z');
    expect(parseWindowsDate('20240131')?.toISOString()).toBe('2024-01-31T00:00:00.000Z');
    expect(parseWindowsDate('2024-01-31T00:00:00+01:00')?.toISOString()).toBe('2024-01-30T23:00:00.000Z');
    for (const bad of ['20240231', '20241301', '19000101', '11/08/2023', '', 'n/a', null, undefined, '****0131000000.000000+000']) {
      expect(parseWindowsDate(bad)).toBeNull();
    }
  });

  it('unpacks Windows Installer packed GUIDs', () => {
    // Adobe Reader DC's product code, packed as it appears under HKCR\\Installer\\Products.
    expect(packGuid('{AC76BA86-7AD7-1033-7B44-AC0F074E4100}')).toBe('68AB67CA7DA73301B744CAF070E41400');
    expect(unpackGuid('68AB67CA7DA73301B744CAF070E41400')).toBe('{AC76BA86-7AD7-1033-7B44-AC0F074E4100}');
    expect(unpackGuid('96f071321c0420720000000040000000')).toBe('{23170F69-40C1-2702-0000-000004000000}');
    expect(unpackGuid('not-a-packed-guid')).toBeNull();
    const map = upgradeCodeMap({
      value: [
        {
          UpgradeCode: packGuid('{A6EADE66-0000-0000-484E-7E8A45000000}'),
          ProductCodes: packGuid('{AC76BA86-7AD7-1033-7B44-AC0F074E4100}'),
        },
      ],
      Count: 1,
    });
    expect(map.get('{AC76BA86-7AD7-1033-7B44-AC0F074E4100}')).toBe('{A6EADE66-0000-0000-484E-7E8A45000000}');
  });

  it('decodes Security Center product states', () => {
    expect(decodeProductState(397568)).toEqual({ enabled: true, upToDate: true }); // 0x061100
    expect(decodeProductState(397584)).toEqual({ enabled: true, upToDate: false }); // 0x061110
    expect(decodeProductState(393472)).toEqual({ enabled: false, upToDate: true }); // 0x060100
  });

  it('prefers an active third-party antivirus over Defender in passive mode', () => {
    const raw = JSON.parse(laptopText);
    raw.AntivirusProducts = [
      { displayName: 'Windows Defender', productState: 393472 },
      { displayName: 'Sophos Anti-Virus', productState: 266240 },
    ];
    raw.Defender.AMRunningMode = 'Passive Mode';
    expect(parseAll(JSON.stringify(raw)).security.antivirus).toEqual({ product: 'Sophos Anti-Virus', enabled: true, upToDate: true });
  });

  it('reads net localgroup output in any language', () => {
    const german = [
      'Aliasname     Administratoren',
      'Beschreibung  Administratoren haben uneingeschränkten Vollzugriff',
      '',
      'Mitglieder',
      '',
      '-'.repeat(79),
      'Administrator',
      'CONTOSO\\Domain Admins',
      'Der Befehl wurde erfolgreich ausgeführt.',
      '',
    ];
    expect(parseNetLocalgroup(german)).toEqual(['Administrator', 'CONTOSO\\Domain Admins']);
    expect(parseNetLocalgroup(['no rule here'])).toEqual([]);
    expect(list({ value: ['a'], Count: 1 })).toEqual(['a']);
  });

  it('starts the 64-bit Windows PowerShell by absolute path, also from a 32-bit Node', () => {
    expect(powershellPath({ SystemRoot: 'C:\\Windows' }, 'x64')).toBe('C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
    expect(powershellPath({ SystemRoot: 'C:\\Windows', PROCESSOR_ARCHITEW6432: 'AMD64' }, 'ia32')).toBe(
      'C:\\Windows\\Sysnative\\WindowsPowerShell\\v1.0\\powershell.exe',
    );
  });

  it('collect.ps1 stays Windows PowerShell 5.1 syntax and prints compressed JSON', () => {
    const code = readFileSync(COLLECT_SCRIPT, 'utf8')
      .replace(/<#[\s\S]*?#>/g, '')
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').replace(/'[^']*'/g, "''"))
      .join('\n');
    // PowerShell 7 only: null-coalescing, null-conditional access, pipeline chains, ternaries, -Parallel.
    for (const pattern of [/\?\?/, /\?\./, /&&/, /\|\|/, /\s\?\s[^:]+\s:\s/, /-Parallel\b/, /-AsHashtable\b/]) {
      expect(code, String(pattern)).not.toMatch(pattern);
    }
    expect(code).toMatch(/ConvertTo-Json -Depth 6 -Compress\s*$/);
    expect(code).not.toMatch(/Win32_Product\b/); // enumerating it triggers MSI self-repair on every product
  });
});

describe('windows parsers: disk usage', () => {
  it('hardware and performance agree on how full each volume is (within the 1 % step of free space)', () => {
    for (const inv of [parseAll(laptopText), parseAll(serverText)]) {
      expect(inv.hardware.filesystems.length).toBeGreaterThan(0);
      for (const fs of inv.hardware.filesystems) {
        const perf = inv.performance.filesystems.find((p) => p.mount === fs.mount)!;
        expect(perf.sizeBytes).toBe(fs.sizeBytes);
        expect(Math.abs((fs.sizeBytes - fs.freeBytes) / fs.sizeBytes - perf.usedBytes / perf.sizeBytes), fs.mount).toBeLessThan(0.01);
      }
    }
  });
});
