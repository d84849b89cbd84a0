/**
 * The depot's artifacts (ADR 23): streamed uploads into the built-in depot (content-addressed, once per content),
 * refused past the size limit with nothing kept, searched, and deleted only while no package version uses them.
 */
import { createHash, randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { request } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depotArtifact, depotArtifactList, type DepotArtifact } from '@opsconductor/contracts/api';
import type { CommandPayload } from '@opsconductor/contracts/commands';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';
import { queueCommand } from '../../../test/support/commands.ts';

const run = promisify(execFile);

let t: TestApi;
let operator: string;
beforeAll(async () => {
  t = await startTestApi({ depotUploadMaxBytes: 8 * 1024 * 1024 });
  operator = await t.tokenFor('operator');
});
afterAll(async () => {
  await t?.close();
});

const upload = (
  body: Buffer | ReadableStream<Uint8Array>,
  fileName: string,
  token = operator,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
) =>
  t.request(`/api/v1/depot/artifacts?fileName=${encodeURIComponent(fileName)}`, {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/octet-stream', ...headers },
    body,
    signal,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit & { token: string });

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const onDisk = (hash: string) => path.join(t.api.deps.config.depotDir, hash.slice(0, 2), hash);

describe('depot artifacts', () => {
  it('are uploaded by operators into the built-in depot once per content, and found by name or hash', async () => {
    const content = Buffer.from('#!/bin/sh\necho installing\n'.repeat(80_000)); // 2 MB: past the JSON body limit
    const viewer = await t.tokenFor('viewer');
    expect((await upload(content, 'tool.sh', viewer)).status).toBe(403);

    const first = await upload(content, 'tool-1.0.sh');
    expect(first.status).toBe(201);
    const artifact = depotArtifact.parse(await first.json());
    expect(artifact).toMatchObject({
      sha256: sha256(content),
      size: content.length,
      fileName: 'tool-1.0.sh',
      origin: 'upload',
      versions: 0,
    });
    expect((await stat(onDisk(artifact.sha256))).size).toBe(content.length);

    const again = await upload(content, 'other-name.sh');
    expect(again.status).toBe(200);
    expect(depotArtifact.parse(await again.json())).toMatchObject({ id: artifact.id, fileName: 'tool-1.0.sh' });

    const { rows: locations } = await t.database.db.pool.query('SELECT source_id FROM artifact_locations WHERE artifact_id = $1', [
      artifact.id,
    ]);
    expect(locations).toEqual([{ source_id: '00000000-0000-4000-8000-000000000001' }]);
    const { rows: audit } = await t.database.db.pool.query(`SELECT action FROM audit_logs WHERE target_id = $1`, [artifact.id]);
    expect(audit).toEqual([{ action: 'depot_artifact.upload' }]);

    const list = async (q: string) =>
      depotArtifactList.parse(await (await t.request(`/api/v1/depot/artifacts?q=${encodeURIComponent(q)}`, { token: viewer })).json());
    expect((await list('TOOL-1')).items.map((a) => a.id)).toEqual([artifact.id]);
    expect((await list(artifact.sha256.slice(0, 12))).items.map((a) => a.id)).toEqual([artifact.id]);
    // LIKE wildcards are literal characters in a search.
    expect((await list('%')).total).toBe(0);
    const got = await t.request(`/api/v1/depot/artifacts/${artifact.id}`, { token: viewer });
    expect(depotArtifact.parse(await got.json()).sha256).toBe(artifact.sha256);
    expect((await t.request(`/api/v1/depot/artifacts/${randomUUID()}`, { token: viewer })).status).toBe(404);
  });

  it('streams a chunked upload, and refuses one past DEPOT_UPLOAD_MAX_BYTES keeping nothing of it', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const chunked = (count: number) => {
      let sent = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < count) controller.enqueue(chunk);
          else controller.close();
        },
      });
    };
    const fits = await upload(chunked(8), 'eight.bin');
    expect(fits.status).toBe(201);
    expect(depotArtifact.parse(await fits.json()).size).toBe(8 * chunk.length);

    // The client is still sending when the answer comes: aborting then closes its connection (not reused half-sent).
    const sending = new AbortController();
    const tooLarge = await upload(chunked(9), 'nine.bin', operator, {}, sending.signal);
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as { code: string }).code).toBe('payload_too_large');
    sending.abort();
    expect(await readdir(path.join(t.api.deps.config.depotDir, 'tmp'))).toEqual([]);
    // Refused before a byte is read when the announced length is too large.
    const announced = await new Promise<number>((resolve, reject) => {
      const req = request(`${t.url}/api/v1/depot/artifacts?fileName=nine.bin`, {
        method: 'POST',
        headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/octet-stream', 'content-length': 9 * 1024 * 1024 },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(announced).toBe(413);
  });

  it('refuses what is not a file upload or not a file name', async () => {
    const bad = async (res: Response, status: number) => {
      expect(res.status).toBe(status);
      expect(((await res.json()) as { code: string }).code).toBeTruthy();
    };
    await bad(await upload(Buffer.from('x'), '../etc/passwd'), 400);
    await bad(await upload(Buffer.from('x'), 'a\u0001b.msi'), 400);
    await bad(await upload(Buffer.from('x'), ''), 400);
    await bad(await upload(Buffer.from('x'), 'ok.msi', operator, { 'content-type': 'application/json' }), 415);
    await bad(await t.request('/api/v1/depot/artifacts', { method: 'POST', token: operator }), 400);
  });

  it('cannot be deleted while a package version uses them; otherwise go with their bytes', async () => {
    const used = depotArtifact.parse(await (await upload(Buffer.from(`used ${randomUUID()}`), 'used.deb')).json());
    const unused = depotArtifact.parse(await (await upload(Buffer.from(`unused ${randomUUID()}`), 'unused.deb')).json());
    const { pool } = t.database.db;
    const packageId = randomUUID();
    const versionId = randomUUID();
    await pool.query(`INSERT INTO software_packages (id, name, platform) VALUES ($1, $2, 'linux')`, [packageId, `pkg-${packageId}`]);
    await pool.query(
      `INSERT INTO package_versions (id, package_id, version, installer_type, install_command, uninstall_command)
       VALUES ($1, $2, '1.0', 'deb', 'dpkg -i {installer}', 'dpkg -r {packageName}')`,
      [versionId, packageId],
    );
    await pool.query(`INSERT INTO package_version_artifacts (version_id, artifact_id, position) VALUES ($1, $2, 0)`, [versionId, used.id]);

    const get = async (a: DepotArtifact) =>
      depotArtifact.parse(await (await t.request(`/api/v1/depot/artifacts/${a.id}`, { token: operator })).json());
    expect((await get(used)).versions).toBe(1);
    const refused = await t.request(`/api/v1/depot/artifacts/${used.id}`, { method: 'DELETE', token: operator });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { code: string }).code).toBe('artifact_in_use');
    expect((await stat(onDisk(used.sha256))).isFile()).toBe(true);

    const viewer = await t.tokenFor('viewer');
    expect((await t.request(`/api/v1/depot/artifacts/${unused.id}`, { method: 'DELETE', token: viewer })).status).toBe(403);
    expect((await t.request(`/api/v1/depot/artifacts/${unused.id}`, { method: 'DELETE', token: operator })).status).toBe(204);
    await expect(stat(onDisk(unused.sha256))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await t.request(`/api/v1/depot/artifacts/${unused.id}`, { token: operator })).status).toBe(404);
  });

  it('are downloaded by a device only while one of its open commands names them, whole or from a byte range', async () => {
    const content = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
    const artifact = depotArtifact.parse(await (await upload(content, 'app_1.0_all.deb')).json());
    const admin = await t.tokenFor('admin');
    const enroll = async (name: string) => t.enrollDevice(await t.createEnrollmentToken(admin), name);
    const a = await enroll('artifact-fetcher');
    const b = await enroll('artifact-bystander');
    const { pool } = t.database.db;
    // The stored form of a software command: artifacts by ID, signed for the device when it is delivered.
    const queued = await queueCommand(t.database.db, a.deviceId, {
      state: 'queued',
      payload: { kind: 'software.install', artifactIds: [artifact.id], timeoutSeconds: 30 } as unknown as CommandPayload,
    });
    const download = (secret: string, range?: string) =>
      t.request(`/agent/v1/artifacts/${artifact.sha256}`, {
        headers: { authorization: `Bearer ${secret}`, ...(range ? { range } : {}) },
      });
    expect((await download(a.deviceSecret)).status).toBe(404); // queued, not handed out yet
    // Handed out (the access rule is the same for every state change).
    await pool.query(`UPDATE agent_commands SET state = 'delivered', delivered_at = now() WHERE id = $1`, [queued.id]);

    const whole = await download(a.deviceSecret);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(sha256(Buffer.from(await whole.arrayBuffer()))).toBe(artifact.sha256);

    const resumed = await download(a.deviceSecret, 'bytes=100000-');
    expect(resumed.status).toBe(206);
    expect(resumed.headers.get('content-range')).toBe(`bytes 100000-299999/300000`);
    expect(Buffer.from(await resumed.arrayBuffer()).equals(content.subarray(100_000))).toBe(true);
    const middle = await download(a.deviceSecret, 'bytes=10-19');
    expect(Buffer.from(await middle.arrayBuffer()).equals(content.subarray(10, 20))).toBe(true);
    const suffix = await download(a.deviceSecret, 'bytes=-5');
    expect(Buffer.from(await suffix.arrayBuffer()).equals(content.subarray(-5))).toBe(true);
    const past = await download(a.deviceSecret, 'bytes=300000-');
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */300000');
    // Not a single byte range: the whole artifact.
    expect((await download(a.deviceSecret, 'bytes=0-1,5-6')).status).toBe(200);
    expect((await download(a.deviceSecret, 'lines=1-2')).status).toBe(200);

    expect((await download(b.deviceSecret)).status).toBe(404);
    await pool.query(`UPDATE agent_commands SET state = 'succeeded', finished_at = now() WHERE id = $1`, [queued.id]);
    expect((await download(a.deviceSecret)).status).toBe(404); // over: no more downloads
  });

  it('keep what was read from the file to prefill a package version: a .deb built here with dpkg-deb', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'depot-deb-'));
    try {
      await mkdir(path.join(dir, 'pkg', 'DEBIAN'), { recursive: true });
      await writeFile(
        path.join(dir, 'pkg', 'DEBIAN', 'control'),
        'Package: opsc-hello\nVersion: 1:2.4-1\nArchitecture: amd64\nMaintainer: Ops Team <ops@example.com>\nDescription: says hello\n more text\n',
      );
      await run('dpkg-deb', ['--build', '--root-owner-group', path.join(dir, 'pkg'), path.join(dir, 'hello.deb')]);
      const res = await upload(await readFile(path.join(dir, 'hello.deb')), 'opsc-hello_2.4-1_amd64.deb');
      expect(res.status).toBe(201);
      expect(depotArtifact.parse(await res.json()).metadata).toMatchObject({
        format: 'deb',
        installerType: 'deb',
        packageName: 'opsc-hello',
        version: '1:2.4-1',
        architecture: 'x64',
        platform: 'linux',
      });
      // Anything else uploads as well, with nothing read from it.
      const other = await upload(Buffer.from(`just bytes ${randomUUID()}`), 'notes.bin');
      expect(depotArtifact.parse(await other.json()).metadata).toMatchObject({ format: 'unknown' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
