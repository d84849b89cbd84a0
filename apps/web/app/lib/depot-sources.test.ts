import { describe, expect, it } from 'vitest';
import { createDepotSourceBody, updateDepotSourceBody } from '@opsconductor/contracts/api';
import { createSourceBody, readSourceForm, sourceFormValues, splitSubnets, updateSourceBody, type DepotSource } from './depot-sources';

const posted = (entries: Record<string, string>) => {
  const f = new FormData();
  for (const [k, v] of Object.entries(entries)) f.set(k, v);
  return readSourceForm((n) => f.get(n));
};

describe('the depot source form', () => {
  it('builds a mirror and a share the contracts accept', () => {
    const http = createSourceBody(
      posted({
        kind: 'http',
        name: 'Mirror',
        priority: '10',
        enabled: 'on',
        subnets: '10.1.0.0/16,\n10.2.0.0/16',
        baseUrl: 'https://mirror.example.com/depot',
      }),
    );
    expect(http).toEqual({
      ok: true,
      body: {
        kind: 'http',
        name: 'Mirror',
        priority: 10,
        enabled: true,
        subnets: ['10.1.0.0/16', '10.2.0.0/16'],
        settings: { baseUrl: 'https://mirror.example.com/depot' },
      },
    });
    if (http.ok) expect(createDepotSourceBody.safeParse(http.body).success).toBe(true);
    const share = createSourceBody(posted({ kind: 'share', name: 'Share', priority: '100', mountPath: '/mnt/depot' }));
    expect(share).toMatchObject({ ok: true, body: { kind: 'share', enabled: false, settings: { mountPath: '/mnt/depot' } } });
    if (share.ok) expect(createDepotSourceBody.safeParse(share.body).success).toBe(true);
  });

  it('says what is missing', () => {
    expect(createSourceBody(posted({ kind: 'share', name: '', priority: '-1' }))).toEqual({
      ok: false,
      issues: { name: 'Enter a name', priority: 'A number from 0 (first) to 10000', uncPath: 'A UNC path, a mount path, or both' },
    });
    expect(createSourceBody(posted({ kind: 'depot', name: 'x', priority: '1' }))).toMatchObject({
      ok: false,
      issues: { kind: expect.any(String) },
    });
  });

  it('edits a source whole, without settings for the built-in depot', () => {
    const depot: DepotSource = {
      id: '5b0c1f7e-8a77-4c5e-9d0e-2f4a1b3c6d7e',
      name: 'Built-in',
      kind: 'depot',
      priority: 1000,
      enabled: true,
      settings: {},
      subnets: [],
      health: { checkedAt: null, reachable: null, freeBytes: null, error: null },
      artifacts: 0,
    };
    const values = { ...sourceFormValues(depot), priority: '5' };
    const body = updateSourceBody(depot, values);
    expect(body).toEqual({ ok: true, body: { name: 'Built-in', priority: 5, enabled: true, subnets: [] } });
    if (body.ok) expect(updateDepotSourceBody.safeParse(body.body).success).toBe(true);
    expect(splitSubnets(' 10.0.0.0/8  192.168.0.0/16,')).toEqual(['10.0.0.0/8', '192.168.0.0/16']);
  });
});
