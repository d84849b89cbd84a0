/**
 * The software pages' pure parts: the package and version forms read from what was posted and turned into the API's
 * bodies (or issues at their fields), short hashes for the tables, what an uploaded artifact's metadata prefills.
 * Browser-safe: only types and the zod-free constants come from the contracts.
 */
import {
  cpuArchitectures,
  installerTypes,
  packageManagerInstallerTypes,
  packagePlatforms,
  rebootBehaviours,
  scriptInterpreters,
  type CpuArchitecture,
  type InstallerType,
  type PackagePlatform,
  type RebootBehaviour,
  type ScriptInterpreter,
} from '@opsconductor/contracts/constants';
import type { components } from '@opsconductor/contracts/openapi-types';
import { MSI_GUID, PACKAGE_NAME, VERSION, readArtifactMetadata, type ArtifactMetadata } from './detection-tree';

export type CreatePackageBody = components['schemas']['CreateSoftwarePackageBody'];
export type UpdatePackageBody = components['schemas']['UpdateSoftwarePackageBody'];
export type CreateVersionBody = components['schemas']['CreatePackageVersionBody'];
export type DepotArtifact = components['schemas']['DepotArtifact'];

export { cpuArchitectures, installerTypes, packagePlatforms, rebootBehaviours, scriptInterpreters };

export const platformLabels: Record<PackagePlatform, string> = { windows: 'Windows', linux: 'Linux', macos: 'macOS' };
export const installerTypeLabels: Record<InstallerType, string> = {
  msi: 'MSI (Windows Installer)',
  exe: 'EXE installer',
  msix: 'MSIX',
  ps1: 'PowerShell script',
  sh: 'Shell script',
  deb: 'Debian package (.deb)',
  rpm: 'RPM package',
  archive: 'Archive',
  apt: 'apt (by name)',
  dnf: 'dnf (by name)',
  pacman: 'pacman (by name)',
  winget: 'winget (by name)',
  chocolatey: 'Chocolatey (by name)',
};
export const rebootLabels: Record<RebootBehaviour, string> = {
  never: 'Never (only report it)',
  if_required: 'When the installer asks',
  always: 'After every install',
};
export const exeFrameworks = ['inno', 'nsis', 'burn', 'installshield'] as const;

/** Installer types a package manager installs by name: no artifact. */
export const isByName = (type: InstallerType): boolean => (packageManagerInstallerTypes as readonly string[]).includes(type);

/** `3f2a9c1e…b7d0`: enough to tell artifacts apart; the whole hash goes in the title. */
export function shortSha(sha256: string): string {
  return sha256.length > 16 ? `${sha256.slice(0, 8)}…${sha256.slice(-4)}` : sha256;
}

type Get = (name: string) => FormDataEntryValue | null;
type GetAll = (name: string) => FormDataEntryValue[];
const text = (v: FormDataEntryValue | null | undefined) => (typeof v === 'string' ? v.replace(/\r\n?/g, '\n') : '');
export type Issues = Record<string, string>;
export type Parsed<Body> = { ok: true; body: Body } | { ok: false; issues: Issues };

// ---- package form ------------------------------------------------------------------------------------------

export type PackageFormValues = { name: string; vendor: string; description: string; category: string; platform: string };

export function readPackageForm(get: Get): PackageFormValues {
  return {
    name: text(get('name')).trim(),
    vendor: text(get('vendor')).trim(),
    description: text(get('description')).trim(),
    category: text(get('category')).trim(),
    platform: text(get('platform')),
  };
}

function packageIssues(v: PackageFormValues): Issues {
  const issues: Issues = {};
  if (!v.name) issues.name = 'Enter a name';
  else if (v.name.length > 200) issues.name = 'At most 200 characters';
  if (v.vendor.length > 200) issues.vendor = 'At most 200 characters';
  if (v.category.length > 100) issues.category = 'At most 100 characters';
  if (v.description.length > 4000) issues.description = 'At most 4,000 characters';
  return issues;
}

export function createPackageBody(v: PackageFormValues): Parsed<CreatePackageBody> {
  const issues = packageIssues(v);
  if (!(packagePlatforms as readonly string[]).includes(v.platform)) issues.platform = 'Choose a platform';
  if (Object.keys(issues).length) return { ok: false, issues };
  return {
    ok: true,
    body: { name: v.name, vendor: v.vendor, description: v.description, category: v.category, platform: v.platform as PackagePlatform },
  };
}

/** Only what differs from the package now (the platform is fixed once created: versions are built for it). */
export function updatePackageBody(
  current: { name: string; vendor: string; description: string; category: string },
  v: PackageFormValues,
): Parsed<UpdatePackageBody> {
  const issues = packageIssues(v);
  if (Object.keys(issues).length) return { ok: false, issues };
  const body: UpdatePackageBody = {};
  for (const k of ['name', 'vendor', 'description', 'category'] as const) if (v[k] !== current[k]) body[k] = v[k];
  return { ok: true, body };
}

// ---- version form ------------------------------------------------------------------------------------------

export type DependencyRow = { packageId: string; minVersion: string };
export type VersionFormValues = {
  version: string;
  installerType: string;
  installerFramework: string;
  artifactIds: string[];
  installCommand: string;
  uninstallCommand: string;
  successExitCodes: string;
  rebootExitCodes: string;
  reboot: string;
  timeoutSeconds: string;
  productCode: string;
  packageName: string;
  preHookInterpreter: string;
  preHook: string;
  postHookInterpreter: string;
  postHook: string;
  platforms: string[];
  architectures: string[];
  minOsVersion: string;
  minFreeDiskMb: string;
  minRamMb: string;
  dependencies: DependencyRow[];
  supersedesId: string;
  notes: string;
  /** The detection builder's JSON (empty: no detection). */
  detection: string;
  /** The builder's tree as it was, complete or not (to show it again after a refused save; never sent). */
  detectionDraft: string;
};

export const emptyVersionForm = (installerType: InstallerType = 'msi'): VersionFormValues => ({
  version: '',
  installerType,
  installerFramework: '',
  artifactIds: [],
  installCommand: '',
  uninstallCommand: '',
  successExitCodes: '',
  rebootExitCodes: '',
  reboot: 'if_required',
  timeoutSeconds: '3600',
  productCode: '',
  packageName: '',
  preHookInterpreter: 'powershell',
  preHook: '',
  postHookInterpreter: 'powershell',
  postHook: '',
  platforms: [],
  architectures: [],
  minOsVersion: '',
  minFreeDiskMb: '',
  minRamMb: '',
  dependencies: [],
  supersedesId: '',
  notes: '',
  detection: '',
  detectionDraft: '',
});

export function readVersionForm(get: Get, getAll: GetAll): VersionFormValues {
  const strings = (name: string) => getAll(name).map((v) => text(v));
  const depIds = strings('dependencyPackageId');
  const depVersions = strings('dependencyMinVersion');
  return {
    version: text(get('version')).trim(),
    installerType: text(get('installerType')),
    installerFramework: text(get('installerFramework')),
    artifactIds: strings('artifactId').filter(Boolean),
    installCommand: text(get('installCommand')).trim(),
    uninstallCommand: text(get('uninstallCommand')).trim(),
    successExitCodes: text(get('successExitCodes')).trim(),
    rebootExitCodes: text(get('rebootExitCodes')).trim(),
    reboot: text(get('reboot')),
    timeoutSeconds: text(get('timeoutSeconds')).trim(),
    productCode: text(get('productCode')).trim(),
    packageName: text(get('packageName')).trim(),
    preHookInterpreter: text(get('preHookInterpreter')),
    preHook: text(get('preHook')),
    postHookInterpreter: text(get('postHookInterpreter')),
    postHook: text(get('postHook')),
    platforms: strings('platforms'),
    architectures: strings('architectures'),
    minOsVersion: text(get('minOsVersion')).trim(),
    minFreeDiskMb: text(get('minFreeDiskMb')).trim(),
    minRamMb: text(get('minRamMb')).trim(),
    dependencies: depIds.map((packageId, i) => ({ packageId, minVersion: (depVersions[i] ?? '').trim() })).filter((d) => d.packageId),
    supersedesId: text(get('supersedesId')),
    notes: text(get('notes')).trim(),
    detection: text(get('detection')),
    detectionDraft: text(get('detectionDraft')),
  };
}

/** `0, 3010 1641` → numbers; null when one is not an exit code. */
export function parseExitCodes(value: string): number[] | null {
  const parts = value.split(/[\s,]+/).filter(Boolean);
  const codes = parts.map(Number);
  return codes.every((c) => Number.isInteger(c) && c >= -(2 ** 31) && c <= 2 ** 32 - 1) && codes.length <= 32 ? codes : null;
}

function positiveInt(value: string, max: number): number | null {
  if (!/^\d+$/.test(value)) return null;
  const n = Number(value);
  return n >= 1 && n <= max ? n : null;
}

/**
 * The API's body for a new version; empty fields are left out, so the server fills the installer type's defaults
 * (commands, exit codes). `detection` is the builder's serialized tree (null: no detection).
 */
export function createVersionBody(v: VersionFormValues): Parsed<CreateVersionBody> {
  const issues: Issues = {};
  if (!VERSION.test(v.version)) issues.version = 'Enter a version such as 1.2.3 or 1:2.3-4';
  if (!(installerTypes as readonly string[]).includes(v.installerType)) issues.installerType = 'Choose an installer type';
  const type = v.installerType as InstallerType;
  const body: CreateVersionBody = { version: v.version, installerType: type };
  if (!isByName(type) && type && v.artifactIds.length === 0) issues.artifactIds = 'Choose the installer from the depot, or upload it';
  if (v.artifactIds.length > 8) issues.artifactIds = 'At most 8 artifacts';
  if (v.artifactIds.length) body.artifactIds = v.artifactIds;
  if (isByName(type) && !v.packageName) issues.packageName = 'Enter the name the package manager knows it by';
  if (type === 'exe' && v.installerFramework) {
    if ((exeFrameworks as readonly string[]).includes(v.installerFramework))
      body.installerFramework = v.installerFramework as (typeof exeFrameworks)[number];
  }
  if (type === 'exe' && !v.installerFramework && !v.installCommand)
    issues.installCommand = 'Write the install command, or choose the installer framework for its silent switches';
  if (type === 'archive' && !v.installCommand) issues.installCommand = 'Write the command that installs from the archive';
  if (v.installCommand) body.installCommand = v.installCommand;
  if (v.uninstallCommand) body.uninstallCommand = v.uninstallCommand;
  for (const k of ['successExitCodes', 'rebootExitCodes'] as const) {
    if (!v[k]) continue;
    const codes = parseExitCodes(v[k]);
    if (!codes) issues[k] = 'Exit codes separated by commas, e.g. 0, 3010';
    else body[k] = codes;
  }
  if ((rebootBehaviours as readonly string[]).includes(v.reboot)) body.reboot = v.reboot as RebootBehaviour;
  if (v.timeoutSeconds) {
    const t = positiveInt(v.timeoutSeconds, 7 * 24 * 3600);
    if (t === null) issues.timeoutSeconds = 'Seconds, from 1 up to a week (604800)';
    else body.timeoutSeconds = t;
  }
  if (v.productCode) {
    if (!MSI_GUID.test(v.productCode)) issues.productCode = 'A GUID in braces, e.g. {12345678-ABCD-…}';
    else body.productCode = v.productCode;
  }
  if (v.packageName) {
    if (!PACKAGE_NAME.test(v.packageName)) issues.packageName = 'A package name such as nginx or Mozilla.Firefox';
    else body.packageName = v.packageName;
  }
  for (const k of ['preHook', 'postHook'] as const) {
    if (!v[k].trim()) continue;
    const interpreter = v[`${k}Interpreter`];
    if (!(scriptInterpreters as readonly string[]).includes(interpreter)) issues[k] = 'Choose an interpreter';
    else body[k] = { interpreter: interpreter as ScriptInterpreter, script: v[k] };
  }
  const requirements: NonNullable<CreateVersionBody['requirements']> = {};
  const platforms = v.platforms.filter((p): p is PackagePlatform => (packagePlatforms as readonly string[]).includes(p));
  if (platforms.length) requirements.platforms = platforms;
  const architectures = v.architectures.filter((a): a is CpuArchitecture => (cpuArchitectures as readonly string[]).includes(a));
  if (architectures.length) requirements.architectures = architectures;
  if (v.minOsVersion) {
    if (!VERSION.test(v.minOsVersion)) issues.minOsVersion = 'A version such as 10.0.19045 or 12';
    else requirements.minOsVersion = v.minOsVersion;
  }
  for (const k of ['minFreeDiskMb', 'minRamMb'] as const) {
    if (!v[k]) continue;
    const n = positiveInt(v[k], 16 * 1024 * 1024);
    if (n === null) issues[k] = 'A whole number of MiB';
    else requirements[k] = n;
  }
  body.requirements = requirements;
  const dependencies: NonNullable<CreateVersionBody['dependencies']> = [];
  for (const d of v.dependencies) {
    if (d.minVersion && !VERSION.test(d.minVersion)) {
      issues.dependencies = `“${d.minVersion}” is not a version`;
      continue;
    }
    dependencies.push(
      d.minVersion ? { packageId: d.packageId, version: [{ op: 'gte', value: d.minVersion }] } : { packageId: d.packageId },
    );
  }
  if (dependencies.length) body.dependencies = dependencies;
  if (v.supersedesId) body.supersedesId = v.supersedesId;
  if (v.notes) body.notes = v.notes;
  if (v.detection) {
    try {
      body.detection = JSON.parse(v.detection) as CreateVersionBody['detection'];
    } catch {
      issues.detection = 'The detection rules are not valid JSON';
    }
  }
  return Object.keys(issues).length ? { ok: false, issues } : { ok: true, body };
}

// ---- from an artifact ------------------------------------------------------------------------------------------

/**
 * The version form's fields an uploaded artifact prefills: its version, installer type, MSI product code, deb/rpm
 * package name, an exe's installer framework (which picks its silent switches). Only fields that are still empty change (what the operator typed stays).
 */
export function prefillFromArtifact(form: VersionFormValues, artifact: Pick<DepotArtifact, 'metadata'>): VersionFormValues {
  const meta: ArtifactMetadata = readArtifactMetadata(artifact.metadata);
  const next = { ...form };
  if (!next.version && meta.version && VERSION.test(meta.version)) next.version = meta.version;
  if (
    meta.installerType &&
    (installerTypes as readonly string[]).includes(meta.installerType) &&
    !isByName(meta.installerType as InstallerType)
  )
    next.installerType = meta.installerType;
  if (!next.productCode && meta.productCode && MSI_GUID.test(meta.productCode)) next.productCode = meta.productCode;
  if (!next.packageName && meta.packageName && PACKAGE_NAME.test(meta.packageName)) next.packageName = meta.packageName;
  if (!next.installerFramework && meta.installerFramework && (exeFrameworks as readonly string[]).includes(meta.installerFramework))
    next.installerFramework = meta.installerFramework;
  return next;
}

/** What the artifact's metadata says, as label/value pairs for the upload result and the depot list. */
export function metadataSummary(metadata: Record<string, unknown>): Array<[string, string]> {
  const m = readArtifactMetadata(metadata);
  const rows: Array<[string, string | undefined]> = [
    ['Format', m.format && m.format !== 'unknown' ? m.format : undefined],
    ['Product', m.name],
    ['Version', m.version],
    ['Manufacturer', m.vendor],
    ['Product code', m.productCode],
    ['Upgrade code', m.upgradeCode],
    ['Package', m.packageName],
    ['Architecture', m.architecture],
    ['Installer framework', m.installerFramework],
  ];
  return rows.filter((r): r is [string, string] => r[1] !== undefined);
}
