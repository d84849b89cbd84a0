import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStorableText } from '@opsconductor/contracts/text';
import { readPackageMetadata } from '../src/index.ts';
import type { PackageMetadata } from '../src/index.ts';
import { parseVersionInfo } from '../src/pe.ts';
import { PE_STRINGS, buildNsis, buildPe, scratch } from './fixtures.ts';

const dir = scratch();

/** exiftool's view of the same file: an independent PE and version-resource reader. */
function exiftool(path: string): Record<string, unknown> {
  return (JSON.parse(execFileSync('exiftool', ['-j', '-n', path], { encoding: 'utf8' })) as Record<string, unknown>[])[0]!;
}

function expectStorable(meta: PackageMetadata) {
  for (const value of Object.values(meta).flat()) {
    if (typeof value === 'string') expect(isStorableText(value) && value.length <= 500).toBe(true);
  }
}

describe('pe', () => {
  it.each([
    ['x86', 'pe32', 0x14c],
    ['x64', 'pe32+', 0x8664],
    ['arm64', 'pe32+', 0xaa64],
  ] as const)('reads the version resource of an lld-link /machine:%s image', async (machine, peFormat, machineCode) => {
    const exe = buildPe(dir, { machine });
    const meta = await readPackageMetadata(exe, 'setup.exe');
    expect(meta).toEqual({
      format: 'exe',
      installerType: 'exe',
      platform: 'windows',
      architecture: machine,
      peFormat,
      name: 'Demo Agent Tool',
      vendor: 'Example Corp',
      description: 'Demo tool',
      version: '5.6.7.8',
      fileVersion: '1.2.3.4',
      originalFileName: 'demo-setup.exe',
      copyright: '(c) Example Corp',
      languages: [0x409],
      warnings: [],
    });
    const other = exiftool(exe);
    expect(other.MachineType).toBe(machineCode);
    expect(other.PEType).toBe(peFormat === 'pe32' ? 0x10b : 0x20b);
    expect(other.FileVersionNumber).toBe(meta.fileVersion);
    expect(other.ProductVersionNumber).toBe('5.6.7.8');
    expect(other.ProductName).toBe(meta.name);
    expect(other.CompanyName).toBe(meta.vendor);
    expect(other.FileDescription).toBe(meta.description);
    expect(other.ProductVersion).toBe(meta.version);
    expect(other.OriginalFileName).toBe(meta.originalFileName);
    expect(other.LegalCopyright).toBe(meta.copyright);
    expect(other.LanguageCode).toBe('0409');
  });

  it('decodes UTF-16 beyond the BMP and takes the first language', async () => {
    const exe = buildPe(dir, {
      machine: 'x64',
      name: 'unicode',
      language: '040704B0',
      strings: { ProductName: 'Grüße 😀 Werkzeug', ProductVersion: '2.0' },
    });
    expect(await readPackageMetadata(exe, 'setup.exe')).toMatchObject({ name: 'Grüße 😀 Werkzeug', version: '2.0', languages: [0x407] });
  });

  it('a ProductVersion string that is no depot version falls back to the fixed one', async () => {
    const exe = buildPe(dir, { machine: 'x64', name: 'badversion', strings: { ProductName: 'X', ProductVersion: '5, 6, 7, 8 (beta)' } });
    const meta = await readPackageMetadata(exe, 'setup.exe');
    expect(meta.version).toBe('5.6.7.8');
    expect(meta.warnings.join()).toMatch(/not a depot version/);
  });

  it.each([
    ['inno', { manifest: '<assembly><assemblyIdentity name="JR.Inno.Setup" type="win32"/></assembly>' }],
    ['nsis', { manifest: '<assembly><assemblyIdentity name="Nullsoft.NSIS.exehead" type="win32"/></assembly>' }],
    ['burn', { section: '.wixburn' }],
    ['installshield', { strings: { ...PE_STRINGS, Comments: 'Built with InstallShield' } }],
    // NSIS's first header in the overlay: flags, 0xDEADBEEF, "NullsoftInst".
    [
      'nsis',
      { overlay: Buffer.concat([Buffer.from([0, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde]), Buffer.from('NullsoftInst'), Buffer.alloc(500)]) },
    ],
    ['inno', { overlay: Buffer.concat([Buffer.from('zlb\x1a'), Buffer.from('Inno Setup Setup Data (6.2.2) (u)'), Buffer.alloc(500)]) }],
    ['installshield', { overlay: Buffer.concat([Buffer.alloc(100), Buffer.from('InstallShield', 'utf16le')]) }],
  ] as const)('detects %s', async (framework, opts) => {
    const exe = buildPe(dir, { machine: 'x86', name: `fw-${framework}-${Object.keys(opts)[0]}`, ...opts });
    expect((await readPackageMetadata(exe, 'setup.exe')).installerFramework).toBe(framework);
  });

  it('reads a real NSIS installer compiled by makensis, as exiftool does', async () => {
    const exe = buildNsis(dir, { versionInfo: true });
    const meta = await readPackageMetadata(exe, 'setup.exe');
    expect(meta).toMatchObject({
      architecture: 'x86',
      peFormat: 'pe32',
      name: 'Demo NSIS Tool',
      vendor: 'Example Corp',
      description: 'Demo NSIS installer',
      version: '3.4.5',
      fileVersion: '3.4.5.6',
      installerFramework: 'nsis',
      warnings: [],
    });
    const other = exiftool(exe);
    expect([other.ProductName, other.CompanyName, other.ProductVersion, other.FileVersionNumber]).toEqual([
      meta.name,
      meta.vendor,
      meta.version,
      meta.fileVersion,
    ]);
    // Without a version resource, the stub's manifest and its overlay still say NSIS.
    expect(await readPackageMetadata(buildNsis(dir, { versionInfo: false }), 'setup.exe')).toMatchObject({
      installerFramework: 'nsis',
      warnings: ['PE has no version resource: fill the form by hand'],
    });
  });

  it('a real NSIS installer, truncated or with bytes overwritten, never throws', async () => {
    const bytes = readFileSync(buildNsis(dir, { versionInfo: true }));
    const path = join(dir, 'nsis-hostile.exe');
    for (let i = 0; i <= 64; i++) {
      writeFileSync(path, bytes.subarray(0, Math.floor((bytes.length * i) / 64)));
      expectStorable(await readPackageMetadata(path, 'setup.exe'));
    }
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(Math.min(bytes.length, 64 * 1024) - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 16,
        }),
        async (edits) => {
          const copy = Buffer.from(bytes);
          for (const [at, value] of edits) copy[at] = value;
          writeFileSync(path, copy);
          expectStorable(await readPackageMetadata(path, 'setup.exe'));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a program by Nullsoft is not taken for an NSIS installer', async () => {
    const exe = buildPe(dir, { machine: 'x86', name: 'nullsoft', strings: { ...PE_STRINGS, CompanyName: 'Nullsoft, Inc.' } });
    expect((await readPackageMetadata(exe, 'winamp.exe')).installerFramework).toBeUndefined();
  });

  it('a plain image has no installer framework', async () => {
    expect(
      (await readPackageMetadata(buildPe(dir, { machine: 'x64', name: 'plain', overlay: Buffer.alloc(4096, 7) }), 'x.exe'))
        .installerFramework,
    ).toBeUndefined();
  });

  it('a DOS program (MZ without PE) is an exe with a warning', async () => {
    const path = join(dir, 'dos.exe');
    const bytes = Buffer.alloc(1024);
    bytes.write('MZ');
    bytes.writeUInt32LE(0x200, 0x3c);
    writeFileSync(path, bytes);
    const meta = await readPackageMetadata(path, 'dos.exe');
    expect(meta).toMatchObject({ format: 'exe', platform: 'windows' });
    expect(meta.warnings.join()).toMatch(/no PE header/);
  });

  it('truncated images never throw, and a cut that spares the version resource reads it whole', async () => {
    const bytes = readFileSync(buildPe(dir, { machine: 'x64', name: 'cut', overlay: Buffer.alloc(2000, 1) }));
    const cut = join(dir, 'cut.exe');
    for (let length = 0; length <= bytes.length; length += length < 1200 ? 3 : 97) {
      writeFileSync(cut, bytes.subarray(0, length));
      const meta = await readPackageMetadata(cut, 'cut.exe');
      expectStorable(meta);
      if (length >= 2) expect(meta.format).toBe('exe');
      if (meta.name !== undefined) expect(meta.name).toBe('Demo Agent Tool');
      if (meta.warnings.length === 0 && length >= 2) expect(meta.version).toBe('5.6.7.8');
    }
  });

  it('images with random bytes overwritten never throw', async () => {
    const bytes = readFileSync(buildPe(dir, { machine: 'x86', name: 'mutate', manifest: '<assembly/>' }));
    const mutated = join(dir, 'mutated.exe');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }),
        async (edits) => {
          const copy = Buffer.from(bytes);
          for (const [at, value] of edits) copy[at] = value;
          writeFileSync(mutated, copy);
          expectStorable(await readPackageMetadata(mutated, 'mutated.exe'));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('version resources of random bytes parse to storable text or nothing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), (data) => {
        const info = parseVersionInfo(Buffer.from(data), []);
        for (const value of Object.values(info.strings)) expect(isStorableText(value)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('lone surrogates and NULs in a version string are replaced', () => {
    const utf16 = (s: string) => Buffer.from(s, 'utf16le');
    // A String block: wLength, wValueLength, wType=1, "ProductName\0", padding, value.
    const key = utf16('ProductName\0');
    const value = Buffer.concat([utf16('A'), Buffer.from([0x00, 0xd8]), utf16('B\0')]);
    const stringBlock = Buffer.concat([Buffer.alloc(6), key, Buffer.alloc(2), value]);
    stringBlock.writeUInt16LE(stringBlock.length, 0);
    stringBlock.writeUInt16LE(1, 4);
    const block = (name: string, body: Buffer, valueBytes = Buffer.alloc(0)) => {
      let head = Buffer.concat([Buffer.alloc(6), utf16(`${name}\0`)]);
      head = Buffer.concat([head, Buffer.alloc((4 - (head.length % 4)) % 4)]);
      const out = Buffer.concat([head, valueBytes, body]);
      out.writeUInt16LE(out.length, 0);
      out.writeUInt16LE(valueBytes.length, 2);
      return out;
    };
    const info = parseVersionInfo(block('VS_VERSION_INFO', block('StringFileInfo', block('040904B0', stringBlock))), []);
    expect(info.strings.ProductName).toBe('A\uFFFDB');
  });

  it('a read budget below what the image needs gives a warning, not an error', async () => {
    const meta = await readPackageMetadata(buildPe(dir, { machine: 'x64', name: 'budget' }), 'setup.exe', { maxBytesRead: 700 });
    expect(meta.warnings.join()).toMatch(/read budget/);
  });
});
