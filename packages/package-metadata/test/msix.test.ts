import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPackageMetadata } from '../src/index.ts';
import { elementAttributes } from '../src/msix.ts';
import { buildMsix, scratch } from './fixtures.ts';

const dir = scratch();

describe('msix', () => {
  it('reads Identity and Properties from a deflated AppxManifest.xml', async () => {
    const msix = buildMsix(dir);
    expect(execFileSync('unzip', ['-v', msix], { encoding: 'utf8' })).toMatch(/Defl:N.*AppxManifest\.xml/);
    expect(await readPackageMetadata(msix, 'demo.msix')).toEqual({
      format: 'msix',
      installerType: 'msix',
      platform: 'windows',
      packageName: 'ExampleCorp.DemoTool',
      name: 'Demo Tool & Friends',
      version: '1.2.3.0',
      architecture: 'x64',
      vendor: 'Example Corp',
      warnings: [],
    });
  });

  it('truncated packages never throw', async () => {
    const bytes = readFileSync(buildMsix(dir));
    const cut = join(dir, 'cut.msix');
    for (let length = 0; length < bytes.length; length += 13) {
      writeFileSync(cut, bytes.subarray(0, length));
      const meta = await readPackageMetadata(cut, 'cut.msix');
      if (meta.packageName !== undefined) expect(meta.packageName).toBe('ExampleCorp.DemoTool');
    }
  });

  it('the attribute scanner is linear on hostile markup', () => {
    const hostile = `<Identity ${'a='.repeat(200_000)}`;
    const started = performance.now();
    expect(elementAttributes(hostile, 'Identity')).toBeUndefined();
    expect(elementAttributes(`<IdentityX Name="no"/><Identity Name='yes'/>`, 'Identity')?.get('Name')).toBe('yes');
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
