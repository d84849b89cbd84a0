/**
 * Software from the depot end to end, with real installs on this machine: .deb and .rpm packages built here
 * (dpkg-deb, rpmbuild), uploaded, installed by the real agent through a job run (API → Temporal → worker →
 * agent), detected with dpkg-query / rpm, uninstalled. Artifacts come signed with the sources for the device:
 * a tampered mirror and share are refused (nothing runs), a download cut halfway is resumed with a Range
 * request, an unreachable share falls back to the depot, and a second install of the same bytes comes from
 * the agent's cache; an S3 bucket serves through a presigned URL. A deployment with reboot policy `force` and a
 * notice warns the users (a stand-in for wall) and restarts after the notice's delay (a restart command that records it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputOf, startStack, waitForRun, type AgentHandle, type Stack } from '../support/stack.ts';
import { waitFor } from '../support/tools.ts';

const BUILT_IN_DEPOT = '00000000-0000-4000-8000-000000000001';
const suffix = randomUUID().slice(0, 8);
const DEB_NAME = `oc-e2e-hello-${suffix}`;
const RPM_NAME = `oc-e2e-rpm-${suffix}`;

let stack: Stack;
let agent: AgentHandle;
let scratch: string;

/** A .deb with a payload of random bytes (so it does not compress), installing /opt/<name>/payload.bin. */
function buildDeb(name: string, version: string): string {
  const root = join(scratch, `${name}-${version}`);
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, 'opt', name), { recursive: true });
  writeFileSync(join(root, 'opt', name, 'payload.bin'), randomBytes(256 * 1024));
  writeFileSync(
    join(root, 'DEBIAN', 'control'),
    `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: OpsConductor tests <ops@example.com>\nDescription: e2e package\n`,
  );
  chmodSync(join(root, 'DEBIAN'), 0o755);
  const out = `${root}.deb`;
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, out], { stdio: 'pipe' });
  return out;
}

/** A noarch .rpm without dependencies (this Debian machine's rpm database knows no other packages). */
function buildRpm(name: string): string {
  const top = join(scratch, `rpm-${name}`);
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  const spec = join(top, 'SPECS', `${name}.spec`);
  writeFileSync(
    spec,
    [
      `Name: ${name}`,
      'Version: 2.0.1',
      'Release: 3',
      'Summary: e2e rpm',
      'License: MIT',
      'BuildArch: noarch',
      'AutoReqProv: no',
      '%description',
      'e2e.',
      '%install',
      `mkdir -p %{buildroot}/opt/${name} && echo hi > %{buildroot}/opt/${name}/hi.txt`,
      '%files',
      `/opt/${name}/hi.txt`,
      '',
    ].join('\n'),
  );
  execFileSync('rpmbuild', ['-bb', '--define', `_topdir ${top}`, spec], { stdio: 'pipe' });
  const dir = join(top, 'RPMS', 'noarch');
  return join(dir, readdirSync(dir)[0]!);
}

async function upload(file: string): Promise<{ id: string; sha256: string; size: number }> {
  const name = file.split('/').pop()!;
  const res = await fetch(`${stack.apiUrl}/api/v1/depot/artifacts?fileName=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/octet-stream' },
    body: readFileSync(file),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; sha256: string; size: number };
}

async function created(method: string, path: string, body: unknown): Promise<any> {
  const res = await stack.api(method, path, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** A package with one version of `artifactId`, detected by the package manager at that version. */
async function packageVersion(opts: {
  name: string;
  version: string;
  installerType: 'deb' | 'rpm';
  artifactId: string;
  manager: 'dpkg' | 'rpm';
}): Promise<string> {
  const pkg = await created('POST', '/api/v1/software/packages', { name: opts.name, platform: 'linux' });
  const version = await created('POST', `/api/v1/software/packages/${pkg.id}/versions`, {
    version: opts.version,
    installerType: opts.installerType,
    artifactIds: [opts.artifactId],
    packageName: opts.name,
    timeoutSeconds: 300,
    detection: { type: 'linux_package', manager: opts.manager, name: opts.name, version: [{ op: 'eq', value: opts.version }] },
  });
  return version.id;
}

/** The package of a version, and where it is installed as the API says. */
async function installations(versionId: string): Promise<any[]> {
  const version = (await stack.api('GET', `/api/v1/software/versions/${versionId}`)).body;
  const res = await stack.api('GET', `/api/v1/software/packages/${version.packageId}/installations`);
  expect(res.status).toBe(200);
  return res.body.items;
}

/** Runs install or uninstall of a version on the agent's device; returns the device's target and its output. */
async function software(kind: 'software.install' | 'software.uninstall', versionId: string) {
  const run = await created('POST', '/api/v1/job-runs', { deviceIds: [agent.deviceId], action: { kind, versionId } });
  const done = await waitForRun(stack, run.id, 180_000);
  const target = done.targets.find((t: any) => t.deviceId === agent.deviceId);
  return { run: done, target, output: await outputOf(stack, done.id, agent.deviceId) };
}

const dpkgVersion = (name: string): string | null => {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}\t${Version}', name], { encoding: 'utf8' });
  const [status, version] = r.stdout.split('\t');
  return r.status === 0 && status === 'install ok installed' ? version! : null;
};

/** Only this source holds the artifact (the built-in depot's copy is forgotten, as if it were only on the mirror). */
async function onlyAt(artifactId: string, sourceIds: string[]) {
  const { prisma } = stack.database.db;
  await prisma.artifactLocation.deleteMany({ where: { artifactId } });
  await prisma.artifactLocation.createMany({ data: sourceIds.map((sourceId) => ({ artifactId, sourceId })) });
}

interface Mirror {
  url: string;
  requests: { path: string; range: string | undefined }[];
  mode: 'tampered' | 'cut-once' | 'honest';
  close(): Promise<void>;
}

/** A mirror serving depot files from `files` (sha256 → bytes), tampered or cutting its first answer halfway. */
async function mirror(files: Map<string, Buffer>, mode: Mirror['mode']): Promise<Mirror> {
  const requests: Mirror['requests'] = [];
  let cut = false;
  const server: Server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', range: req.headers.range });
    const sha = (req.url ?? '').split('/').pop()!;
    const bytes = files.get(sha);
    if (!bytes) return res.writeHead(404).end();
    const body = mode === 'tampered' ? Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from([bytes.at(-1)! ^ 0xff])]) : bytes;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
      return res.end(body.subarray(start));
    }
    res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' });
    if (mode === 'cut-once' && !cut) {
      cut = true;
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.destroy(), 50));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    mode,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'oc-software-e2e-'));
  stack = await startStack();
  agent = await stack.enrollAgent();
  // Restarting the test machine is not an option: the agent's restart command records that it was asked.
  await agent.start({ OPSCONDUCTOR_AGENT_REBOOT_COMMAND: `echo restart >> '${join(scratch, 'restarts')}'` });
}, 240_000);
afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await stack?.close();
  for (const name of [DEB_NAME, `${DEB_NAME}-tampered`, `${DEB_NAME}-resumed`]) spawnSync('dpkg', ['--purge', name], { stdio: 'ignore' });
  spawnSync('rpm', ['-e', RPM_NAME], { stdio: 'ignore' });
  rmSync(scratch, { recursive: true, force: true });
});

describe('software on a real agent', () => {
  it('installs a .deb, detects it, skips a second install, uninstalls it, and installs it again from the cache', async () => {
    const artifact = await upload(buildDeb(DEB_NAME, '1.0-1'));
    const versionId = await packageVersion({
      name: DEB_NAME,
      version: '1.0-1',
      installerType: 'deb',
      artifactId: artifact.id,
      manager: 'dpkg',
    });

    const first = await software('software.install', versionId);
    expect(first.run).toMatchObject({ kind: 'software.install', command: `install ${DEB_NAME} 1.0-1`, status: 'succeeded' });
    expect(first.target).toMatchObject({
      status: 'succeeded',
      exitCode: 0,
      software: {
        outcome: 'installed',
        detectedBefore: false,
        detectedAfter: true,
        installerExitCode: 0,
        rebootRequired: false,
        sourceId: BUILT_IN_DEPOT,
        fromCache: false,
        bytesDownloaded: artifact.size,
      },
    });
    expect(dpkgVersion(DEB_NAME)).toBe('1.0-1');
    expect(existsSync(`/opt/${DEB_NAME}/payload.bin`)).toBe(true);
    expect(first.output).toContain(`detection before: not found`);
    expect(first.output).toContain(`detection after: found`);
    // The agent reported its phases while it ran (the server keeps the last one it took before the result).
    const phase = await stack.database.db.pool.query<{ phase: string | null }>(
      `SELECT ac.phase FROM agent_commands ac JOIN job_run_devices jrd ON jrd.id = ac.job_run_device_id WHERE jrd.job_run_id = $1`,
      [first.run.id],
    );
    expect(['downloading', 'installing']).toContain(phase.rows[0]?.phase);
    expect(await installations(versionId)).toEqual([
      expect.objectContaining({
        deviceId: agent.deviceId,
        version: '1.0-1',
        state: 'installed',
        outcome: 'installed',
        rebootRequired: false,
      }),
    ]);

    // Delivered again (a retried rollout, a second run): detection sees it, nothing runs.
    const again = await software('software.install', versionId);
    expect(again.target).toMatchObject({
      status: 'succeeded',
      software: { outcome: 'already_installed', detectedBefore: true, installerExitCode: null },
    });
    expect(again.output).not.toContain('running:');

    const removed = await software('software.uninstall', versionId);
    expect(removed.run.command).toBe(`uninstall ${DEB_NAME} 1.0-1`);
    expect(removed.target).toMatchObject({
      status: 'succeeded',
      software: { outcome: 'uninstalled', detectedBefore: true, detectedAfter: false },
    });
    expect(dpkgVersion(DEB_NAME)).toBeNull();
    expect(removed.output).toContain(`running: dpkg -r '${DEB_NAME}'`);
    expect(await installations(versionId)).toMatchObject([{ deviceId: agent.deviceId, state: 'not_installed', outcome: 'uninstalled' }]);

    const gone = await software('software.uninstall', versionId);
    expect(gone.target).toMatchObject({ status: 'succeeded', software: { outcome: 'not_installed' } });

    const cached = await software('software.install', versionId);
    expect(cached.target).toMatchObject({
      status: 'succeeded',
      software: { outcome: 'installed', fromCache: true, bytesDownloaded: 0, sourceId: null },
    });
    expect(dpkgVersion(DEB_NAME)).toBe('1.0-1');
  });

  it('installs and uninstalls an .rpm, detected with rpm', async () => {
    const artifact = await upload(buildRpm(RPM_NAME));
    const versionId = await packageVersion({
      name: RPM_NAME,
      version: '2.0.1-3',
      installerType: 'rpm',
      artifactId: artifact.id,
      manager: 'rpm',
    });
    const installed = await software('software.install', versionId);
    expect(installed.target, installed.output).toMatchObject({
      status: 'succeeded',
      software: { outcome: 'installed', detectedAfter: true },
    });
    expect(execFileSync('rpm', ['-q', '--qf', '%{VERSION}-%{RELEASE}', RPM_NAME], { encoding: 'utf8' })).toBe('2.0.1-3');
    const removed = await software('software.uninstall', versionId);
    expect(removed.target).toMatchObject({ status: 'succeeded', software: { outcome: 'uninstalled' } });
    expect(spawnSync('rpm', ['-q', RPM_NAME]).status).not.toBe(0);
  });

  it('refuses tampered bytes from a mirror and from a share: hash_mismatch, and nothing runs', async () => {
    const name = `${DEB_NAME}-tampered`;
    const file = buildDeb(name, '1.0-1');
    const artifact = await upload(file);
    const versionId = await packageVersion({ name, version: '1.0-1', installerType: 'deb', artifactId: artifact.id, manager: 'dpkg' });
    const bytes = readFileSync(file);
    const tampered = await mirror(new Map([[artifact.sha256, bytes]]), 'tampered');
    const shareDir = join(scratch, 'share');
    mkdirSync(join(shareDir, artifact.sha256.slice(0, 2)), { recursive: true });
    writeFileSync(join(shareDir, artifact.sha256.slice(0, 2), artifact.sha256), Buffer.concat([bytes, Buffer.from('appended')]));
    try {
      const http = await created('POST', '/api/v1/depot/sources', {
        kind: 'http',
        name: `tampered mirror ${suffix}`,
        priority: 10,
        settings: { baseUrl: tampered.url },
      });
      const share = await created('POST', '/api/v1/depot/sources', {
        kind: 'share',
        name: `tampered share ${suffix}`,
        priority: 20,
        settings: { mountPath: shareDir },
      });
      await onlyAt(artifact.id, [http.id, share.id]);

      const { target, output } = await software('software.install', versionId);
      expect(target).toMatchObject({
        status: 'failed',
        software: { outcome: 'hash_mismatch', installerExitCode: null, detectedAfter: null },
      });
      expect(target.errorMessage).toMatch(/^hash_mismatch: /);
      expect(output).toContain(`source ${http.id} (http): hash_mismatch`);
      expect(output).toMatch(new RegExp(`source ${share.id} \\(share\\): (hash_mismatch|size_mismatch)`));
      expect(output).not.toContain('running:');
      expect(tampered.requests.length).toBeGreaterThan(0);
      expect(dpkgVersion(name)).toBeNull();
      expect(await installations(versionId)).toMatchObject([{ state: 'failed', outcome: 'hash_mismatch', detail: expect.any(String) }]);
      await stack.api('DELETE', `/api/v1/depot/sources/${http.id}`);
      await stack.api('DELETE', `/api/v1/depot/sources/${share.id}`);
    } finally {
      await tampered.close();
    }
  });

  it('resumes a download cut halfway with a Range request, after an unreachable share fell through', async () => {
    const name = `${DEB_NAME}-resumed`;
    const file = buildDeb(name, '3.1-1');
    const artifact = await upload(file);
    const versionId = await packageVersion({ name, version: '3.1-1', installerType: 'deb', artifactId: artifact.id, manager: 'dpkg' });
    const flaky = await mirror(new Map([[artifact.sha256, readFileSync(file)]]), 'cut-once');
    try {
      const share = await created('POST', '/api/v1/depot/sources', {
        kind: 'share',
        name: `absent share ${suffix}`,
        priority: 1,
        settings: { mountPath: join(scratch, 'not-mounted') },
      });
      const http = await created('POST', '/api/v1/depot/sources', {
        kind: 'http',
        name: `flaky mirror ${suffix}`,
        priority: 5,
        settings: { baseUrl: flaky.url },
      });
      await onlyAt(artifact.id, [share.id, http.id]);

      const { target, output } = await software('software.install', versionId);
      expect(target, output).toMatchObject({
        status: 'succeeded',
        software: { outcome: 'installed', sourceId: http.id, fromCache: false },
      });
      expect(flaky.requests.map((r) => r.range)).toEqual([undefined, `bytes=${Math.floor(artifact.size / 2)}-`]);
      // The first half once, the second half once: nothing downloaded twice.
      expect(target.software.bytesDownloaded).toBe(artifact.size);
      expect(dpkgVersion(name)).toBe('3.1-1');
      await stack.api('DELETE', `/api/v1/depot/sources/${share.id}`);
      await stack.api('DELETE', `/api/v1/depot/sources/${http.id}`);
    } finally {
      await flaky.close();
    }
  });

  it('falls back from an unreachable share to the depot', async () => {
    const name = `${DEB_NAME}-fallback`;
    const artifact = await upload(buildDeb(name, '0.9-1'));
    const versionId = await packageVersion({ name, version: '0.9-1', installerType: 'deb', artifactId: artifact.id, manager: 'dpkg' });
    const share = await created('POST', '/api/v1/depot/sources', {
      kind: 'share',
      name: `unmounted share ${suffix}`,
      priority: 1,
      settings: { mountPath: join(scratch, 'nowhere') },
    });
    await onlyAt(artifact.id, [share.id, BUILT_IN_DEPOT]);
    try {
      const { target, output } = await software('software.install', versionId);
      expect(target, output).toMatchObject({ status: 'succeeded', software: { outcome: 'installed', sourceId: BUILT_IN_DEPOT } });
      expect(output).toContain(`source ${share.id} (share)`);
    } finally {
      spawnSync('dpkg', ['--purge', name], { stdio: 'ignore' });
      await stack.api('DELETE', `/api/v1/depot/sources/${share.id}`);
    }
  });

  it('installs from an S3-compatible bucket the depot was replicated to, through a presigned URL', async () => {
    const name = `${DEB_NAME}-s3`;
    const artifact = await upload(buildDeb(name, '5.0-1'));
    const versionId = await packageVersion({ name, version: '5.0-1', installerType: 'deb', artifactId: artifact.id, manager: 'dpkg' });
    const bucketDir = mkdtempSync(join(scratch, 's3-'));
    const s3 = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: bucketDir,
      configureBuckets: [{ name: 'depot', configs: [] }],
    });
    const { port } = (await s3.run()) as AddressInfo;
    try {
      const bucket = await created('POST', '/api/v1/depot/sources', {
        kind: 's3',
        name: `bucket ${suffix}`,
        priority: 5,
        settings: {
          endpoint: `http://127.0.0.1:${port}`,
          bucket: 'depot',
          prefix: 'e2e/',
          forcePathStyle: true,
          accessKeyId: 'S3RVER',
          secretAccessKey: 'S3RVER',
        },
      });
      const replicated = await stack.api('POST', `/api/v1/depot/sources/${bucket.id}/replicate`);
      expect(replicated.status).toBe(200);
      expect(replicated.body.failed).toEqual([]);
      await onlyAt(artifact.id, [bucket.id]);

      const { target, output } = await software('software.install', versionId);
      expect(target, output).toMatchObject({ status: 'succeeded', software: { outcome: 'installed', sourceId: bucket.id } });
      expect(dpkgVersion(name)).toBe('5.0-1');
      await stack.api('DELETE', `/api/v1/depot/sources/${bucket.id}`);
    } finally {
      spawnSync('dpkg', ['--purge', name], { stdio: 'ignore' });
      await s3.close();
    }
  });

  it('upgrades a real .deb through a one-wave deployment, whose rollback afterwards uninstalls it and reinstalls the version it replaced', async () => {
    const name = `${DEB_NAME}-deployed`;
    const pkg = await created('POST', '/api/v1/software/packages', { name, platform: 'linux' });
    const versions: string[] = [];
    for (const version of ['1.0-1', '2.0-1']) {
      const artifact = await upload(buildDeb(name, version));
      const made = await created('POST', `/api/v1/software/packages/${pkg.id}/versions`, {
        version,
        installerType: 'deb',
        artifactIds: [artifact.id],
        packageName: name,
        timeoutSeconds: 300,
        detection: { type: 'linux_package', manager: 'dpkg', name, version: [{ op: 'eq', value: version }] },
      });
      versions.push(made.id as string);
    }
    const [older, newer] = versions as [string, string];
    const until = (id: string, status: string) =>
      waitFor(
        `deployment ${id} ${status}`,
        async () => {
          const d = (await stack.api('GET', `/api/v1/deployments/${id}`)).body;
          return d.status === status ? d : undefined;
        },
        180_000,
        250,
      );
    try {
      expect((await software('software.install', older)).target).toMatchObject({ status: 'succeeded', software: { outcome: 'installed' } });
      expect(dpkgVersion(name)).toBe('1.0-1');

      const deployment = await created('POST', '/api/v1/deployments', {
        name: `upgrade ${name}`,
        versionId: newer,
        targets: { deviceIds: [agent.deviceId] },
      });
      const done = await until(deployment.id, 'completed');
      expect(done).toMatchObject({ counts: { succeeded: 1 }, successRate: 100 });
      expect(dpkgVersion(name)).toBe('2.0-1');
      const devices = (await stack.api('GET', `/api/v1/deployments/${deployment.id}/devices`)).body.items;
      expect(devices).toMatchObject([{ deviceId: agent.deviceId, status: 'succeeded', outcome: 'installed', exitCode: 0, rollback: null }]);

      // The deployment has ended: its rollback is a tracked operation of its own (a new run of its workflow).
      const rollback = await stack.api('POST', `/api/v1/deployments/${deployment.id}/rollback`, { reason: 'breaks the printers' });
      expect(rollback.status, JSON.stringify(rollback.body)).toBe(200);
      const rolled = await until(deployment.id, 'rolled_back');
      expect(rolled.rollback).toEqual({ uninstalled: 0, reinstalled: 1, failed: 0, pending: 0 });
      expect(dpkgVersion(name)).toBe('1.0-1');
      const after = (await stack.api('GET', `/api/v1/deployments/${deployment.id}/devices`)).body.items;
      expect(after).toMatchObject([{ deviceId: agent.deviceId, rollback: 'reinstalled' }]);
      const events = (await stack.api('GET', `/api/v1/deployments/${deployment.id}/events`)).body.items;
      expect(events.map((e: any) => e.type)).toEqual(expect.arrayContaining(['completed', 'rollback_started', 'rolled_back']));
      expect(events.find((e: any) => e.type === 'rollback_started')).toMatchObject({
        message: 'Rolling back: breaks the printers',
        actor: 'admin@example.com',
      });

      const again = await stack.api('POST', `/api/v1/deployments/${deployment.id}/rollback`, {});
      expect(again.status).toBe(409);
      expect(again.body.detail).toBe('The deployment has been rolled back already.');
      // Both versions stay in the catalog: the deployed one, and the one its rollback reinstalls.
      for (const versionId of [older, newer]) {
        const kept = await stack.api('DELETE', `/api/v1/software/versions/${versionId}`);
        expect(kept.status).toBe(409);
        expect(kept.body.code).toBe('version_deployed');
      }
    } finally {
      spawnSync('dpkg', ['--purge', name], { stdio: 'ignore' });
    }
  });

  it('restarts the device after an install whose version says so, once the result is in', async () => {
    const marker = join(scratch, 'script-installed');
    const script = Buffer.from(`#!/bin/sh\necho installed > '${marker}'\n`);
    const file = join(scratch, 'install-tool.sh');
    writeFileSync(file, script);
    const artifact = await upload(file);
    const pkg = await created('POST', '/api/v1/software/packages', { name: `restart-tool-${suffix}`, platform: 'linux' });
    const version = await created('POST', `/api/v1/software/packages/${pkg.id}/versions`, {
      version: '1.0',
      installerType: 'sh',
      artifactIds: [artifact.id],
      reboot: 'always',
      detection: { type: 'file', path: marker, check: 'exists' },
    });
    // No restart was asked for by any install so far (their versions restart only if the installer requires it).
    expect(existsSync(join(scratch, 'restarts'))).toBe(false);
    const { target, output } = await software('software.install', version.id);
    expect(target).toMatchObject({ status: 'succeeded', software: { outcome: 'installed', rebootRequired: true } });
    expect(output).toContain('the device restarts once this result has reached the server');
    await waitFor('the restart request', async () => existsSync(join(scratch, 'restarts')), 30_000, 100);
    expect(readFileSync(join(scratch, 'restarts'), 'utf8')).toBe('restart\n');
  });

  it("a deployment with reboot policy force warns the users with its notice and restarts after the notice's delay", async () => {
    // The agent again, with a stand-in for wall first on its PATH (this machine's users are not told) and a restart
    // command that records when it ran.
    const bin = join(scratch, 'bin');
    mkdirSync(bin, { recursive: true });
    const walls = join(scratch, 'walls');
    writeFileSync(join(bin, 'wall'), `#!/bin/sh\nprintf '%s|' "$@" >> '${walls}'\n`);
    chmodSync(join(bin, 'wall'), 0o755);
    const restarts = join(scratch, 'forced-restarts');
    await agent.stop();
    await agent.start({
      PATH: `${bin}:${process.env.PATH}`,
      OPSCONDUCTOR_AGENT_REBOOT_COMMAND: `node -e "require('fs').appendFileSync('${restarts}', Date.now() + '\\n')"`,
    });
    const marker = join(scratch, 'forced-installed');
    const file = join(scratch, 'forced-tool.sh');
    writeFileSync(file, `#!/bin/sh\necho installed > '${marker}'\n`);
    const artifact = await upload(file);
    const pkg = await created('POST', '/api/v1/software/packages', { name: `forced-tool-${suffix}`, platform: 'linux' });
    // The version itself never restarts: the deployment's policy does.
    const version = await created('POST', `/api/v1/software/packages/${pkg.id}/versions`, {
      version: '1.0',
      installerType: 'sh',
      artifactIds: [artifact.id],
      reboot: 'never',
      detection: { type: 'file', path: marker, check: 'exists' },
    });
    const deployment = await created('POST', '/api/v1/deployments', {
      name: 'forced restart',
      versionId: version.id,
      targets: { deviceIds: [agent.deviceId] },
      strategy: { rebootPolicy: 'force', rebootNotice: { message: 'Forced-tool was installed.\nSave your work!', delaySeconds: 3 } },
    });
    const done = await waitFor(
      'the deployment to complete',
      async () => {
        const d = (await stack.api('GET', `/api/v1/deployments/${deployment.id}`)).body;
        return d.status === 'completed' ? d : undefined;
      },
      120_000,
      200,
    );
    expect(done.counts.succeeded).toBe(1);
    const device = (await stack.api('GET', `/api/v1/deployments/${deployment.id}/devices`)).body.items[0];
    expect(device).toMatchObject({ status: 'succeeded', outcome: 'installed' });
    const finishedAt = Date.parse(device.finishedAt);
    await waitFor('the notice', async () => existsSync(walls), 30_000, 100);
    expect(readFileSync(walls, 'utf8')).toBe(
      '--|OpsConductor:|Forced-tool was installed. Save your work! This device restarts in 3 seconds.|',
    );
    const restartedAt = Number(
      (await waitFor('the restart', async () => (existsSync(restarts) ? readFileSync(restarts, 'utf8') : undefined), 30_000, 100)).trim(),
    );
    expect(restartedAt - finishedAt).toBeGreaterThanOrEqual(2500);
    expect(restartedAt - finishedAt).toBeLessThan(30_000);
  });
});
