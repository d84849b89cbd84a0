/**
 * Depot sources (ADR 23): the built-in depot is always there and cannot be removed or disabled; admins add HTTP(S)
 * mirrors and SMB shares with a priority and the subnets they serve first, and a health check tells whether the
 * server reaches each one and how much space is free where it can see.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depotSource, depotSourceList, type DepotSource } from '@opsconductor/contracts/api';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

const BUILT_IN = '00000000-0000-4000-8000-000000000001';
let t: TestApi;
let admin: string;
let mirrorUrl: string;
const mirror = createServer((req, res) => res.writeHead(req.url === '/broken/' ? 502 : 200).end());
beforeAll(async () => {
  t = await startTestApi();
  admin = await t.tokenFor('admin');
  await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
  mirrorUrl = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}`;
});
afterAll(async () => {
  mirror.close();
  await t?.close();
});

const call = async (p: string, method = 'GET', json?: unknown, token = admin) => {
  const res = await t.request(`/api/v1/depot/sources${p}`, { method, token, ...(json === undefined ? {} : { json }) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> & { code?: string } };
};
const check = async (id: string): Promise<DepotSource['health']> => depotSource.parse((await call(`/${id}/check`, 'POST')).body).health;

describe('depot sources', () => {
  it('include the built-in depot, whose health is the free space of DEPOT_DIR; it cannot be removed or disabled', async () => {
    const viewer = await t.tokenFor('viewer');
    const listed = depotSourceList.parse((await call('', 'GET', undefined, viewer)).body).items;
    expect(listed.find((s) => s.id === BUILT_IN)).toMatchObject({ kind: 'depot', name: 'Built-in depot', priority: 50 });
    const health = await check(BUILT_IN);
    expect(health.reachable).toBe(true);
    expect(health.freeBytes).toBeGreaterThan(0);
    expect(health.checkedAt).not.toBeNull();
    expect((await call(`/${BUILT_IN}`, 'DELETE')).status).toBe(409);
    expect((await call(`/${BUILT_IN}`, 'PATCH', { enabled: false })).status).toBe(409);
    expect((await call(`/${BUILT_IN}`, 'PATCH', { priority: 40 })).body).toMatchObject({ priority: 40 });
  });

  it('are mirrors and shares added by admins, with subnets, checked for reachability, changed and removed', async () => {
    const operator = await t.tokenFor('operator');
    const http = {
      kind: 'http',
      name: 'Branch mirror',
      settings: { baseUrl: `${mirrorUrl}/depot/` },
      subnets: ['10.20.0.0/16', '2001:db8::/32'],
    };
    expect((await call('', 'POST', http, operator)).status).toBe(403);
    const created = await call('', 'POST', http);
    expect(created.status).toBe(201);
    const mirrorSource = depotSource.parse(created.body);
    expect(mirrorSource).toMatchObject({ priority: 100, enabled: true, subnets: ['10.20.0.0/16', '2001:db8::/32'], artifacts: 0 });
    expect((await call('', 'POST', http)).body.code).toBe('name_taken');
    expect(await check(mirrorSource.id)).toMatchObject({ reachable: true, error: null });

    const broken = await call(`/${mirrorSource.id}`, 'PATCH', { settings: { baseUrl: `${mirrorUrl}/broken/` } });
    expect(broken.status).toBe(200);
    expect(await check(mirrorSource.id)).toMatchObject({ reachable: false, error: `${mirrorUrl}/broken/ answered 502` });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise((resolve) => closed.close(resolve));
    await call(`/${mirrorSource.id}`, 'PATCH', { settings: { baseUrl: closedUrl } });
    expect(await check(mirrorSource.id)).toMatchObject({ reachable: false, error: `${closedUrl}: ECONNREFUSED` });

    const mount = await mkdtemp(path.join(tmpdir(), 'depot-share-'));
    try {
      const share = depotSource.parse(
        (
          await call('', 'POST', {
            kind: 'share',
            name: 'HQ share',
            priority: 10,
            settings: { uncPath: '\\\\fs01\\depot', mountPath: mount },
          })
        ).body,
      );
      expect((await check(share.id)).freeBytes).toBeGreaterThan(0);
      await call(`/${share.id}`, 'PATCH', { settings: { uncPath: '\\\\fs01\\depot', mountPath: `${mount}/missing` } });
      expect(await check(share.id)).toMatchObject({ reachable: false, error: `${mount}/missing: ENOENT` });
      const order = depotSourceList.parse((await call('')).body).items.map((s) => s.name);
      expect(order.indexOf('HQ share')).toBeLessThan(order.indexOf('Built-in depot'));
      expect((await call(`/${share.id}`, 'DELETE')).status).toBe(204);
    } finally {
      await rm(mount, { recursive: true, force: true });
    }
  });

  it('refuse settings and subnets that are not what their kind takes', async () => {
    const refused = async (body: unknown, status = 400) => expect((await call('', 'POST', body)).status).toBe(status);
    await refused({ kind: 'http', name: 'ftp', settings: { baseUrl: 'ftp://mirror/depot' } });
    await refused({ kind: 'http', name: 'sub', settings: { baseUrl: 'http://m/' }, subnets: ['10.0.0.0/33'] });
    await refused({ kind: 'http', name: 'sub', settings: { baseUrl: 'http://m/' }, subnets: ['300.0.0.0/8'] });
    await refused({ kind: 'http', name: 'sub', settings: { baseUrl: 'http://m/' }, subnets: ['10.0.0.0'] });
    await refused({ kind: 'share', name: 'none', settings: {} });
    await refused({ kind: 'share', name: 'rel', settings: { mountPath: 'mnt/depot' } });
    await refused({ kind: 'share', name: 'unc', settings: { uncPath: '\\\\server' } });
    await refused({ kind: 'depot', name: 'second', settings: {} });
    await refused({ kind: 's3', name: 'bucket', settings: {} });
    const m = depotSource.parse((await call('', 'POST', { kind: 'http', name: 'ok', settings: { baseUrl: 'https://m.example/' } })).body);
    const bad = await call(`/${m.id}`, 'PATCH', { settings: { mountPath: '/mnt' } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('settings');
  });
});
