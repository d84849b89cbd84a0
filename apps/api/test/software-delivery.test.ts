/**
 * Software commands as devices get them (ADR 23): the stored payload names artifacts by ID; the poll answers
 * each with a manifest signed now by the active depot key, listing the sources that hold it in the order this
 * device should try them (its subnet's first, then those for everyone, each by priority; other sites' and
 * disabled sources left out). Verified here with the agent's own verification code. Also: which payload an
 * install or uninstall stores, and the job-run action's refusals.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkinResponse, pollResponse } from '@opsconductor/contracts/agent-protocol';
import { capability, commandKinds, type CommandPayload } from '@opsconductor/contracts/commands';
import { verifyManifest } from '../../../agent/src/depot/manifest.ts';
import { deviceFacts, startTestApi, type TestApi } from '../../../test/support/api.ts';
import { queueCommand } from '../../../test/support/commands.ts';
import { inSubnets } from '../src/services/artifact-delivery.ts';
import { softwareCommandPayload } from '../src/services/software-packages.ts';

const BUILT_IN = '00000000-0000-4000-8000-000000000001';
let t: TestApi;
let admin: string;
beforeAll(async () => {
  t = await startTestApi({}, { secretsMasterKeys: [{ id: 'k1', key: randomBytes(32) }] });
  admin = await t.tokenFor('admin');
});
afterAll(async () => {
  await t?.close();
});

async function json(path: string, body: unknown, method = 'POST'): Promise<any> {
  const res = await t.request(path, { method, token: admin, json: body });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return res.json();
}

async function artifact(content: Buffer, fileName: string): Promise<{ id: string; sha256: string; size: number }> {
  const res = await t.request(`/api/v1/depot/artifacts?fileName=${fileName}`, {
    method: 'POST',
    token: admin,
    headers: { 'content-type': 'application/octet-stream' },
    body: content,
  });
  expect(res.status).toBe(201);
  return res.json() as never;
}

/** Queues the command as the worker's dispatch does (its payload stored by hash) for the device; a poll hands it out. */
const queue = async (deviceId: string, payload: CommandPayload): Promise<string> =>
  (await queueCommand(t.database.db, deviceId, { payload, state: 'queued' })).id;

describe('software command delivery', () => {
  it('signs a manifest per artifact for the device, with its sources in the order it should try them', async () => {
    const content = randomBytes(4096);
    const a = await artifact(content, 'tool_1.0_all.deb');
    const pkg = await json('/api/v1/software/packages', { name: `Tool ${randomUUID()}`, platform: 'linux' });
    const version = await json(`/api/v1/software/packages/${pkg.id}/versions`, {
      version: '1.0',
      installerType: 'deb',
      artifactIds: [a.id],
      packageName: 'tool',
    });
    const source = async (name: string, priority: number, subnets: string[], enabled = true) =>
      (
        await json('/api/v1/depot/sources', {
          kind: 'http',
          name: `${name} ${randomUUID()}`,
          priority,
          subnets,
          enabled,
          settings: { baseUrl: `http://${name}.example/depot/` },
        })
      ).id as string;
    const site = await source('site', 90, ['10.1.0.0/16']);
    const everyone = await source('everyone', 5, []);
    const otherSite = await source('other', 1, ['192.168.7.0/24']);
    const disabled = await source('disabled', 1, [], false);
    const share = (
      await json('/api/v1/depot/sources', {
        kind: 'share',
        name: `share ${randomUUID()}`,
        priority: 10,
        subnets: ['10.1.2.0/24'],
        settings: { uncPath: '\\\\fs01\\depot\\', mountPath: '/mnt/depot/' },
      })
    ).id as string;
    await t.database.db.prisma.artifactLocation.createMany({
      data: [site, everyone, otherSite, disabled, share].map((sourceId) => ({ artifactId: a.id, sourceId })),
    });

    const { deviceId, deviceSecret } = await t.enrollDevice(await t.createEnrollmentToken(admin), 'delivery-target');
    const auth = { authorization: `Bearer ${deviceSecret}` };
    const checkin = await t.request('/agent/v1/checkin', {
      method: 'POST',
      headers: auth,
      json: {
        facts: { ...deviceFacts('delivery-target'), ipAddresses: ['10.1.2.3'] },
        capabilities: commandKinds.map((kind) => capability(kind)),
      },
    });
    const { depotSigningKeys } = checkinResponse.parse(await checkin.json());

    const stored = await softwareCommandPayload(t.api.deps, 'software.install', version.id);
    expect(stored).toMatchObject({ kind: 'software.install', artifactIds: [a.id], command: expect.stringContaining('{installer}') });
    expect(stored).not.toHaveProperty('artifacts');
    const commandId = await queue(deviceId, stored);

    // The queue's NOTIFY wakes the long-poll (as when the worker queues it).
    const poll = pollResponse.parse(await (await t.request('/agent/v1/commands?wait=5', { headers: auth })).json());
    const delivered = poll.commands.find((c) => c.id === commandId)!.payload;
    expect(delivered.kind).toBe('software.install');
    if (delivered.kind !== 'software.install') return;
    expect(delivered.artifacts).toHaveLength(1);
    const verified = verifyManifest(delivered.artifacts![0]!, depotSigningKeys!, Date.now(), 60);
    if (!verified.ok) throw new Error(verified.detail);
    const hash = `${a.sha256.slice(0, 2)}/${a.sha256}`;
    expect(verified.manifest).toMatchObject({
      packageName: pkg.name,
      packageVersion: '1.0',
      versionId: version.id,
      fileName: 'tool_1.0_all.deb',
      size: 4096,
      sha256: a.sha256,
      sources: [
        // This device's subnets first (by priority), then the sources for everyone; other sites and disabled ones not at all.
        { kind: 'share', sourceId: share, uncPath: `\\\\fs01\\depot\\${hash.replace('/', '\\')}`, mountPath: `/mnt/depot/${hash}` },
        { kind: 'http', sourceId: site, url: `http://site.example/depot/${hash}` },
        { kind: 'http', sourceId: everyone, url: `http://everyone.example/depot/${hash}` },
        { kind: 'depot', sourceId: BUILT_IN },
      ],
    });
    // A manifest edited on the way does not verify.
    const edited = { ...delivered.artifacts![0]!, manifest: delivered.artifacts![0]!.manifest.replace('site.example', 'evil.example') };
    expect(verifyManifest(edited, depotSigningKeys!, Date.now(), 60)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('sends an uninstall its artifacts only when its command runs the installer file', async () => {
    const a = await artifact(randomBytes(100), 'setup.sh');
    const pkg = await json('/api/v1/software/packages', { name: `Script ${randomUUID()}`, platform: 'linux' });
    const withFile = await json(`/api/v1/software/packages/${pkg.id}/versions`, {
      version: '2.0',
      installerType: 'sh',
      artifactIds: [a.id],
      uninstallCommand: 'sh {installer} --uninstall',
      preHook: { interpreter: 'sh', script: 'echo pre' },
      requirements: { minRamMb: 512 },
    });
    const byName = await json(`/api/v1/software/packages/${pkg.id}/versions`, {
      version: '2.1',
      installerType: 'deb',
      artifactIds: [a.id],
      packageName: 'script-tool',
    });
    const withoutUninstall = await json(`/api/v1/software/packages/${pkg.id}/versions`, {
      version: '2.2',
      installerType: 'sh',
      artifactIds: [a.id],
    });
    const uninstall = await softwareCommandPayload(t.api.deps, 'software.uninstall', withFile.id);
    expect(uninstall).toMatchObject({ kind: 'software.uninstall', command: 'sh {installer} --uninstall', artifactIds: [a.id] });
    // Hooks and requirements are the install's.
    expect(uninstall).not.toHaveProperty('preHook');
    expect(uninstall).not.toHaveProperty('requirements');
    expect(await softwareCommandPayload(t.api.deps, 'software.install', withFile.id)).toMatchObject({
      preHook: { script: 'echo pre' },
      requirements: { minRamMb: 512 },
    });
    const dpkg = await softwareCommandPayload(t.api.deps, 'software.uninstall', byName.id);
    expect(dpkg).toMatchObject({ command: 'dpkg -r {packageName}', packageName: 'script-tool' });
    expect(dpkg).not.toHaveProperty('artifactIds');

    // As a job-run action: an unknown version and a version without an uninstall command are refused (400, no run).
    const { deviceId } = await t.enrollDevice(await t.createEnrollmentToken(admin), 'uninstall-target');
    const operator = await t.tokenFor('operator');
    const runs = () => t.database.db.prisma.jobRun.count();
    const runsBefore = await runs();
    const runWith = (action: unknown) =>
      t.request('/api/v1/job-runs', { method: 'POST', token: operator, json: { deviceIds: [deviceId], action } });
    const unknown = await runWith({ kind: 'software.install', versionId: randomUUID() });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ code: 'unknown_version', errors: [{ path: 'action.versionId' }] });
    const none = await runWith({ kind: 'software.uninstall', versionId: withoutUninstall.id });
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({ code: 'validation_failed', detail: expect.stringMatching(/no uninstall command/) });
    expect(await runs()).toBe(runsBefore);
  });

  it("brings an install's dependencies, resolved by their constraints, in order, signed and downloadable", async () => {
    const version = (packageId: string, body: Record<string, unknown>) => json(`/api/v1/software/packages/${packageId}/versions`, body);
    const pkg = (name: string) => json('/api/v1/software/packages', { name: `${name} ${randomUUID()}`, platform: 'linux' });
    const [base, lib, app] = [await pkg('Base'), await pkg('Lib'), await pkg('App')];
    const baseArtifact = await artifact(randomBytes(64), 'base_1.0_all.deb');
    const base1 = await version(base.id, {
      version: '1.0',
      installerType: 'deb',
      artifactIds: [baseArtifact.id],
      packageName: 'base',
      timeoutSeconds: 100,
    });
    await version(lib.id, { version: '1.0', installerType: 'apt', packageName: 'lib' });
    const lib15 = await version(lib.id, {
      version: '1.5',
      installerType: 'apt',
      packageName: 'lib',
      timeoutSeconds: 200,
      dependencies: [{ packageId: base.id }],
    });
    await version(lib.id, { version: '2.0', installerType: 'apt', packageName: 'lib' });
    const app1 = await version(app.id, {
      version: '3.0',
      installerType: 'apt',
      packageName: 'app',
      timeoutSeconds: 300,
      dependencies: [
        {
          packageId: lib.id,
          version: [
            { op: 'gte', value: '1.0' },
            { op: 'lt', value: '2.0' },
          ],
        },
        { packageId: base.id },
      ],
    });
    const stored = await softwareCommandPayload(t.api.deps, 'software.install', app1.id);
    // Base before Lib 1.5 (which needs it), once; the timeout covers all three.
    expect(stored.dependencies?.map((d) => [d.package.versionId, d.package.version])).toEqual([
      [base1.id, '1.0'],
      [lib15.id, '1.5'],
    ]);
    expect(stored.timeoutSeconds).toBe(600);
    expect(stored.dependencies![0]).toMatchObject({ command: expect.stringContaining('{installer}'), artifactIds: [baseArtifact.id] });
    // An uninstall takes none.
    expect(await softwareCommandPayload(t.api.deps, 'software.uninstall', app1.id)).not.toHaveProperty('dependencies');

    // Delivered: the dependency's artifact signed for it, and the device may download it.
    const { deviceId, deviceSecret } = await t.enrollDevice(await t.createEnrollmentToken(admin), 'dependent-host');
    const auth = { authorization: `Bearer ${deviceSecret}` };
    await t.request('/agent/v1/checkin', {
      method: 'POST',
      headers: auth,
      json: { facts: deviceFacts('dependent-host'), capabilities: commandKinds.map((kind) => capability(kind)) },
    });
    const commandId = await queue(deviceId, stored);
    const poll = pollResponse.parse(await (await t.request('/agent/v1/commands?wait=5', { headers: auth })).json());
    const delivered = poll.commands.find((c) => c.id === commandId)!.payload;
    if (delivered.kind !== 'software.install') throw new Error(delivered.kind);
    const manifest = JSON.parse(delivered.dependencies![0]!.artifacts![0]!.manifest);
    expect(manifest).toMatchObject({ versionId: base1.id, sha256: baseArtifact.sha256, sources: [{ kind: 'depot', sourceId: BUILT_IN }] });
    expect(delivered.dependencies![1]).not.toHaveProperty('artifacts');
    await t.request(`/agent/v1/commands/${commandId}/start`, {
      method: 'POST',
      headers: auth,
      json: { startedAt: new Date().toISOString() },
    });
    const download = await t.request(`/agent/v1/artifacts/${baseArtifact.sha256}`, { headers: auth });
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).length).toBe(64);

    // Refused: a constraint nothing meets, and dependencies in a circle.
    const none = await version(app.id, {
      version: '4.0',
      installerType: 'apt',
      packageName: 'app',
      dependencies: [{ packageId: lib.id, version: [{ op: 'gt', value: '9' }] }],
    });
    await expect(softwareCommandPayload(t.api.deps, 'software.install', none.id)).rejects.toMatchObject({
      status: 400,
      detail: expect.stringMatching(/^No version of "Lib .*" meets > 9\.$/),
    });
    const loop = await version(base.id, {
      version: '1.1',
      installerType: 'apt',
      packageName: 'base',
      dependencies: [{ packageId: app.id, version: [{ op: 'eq', value: '3.0' }] }],
    });
    expect(loop.id).toBeTruthy();
    await expect(softwareCommandPayload(t.api.deps, 'software.install', app1.id)).rejects.toMatchObject({
      status: 400,
      detail: expect.stringMatching(/go round in a circle/),
    });
  });

  it('records where a version is installed from the reports, each device once per version, never older over newer', async () => {
    const pkg = await json('/api/v1/software/packages', { name: `Tracked ${randomUUID()}`, platform: 'linux' });
    const v1 = await json(`/api/v1/software/packages/${pkg.id}/versions`, { version: '1.0', installerType: 'apt', packageName: 'tracked' });
    const v2 = await json(`/api/v1/software/packages/${pkg.id}/versions`, { version: '2.0', installerType: 'apt', packageName: 'tracked' });
    const { deviceId, deviceSecret } = await t.enrollDevice(await t.createEnrollmentToken(admin), 'tracked-host');
    const auth = { authorization: `Bearer ${deviceSecret}` };
    await t.request('/agent/v1/checkin', {
      method: 'POST',
      headers: auth,
      json: { facts: deviceFacts('tracked-host'), capabilities: commandKinds.map((kind) => capability(kind)) },
    });
    const report = (outcome: string, extra: Record<string, unknown> = {}) => ({
      status: outcome === 'failed' ? 'failed' : 'succeeded',
      exitCode: 0,
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: 5,
      software: {
        outcome,
        detectedBefore: null,
        detectedAfter: null,
        installerExitCode: 0,
        rebootRequired: false,
        sourceId: null,
        fromCache: false,
        bytesDownloaded: 0,
        ...extra,
      },
    });
    /** Queues, delivers and ends a command with this report; returns what the result answered. */
    const runs = async (kind: 'software.install' | 'software.uninstall', versionId: string, body: unknown) => {
      const id = await queue(deviceId, await softwareCommandPayload(t.api.deps, kind, versionId));
      const poll = pollResponse.parse(await (await t.request('/agent/v1/commands?wait=5', { headers: auth })).json());
      expect(poll.commands.map((c) => c.id)).toContain(id);
      await t.request(`/agent/v1/commands/${id}/start`, { method: 'POST', headers: auth, json: { startedAt: new Date().toISOString() } });
      const send = () => t.request(`/agent/v1/commands/${id}/result`, { method: 'POST', headers: auth, json: body });
      expect((await send()).status).toBe(200);
      return send;
    };
    const list = async (query = '') =>
      (await (await t.request(`/api/v1/software/packages/${pkg.id}/installations${query}`, { token: admin })).json()) as any;

    const resendV1 = await runs('software.install', v1.id, report('reboot_required', { rebootRequired: true }));
    await runs('software.install', v2.id, report('failed', { detail: 'apt-get exited with 100' }));
    expect((await list()).items).toMatchObject([
      { deviceId, hostname: 'tracked-host', version: '2.0', state: 'failed', outcome: 'failed', detail: 'apt-get exited with 100' },
      { deviceId, version: '1.0', state: 'installed', outcome: 'reboot_required', rebootRequired: true },
    ]);
    await runs('software.uninstall', v1.id, report('uninstalled'));
    // The install's report arrives again (the agent never got the answer): it was older, and changes nothing.
    expect((await resendV1()).status).toBe(200);
    expect((await list(`?versionId=${v1.id}`)).items).toMatchObject([{ version: '1.0', state: 'not_installed', outcome: 'uninstalled' }]);
    expect(await list('?state=failed')).toMatchObject({ total: 1, items: [{ version: '2.0' }] });
    expect((await t.request(`/api/v1/software/packages/${randomUUID()}/installations`, { token: admin })).status).toBe(404);
  });

  it('matches device addresses against CIDRs, IPv4 and IPv6, ignoring malformed entries', () => {
    expect(inSubnets(['10.1.2.3'], ['10.1.0.0/16'])).toBe(true);
    expect(inSubnets(['10.2.0.1'], ['10.1.0.0/16'])).toBe(false);
    expect(inSubnets(['fe80::1', '2001:db8::7'], ['2001:db8::/32'])).toBe(true);
    expect(inSubnets(['10.1.2.3'], ['2001:db8::/32', 'garbage', '10.0.0.0/99'])).toBe(false);
    expect(inSubnets(['not an ip'], ['0.0.0.0/0'])).toBe(false);
    expect(inSubnets([], ['0.0.0.0/0'])).toBe(false);
  });
});
