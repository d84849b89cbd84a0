/**
 * The software catalog (ADR 23): packages and their versions. A version's command lines default per installer type
 * (packages/software `defaultCommands`) and are checked when saved — only known placeholders, with the values they
 * need present — so a version that is stored can be rendered for a device. Installer types that install from the
 * depot need an artifact; package-manager types (apt, winget, …) need a package name instead.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import {
  MAX_PACKAGE_ICON_BYTES,
  type packageIconTypes,
  type CreatePackageVersionBody,
  type PackageVersion,
  type SoftwarePackage,
} from '@opsconductor/contracts/api';
import { packageManagerInstallerTypes, type InstallerType } from '@opsconductor/contracts/constants';
import { compareVersions } from '@opsconductor/rules';
import {
  CommandTemplateError,
  compareWith,
  defaultCommands,
  describeConstraints,
  renderCommand,
  satisfies,
  type VersionScheme,
} from '@opsconductor/software';
import { likeLiteral, withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import { MAX_COMMAND_TIMEOUT_SECONDS, type CommandPayloadOf } from '@opsconductor/contracts/commands';
import { MAX_SOFTWARE_DEPENDENCIES, type SoftwareDependency } from '@opsconductor/contracts/software';
import type { ApiDeps } from '../context.ts';
import { ApiError } from '../lib/problem.ts';

interface PackageRow {
  id: string;
  name: string;
  vendor: string;
  description: string;
  category: string;
  platform: SoftwarePackage['platform'];
  versions: string[] | null;
  has_icon: boolean;
  created_at: Date;
  updated_at: Date;
}

const PACKAGE_COLUMNS = `p.id, p.name, p.vendor, p.description, p.category, p.platform, p.created_at, p.updated_at, p.icon IS NOT NULL AS has_icon,
  (SELECT array_agg(v.version) FROM package_versions v WHERE v.package_id = p.id) AS versions`;

function toPackage(r: PackageRow): SoftwarePackage {
  const versions = r.versions ?? [];
  return {
    id: r.id,
    name: r.name,
    vendor: r.vendor,
    description: r.description,
    category: r.category,
    platform: r.platform,
    versionCount: versions.length,
    latestVersion: versions.reduce<string | null>((max, v) => (max === null || compareVersions(v, max) > 0 ? v : max), null),
    hasIcon: r.has_icon,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export async function listPackages(
  deps: ApiDeps,
  query: { q?: string; platform?: string; category?: string; page: number; pageSize: number },
): Promise<{ items: SoftwarePackage[]; total: number }> {
  const params: unknown[] = [];
  const where: string[] = [];
  if (query.q) {
    params.push(likeLiteral(query.q));
    where.push(`(p.name ILIKE '%' || $${params.length} || '%' OR p.vendor ILIKE '%' || $${params.length} || '%')`);
  }
  if (query.platform) {
    params.push(query.platform);
    where.push(`p.platform = $${params.length}::"PackagePlatform"`);
  }
  if (query.category) {
    params.push(query.category);
    where.push(`p.category = $${params.length}`);
  }
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const [{ rows }, count] = await Promise.all([
    deps.db.pool.query<PackageRow>(
      `SELECT ${PACKAGE_COLUMNS} FROM software_packages p ${filter} ORDER BY lower(p.name), p.id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, query.pageSize, (query.page - 1) * query.pageSize],
    ),
    deps.db.pool.query<{ total: number }>(`SELECT count(*)::int AS total FROM software_packages p ${filter}`, params),
  ]);
  return { items: rows.map(toPackage), total: count.rows[0]!.total };
}

async function selectPackage(sql: pg.Pool | pg.PoolClient, id: string): Promise<SoftwarePackage> {
  const { rows } = await sql.query<PackageRow>(`SELECT ${PACKAGE_COLUMNS} FROM software_packages p WHERE p.id = $1`, [id]);
  if (!rows[0]) throw new ApiError(404, 'not_found');
  return toPackage(rows[0]);
}

export const getPackage = (deps: ApiDeps, id: string) => selectPackage(deps.db.pool, id);

const nameTaken = (err: unknown) => {
  if ((err as { code?: string }).code === '23505') throw new ApiError(409, 'name_taken', 'A package of this name exists.');
  throw err;
};

export async function createPackage(
  deps: ApiDeps,
  origin: Origin,
  userId: string,
  body: { name: string; vendor: string; description: string; category: string; platform: string },
): Promise<SoftwarePackage> {
  const id = randomUUID();
  return withUnitOfWork(deps.db, origin, async (uow) => {
    await uow.sql.query(
      `INSERT INTO software_packages (id, name, vendor, description, category, platform, created_by_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, body.name, body.vendor, body.description, body.category, body.platform, userId],
    );
    await uow.audit({ action: 'software_package.create', targetType: 'software_package', targetId: id, details: { name: body.name } });
    return selectPackage(uow.sql, id);
  }).catch(nameTaken);
}

export async function updatePackage(
  deps: ApiDeps,
  origin: Origin,
  id: string,
  body: { name?: string; vendor?: string; description?: string; category?: string },
): Promise<SoftwarePackage> {
  return withUnitOfWork(deps.db, origin, async (uow) => {
    const { rowCount } = await uow.sql.query(
      `UPDATE software_packages SET name = coalesce($2, name), vendor = coalesce($3, vendor), description = coalesce($4, description),
         category = coalesce($5, category), updated_at = now() WHERE id = $1`,
      [id, body.name ?? null, body.vendor ?? null, body.description ?? null, body.category ?? null],
    );
    if (!rowCount) throw new ApiError(404, 'not_found');
    await uow.audit({ action: 'software_package.update', targetType: 'software_package', targetId: id, details: body });
    return selectPackage(uow.sql, id);
  }).catch(nameTaken);
}

/**
 * A deployed version (or package) stays: its deployments show it, and a rollback may need it again — a version a
 * deployment replaced on some device too (its rollback reinstalls it).
 */
async function refuseIfDeployed(sql: pg.PoolClient, column: 'package_id' | 'version_id', id: string): Promise<void> {
  const { rows } = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deployments dep
      WHERE dep.${column} = $1
         OR ($2 AND EXISTS (SELECT 1 FROM deployment_devices dd WHERE dd.deployment_id = dep.id AND dd.previous_version_id = $1))`,
    [id, column === 'version_id'],
  );
  if (rows[0]!.n > 0) throw new ApiError(409, 'version_deployed', `${rows[0]!.n} deployment${rows[0]!.n === 1 ? '' : 's'} use it.`);
}

/** Deletes a package and its versions, unless another package's version depends on it (409) or it was deployed. */
export async function deletePackage(deps: ApiDeps, origin: Origin, id: string): Promise<void> {
  await withUnitOfWork(deps.db, origin, async (uow) => {
    const pkg = await selectPackage(uow.sql, id);
    await refuseIfDeployed(uow.sql, 'package_id', id);
    await uow.sql.query('DELETE FROM software_packages WHERE id = $1', [id]);
    await uow.audit({ action: 'software_package.delete', targetType: 'software_package', targetId: id, details: { name: pkg.name } });
  }).catch((err: unknown) => {
    if ((err as { code?: string }).code === '23503')
      throw new ApiError(409, 'conflict', 'Versions of other packages depend on this package.');
    throw err;
  });
}

// ---- icons ---------------------------------------------------------------------------------------------

type IconType = (typeof packageIconTypes)[number];

/** The image type its first bytes say, whatever the request claimed; undefined when it is none of the accepted ones. */
export function iconTypeOf(bytes: Uint8Array): IconType | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

/** Stores a package's icon: PNG, JPEG or WebP by its content, at most MAX_PACKAGE_ICON_BYTES. */
export async function setIcon(deps: ApiDeps, origin: Origin, id: string, bytes: Uint8Array): Promise<SoftwarePackage> {
  if (bytes.byteLength > MAX_PACKAGE_ICON_BYTES)
    throw new ApiError(413, 'payload_too_large', `An icon may hold at most ${MAX_PACKAGE_ICON_BYTES / 1024} KiB.`);
  const type = iconTypeOf(bytes);
  if (!type) throw new ApiError(415, 'unsupported_media_type', 'An icon is a PNG, JPEG or WebP image.');
  return withUnitOfWork(deps.db, origin, async (uow) => {
    const { rowCount } = await uow.sql.query(`UPDATE software_packages SET icon = $2, icon_type = $3, updated_at = now() WHERE id = $1`, [
      id,
      Buffer.from(bytes),
      type,
    ]);
    if (!rowCount) throw new ApiError(404, 'not_found');
    await uow.audit({
      action: 'software_package.icon',
      targetType: 'software_package',
      targetId: id,
      details: { type, bytes: bytes.byteLength },
    });
    return selectPackage(uow.sql, id);
  });
}

export async function getIcon(deps: ApiDeps, id: string): Promise<{ bytes: Buffer; type: IconType }> {
  const { rows } = await deps.db.pool.query<{ icon: Buffer | null; icon_type: IconType | null }>(
    'SELECT icon, icon_type FROM software_packages WHERE id = $1',
    [id],
  );
  if (!rows[0]?.icon || !rows[0].icon_type) throw new ApiError(404, 'not_found', rows[0] ? 'The package has no icon.' : undefined);
  return { bytes: rows[0].icon, type: rows[0].icon_type };
}

export async function deleteIcon(deps: ApiDeps, origin: Origin, id: string): Promise<void> {
  await withUnitOfWork(deps.db, origin, async (uow) => {
    const { rowCount } = await uow.sql.query(
      `UPDATE software_packages SET icon = NULL, icon_type = NULL, updated_at = now() WHERE id = $1`,
      [id],
    );
    if (!rowCount) throw new ApiError(404, 'not_found');
    await uow.audit({ action: 'software_package.icon_delete', targetType: 'software_package', targetId: id, details: {} });
  });
}

// ---- versions ----------------------------------------------------------------------------------------

interface VersionRow {
  id: string;
  package_id: string;
  version: string;
  installer_type: InstallerType;
  install_command: string;
  uninstall_command: string;
  success_exit_codes: string[];
  reboot_exit_codes: string[];
  reboot: PackageVersion['reboot'];
  timeout_seconds: number;
  product_code: string | null;
  package_manager_name: string | null;
  pre_hook: PackageVersion['preHook'];
  post_hook: PackageVersion['postHook'];
  requirements: PackageVersion['requirements'];
  detection: PackageVersion['detection'];
  supersedes_id: string | null;
  notes: string;
  created_at: Date;
  artifact_ids: string[];
  dependencies: PackageVersion['dependencies'];
}

const VERSION_COLUMNS = `v.id, v.package_id, v.version, v.installer_type, v.install_command, v.uninstall_command,
  v.success_exit_codes::text[], v.reboot_exit_codes::text[], v.reboot, v.timeout_seconds, v.product_code, v.package_manager_name,
  v.pre_hook, v.post_hook, v.requirements, v.detection, v.supersedes_id, v.notes, v.created_at,
  coalesce((SELECT array_agg(a.artifact_id ORDER BY a.position) FROM package_version_artifacts a WHERE a.version_id = v.id), '{}') AS artifact_ids,
  coalesce((SELECT json_agg(json_strip_nulls(json_build_object('packageId', d.depends_on_id, 'version', d.version_constraints)) ORDER BY d.depends_on_id)
    FROM package_dependencies d WHERE d.version_id = v.id), '[]') AS dependencies`;

function toVersion(r: VersionRow): PackageVersion {
  return {
    id: r.id,
    packageId: r.package_id,
    version: r.version,
    installerType: r.installer_type,
    artifactIds: r.artifact_ids,
    installCommand: r.install_command,
    uninstallCommand: r.uninstall_command === '' ? null : r.uninstall_command,
    successExitCodes: r.success_exit_codes.map(Number),
    rebootExitCodes: r.reboot_exit_codes.map(Number),
    reboot: r.reboot,
    timeoutSeconds: r.timeout_seconds,
    productCode: r.product_code,
    packageName: r.package_manager_name,
    preHook: r.pre_hook,
    postHook: r.post_hook,
    requirements: r.requirements,
    detection: r.detection,
    dependencies: r.dependencies,
    supersedesId: r.supersedes_id,
    notes: r.notes,
    createdAt: r.created_at.toISOString(),
  };
}

async function selectVersions(sql: pg.Pool | pg.PoolClient, where: 'v.id' | 'v.package_id', id: string): Promise<PackageVersion[]> {
  const { rows } = await sql.query<VersionRow>(
    `SELECT ${VERSION_COLUMNS} FROM package_versions v WHERE ${where} = $1 ORDER BY v.created_at, v.id`,
    [id],
  );
  return rows.map(toVersion);
}

export async function listVersions(deps: ApiDeps, packageId: string): Promise<PackageVersion[]> {
  await selectPackage(deps.db.pool, packageId);
  return (await selectVersions(deps.db.pool, 'v.package_id', packageId)).sort((a, b) => compareVersions(b.version, a.version));
}

export async function getVersion(deps: ApiDeps, id: string): Promise<PackageVersion> {
  const [version] = await selectVersions(deps.db.pool, 'v.id', id);
  if (!version) throw new ApiError(404, 'not_found');
  return version;
}

const invalid = (path: string, message: string) => new ApiError(400, 'validation_failed', message, [{ path, message }]);

/** The command lines a version gets: what the body says, else the installer type's defaults; checked as templates. */
function versionCommands(body: CreatePackageVersionBody) {
  const needsArtifact = !(packageManagerInstallerTypes as readonly string[]).includes(body.installerType);
  if (needsArtifact && body.artifactIds.length === 0)
    throw invalid('artifactIds', `A ${body.installerType} version needs its installer artifact.`);
  if (!needsArtifact && body.artifactIds.length > 0)
    throw invalid('artifactIds', `A ${body.installerType} version installs by package name, without artifacts.`);
  if (!needsArtifact && !body.packageName) throw invalid('packageName', `A ${body.installerType} version needs the package name.`);
  const defaults = defaultCommands(body.installerType, {
    productCode: body.productCode,
    packageName: body.packageName,
    installerFramework: body.installerFramework,
  });
  const install = body.installCommand ?? defaults?.install;
  if (!install) throw invalid('installCommand', `There is no default install command for ${body.installerType}: write one.`);
  const uninstall = body.uninstallCommand ?? defaults?.uninstall ?? null;
  const values = { installer: '/installer', log: '/installer.log', productCode: body.productCode, packageName: body.packageName };
  for (const [path, template] of [
    ['installCommand', install],
    ['uninstallCommand', uninstall],
  ] as const) {
    if (template === null) continue;
    try {
      renderCommand(template, values, 'sh');
    } catch (err) {
      if (err instanceof CommandTemplateError) throw invalid(path, err.message);
      throw err;
    }
  }
  return {
    install,
    uninstall,
    successExitCodes: body.successExitCodes ?? defaults?.successExitCodes ?? [0],
    rebootExitCodes: body.rebootExitCodes ?? defaults?.rebootExitCodes ?? [],
  };
}

export async function createVersion(
  deps: ApiDeps,
  origin: Origin,
  userId: string,
  packageId: string,
  body: CreatePackageVersionBody,
): Promise<PackageVersion> {
  const commands = versionCommands(body);
  const id = randomUUID();
  return withUnitOfWork(deps.db, origin, async (uow) => {
    await selectPackage(uow.sql, packageId);
    if (body.supersedesId) {
      const { rowCount } = await uow.sql.query('SELECT 1 FROM package_versions WHERE id = $1 AND package_id = $2', [
        body.supersedesId,
        packageId,
      ]);
      if (!rowCount) throw invalid('supersedesId', 'Not a version of this package.');
    }
    if (body.dependencies.some((d) => d.packageId === packageId)) throw invalid('dependencies', 'A package cannot depend on itself.');
    await uow.sql.query(
      `INSERT INTO package_versions (id, package_id, version, installer_type, install_command, uninstall_command, success_exit_codes,
         reboot_exit_codes, reboot, timeout_seconds, product_code, package_manager_name, pre_hook, post_hook, requirements, detection,
         supersedes_id, notes, created_by_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7::bigint[], $8::bigint[], $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
      [
        id,
        packageId,
        body.version,
        body.installerType,
        commands.install,
        commands.uninstall ?? '',
        commands.successExitCodes.map(String),
        commands.rebootExitCodes.map(String),
        body.reboot,
        body.timeoutSeconds,
        body.productCode ?? null,
        body.packageName ?? null,
        body.preHook ? JSON.stringify(body.preHook) : null,
        body.postHook ? JSON.stringify(body.postHook) : null,
        JSON.stringify(body.requirements),
        body.detection ? JSON.stringify(body.detection) : null,
        body.supersedesId ?? null,
        body.notes,
        userId,
      ],
    );
    if (body.artifactIds.length) {
      const { rowCount } = await uow.sql.query(
        `INSERT INTO package_version_artifacts (version_id, artifact_id, position)
         SELECT $1, a.id, x.position - 1 FROM unnest($2::uuid[]) WITH ORDINALITY AS x(artifact_id, position) JOIN artifacts a ON a.id = x.artifact_id`,
        [id, body.artifactIds],
      );
      if (rowCount !== body.artifactIds.length || new Set(body.artifactIds).size !== body.artifactIds.length) {
        throw invalid('artifactIds', 'Every artifact must be in the depot, each once.');
      }
    }
    if (body.dependencies.length) {
      const { rowCount } = await uow.sql.query(
        `INSERT INTO package_dependencies (version_id, depends_on_id, version_constraints)
         SELECT $1, p.id, d.version FROM jsonb_to_recordset($2::jsonb) AS d("packageId" uuid, version jsonb) JOIN software_packages p ON p.id = d."packageId"
         ON CONFLICT DO NOTHING`,
        [id, JSON.stringify(body.dependencies)],
      );
      if (rowCount !== body.dependencies.length) throw invalid('dependencies', 'Every dependency must be an existing package, each once.');
    }
    await uow.audit({
      action: 'package_version.create',
      targetType: 'package_version',
      targetId: id,
      details: { packageId, version: body.version, installerType: body.installerType },
    });
    return (await selectVersions(uow.sql, 'v.id', id))[0]!;
  }).catch((err: unknown) => {
    if ((err as { code?: string }).code === '23505') throw new ApiError(409, 'name_taken', 'The package has this version already.');
    throw err;
  });
}

export async function deleteVersion(deps: ApiDeps, origin: Origin, id: string): Promise<void> {
  await withUnitOfWork(deps.db, origin, async (uow) => {
    const [version] = await selectVersions(uow.sql, 'v.id', id);
    if (!version) throw new ApiError(404, 'not_found');
    await refuseIfDeployed(uow.sql, 'version_id', id);
    await uow.sql.query('DELETE FROM package_versions WHERE id = $1', [id]);
    await uow.audit({
      action: 'package_version.delete',
      targetType: 'package_version',
      targetId: id,
      details: { packageId: version.packageId, version: version.version },
    });
  });
}

/** How a package's versions compare, by its installer type (dependency constraints are read the same way). */
function versionScheme(installerType: InstallerType): VersionScheme {
  switch (installerType) {
    case 'deb':
    case 'apt':
      return 'dpkg';
    case 'rpm':
    case 'dnf':
      return 'rpm';
    case 'pacman':
      return 'pacman';
    case 'msi':
      return 'msi';
    default:
      return 'generic';
  }
}

/** One version's install or uninstall, as a command stores it (no kind, no dependencies). */
function versionInstall(version: PackageVersion, packageName: string, installing: boolean, command: string): SoftwareDependency {
  const withArtifacts = version.artifactIds.length > 0 && (installing || command.includes('{installer}'));
  return {
    package: { versionId: version.id, name: packageName, version: version.version },
    command,
    installerType: version.installerType,
    successExitCodes: version.successExitCodes,
    rebootExitCodes: version.rebootExitCodes,
    reboot: version.reboot,
    timeoutSeconds: version.timeoutSeconds,
    ...(version.productCode ? { productCode: version.productCode } : {}),
    ...(version.packageName ? { packageName: version.packageName } : {}),
    ...(installing && version.preHook ? { preHook: version.preHook } : {}),
    ...(installing && version.postHook ? { postHook: version.postHook } : {}),
    ...(version.detection ? { detection: version.detection } : {}),
    ...(installing ? { requirements: version.requirements } : {}),
    ...(withArtifacts ? { artifactIds: version.artifactIds } : {}),
  };
}

/**
 * The versions `version` depends on, to install before it in this order: for each dependency the highest version of
 * its package that meets its constraints (compared the package's way), that version's own dependencies first. A
 * version needed twice is installed once; a cycle, a dependency without a matching version, or more than
 * MAX_SOFTWARE_DEPENDENCIES are refused (400), naming the package.
 */
async function resolveDependencies(deps: ApiDeps, version: PackageVersion): Promise<SoftwareDependency[]> {
  const ordered: SoftwareDependency[] = [];
  const done = new Set<string>();
  const visit = async (v: PackageVersion, path: string[]): Promise<void> => {
    for (const dependency of v.dependencies) {
      const pkg = await selectPackage(deps.db.pool, dependency.packageId);
      if (path.includes(pkg.id)) throw invalid('action.versionId', `The dependencies go round in a circle through "${pkg.name}".`);
      const candidates = (await selectVersions(deps.db.pool, 'v.package_id', pkg.id))
        .filter((c) => !dependency.version || satisfies(c.version, dependency.version, versionScheme(c.installerType)))
        .sort((a, b) => compareWith(versionScheme(b.installerType), b.version, a.version));
      const chosen = candidates[0];
      if (!chosen)
        throw invalid(
          'action.versionId',
          `No version of "${pkg.name}" meets ${dependency.version ? describeConstraints(dependency.version) : 'the dependency'}.`,
        );
      if (done.has(chosen.id)) continue;
      await visit(chosen, [...path, pkg.id]);
      done.add(chosen.id);
      ordered.push(versionInstall(chosen, pkg.name, true, chosen.installCommand));
      if (ordered.length > MAX_SOFTWARE_DEPENDENCIES)
        throw invalid('action.versionId', `The version needs more than ${MAX_SOFTWARE_DEPENDENCIES} other versions installed first.`);
    }
  };
  await visit(version, [version.packageId]);
  return ordered;
}

/**
 * The command that installs or uninstalls a version on a device, as stored (its artifacts by ID: they are signed
 * for each device when delivered, services/artifact-delivery.ts). An uninstall gets the artifacts only when its
 * command runs the installer file (`{installer}`: an exe's own uninstall switch, msiexec /x on the package). An
 * install brings the versions it depends on (resolveDependencies), and its timeout covers theirs.
 */
export async function softwareCommandPayload(
  deps: ApiDeps,
  kind: 'software.install' | 'software.uninstall',
  versionId: string,
): Promise<CommandPayloadOf<'software.install' | 'software.uninstall'>> {
  const [version] = await selectVersions(deps.db.pool, 'v.id', versionId);
  if (!version)
    throw new ApiError(400, 'unknown_version', undefined, [{ path: 'action.versionId', message: 'no package version has this ID' }]);
  const pkg = await selectPackage(deps.db.pool, version.packageId);
  const installing = kind === 'software.install';
  const command = installing ? version.installCommand : version.uninstallCommand;
  if (command === null) throw invalid('action.versionId', 'This version has no uninstall command: add one to the version first.');
  const own = versionInstall(version, pkg.name, installing, command);
  const dependencies = installing ? await resolveDependencies(deps, version) : [];
  if (dependencies.length === 0) return { kind, ...own };
  const timeoutSeconds = Math.min(
    MAX_COMMAND_TIMEOUT_SECONDS,
    dependencies.reduce((sum, d) => sum + d.timeoutSeconds, own.timeoutSeconds),
  );
  return { kind, ...own, timeoutSeconds, dependencies };
}
