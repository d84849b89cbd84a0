import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
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

/** An MSI built by wixl from a one-file .wxs; `arch` is wixl's -a. */
export function buildMsi(dir: string, arch: 'x86' | 'x64'): string {
  const root = join(dir, `msi-${arch}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'hello.txt'), 'hello\n');
  const programFiles = arch === 'x64' ? 'ProgramFiles64Folder' : 'ProgramFilesFolder';
  writeFileSync(
    join(root, 'demo.wxs'),
    `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="12345678-1234-1234-1234-123456789abc" Name="Demo Agent Tool" Language="1033" Version="2.3.4"
           Manufacturer="Example Corp" UpgradeCode="87654321-4321-4321-4321-cba987654321">
    <Package InstallerVersion="200" Compressed="yes" Comments="Demo MSI"/>
    <Media Id="1" Cabinet="demo.cab" EmbedCab="yes"/>
    <Property Id="ARPCOMMENTS" Value="Installs the demo tool"/>
    <Directory Id="TARGETDIR" Name="SourceDir"><Directory Id="${programFiles}"><Directory Id="INSTALLDIR" Name="Demo">
      <Component Id="Main" Guid="11111111-2222-3333-4444-555555555555"${arch === 'x64' ? ' Win64="yes"' : ''}><File Id="hello" Source="hello.txt"/></Component>
    </Directory></Directory></Directory>
    <Feature Id="Complete" Level="1"><ComponentRef Id="Main"/></Feature>
  </Product>
</Wix>
`,
  );
  const out = join(root, 'demo.msi');
  execFileSync('wixl', ['-a', arch, '-o', out, join(root, 'demo.wxs')], { cwd: root, stdio: 'pipe' });
  return out;
}

/** An .msix-shaped zip: an AppxManifest.xml (deflated by the zip CLI) and one payload file. */
export function buildMsix(dir: string): string {
  const root = join(dir, 'msix');
  mkdirSync(root, { recursive: true });
  writeFileSync(
    join(root, 'AppxManifest.xml'),
    `<?xml version="1.0" encoding="utf-8"?>
<Package xmlns="http://schemas.microsoft.com/appx/manifest/foundation/windows10">
  <Identity Name="ExampleCorp.DemoTool" Publisher="CN=Example Corp, O=Example Corp, C=US" Version="1.2.3.0" ProcessorArchitecture="x64" />
  <Properties>
    <DisplayName>Demo Tool &amp; Friends</DisplayName>
    <PublisherDisplayName>Example Corp</PublisherDisplayName>
    <Logo>logo.png</Logo>
  </Properties>
</Package>
${'<!-- padding so that zip deflates the manifest -->\n'.repeat(20)}`,
  );
  writeFileSync(join(root, 'payload.txt'), 'payload');
  const out = join(dir, 'demo.msix');
  execFileSync('zip', ['-q', '-X', out, 'payload.txt', 'AppxManifest.xml'], { cwd: root });
  return out;
}

export const PE_STRINGS = {
  CompanyName: 'Example Corp',
  FileDescription: 'Demo tool',
  FileVersion: '1.2.3.4',
  ProductName: 'Demo Agent Tool',
  ProductVersion: '5.6.7.8',
  OriginalFilename: 'demo-setup.exe',
  LegalCopyright: '(c) Example Corp',
};

/**
 * A PE image linked by LLVM's lld-link from a VERSIONINFO (and optionally a manifest) compiled by llvm-rc, plus an
 * optional section of its own (llvm-mc) and bytes appended as an overlay, as self-extracting installers carry.
 * A DLL without code: the headers, sections and resources an installer .exe has, without a C toolchain.
 */
export function buildPe(
  dir: string,
  opts: {
    machine: 'x86' | 'x64' | 'arm64';
    name?: string;
    strings?: Record<string, string>;
    language?: string;
    manifest?: string;
    section?: string;
    overlay?: Buffer;
  },
): string {
  const root = join(dir, `pe-${opts.name ?? opts.machine}`);
  mkdirSync(root, { recursive: true });
  const values = Object.entries(opts.strings ?? PE_STRINGS)
    .map(([key, value]) => `      VALUE "${key}", "${value}"`)
    .join('\n');
  const language = opts.language ?? '040904B0';
  writeFileSync(
    join(root, 'version.rc'),
    `1 VERSIONINFO
FILEVERSION 1,2,3,4
PRODUCTVERSION 5,6,7,8
FILEOS 0x40004
FILETYPE 1
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "${language}"
    BEGIN
${values}
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x${language.slice(0, 4)}, 0x${language.slice(4)}
  END
END
${opts.manifest ? '1 24 "app.manifest"\n' : ''}`,
  );
  if (opts.manifest) writeFileSync(join(root, 'app.manifest'), opts.manifest);
  execFileSync('llvm-rc', ['-no-cpp', '/C', '65001', '/fo', join(root, 'version.res'), join(root, 'version.rc')], { stdio: 'pipe' });
  const inputs = [join(root, 'version.res')];
  if (opts.section) {
    const triple = { x86: 'i686-pc-windows-msvc', x64: 'x86_64-pc-windows-msvc', arm64: 'aarch64-pc-windows-msvc' }[opts.machine];
    writeFileSync(join(root, 'section.s'), `.section ${opts.section},"dr"\n.long 0x12345678\n`);
    execFileSync('llvm-mc', ['-filetype=obj', `-triple=${triple}`, '-o', join(root, 'section.obj'), join(root, 'section.s')], {
      stdio: 'pipe',
    });
    inputs.push(join(root, 'section.obj'));
  }
  const out = join(root, 'setup.exe');
  execFileSync(
    'lld-link',
    [`/machine:${opts.machine}`, '/noentry', '/dll', ...(opts.machine === 'x86' ? ['/safeseh:no'] : []), `/out:${out}`, ...inputs],
    {
      stdio: 'pipe',
    },
  );
  if (opts.overlay) writeFileSync(out, Buffer.concat([readFileSync(out), opts.overlay]));
  return out;
}

/** A real NSIS installer, compiled by makensis (its stub carries the manifest, the version resource and the overlay). */
export function buildNsis(dir: string, opts: { versionInfo: boolean }): string {
  const root = join(dir, `nsis-${opts.versionInfo ? 'versioned' : 'bare'}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'payload.txt'), 'payload\n'.repeat(100));
  const versionInfo = [
    'VIProductVersion "3.4.5.6"',
    'VIAddVersionKey "ProductName" "Demo NSIS Tool"',
    'VIAddVersionKey "CompanyName" "Example Corp"',
    'VIAddVersionKey "FileDescription" "Demo NSIS installer"',
    'VIAddVersionKey "FileVersion" "3.4.5.6"',
    'VIAddVersionKey "ProductVersion" "3.4.5"',
  ];
  writeFileSync(
    join(root, 'demo.nsi'),
    [
      'Unicode true',
      'Name "Demo NSIS Tool"',
      'OutFile "setup.exe"',
      'RequestExecutionLevel user',
      'InstallDir "$TEMP\\demo"',
      ...(opts.versionInfo ? versionInfo : []),
      'Section',
      '  SetOutPath "$INSTDIR"',
      '  File "payload.txt"',
      'SectionEnd',
      '',
    ].join('\n'),
  );
  execFileSync('makensis', ['-V1', join(root, 'demo.nsi')], { cwd: root, stdio: 'pipe' });
  return join(root, 'setup.exe');
}
