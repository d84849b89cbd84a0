/** Groups through the API: built-in and custom dynamic groups, static groups, tags, custom fields, events. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rule } from '@opsconductor/contracts/rules';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';
import { deltaReport, fullReport, sampleSections } from '../../../test/support/inventory.ts';

let t: TestApi;
let admin: string;
let operator: string;
beforeAll(async () => {
  t = await startTestApi();
  admin = await t.tokenFor('admin');
  operator = await t.tokenFor('operator');
});
afterAll(() => t?.close());

const api = async (method: string, path: string, json?: unknown, token = operator) => {
  const res = await t.request(`/api/v1${path}`, { method, token, ...(json === undefined ? {} : { json }) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
};
async function device(hostname: string, options: Parameters<typeof sampleSections>[0] = {}) {
  const d = await t.enrollDevice(await t.createEnrollmentToken(admin), hostname);
  const sections = sampleSections({ hostname, packages: 5, ...options });
  const res = await t.request('/agent/v1/inventory', {
    method: 'POST',
    headers: { authorization: `Bearer ${d.deviceSecret}` },
    json: fullReport(sections),
  });
  expect(res.status).toBe(200);
  return { ...d, sections };
}
const groupByName = async (name: string) =>
  ((await api('GET', '/groups')).body.items as { id: string; name: string; memberCount: number }[]).find((g) => g.name === name)!;
const memberNames = async (groupId: string) =>
  ((await api('GET', `/groups/${groupId}/members?pageSize=200`)).body.items as { hostname: string }[]).map((d) => d.hostname).sort();
const createDynamic = async (name: string, rule: Rule) => {
  const res = await api('POST', '/groups', { kind: 'dynamic', name, rule });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; memberCount: number };
};

describe('built-in groups', () => {
  it('exist and follow the inventory of each device', async () => {
    await device('win11-laptop', { osFamily: 'windows', osVersion: '10.0.22631', pendingReboot: true });
    await device('deb-vm', { virtual: true, diskFreePercent: 4 });
    const names = ((await api('GET', '/groups')).body.items as { name: string; builtIn: boolean }[])
      .filter((g) => g.builtIn)
      .map((g) => g.name);
    expect(names).toHaveLength(8);
    const expectations: [string, string[]][] = [
      ['All Windows', ['win11-laptop']],
      ['Windows 11', ['win11-laptop']],
      ['All Linux', ['deb-vm']],
      ['Virtual machines', ['deb-vm']],
      ['Pending reboot', ['win11-laptop']],
      ['Low disk', ['deb-vm']],
    ];
    for (const [name, hosts] of expectations) {
      const g = ((await api('GET', '/groups')).body.items as { name: string; id: string }[]).find((x) => x.name.startsWith(name))!;
      expect(await memberNames(g.id), name).toEqual(hosts);
    }
    const builtIn = await groupByName('All Windows');
    expect((await api('DELETE', `/groups/${builtIn.id}`)).status).toBe(409);
  });
});

describe('dynamic groups', () => {
  it('places a device in groups on enrollment, before any inventory', async () => {
    const { deviceId } = await t.enrollDevice(await t.createEnrollmentToken(admin), 'fresh-enroll');
    const linux = await groupByName('All Linux');
    expect(await memberNames(linux.id)).toContain('fresh-enroll');
    const events = (await api('GET', `/groups/${linux.id}/events?pageSize=200`)).body.items as { deviceId: string; reason: string }[];
    expect(events.find((e) => e.deviceId === deviceId)?.reason).toBe('device enrolled');
  });

  it('refuses invalid rules with paths, and cycles', async () => {
    const bad = await api('POST', '/groups', {
      kind: 'dynamic',
      name: 'bad',
      rule: {
        all: [
          { field: 'os.family', op: 'equals', value: 'linux' },
          { field: 'no.such.field', op: 'equals', value: 1 },
          { field: 'hardware.memoryBytes', op: 'gt', value: 'lots' },
        ],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('rule_invalid');
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['all.1.field', 'all.2.value']));
    const a = await createDynamic('cycle-a', { field: 'hostname', op: 'starts_with', value: 'x' });
    const b = await createDynamic('cycle-b', { memberOf: a.id });
    const cycle = await api('PATCH', `/groups/${a.id}`, { rule: { memberOf: b.id } });
    expect(cycle.status).toBe(400);
    expect(cycle.body.code).toBe('rule_invalid');
  });

  it('gives the same membership incrementally (device by device) as a full evaluation', async () => {
    const rules: [string, Rule][] = [
      ['eq-windows', { field: 'os.family', op: 'equals', value: 'windows' }],
      [
        'virtual-and-ring',
        {
          all: [
            { field: 'hardware.isVirtual', op: 'equals', value: true },
            { field: 'tags', op: 'contains', value: 'ring-1' },
          ],
        },
      ],
      [
        'low-or-reboot',
        {
          any: [
            { field: 'performance.minDiskFreePercent', op: 'lt', value: 20 },
            { field: 'system.pendingReboot', op: 'equals', value: true },
          ],
        },
      ],
      ['has-pkg-3', { software: { name: 'pkg-0003', match: 'equals', version: { op: 'version_gte', value: '4.0' } }, present: true }],
      ['not-inc', { not: { field: 'hostname', op: 'starts_with', value: 'inc-1' } }],
      ['site-berlin', { field: 'customFields.site', op: 'equals', value: 'berlin' }],
      ['member-of-windows', { all: [{ memberOf: '' }, { field: 'hardware.isVirtual', op: 'equals', value: false }] }],
    ];
    await api('POST', '/custom-fields', { key: 'site', label: 'Site', type: 'enum', enumValues: ['berlin', 'paris'] }, admin);
    // Groups first (evaluated over the devices that exist: none yet), so membership then builds up incrementally.
    const created: Record<string, string> = {};
    for (const [name, rule] of rules) {
      const r =
        name === 'member-of-windows'
          ? { all: [{ memberOf: created['eq-windows']! }, { field: 'hardware.isVirtual', op: 'equals', value: false }] }
          : rule;
      created[name] = (await createDynamic(`inc ${name}`, r as Rule)).id;
    }
    const devices = [];
    for (let i = 0; i < 12; i++) {
      devices.push(
        await device(`inc-${i}`, {
          osFamily: i % 3 ? 'linux' : 'windows',
          virtual: i % 2 === 0,
          diskFreePercent: (i * 7) % 40,
          pendingReboot: i % 5 === 0,
        }),
      );
    }
    await api('POST', '/devices/tags', {
      deviceIds: devices.filter((_, i) => i % 4 === 1 || i % 4 === 2).map((d) => d.deviceId),
      add: ['ring-1'],
    });
    await api('POST', '/devices/custom-fields', { deviceIds: devices.slice(0, 5).map((d) => d.deviceId), values: { site: 'berlin' } });
    const incremental: Record<string, string[]> = {};
    for (const [name] of rules) incremental[name] = (await memberNames(created[name]!)).filter((h) => h.startsWith('inc-'));
    // Now force a full evaluation of every group by re-saving its rule, and compare.
    for (const [name] of rules) {
      const g = (await api('GET', `/groups/${created[name]}`)).body;
      await api('PATCH', `/groups/${g.id}`, { rule: g.rule });
      expect(
        (await memberNames(g.id)).filter((h) => h.startsWith('inc-')),
        name,
      ).toEqual(incremental[name]);
    }
    expect(incremental['eq-windows']).toEqual(['inc-0', 'inc-3', 'inc-6', 'inc-9']);
    expect(incremental['member-of-windows']).toEqual(['inc-3', 'inc-9']);
    expect(incremental['site-berlin']).toEqual(['inc-0', 'inc-1', 'inc-2', 'inc-3', 'inc-4']);
    expect(incremental['virtual-and-ring']).toEqual(['inc-10', 'inc-2', 'inc-6']);
  });

  it('records membership changes as events when a device changes', async () => {
    const g = await createDynamic('linux only', { field: 'os.family', op: 'equals', value: 'linux' });
    const d = await device('switcher');
    expect(await memberNames(g.id)).toContain('switcher');
    const windows = structuredClone(d.sections);
    windows.system.osFamily = 'windows';
    windows.system.osName = 'Microsoft Windows 11 Pro';
    const res = await t.request('/agent/v1/inventory', {
      method: 'POST',
      headers: { authorization: `Bearer ${d.deviceSecret}` },
      json: deltaReport(d.sections, windows),
    });
    expect(res.status).toBe(200);
    expect(await memberNames(g.id)).not.toContain('switcher');
    const events = (await api('GET', `/groups/${g.id}/events`)).body.items as { hostname: string; change: string; reason: string }[];
    expect(events.filter((e) => e.hostname === 'switcher').map((e) => [e.change, e.reason])).toEqual([
      ['removed', 'inventory changed'],
      ['added', 'device enrolled'],
    ]);
  });

  it('previews a rule without saving it', async () => {
    await device('preview-me', { osName: 'Preview OS' });
    const res = await api('POST', '/groups/preview', { rule: { field: 'os.name', op: 'equals', value: 'preview os' }, limit: 5 });
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(1);
    expect(res.body.devices.map((d: { hostname: string }) => d.hostname)).toEqual(['preview-me']);
    const invalid = await api('POST', '/groups/preview', { rule: { field: 'os.name', op: 'gt', value: 1 } });
    expect(invalid.body.code).toBe('rule_invalid');
  });

  it("a viewer's catastrophic regex against a device's hostile hostname neither stalls the API nor fails", async () => {
    // The attack from the hardening review: an agent names itself 'a'×30 + '!', a viewer previews
    // `^(a|a)*$`. On a backtracking engine that ran for 130 s and held every request, /healthz included.
    const hostile = `${'a'.repeat(30)}!`;
    await device(hostile);
    const viewer = await t.tokenFor('viewer');
    const rule = {
      any: [
        { field: 'hostname', op: 'regex', value: '^(a|a)*$' },
        { field: 'hostname', op: 'regex', value: '^(a+)+$' },
      ],
    };
    const started = performance.now();
    const [preview, health] = await Promise.all([
      api('POST', '/groups/preview', { rule, limit: 5 }, viewer),
      new Promise((r) => setTimeout(r, 20)).then(() => t.request('/healthz')),
    ]);
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body.count).toBe(0);
    expect(health.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(5_000);
    // Saved as a dynamic group, it is evaluated on every enrollment and inventory report.
    const saved = await createDynamic('catastrophic regex', { field: 'hostname', op: 'regex', value: '^(a|a)*!$' });
    expect(saved.memberCount).toBe(1);
    await device(`${'a'.repeat(31)}!`);
    expect(await memberNames(saved.id)).toEqual([hostile, `${'a'.repeat(31)}!`]);
  }, 20_000);
});

describe('static groups, tags and custom fields', () => {
  it('adds and removes static members, with events, and a dynamic rule on membership follows', async () => {
    const a = await device('static-a');
    const b = await device('static-b');
    const created = await api('POST', '/groups', { kind: 'static', name: 'pilot ring', deviceIds: [a.deviceId] });
    expect(created.status).toBe(201);
    const follower = await createDynamic('pilot and linux', {
      all: [{ memberOf: created.body.id }, { field: 'os.family', op: 'equals', value: 'linux' }],
    });
    expect(await memberNames(follower.id)).toEqual(['static-a']);
    const changed = await api('POST', `/groups/${created.body.id}/members`, { add: [b.deviceId], remove: [a.deviceId] });
    expect(changed.body.memberCount).toBe(1);
    expect(await memberNames(follower.id)).toEqual(['static-b']);
    const events = (await api('GET', `/groups/${created.body.id}/events`)).body.items.map(
      (e: { hostname: string; change: string }) => `${e.change} ${e.hostname}`,
    );
    // Newest first; the two changes of one request share a transaction, in no particular order.
    expect(events[2]).toBe('added static-a');
    expect(events.slice(0, 2).sort()).toEqual(['added static-b', 'removed static-a']);
    const dyn = await api('POST', `/groups/${follower.id}/members`, { add: [a.deviceId] });
    expect(dyn.body.code).toBe('wrong_group_kind');
  });

  it('keeps dynamic groups current after a bulk tag change on many devices', async () => {
    const group = await createDynamic('tagged canary', { field: 'tags', op: 'contains', value: 'canary' });
    const token = await t.createEnrollmentToken(admin, { maxUses: 60 });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push((await t.enrollDevice(token, `bulk-${String(i).padStart(2, '0')}`)).deviceId);
    expect((await api('POST', '/devices/tags', { deviceIds: ids, add: ['canary'] })).status).toBe(200);
    expect((await api('GET', `/groups/${group.id}`)).body.memberCount).toBe(60);
    expect((await api('POST', '/devices/tags', { deviceIds: ids.slice(0, 25), remove: ['canary'] })).status).toBe(200);
    expect((await api('GET', `/groups/${group.id}`)).body.memberCount).toBe(35);
    const events = (await api('GET', `/groups/${group.id}/events?pageSize=200`)).body;
    expect(events.total).toBe(85);
  });

  it('validates custom field values by type and filters the device list by them, by tag, group and OS', async () => {
    await api('POST', '/custom-fields', { key: 'cost_center', label: 'Cost center', type: 'number' }, admin);
    const d = await device('filter-me', { osFamily: 'windows' });
    const wrong = await api('POST', '/devices/custom-fields', { deviceIds: [d.deviceId], values: { cost_center: 'abc' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([{ path: 'values.cost_center', message: 'must be a number' }]);
    expect((await api('POST', '/devices/custom-fields', { deviceIds: [d.deviceId], values: { cost_center: 4711 } })).status).toBe(200);
    expect((await api('POST', '/devices/tags', { deviceIds: [d.deviceId], add: ['finance'] })).status).toBe(200);
    const hosts = async (q: string) => ((await api('GET', `/devices?${q}`)).body.items as { hostname: string }[]).map((x) => x.hostname);
    expect(await hosts('customField=cost_center:4711')).toEqual(['filter-me']);
    expect(await hosts('tag=finance')).toEqual(['filter-me']);
    expect(await hosts('osFamily=windows&search=filter')).toEqual(['filter-me']);
    const windows = await groupByName('All Windows');
    expect(await hosts(`groupId=${windows.id}&search=filter-me`)).toEqual(['filter-me']);
    const sorted = await hosts('sort=hostname&order=desc&pageSize=3');
    expect(sorted).toEqual([...sorted].sort().reverse());
    const detail = (await api('GET', `/devices/${d.deviceId}`)).body;
    expect(detail.customFields).toEqual({ cost_center: 4711 });
    expect(detail.tags).toEqual(['finance']);
    expect(detail.groups.map((g: { name: string }) => g.name)).toContain('All Windows');
  });
});

describe('empty changes', () => {
  it('refuses a PATCH of a group that changes nothing', async () => {
    const created = await api('POST', '/groups', { name: 'empty-patch', kind: 'static' });
    expect(created.status).toBe(201);
    const empty = await t.request(`/api/v1/groups/${created.body.id}`, { method: 'PATCH', token: operator, json: {} });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { code: string }).code).toBe('validation_failed');
    expect((await t.request(`/api/v1/groups/${created.body.id}`, { method: 'PATCH', token: operator })).status).toBe(400);
  });
});
