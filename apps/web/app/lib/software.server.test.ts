import { describe, expect, it } from 'vitest';
import type { AppLoadContext } from '@remix-run/node';
import { commandDefaults, describeDetection, loadInstallations } from './software.server';

const PACKAGE = '5b0c1f7e-8a77-4c5e-9d0e-2f4a1b3c6d7e';
const request = () => new Request('http://console.test/software/x');
const answering = (status: number, body: unknown) =>
  (async () => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })) as unknown as typeof fetch;
const context = {} as AppLoadContext;

describe('loadInstallations', () => {
  it('reads the installations the API reports', async () => {
    let url = '';
    const item = {
      deviceId: 'd1',
      hostname: 'pc-1',
      versionId: 'v1',
      version: '1.0',
      state: 'installed',
      outcome: 'installed',
      checkedAt: null,
    };
    const result = await loadInstallations(request(), context, PACKAGE, (async (u: string) => {
      url = u;
      return new Response(JSON.stringify({ items: [item, { ...item, deviceId: 'd2', state: 'pending_reboot' }] }), { status: 200 });
    }) as unknown as typeof fetch);
    expect(url).toMatch(new RegExp(`/api/v1/software/packages/${PACKAGE}/installations$`));
    expect(result).toEqual({ available: true, items: [item, { ...item, deviceId: 'd2', state: 'unknown' }] });
  });

  it('says "No installation data yet" while the API has no such endpoint, and never fails the page', async () => {
    expect(await loadInstallations(request(), context, PACKAGE, answering(404, { code: 'not_found' }))).toEqual({
      available: false,
      reason: 'No installation data yet.',
    });
    expect(await loadInstallations(request(), context, PACKAGE, answering(500, {}))).toMatchObject({ available: false });
    expect(await loadInstallations(request(), context, PACKAGE, answering(200, { nope: true }))).toMatchObject({ available: false });
    const down = (() => Promise.reject(new TypeError('fetch failed'))) as unknown as typeof fetch;
    expect(await loadInstallations(request(), context, PACKAGE, down)).toMatchObject({ available: false });
  });
});

describe('commandDefaults', () => {
  it('gives every installer type the server’s defaults, or none where there is no safe one', () => {
    const d = commandDefaults();
    expect(d.msi.install).toBe('msiexec /i {installer} /qn /norestart /l*v {log}');
    expect(d.msi.rebootExitCodes).toEqual([3010, 1641]);
    expect(d.archive.install).toBeNull();
    expect(d.exe.install).toBeNull();
    expect(d.dnf.uninstall).toBe('dnf remove -y {packageName}');
  });

  it('words a stored detection', () => {
    expect(describeDetection(null)).toBeNull();
    expect(describeDetection({ type: 'service', name: 'AppSvc', state: 'running' })).toEqual({
      kind: 'rule',
      text: 'service AppSvc running',
    });
  });
});
