import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readPackageMetadata } from '../src/index.ts';
import { buildDeb, buildRpm, scratch } from './fixtures.ts';

const dir = scratch();

describe('deb', () => {
  it("reads dpkg-deb's default build (control.tar.xz on Debian 12)", async () => {
    const deb = buildDeb(dir, { architecture: 'amd64' });
    expect(execFileSync('ar', ['t', deb], { encoding: 'utf8' })).toMatch(/control\.tar\.xz/);
    expect(await readPackageMetadata(deb, 'demo.deb')).toMatchObject({
      format: 'deb',
      packageName: 'demo-agent-tool',
      version: '1:2.3.4-1',
      architecture: 'x64',
      dependencies: ['libc6', 'curl', 'wget'],
      warnings: [],
    });
  });

  it.each(['gzip', 'xz', 'none'] as const)('reads a %s control.tar', async (compression) => {
    const meta = await readPackageMetadata(buildDeb(dir, { compression, architecture: 'amd64' }), 'demo.deb');
    expect(meta).toEqual({
      format: 'deb',
      installerType: 'deb',
      platform: 'linux',
      packageName: 'demo-agent-tool',
      name: 'demo-agent-tool',
      version: '1:2.3.4-1',
      architecture: 'x64',
      vendor: 'Example Corp <ops@example.com>',
      description: 'Demo tool for tests',
      dependencies: ['libc6', 'curl', 'wget'],
      warnings: [],
    });
  });

  it("maps Architecture 'all' to no architecture", async () => {
    const meta = await readPackageMetadata(buildDeb(dir, { compression: 'gzip', architecture: 'all' }), 'demo.deb');
    expect(meta.architecture).toBeUndefined();
    expect(meta.packageName).toBe('demo-agent-tool');
  });
});

describe('rpm', () => {
  it('reads a noarch rpm built by rpmbuild', async () => {
    const rpm = buildRpm(dir, { buildArch: 'noarch' });
    const meta = await readPackageMetadata(rpm, 'demo.rpm');
    const queried = execFileSync('rpm', ['-qp', '--qf', '%{EPOCH}:%{VERSION}-%{RELEASE}', rpm], { encoding: 'utf8' });
    expect(meta.version).toBe(queried);
    expect(meta).toMatchObject({
      format: 'rpm',
      installerType: 'rpm',
      platform: 'linux',
      packageName: 'demo-rpm-tool',
      name: 'demo-rpm-tool',
      version: '3:4.5.6-2',
      vendor: 'Example Corp',
      description: 'Demo rpm for tests',
      warnings: [],
    });
    expect(meta.architecture).toBeUndefined();
    expect(meta.dependencies).toEqual(expect.arrayContaining(['bash', 'curl']));
    expect(meta.dependencies!.some((d) => d.startsWith('rpmlib('))).toBe(false);
  });

  it('reads an x86_64 rpm', async () => {
    const meta = await readPackageMetadata(buildRpm(dir, { target: 'x86_64' }), 'demo.rpm');
    expect(meta.architecture).toBe('x64');
    expect(meta.packageName).toBe('demo-rpm-tool');
  });
});
