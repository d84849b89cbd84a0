import { describe, expect, it } from 'vitest';
import { createPackageVersionBody, createSoftwarePackageBody } from '@opsconductor/contracts/api';
import {
  createPackageBody,
  createVersionBody,
  emptyVersionForm,
  metadataSummary,
  parseExitCodes,
  prefillFromArtifact,
  readPackageForm,
  readVersionForm,
  shortSha,
  updatePackageBody,
  type VersionFormValues,
} from './software';

const GUID = '{12345678-ABCD-4EF0-9123-456789ABCDEF}';
const ID = '5b0c1f7e-8a77-4c5e-9d0e-2f4a1b3c6d7e';

function form(entries: Array<[string, string]>) {
  const f = new FormData();
  for (const [k, v] of entries) f.append(k, v);
  return f;
}

describe('the package form', () => {
  it('reads and checks a new package, as the API takes it', () => {
    const v = readPackageForm((n) =>
      form([
        ['name', ' 7-Zip '],
        ['vendor', 'Igor Pavlov'],
        ['platform', 'windows'],
      ]).get(n),
    );
    const parsed = createPackageBody(v);
    expect(parsed).toEqual({
      ok: true,
      body: { name: '7-Zip', vendor: 'Igor Pavlov', description: '', category: '', platform: 'windows' },
    });
    if (parsed.ok) expect(createSoftwarePackageBody.safeParse(parsed.body).success).toBe(true);
    expect(createPackageBody({ ...v, name: '', platform: 'beos' })).toEqual({
      ok: false,
      issues: { name: 'Enter a name', platform: 'Choose a platform' },
    });
  });

  it('sends only what changed', () => {
    const current = { name: 'a', vendor: 'v', description: '', category: 'Tools' };
    expect(updatePackageBody(current, { ...current, platform: 'linux', category: 'Utilities' })).toEqual({
      ok: true,
      body: { category: 'Utilities' },
    });
  });
});

describe('the version form', () => {
  const values = (over: Partial<VersionFormValues>): VersionFormValues => ({ ...emptyVersionForm('msi'), ...over });

  it('leaves empty command fields out, so the server fills the installer type’s defaults', () => {
    const parsed = createVersionBody(values({ version: '1.2.3', artifactIds: [ID], productCode: GUID }));
    expect(parsed).toEqual({
      ok: true,
      body: {
        version: '1.2.3',
        installerType: 'msi',
        artifactIds: [ID],
        reboot: 'if_required',
        timeoutSeconds: 3600,
        productCode: GUID,
        requirements: {},
      },
    });
    if (parsed.ok) expect(createPackageVersionBody.safeParse(parsed.body).success).toBe(true);
  });

  it('reads every field from the posted form, in order, and builds a body the contracts accept', () => {
    const f = form([
      ['version', '2.0'],
      ['installerType', 'deb'],
      ['artifactId', ID],
      ['successExitCodes', '0, 100'],
      ['reboot', 'never'],
      ['timeoutSeconds', '600'],
      ['packageName', 'hello'],
      ['postHookInterpreter', 'sh'],
      ['postHook', 'systemctl restart hello\r\n'],
      ['platforms', 'linux'],
      ['architectures', 'x64'],
      ['architectures', 'arm64'],
      ['minFreeDiskMb', '200'],
      ['dependencyPackageId', ID],
      ['dependencyMinVersion', '1.0'],
      ['dependencyPackageId', ''],
      ['dependencyMinVersion', ''],
      ['detection', JSON.stringify({ type: 'linux_package', manager: 'dpkg', name: 'hello' })],
    ]);
    const parsed = createVersionBody(
      readVersionForm(
        (n) => f.get(n),
        (n) => f.getAll(n),
      ),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.body).toMatchObject({
      successExitCodes: [0, 100],
      postHook: { interpreter: 'sh', script: 'systemctl restart hello\n' },
      requirements: { platforms: ['linux'], architectures: ['x64', 'arm64'], minFreeDiskMb: 200 },
      dependencies: [{ packageId: ID, version: [{ op: 'gte', value: '1.0' }] }],
      detection: { type: 'linux_package', manager: 'dpkg', name: 'hello' },
    });
    expect(createPackageVersionBody.safeParse(parsed.body).success).toBe(true);
  });

  it('says what is missing at its field', () => {
    expect(createVersionBody(values({ version: 'x y', timeoutSeconds: '0', successExitCodes: '0, a' }))).toEqual({
      ok: false,
      issues: {
        version: 'Enter a version such as 1.2.3 or 1:2.3-4',
        artifactIds: 'Choose the installer from the depot, or upload it',
        successExitCodes: 'Exit codes separated by commas, e.g. 0, 3010',
        timeoutSeconds: 'Seconds, from 1 up to a week (604800)',
      },
    });
    expect(createVersionBody(values({ version: '1', installerType: 'apt' }))).toEqual({
      ok: false,
      issues: { packageName: 'Enter the name the package manager knows it by' },
    });
    expect(createVersionBody(values({ version: '1', installerType: 'exe', artifactIds: [ID] }))).toMatchObject({
      ok: false,
      issues: { installCommand: expect.stringContaining('installer framework') },
    });
  });

  it('parses exit codes', () => {
    expect(parseExitCodes('0 3010,1641')).toEqual([0, 3010, 1641]);
    expect(parseExitCodes('1.5')).toBeNull();
  });
});

describe('artifacts', () => {
  it('prefills only empty fields from the metadata', () => {
    const meta = { format: 'msi', installerType: 'msi', version: '24.08', productCode: GUID, name: '7-Zip', vendor: 'Igor Pavlov' };
    expect(prefillFromArtifact(emptyVersionForm('exe'), { metadata: meta })).toMatchObject({
      version: '24.08',
      installerType: 'msi',
      productCode: GUID,
    });
    expect(prefillFromArtifact({ ...emptyVersionForm('msi'), version: '1' }, { metadata: meta }).version).toBe('1');
    expect(
      prefillFromArtifact(emptyVersionForm('deb'), {
        metadata: { format: 'deb', installerType: 'deb', packageName: 'hello', version: '2.10-3' },
      }),
    ).toMatchObject({
      packageName: 'hello',
      version: '2.10-3',
    });
    // An exe's framework (read from its markers) picks its silent switches; one the server does not know is left out.
    const exe = { format: 'pe', installerType: 'exe', version: '3.1.0', installerFramework: 'nsis' };
    expect(prefillFromArtifact(emptyVersionForm('exe'), { metadata: exe })).toMatchObject({
      installerType: 'exe',
      installerFramework: 'nsis',
    });
    expect(prefillFromArtifact(emptyVersionForm('exe'), { metadata: { ...exe, installerFramework: 'squirrel' } }).installerFramework).toBe(
      '',
    );
  });

  it('summarizes metadata and shortens hashes', () => {
    expect(metadataSummary({ format: 'msi', name: '7-Zip', version: '24.08', productCode: GUID, warnings: [] })).toEqual([
      ['Format', 'msi'],
      ['Product', '7-Zip'],
      ['Version', '24.08'],
      ['Product code', GUID],
    ]);
    expect(metadataSummary({ format: 'unknown' })).toEqual([]);
    expect(shortSha('0123456789abcdef'.repeat(4))).toBe('01234567…cdef');
  });
});
