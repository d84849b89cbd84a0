/** Inventory ingest through the agent API: full and delta reports, history, software, validation. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';
import { deltaReport, fullReport, sampleSections } from '../../../test/support/inventory.ts';

let t: TestApi;
let admin: string;
beforeAll(async () => {
  t = await startTestApi();
  admin = await t.tokenFor('admin');
});
afterAll(() => t?.close());

async function enrolled(hostname: string) {
  return t.enrollDevice(await t.createEnrollmentToken(admin), hostname);
}
const send = (secret: string, body: unknown) =>
  t.request('/agent/v1/inventory', { method: 'POST', headers: { authorization: `Bearer ${secret}` }, json: body });
const events = async (deviceId: string) =>
  (await t.database.db.prisma.deviceInventoryEvent.findMany({ where: { deviceId }, orderBy: { id: 'asc' } })).map((e) => ({
    kind: e.kind,
    subject: e.subject,
    oldValue: e.oldValue,
    newValue: e.newValue,
  }));

describe('inventory ingest', () => {
  it('stores a full report: sections, software rows, device columns, one first-report event', async () => {
    const d = await enrolled('inv-full');
    const sections = sampleSections({ hostname: 'inv-full', packages: 300 });
    const res = await send(d.deviceSecret, fullReport(sections));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { accepted: boolean; changedSections: string[] };
    expect(body.accepted).toBe(true);
    expect(body.changedSections.sort()).toEqual(['directory', 'hardware', 'performance', 'security', 'services', 'software', 'system']);
    const { prisma } = t.database.db;
    expect(await prisma.deviceSoftware.count({ where: { deviceId: d.deviceId } })).toBe(300);
    const device = await prisma.device.findUniqueOrThrow({ where: { id: d.deviceId } });
    expect(device).toMatchObject({
      manufacturer: 'Dell Inc.',
      model: 'Latitude 7440',
      pendingReboot: false,
      ipAddresses: ['10.1.2.3'],
      osName: 'Debian GNU/Linux 12 (bookworm)',
    });
    expect(device.ruleFacts).toMatchObject({ facts: { 'hardware.manufacturer': 'Dell Inc.', 'hardware.isVirtual': false } });
    expect(await events(d.deviceId)).toEqual([
      { kind: 'inventory_first_report', subject: 'inventory', oldValue: null, newValue: '7 sections' },
    ]);

    const detail = (await (await t.request(`/api/v1/devices/${d.deviceId}`, { token: admin })).json()) as {
      softwareCount: number;
      inventory: { hardware: { model: string } };
    };
    expect(detail.softwareCount).toBe(300);
    expect(detail.inventory.hardware.model).toBe('Latitude 7440');
    const search = (await (await t.request(`/api/v1/devices/${d.deviceId}/software?search=pkg-0042`, { token: admin })).json()) as {
      items: { name: string }[];
      total: number;
    };
    expect(search.items.map((s) => s.name)).toEqual(['pkg-0042']);
  });

  it('applies a delta: only changed sections, software installed/removed/upgraded and an IP change in the history', async () => {
    const d = await enrolled('inv-delta');
    const before = sampleSections({ hostname: 'inv-delta', packages: 5 });
    expect((await send(d.deviceSecret, fullReport(before))).status).toBe(200);
    const after = structuredClone(before);
    after.software.packages = [
      ...before.software.packages.filter((p) => p.name !== 'pkg-0001'), // removed
      { ...before.software.packages[0]!, name: 'openssl', version: '3.0.13-1~deb12u1' }, // installed
    ].map((p) => (p.name === 'pkg-0002' ? { ...p, version: '9.9.9' } : p)); // upgraded
    after.hardware.networkInterfaces[0]!.ipv4 = ['10.9.9.9'];
    after.performance.cpuLoad1 = 3.2;
    const delta = deltaReport(before, after);
    expect(Object.keys(delta.sections).sort()).toEqual(['hardware', 'performance', 'software']);
    const res = await send(d.deviceSecret, delta);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { changedSections: string[] }).changedSections.sort()).toEqual(['hardware', 'performance', 'software']);
    expect((await events(d.deviceId)).slice(1)).toEqual(
      expect.arrayContaining([
        { kind: 'software_installed', subject: 'openssl (amd64)', oldValue: null, newValue: '3.0.13-1~deb12u1' },
        { kind: 'software_removed', subject: 'pkg-0001 (amd64)', oldValue: before.software.packages[1]!.version, newValue: null },
        { kind: 'software_upgraded', subject: 'pkg-0002 (amd64)', oldValue: before.software.packages[2]!.version, newValue: '9.9.9' },
        { kind: 'ip_changed', subject: 'IP addresses', oldValue: '10.1.2.3', newValue: '10.9.9.9' },
      ]),
    );
    expect(await events(d.deviceId)).toHaveLength(5);
    const names = (await t.database.db.prisma.deviceSoftware.findMany({ where: { deviceId: d.deviceId }, orderBy: { name: 'asc' } })).map(
      (s) => `${s.name}@${s.version}`,
    );
    expect(names).toEqual(['openssl@3.0.13-1~deb12u1', 'pkg-0000@1.0.0', 'pkg-0002@9.9.9', 'pkg-0003@4.3.0', 'pkg-0004@5.4.0']);
    expect((await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: d.deviceId } })).ipAddresses).toEqual(['10.9.9.9']);
  });

  it('keeps history proportional to changes: identical reports add nothing', async () => {
    const d = await enrolled('inv-same');
    const sections = sampleSections({ hostname: 'inv-same', packages: 50 });
    for (let i = 0; i < 4; i++) expect((await send(d.deviceSecret, fullReport(sections))).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await send(d.deviceSecret, deltaReport(sections, sections))).status).toBe(200);
    expect(await events(d.deviceId)).toHaveLength(1);
  });

  it('asks for a full report when it lacks the base of a delta, changing nothing', async () => {
    const d = await enrolled('inv-nobase');
    const sections = sampleSections({ hostname: 'inv-nobase' });
    const changed = structuredClone(sections);
    changed.performance.cpuLoad1 = 9;
    const noBase = await send(d.deviceSecret, deltaReport(sections, changed));
    expect(noBase.status).toBe(409);
    expect(((await noBase.json()) as { code: string }).code).toBe('inventory_full_report_required');
    expect(await t.database.db.prisma.deviceInventorySection.count({ where: { deviceId: d.deviceId } })).toBe(0);

    expect((await send(d.deviceSecret, fullReport(sections))).status).toBe(200);
    // A delta built on a different base (the agent's idea of the software section is not the server's).
    const other = structuredClone(sections);
    other.software.packages.pop();
    const stale = deltaReport(other, { ...other, performance: changed.performance });
    const res = await send(d.deviceSecret, stale);
    expect(res.status).toBe(409);
    const perf = await t.database.db.prisma.deviceInventorySection.findUniqueOrThrow({
      where: { deviceId_section: { deviceId: d.deviceId, section: 'performance' } },
    });
    expect((perf.data as { cpuLoad1: number }).cpuLoad1).toBe(0.5);
  });

  it('refuses malformed and oversized reports with problem+json, changing nothing', async () => {
    const d = await enrolled('inv-bad');
    const sections = sampleSections({ hostname: 'inv-bad' });
    const bad = fullReport(sections) as unknown as { sections: { hardware: { memoryBytes: unknown } }; hashes: Record<string, string> };
    bad.sections.hardware.memoryBytes = 'lots';
    bad.hashes.system = 'nothex';
    const res = await send(d.deviceSecret, bad);
    expect(res.status).toBe(400);
    const p = (await res.json()) as { code: string; errors: { path: string }[] };
    expect(p.code).toBe('validation_failed');
    expect(p.errors.map((e) => e.path)).toEqual(expect.arrayContaining(['sections.hardware.memoryBytes', 'hashes.system']));
    const partialFull = { ...fullReport(sections), sections: { system: sections.system } };
    expect((await send(d.deviceSecret, partialFull)).status).toBe(400);
    expect(await t.database.db.prisma.deviceInventorySection.count({ where: { deviceId: d.deviceId } })).toBe(0);
  });

  it('records a timeline the API pages through, newest first', async () => {
    const d = await enrolled('inv-timeline');
    let current = sampleSections({ hostname: 'inv-timeline', packages: 3 });
    await send(d.deviceSecret, fullReport(current));
    for (const version of ['13', '14']) {
      const next = structuredClone(current);
      next.system.osVersion = version;
      await send(d.deviceSecret, deltaReport(current, next));
      current = next;
    }
    const page = (await (await t.request(`/api/v1/devices/${d.deviceId}/timeline?pageSize=2`, { token: admin })).json()) as {
      items: { kind: string; newValue: string }[];
      total: number;
    };
    expect(page.total).toBe(3);
    expect(page.items.map((e) => [e.kind, e.newValue])).toEqual([
      ['os_changed', '14'],
      ['os_changed', '13'],
    ]);
  });
});
