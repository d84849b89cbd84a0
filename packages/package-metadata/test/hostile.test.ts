import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStorableText } from '@opsconductor/contracts/text';
import { readPackageMetadata } from '../src/index.ts';
import type { PackageMetadata } from '../src/index.ts';
import { buildDeb, buildMsi, buildRpm, scratch } from './fixtures.ts';

const dir = scratch();

function expectStorable(meta: PackageMetadata) {
  for (const value of Object.values(meta).flat()) {
    if (typeof value === 'string') expect(isStorableText(value) && value.length <= 500).toBe(true);
  }
}

/** Every prefix length up to 4 KiB, then a spread of lengths over the rest of the file. */
function cutLengths(size: number): number[] {
  const lengths = new Set<number>();
  for (let n = 0; n < Math.min(size, 4096); n += 7) lengths.add(n);
  for (let i = 0; i < 64; i++) lengths.add(Math.floor((size * i) / 64));
  return [...lengths];
}

describe('hostile input', () => {
  const fixtures = [
    ['demo.deb', buildDeb(dir, { compression: 'gzip', architecture: 'amd64' })],
    ['demo-xz.deb', buildDeb(dir, { architecture: 'amd64' })],
    ['demo.rpm', buildRpm(dir, { buildArch: 'noarch' })],
    ['demo.msi', buildMsi(dir, 'x86')],
  ] as const;
  const rpmFixture = fixtures.find(([name]) => name === 'demo.rpm')![1];

  it.each(fixtures)('truncated %s never throws and stays storable', async (name, path) => {
    const bytes = readFileSync(path);
    const cut = join(dir, `cut-${name}`);
    for (const length of cutLengths(bytes.length)) {
      writeFileSync(cut, bytes.subarray(0, length));
      const meta = await readPackageMetadata(cut, name);
      expectStorable(meta);
      if (length < bytes.length && length > 600) expect(meta.warnings.length + (meta.packageName ? 1 : 0)).toBeGreaterThan(0);
    }
  });

  it.each(fixtures)('%s with random bytes overwritten never throws', async (name, path) => {
    const bytes = readFileSync(path);
    const mutated = join(dir, `mutated-${name}`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }),
        async (edits) => {
          const copy = Buffer.from(bytes);
          for (const [at, value] of edits) copy[at] = value;
          writeFileSync(mutated, copy);
          expectStorable(await readPackageMetadata(mutated, name));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('quotes what it read storably: a NUL in a member name becomes U+FFFD in the warning (fast-check found it)', async () => {
    const bytes = Buffer.from(readFileSync(fixtures.find(([name]) => name === 'demo-xz.deb')![1]));
    // The second ar member's name, 72 + 11: "control.tar.xz" becomes "control.tar\0xz".
    expect(bytes.toString('latin1', 72, 86)).toBe('control.tar.xz');
    bytes[83] = 0;
    const path = join(dir, 'nul-name.deb');
    writeFileSync(path, bytes);
    const meta = await readPackageMetadata(path, 'nul-name.deb');
    expectStorable(meta);
    expect(meta.warnings).toContain('control.tar\uFFFDxz: compression not supported');
  });

  it('an rpm header claiming a huge index is refused without reading it', async () => {
    const bytes = Buffer.from(readFileSync(rpmFixture));
    bytes.writeUInt32BE(0xffffffff, 96 + 8);
    const path = join(dir, 'huge.rpm');
    writeFileSync(path, bytes);
    const meta = await readPackageMetadata(path, 'huge.rpm', { maxBytesRead: 1024 * 1024 });
    expect(meta.format).toBe('rpm');
    expect(meta.warnings.join()).toMatch(/too large/);
  });

  it("an rpm cut inside its main header's data store says so (it used to read as no name, without a warning)", async () => {
    const bytes = readFileSync(rpmFixture);
    // The lead (96 bytes), the signature header padded to 8, then the main header: 16 bytes, its index, its data.
    const headerEnd = (at: number) => at + 16 + bytes.readUInt32BE(at + 8) * 16 + bytes.readUInt32BE(at + 12);
    const signatureEnd = headerEnd(96);
    const main = signatureEnd + ((8 - (signatureEnd % 8)) % 8);
    const cut = join(dir, 'cut-in-data.rpm');
    writeFileSync(cut, bytes.subarray(0, headerEnd(main) - 1));
    const meta = await readPackageMetadata(cut, 'demo.rpm');
    expect(meta.format).toBe('rpm');
    expect(meta.warnings.join()).toMatch(/RPM header data truncated/);
  });

  it('a read budget below what the file needs gives a warning, not an error', async () => {
    const meta = await readPackageMetadata(rpmFixture, 'demo.rpm', { maxBytesRead: 700 });
    expect(meta.warnings.join()).toMatch(/read budget/);
  });

  it('random files are unknown or partial, never an exception', async () => {
    const path = join(dir, 'random.bin');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.constantFrom('x.bin', 'x.deb', 'x.rpm', 'x.msi'), async (data, name) => {
        writeFileSync(path, data);
        expectStorable(await readPackageMetadata(path, name));
      }),
      { numRuns: 200 },
    );
  });

  it('a missing file is an I/O error for the caller', async () => {
    await expect(readPackageMetadata(join(dir, 'nope.deb'), 'nope.deb')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
