/**
 * The software.install / software.uninstall handler on this machine: real installer processes (sh scripts),
 * real files for detection, artifacts from a share directory, manifests signed with a test depot key. What
 * must never run does not (a marker file tells), and every outcome is the precise one.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandPayloadOf } from '@opsconductor/contracts/commands';
import type { SignedManifest } from '@opsconductor/contracts/software';
import { ArtifactCache } from '../src/depot/cache.ts';
import type { ExecutionOutcome } from '../src/executor.ts';
import { createSoftwareHandlers, installerShell, logTail, type SoftwareHandlerOptions } from '../src/handlers/software.ts';
import type { HandlerContext } from '../src/handlers/types.ts';
import { AgentHttpClient } from '../src/http.ts';
import { silentLogger } from '../src/log.ts';
import { depotKey, manifestFor, sha256, signManifestText, type DepotKey } from './support/depot.ts';
import { tempDir } from './support/util.ts';

const teardown: (() => void)[] = [];
afterEach(() => {
  for (const fn of teardown.splice(0)) fn();
});

type Payload = CommandPayloadOf<'software.install' | 'software.uninstall'>;

interface Setup {
  dir: string;
  key: DepotKey;
  marker: string;
  share: string;
  /** A signed manifest for `bytes` on the share (written there), for `versionId`. */
  artifact(bytes: Buffer, fileName: string, versionId: string, key?: DepotKey): SignedManifest;
  run(
    payload: Payload,
    options?: SoftwareHandlerOptions & { stopAfterMs?: number; stop?: 'cancel' | 'shutdown' },
  ): Promise<{ outcome: ExecutionOutcome; output: string; phases: string[] }>;
}

function setup(): Setup {
  const { dir, cleanup } = tempDir('opsconductor-software-test-');
  teardown.push(cleanup);
  const key = depotKey();
  const share = path.join(dir, 'share');
  mkdirSync(share);
  const cache = new ArtifactCache({ dir: path.join(dir, 'cache'), maxBytes: 64 * 1024 ** 2 });
  return {
    dir,
    key,
    share,
    marker: path.join(dir, 'installed.marker'),
    artifact(bytes, fileName, versionId, signer = key) {
      const file = path.join(share, sha256(bytes));
      writeFileSync(file, bytes);
      const manifest = manifestFor(bytes, [{ kind: 'share', sourceId: randomUUID(), mountPath: file }], { fileName, versionId });
      return signManifestText(JSON.stringify(manifest), signer);
    },
    async run(payload, options = {}) {
      const chunks: Buffer[] = [];
      const phases: string[] = [];
      const ctx: HandlerContext = {
        commandId: randomUUID(),
        output: (_stream, data) => chunks.push(data),
        env: process.env,
        killGraceMs: 500,
        stateDir: path.join(dir, 'state'),
        bootId: 'test-boot',
        client: new AgentHttpClient({ serverUrl: 'http://127.0.0.1:9', deviceSecret: 'secret', channel: false }),
        log: silentLogger,
        spawned: () => {},
        awaitingReboot: () => {},
        phase: (phase) => phases.push(phase),
        depot: { cache, trustedKeys: () => [key.trusted], serverNow: () => Date.now() },
      };
      const handler = createSoftwareHandlers(options).find((h) => h.kind === payload.kind)!;
      const execution = handler.start(payload as never, ctx);
      if (options.stopAfterMs !== undefined) setTimeout(() => execution.stop(options.stop ?? 'cancel'), options.stopAfterMs);
      const outcome = (await execution.done) as ExecutionOutcome;
      return { outcome, output: Buffer.concat(chunks).toString('utf8'), phases };
    },
  };
}

/** An sh "installer" that writes the marker file (with its arguments) and exits with `exitCode`. */
const installer = (marker: string, exitCode = 0) =>
  Buffer.from(`#!/bin/sh\necho "installing $*"\necho done > '${marker}'\nexit ${exitCode}\n`);

function payload(s: Setup, overrides: Partial<Payload> = {}): Payload {
  return {
    kind: 'software.install',
    package: { versionId: randomUUID(), name: 'Example', version: '1.2.3' },
    installerType: 'sh',
    command: 'sh {installer} --log {log}',
    successExitCodes: [0],
    rebootExitCodes: [],
    reboot: 'never',
    timeoutSeconds: 60,
    detection: { type: 'file', path: s.marker, check: 'exists' },
    ...overrides,
  } as Payload;
}

/** The install payload with its installer signed for it. */
function withInstaller(s: Setup, exitCode = 0, overrides: Partial<Payload> = {}): Payload {
  const p = payload(s, overrides);
  return { ...p, artifacts: [s.artifact(installer(s.marker, exitCode), 'setup.sh', p.package.versionId)] } as Payload;
}

describe('software.install', () => {
  it('installs: detection before and after, the installer run with its placeholders, the source reported', async () => {
    const s = setup();
    const p = withInstaller(s);
    const { outcome, output } = await s.run(p);
    expect(outcome).toMatchObject({
      status: 'succeeded',
      exitCode: 0,
      software: {
        outcome: 'installed',
        detectedBefore: false,
        detectedAfter: true,
        installerExitCode: 0,
        fromCache: false,
        rebootRequired: false,
      },
    });
    expect(outcome.software!.sourceId).toEqual(expect.any(String));
    expect(readFileSync(s.marker, 'utf8')).toBe('done\n');
    expect(output).toMatch(/running: sh '\/.*\/files\/setup\.sh' --log '\/.*\/install\.log'/);
    expect(output).toMatch(/installing --log \/.*install\.log/);

    // The same command again: detected, nothing runs.
    writeFileSync(s.marker, 'kept\n');
    const again = await s.run(p);
    expect(again.outcome).toMatchObject({
      status: 'succeeded',
      software: { outcome: 'already_installed', detectedBefore: true, installerExitCode: null },
    });
    expect(readFileSync(s.marker, 'utf8')).toBe('kept\n');
  });

  it('refuses a manifest signed by a key it does not trust, or for another version: signature_invalid, nothing runs', async () => {
    const s = setup();
    const p = payload(s);
    const foreign = await s.run({
      ...p,
      artifacts: [s.artifact(installer(s.marker), 'setup.sh', p.package.versionId, depotKey('k1'))],
    } as Payload);
    expect(foreign.outcome).toMatchObject({ status: 'failed', software: { outcome: 'signature_invalid', bytesDownloaded: 0 } });
    expect(foreign.outcome.software!.detail).toMatch(/does not verify/);
    const other = await s.run({ ...p, artifacts: [s.artifact(installer(s.marker), 'setup.sh', randomUUID())] } as Payload);
    expect(other.outcome).toMatchObject({ status: 'failed', software: { outcome: 'signature_invalid' } });
    const tampered = s.artifact(installer(s.marker), 'setup.sh', p.package.versionId);
    const edited = { ...tampered, manifest: tampered.manifest.replace('setup.sh', 'evil.sh') };
    expect((await s.run({ ...p, artifacts: [edited] } as Payload)).outcome.software!.outcome).toBe('signature_invalid');
    expect(existsSync(s.marker)).toBe(false);
  });

  it('refuses bytes that do not match the signed hash: hash_mismatch, nothing runs', async () => {
    const s = setup();
    const p = withInstaller(s);
    const manifest = JSON.parse(p.artifacts![0]!.manifest);
    writeFileSync(manifest.sources[0].mountPath, installer(s.marker, 7)); // same size, other bytes
    const { outcome, output } = await s.run(p);
    expect(outcome).toMatchObject({ status: 'failed', exitCode: null, software: { outcome: 'hash_mismatch', installerExitCode: null } });
    expect(output).toContain('(share): hash_mismatch');
    expect(existsSync(s.marker)).toBe(false);
  });

  it('reports download_failed when the server could not sign an artifact (artifactIds without manifests)', async () => {
    const s = setup();
    const { outcome } = await s.run(payload(s, { artifactIds: [randomUUID()] }));
    expect(outcome).toMatchObject({ status: 'failed', software: { outcome: 'download_failed' } });
    expect(outcome.software!.detail).toMatch(/no signed manifest for 1/);
  });

  it('checks requirements before downloading anything', async () => {
    const s = setup();
    const p = withInstaller(s, 0, { requirements: { minRamMb: 4096, architectures: ['arm64'] } });
    const facts = async () => ({
      platform: 'linux' as const,
      osVersion: '12',
      architecture: 'x64' as const,
      freeDiskMb: 10_000,
      ramMb: 2048,
    });
    const { outcome } = await s.run(p, { requirementFacts: facts });
    expect(outcome).toMatchObject({ status: 'failed', software: { outcome: 'requirement_not_met', bytesDownloaded: 0 } });
    expect(outcome.software!.detail).toBe('runs on arm64, this device is x64; needs 4096 MiB RAM, has 2048');
    expect(existsSync(s.marker)).toBe(false);
  });

  it('stops when detection cannot tell (a probe failed): detection_failed, nothing runs', async () => {
    const s = setup();
    const p = withInstaller(s, 0, { detection: { type: 'script', interpreter: 'sh', script: 'exit 0', timeoutSeconds: 5 } });
    const probes = {
      runScript: async () => {
        throw new Error('the interpreter crashed');
      },
    } as unknown as SoftwareHandlerOptions['probes'];
    const { outcome } = await s.run(p, { probes });
    expect(outcome).toMatchObject({ status: 'failed', software: { outcome: 'detection_failed', detectedBefore: null } });
    expect(existsSync(s.marker)).toBe(false);
  });

  it('reads exit codes: a reboot code is success with a restart needed, others fail with the code', async () => {
    const s = setup();
    // 3010 on Windows; POSIX exit codes are 8 bits, so this installer says 194.
    const reboot = await s.run(withInstaller(s, 194, { rebootExitCodes: [194] }));
    expect(reboot.outcome).toMatchObject({
      status: 'succeeded',
      exitCode: 194,
      software: { outcome: 'reboot_required', rebootRequired: true, installerExitCode: 194 },
    });

    const t = setup();
    const failed = await t.run(withInstaller(t, 103));
    expect(failed.outcome).toMatchObject({ status: 'failed', exitCode: 103, software: { outcome: 'failed', installerExitCode: 103 } });
    expect(failed.outcome.error).toBe('failed: the installer exited with 103');

    const u = setup();
    const always = await u.run(withInstaller(u, 0, { reboot: 'always' }));
    expect(always.outcome.software).toMatchObject({ outcome: 'installed', rebootRequired: true });
  });

  it('fails an installer that exits 0 without installing what detection looks for', async () => {
    const s = setup();
    const p = payload(s);
    const noop = { ...p, artifacts: [s.artifact(Buffer.from('#!/bin/sh\nexit 0\n'), 'noop.sh', p.package.versionId)] } as Payload;
    const { outcome } = await s.run(noop);
    expect(outcome).toMatchObject({ status: 'failed', software: { outcome: 'failed', installerExitCode: 0, detectedAfter: false } });
    expect(outcome.software!.detail).toMatch(/detection does not find the version/);
  });

  it('runs the pre-install hook first: when it fails the installer does not run; the post-install hook runs after it', async () => {
    const s = setup();
    const failing = await s.run(withInstaller(s, 0, { preHook: { interpreter: 'sh', script: 'echo checking; exit 4' } }));
    expect(failing.outcome).toMatchObject({
      status: 'failed',
      software: { outcome: 'failed', detail: 'the pre-install hook exited with 4' },
    });
    expect(existsSync(s.marker)).toBe(false);

    const order = path.join(s.dir, 'order');
    const ok = await s.run(
      withInstaller(s, 0, {
        preHook: { interpreter: 'sh', script: `echo pre >> '${order}'` },
        postHook: { interpreter: 'sh', script: `test -f '${s.marker}' && echo post >> '${order}'` },
      }),
    );
    expect(ok.outcome.software!.outcome).toBe('installed');
    expect(readFileSync(order, 'utf8')).toBe('pre\npost\n');
  });

  it('attaches the tail of the installer log, bounded', async () => {
    const s = setup();
    const p = payload(s, { command: `sh {installer} {log}` });
    const script = Buffer.from(
      `#!/bin/sh\ni=0\nwhile [ $i -lt 5000 ]; do echo "log line $i" >> "$1"; i=$((i+1)); done\necho done > '${s.marker}'\n`,
    );
    const { output } = await s.run({ ...p, artifacts: [s.artifact(script, 'setup.sh', p.package.versionId)] } as Payload);
    expect(output).toContain('installer log (last 64 KiB):');
    expect(output).toContain('log line 4999\n');
    expect(output).not.toContain('log line 0\n');
  });

  it('ends timed_out at its timeout and cancelled when cancelled, killing the installer', async () => {
    const s = setup();
    const p = payload(s, { timeoutSeconds: 1 });
    const slow = Buffer.from(`#!/bin/sh\nsleep 30\necho done > '${s.marker}'\n`);
    const timedOut = await s.run({ ...p, artifacts: [s.artifact(slow, 'slow.sh', p.package.versionId)] } as Payload);
    expect(timedOut.outcome).toMatchObject({ status: 'timed_out', software: { outcome: 'failed', detail: 'timed out after 1 s' } });

    const q = payload(s, { timeoutSeconds: 60 });
    const cancelled = await s.run({ ...q, artifacts: [s.artifact(slow, 'slow.sh', q.package.versionId)] } as Payload, { stopAfterMs: 500 });
    expect(cancelled.outcome.status).toBe('cancelled');
    expect(existsSync(s.marker)).toBe(false);
  });
});

describe('software.install with dependencies', () => {
  /** A dependency that writes its own marker, detected by it. */
  function dependency(s: Setup, name: string, exitCode = 0) {
    const marker = path.join(s.dir, `${name}.marker`);
    const versionId = randomUUID();
    return {
      marker,
      spec: {
        package: { versionId, name, version: '1.0' },
        installerType: 'sh',
        command: 'sh {installer}',
        successExitCodes: [0],
        rebootExitCodes: [],
        reboot: 'never',
        timeoutSeconds: 30,
        detection: { type: 'file', path: marker, check: 'exists' },
        artifacts: [s.artifact(Buffer.from(`#!/bin/sh\necho '${name}' > '${marker}'\nexit ${exitCode}\n`), `${name}.sh`, versionId)],
      } as NonNullable<Payload['dependencies']>[number],
    };
  }

  it('installs the dependencies first, in order, skipping one that is there', async () => {
    const s = setup();
    const lib = dependency(s, 'lib');
    const present = dependency(s, 'present');
    writeFileSync(present.marker, 'already\n');
    const p = payload(s);
    // The command's own installer needs lib installed before it runs.
    const app = Buffer.from(`#!/bin/sh\ntest -f '${lib.marker}' || exit 9\necho done > '${s.marker}'\n`);
    const { outcome, output } = await s.run({
      ...p,
      dependencies: [present.spec, lib.spec],
      artifacts: [s.artifact(app, 'app.sh', p.package.versionId)],
    } as Payload);
    expect(outcome).toMatchObject({ status: 'succeeded', software: { outcome: 'installed', installerExitCode: 0 } });
    expect(output).toContain('dependency present 1.0: already installed');
    expect(output).toContain('dependency lib 1.0: installed');
    expect(output.indexOf('dependency lib 1.0: installed')).toBeLessThan(output.indexOf("/files/app.sh'"));
    expect(readFileSync(present.marker, 'utf8')).toBe('already\n');
    expect(readFileSync(lib.marker, 'utf8')).toBe('lib\n');
  });

  it('stops at a dependency that fails, with its outcome: the version itself is not installed', async () => {
    const s = setup();
    const broken = dependency(s, 'broken', 5);
    const { outcome, output } = await s.run({ ...withInstaller(s), dependencies: [broken.spec] } as Payload);
    expect(outcome).toMatchObject({ status: 'failed', software: { outcome: 'failed', installerExitCode: null } });
    expect(outcome.software!.detail).toBe('dependency broken 1.0: the installer exited with 5');
    expect(output).not.toContain("/files/setup.sh'");
    expect(existsSync(s.marker)).toBe(false);
  });

  it('installs no dependency when the version is already there', async () => {
    const s = setup();
    writeFileSync(s.marker, 'present\n');
    const lib = dependency(s, 'lib');
    const { outcome } = await s.run({ ...withInstaller(s), dependencies: [lib.spec] } as Payload);
    expect(outcome.software!.outcome).toBe('already_installed');
    expect(existsSync(lib.marker)).toBe(false);
  });
});

describe('software.uninstall', () => {
  it('uninstalls what detection finds, and reports not_installed when there is nothing to remove', async () => {
    const s = setup();
    writeFileSync(s.marker, 'present\n');
    const p = payload(s, { kind: 'software.uninstall', command: `rm -f '${s.marker}'` } as Partial<Payload>);
    const removed = await s.run(p);
    expect(removed.outcome).toMatchObject({
      status: 'succeeded',
      software: { outcome: 'uninstalled', detectedBefore: true, detectedAfter: false },
    });
    expect(existsSync(s.marker)).toBe(false);
    const again = await s.run(p);
    expect(again.outcome).toMatchObject({ status: 'succeeded', software: { outcome: 'not_installed', installerExitCode: null } });
  });
});

describe('installer command lines per platform', () => {
  it('runs msi, exe and package managers by cmd on Windows, ps1 and msix by PowerShell, the rest by sh', () => {
    expect(installerShell('msi', 'win32')).toBe('cmd');
    expect(installerShell('exe', 'win32')).toBe('cmd');
    expect(installerShell('winget', 'win32')).toBe('cmd');
    expect(installerShell('ps1', 'win32')).toBe('powershell');
    expect(installerShell('msix', 'win32')).toBe('powershell');
    expect(installerShell('deb', 'linux')).toBe('sh');
    expect(installerShell('sh', 'linux')).toBe('sh');
  });

  it('reads a UTF-16LE log (as msiexec may write it) and a UTF-8 one, from their tail', async () => {
    const { dir, cleanup } = tempDir();
    teardown.push(cleanup);
    const utf16 = path.join(dir, 'msi.log');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('MSI (s) Produkt: Ünïcode ✓\r\n'.repeat(3), 'utf16le')]));
    expect((await logTail(utf16))!.text).toBe('MSI (s) Produkt: Ünïcode ✓\r\n'.repeat(3));
    const tail = await logTail(utf16, 40);
    expect(tail!.truncated).toBe(true);
    expect(tail!.text).toBe('Produkt: Ünïcode ✓\r\n'.slice(-20));
    expect(await logTail(path.join(dir, 'missing.log'))).toBeUndefined();
  });
});

describe('network policy and phases', () => {
  it('reports downloading, then installing; a version without artifacts only installs', async () => {
    const s = setup();
    const { outcome, phases } = await s.run(withInstaller(s));
    expect(outcome.software?.outcome).toBe('installed');
    expect(phases).toEqual(['downloading', 'installing']);
    const none = setup();
    const plain = await none.run(payload(none, { installerType: 'sh', command: `echo done > '${none.marker}'` }));
    expect(plain.outcome.software?.outcome).toBe('installed');
    expect(plain.phases).toEqual(['installing']);
  });

  it('skipMetered on a metered connection: deferred_metered, nothing downloaded or run', async () => {
    const s = setup();
    let asked = 0;
    const metered = async () => {
      asked++;
      return { metered: true, how: 'test' };
    };
    const p = { ...withInstaller(s), network: { skipMetered: true } } as Payload;
    const { outcome, output, phases } = await s.run(p, { metered });
    expect(asked).toBe(1);
    expect(outcome).toMatchObject({
      status: 'failed',
      exitCode: null,
      software: { outcome: 'deferred_metered', detectedBefore: false, bytesDownloaded: 0, sourceId: null },
    });
    expect(outcome.software?.detail).toMatch(/metered connection/);
    expect(output).toContain('metered connection: yes (test)');
    expect(phases).toEqual([]);
    expect(existsSync(s.marker)).toBe(false);

    // Not metered (or cannot tell): installs. Without skipMetered the probe is not even asked.
    const free = await s.run({ ...withInstaller(s), network: { skipMetered: true } } as Payload, {
      metered: async () => ({ metered: null, how: 'no probe' }),
    });
    expect(free.outcome.software?.outcome).toBe('installed');
    expect(free.output).toContain('metered connection: cannot tell, so not metered (no probe)');
    const other = setup();
    await other.run(withInstaller(other), { metered });
    expect(asked).toBe(1);
  });

  it('an installed version is reported as such on a metered connection: detection comes first', async () => {
    const s = setup();
    writeFileSync(s.marker, 'there');
    const { outcome } = await s.run({ ...withInstaller(s), network: { skipMetered: true } } as Payload, {
      metered: async () => ({ metered: true, how: 'test' }),
    });
    expect(outcome.software?.outcome).toBe('already_installed');
  });

  it('caps the download at maxBytesPerSecond', async () => {
    const s = setup();
    const p = payload(s);
    const big = Buffer.concat([installer(s.marker), Buffer.from(`# ${'x'.repeat(600 * 1024)}\n`)]);
    const capped = {
      ...p,
      artifacts: [s.artifact(big, 'setup.sh', p.package.versionId)],
      network: { maxBytesPerSecond: 256 * 1024 },
    } as Payload;
    const t0 = performance.now();
    const { outcome, output } = await s.run(capped);
    const elapsedMs = performance.now() - t0;
    expect(outcome.software).toMatchObject({ outcome: 'installed', bytesDownloaded: big.length });
    expect(output).toContain(`downloads are capped at ${256 * 1024} bytes/s`);
    // 600 KiB at 256 KiB/s, less the burst: at least 2 s.
    expect(elapsedMs).toBeGreaterThanOrEqual(2000);
    expect(elapsedMs).toBeLessThan(15_000);
  }, 30_000);
});
