/**
 * The Linux probes for real, on this Debian machine: dpkg's own database, files on disk, scripts in sh and bash.
 * The parsers also get recorded output for what this machine cannot show (rpm, pacman, systemd).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateDetection, ProbeError } from '../src/index.ts';
import { linuxProbes, parseDpkgQuery, parsePacmanQuery, parseRpmQuery, parseSystemctlShow, type RunResult } from '../src/probes/index.ts';
import { hasDpkg } from './oracles.ts';

const ok = (stdout: string, stderr = ''): RunResult => ({ exitCode: 0, signal: null, stdout, stderr, timedOut: false });
const exit = (exitCode: number, stdout: string, stderr = ''): RunResult => ({ exitCode, signal: null, stdout, stderr, timedOut: false });

const dir = mkdtempSync(join(tmpdir(), 'oc-linux-probes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const probes = linuxProbes({ tempDir: dir });

describe.runIf(hasDpkg)('linuxProbes: dpkg, for real', () => {
  const dpkgVersion = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'dpkg'], { encoding: 'utf8' });

  it('finds dpkg itself at the version dpkg-query reports', async () => {
    expect(await probes.linuxPackage('dpkg', 'dpkg')).toEqual({ installed: true, version: dpkgVersion });
  });

  it('answers version constraints compared the dpkg way', async () => {
    const rule = (op: 'gte' | 'lt', value: string) => ({
      type: 'linux_package' as const,
      manager: 'dpkg' as const,
      name: 'coreutils',
      version: [{ op, value }],
    });
    expect((await evaluateDetection(rule('gte', '8.0'), probes)).detected).toBe(true);
    expect((await evaluateDetection(rule('lt', '8.0'), probes)).detected).toBe(false);
    expect((await evaluateDetection(rule('lt', '999:0'), probes)).detected).toBe(true);
  });

  it('reports a package that is not installed as not installed', async () => {
    expect(await probes.linuxPackage('dpkg', 'opsconductor-no-such-package')).toEqual({ installed: false });
  });

  it('a missing package manager has installed nothing', async () => {
    expect(await probes.linuxPackage('pacman', 'bash')).toEqual({ installed: false }); // no pacman on Debian
  });
});

describe('linuxProbes: files and scripts, for real', () => {
  it('hashes a file, streamed', async () => {
    const path = join(dir, 'payload.bin');
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 7, 0x5a);
    writeFileSync(path, bytes);
    const f = await probes.file(path);
    expect(f.exists).toBe(true);
    expect(await f.sha256?.()).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(f.version).toBeUndefined(); // no PE version resources on Linux
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect((await evaluateDetection({ type: 'file', path, check: 'sha256', sha256 }, probes)).detected).toBe(true);
  });

  it('tells a missing file and a directory apart', async () => {
    expect(await probes.file(join(dir, 'nope'))).toEqual({ exists: false });
    expect(await probes.file(join(dir, 'nope', 'deeper'))).toEqual({ exists: false });
    const d = await probes.file(dir);
    expect(d.exists).toBe(true);
    expect(d.sha256).toBeUndefined();
  });

  it('runs sh and bash scripts and returns their exit code, cleaning up after them', async () => {
    expect(await probes.runScript('sh', 'exit 0', 10)).toEqual({ exitCode: 0 });
    expect(await probes.runScript('bash', '[[ -n "$BASH_VERSION" ]] && exit 7', 10)).toEqual({ exitCode: 7 });
    // The script's text is a file, never a command line: quotes and $() in it are the script's business.
    expect(await probes.runScript('sh', `x='$(exit 9)'; [ "$x" = '$(exit 9)' ] && exit 3`, 10)).toEqual({ exitCode: 3 });
    expect(readdirSync(dir).filter((n) => n.startsWith('oc-detect-'))).toEqual([]);
  });

  it('kills a script at its timeout, with its children, and reports unknown', async () => {
    const marker = join(dir, 'survived');
    const started = Date.now();
    await expect(probes.runScript('sh', `(sleep 3; touch '${marker}') & sleep 30`, 1)).rejects.toThrow(/timed out after 1s/);
    expect(Date.now() - started).toBeLessThan(5_000);
    await new Promise((r) => setTimeout(r, 3_500));
    expect(readdirSync(dir)).not.toContain('survived'); // the background child died with the group
  });

  it('refuses interpreters this platform lacks', async () => {
    await expect(probes.runScript('cmd', 'exit /b 0', 5)).rejects.toThrow(ProbeError);
  });

  it('reads Windows-only things as absent', async () => {
    expect(await probes.msiProduct('{23170F69-40C1-2702-2407-000001000000}')).toEqual({ installed: false });
    expect(await probes.registryValue('HKLM', 'SOFTWARE', undefined, '64')).toEqual({ keyExists: false });
  });

  it('a service probe without systemd is an error (unknown), not "does not exist"', async () => {
    let systemd = true;
    try {
      execFileSync('systemctl', ['show', '-p', 'LoadState', 'init.scope'], { stdio: 'ignore' });
    } catch {
      systemd = false;
    }
    if (systemd) {
      expect(await probes.service('opsconductor-no-such-unit')).toEqual({ exists: false });
    } else {
      const r = await evaluateDetection({ type: 'service', name: 'opsconductor-no-such-unit', state: 'exists' }, probes);
      expect(r.detected).toBeNull();
      expect(r.reason).toMatch(/systemctl/);
    }
  });
});

describe('Linux parsers on recorded output', () => {
  it('dpkg-query: only "install ok installed" counts', () => {
    expect(parseDpkgQuery(ok('install ok installed\t1:2.3-4\n'))).toEqual({ installed: true, version: '1:2.3-4' });
    expect(parseDpkgQuery(ok('deinstall ok config-files\t1.0-1\n'))).toEqual({ installed: false });
    expect(parseDpkgQuery(ok('install ok half-configured\t1.0-1\n'))).toEqual({ installed: false });
    // Multi-arch: one line per architecture.
    expect(parseDpkgQuery(ok('deinstall ok config-files\t2.36-8\ninstall ok installed\t2.36-9\n'))).toEqual({
      installed: true,
      version: '2.36-9',
    });
    expect(parseDpkgQuery(exit(1, '', 'dpkg-query: no packages found matching nope\n'))).toEqual({ installed: false });
    expect(() => parseDpkgQuery(exit(2, '', 'dpkg-query: error: database is locked\n'))).toThrow(/database is locked/);
  });

  it('rpm -q: (none) epochs dropped, the highest of several versions', () => {
    expect(parseRpmQuery(ok('(none):1.2.3-4.el9\n'))).toEqual({ installed: true, version: '1.2.3-4.el9' });
    expect(parseRpmQuery(ok('1:3.0.7-27.el9\n'))).toEqual({ installed: true, version: '1:3.0.7-27.el9' });
    expect(parseRpmQuery(ok('(none):5.14.0-362.8.1.el9_3\n(none):5.14.0-362.13.1.el9_3\n(none):5.14.0-284.30.1.el9_2\n'))).toEqual({
      installed: true,
      version: '5.14.0-362.13.1.el9_3',
    });
    expect(parseRpmQuery(exit(1, 'package nginx is not installed\n'))).toEqual({ installed: false });
    expect(() => parseRpmQuery(exit(1, '', 'error: rpmdb: BDB0113 Thread/process failed\n'))).toThrow(/rpmdb/);
  });

  it('pacman -Q: the named package only, not one that provides the name', () => {
    expect(parsePacmanQuery(ok('linux 6.9.7.arch1-1\n'), 'linux')).toEqual({ installed: true, version: '6.9.7.arch1-1' });
    expect(parsePacmanQuery(ok('bash 5.2.026-2\n'), 'sh')).toEqual({ installed: false });
    expect(parsePacmanQuery(exit(1, '', "error: package 'nope' was not found\n"), 'nope')).toEqual({ installed: false });
  });

  it('systemctl show: not-found, running, stopped, masked', () => {
    expect(parseSystemctlShow(ok('LoadState=not-found\nActiveState=inactive\n'))).toEqual({ exists: false });
    expect(parseSystemctlShow(ok('LoadState=loaded\nActiveState=active\n'))).toEqual({ exists: true, running: true });
    expect(parseSystemctlShow(ok('LoadState=loaded\nActiveState=failed\n'))).toEqual({ exists: true, running: false });
    expect(parseSystemctlShow(ok('LoadState=masked\nActiveState=inactive\n'))).toEqual({ exists: true, running: false });
    expect(() =>
      parseSystemctlShow(exit(1, '', "System has not been booted with systemd as init system (PID 1). Can't operate.\n")),
    ).toThrow(/not been booted with systemd/);
  });
});
