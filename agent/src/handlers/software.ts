/**
 * `software.install` / `software.uninstall` (ADR 23): detect → requirements → verify the signed manifests →
 * download (resumed, verified, cached) → stage → pre-hook → installer → log tail → post-hook → detect, ending
 * with a precise outcome (contracts' `softwareCommandReport`) next to the command's status.
 *
 * Safe to run twice: detection first, so a version already installed (or already absent) is reported as such
 * and nothing runs. A detection that cannot tell (a probe failed) stops the command: installing over a working
 * install on a guess is worse than a `detection_failed` the admin can read. Nothing from a manifest runs before
 * its signature and the artifact's SHA-256 both hold.
 *
 * Restarts: the report says `rebootRequired`; with `reboot: if_required` (or `always`) the agent restarts the
 * device once the result has reached the server (agent.ts), after the command's `rebootNotice` (users warned, its
 * delay waited). `never` leaves it to the server: a rollout sends a `reboot` command when its maintenance window allows.
 *
 * Network policy (`network`): downloads capped at `maxBytesPerSecond` (depot/throttle.ts); with `skipMetered` a
 * device on a metered connection (metered.ts) downloads nothing and ends `deferred_metered`. Phases: `downloading`
 * while artifacts are fetched, `installing` from the pre-install hook on (ctx.phase: the agent tells the server).
 */
import { mkdir, open, rm, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { commandKindVersions, type CommandPayloadOf } from '@opsconductor/contracts/commands';
import type { CpuArchitecture, PackagePlatform } from '@opsconductor/contracts/constants';
import { successfulSoftwareOutcomes, type SoftwareOutcome } from '@opsconductor/contracts/constants';
import type { InstallHook, SoftwareCommandReport, SoftwareDependency } from '@opsconductor/contracts/software';
import {
  checkRequirements,
  classifyExitCode,
  evaluateDetection,
  renderCommand,
  type CommandShell,
  type DetectionResult,
  type RequirementFacts,
} from '@opsconductor/software';
import { probesForPlatform, type DetectionProbes } from '@opsconductor/software/probes';
import { DownloadThrottle, fetchArtifact, stageArtifacts, verifyManifest, type ArtifactPin, type FetchedArtifact } from '../depot/index.ts';
import { executeProcess, shellInvocation, type ExecutionOutcome, type ShellExecution, type StopReason } from '../executor.ts';
import { collectFacts } from '../facts.ts';
import { probeMetered, type MeteredState } from '../metered.ts';
import { SCRIPT_EXTENSIONS, scriptInvocation } from './script.ts';
import type { CommandHandler, Execution, HandlerContext } from './types.ts';

type SoftwareKind = 'software.install' | 'software.uninstall';
type SoftwarePayload = CommandPayloadOf<SoftwareKind>;

/** How much of the installer's log is attached to the output (its tail). */
export const INSTALLER_LOG_TAIL_BYTES = 64 * 1024;
/**
 * How old a manifest may be when the command starts, beyond the command's own timeout: the server signs at
 * delivery, and a command may wait in the agent's queue for a free slot.
 */
const MANIFEST_GRACE_SECONDS = 3600;

export interface SoftwareHandlerOptions {
  /** Detection probes (default: this platform's). */
  probes?: DetectionProbes;
  /** The facts requirements are checked against (default: this device's). */
  requirementFacts?: (cacheDir: string) => Promise<RequirementFacts>;
  platform?: NodeJS.Platform;
  /** Whether the connection is metered, for `network.skipMetered` (default: probeMetered, metered.ts). */
  metered?: () => Promise<MeteredState>;
}

/** The device's facts for requirements: platform, OS version, architecture, free space where the cache is, RAM. */
export async function deviceRequirementFacts(cacheDir: string): Promise<RequirementFacts> {
  const facts = await collectFacts();
  const platform: PackagePlatform | null =
    facts.osFamily === 'windows' ? 'windows' : facts.osFamily === 'linux' ? 'linux' : facts.osFamily === 'macos' ? 'macos' : null;
  const arch = os.arch();
  const architecture: CpuArchitecture | null = arch === 'x64' ? 'x64' : arch === 'arm64' ? 'arm64' : arch === 'ia32' ? 'x86' : null;
  let freeDiskMb: number | null = null;
  try {
    const s = await statfs(cacheDir);
    freeDiskMb = (Number(s.bavail) * Number(s.bsize)) / 1024 ** 2;
  } catch {
    freeDiskMb = null;
  }
  return { platform, osVersion: facts.osVersion, architecture, freeDiskMb, ramMb: os.totalmem() / 1024 ** 2 };
}

/** The shell an installer type's command line is written for (packages/software `defaultCommands`). */
export function installerShell(installerType: SoftwarePayload['installerType'], platform: NodeJS.Platform): CommandShell {
  if (installerType === 'ps1' || installerType === 'msix') return 'powershell';
  return platform === 'win32' ? 'cmd' : 'sh';
}

/** The last `max` bytes of a log as text: UTF-16LE when it starts with that BOM (msiexec's logs may), else UTF-8. */
export async function logTail(file: string, max = INSTALLER_LOG_TAIL_BYTES): Promise<{ text: string; truncated: boolean } | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    const utf16 = head[0] === 0xff && head[1] === 0xfe;
    let start = Math.max(0, size - max);
    if (utf16 && start % 2 === 1) start++;
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    let text = utf16 ? buffer.toString('utf16le') : buffer.toString('utf8');
    if (start === 0 && utf16) text = text.replace(/^\uFEFF/, '');
    return { text, truncated: start > 0 };
  } finally {
    await handle.close();
  }
}

class Ended extends Error {
  constructor(
    readonly outcome: SoftwareOutcome,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const describeDetection = (d: DetectionResult): string =>
  d.detected === null ? `unknown (${d.reason ?? 'a rule could not be evaluated'})` : d.detected ? 'found' : 'not found';

function createSoftwareHandler(kind: SoftwareKind, options: SoftwareHandlerOptions): CommandHandler<SoftwareKind> {
  const platform = options.platform ?? process.platform;
  const requirementFacts = options.requirementFacts ?? deviceRequirementFacts;
  const metered = options.metered ?? (() => probeMetered({ platform }));
  return {
    kind,
    version: commandKindVersions[kind],
    start(payload, ctx): Execution {
      const probes = options.probes ?? probesForPlatform(platform, { tempDir: path.join(ctx.stateDir, 'scripts') });
      const controller = new AbortController();
      const deadline = Date.now() + payload.timeoutSeconds * 1000;
      let stopped: StopReason | 'timeout' | undefined;
      let current: ShellExecution | undefined;
      const timer = setTimeout(() => {
        stopped ??= 'timeout';
        controller.abort();
      }, payload.timeoutSeconds * 1000);
      const done = runSoftwareCommand(kind, payload, ctx, {
        probes,
        platform,
        requirementFacts,
        metered,
        signal: controller.signal,
        deadline,
        running: (execution) => (current = execution),
        stoppedBy: () => stopped,
      }).finally(() => clearTimeout(timer));
      return {
        done,
        stop(reason) {
          stopped ??= reason;
          controller.abort();
          current?.stop(reason);
        },
      };
    },
  };
}

interface RunContext {
  probes: DetectionProbes;
  platform: NodeJS.Platform;
  requirementFacts: (cacheDir: string) => Promise<RequirementFacts>;
  metered: () => Promise<MeteredState>;
  signal: AbortSignal;
  deadline: number;
  running(execution: ShellExecution | undefined): void;
  stoppedBy(): StopReason | 'timeout' | undefined;
}

async function runSoftwareCommand(
  kind: SoftwareKind,
  payload: SoftwarePayload,
  ctx: HandlerContext,
  run: RunContext,
): Promise<ExecutionOutcome> {
  const installing = kind === 'software.install';
  const startedAt = new Date();
  const t0 = performance.now();
  const say = (line: string) => ctx.output('stdout', Buffer.from(`[opsconductor] ${line}\n`));
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
  const report = newReport();
  const workDir = path.join(ctx.stateDir, 'software', ctx.commandId);
  const pins: ArtifactPin[] = [];
  const secondsLeft = () => Math.max(1, Math.ceil((run.deadline - Date.now()) / 1000));
  // One bucket for the whole command: its artifacts, dependencies' included, share the cap.
  const maxRate = payload.network?.maxBytesPerSecond;
  const throttle = maxRate ? new DownloadThrottle(maxRate) : undefined;
  if (throttle) say(`downloads are capped at ${maxRate} bytes/s`);

  const detect = async (version: SoftwareDependency, when: string): Promise<boolean | null> => {
    if (!version.detection) return null;
    const result = await evaluateDetection(version.detection, run.probes, { signal: run.signal });
    say(`detection ${when}: ${describeDetection(result)}`);
    for (const entry of result.trace)
      say(`  ${entry.rule}: ${entry.matched === null ? 'unknown' : entry.matched ? 'yes' : 'no'} (${entry.detail})`);
    return result.detected;
  };

  /** Runs a process to its end (or the command's), its output streamed to the command's. */
  const execute = async (invocation: ReturnType<typeof shellInvocation>): Promise<ExecutionOutcome> => {
    run.signal.throwIfAborted();
    const execution = executeProcess({
      commandId: ctx.commandId,
      invocation,
      timeoutSeconds: secondsLeft(),
      env: ctx.env,
      killGraceMs: ctx.killGraceMs,
      cwd: workDir,
      onOutput: (stream, data) => ctx.output(stream, data),
      onSpawn: (pid) => ctx.spawned(pid),
    });
    run.running(execution);
    try {
      return await execution.done;
    } finally {
      run.running(undefined);
    }
  };

  const hook = async (dir: string, name: string, hookSpec: InstallHook | undefined): Promise<void> => {
    if (!hookSpec) return;
    const file = path.join(dir, `${name}${SCRIPT_EXTENSIONS[hookSpec.interpreter]}`);
    await writeFile(file, hookSpec.script, { mode: 0o700 });
    say(`running the ${name} hook`);
    const outcome = await execute(scriptInvocation(hookSpec.interpreter, file, run.platform));
    if (outcome.status !== 'succeeded')
      throw new Ended(
        'failed',
        `the ${name} hook ${outcome.exitCode === null ? (outcome.error ?? outcome.status) : `exited with ${outcome.exitCode}`}`,
      );
  };

  /**
   * Installs or uninstalls one version (the command's, or a dependency), filling `r`; ends by throwing Ended for any
   * outcome but the installer's own success. `dir` is its work directory; `beforeArtifacts` runs once detection and
   * requirements say to go on (the command's dependencies are installed there).
   */
  const apply = async (
    version: SoftwareDependency,
    installing: boolean,
    r: SoftwareCommandReport,
    dir: string,
    beforeArtifacts?: () => Promise<void>,
  ): Promise<void> => {
    await mkdir(dir, { recursive: true, mode: 0o700 });

    // 1. Already in the desired state?
    r.detectedBefore = await detect(version, 'before');
    if (r.detectedBefore === null && version.detection)
      throw new Ended('detection_failed', 'detection could not tell whether the version is installed; nothing was changed');
    if (installing && r.detectedBefore === true) throw new Ended('already_installed', 'already installed');
    if (!installing && r.detectedBefore === false) throw new Ended('not_installed', 'not installed: nothing to uninstall');

    // 2. Requirements (installs only: removing software needs none).
    if (installing && version.requirements) {
      const check = checkRequirements(version.requirements, await run.requirementFacts(ctx.depot.cache.dir));
      if (!check.ok) throw new Ended('requirement_not_met', check.unmet.join('; '));
    }

    await beforeArtifacts?.();

    // 3. Artifacts: every manifest verified before anything is downloaded.
    const signed = version.artifacts ?? [];
    const unsigned = (version.artifactIds?.length ?? 0) - signed.length;
    if (unsigned > 0)
      throw new Ended(
        'download_failed',
        `the server sent no signed manifest for ${unsigned} of the version's artifacts (no active signing key, or no enabled source holds them)`,
      );
    const manifests = signed.map((s) => {
      const verified = verifyManifest(s, ctx.depot.trustedKeys(), ctx.depot.serverNow(), payload.timeoutSeconds + MANIFEST_GRACE_SECONDS);
      if (!verified.ok) throw new Ended('signature_invalid', verified.detail);
      if (verified.manifest.versionId !== version.package.versionId)
        throw new Ended('signature_invalid', `a manifest is signed for another package version (${verified.manifest.versionId})`);
      return verified.manifest;
    });
    const fetched: FetchedArtifact[] = [];
    if (manifests.length > 0) ctx.phase?.('downloading');
    for (const manifest of manifests) {
      say(`getting ${manifest.fileName} (${manifest.size} bytes, SHA-256 ${manifest.sha256})`);
      const result = await fetchArtifact(manifest, {
        cache: ctx.depot.cache,
        client: ctx.client,
        platform: run.platform,
        signal: run.signal,
        log: ctx.log,
        ...(throttle ? { throttle } : {}),
      });
      r.bytesDownloaded += result.bytesDownloaded;
      for (const attempt of result.attempts)
        if (attempt.failure)
          say(`  source ${attempt.sourceId} (${attempt.kind}): ${attempt.failure}${attempt.error ? `: ${attempt.error}` : ''}`);
      if (!result.ok) throw new Ended(result.reason, result.detail);
      pins.push(result.pin);
      fetched.push(result);
      say(result.fromCache ? '  from the cache' : `  from source ${result.sourceId}`);
    }
    if (fetched[0]) {
      r.sourceId = fetched[0].sourceId;
      r.fromCache = fetched.every((f) => f.fromCache);
    }
    const staged = await stageArtifacts(
      fetched.map((f) => ({ manifest: f.manifest, path: f.path })),
      path.join(dir, 'files'),
    );

    // 4. The installer, between its hooks.
    ctx.phase?.('installing');
    if (installing) await hook(dir, 'pre-install', version.preHook);
    const shell = installerShell(version.installerType, run.platform);
    const logFile = path.join(dir, installing ? 'install.log' : 'uninstall.log');
    let line: string;
    try {
      line = renderCommand(
        version.command,
        { installer: staged[0], log: logFile, productCode: version.productCode, packageName: version.packageName },
        shell,
      );
    } catch (err) {
      throw new Ended('failed', `the ${installing ? 'install' : 'uninstall'} command cannot be run: ${(err as Error).message}`);
    }
    say(`running: ${line}`);
    const outcome = await execute(shellInvocation(shell, line, run.platform));
    const tail = await logTail(logFile);
    if (tail) {
      say(`installer log${tail.truncated ? ` (last ${INSTALLER_LOG_TAIL_BYTES / 1024} KiB)` : ''}:`);
      ctx.output('stdout', Buffer.from(tail.text.endsWith('\n') ? tail.text : `${tail.text}\n`));
    }
    if (outcome.exitCode === null) throw new Ended('failed', outcome.error ?? `the installer ended ${outcome.status}`);
    r.installerExitCode = outcome.exitCode;
    const exit = classifyExitCode(outcome.exitCode, version.successExitCodes, version.rebootExitCodes);
    if (exit === 'failure') throw new Ended('failed', `the ${installing ? 'installer' : 'uninstaller'} exited with ${outcome.exitCode}`);
    // A dependency that needed a restart already said so in `r`.
    r.rebootRequired ||= exit === 'success_reboot' || version.reboot === 'always';
    if (installing) await hook(dir, 'post-install', version.postHook);

    // 5. Did it work? A restart pending may hide the change until then: detection decides only when it can.
    r.detectedAfter = await detect(version, 'after');
    if (r.detectedAfter === (installing ? false : true) && exit !== 'success_reboot')
      throw new Ended(
        'failed',
        `the ${installing ? 'installer' : 'uninstaller'} exited with ${outcome.exitCode}, but detection ${installing ? 'does not find' : 'still finds'} the version`,
      );
    r.outcome = exit === 'success_reboot' ? 'reboot_required' : installing ? 'installed' : 'uninstalled';
  };

  /** The command's dependencies, in order: each one present or installed, or the command ends with its outcome. */
  const installDependencies = async (): Promise<void> => {
    for (const [i, dependency] of (payload.dependencies ?? []).entries()) {
      const label = `${dependency.package.name} ${dependency.package.version}`;
      say(`dependency ${label}:`);
      const r = newReport();
      try {
        await apply(dependency, true, r, path.join(workDir, `dependency-${i}`));
      } catch (err) {
        if (!(err instanceof Ended)) throw err;
        if (!(successfulSoftwareOutcomes as readonly string[]).includes(err.outcome))
          throw new Ended(err.outcome, `dependency ${label}: ${err.detail}`);
        r.outcome = err.outcome;
      } finally {
        report.bytesDownloaded += r.bytesDownloaded;
      }
      say(`dependency ${label}: ${r.outcome.replaceAll('_', ' ')}`);
      if (r.rebootRequired) report.rebootRequired = true;
    }
  };

  /**
   * `network.skipMetered`: on a metered connection nothing is downloaded — an install (package managers download
   * too), or an uninstall that needs its artifacts — and the command ends deferred_metered for a later attempt.
   */
  const checkMetered = async (): Promise<void> => {
    if (!payload.network?.skipMetered) return;
    if (!installing && !(payload.artifactIds?.length || payload.artifacts?.length)) return;
    const state = await run.metered();
    say(`metered connection: ${state.metered === null ? 'cannot tell, so not metered' : state.metered ? 'yes' : 'no'} (${state.how})`);
    if (state.metered)
      throw new Ended(
        'deferred_metered',
        'the device is on a metered connection and the network policy skips those: nothing was downloaded or changed',
      );
  };

  try {
    await apply(payload, installing, report, workDir, async () => {
      await checkMetered();
      if (installing) await installDependencies();
    });
  } catch (err) {
    if (err instanceof Ended) {
      report.outcome = err.outcome;
      report.detail = err.detail.slice(0, 2000);
    } else if (!run.stoppedBy()) {
      report.outcome = 'failed';
      report.detail = (err instanceof Error ? err.message : String(err)).slice(0, 2000);
    }
  } finally {
    await Promise.all(pins.map((pin) => pin.release().catch(() => {})));
    await rm(workDir, { recursive: true, force: true }).catch(() => {});
  }

  const stopped = run.stoppedBy();
  const succeeded = (successfulSoftwareOutcomes as readonly string[]).includes(report.outcome) && !stopped;
  if (stopped) report.detail ??= stopped === 'timeout' ? `timed out after ${payload.timeoutSeconds} s` : `stopped (${stopped})`;
  say(`outcome: ${report.outcome}${report.detail && !succeeded ? `: ${report.detail}` : ''}`);
  if (succeeded && report.rebootRequired && payload.reboot !== 'never') say('the device restarts once this result has reached the server');
  const status: ExecutionOutcome['status'] =
    stopped === 'timeout' ? 'timed_out' : stopped === 'cancel' ? 'cancelled' : succeeded ? 'succeeded' : 'failed';
  return {
    status,
    exitCode: report.installerExitCode ?? (succeeded ? 0 : null),
    signal: null,
    ...(status === 'succeeded' ? {} : { error: stopped === 'shutdown' ? 'agent stopped' : `${report.outcome}: ${report.detail ?? ''}` }),
    startedAt,
    finishedAt: new Date(),
    durationMs: Math.max(0, Math.round(performance.now() - t0)),
    software: report,
  };
}

/** Both software handlers. */
export function createSoftwareHandlers(options: SoftwareHandlerOptions = {}): CommandHandler[] {
  return [createSoftwareHandler('software.install', options), createSoftwareHandler('software.uninstall', options)] as CommandHandler[];
}
