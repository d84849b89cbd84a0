import { describe, expect, it } from 'vitest';
import { builtInGroups, compileRule, factsFromDevice, usesTime, validateRule, type DeviceFactsInput } from '../src/index.ts';
import { debianServerVm, neverSeenDevice, NOW, staleDevice, windows11Laptop, windowsServer2025 } from './fixtures.ts';

const memberships = (input: DeviceFactsInput) => {
  const facts = factsFromDevice(input, NOW);
  return builtInGroups.filter((g) => compileRule(g.rule)(facts)).map((g) => g.key);
};

describe('built-in groups', () => {
  it('have unique keys and names', () => {
    expect(new Set(builtInGroups.map((g) => g.key)).size).toBe(builtInGroups.length);
    expect(new Set(builtInGroups.map((g) => g.name)).size).toBe(builtInGroups.length);
  });

  it.each(builtInGroups.map((g) => [g.key, g] as const))('%s passes validateRule unchanged', (_key, g) => {
    const result = validateRule(g.rule, { customFields: new Map() });
    expect(result).toEqual({ ok: true, rule: g.rule });
  });

  it('only "Offline more than 7 days" reads the clock', () => {
    expect(builtInGroups.filter((g) => usesTime(g.rule)).map((g) => g.key)).toEqual(['offline-7-days']);
  });

  it.each<[string, DeviceFactsInput, string[]]>([
    ['a Windows 11 laptop', windows11Laptop, ['all-windows', 'windows-11', 'pending-reboot']],
    ['a Debian server VM (5 % free on /)', debianServerVm, ['all-linux', 'virtual-machines', 'low-disk']],
    ['a stale Windows 10 device', staleDevice, ['all-windows', 'offline-7-days']],
    ['a device enrolled 10 days ago that never checked in', neverSeenDevice, ['all-windows', 'offline-7-days']],
    ['Windows Server 2025 (build 26100, like Windows 11 24H2)', windowsServer2025, ['all-windows', 'servers', 'pending-reboot']],
    [
      'the same Debian host in a Docker container (not a virtual machine)',
      {
        ...debianServerVm,
        sections: {
          ...debianServerVm.sections,
          hardware: {
            ...debianServerVm.sections!.hardware!,
            chassisType: 'unknown',
            virtualization: { kind: 'container', detail: 'docker' },
          },
        },
      },
      ['all-linux', 'low-disk'],
    ],
  ])('%s', (_name, device, expected) => {
    expect(memberships(device)).toEqual(expected);
  });

  it('a device enrolled 3 days ago that never checked in is not offline yet', () => {
    const fresh = { ...neverSeenDevice, device: { ...neverSeenDevice.device, enrolledAt: new Date(NOW.getTime() - 3 * 86_400_000) } };
    expect(memberships(fresh)).not.toContain('offline-7-days');
  });
});
