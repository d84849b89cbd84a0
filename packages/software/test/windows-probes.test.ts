/**
 * The Windows probes cannot run here: their parsers are tested on recorded reg.exe / sc.exe output
 * (test/fixtures/windows, CRLF as Windows prints it), and the probes themselves on a fake runner that answers
 * with those recordings and records the argument arrays it was given.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  msiVersionFromUninstallKey,
  packGuid,
  parseFileVersionOutput,
  parseRegData,
  parseRegQuery,
  parseScQuery,
  productCodesOfUpgradeKey,
  queriedValue,
  regQueryOutcome,
  unpackGuid,
  windowsProbes,
  type RunResult,
  type Runner,
} from '../src/probes/index.ts';
import { evaluateDetection } from '../src/index.ts';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/windows/${name}`, import.meta.url), 'utf8');
const ok = (stdout: string): RunResult => ({ exitCode: 0, signal: null, stdout, stderr: '', timedOut: false });
const failed = (exitCode: number, stderr: string, stdout = ''): RunResult => ({ exitCode, signal: null, stdout, stderr, timedOut: false });
const single = (name: string) => queriedValue(parseRegQuery(fixture(name)), false);

describe('packed GUIDs', () => {
  it.each([
    // Office 2010 Professional Plus: the pair Microsoft's own documentation and every MSI tool show.
    ['{90140000-0011-0000-0000-0000000FF1CE}', '00004109110000000000000000F01FEC'],
    ['{23170F69-40C1-2702-2407-000001000000}', '96F071321C0420724270000010000000'],
    ['{00000000-0000-0000-0000-000000000001}', '00000000000000000000000000000010'],
  ])('%s ↔ %s', (guid, packed) => {
    expect(packGuid(guid)).toBe(packed);
    expect(unpackGuid(packed)).toBe(guid);
    expect(packGuid(guid.toLowerCase())).toBe(packed);
  });

  it('round-trips any GUID', () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9A-F]{${n}}$`));
    fc.assert(
      fc.property(fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)), (parts) => {
        const guid = `{${parts.join('-')}}`;
        expect(unpackGuid(packGuid(guid))).toBe(guid);
      }),
    );
  });

  it('refuses what is not a GUID', () => {
    expect(() => packGuid('90140000-0011-0000-0000-0000000FF1CE')).toThrow();
    expect(() => unpackGuid('00004109')).toThrow();
  });
});

describe('reg query output', () => {
  it('parses a key with values and subkeys', () => {
    expect(parseRegQuery(fixture('reg-key-7zip.txt'))).toEqual([
      {
        path: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\7-Zip',
        values: [
          { name: 'Path64', rawType: 'REG_SZ', rawData: 'C:\\Program Files\\7-Zip\\' },
          { name: 'Path', rawType: 'REG_SZ', rawData: 'C:\\Program Files\\7-Zip\\' },
        ],
        subkeys: ['FM', 'Options'],
      },
    ]);
  });

  it.each([
    ['reg-value-dword-ndp-release.txt', { type: 'REG_DWORD', data: 533320 }],
    ['reg-value-dword-max.txt', { type: 'REG_DWORD', data: 4294967295 }],
    ['reg-value-qword.txt', { type: 'REG_QWORD', data: 0x1d9a3b2c4e5f600n }],
    ['reg-value-multi-sz.txt', { type: 'REG_MULTI_SZ', data: ['SamSS', 'Srv2'] }],
    [
      'reg-value-multi-sz-pending-renames.txt',
      { type: 'REG_MULTI_SZ', data: ['\\??\\C:\\Windows\\Temp\\a.tmp', '', '\\??\\C:\\Windows\\Temp\\b.tmp'] },
    ],
    ['reg-value-binary.txt', { type: 'REG_BINARY', data: new Uint8Array([0xa4, 0, 0, 0, 3, 0, 0xff]) }],
    ['reg-value-expand-sz.txt', { type: 'REG_EXPAND_SZ', data: '%ProgramFiles%\\Vendor\\App' }],
    ['reg-value-spaces.txt', { type: 'REG_SZ', data: 'Vendor  App    Suite (x64)' }],
    ['reg-value-empty-sz.txt', { type: 'REG_SZ', data: '' }],
    ['reg-value-none.txt', { type: 'other', rawType: 'REG_NONE', data: '' }],
  ])('%s', (name, value) => {
    expect(single(name)).toEqual(value);
  });

  it('keeps a value name with spaces whole', () => {
    expect(parseRegQuery(fixture('reg-value-spaces.txt'))[0]?.values[0]?.name).toBe('Display Name');
  });

  it('reads the default value by position (its name is localized) and an unset one as absent', () => {
    expect(queriedValue(parseRegQuery(fixture('reg-default-german.txt')), true)).toEqual({
      type: 'REG_SZ',
      data: 'C:\\Program Files\\App\\app.exe',
    });
    expect(queriedValue(parseRegQuery(fixture('reg-default-not-set.txt')), true)).toBeUndefined();
  });

  it('refuses malformed data rather than guessing', () => {
    expect(() => parseRegData('REG_DWORD', '26')).toThrow(/unexpected REG_DWORD/);
    expect(() => parseRegData('REG_BINARY', 'ABC')).toThrow(/unexpected REG_BINARY/);
  });

  it('tells "not found" from failures, in English and German', () => {
    expect(regQueryOutcome(failed(1, fixture('reg-error-not-found.txt')))).toEqual({ found: false });
    expect(regQueryOutcome(failed(1, fixture('reg-error-not-found-german.txt')))).toEqual({ found: false });
    expect(() => regQueryOutcome(failed(1, fixture('reg-error-access-denied.txt')))).toThrow(/Access is denied/);
    expect(() => regQueryOutcome(failed(1, fixture('reg-error-access-denied-german.txt')))).toThrow(/Zugriff verweigert/);
    expect(() => regQueryOutcome(failed(1, fixture('reg-error-invalid-syntax.txt')))).toThrow(/Invalid syntax/);
    expect(() => regQueryOutcome(failed(2, 'ERROR: something else'))).toThrow(/exit 2/);
    expect(() => regQueryOutcome({ ...ok(''), exitCode: null, timedOut: true })).toThrow(/timed out/);
  });

  it('reads MSI versions from Uninstall keys: DisplayVersion, else the Version DWORD', () => {
    const [sevenZip] = parseRegQuery(fixture('uninstall-7zip-msi.txt'));
    const [office] = parseRegQuery(fixture('uninstall-no-display-version.txt'));
    expect(sevenZip && msiVersionFromUninstallKey(sevenZip)).toBe('24.07.00.0');
    // 0x0e0011d6: major 14, minor 0, build 4566
    expect(office && msiVersionFromUninstallKey(office)).toBe('14.0.4566');
  });

  it('lists the product codes of an upgrade code', () => {
    const [key] = parseRegQuery(fixture('upgrade-codes-7zip.txt'));
    expect(key && productCodesOfUpgradeKey(key)).toEqual([
      '{23170F69-40C1-2702-2407-000001000000}',
      '{90140000-0011-0000-0000-0000000FF1CE}',
    ]);
  });
});

describe('sc query output', () => {
  it.each([
    ['sc-running.txt', 0, { exists: true, running: true }],
    ['sc-stopped.txt', 0, { exists: true, running: false }],
    ['sc-running-german.txt', 0, { exists: true, running: true }],
    ['sc-not-exist.txt', 1060, { exists: false }],
  ])('%s', (name, exitCode, want) => {
    expect(parseScQuery({ ...ok(fixture(name)), exitCode })).toEqual(want);
  });

  it('reports access denied as a failure', () => {
    expect(() => parseScQuery({ ...ok(fixture('sc-access-denied.txt')), exitCode: 5 })).toThrow(/OpenService FAILED 5/);
  });
});

describe('file version output', () => {
  it('reads a.b.c.d, nothing as no version, and refuses anything else', () => {
    expect(parseFileVersionOutput(ok('10.0.19041.3636\r\n'))).toBe('10.0.19041.3636');
    expect(parseFileVersionOutput(ok('\r\n'))).toBeUndefined();
    expect(() => parseFileVersionOutput(ok('Get-Item : Cannot find path'))).toThrow();
    expect(() => parseFileVersionOutput(failed(1, 'Get-Item : Cannot find path'))).toThrow(/Cannot find path/);
  });
});

/** A fake runner: answers by matching the argument list, records every call. */
function recordedRunner(answers: [(file: string, args: readonly string[]) => boolean, RunResult][]) {
  const calls: { file: string; args: readonly string[]; env?: NodeJS.ProcessEnv }[] = [];
  const run: Runner = async (file, args, options) => {
    calls.push({ file, args, env: options?.env });
    const hit = answers.find(([match]) => match(file, args));
    return hit ? hit[1] : failed(1, fixture('reg-error-not-found.txt'));
  };
  return { run, calls };
}

const env = { SystemRoot: 'C:\\Windows', ProgramFiles: 'C:\\Program Files' };
const REG = 'C:\\Windows\\System32\\reg.exe';
const has =
  (...parts: string[]) =>
  (_f: string, args: readonly string[]) =>
    parts.every((p) => args.includes(p));

describe('windowsProbes (on recorded output)', () => {
  const SEVEN_ZIP = '{23170F69-40C1-2702-2407-000001000000}';
  const OFFICE = '{90140000-0011-0000-0000-0000000FF1CE}';

  it('finds an MSI product in the 64-bit view, else the 32-bit one', async () => {
    const { run, calls } = recordedRunner([
      [
        has(`HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\${OFFICE}`, '/reg:32'),
        ok(fixture('uninstall-no-display-version.txt')),
      ],
    ]);
    const probes = windowsProbes({ run, env });
    expect(await probes.msiProduct(OFFICE)).toEqual({ installed: true, version: '14.0.4566' });
    expect(calls.map((c) => [c.file, ...c.args])).toEqual([
      [REG, 'query', `HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\${OFFICE}`, '/reg:64'],
      [REG, 'query', `HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\${OFFICE}`, '/reg:32'],
    ]);
    expect(await probes.msiProduct(SEVEN_ZIP)).toEqual({ installed: false });
  });

  it('lists an upgrade code’s products with their versions', async () => {
    const { run, calls } = recordedRunner([
      [has('HKLM\\SOFTWARE\\Classes\\Installer\\UpgradeCodes\\96F071321C0420720000000040000000'), ok(fixture('upgrade-codes-7zip.txt'))],
      [
        has(`HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\${SEVEN_ZIP}`, '/reg:64'),
        ok(fixture('uninstall-7zip-msi.txt')),
      ],
    ]);
    const probes = windowsProbes({ run, env });
    expect(await probes.msiProductsByUpgradeCode('{23170F69-40C1-2702-0000-000004000000}')).toEqual([
      { productCode: SEVEN_ZIP, version: '24.07.00.0' },
      { productCode: OFFICE }, // listed by Windows Installer, but no Uninstall key to read a version from
    ]);
    expect(calls[0]?.args).toEqual([
      'query',
      'HKLM\\SOFTWARE\\Classes\\Installer\\UpgradeCodes\\96F071321C0420720000000040000000',
      '/reg:64',
    ]);
  });

  it('reads a registry value in the asked view, and tells a missing value from a missing key', async () => {
    const { run, calls } = recordedRunner([
      [has('/v', 'Release', '/reg:32'), ok(fixture('reg-value-dword-ndp-release.txt'))],
      [(_f, a) => a.length === 3 && a[1] === 'HKLM\\SOFTWARE\\Vendor\\App', ok(fixture('reg-value-binary.txt'))],
    ]);
    const probes = windowsProbes({ run, env });
    const key = 'SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full';
    expect(await probes.registryValue('HKLM', key, 'Release', '32')).toEqual({
      keyExists: true,
      value: { type: 'REG_DWORD', data: 533320 },
    });
    expect(calls[0]?.args).toEqual(['query', `HKLM\\${key}`, '/v', 'Release', '/reg:32']);
    expect(await probes.registryValue('HKLM', 'SOFTWARE\\Vendor\\App', 'Missing', '64')).toEqual({ keyExists: true });
    expect(await probes.registryValue('HKLM', 'SOFTWARE\\Nope', 'Missing', '64')).toEqual({ keyExists: false });
    expect(await probes.registryValue('HKLM', 'SOFTWARE\\Vendor\\App', undefined, '64')).toEqual({ keyExists: true });
  });

  it('queries the default value with /ve', async () => {
    const { run, calls } = recordedRunner([[has('/ve'), ok(fixture('reg-default-german.txt'))]]);
    const r = await windowsProbes({ run, env }).registryValue('HKLM', 'SOFTWARE\\X', '', '64');
    expect(r.value).toEqual({ type: 'REG_SZ', data: 'C:\\Program Files\\App\\app.exe' });
    expect(calls[0]?.args).toEqual(['query', 'HKLM\\SOFTWARE\\X', '/ve', '/reg:64']);
  });

  it('passes an access-denied error on instead of reading it as absent', async () => {
    const { run } = recordedRunner([[() => true, failed(1, fixture('reg-error-access-denied.txt'))]]);
    await expect(windowsProbes({ run, env }).registryValue('HKLM', 'SECURITY\\X', 'Y', '64')).rejects.toThrow(/Access is denied/);
  });

  it('asks sc.exe about a service by name as one argument', async () => {
    const { run, calls } = recordedRunner([
      [has('wuauserv'), ok(fixture('sc-running.txt'))],
      [has('No Such Service'), failed(1060, '', fixture('sc-not-exist.txt'))],
    ]);
    const probes = windowsProbes({ run, env });
    expect(await probes.service('wuauserv')).toEqual({ exists: true, running: true });
    expect(await probes.service('No Such Service')).toEqual({ exists: false });
    expect(calls[1]).toMatchObject({ file: 'C:\\Windows\\System32\\sc.exe', args: ['query', 'No Such Service'] });
    await expect(probes.service('x type= kernel')).rejects.toThrow(/=/);
  });

  it('runs a whole detection on recorded output', async () => {
    const { run } = recordedRunner([
      [
        has(`HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\${SEVEN_ZIP}`, '/reg:64'),
        ok(fixture('uninstall-7zip-msi.txt')),
      ],
      [has('/v', 'Path64'), ok(fixture('reg-key-7zip.txt'))],
    ]);
    const r = await evaluateDetection(
      {
        all: [
          { type: 'msi_product_code', productCode: SEVEN_ZIP, version: [{ op: 'gte', value: '24.7' }] },
          {
            type: 'registry',
            hive: 'HKLM',
            key: 'SOFTWARE\\7-Zip',
            valueName: 'Path64',
            view: '64',
            check: 'equals',
            value: 'C:\\Program Files\\7-Zip\\',
          },
        ],
      },
      windowsProbes({ run, env }),
    );
    expect(r).toMatchObject({ detected: true, trace: [{ matched: true }, { matched: true }] });
  });
});
