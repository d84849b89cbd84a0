import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFormat, readPackageMetadata } from '../src/index.ts';
import { scratch } from './fixtures.ts';

const dir = scratch();

describe('format detection', () => {
  it('scripts: .ps1 is windows, .sh and shebangs are linux', async () => {
    writeFileSync(join(dir, 'install.ps1'), 'Write-Host hi\n');
    writeFileSync(join(dir, 'install'), '#!/bin/sh\necho hi\n');
    expect(await readPackageMetadata(join(dir, 'install.ps1'), 'install.ps1')).toEqual({
      format: 'ps1',
      installerType: 'ps1',
      platform: 'windows',
      warnings: [],
    });
    expect(await readPackageMetadata(join(dir, 'install'), 'install')).toMatchObject({
      format: 'sh',
      installerType: 'sh',
      platform: 'linux',
    });
  });

  it('archives built by zip and tar are archives; a zip named .msix is msix', async () => {
    mkdirSync(join(dir, 'content'), { recursive: true });
    writeFileSync(join(dir, 'content', 'a.txt'), 'a');
    execFileSync('zip', ['-q', '-r', join(dir, 'a.zip'), 'content'], { cwd: dir });
    execFileSync('tar', ['-czf', join(dir, 'a.tar.gz'), 'content'], { cwd: dir });
    execFileSync('tar', ['-cf', join(dir, 'a.tar'), 'content'], { cwd: dir });
    for (const name of ['a.zip', 'a.tar.gz', 'a.tar'])
      expect(await readPackageMetadata(join(dir, name), name)).toMatchObject({ format: 'archive', installerType: 'archive' });
    expect((await readPackageMetadata(join(dir, 'a.zip'), 'app.msix')).format).toBe('msix');
  });

  it('magic bytes win over the extension; a CFB that is not .msi is unknown', () => {
    expect(detectFormat(Buffer.from([0xed, 0xab, 0xee, 0xdb]), 'setup.exe')).toBe('rpm');
    const cfb = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    expect(detectFormat(cfb, 'x.msi')).toBe('msi');
    expect(detectFormat(cfb, 'report.doc')).toBe('unknown');
    expect(detectFormat(Buffer.from('hello'), 'notes.txt')).toBe('unknown');
  });
});
