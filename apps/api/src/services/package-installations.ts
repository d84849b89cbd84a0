/**
 * Where each package version is installed (ADR 23): the last software.install / software.uninstall result of each
 * device for each version, recorded when the agent reports it (and again for a retried copy of that report: the
 * upsert is idempotent, and an older command's report never overwrites a newer one's).
 */
import type pg from 'pg';
import type { PackageInstallation, PackageInstallationList } from '@opsconductor/contracts/api';
import type { SoftwareOutcome } from '@opsconductor/contracts/constants';
import type { SoftwareCommandReport } from '@opsconductor/contracts/software';
import type { ApiDeps } from '../context.ts';
import { ApiError } from '../lib/problem.ts';

export type InstallationState = PackageInstallation['state'];

/** What a report says about the version on the device afterwards. */
export function installationState(kind: 'software.install' | 'software.uninstall', outcome: SoftwareOutcome): InstallationState {
  switch (outcome) {
    case 'installed':
    case 'already_installed':
      return 'installed';
    case 'uninstalled':
    case 'not_installed':
      return 'not_installed';
    case 'reboot_required':
      return kind === 'software.install' ? 'installed' : 'not_installed';
    default:
      return 'failed';
  }
}

/** Records the software report of a finished command (no-op for other kinds, or a version deleted meanwhile). */
export async function recordInstallation(
  pool: pg.Pool,
  command: { id: string; kind: string },
  report: SoftwareCommandReport | undefined,
): Promise<void> {
  if (!report || (command.kind !== 'software.install' && command.kind !== 'software.uninstall')) return;
  await pool.query(
    `INSERT INTO package_installations (device_id, version_id, package_id, state, outcome, detail, reboot_required, command_id, finished_at)
     SELECT ac.device_id, v.id, v.package_id, $2::"PackageInstallationState", $3, $4, $5, ac.id, coalesce(ac.finished_at, now())
       FROM agent_commands ac
       JOIN command_payloads cp ON cp.sha256 = ac.payload_sha256
       JOIN package_versions v ON v.id::text = cp.payload->'package'->>'versionId'
      WHERE ac.id = $1
     ON CONFLICT (device_id, version_id) DO UPDATE SET state = EXCLUDED.state, outcome = EXCLUDED.outcome, detail = EXCLUDED.detail,
       reboot_required = EXCLUDED.reboot_required, command_id = EXCLUDED.command_id, finished_at = EXCLUDED.finished_at
      WHERE package_installations.finished_at <= EXCLUDED.finished_at`,
    [command.id, installationState(command.kind, report.outcome), report.outcome, report.detail ?? null, report.rebootRequired],
  );
}

interface InstallationRow {
  device_id: string;
  hostname: string;
  version_id: string;
  version: string;
  state: InstallationState;
  outcome: SoftwareOutcome;
  detail: string | null;
  reboot_required: boolean;
  finished_at: Date;
}

/** A package's installations, by hostname: each device's latest report per version. */
export async function listInstallations(
  deps: ApiDeps,
  packageId: string,
  query: { state?: InstallationState; versionId?: string; page: number; pageSize: number },
): Promise<PackageInstallationList> {
  const pkg = await deps.db.pool.query('SELECT 1 FROM software_packages WHERE id = $1', [packageId]);
  if (pkg.rowCount === 0) throw new ApiError(404, 'not_found');
  const where = `i.package_id = $1 AND ($2::text IS NULL OR i.state::text = $2) AND ($3::uuid IS NULL OR i.version_id = $3)`;
  const filter = [packageId, query.state ?? null, query.versionId ?? null];
  const [{ rows }, count] = await Promise.all([
    deps.db.pool.query<InstallationRow>(
      `SELECT i.device_id, d.hostname, i.version_id, v.version, i.state, i.outcome, i.detail, i.reboot_required, i.finished_at
         FROM package_installations i
         JOIN devices d ON d.id = i.device_id
         JOIN package_versions v ON v.id = i.version_id
        WHERE ${where}
        ORDER BY lower(d.hostname), d.id, v.created_at DESC
        LIMIT $4 OFFSET $5`,
      [...filter, query.pageSize, (query.page - 1) * query.pageSize],
    ),
    deps.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM package_installations i WHERE ${where}`, filter),
  ]);
  return {
    items: rows.map((r) => ({
      deviceId: r.device_id,
      hostname: r.hostname,
      versionId: r.version_id,
      version: r.version,
      state: r.state,
      outcome: r.outcome,
      detail: r.detail,
      rebootRequired: r.reboot_required,
      checkedAt: r.finished_at.toISOString(),
    })),
    total: count.rows[0]!.n,
  };
}
