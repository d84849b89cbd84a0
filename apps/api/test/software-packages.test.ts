/**
 * The package catalog (ADR 23): packages with versions whose command lines default per installer type and are
 * checked as templates, artifacts in order (which then cannot leave the depot), dependencies, search and filters.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depotArtifact, packageVersion, packageVersionList, softwarePackage, softwarePackageList } from '@opsconductor/contracts/api';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

let t: TestApi;
let operator: string;
let viewer: string;
beforeAll(async () => {
  t = await startTestApi();
  operator = await t.tokenFor('operator');
  viewer = await t.tokenFor('viewer');
});
afterAll(async () => {
  await t?.close();
});

const call = async (path: string, method = 'GET', json?: unknown, token = operator) => {
  const res = await t.request(`/api/v1${path}`, { method, token, ...(json === undefined ? {} : { json }) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> & { code?: string } };
};
const uploadArtifact = async (fileName: string) => {
  const res = await t.request(`/api/v1/depot/artifacts?fileName=${fileName}`, {
    method: 'POST',
    token: operator,
    headers: { 'content-type': 'application/octet-stream' },
    body: Buffer.from(`${fileName} ${randomUUID()}`),
  });
  return depotArtifact.parse(await res.json());
};
const newPackage = async (name: string, platform = 'windows', extra: Record<string, unknown> = {}) => {
  const res = await call('/software/packages', 'POST', { name, platform, ...extra });
  expect(res.status).toBe(201);
  return softwarePackage.parse(res.body);
};

describe('software packages', () => {
  it('are created by operators, searched by name or vendor, filtered by platform and category, renamed and deleted', async () => {
    expect((await call('/software/packages', 'POST', { name: 'Nope', platform: 'linux' }, viewer)).status).toBe(403);
    const firefox = await newPackage('Firefox ESR', 'windows', { vendor: 'Mozilla', category: 'Browsers' });
    const nginx = await newPackage('nginx', 'linux', { vendor: 'F5', category: 'Servers' });
    expect(firefox).toMatchObject({ versionCount: 0, latestVersion: null, vendor: 'Mozilla' });
    expect((await call('/software/packages', 'POST', { name: 'Firefox ESR', platform: 'linux' })).body.code).toBe('name_taken');
    expect((await call('/software/packages', 'POST', { name: 'x', platform: 'amiga' })).status).toBe(400);
    expect((await call('/software/packages', 'POST', { name: 'a\u0000b', platform: 'linux' })).status).toBe(400);

    const search = async (query: string) =>
      softwarePackageList.parse((await call(`/software/packages?${query}`, 'GET', undefined, viewer)).body).items.map((p) => p.id);
    expect(await search('q=mozil')).toEqual([firefox.id]);
    expect(await search('platform=linux&q=nginx')).toEqual([nginx.id]);
    expect(await search('category=Servers')).toEqual([nginx.id]);
    expect(await search('q=%25')).toEqual([]);

    const renamed = await call(`/software/packages/${nginx.id}`, 'PATCH', { name: 'nginx mainline' });
    expect(renamed.body).toMatchObject({ name: 'nginx mainline', vendor: 'F5' });
    expect((await call(`/software/packages/${nginx.id}`, 'PATCH', { name: 'Firefox ESR' })).status).toBe(409);
    expect((await call(`/software/packages/${nginx.id}`, 'DELETE')).status).toBe(204);
    expect((await call(`/software/packages/${nginx.id}`)).status).toBe(404);
  });

  it('get versions with the installer type’s unattended commands by default, artifacts in order, highest version first', async () => {
    const pkg = await newPackage(`7-Zip ${randomUUID()}`);
    const msi = await uploadArtifact('7z.msi');
    const transform = await uploadArtifact('7z.mst');
    const productCode = '{23170F69-40C1-2702-2409-000001000000}';
    const created = await call(`/software/packages/${pkg.id}/versions`, 'POST', {
      version: '24.09',
      installerType: 'msi',
      artifactIds: [msi.id, transform.id],
      productCode,
      detection: { type: 'msi_product_code', productCode },
      requirements: { platforms: ['windows'], architectures: ['x64'], minFreeDiskMb: 100 },
    });
    expect(created.status).toBe(201);
    const v = packageVersion.parse(created.body);
    expect(v.installCommand).toMatch(/^msiexec \/i \{installer\} \/qn \/norestart/);
    expect(v.uninstallCommand).toContain('msiexec /x {productCode}');
    expect(v).toMatchObject({
      artifactIds: [msi.id, transform.id],
      successExitCodes: [0],
      rebootExitCodes: [3010, 1641],
      reboot: 'if_required',
    });
    expect(v.detection).toEqual({ type: 'msi_product_code', productCode });

    const older = await call(`/software/packages/${pkg.id}/versions`, 'POST', {
      version: '9.20',
      installerType: 'exe',
      artifactIds: [(await uploadArtifact('7z920.exe')).id],
      installCommand: '{installer} /S',
      successExitCodes: [0, 2147944003],
    });
    expect(older.status).toBe(201);
    expect(packageVersion.parse(older.body).successExitCodes).toEqual([0, 2147944003]);
    const listed = packageVersionList.parse((await call(`/software/packages/${pkg.id}/versions`, 'GET', undefined, viewer)).body);
    expect(listed.items.map((x) => x.version)).toEqual(['24.09', '9.20']); // 24 > 9, not "2" < "9"
    expect(softwarePackage.parse((await call(`/software/packages/${pkg.id}`)).body)).toMatchObject({
      versionCount: 2,
      latestVersion: '24.09',
    });
    expect(
      (
        await call(`/software/packages/${pkg.id}/versions`, 'POST', {
          version: '24.09',
          installerType: 'msi',
          artifactIds: [msi.id],
          productCode,
        })
      ).body.code,
    ).toBe('name_taken');

    // Its artifacts stay while it exists.
    expect((await call(`/depot/artifacts/${transform.id}`, 'DELETE')).body.code).toBe('artifact_in_use');
    expect((await call(`/software/versions/${v.id}`, 'DELETE')).status).toBe(204);
    expect((await call(`/depot/artifacts/${transform.id}`, 'DELETE')).status).toBe(204);
  });

  it('refuses versions that could not be installed as written', async () => {
    const pkg = await newPackage(`Tool ${randomUUID()}`, 'linux');
    const other = await newPackage(`Lib ${randomUUID()}`, 'linux');
    const deb = await uploadArtifact('tool.deb');
    const refused = async (body: Record<string, unknown>, path: string) => {
      const res = await call(`/software/packages/${pkg.id}/versions`, 'POST', body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(JSON.stringify(res.body)).toContain(path);
    };
    await refused({ version: '1.0', installerType: 'deb' }, 'artifactIds'); // no installer
    await refused({ version: '1.0', installerType: 'apt' }, 'packageName');
    await refused({ version: '1.0', installerType: 'apt', packageName: 'tool', artifactIds: [deb.id] }, 'artifactIds');
    await refused({ version: '1.0', installerType: 'deb', artifactIds: [deb.id], installCommand: 'dpkg -i {installr}' }, 'installCommand');
    await refused(
      {
        version: '1.0',
        installerType: 'exe',
        artifactIds: [deb.id],
        installCommand: '{installer} /S',
        uninstallCommand: 'msiexec /x {productCode}',
      },
      'uninstallCommand',
    ); // no product code
    await refused({ version: '1.0', installerType: 'archive', artifactIds: [deb.id] }, 'installCommand'); // no default for archives
    await refused({ version: '1.0', installerType: 'deb', artifactIds: [randomUUID()] }, 'artifactIds');
    await refused({ version: '1.0', installerType: 'deb', artifactIds: [deb.id, deb.id] }, 'artifactIds');
    await refused(
      { version: '1.0', installerType: 'deb', artifactIds: [deb.id], dependencies: [{ packageId: randomUUID() }] },
      'dependencies',
    );
    await refused({ version: '1.0', installerType: 'deb', artifactIds: [deb.id], supersedesId: randomUUID() }, 'supersedesId');
    await refused({ version: '1.0; rm -rf /', installerType: 'deb', artifactIds: [deb.id] }, 'version');
    await refused({ version: '1.0', installerType: 'apt', packageName: 'tool; reboot' }, 'packageName');
    await refused({ version: '1.0', installerType: 'apt', packageName: 'tool', successExitCodes: [2 ** 40] }, 'successExitCodes');
    // Nested past any limit a schema could check by recursion: refused before validation, not a stack overflow.
    let deep = '{"type":"service","name":"x","state":"exists"}';
    for (let i = 0; i < 50_000; i++) deep = `{"all":[${deep}]}`;
    const tooDeep = await t.request(`/api/v1/software/packages/${pkg.id}/versions`, {
      method: 'POST',
      token: operator,
      headers: { 'content-type': 'application/json' },
      body: `{"version":"1.0","installerType":"apt","packageName":"x","detection":${deep}}`,
    });
    expect(tooDeep.status).toBe(400);
    await refused(
      {
        version: '1.0',
        installerType: 'apt',
        packageName: 'x',
        detection: { all: [{ all: [{ all: [{ all: [{ all: [{ type: 'service', name: 'x', state: 'exists' }] }] }] }] }] },
      },
      'nest',
    );

    const base = await call(`/software/packages/${pkg.id}/versions`, 'POST', {
      version: '1.0',
      installerType: 'apt',
      packageName: 'tool',
      dependencies: [{ packageId: other.id, version: [{ op: 'gte', value: '2.0' }] }],
    });
    expect(base.status).toBe(201);
    const v1 = packageVersion.parse(base.body);
    expect(v1.installCommand).toContain('apt-get install -y');
    expect(v1.dependencies).toEqual([{ packageId: other.id, version: [{ op: 'gte', value: '2.0' }] }]);
    const v2 = await call(`/software/packages/${pkg.id}/versions`, 'POST', {
      version: '1.1',
      installerType: 'deb',
      artifactIds: [deb.id],
      supersedesId: v1.id,
    });
    expect(packageVersion.parse(v2.body).supersedesId).toBe(v1.id);
    // A package others depend on stays.
    expect((await call(`/software/packages/${other.id}`, 'DELETE')).status).toBe(409);
  });
});

describe('package icons', () => {
  // A 1×1 PNG and the start of a WebP and a JPEG: the type is read from the bytes.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
  const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 '), Buffer.alloc(20)]);
  const put = (id: string, body: Buffer, type = 'image/png', token = operator) =>
    t.request(`/api/v1/software/packages/${id}/icon`, { method: 'PUT', token, headers: { 'content-type': type }, body });

  it('are PNG, JPEG or WebP by their bytes, at most 256 KiB, served with their type and never sniffed', async () => {
    const pkg = await newPackage(`Iconic ${randomUUID()}`);
    expect(pkg.hasIcon).toBe(false);
    expect((await put(pkg.id, png, 'image/png', viewer)).status).toBe(403);
    const set = await put(pkg.id, png);
    expect(set.status).toBe(200);
    expect(softwarePackage.parse(await set.json()).hasIcon).toBe(true);
    const got = await t.request(`/api/v1/software/packages/${pkg.id}/icon`, { token: viewer });
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/png');
    expect(got.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await got.arrayBuffer()).equals(png)).toBe(true);
    // What the request claims does not matter: the bytes do.
    expect((await put(pkg.id, webp, 'image/png')).status).toBe(200);
    expect((await t.request(`/api/v1/software/packages/${pkg.id}/icon`, { token: viewer })).headers.get('content-type')).toBe('image/webp');
    const svg = await put(pkg.id, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 'image/png');
    expect(svg.status).toBe(415);
    expect(await svg.json()).toMatchObject({ code: 'unsupported_media_type' });
    const big = await put(pkg.id, Buffer.concat([png, Buffer.alloc(256 * 1024)]));
    expect(big.status).toBe(413);
    expect((await put(randomUUID(), png)).status).toBe(404);

    expect((await call(`/software/packages/${pkg.id}/icon`, 'DELETE')).status).toBe(204);
    expect(softwarePackage.parse((await call(`/software/packages/${pkg.id}`)).body).hasIcon).toBe(false);
    expect((await t.request(`/api/v1/software/packages/${pkg.id}/icon`, { token: viewer })).status).toBe(404);
    const { rows } = await t.database.db.pool.query(`SELECT action FROM audit_logs WHERE target_id = $1 ORDER BY created_at`, [pkg.id]);
    expect(rows.map((r) => r.action)).toEqual([
      'software_package.create',
      'software_package.icon',
      'software_package.icon',
      'software_package.icon_delete',
    ]);
  });
});
