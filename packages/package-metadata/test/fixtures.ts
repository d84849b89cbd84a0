import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const scratch = () => mkdtempSync(join(tmpdir(), 'pkgmeta-'));

/** A .deb built by dpkg-deb itself; `compression` undefined = dpkg-deb's default. */
export function buildDeb(dir: string, opts: { compression?: 'gzip' | 'xz' | 'zstd' | 'none'; architecture: string }): string {
  const root = join(dir, `deb-${opts.compression ?? 'default'}-${opts.architecture}`);
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, 'usr', 'share', 'demo'), { recursive: true });
  writeFileSync(join(root, 'usr', 'share', 'demo', 'hello.txt'), 'hello\n');
  writeFileSync(
    join(root, 'DEBIAN', 'control'),
    [
      'Package: demo-agent-tool',
      'Version: 1:2.3.4-1',
      `Architecture: ${opts.architecture}`,
      'Maintainer: Example Corp <ops@example.com>',
      'Depends: libc6 (>= 2.34), curl | wget',
      'Description: Demo tool for tests',
      ' A longer description that is not the summary.',
      '',
    ].join('\n'),
  );
  chmodSync(join(root, 'DEBIAN'), 0o755);
  const out = `${root}.deb`;
  const args = ['--root-owner-group', ...(opts.compression ? [`-Z${opts.compression}`] : []), '--build', root, out];
  execFileSync('dpkg-deb', args, { stdio: 'pipe' });
  return out;
}

/** A binary .rpm built by rpmbuild from a minimal spec. */
export function buildRpm(dir: string, opts: { buildArch?: 'noarch'; target?: string }): string {
  const top = join(dir, `rpm-${opts.buildArch ?? opts.target}`);
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  const spec = join(top, 'SPECS', 'demo.spec');
  writeFileSync(
    spec,
    [
      'Name: demo-rpm-tool',
      'Version: 4.5.6',
      'Release: 2',
      'Epoch: 3',
      'Summary: Demo rpm for tests',
      'License: MIT',
      'Vendor: Example Corp',
      'Requires: bash, curl >= 7',
      ...(opts.buildArch ? [`BuildArch: ${opts.buildArch}`] : []),
      '%description',
      'Demo.',
      '%install',
      'mkdir -p %{buildroot}/usr/share/demo && echo hi > %{buildroot}/usr/share/demo/hi.txt',
      '%files',
      '/usr/share/demo/hi.txt',
      '',
    ].join('\n'),
  );
  execFileSync('rpmbuild', ['-bb', '--define', `_topdir ${top}`, ...(opts.target ? ['--target', opts.target] : []), spec], {
    stdio: 'pipe',
  });
  const rpmsDir = join(top, 'RPMS');
  const archDir = readdirSync(rpmsDir)[0]!;
  return join(rpmsDir, archDir, readdirSync(join(rpmsDir, archDir))[0]!);
}
