/**
 * `software.install` / `software.uninstall` on a virtual device: the device keeps the set of package versions it
 * has installed (by `package.versionId`) and answers as the real agent's handler (agent/src/handlers/software.ts)
 * does, with the contract's `softwareCommandReport`, without running anything:
 * - install: installed already → `already_installed`; else its dependencies first (each present or installed the
 *   same way), then the installer "exits" with `installFailExitCode` (probability `installFailRate`, else
 *   `failRate`) or `exitCode`, classified by the version's success and reboot exit codes → `installed`,
 *   `reboot_required` or `failed`.
 * - uninstall: not installed → `not_installed`; else the uninstaller "exits" with `failExitCode` (probability
 *   `failRate`) or `exitCode` → `uninstalled` or `failed`.
 * The device's own state is its detection: `detectedBefore` is always known (the real agent reports null without
 * detection rules). Artifacts are downloaded only with `downloadArtifacts` (see `ArtifactFetcher`).
 *
 * With `network.skipMetered` a metered device (behaviour `metered`) ends `deferred_metered` after detection, with
 * nothing changed. The plan lists the phases the command reaches (`downloading` for a version with artifacts, then
 * `installing`): the device reports them with heartbeats while it "runs", as the real agent does.
 *
 * `planSoftwareCommand` decides everything up front (the draws, the downloads); the device applies the changes
 * only when the command ran to its end (not cancelled, timed out or cut off by a reboot).
 */
import { successfulSoftwareOutcomes, type SoftwareOutcome } from '@opsconductor/contracts/constants';
import type { CommandPayloadOf } from '@opsconductor/contracts/commands';
import {
  artifactManifest,
  type ArtifactManifest,
  type SoftwareCommandReport,
  type SoftwareDependency,
} from '@opsconductor/contracts/software';
import { classifyExitCode } from '@opsconductor/software';
import type { CommandBehaviour } from './behaviour.ts';

export type SoftwareKind = 'software.install' | 'software.uninstall';
export type SoftwarePayload = CommandPayloadOf<SoftwareKind>;

export function isSoftwarePayload(payload: { kind: string }): payload is SoftwarePayload {
  return payload.kind === 'software.install' || payload.kind === 'software.uninstall';
}

/** What one download of an artifact gave: its source, or why none worked. */
export type ArtifactFetch =
  | { ok: true; sourceId: string; bytes: number }
  | { ok: false; outcome: 'download_failed' | 'hash_mismatch'; bytes: number; detail: string };

/** Downloads one artifact (the manifest names its sources, size and SHA-256) with the device's credentials. */
export type ArtifactFetcher = (manifest: ArtifactManifest) => Promise<ArtifactFetch>;

export interface SoftwareDeviceState {
  /** Installed package versions, by version ID. */
  readonly installed: ReadonlySet<string>;
  /** SHA-256s of artifacts the device downloaded before (its cache; not kept across simulator restarts). */
  readonly cached: ReadonlySet<string>;
  /** On a metered connection (behaviour `metered`, or `fleet.setMetered`). */
  readonly metered?: boolean;
}

/** The phases a software command went through, in order (downloading when it has artifacts, then installing). */
export type SoftwarePhase = 'downloading' | 'installing';

export interface SoftwarePlan {
  report: SoftwareCommandReport;
  status: 'succeeded' | 'failed';
  /** The command's exit code: the installer's, else 0 for a success and null for a failure (as the agent). */
  exitCode: number | null;
  error?: string;
  /** Versions installed (dependencies first) and removed when the command runs to its end. */
  install: string[];
  uninstall: string[];
  /** Artifacts downloaded (for the device's cache). */
  downloaded: string[];
  /** The device restarts once the result reached the server (a reboot is required and the version allows it). */
  restart: boolean;
  /** The device goes silent once the result reached the server (`silentAfterInstallRate`). */
  silent: boolean;
  /** The phases it reached, in order (a dependency's included), as the real agent reports them. */
  phases: SoftwarePhase[];
}

const DETAIL_MAX = 2000;

class Ended extends Error {
  constructor(
    readonly outcome: SoftwareOutcome,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const newReport = (): SoftwareCommandReport => ({
  outcome: 'failed',
  detectedBefore: null,
  detectedAfter: null,
  installerExitCode: null,
  rebootRequired: false,
  sourceId: null,
  fromCache: false,
  bytesDownloaded: 0,
});

/** The probability that an install fails on a device with this behaviour. */
export function installFailRateOf(b: CommandBehaviour): number {
  return b.installFailRate ?? b.failRate;
}

const draw = (rate: number, random: () => number) => rate > 0 && random() < rate;

export async function planSoftwareCommand(
  payload: SoftwarePayload,
  device: SoftwareDeviceState,
  b: CommandBehaviour,
  random: () => number,
  fetch?: ArtifactFetcher,
): Promise<SoftwarePlan> {
  const installing = payload.kind === 'software.install';
  const report = newReport();
  const install: string[] = [];
  const uninstall: string[] = [];
  const downloaded: string[] = [];
  const phases: SoftwarePhase[] = [];
  const enter = (phase: SoftwarePhase) => {
    if (phases.at(-1) !== phase) phases.push(phase);
  };
  /** Installed so far by this command (dependencies shared by two dependencies are installed once). */
  const has = (versionId: string) => (device.installed.has(versionId) || install.includes(versionId)) && !uninstall.includes(versionId);

  const download = async (version: SoftwareDependency, r: SoftwareCommandReport): Promise<void> => {
    if ((version.artifacts?.length ?? 0) > 0 || (version.artifactIds?.length ?? 0) > 0) enter('downloading');
    if (!b.downloadArtifacts || !fetch) return;
    const signed = version.artifacts ?? [];
    const unsigned = (version.artifactIds?.length ?? 0) - signed.length;
    if (unsigned > 0) throw new Ended('download_failed', `the server sent no signed manifest for ${unsigned} of the version's artifacts`);
    const fetched: { sourceId: string | null; fromCache: boolean }[] = [];
    for (const s of signed) {
      let manifest: ArtifactManifest;
      try {
        manifest = artifactManifest.parse(JSON.parse(s.manifest));
      } catch {
        throw new Ended('signature_invalid', 'a manifest is not a valid artifact manifest');
      }
      if (manifest.versionId !== version.package.versionId)
        throw new Ended('signature_invalid', `a manifest is signed for another package version (${manifest.versionId})`);
      if (device.cached.has(manifest.sha256) || downloaded.includes(manifest.sha256)) {
        fetched.push({ sourceId: null, fromCache: true });
        continue;
      }
      const result = await fetch(manifest);
      r.bytesDownloaded += result.bytes;
      if (!result.ok) throw new Ended(result.outcome, result.detail);
      downloaded.push(manifest.sha256);
      fetched.push({ sourceId: result.sourceId, fromCache: false });
    }
    if (fetched[0]) {
      r.sourceId = fetched[0].sourceId;
      r.fromCache = fetched.every((f) => f.fromCache);
    }
  };

  /** Installs or uninstalls one version, filling `r`; throws Ended for every outcome but the installer's success. */
  const apply = async (
    version: SoftwareDependency,
    installingIt: boolean,
    r: SoftwareCommandReport,
    beforeArtifacts?: () => Promise<void>,
  ): Promise<void> => {
    const id = version.package.versionId;
    r.detectedBefore = has(id);
    if (installingIt && r.detectedBefore) throw new Ended('already_installed', 'already installed');
    if (!installingIt && !r.detectedBefore) throw new Ended('not_installed', 'not installed: nothing to uninstall');
    await beforeArtifacts?.();
    await download(version, r);
    enter('installing');
    const fails = installingIt ? draw(installFailRateOf(b), random) : draw(b.failRate, random);
    const code = fails ? (installingIt ? b.installFailExitCode : b.failExitCode) : b.exitCode;
    r.installerExitCode = code;
    const exit = classifyExitCode(code, version.successExitCodes, version.rebootExitCodes);
    const what = installingIt ? 'installer' : 'uninstaller';
    if (exit === 'failure') throw new Ended('failed', `the ${what} exited with ${code}`);
    r.rebootRequired ||= exit === 'success_reboot' || version.reboot === 'always';
    (installingIt ? install : uninstall).push(id);
    // A pending restart hides the change from detection until then.
    r.detectedAfter = exit === 'success_reboot' ? null : installingIt;
    r.outcome = exit === 'success_reboot' ? 'reboot_required' : installingIt ? 'installed' : 'uninstalled';
  };

  const installDependencies = async (): Promise<void> => {
    for (const dependency of installing ? (payload.dependencies ?? []) : []) {
      const label = `${dependency.package.name} ${dependency.package.version}`;
      const r = newReport();
      try {
        await apply(dependency, true, r);
      } catch (err) {
        if (!(err instanceof Ended)) throw err;
        if (!(successfulSoftwareOutcomes as readonly string[]).includes(err.outcome))
          throw new Ended(err.outcome, `dependency ${label}: ${err.detail}`);
      } finally {
        report.bytesDownloaded += r.bytesDownloaded;
      }
      if (r.rebootRequired) report.rebootRequired = true;
    }
  };

  // network.skipMetered, as the agent: an install (or an uninstall with artifacts) on a metered connection is deferred.
  const checkMetered = async (): Promise<void> => {
    if (!payload.network?.skipMetered || !device.metered) return;
    if (!installing && !(payload.artifactIds?.length || payload.artifacts?.length)) return;
    throw new Ended(
      'deferred_metered',
      'the device is on a metered connection and the network policy skips those: nothing was downloaded or changed',
    );
  };

  try {
    await apply(payload, installing, report, async () => {
      await checkMetered();
      await installDependencies();
    });
  } catch (err) {
    if (!(err instanceof Ended)) throw err;
    report.outcome = err.outcome;
    report.detail = err.detail.slice(0, DETAIL_MAX);
  }
  const succeeded = (successfulSoftwareOutcomes as readonly string[]).includes(report.outcome);
  // A failed install leaves the dependencies it installed before it.
  const installedMain = report.outcome === 'installed' || (installing && report.outcome === 'reboot_required');
  return {
    report,
    status: succeeded ? 'succeeded' : 'failed',
    exitCode: report.installerExitCode ?? (succeeded ? 0 : null),
    ...(succeeded ? {} : { error: `${report.outcome}: ${report.detail ?? ''}` }),
    install,
    uninstall,
    downloaded,
    restart: succeeded && report.rebootRequired && payload.reboot !== 'never',
    silent: installedMain && draw(b.silentAfterInstallRate, random),
    phases,
  };
}

/** The report of a software command that did not run to its end (cancelled, timed out): nothing changed. */
export function stoppedReport(plan: SoftwarePlan | undefined, detail: string): SoftwareCommandReport {
  return {
    ...(plan?.report ?? newReport()),
    outcome: 'failed',
    detectedAfter: null,
    installerExitCode: null,
    rebootRequired: false,
    detail: detail.slice(0, DETAIL_MAX),
  };
}
