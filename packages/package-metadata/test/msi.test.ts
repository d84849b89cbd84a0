import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStorableText } from '@opsconductor/contracts/text';
import { readPackageMetadata } from '../src/index.ts';
import { readPropertySet } from '../src/summary-info.ts';
import { MalformedFile } from '../src/bounded-file.ts';
import { buildMsi, scratch } from './fixtures.ts';

const dir = scratch();

/** msiinfo's view of the Property table, to check the reader against another implementation. */
function msiinfoProperties(msi: string): Map<string, string> {
  const tsv = execFileSync('msiinfo', ['export', msi, 'Property'], { encoding: 'utf8' });
  return new Map(
    tsv
      .split(/\r?\n/)
      .slice(3)
      .filter((line) => line.includes('\t'))
      .map((line) => line.split('\t') as [string, string]),
  );
}

/** msiinfo's view of the SummaryInformation stream ("Template: x64;1033" lines). */
function msiinfoSummary(msi: string): Map<string, string> {
  const text = execFileSync('msiinfo', ['suminfo', msi], { encoding: 'utf8' });
  return new Map(
    text
      .split(/\r?\n/)
      .filter((line) => line.includes(': '))
      .map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)] as [string, string]),
  );
}

describe('msi', () => {
  it.each(['x86', 'x64'] as const)('reads the Property table of a wixl -a %s build', async (arch) => {
    const msi = buildMsi(dir, arch);
    const meta = await readPackageMetadata(msi, 'demo.msi');
    expect(meta).toMatchObject({
      format: 'msi',
      installerType: 'msi',
      platform: 'windows',
      name: 'Demo Agent Tool',
      version: '2.3.4',
      vendor: 'Example Corp',
      productCode: '{12345678-1234-1234-1234-123456789ABC}',
      upgradeCode: '{87654321-4321-4321-4321-CBA987654321}',
      description: 'Installs the demo tool',
      warnings: [],
    });
    const properties = msiinfoProperties(msi);
    expect(meta.name).toBe(properties.get('ProductName'));
    expect(meta.version).toBe(properties.get('ProductVersion'));
    expect(meta.productCode).toBe(properties.get('ProductCode')!.toUpperCase());
  });

  it.each(['x86', 'x64'] as const)('reads the SummaryInformation of a wixl -a %s build as msiinfo does', async (arch) => {
    const msi = buildMsi(dir, arch);
    const meta = await readPackageMetadata(msi, 'demo.msi');
    const summary = msiinfoSummary(msi);
    expect(summary.get('Template')).toBe(arch === 'x64' ? 'x64;1033' : 'Intel;1033');
    expect(meta).toMatchObject({
      architecture: arch,
      languages: [1033],
      minimumInstallerVersion: 200,
      compressed: true,
      elevationRequired: true,
    });
    expect(meta.packageCode).toBe(summary.get('Revision number (UUID)'));
    expect(summary.get('Version')).toBe(`${meta.minimumInstallerVersion} (c8)`);
    expect(summary.get('Source')).toBe('2 (2)');
  });

  it('reads a SummaryInformation rewritten by msibuild: Arm64, two languages, a given package code', async () => {
    const msi = join(dir, 'arm64.msi');
    writeFileSync(msi, readFileSync(buildMsi(dir, 'x86')));
    execFileSync('msibuild', [msi, '-s', 'Demo Subject', 'Other Author', 'Arm64;1033,1031', '{0F0E0D0C-1111-2222-3333-44445555666A}']);
    const summary = msiinfoSummary(msi);
    expect(summary.get('Template')).toBe('Arm64;1033,1031');
    const meta = await readPackageMetadata(msi, 'arm64.msi');
    expect(meta).toMatchObject({ architecture: 'arm64', languages: [1033, 1031], packageCode: '{0F0E0D0C-1111-2222-3333-44445555666A}' });
    // The Property table's Manufacturer wins over the summary's Author.
    expect(meta.vendor).toBe('Example Corp');
  });

  it("without a Manufacturer property, the summary's Author is the vendor", async () => {
    const msi = join(dir, 'no-manufacturer.msi');
    writeFileSync(msi, readFileSync(buildMsi(dir, 'x86')));
    execFileSync('msibuild', [msi, '-q', "DELETE FROM `Property` WHERE `Property` = 'Manufacturer'"]);
    expect(msiinfoProperties(msi).has('Manufacturer')).toBe(false);
    expect(msiinfoSummary(msi).get('Author')).toBe('Example Corp');
    expect((await readPackageMetadata(msi, 'x.msi')).vendor).toBe('Example Corp');
  });

  it('property set streams of random or cut bytes are malformed or partial, never another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (data, withHeader) => {
        const stream = Buffer.from(data);
        if (withHeader && stream.length >= 48) {
          stream.writeUInt16LE(0xfffe, 0);
          stream.writeUInt32LE(1, 24);
          stream.writeUInt32LE(48, 44);
        }
        try {
          for (const value of readPropertySet(stream).values()) if (typeof value === 'string') expect(isStorableText(value)).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedFile);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a .doc-named compound file is not taken for an MSI', async () => {
    expect((await readPackageMetadata(buildMsi(dir, 'x86'), 'report.doc')).format).toBe('unknown');
  });

  it('truncated MSIs never throw', async () => {
    const bytes = readFileSync(buildMsi(dir, 'x86'));
    const cut = join(dir, 'cut.msi');
    for (let i = 0; i <= 96; i++) {
      const length = Math.floor((bytes.length * i) / 96);
      writeFileSync(cut, bytes.subarray(0, length));
      const meta = await readPackageMetadata(cut, 'cut.msi');
      expect(meta.format).toBe(length >= 8 ? 'msi' : 'unknown');
      for (const value of Object.values(meta).flat()) if (typeof value === 'string') expect(isStorableText(value)).toBe(true);
      // A cut that spares the tables (only the embedded cabinet lost) may still read them whole, never wrongly.
      if (meta.warnings.length === 0 && length >= 8) expect(meta.name).toBe('Demo Agent Tool');
    }
  });

  it('a FAT cycle ends in a warning, not a hang', async () => {
    const bytes = Buffer.from(readFileSync(buildMsi(dir, 'x86')));
    // Point the directory's first sector at itself in the FAT (first FAT sector from the header's DIFAT).
    const sectorSize = 1 << bytes.readUInt16LE(0x1e);
    const firstFatSector = bytes.readUInt32LE(0x4c);
    const directoryStart = bytes.readUInt32LE(0x30);
    bytes.writeUInt32LE(directoryStart, (firstFatSector + 1) * sectorSize + directoryStart * 4);
    const path = join(dir, 'cycle.msi');
    writeFileSync(path, bytes);
    const meta = await readPackageMetadata(path, 'cycle.msi');
    expect(meta.warnings.join()).toMatch(/cycle/);
  });
});
