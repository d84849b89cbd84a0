/**
 * S3-compatible depot sources and replication (ADR 23), against a real S3-compatible server on loopback (s3rver): the
 * secret access key goes to the secret store and is never answered; the health check is a HeadBucket; presigned URLs
 * download the exact bytes; replication copies the built-in depot's artifacts to a bucket and a mounted share, and
 * verifies an HTTP mirror.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  depotArtifact,
  depotArtifactReplication,
  depotReplicationSummary,
  depotSource,
  type DepotArtifact,
} from '@opsconductor/contracts/api';
import { s3ArtifactUrl } from '../src/services/depot-s3.ts';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

// s3rver takes any secret for its S3RVER key; a distinct one shows it is never echoed.
const SECRET = 'secret-Zq8vT3kW9x';
let t: TestApi;
let admin: string;
let operator: string;
let s3: S3rver;
let s3Dir: string;
let endpoint: string;

beforeAll(async () => {
  s3Dir = await mkdtemp(path.join(tmpdir(), 'depot-s3rver-'));
  s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3Dir, configureBuckets: [{ name: 'depot', configs: [] }] });
  const { port } = (await s3.run()) as AddressInfo;
  endpoint = `http://127.0.0.1:${port}`;
  t = await startTestApi({}, { secretsMasterKeys: [{ id: 'k1', key: randomBytes(32) }] });
  admin = await t.tokenFor('admin');
  operator = await t.tokenFor('operator');
});
afterAll(async () => {
  await t?.close();
  await s3?.close();
  await rm(s3Dir, { recursive: true, force: true });
});

const call = async (p: string, method = 'GET', json?: unknown, token = admin) => {
  const res = await t.request(`/api/v1/depot${p}`, { method, token, ...(json === undefined ? {} : { json }) });
  const text = await res.text();
  return { status: res.status, text, body: (text ? JSON.parse(text) : null) as Record<string, unknown> & { code?: string } };
};
const s3Body = (name: string, settings: Record<string, unknown> = {}) => ({
  kind: 's3',
  name,
  settings: {
    endpoint,
    bucket: 'depot',
    prefix: 'opsc/',
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: SECRET,
    ...settings,
  },
});
const upload = async (content: Buffer, fileName: string): Promise<DepotArtifact> => {
  const res = await t.request(`/api/v1/depot/artifacts?fileName=${fileName}`, {
    method: 'POST',
    token: operator,
    headers: { 'content-type': 'application/octet-stream' },
    body: content,
  });
  expect(res.status).toBe(201);
  return depotArtifact.parse(await res.json());
};
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const locations = async (sourceId: string) =>
  (
    await t.database.db.pool.query<{ artifact_id: string; path: string | null }>(
      'SELECT artifact_id, path FROM artifact_locations WHERE source_id = $1 ORDER BY artifact_id',
      [sourceId],
    )
  ).rows;

describe('S3 depot sources', () => {
  it('keep the secret access key in the secret store, never in settings or answers, and are audited', async () => {
    const created = await call('/sources', 'POST', s3Body('Bucket'));
    expect(created.status).toBe(201);
    expect(created.text).not.toContain(SECRET);
    expect(created.text).not.toContain('secretAccessKey');
    const source = depotSource.parse(created.body);
    expect(source.settings).toEqual({
      endpoint,
      region: 'us-east-1',
      bucket: 'depot',
      prefix: 'opsc/',
      forcePathStyle: true,
      accessKeyId: 'S3RVER',
      hasSecret: true,
    });
    const { rows } = await t.database.db.pool.query<{ settings: Record<string, unknown> }>(
      'SELECT settings FROM depot_sources WHERE id = $1',
      [source.id],
    );
    expect(rows[0]!.settings).not.toHaveProperty('secretAccessKey');
    const { rows: audit } = await t.database.db.pool.query<{ action: string; details: unknown }>(
      'SELECT action, details FROM audit_logs WHERE target_id = $1',
      [source.id],
    );
    expect(audit.map((a) => a.action)).toEqual(['depot_source.create']);
    expect(JSON.stringify(audit)).not.toContain('secretAccessKey');

    // A change of settings without the secret keeps it; with one, it is replaced and audited only as changed.
    const kept = await call(`/sources/${source.id}`, 'PATCH', {
      settings: { ...s3Body('x').settings, secretAccessKey: undefined, prefix: 'p2/' },
    });
    expect(kept.status).toBe(200);
    expect(kept.body.settings).toMatchObject({ prefix: 'p2/', hasSecret: true });
    // Settings as answered go back as they are.
    const roundTrip = await call(`/sources/${source.id}`, 'PATCH', { settings: kept.body.settings });
    expect(roundTrip.status).toBe(200);
    expect(roundTrip.body.settings).toEqual(kept.body.settings);
    const replaced = await call(`/sources/${source.id}`, 'PATCH', {
      settings: { ...s3Body('x').settings, secretAccessKey: 'NEW-SECRET-42' },
    });
    expect(replaced.text).not.toContain('NEW-SECRET-42');
    const { rows: after } = await t.database.db.pool.query('SELECT details FROM audit_logs WHERE target_id = $1', [source.id]);
    expect(JSON.stringify(after)).not.toContain('NEW-SECRET-42');
    expect(await t.api.deps.secrets.revealText({ ownerType: 'depot_source', ownerId: source.id, purpose: 's3_secret_access_key' })).toBe(
      'NEW-SECRET-42',
    );

    // Removing the source removes its secret, and presigning for it stops (its cached client is dropped).
    const url = (p: string) =>
      s3ArtifactUrl(t.api.deps, { id: source.id, settings: replaced.body.settings as Record<string, unknown> }, p, 60);
    expect(await url('aa/one')).toContain('/depot/opsc/aa/one?');
    expect(await url('bb/two')).toContain('/depot/opsc/bb/two?');
    expect((await call(`/sources/${source.id}`, 'DELETE')).status).toBe(204);
    await expect(url('aa/one')).rejects.toThrow(/missing from the secret store/);
    expect(
      await t.api.deps.secrets.metadata({ ownerType: 'depot_source', ownerId: source.id, purpose: 's3_secret_access_key' }),
    ).toBeNull();
  });

  it('refuse settings that are not an S3 source’s', async () => {
    const refused = async (settings: Record<string, unknown>) =>
      expect((await call('/sources', 'POST', s3Body('bad', settings))).status).toBe(400);
    await refused({ endpoint: 'ftp://s3.example' });
    await refused({ bucket: 'Upper_Case' });
    await refused({ prefix: '../' });
    await refused({ prefix: 'no-slash' });
    await refused({ secretAccessKey: '' });
    await refused({ accessKeyId: 'with space' });
    await refused({ extra: true });
    expect((await call('/sources', 'POST', { kind: 's3', name: 'none', settings: {} })).status).toBe(400);
  });

  it('are checked with HeadBucket: reachable, a missing bucket or a closed port not', async () => {
    const check = async (id: string) => depotSource.parse((await call(`/sources/${id}/check`, 'POST', undefined, operator)).body).health;
    const good = depotSource.parse((await call('/sources', 'POST', s3Body('Reachable'))).body);
    expect(await check(good.id)).toMatchObject({ reachable: true, freeBytes: null, error: null });
    const missing = depotSource.parse((await call('/sources', 'POST', s3Body('Missing bucket', { bucket: 'nope' }))).body);
    expect(await check(missing.id)).toMatchObject({ reachable: false });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const down = depotSource.parse((await call('/sources', 'POST', s3Body('Down', { endpoint: closedUrl }))).body);
    const health = await check(down.id);
    expect(health.reachable).toBe(false);
    expect(health.error).toContain('ECONNREFUSED');
    expect(health.error).not.toContain(SECRET);
  });

  it('are replicated to from the built-in depot, streamed, and serve the exact bytes through presigned URLs', async () => {
    const source = depotSource.parse((await call('/sources', 'POST', s3Body('Replica'))).body);
    const a = await upload(randomBytes(3 * 1024 * 1024 + 17), 'big.bin');
    const b = await upload(Buffer.from('small\n'), 'small.txt');
    expect((await call(`/sources/${source.id}/replicate`, 'POST', undefined, operator)).status).toBe(403);
    const first = depotReplicationSummary.parse((await call(`/sources/${source.id}/replicate`, 'POST')).body);
    expect(first).toMatchObject({ copied: 2, verified: 0, failed: [] });
    expect((await locations(source.id)).map((l) => l.artifact_id).sort()).toEqual([a.id, b.id].sort());
    // Nothing left to copy.
    expect(depotReplicationSummary.parse((await call(`/sources/${source.id}/replicate`, 'POST')).body)).toMatchObject({
      copied: 0,
      verified: 0,
    });
    // The location lost (the bucket still has the object): found there, not copied again.
    await t.database.db.pool.query('DELETE FROM artifact_locations WHERE source_id = $1 AND artifact_id = $2', [source.id, b.id]);
    expect(depotReplicationSummary.parse((await call(`/sources/${source.id}/replicate`, 'POST')).body)).toMatchObject({
      copied: 0,
      verified: 1,
    });

    const url = await s3ArtifactUrl(t.api.deps, source, `${a.sha256.slice(0, 2)}/${a.sha256}`, 300);
    expect(url).toContain('X-Amz-Signature=');
    expect(url).not.toContain(SECRET);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(a.sha256);

    const { rows: audit } = await t.database.db.pool.query<{ details: Record<string, unknown> }>(
      `SELECT details FROM audit_logs WHERE action = 'depot_source.replicate' AND target_id = $1 ORDER BY created_at LIMIT 1`,
      [source.id],
    );
    expect(audit[0]!.details).toMatchObject({ copied: 2, failed: 0 });

    // A source whose bucket is gone: every artifact fails, each named, nothing recorded, no 500.
    const gone = depotSource.parse((await call('/sources', 'POST', s3Body('Gone', { bucket: 'gone-bucket' }))).body);
    const failed = depotReplicationSummary.parse((await call(`/sources/${gone.id}/replicate`, 'POST')).body);
    expect(failed.copied).toBe(0);
    expect(failed.failed.map((f) => f.artifactId).sort()).toEqual([a.id, b.id].sort());
    expect(await locations(gone.id)).toEqual([]);
  });
});

describe('replication', () => {
  it('copies to a mounted share through a .partial file and refuses what the server cannot write', async () => {
    const mount = await mkdtemp(path.join(tmpdir(), 'depot-share-'));
    try {
      const content = Buffer.from('share me\n'.repeat(1000));
      const artifact = await upload(content, 'share-me.txt');
      const share = depotSource.parse(
        (await call('/sources', 'POST', { kind: 'share', name: 'Mounted', settings: { uncPath: '\\\\fs\\depot', mountPath: mount } })).body,
      );
      const summary = depotReplicationSummary.parse((await call(`/sources/${share.id}/replicate`, 'POST')).body);
      expect(summary.failed).toEqual([]);
      expect(summary.copied).toBeGreaterThanOrEqual(1);
      const dir = path.join(mount, artifact.sha256.slice(0, 2));
      expect(await readFile(path.join(dir, artifact.sha256))).toEqual(content);
      expect((await readdir(dir)).filter((f) => f.endsWith('.partial'))).toEqual([]);
      expect((await locations(share.id)).map((l) => l.artifact_id)).toContain(artifact.id);

      const uncOnly = depotSource.parse(
        (await call('/sources', 'POST', { kind: 'share', name: 'UNC only', settings: { uncPath: '\\\\fs\\d' } })).body,
      );
      expect((await call(`/sources/${uncOnly.id}/replicate`, 'POST')).status).toBe(409);
      expect((await call('/sources/00000000-0000-4000-8000-000000000001/replicate', 'POST')).status).toBe(409);
      expect((await call('/sources/00000000-0000-4000-8000-0000000000ff/replicate', 'POST')).status).toBe(404);
    } finally {
      await rm(mount, { recursive: true, force: true });
    }
  });

  it('verifies an HTTP mirror: records what it answers with the right size, removes what vanished', async () => {
    const present = await upload(Buffer.from('on the mirror\n'), 'present.txt');
    const wrongSize = await upload(Buffer.from('the mirror has other bytes\n'), 'wrong.txt');
    const served = new Map<string, number>([
      [present.sha256, present.size],
      [wrongSize.sha256, 3],
    ]);
    const mirror: Server = createServer((req, res) => {
      const sha = req.url?.split('/').pop() ?? '';
      const size = served.get(sha);
      if (size === undefined) return res.writeHead(404).end();
      res.writeHead(200, { 'content-length': String(size) }).end();
    });
    await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/depot/`;
      const source = depotSource.parse((await call('/sources', 'POST', { kind: 'http', name: 'Mirror', settings: { baseUrl } })).body);
      const first = depotReplicationSummary.parse((await call(`/sources/${source.id}/replicate`, 'POST')).body);
      expect(first.verified).toBe(1);
      expect(first.copied).toBe(0);
      expect(first.failed.map((f) => f.artifactId)).toEqual([wrongSize.id]);
      expect(first.missing).toBeGreaterThanOrEqual(1);
      expect((await locations(source.id)).map((l) => l.artifact_id)).toEqual([present.id]);

      served.delete(present.sha256);
      const second = depotReplicationSummary.parse((await call(`/sources/${source.id}/replicate`, 'POST')).body);
      expect(second).toMatchObject({ verified: 0, removed: 1 });
      expect(await locations(source.id)).toEqual([]);
    } finally {
      mirror.close();
    }
  });

  it('of one artifact copies it to every enabled source that lacks it and says what happened at each', async () => {
    const artifact = await upload(Buffer.from('one artifact, everywhere\n'), 'everywhere.txt');
    const outcomes = async () => {
      const res = await call(`/artifacts/${artifact.id}/replicate`, 'POST');
      expect(res.status).toBe(200);
      return Object.fromEntries(depotArtifactReplication.parse(res.body).sources.map((s) => [s.name, s.outcome]));
    };
    const first = await outcomes();
    // Replica and Reachable are the same bucket and prefix: whichever comes second finds the object there.
    expect([first.Replica, first.Reachable].sort()).toEqual(['copied', 'verified']);
    expect(first).toMatchObject({ Down: 'failed', 'Missing bucket': 'failed', 'UNC only': 'skipped' });
    expect(first).not.toHaveProperty('Built-in depot');
    expect(await outcomes()).toMatchObject({ Replica: 'present', Reachable: 'present', Down: 'failed', 'UNC only': 'skipped' });
    expect((await call(`/artifacts/${artifact.id}/replicate`, 'POST', undefined, operator)).status).toBe(403);
    expect((await call('/artifacts/00000000-0000-4000-8000-0000000000ff/replicate', 'POST')).status).toBe(404);
    const { rows } = await t.database.db.pool.query(
      `SELECT 1 FROM audit_logs WHERE action = 'depot_artifact.replicate' AND target_id = $1`,
      [artifact.id],
    );
    expect(rows).toHaveLength(2);
  });
});
