/**
 * Artifacts that are not uploaded (ADR 23): imported from a URL the server fetches (a loopback HTTP server here) into
 * the built-in depot, bounded, redirects limited, the expected hash enforced, the URL's failures 422 and never a 500;
 * and registered where they already are on a share the server has mounted, hashed in place, not copied.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depotArtifact, depotSource } from '@opsconductor/contracts/api';
import type { CommandPayload } from '@opsconductor/contracts/commands';
import { IMPORT_TIMEOUTS } from '../src/services/depot-intake.ts';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';
import { queueCommand } from '../../../test/support/commands.ts';

const MAX = 1024 * 1024;
const content = randomBytes(200_000);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let t: TestApi;
let operator: string;
let base: string;
const server: Server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const hop = Number(url.searchParams.get('hop') ?? 0);
  switch (url.pathname) {
    case '/files/tool-1.0.bin':
    case '/':
      return res.writeHead(200, { 'content-length': String(content.length) }).end(content);
    case '/hops':
      // `hop` redirects, the last to the file
      return res.writeHead(302, { location: hop > 1 ? `/hops?hop=${hop - 1}` : '/files/tool-1.0.bin' }).end();
    case '/to-ftp':
      return res.writeHead(301, { location: 'ftp://127.0.0.1/file.bin' }).end();
    case '/declared-too-large.bin':
      res.writeHead(200, { 'content-length': String(MAX + 1) });
      return res.end(); // the connection ends early: only the header is judged
    case '/chunked-too-large.bin': {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 1);
      let sent = 0;
      const more = () => {
        while (sent <= MAX) {
          sent += chunk.length;
          if (!res.write(chunk)) return res.once('drain', more);
        }
        res.end();
      };
      return more();
    }
    case '/stalls.bin':
      res.writeHead(200, { 'content-length': '1000' });
      return res.write(Buffer.alloc(10)); // and never more
    default:
      return res.writeHead(404).end('not here');
  }
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t = await startTestApi({ depotUploadMaxBytes: MAX });
  operator = await t.tokenFor('operator');
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await t?.close();
});

const post = async (p: string, json: unknown, token = operator) => {
  const res = await t.request(`/api/v1/depot/artifacts/${p}`, { method: 'POST', token, json });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> & { code?: string; detail?: string } };
};
const depotFiles = async () => {
  const dir = t.api.deps.config.depotDir;
  const found: string[] = [];
  for (const d of await readdir(dir).catch(() => [])) {
    if (d === 'tmp') {
      found.push(...(await readdir(path.join(dir, d))).map((f) => `tmp/${f}`));
      continue;
    }
    found.push(...(await readdir(path.join(dir, d))));
  }
  return found;
};
const locations = async (artifactId: string) =>
  (
    await t.database.db.pool.query<{ source_id: string; path: string | null }>(
      'SELECT source_id, path FROM artifact_locations WHERE artifact_id = $1 ORDER BY source_id',
      [artifactId],
    )
  ).rows;

describe('importing an artifact from a URL', () => {
  it('streams it into the built-in depot like an upload, audited with its URL, after redirects', async () => {
    const viewer = await t.tokenFor('viewer');
    expect((await post('import', { url: `${base}/files/tool-1.0.bin` }, viewer)).status).toBe(403);
    const first = await post('import', { url: `${base}/hops?hop=3`, sha256: sha256(content) });
    expect(first.status).toBe(201);
    const artifact = depotArtifact.parse(first.body);
    expect(artifact).toMatchObject({
      sha256: sha256(content),
      size: content.length,
      fileName: 'tool-1.0.bin',
      origin: 'url',
      originUrl: `${base}/files/tool-1.0.bin`,
    });
    expect(await locations(artifact.id)).toEqual([{ source_id: '00000000-0000-4000-8000-000000000001', path: null }]);
    expect(await depotFiles()).toContain(artifact.sha256);
    const { rows } = await t.database.db.pool.query<{ action: string; details: Record<string, unknown> }>(
      'SELECT action, details FROM audit_logs WHERE target_id = $1',
      [artifact.id],
    );
    expect(rows).toEqual([{ action: 'depot_artifact.import', details: expect.objectContaining({ url: `${base}/files/tool-1.0.bin` }) }]);

    // The same content again is the same artifact; a URL without a file name needs one.
    const again = await post('import', { url: `${base}/`, fileName: 'other.bin' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(artifact.id);
    expect((await post('import', { url: `${base}/` })).status).toBe(400);
  });

  it('answers 4xx, keeping nothing, for what the URL does wrong or a hash that does not match', async () => {
    const before = await depotFiles();
    const refused = async (body: Record<string, unknown>, status: number, code: string) => {
      const res = await post('import', body);
      expect({ status: res.status, code: res.body.code }, JSON.stringify(res.body)).toEqual({ status, code });
      return res.body;
    };
    expect((await refused({ url: `${base}/missing.bin` }, 422, 'import_failed')).detail).toContain('404');
    await refused({ url: `${base}/files/tool-1.0.bin`, sha256: 'a'.repeat(64) }, 422, 'hash_mismatch');
    await refused({ url: `${base}/declared-too-large.bin` }, 422, 'import_failed');
    expect((await refused({ url: `${base}/chunked-too-large.bin` }, 422, 'import_failed')).detail).toContain('DEPOT_UPLOAD_MAX_BYTES');
    expect((await refused({ url: `${base}/hops?hop=6` }, 422, 'import_failed')).detail).toContain('redirects');
    expect((await refused({ url: `${base}/to-ftp` }, 422, 'import_failed')).detail).toContain('ftp:');
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/x.bin`;
    await new Promise((resolve) => closed.close(resolve));
    expect((await refused({ url: closedUrl }, 422, 'import_failed')).detail).toContain('ECONNREFUSED');
    const idle = IMPORT_TIMEOUTS.idleMs;
    IMPORT_TIMEOUTS.idleMs = 300;
    try {
      expect((await refused({ url: `${base}/stalls.bin` }, 422, 'import_failed')).detail).toContain('timed out');
    } finally {
      IMPORT_TIMEOUTS.idleMs = idle;
    }
    // Not even a request the server would make.
    await refused({ url: 'ftp://127.0.0.1/x.bin' }, 400, 'validation_failed');
    await refused({ url: '' }, 400, 'validation_failed');
    await refused({ url: 'not a url', sha256: '0'.repeat(64) }, 400, 'validation_failed');
    await refused({ url: 'http://user:pw@127.0.0.1/x.bin' }, 400, 'validation_failed');
    await refused({ url: `${base}/x.bin`, fileName: '../x' }, 400, 'validation_failed');
    await refused({ url: `${base}/x.bin`, sha256: 'XYZ' }, 400, 'validation_failed');
    await refused({ url: `${base}/x.bin`, extra: 1 }, 400, 'validation_failed');
    expect(await depotFiles()).toEqual(before);
  });
});

describe('registering an artifact on a share', () => {
  it('hashes the file in place, records only the share location, and the server does not serve it to agents', async () => {
    const mount = await mkdtemp(path.join(tmpdir(), 'depot-share-'));
    try {
      const admin = await t.tokenFor('admin');
      const created = await t.request('/api/v1/depot/sources', {
        method: 'POST',
        token: admin,
        json: { kind: 'share', name: 'Registered share', settings: { uncPath: '\\\\fs\\soft', mountPath: mount } },
      });
      const share = depotSource.parse(await created.json());
      const bytes = Buffer.from('#!/bin/sh\necho vendor\n');
      await mkdir(path.join(mount, 'vendor'));
      await writeFile(path.join(mount, 'vendor', 'setup.sh'), bytes);
      const before = await depotFiles();

      const viewer = await t.tokenFor('viewer');
      expect((await post('register', { sourceId: share.id, path: 'vendor/setup.sh' }, viewer)).status).toBe(403);
      const registered = await post('register', { sourceId: share.id, path: 'vendor/setup.sh' });
      expect(registered.status).toBe(201);
      const artifact = depotArtifact.parse(registered.body);
      expect(artifact).toMatchObject({ sha256: sha256(bytes), size: bytes.length, fileName: 'setup.sh', origin: 'share' });
      expect(await locations(artifact.id)).toEqual([{ source_id: share.id, path: 'vendor/setup.sh' }]);
      expect(await depotFiles()).toEqual(before);
      const { rows } = await t.database.db.pool.query('SELECT action FROM audit_logs WHERE target_id = $1', [artifact.id]);
      expect(rows).toEqual([{ action: 'depot_artifact.register' }]);
      expect((await post('register', { sourceId: share.id, path: 'vendor/setup.sh', fileName: 'x.sh' })).status).toBe(200);

      // A device whose open command names it gets a clean 404 from the server: the bytes are on the share only.
      const device = await t.enrollDevice(await t.createEnrollmentToken(admin), 'share-fetcher');
      await queueCommand(t.database.db, device.deviceId, {
        payload: { kind: 'software.install', artifactIds: [artifact.id], timeoutSeconds: 30 } as unknown as CommandPayload,
      });
      for (const range of [undefined, 'bytes=0-', 'bytes=999999-']) {
        const res = await t.request(`/agent/v1/artifacts/${artifact.sha256}`, {
          headers: { authorization: `Bearer ${device.deviceSecret}`, ...(range ? { range } : {}) },
        });
        expect(res.status).toBe(404);
      }

      // Uploading the same bytes later puts them in the built-in depot too.
      const uploaded = await t.request('/api/v1/depot/artifacts?fileName=setup.sh', {
        method: 'POST',
        token: operator,
        headers: { 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      expect(uploaded.status).toBe(200);
      expect((await locations(artifact.id)).map((l) => l.source_id).sort()).toEqual(
        ['00000000-0000-4000-8000-000000000001', share.id].sort(),
      );
      const served = await t.request(`/agent/v1/artifacts/${artifact.sha256}`, {
        headers: { authorization: `Bearer ${device.deviceSecret}` },
      });
      expect(served.status).toBe(200);
      expect(Buffer.from(await served.arrayBuffer())).toEqual(bytes);

      // What is not a file on the share, or not on it at all.
      await symlink('/etc', path.join(mount, 'etc-link'));
      await promisify(execFile)('mkfifo', [path.join(mount, 'vendor', 'pipe')]);
      const refused = async (body: Record<string, unknown>, status: number) => {
        const res = await post('register', { sourceId: share.id, ...body });
        expect(res.status, JSON.stringify(res.body)).toBe(status);
      };
      await refused({ path: 'vendor/missing.sh' }, 404);
      await refused({ path: 'vendor' }, 400);
      await refused({ path: 'vendor/pipe' }, 400); // not opened: that would wait for a writer
      await refused({ path: 'etc-link/hostname' }, 400);
      await refused({ path: '../etc/hostname' }, 400);
      await refused({ path: 'vendor/../../etc/hostname' }, 400);
      await refused({ path: '/etc/hostname' }, 400);
      await refused({ path: 'vendor//setup.sh' }, 400);
      await refused({ path: 'vendor\\setup.sh' }, 400);
      await refused({ path: 'vendor/setup.sh\u0000' }, 400);
      await refused({ path: 'vendor/setup.sh', fileName: 'a/b' }, 400);
      await refused({ path: 'vendor/setup.sh', sourceId: '00000000-0000-4000-8000-000000000001' }, 409);
      await refused({ path: 'vendor/setup.sh', sourceId: '00000000-0000-4000-8000-0000000000ff' }, 404);
    } finally {
      await rm(mount, { recursive: true, force: true });
    }
  });
});
