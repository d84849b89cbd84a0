/** The fleet simulator's software commands: outcomes drawn from the behaviour against each device's installed versions. */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  softwareCommandReport,
  softwareInstallCommandPayload,
  softwareUninstallCommandPayload,
  type ArtifactManifest,
} from '@opsconductor/contracts/software';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { behaviourFor, defaultBehaviour, seededRandom, type CommandBehaviour } from '../src/fleet-sim/behaviour.ts';
import { parseCliArgs, parseSubset, UsageError } from '../src/fleet-sim/options.ts';
import {
  installFailRateOf,
  planSoftwareCommand,
  stoppedReport,
  type ArtifactFetcher,
  type SoftwarePlan,
} from '../src/fleet-sim/software.ts';
import { readFleetState, writeFleetState } from '../src/fleet-sim/state-file.ts';

const SHA = 'a'.repeat(64);
const SOURCE = randomUUID();

interface VersionOpts {
  versionId?: string;
  name?: string;
  rebootExitCodes?: number[];
  reboot?: 'never' | 'if_required' | 'always';
  artifacts?: { sha256: string; size: number }[];
}

const version = (o: VersionOpts = {}) => {
  const versionId = o.versionId ?? randomUUID();
  return {
    installerType: 'msi' as const,
    package: { versionId, name: o.name ?? 'App', version: '1.0' },
    command: 'msiexec /i {installer} /qn',
    timeoutSeconds: 600,
    ...(o.rebootExitCodes ? { rebootExitCodes: o.rebootExitCodes } : {}),
    ...(o.reboot ? { reboot: o.reboot } : {}),
    ...(o.artifacts
      ? {
          artifacts: o.artifacts.map((a) => ({
            manifest: JSON.stringify({
              v: 1,
              packageName: o.name ?? 'App',
              packageVersion: '1.0',
              versionId,
              fileName: 'app.msi',
              size: a.size,
              sha256: a.sha256,
              sources: [{ kind: 'depot', sourceId: SOURCE }],
              issuedAt: new Date().toISOString(),
            } satisfies ArtifactManifest),
            keyId: 'k1',
            signature: `${'A'.repeat(86)}==`,
          })),
        }
      : {}),
  };
};

const install = (o: VersionOpts & { dependencies?: VersionOpts[] } = {}) =>
  softwareInstallCommandPayload.parse({
    kind: 'software.install',
    ...version(o),
    ...(o.dependencies ? { dependencies: o.dependencies.map((d) => version(d)) } : {}),
  });
const uninstall = (o: VersionOpts = {}) => softwareUninstallCommandPayload.parse({ kind: 'software.uninstall', ...version(o) });

const b = (over: Partial<CommandBehaviour> = {}): CommandBehaviour => ({ ...defaultBehaviour, ...over });
const device = (installed: string[] = [], cached: string[] = []) => ({ installed: new Set(installed), cached: new Set(cached) });

/** Every report the simulator sends must be one the contract (and so the server) takes. */
function valid(plan: SoftwarePlan): SoftwarePlan {
  expect(softwareCommandReport.safeParse(plan.report).success, JSON.stringify(plan.report)).toBe(true);
  return plan;
}

describe('fleet-sim software commands', () => {
  it('installs a missing version, and reports an installed one already installed', async () => {
    const payload = install();
    const id = payload.package.versionId;
    const plan = valid(await planSoftwareCommand(payload, device(), b(), seededRandom(1)));
    expect(plan).toMatchObject({ status: 'succeeded', exitCode: 0, install: [id], uninstall: [], restart: false, silent: false });
    expect(plan.report).toEqual({
      outcome: 'installed',
      detectedBefore: false,
      detectedAfter: true,
      installerExitCode: 0,
      rebootRequired: false,
      sourceId: null,
      fromCache: false,
      bytesDownloaded: 0,
    });
    const again = valid(await planSoftwareCommand(payload, device([id]), b({ installFailRate: 1 }), seededRandom(1)));
    expect(again).toMatchObject({ status: 'succeeded', exitCode: 0, install: [], uninstall: [] });
    expect(again.report).toMatchObject({ outcome: 'already_installed', detectedBefore: true, installerExitCode: null });
  });

  it('fails installs with installFailExitCode (1603 by default), falling back to failRate', async () => {
    const plan = valid(await planSoftwareCommand(install(), device(), b({ installFailRate: 1 }), seededRandom(1)));
    expect(plan).toMatchObject({ status: 'failed', exitCode: 1603, install: [], error: 'failed: the installer exited with 1603' });
    expect(plan.report).toMatchObject({ outcome: 'failed', installerExitCode: 1603, detectedBefore: false, detectedAfter: null });
    // No install rate: the command's failRate decides, still with the installer's exit code.
    const fallback = valid(await planSoftwareCommand(install(), device(), b({ failRate: 1, failExitCode: 9 }), seededRandom(1)));
    expect(fallback.report).toMatchObject({ outcome: 'failed', installerExitCode: 1603 });
    // An install rate of 0 beats a failRate of 1; a custom exit code.
    expect(installFailRateOf(b({ failRate: 1, installFailRate: 0 }))).toBe(0);
    const custom = await planSoftwareCommand(install(), device(), b({ installFailRate: 1, installFailExitCode: 1618 }), seededRandom(1));
    expect(custom.exitCode).toBe(1618);
    // Drawn at the rate asked for.
    const random = seededRandom(3);
    let failed = 0;
    for (let i = 0; i < 2000; i++)
      if ((await planSoftwareCommand(install(), device(), b({ installFailRate: 0.3 }), random)).status === 'failed') failed++;
    expect(failed).toBeGreaterThan(500);
    expect(failed).toBeLessThan(700);
  });

  it("classifies the installer's exit code by the version's codes: a reboot code is reboot_required and restarts", async () => {
    const plan = valid(
      await planSoftwareCommand(
        install({ rebootExitCodes: [3010], reboot: 'if_required' }),
        device(),
        b({ exitCode: 3010 }),
        seededRandom(1),
      ),
    );
    expect(plan).toMatchObject({ status: 'succeeded', exitCode: 3010, restart: true });
    expect(plan.report).toMatchObject({ outcome: 'reboot_required', rebootRequired: true, detectedAfter: null });
    expect(plan.install).toHaveLength(1);
    const never = await planSoftwareCommand(install({ rebootExitCodes: [3010] }), device(), b({ exitCode: 3010 }), seededRandom(1));
    expect(never.restart).toBe(false);
    // An exit code that is neither success nor reboot fails.
    const other = await planSoftwareCommand(install(), device(), b({ exitCode: 3 }), seededRandom(1));
    expect(other.report).toMatchObject({ outcome: 'failed', installerExitCode: 3 });
  });

  it('installs missing dependencies first, skips present ones, and fails with a dependency that fails', async () => {
    const present = randomUUID();
    const missing = randomUUID();
    const payload = install({
      dependencies: [
        { versionId: present, name: 'Base' },
        { versionId: missing, name: 'Lib' },
      ],
    });
    const plan = valid(await planSoftwareCommand(payload, device([present]), b(), seededRandom(1)));
    expect(plan.install).toEqual([missing, payload.package.versionId]);
    expect(plan.report.outcome).toBe('installed');

    const failing = valid(await planSoftwareCommand(payload, device(), b({ installFailRate: 1 }), seededRandom(1)));
    expect(failing).toMatchObject({ status: 'failed', install: [] });
    expect(failing.report).toMatchObject({ outcome: 'failed', detail: 'dependency Base 1.0: the installer exited with 1603' });
    // An install that is there already does not look at its dependencies.
    const skip = await planSoftwareCommand(payload, device([payload.package.versionId]), b({ installFailRate: 1 }), seededRandom(1));
    expect(skip.report.outcome).toBe('already_installed');
  });

  it('uninstalls an installed version and reports a missing one not installed', async () => {
    const payload = uninstall();
    const id = payload.package.versionId;
    const plan = valid(await planSoftwareCommand(payload, device([id]), b({ installFailRate: 1 }), seededRandom(1)));
    expect(plan).toMatchObject({ status: 'succeeded', exitCode: 0, install: [], uninstall: [id], silent: false });
    expect(plan.report).toMatchObject({ outcome: 'uninstalled', detectedBefore: true, detectedAfter: false, installerExitCode: 0 });
    const none = valid(await planSoftwareCommand(payload, device(), b(), seededRandom(1)));
    expect(none).toMatchObject({ status: 'succeeded', exitCode: 0, uninstall: [] });
    expect(none.report).toMatchObject({ outcome: 'not_installed', detectedBefore: false, installerExitCode: null });
    // The uninstaller fails as any command does (failRate, failExitCode).
    const failed = await planSoftwareCommand(payload, device([id]), b({ failRate: 1, failExitCode: 5 }), seededRandom(1));
    expect(failed.report).toMatchObject({ outcome: 'failed', installerExitCode: 5 });
    expect(failed.uninstall).toEqual([]);
  });

  it('goes silent after a successful install at silentAfterInstallRate, never after other outcomes', async () => {
    const id = randomUUID();
    expect((await planSoftwareCommand(install(), device(), b({ silentAfterInstallRate: 1 }), seededRandom(1))).silent).toBe(true);
    expect((await planSoftwareCommand(install(), device(), b({ silentAfterInstallRate: 0 }), seededRandom(1))).silent).toBe(false);
    const already = await planSoftwareCommand(install({ versionId: id }), device([id]), b({ silentAfterInstallRate: 1 }), seededRandom(1));
    expect(already.silent).toBe(false);
    const failed = await planSoftwareCommand(install(), device(), b({ silentAfterInstallRate: 1, installFailRate: 1 }), seededRandom(1));
    expect(failed.silent).toBe(false);
    const removed = await planSoftwareCommand(
      uninstall({ versionId: id }),
      device([id]),
      b({ silentAfterInstallRate: 1 }),
      seededRandom(1),
    );
    expect(removed.silent).toBe(false);
    const random = seededRandom(5);
    let silent = 0;
    for (let i = 0; i < 1000; i++)
      if ((await planSoftwareCommand(install(), device(), b({ silentAfterInstallRate: 0.2 }), random)).silent) silent++;
    expect(silent).toBeGreaterThan(150);
    expect(silent).toBeLessThan(250);
  });

  it('downloads artifacts only with downloadArtifacts, reporting bytes and source, and the cache', async () => {
    const payload = install({ artifacts: [{ sha256: SHA, size: 1234 }] });
    const fetch = vi.fn<ArtifactFetcher>(async () => ({ ok: true, sourceId: SOURCE, bytes: 1234 }));
    const off = await planSoftwareCommand(payload, device(), b(), seededRandom(1), fetch);
    expect(fetch).not.toHaveBeenCalled();
    expect(off.report).toMatchObject({ bytesDownloaded: 0, sourceId: null, fromCache: false });

    const on = valid(await planSoftwareCommand(payload, device(), b({ downloadArtifacts: true }), seededRandom(1), fetch));
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(fetch.mock.calls[0]![0]).toMatchObject({ sha256: SHA, size: 1234, versionId: payload.package.versionId });
    expect(on).toMatchObject({
      downloaded: [SHA],
      report: { outcome: 'installed', bytesDownloaded: 1234, sourceId: SOURCE, fromCache: false },
    });

    const cached = valid(await planSoftwareCommand(payload, device([], [SHA]), b({ downloadArtifacts: true }), seededRandom(1), fetch));
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(cached.report).toMatchObject({ bytesDownloaded: 0, sourceId: null, fromCache: true });

    const broken: ArtifactFetcher = async () => ({ ok: false, outcome: 'hash_mismatch', bytes: 99, detail: 'no source gave app.msi' });
    const mismatch = valid(await planSoftwareCommand(payload, device(), b({ downloadArtifacts: true }), seededRandom(1), broken));
    expect(mismatch).toMatchObject({ status: 'failed', exitCode: null, install: [] });
    expect(mismatch.report).toMatchObject({ outcome: 'hash_mismatch', bytesDownloaded: 99, installerExitCode: null });
  });

  it('lists the phases a command reaches: downloading for a version with artifacts, then installing', async () => {
    const withArtifact = install({ artifacts: [{ sha256: SHA, size: 10 }] });
    expect((await planSoftwareCommand(withArtifact, device(), b(), seededRandom(1))).phases).toEqual(['downloading', 'installing']);
    expect((await planSoftwareCommand(install(), device(), b(), seededRandom(1))).phases).toEqual(['installing']);
    const deps = install({ dependencies: [{ artifacts: [{ sha256: 'b'.repeat(64), size: 1 }] }], artifacts: [{ sha256: SHA, size: 10 }] });
    expect((await planSoftwareCommand(deps, device(), b(), seededRandom(1))).phases).toEqual([
      'downloading',
      'installing',
      'downloading',
      'installing',
    ]);
    const there = install();
    expect((await planSoftwareCommand(there, device([there.package.versionId]), b(), seededRandom(1))).phases).toEqual([]);
  });

  it('defers an install with skipMetered on a metered device: deferred_metered, nothing changed', async () => {
    const payload = { ...install({ artifacts: [{ sha256: SHA, size: 10 }] }), network: { skipMetered: true } };
    const plan = valid(await planSoftwareCommand(payload, { ...device(), metered: true }, b(), seededRandom(1)));
    expect(plan).toMatchObject({ status: 'failed', exitCode: null, install: [], downloaded: [], restart: false, phases: [] });
    expect(plan.report).toMatchObject({ outcome: 'deferred_metered', detectedBefore: false, bytesDownloaded: 0 });
    expect(plan.error).toMatch(/^deferred_metered: .*metered connection/);
    // Not metered, or no skipMetered: installs; already installed: says so even when metered.
    expect((await planSoftwareCommand(payload, { ...device(), metered: false }, b(), seededRandom(1))).report.outcome).toBe('installed');
    const { network: _, ...plain } = payload;
    expect((await planSoftwareCommand(plain, { ...device(), metered: true }, b(), seededRandom(1))).report.outcome).toBe('installed');
    const there = { ...device([payload.package.versionId]), metered: true };
    expect((await planSoftwareCommand(payload, there, b(), seededRandom(1))).report.outcome).toBe('already_installed');
    // An uninstall without artifacts downloads nothing: not deferred.
    const removal = { ...uninstall(), network: { skipMetered: true } };
    const removed = await planSoftwareCommand(removal, { ...device([removal.package.versionId]), metered: true }, b(), seededRandom(1));
    expect(removed.report.outcome).toBe('uninstalled');
    expect(parseSubset('index=0-9,metered').behaviour).toEqual({ metered: true });
  });

  it('reports a software command that did not run to its end as failed, changing nothing', async () => {
    const plan = await planSoftwareCommand(install(), device(), b(), seededRandom(1));
    const report = stoppedReport(plan, 'timed out after 600 s');
    expect(softwareCommandReport.parse(report)).toMatchObject({ outcome: 'failed', detectedAfter: null, installerExitCode: null });
    expect(report.detail).toBe('timed out after 600 s');
    // Stopped before it was planned (cancelled at start): still a report the contract takes.
    expect(softwareCommandReport.parse(stoppedReport(undefined, 'cancelled'))).toMatchObject({ outcome: 'failed', detail: 'cancelled' });
  });

  it('lets subsets set the software knobs', () => {
    const subsets = [
      { select: { indexes: [[100, 299]] as [number, number][] }, behaviour: { installFailRate: 0.3 } },
      { select: { fraction: 0.2 }, behaviour: { silentAfterInstallRate: 1 } },
    ];
    const at = (index: number) => behaviourFor({ index, hostname: `sim-${index}` }, defaultBehaviour, subsets, 1);
    expect(at(150).installFailRate).toBe(0.3);
    expect(at(50).installFailRate).toBeNull();
    expect(at(50).installFailExitCode).toBe(1603);
    const silent = Array.from({ length: 1000 }, (_, i) => at(i).silentAfterInstallRate).filter((r) => r === 1).length;
    expect(silent).toBeGreaterThan(150);
    expect(silent).toBeLessThan(250);
  });
});

describe('fleet-sim software command line', () => {
  it('reads the software knobs as flags and subset keys', () => {
    expect(parseSubset('index=100-299,install-fail-rate=0.3')).toEqual({
      select: { indexes: [[100, 299]] },
      behaviour: { installFailRate: 0.3 },
    });
    expect(parseSubset('fraction=0.2,silent-after-install-rate=1,install-fail-exit-code=1618,download-artifacts')).toEqual({
      select: { fraction: 0.2 },
      behaviour: { silentAfterInstallRate: 1, installFailExitCode: 1618, downloadArtifacts: true },
    });
    expect(parseSubset('every=2,download-artifacts=false').behaviour).toEqual({ downloadArtifacts: false });
    const cli = parseCliArgs(
      [
        '--server',
        'http://x',
        '--install-fail-rate',
        '0.05',
        '--install-fail-exit-code',
        '1603',
        '--silent-after-install-rate',
        '0.01',
        '--download-artifacts',
      ],
      {},
    );
    expect(cli?.fleet.behaviour).toEqual({
      installFailRate: 0.05,
      installFailExitCode: 1603,
      silentAfterInstallRate: 0.01,
      downloadArtifacts: true,
    });
    for (const bad of [
      'index=0-1,install-fail-rate=1.5',
      'index=0-1,install-fail-rate',
      'index=0-1,silent-after-install-rate=-0.1',
      'index=0-1,install-fail-exit-code=1.5',
      'index=0-1,download-artifacts=maybe',
    ]) {
      expect(() => parseSubset(bad), bad).toThrow(UsageError);
    }
    expect(() => parseCliArgs(['--server', 'http://x', '--silent-after-install-rate', 'often'], {})).toThrow(UsageError);
    expect(parseCliArgs(['--server', 'http://x', '--state-file', 'f.json', '--revive'], {})?.fleet).toMatchObject({
      stateFile: 'f.json',
      reviveSilent: true,
    });
    expect(parseCliArgs(['--server', 'http://x'], {})?.fleet.reviveSilent).toBeUndefined();
  });
});

describe('fleet-sim state file', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('keeps installed versions and silence, and reads files of older simulators', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-sim-state-'));
    const path = join(dir, 'fleet.json');
    const versionId = randomUUID();
    const device = (index: number) => ({ index, hostname: `sim-${index}`, deviceId: randomUUID(), deviceSecret: `secret-${index}` });
    const a = { ...device(0), software: [versionId], silent: true };
    const c = device(1);
    await writeFleetState(path, 'http://server', [c, a]);
    const state = await readFleetState(path, 'http://server');
    expect(state.get(0)).toEqual(a);
    expect(state.get(1)).toEqual(c);
    expect((await readFleetState(path, 'http://other')).size).toBe(0);
    // A file without software state (an older simulator's) still reads.
    await writeFile(path, JSON.stringify({ version: 1, serverUrl: 'http://server', devices: [c] }));
    expect((await readFleetState(path, 'http://server')).get(1)).toEqual(c);
    // Not a version ID: refused, not trusted.
    await writeFile(path, JSON.stringify({ version: 1, serverUrl: 'http://server', devices: [{ ...c, software: ['../x'] }] }));
    await expect(readFleetState(path, 'http://server')).rejects.toThrow();
  });
});
