import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { installerTypes } from '@opsconductor/contracts/constants';
import { classifyExitCode, CommandTemplateError, defaultCommands, quoteSh, renderCommand } from '../src/index.ts';

const PRODUCT = '{23170F69-40C1-2702-2407-000001000000}';

describe('defaultCommands', () => {
  it('msi: msiexec quiet with a verbose log, uninstall by product code, 3010/1641 mean reboot', () => {
    expect(defaultCommands('msi', { productCode: PRODUCT })).toEqual({
      install: 'msiexec /i {installer} /qn /norestart /l*v {log}',
      uninstall: 'msiexec /x {productCode} /qn /norestart /l*v {log}',
      shell: 'cmd',
      successExitCodes: [0],
      rebootExitCodes: [3010, 1641],
    });
    expect(defaultCommands('msi')?.uninstall).toBe('msiexec /x {installer} /qn /norestart /l*v {log}');
  });

  it('exe by framework; no guess for an unknown one', () => {
    expect(defaultCommands('exe', { installerFramework: 'inno' })?.install).toBe(
      '{installer} /VERYSILENT /SUPPRESSMSGBOXES /NORESTART /SP- /LOG={log}',
    );
    expect(defaultCommands('exe', { installerFramework: 'nsis' })?.install).toBe('{installer} /S');
    expect(defaultCommands('exe', { installerFramework: 'burn' })).toMatchObject({
      install: '{installer} /quiet /norestart /log {log}',
      uninstall: '{installer} /uninstall /quiet /norestart /log {log}',
    });
    expect(defaultCommands('exe')).toBeNull();
    expect(defaultCommands('archive')).toBeNull();
  });

  it('package managers install by name, non-interactively', () => {
    expect(defaultCommands('apt')?.install).toBe(
      'DEBIAN_FRONTEND=noninteractive apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold {packageName}',
    );
    expect(defaultCommands('dnf')).toMatchObject({ install: 'dnf install -y {packageName}', uninstall: 'dnf remove -y {packageName}' });
    expect(defaultCommands('pacman')?.install).toBe('pacman -S --noconfirm --needed {packageName}');
    expect(defaultCommands('winget')?.install).toBe(
      'winget install --id {packageName} --exact --silent --accept-package-agreements --accept-source-agreements',
    );
    expect(defaultCommands('chocolatey')?.install).toBe('choco install {packageName} -y --no-progress');
    expect(defaultCommands('deb', { packageName: 'nginx' })?.uninstall).toBe('dpkg -r {packageName}');
    expect(defaultCommands('deb')?.uninstall).toBeNull();
    expect(defaultCommands('rpm', { packageName: 'nginx' })).toMatchObject({
      install: 'rpm -U {installer}',
      uninstall: 'rpm -e {packageName}',
    });
  });

  it('every default renders with the values its type provides', () => {
    const values = { installer: '/var/cache/oc/x', log: '/var/log/oc/x.log', productCode: PRODUCT, packageName: 'Vendor.App' };
    for (const type of installerTypes) {
      const d = defaultCommands(type, { productCode: PRODUCT, packageName: 'Vendor.App', installerFramework: 'burn' });
      if (!d) continue;
      expect(() => renderCommand(d.install, values, d.shell), type).not.toThrow();
      if (d.uninstall) expect(() => renderCommand(d.uninstall ?? '', values, d.shell), type).not.toThrow();
    }
  });
});

describe('renderCommand', () => {
  it('quotes for sh so the shell sees the path as one word, whatever it holds', () => {
    const hostile = '/tmp/it\'s $(touch pwned) `x` "q" ; rm -rf ~ \n next';
    const line = renderCommand('printf %s {installer}', { installer: hostile }, 'sh');
    expect(execFileSync('sh', ['-c', line], { encoding: 'utf8' })).toBe(hostile);
  });

  it('quotes for cmd and refuses what cmd cannot quote', () => {
    expect(
      renderCommand('msiexec /i {installer} /l*v {log}', { installer: 'C:\\Cache\\My App.msi', log: 'C:\\Logs\\a b.log' }, 'cmd'),
    ).toBe('msiexec /i "C:\\Cache\\My App.msi" /l*v "C:\\Logs\\a b.log"');
    expect(renderCommand('x {installer}', { installer: 'C:\\dir\\' }, 'cmd')).toBe('x "C:\\dir\\\\"');
    for (const bad of ['C:\\a"b', 'C:\\%PATH%', 'C:\\a^b', 'C:\\a\nb', 'C:\\a!b']) {
      expect(() => renderCommand('x {installer}', { installer: bad }, 'cmd'), bad).toThrow(CommandTemplateError);
    }
    expect(renderCommand('x {installer}', { installer: 'C:\\a & b | c' }, 'cmd')).toBe('x "C:\\a & b | c"');
  });

  it('quotes for PowerShell, doubling single quotes including typographic ones', () => {
    expect(renderCommand('Add-AppxPackage -Path {installer}', { installer: "C:\\O'Brien\\a.msix" }, 'powershell')).toBe(
      "Add-AppxPackage -Path 'C:\\O''Brien\\a.msix'",
    );
    expect(renderCommand('x {installer}', { installer: 'a\u2019b' }, 'powershell')).toBe("x 'a\u2019\u2019b'");
  });

  it('validates product codes and package names against the contracts patterns', () => {
    expect(renderCommand('msiexec /x {productCode}', { productCode: PRODUCT }, 'cmd')).toBe(`msiexec /x "${PRODUCT}"`);
    expect(() => renderCommand('msiexec /x {productCode}', { productCode: '{not-a-guid}' }, 'cmd')).toThrow(/not an MSI product code/);
    expect(renderCommand('apt-get install -y {packageName}', { packageName: 'libc6' }, 'sh')).toBe("apt-get install -y 'libc6'");
    expect(() => renderCommand('apt-get install -y {packageName}', { packageName: 'nginx;reboot' }, 'sh')).toThrow(/not a package name/);
    expect(() => renderCommand('apt-get install -y {packageName}', { packageName: '-oAPT::x=y' }, 'sh')).toThrow(/not a package name/);
  });

  it('rejects unknown and unfilled placeholders, leaves literal braces alone', () => {
    expect(() => renderCommand('x {installr}', { installer: 'a' }, 'sh')).toThrow(/unknown placeholder \{installr\}/);
    expect(() => renderCommand('x {log}', {}, 'sh')).toThrow(/no value for \{log\}/);
    expect(renderCommand(`msiexec /x ${PRODUCT} /qn`, {}, 'cmd')).toBe(`msiexec /x ${PRODUCT} /qn`);
    expect(renderCommand('Get-Item {installer} | % { $_.Length }', { installer: 'a' }, 'powershell')).toBe(
      "Get-Item 'a' | % { $_.Length }",
    );
  });

  it('substitutes every occurrence, and values are not re-scanned for placeholders', () => {
    expect(renderCommand('{installer} {installer}', { installer: '{log}' }, 'sh')).toBe("'{log}' '{log}'");
    expect(quoteSh("a'b")).toBe("'a'\\''b'");
  });
});

describe('classifyExitCode', () => {
  it('reads success, reboot and failure', () => {
    expect(classifyExitCode(0, [0], [3010, 1641])).toBe('success');
    expect(classifyExitCode(3010, [0], [3010, 1641])).toBe('success_reboot');
    expect(classifyExitCode(1603, [0], [3010, 1641])).toBe('failure');
    expect(classifyExitCode(3010, [0, 3010], [3010])).toBe('success_reboot');
  });

  it('accepts the signed and unsigned reading of one Windows exit code', () => {
    expect(0x80070643).toBe(2147944003);
    expect(classifyExitCode(-2147023293, [0x80070643], [])).toBe('success');
    expect(classifyExitCode(0x80070643, [-2147023293], [])).toBe('success');
    expect(classifyExitCode(-1, [4294967295], [])).toBe('success');
    expect(classifyExitCode(-2147023293, [0], [])).toBe('failure');
    expect(classifyExitCode(2 ** 32, [0], [])).toBe('failure'); // no wrap-around beyond 32 bits
  });
});
