import { describe, expect, it } from 'vitest';
import { detection as detectionSchema, type Detection, type DetectionRuleInput } from '@opsconductor/contracts/software';
import {
  evaluateDetection,
  expandWindowsPath,
  ProbeError,
  TRACE_TEXT_MAX,
  type DetectionProbes,
  type FileProbeResult,
  type RegistryValue,
} from '../src/index.ts';

/** Probes that fail loudly when a test did not expect them to be asked, and count the calls they get. */
function fakeProbes(impl: Partial<DetectionProbes>): DetectionProbes & { calls: string[] } {
  const calls: string[] = [];
  const handler = (name: keyof DetectionProbes) =>
    (async (...args: unknown[]) => {
      calls.push(`${name}(${args.map((a) => JSON.stringify(a)).join(', ')})`);
      const fn = impl[name] as ((...a: unknown[]) => Promise<unknown>) | undefined;
      if (!fn) throw new Error(`unexpected probe ${name}`);
      return fn(...args);
    }) as never;
  return {
    calls,
    msiProduct: handler('msiProduct'),
    msiProductsByUpgradeCode: handler('msiProductsByUpgradeCode'),
    registryValue: handler('registryValue'),
    file: handler('file'),
    service: handler('service'),
    linuxPackage: handler('linuxPackage'),
    runScript: handler('runScript'),
  };
}

/** Through the contracts schema, so defaults (view, timeoutSeconds) apply as they do for real payloads. */
const parse = (d: DetectionRuleInput | { all: unknown[] } | { any: unknown[] }): Detection => detectionSchema.parse(d);

const PRODUCT = '{23170F69-40C1-2702-2407-000001000000}';
const OTHER = '{90140000-0011-0000-0000-0000000FF1CE}';
const pkg = (name: string, version?: DetectionRuleInput & object) =>
  ({ type: 'linux_package', manager: 'dpkg', name, ...version }) as const;

describe('evaluateDetection: combinators', () => {
  const installed = { installed: true, version: '1.0' };

  it('all = AND, stopping at the first false', async () => {
    const probes = fakeProbes({ linuxPackage: async (_m, name) => (name === 'b' ? { installed: false } : installed) });
    const r = await evaluateDetection(parse({ all: [pkg('a'), pkg('b'), pkg('c')] }), probes);
    expect(r.detected).toBe(false);
    expect(probes.calls).toHaveLength(2); // c never asked
    expect(r.trace.map((t) => t.matched)).toEqual([true, false]);
  });

  it('any = OR, stopping at the first true', async () => {
    const probes = fakeProbes({ linuxPackage: async (_m, name) => (name === 'b' ? installed : { installed: false }) });
    const r = await evaluateDetection(parse({ any: [pkg('a'), pkg('b'), pkg('c')] }), probes);
    expect(r.detected).toBe(true);
    expect(probes.calls).toHaveLength(2);
  });

  it('all of true rules is true; any of false rules is false', async () => {
    const yes = fakeProbes({ linuxPackage: async () => installed });
    expect((await evaluateDetection(parse({ all: [pkg('a'), pkg('b')] }), yes)).detected).toBe(true);
    const no = fakeProbes({ linuxPackage: async () => ({ installed: false }) });
    expect((await evaluateDetection(parse({ any: [pkg('a'), pkg('b')] }), no)).detected).toBe(false);
  });

  it('a probe error makes the result unknown with the reason, not false', async () => {
    const probes = fakeProbes({ linuxPackage: async () => Promise.reject(new ProbeError('dpkg-query exited with 2: database locked')) });
    const r = await evaluateDetection(parse(pkg('a')), probes);
    expect(r.detected).toBeNull();
    expect(r.reason).toContain('database locked');
    expect(r.trace[0]).toMatchObject({ matched: null });
  });

  it('an unknown decides only when nothing else does (Kleene logic)', async () => {
    const probes = fakeProbes({
      linuxPackage: async (_m, name) => {
        if (name === 'err') throw new Error('boom');
        return name === 'yes' ? installed : { installed: false };
      },
    });
    expect((await evaluateDetection(parse({ all: [pkg('err'), pkg('no')] }), probes)).detected).toBe(false);
    expect((await evaluateDetection(parse({ all: [pkg('err'), pkg('yes')] }), probes)).detected).toBeNull();
    expect((await evaluateDetection(parse({ any: [pkg('err'), pkg('yes')] }), probes)).detected).toBe(true);
    const unknownAny = await evaluateDetection(parse({ any: [pkg('err'), pkg('no')] }), probes);
    expect(unknownAny.detected).toBeNull();
    expect(unknownAny.reason).toMatch(/^dpkg package err: probe failed: boom/);
  });

  it('nests', async () => {
    const probes = fakeProbes({ linuxPackage: async (_m, name) => (name === 'a' || name === 'd' ? installed : { installed: false }) });
    const tree = parse({ all: [pkg('a'), { any: [pkg('b'), { all: [pkg('c')] }, pkg('d')] }] });
    expect((await evaluateDetection(tree, probes)).detected).toBe(true);
  });

  it('bounds the trace', async () => {
    const probes = fakeProbes({ linuxPackage: async () => installed });
    const r = await evaluateDetection(parse({ all: Array.from({ length: 10 }, (_, i) => pkg(`p${i}`)) }), probes, { maxTraceEntries: 3 });
    expect(r.detected).toBe(true);
    expect(r.trace).toHaveLength(3);
    expect(r.traceTruncated).toBe(true);
    const long = await evaluateDetection(
      parse({ type: 'file', path: `/opt/${'x'.repeat(900)}`, check: 'exists' }),
      fakeProbes({ file: async () => ({ exists: true }) }),
    );
    expect(long.trace[0]?.rule.length).toBe(TRACE_TEXT_MAX);
    expect(long.traceTruncated).toBe(false);
  });

  it('throws when aborted instead of reporting unknown', async () => {
    const controller = new AbortController();
    const probes = fakeProbes({
      linuxPackage: async () => {
        controller.abort();
        throw new Error('killed');
      },
    });
    await expect(evaluateDetection(parse({ all: [pkg('a'), pkg('b')] }), probes, { signal: controller.signal })).rejects.toThrow();
  });
});

describe('evaluateDetection: rules', () => {
  it('MSI product code, with a version compared the MSI way (4th field ignored)', async () => {
    const probes = fakeProbes({
      msiProduct: async (code) => (code === PRODUCT ? { installed: true, version: '24.07.0.0' } : { installed: false }),
    });
    const rule = (version?: unknown) =>
      parse({ type: 'msi_product_code', productCode: PRODUCT, ...(version ? { version } : {}) } as DetectionRuleInput);
    expect((await evaluateDetection(rule(), probes)).detected).toBe(true);
    expect((await evaluateDetection(rule([{ op: 'eq', value: '24.7.0.9' }]), probes)).detected).toBe(true);
    expect((await evaluateDetection(rule([{ op: 'gte', value: '24.8' }]), probes)).detected).toBe(false);
    expect((await evaluateDetection(parse({ type: 'msi_product_code', productCode: OTHER }), probes)).detected).toBe(false);
  });

  it('MSI product without a readable version is unknown when a version is asked for', async () => {
    const probes = fakeProbes({ msiProduct: async () => ({ installed: true }) });
    const r = await evaluateDetection(
      parse({ type: 'msi_product_code', productCode: PRODUCT, version: [{ op: 'gte', value: '1' }] }),
      probes,
    );
    expect(r.detected).toBeNull();
  });

  it('MSI upgrade code: some product of the family in range', async () => {
    const probes = fakeProbes({
      msiProductsByUpgradeCode: async () => [
        { productCode: PRODUCT, version: '1.5.0' },
        { productCode: OTHER, version: '2.1.0' },
      ],
    });
    const rule = (value: string) => parse({ type: 'msi_upgrade_code', upgradeCode: OTHER, version: [{ op: 'gte', value }] });
    expect((await evaluateDetection(rule('2.0'), probes)).detected).toBe(true);
    expect((await evaluateDetection(rule('3.0'), probes)).detected).toBe(false);
    const none = fakeProbes({ msiProductsByUpgradeCode: async () => [] });
    expect((await evaluateDetection(parse({ type: 'msi_upgrade_code', upgradeCode: OTHER }), none)).detected).toBe(false);
  });

  describe('registry', () => {
    const reg = (value: RegistryValue | undefined, keyExists = true) =>
      fakeProbes({ registryValue: async () => ({ keyExists, ...(value ? { value } : {}) }) });
    const rule = (extra: object) =>
      parse({ type: 'registry', hive: 'HKLM', key: 'SOFTWARE\\Vendor\\App', valueName: 'Version', ...extra } as DetectionRuleInput);

    it('exists / not_exists of a value and of a key', async () => {
      expect((await evaluateDetection(rule({ check: 'exists' }), reg({ type: 'REG_SZ', data: '' }))).detected).toBe(true);
      expect((await evaluateDetection(rule({ check: 'exists' }), reg(undefined))).detected).toBe(false);
      expect((await evaluateDetection(rule({ check: 'not_exists' }), reg(undefined))).detected).toBe(true);
      expect((await evaluateDetection(rule({ check: 'not_exists' }), reg(undefined, false))).detected).toBe(true);
      const keyOnly = parse({ type: 'registry', hive: 'HKLM', key: 'SOFTWARE\\Vendor', check: 'exists' });
      expect((await evaluateDetection(keyOnly, reg(undefined, true))).detected).toBe(true);
      expect((await evaluateDetection(keyOnly, reg(undefined, false))).detected).toBe(false);
    });

    it('passes the view and asks for the default value when equals has no value name', async () => {
      const probes = reg({ type: 'REG_SZ', data: 'x' });
      await evaluateDetection(parse({ type: 'registry', hive: 'HKCU', key: 'K', view: '32', check: 'equals', value: 'x' }), probes);
      expect(probes.calls).toEqual(['registryValue("HKCU", "K", "", "32")']);
    });

    it('equals compares DWORD and QWORD as decimal', async () => {
      expect((await evaluateDetection(rule({ check: 'equals', value: '26' }), reg({ type: 'REG_DWORD', data: 26 }))).detected).toBe(true);
      expect((await evaluateDetection(rule({ check: 'equals', value: '0x1a' }), reg({ type: 'REG_DWORD', data: 26 }))).detected).toBe(
        false,
      );
      expect(
        (
          await evaluateDetection(
            rule({ check: 'equals', value: '18446744073709551615' }),
            reg({ type: 'REG_QWORD', data: 2n ** 64n - 1n }),
          )
        ).detected,
      ).toBe(true);
      expect((await evaluateDetection(rule({ check: 'equals', value: 'abc' }), reg({ type: 'REG_SZ', data: 'abc' }))).detected).toBe(true);
      expect((await evaluateDetection(rule({ check: 'equals', value: 'ABC' }), reg({ type: 'REG_SZ', data: 'abc' }))).detected).toBe(false);
      expect(
        (await evaluateDetection(rule({ check: 'equals', value: 'b' }), reg({ type: 'REG_MULTI_SZ', data: ['a', 'b'] }))).detected,
      ).toBe(true);
      expect(
        (await evaluateDetection(rule({ check: 'equals', value: '01ff' }), reg({ type: 'REG_BINARY', data: new Uint8Array([1, 255]) })))
          .detected,
      ).toBe(true);
    });

    it('version compares the data as a version', async () => {
      const v = (value: string) => rule({ check: 'version', version: [{ op: 'gte', value }] });
      expect((await evaluateDetection(v('1.10'), reg({ type: 'REG_SZ', data: '1.9.2' }))).detected).toBe(false);
      expect((await evaluateDetection(v('1.9'), reg({ type: 'REG_SZ', data: '1.9.2' }))).detected).toBe(true);
      expect((await evaluateDetection(v('5'), reg({ type: 'REG_DWORD', data: 7 }))).detected).toBe(true);
      expect((await evaluateDetection(v('1'), reg(undefined))).detected).toBe(false);
    });

    it('a check missing what it compares with is unknown, not false', async () => {
      const r = await evaluateDetection(rule({ check: 'equals' }), reg({ type: 'REG_SZ', data: 'x' }));
      expect(r.detected).toBeNull();
      expect(r.reason).toContain('needs a value');
    });
  });

  describe('file', () => {
    const file = (f: FileProbeResult) => fakeProbes({ file: async () => f });
    const SHA = 'a'.repeat(64);

    it('exists, not_exists, version, sha256', async () => {
      const present = file({ exists: true, version: async () => '10.0.19041.1', sha256: async () => SHA });
      const absent = file({ exists: false });
      expect((await evaluateDetection(parse({ type: 'file', path: 'C:\\x.exe', check: 'exists' }), present)).detected).toBe(true);
      expect((await evaluateDetection(parse({ type: 'file', path: 'C:\\x.exe', check: 'not_exists' }), absent)).detected).toBe(true);
      const version = parse({ type: 'file', path: 'C:\\x.exe', check: 'version', version: [{ op: 'gte', value: '10.0.19041' }] });
      expect((await evaluateDetection(version, present)).detected).toBe(true);
      expect((await evaluateDetection(version, absent)).detected).toBe(false);
      expect((await evaluateDetection(version, file({ exists: true, version: async () => undefined }))).detected).toBe(false);
      expect((await evaluateDetection(parse({ type: 'file', path: '/x', check: 'sha256', sha256: SHA }), present)).detected).toBe(true);
      expect(
        (await evaluateDetection(parse({ type: 'file', path: '/x', check: 'sha256', sha256: 'b'.repeat(64) }), present)).detected,
      ).toBe(false);
    });

    it('does not read a file the check does not need', async () => {
      let hashed = false;
      const probes = file({
        exists: true,
        sha256: async () => {
          hashed = true;
          return SHA;
        },
      });
      await evaluateDetection(parse({ type: 'file', path: '/x', check: 'exists' }), probes);
      expect(hashed).toBe(false);
    });
  });

  it('service states', async () => {
    const svc = (s: { exists: boolean; running?: boolean }) => fakeProbes({ service: async () => s });
    const rule = (state: 'exists' | 'running' | 'stopped') => parse({ type: 'service', name: 'sshd', state });
    expect((await evaluateDetection(rule('running'), svc({ exists: true, running: true }))).detected).toBe(true);
    expect((await evaluateDetection(rule('stopped'), svc({ exists: true, running: true }))).detected).toBe(false);
    expect((await evaluateDetection(rule('stopped'), svc({ exists: true, running: false }))).detected).toBe(true);
    expect((await evaluateDetection(rule('stopped'), svc({ exists: false }))).detected).toBe(false);
    expect((await evaluateDetection(rule('exists'), svc({ exists: true }))).detected).toBe(true);
    expect((await evaluateDetection(rule('running'), svc({ exists: true }))).detected).toBeNull();
  });

  it('Linux package versions compare the manager’s way', async () => {
    const probes = fakeProbes({ linuxPackage: async (manager) => ({ installed: true, version: manager === 'dpkg' ? '1.2' : '1.5b' }) });
    // dpkg: 1.2 < 1.2.0 (the generic order would call them equal)
    expect(
      (await evaluateDetection(parse({ ...pkg('a'), version: [{ op: 'lt', value: '1.2.0' }] } as DetectionRuleInput), probes)).detected,
    ).toBe(true);
    // pacman: 1.5b < 1.5; rpm: 1.5b > 1.5
    expect(
      (
        await evaluateDetection(
          parse({ ...pkg('a'), manager: 'pacman', version: [{ op: 'lt', value: '1.5' }] } as DetectionRuleInput),
          probes,
        )
      ).detected,
    ).toBe(true);
    expect(
      (await evaluateDetection(parse({ ...pkg('a'), manager: 'rpm', version: [{ op: 'lt', value: '1.5' }] } as DetectionRuleInput), probes))
        .detected,
    ).toBe(false);
  });

  it('script: exit code 0 means installed', async () => {
    const probes = fakeProbes({ runScript: async (_i, script) => ({ exitCode: script.includes('yes') ? 0 : 3 }) });
    expect((await evaluateDetection(parse({ type: 'script', interpreter: 'sh', script: 'echo yes' }), probes)).detected).toBe(true);
    const no = await evaluateDetection(parse({ type: 'script', interpreter: 'sh', script: 'echo no' }), probes);
    expect(no.detected).toBe(false);
    expect(no.trace[0]).toEqual({ rule: 'sh script (1 lines, timeout 60s)', matched: false, detail: 'exit code 3' });
    expect(probes.calls[0]).toBe('runScript("sh", "echo yes", 60)');
  });
});

describe('expandWindowsPath', () => {
  const env = { ProgramFiles: 'C:\\Program Files', 'PROGRAMFILES(X86)': 'C:\\Program Files (x86)', SystemRoot: 'C:\\Windows' };

  it('expands case-insensitively', () => {
    expect(expandWindowsPath('%programfiles%\\7-Zip\\7z.exe', env)).toBe('C:\\Program Files\\7-Zip\\7z.exe');
    expect(expandWindowsPath('%ProgramFiles(x86)%\\App', env)).toBe('C:\\Program Files (x86)\\App');
    expect(expandWindowsPath('%SYSTEMROOT%\\System32\\%SystemRoot%', env)).toBe('C:\\Windows\\System32\\C:\\Windows');
  });

  it('leaves unknown variables and lone percent signs as written', () => {
    expect(expandWindowsPath('%NOPE%\\a', env)).toBe('%NOPE%\\a');
    expect(expandWindowsPath('C:\\100%\\a', env)).toBe('C:\\100%\\a');
    expect(expandWindowsPath('C:\\plain', env)).toBe('C:\\plain');
  });
});
