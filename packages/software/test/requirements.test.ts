import { describe, expect, it } from 'vitest';
import { checkRequirements, type RequirementFacts } from '../src/index.ts';

const device: RequirementFacts = { platform: 'windows', osVersion: '10.0.19045', architecture: 'x64', freeDiskMb: 512, ramMb: 8192 };

describe('checkRequirements', () => {
  it('passes when every requirement holds, and with none', () => {
    expect(
      checkRequirements(
        { platforms: ['windows'], minOsVersion: '10.0.17763', architectures: ['x64', 'arm64'], minFreeDiskMb: 500, minRamMb: 4096 },
        device,
      ),
    ).toEqual({ ok: true });
    expect(checkRequirements({}, device)).toEqual({ ok: true });
  });

  it('lists every unmet requirement as a sentence', () => {
    expect(
      checkRequirements(
        { platforms: ['linux', 'macos'], minOsVersion: '10.0.22000', architectures: ['arm64'], minFreeDiskMb: 2048, minRamMb: 16384 },
        device,
      ),
    ).toEqual({
      ok: false,
      unmet: [
        'runs on linux or macos, this device is windows',
        'needs OS version 10.0.22000 or later, has 10.0.19045',
        'runs on arm64, this device is x64',
        'needs 2048 MiB free disk, has 512',
        'needs 16384 MiB RAM, has 8192',
      ],
    });
  });

  it('compares OS versions as versions, not as text', () => {
    expect(checkRequirements({ minOsVersion: '10.0.9200' }, device)).toEqual({ ok: true });
    expect(checkRequirements({ minOsVersion: '12' }, { ...device, osVersion: '9' }).ok).toBe(false);
    expect(checkRequirements({ minOsVersion: '10.0.19045' }, device).ok).toBe(true); // "or later" includes equal
  });

  it('fails a requirement whose fact the device did not report', () => {
    const unknown: RequirementFacts = { platform: null, osVersion: null, architecture: null, freeDiskMb: null, ramMb: null };
    const r = checkRequirements(
      { platforms: ['windows'], minOsVersion: '10', architectures: ['x64'], minFreeDiskMb: 1, minRamMb: 1 },
      unknown,
    );
    expect(r).toEqual({
      ok: false,
      unmet: [
        'runs on windows, this device is of an unknown platform',
        'needs OS version 10 or later, the OS version is unknown',
        'runs on x64, this device is of an unknown architecture',
        'needs 1 MiB free disk, free disk is unknown',
        'needs 1 MiB RAM, RAM is unknown',
      ],
    });
    expect(checkRequirements({}, unknown)).toEqual({ ok: true });
  });
});
