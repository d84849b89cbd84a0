/**
 * The fleet at a glance (the console's home page). Every figure is one aggregate over the tables, never a loop over
 * devices: presence with the online window the device list uses (packages/devices deviceWhere), OS and agent-version
 * breakdowns, compliance of each required assignment (covered devices joined with package_installations of the
 * version it wants), deployments in progress with their waves (DEPLOYMENT_DEVICE_STATES_SQL per deployment, at most
 * FLEET_DEPLOYMENTS_LIMIT of them) and failed runs of the last 24 hours.
 */
import {
  DEVICE_DEPLOYMENTS_LIMIT,
  FLEET_BREAKDOWN_LIMIT,
  FLEET_COMPLIANCE_LIMIT,
  FLEET_DEPLOYMENTS_LIMIT,
  FLEET_FAILED_RUNS_LIMIT,
  inProgressDeploymentStatuses,
  type FleetSummary,
} from '@opsconductor/contracts/fleet';
import type { DeploymentDeviceStatus, DeploymentStatus } from '@opsconductor/contracts/deployments';
import type { OsFamily } from '@opsconductor/contracts/constants';
import { DEPLOYMENT_DEVICE_STATES_SQL } from '@opsconductor/deployments';
import { compareVersions } from '@opsconductor/rules';
import type { ApiDeps } from '../context.ts';

const SUCCEEDED: readonly DeploymentDeviceStatus[] = ['succeeded', 'already_installed', 'reboot_pending'];
const FINAL: readonly DeploymentDeviceStatus[] = [...SUCCEEDED, 'failed', 'skipped', 'cancelled'];

/** The top entries of a breakdown, and the sum of the rest. */
function topOf<T extends { devices: number }>(rows: T[]): { items: T[]; other: number } {
  const items = rows.slice(0, FLEET_BREAKDOWN_LIMIT);
  return { items, other: rows.slice(FLEET_BREAKDOWN_LIMIT).reduce((n, r) => n + r.devices, 0) };
}

/**
 * The version each required assignment wants: its own, or its package's latest (compareVersions, as the
 * assignments themselves decide it). Keyed by assignment ID; null when the package has no version.
 */
export async function wantedVersions(
  deps: ApiDeps,
  rows: { id: string; package_id: string; version_id: string | null; version: string | null }[],
): Promise<Map<string, { id: string; version: string } | null>> {
  const latestOf = rows.filter((r) => !r.version_id).map((r) => r.package_id);
  const latest = new Map<string, { id: string; version: string }>();
  if (latestOf.length) {
    const { rows: versions } = await deps.db.pool.query<{ id: string; package_id: string; version: string }>(
      'SELECT id, package_id, version FROM package_versions WHERE package_id = ANY($1::uuid[])',
      [[...new Set(latestOf)]],
    );
    for (const v of versions) {
      const best = latest.get(v.package_id);
      if (!best || compareVersions(v.version, best.version) > 0) latest.set(v.package_id, { id: v.id, version: v.version });
    }
  }
  return new Map(rows.map((r) => [r.id, r.version_id ? { id: r.version_id, version: r.version! } : (latest.get(r.package_id) ?? null)]));
}

async function compliance(deps: ApiDeps): Promise<FleetSummary['compliance']> {
  const { pool } = deps.db;
  const { rows } = await pool.query<{
    id: string;
    package_id: string;
    package_name: string;
    version_id: string | null;
    version: string | null;
    device_id: string | null;
    group_id: string | null;
    target_name: string;
  }>(
    `SELECT a.id, a.package_id, p.name AS package_name, a.version_id, v.version, a.device_id, a.group_id,
            coalesce(d.hostname, g.name, '') AS target_name
       FROM software_assignments a
       JOIN software_packages p ON p.id = a.package_id
       LEFT JOIN package_versions v ON v.id = a.version_id
       LEFT JOIN devices d ON d.id = a.device_id
       LEFT JOIN device_groups g ON g.id = a.group_id
      WHERE a.intent = 'required'`,
  );
  if (rows.length === 0) return { items: [], total: 0 };
  const wanted = await wantedVersions(deps, rows);
  const ids = rows.map((r) => r.id);
  // One pass: the devices every required assignment covers, joined with the report of the version it wants.
  const { rows: tallies } = await pool.query<{ assignment_id: string; devices: number; compliant: number; non_compliant: number }>(
    `WITH want AS (SELECT * FROM unnest($1::uuid[], $2::uuid[]) AS w(assignment_id, version_id)),
          covered AS (
            SELECT a.id AS assignment_id, a.device_id FROM software_assignments a
              JOIN devices d ON d.id = a.device_id AND d.retired_at IS NULL
             WHERE a.id = ANY($1::uuid[])
            UNION ALL
            SELECT a.id, m.device_id FROM software_assignments a
              JOIN device_group_members m ON m.group_id = a.group_id
              JOIN devices d ON d.id = m.device_id AND d.retired_at IS NULL
             WHERE a.id = ANY($1::uuid[])
          )
     SELECT c.assignment_id, count(*)::int AS devices,
            count(*) FILTER (WHERE pi.state = 'installed')::int AS compliant,
            count(*) FILTER (WHERE pi.state IN ('failed', 'not_installed'))::int AS non_compliant
       FROM covered c JOIN want w USING (assignment_id)
       LEFT JOIN package_installations pi ON pi.device_id = c.device_id AND pi.version_id = w.version_id
      GROUP BY c.assignment_id`,
    [ids, ids.map((id) => wanted.get(id)?.id ?? null)],
  );
  const byId = new Map(tallies.map((t) => [t.assignment_id, t]));
  const items = rows.map((r) => {
    const t = byId.get(r.id);
    const devices = t?.devices ?? 0;
    const compliant = t?.compliant ?? 0;
    const nonCompliant = t?.non_compliant ?? 0;
    return {
      assignmentId: r.id,
      package: { id: r.package_id, name: r.package_name },
      version: wanted.get(r.id) ?? null,
      latest: r.version_id === null,
      target: r.device_id
        ? { type: 'device' as const, id: r.device_id, name: r.target_name }
        : { type: 'group' as const, id: r.group_id!, name: r.target_name },
      devices,
      compliant,
      nonCompliant,
      pending: devices - compliant - nonCompliant,
    };
  });
  // Least compliant first (share of compliant devices), then most devices, then by name.
  const share = (i: (typeof items)[number]) => (i.devices === 0 ? 1 : i.compliant / i.devices);
  items.sort(
    (a, b) =>
      share(a) - share(b) ||
      b.devices - a.devices ||
      a.package.name.localeCompare(b.package.name) ||
      a.target.name.localeCompare(b.target.name),
  );
  return { items: items.slice(0, FLEET_COMPLIANCE_LIMIT), total: items.length };
}

async function deploymentsInProgress(deps: ApiDeps): Promise<FleetSummary['deployments']> {
  const { pool } = deps.db;
  const statuses = [...inProgressDeploymentStatuses];
  const [{ rows }, total] = await Promise.all([
    pool.query<{
      id: string;
      name: string;
      status: DeploymentStatus;
      paused_reason: string | null;
      package_id: string;
      package_name: string;
      version_id: string;
      version: string;
      current_wave: number | null;
    }>(
      `SELECT d.id, d.name, d.status, d.paused_reason, d.package_id, p.name AS package_name, d.version_id, v.version, d.current_wave
         FROM deployments d JOIN software_packages p ON p.id = d.package_id JOIN package_versions v ON v.id = d.version_id
        WHERE d.status = ANY($1::text[]) ORDER BY d.created_at DESC, d.id LIMIT ${FLEET_DEPLOYMENTS_LIMIT}`,
      [statuses],
    ),
    pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deployments WHERE status = ANY($1::text[])', [statuses]),
  ]);
  const items: FleetSummary['deployments']['items'] = [];
  for (const d of rows) {
    const [waves, tallies] = await Promise.all([
      pool.query<{ index: number; label: string; state: string; size: number }>(
        'SELECT index, label, state, size FROM deployment_waves WHERE deployment_id = $1 ORDER BY index',
        [d.id],
      ),
      pool.query<{ wave: number; status: DeploymentDeviceStatus; n: number }>(
        `SELECT wave, status, count(*)::int AS n FROM (${DEPLOYMENT_DEVICE_STATES_SQL}) s GROUP BY wave, status`,
        [d.id],
      ),
    ]);
    const sum = (pred: (t: { wave: number; status: DeploymentDeviceStatus }) => boolean) =>
      tallies.rows.filter(pred).reduce((n, t) => n + t.n, 0);
    items.push({
      id: d.id,
      name: d.name,
      status: d.status,
      pausedReason: d.paused_reason,
      package: { id: d.package_id, name: d.package_name },
      version: { id: d.version_id, version: d.version },
      currentWave: d.current_wave,
      total: sum(() => true),
      succeeded: sum((t) => SUCCEEDED.includes(t.status)),
      failed: sum((t) => t.status === 'failed'),
      waves: waves.rows.map((w) => ({
        index: w.index,
        label: w.label,
        state: w.state,
        size: w.size,
        done: sum((t) => t.wave === w.index && FINAL.includes(t.status)),
        succeeded: sum((t) => t.wave === w.index && SUCCEEDED.includes(t.status)),
        failed: sum((t) => t.wave === w.index && t.status === 'failed'),
      })),
    });
  }
  return { items, total: total.rows[0]!.n };
}

async function failedRuns(deps: ApiDeps): Promise<FleetSummary['failedRuns']> {
  const { pool } = deps.db;
  // Created in the last 24 hours, as the runs list's `from` filter reads it (the console links the count there).
  const since = `status = 'failed' AND created_at >= now() - interval '24 hours'`;
  const [count, latest] = await Promise.all([
    pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM job_runs WHERE ${since}`),
    pool.query<{ id: string; command: string; kind: string; finished_at: Date | null; devices: number; failed_devices: number }>(
      `SELECT r.id, r.command, r.kind, r.finished_at,
              (SELECT count(*)::int FROM job_run_devices x WHERE x.job_run_id = r.id) AS devices,
              (SELECT count(*)::int FROM job_run_devices x WHERE x.job_run_id = r.id AND x.status IN ('failed', 'timed_out', 'offline')) AS failed_devices
         FROM job_runs r WHERE ${since} ORDER BY r.finished_at DESC NULLS LAST, r.id LIMIT ${FLEET_FAILED_RUNS_LIMIT}`,
    ),
  ]);
  return {
    last24h: count.rows[0]!.n,
    latest: latest.rows.map((r) => ({
      id: r.id,
      command: r.command.length > 200 ? `${r.command.slice(0, 199)}…` : r.command,
      kind: r.kind,
      finishedAt: r.finished_at?.toISOString() ?? null,
      devices: r.devices,
      failedDevices: r.failed_devices,
    })),
  };
}

export async function fleetSummary(deps: ApiDeps): Promise<FleetSummary> {
  const { pool } = deps.db;
  const { onlineWindowSeconds, offlineAfterSeconds } = deps.config.presence;
  const [presence, os, agents, comp, deployments, runs] = await Promise.all([
    // The same decision as deviceStatusAt / deviceWhere: online within the online window, stale until the offline
    // threshold, offline after it or once the agent said goodbye.
    pool.query<{ total: number; online: number; stale: number; offline: number; never_seen: number; pending_reboot: number }>(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE last_seen_at >= now() - make_interval(secs => $1) AND agent_stopped_at IS NULL)::int AS online,
              count(*) FILTER (WHERE last_seen_at < now() - make_interval(secs => $1)
                                 AND last_seen_at >= now() - make_interval(secs => $2) AND agent_stopped_at IS NULL)::int AS stale,
              count(*) FILTER (WHERE last_seen_at IS NOT NULL AND (last_seen_at < now() - make_interval(secs => $2) OR agent_stopped_at IS NOT NULL))::int AS offline,
              count(*) FILTER (WHERE last_seen_at IS NULL)::int AS never_seen,
              count(*) FILTER (WHERE pending_reboot)::int AS pending_reboot
         FROM devices WHERE retired_at IS NULL`,
      [onlineWindowSeconds, offlineAfterSeconds],
    ),
    pool.query<{ os_family: OsFamily; os_name: string; os_version: string; devices: number }>(
      `SELECT os_family, os_name, os_version, count(*)::int AS devices FROM devices WHERE retired_at IS NULL
        GROUP BY 1, 2, 3 ORDER BY 4 DESC, 2, 3`,
    ),
    pool.query<{ agent_version: string; devices: number }>(
      `SELECT agent_version, count(*)::int AS devices FROM devices WHERE retired_at IS NULL AND transport = 'agent'
        GROUP BY 1 ORDER BY 2 DESC, 1 DESC`,
    ),
    compliance(deps),
    deploymentsInProgress(deps),
    failedRuns(deps),
  ]);
  const p = presence.rows[0]!;
  return {
    generatedAt: new Date().toISOString(),
    onlineWindowSeconds,
    offlineAfterSeconds,
    devices: {
      total: p.total,
      online: p.online,
      stale: p.stale,
      offline: p.offline,
      neverSeen: p.never_seen,
      pendingReboot: p.pending_reboot,
    },
    os: topOf(os.rows.map((r) => ({ osFamily: r.os_family, osName: r.os_name, osVersion: r.os_version, devices: r.devices }))),
    agentVersions: topOf(agents.rows.map((r) => ({ agentVersion: r.agent_version, devices: r.devices }))),
    compliance: comp,
    deployments,
    failedRuns: runs,
  };
}

/** The deployments a device is part of, newest first, with its own status in each. */
export async function deviceDeployments(deps: ApiDeps, deviceId: string) {
  const { pool } = deps.db;
  const { rows } = await pool.query<{
    id: string;
    name: string;
    status: DeploymentStatus;
    action: 'install' | 'uninstall';
    package_id: string;
    package_name: string;
    version_id: string;
    version: string;
    created_at: Date;
  }>(
    `SELECT d.id, d.name, d.status, d.action, d.package_id, p.name AS package_name, d.version_id, v.version, d.created_at
       FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id
       JOIN software_packages p ON p.id = d.package_id JOIN package_versions v ON v.id = d.version_id
      WHERE dd.device_id = $1 ORDER BY d.created_at DESC, d.id LIMIT ${DEVICE_DEPLOYMENTS_LIMIT}`,
    [deviceId],
  );
  const items = [];
  for (const d of rows) {
    const { rows: states } = await pool.query<{
      status: DeploymentDeviceStatus;
      wave: number;
      attempts: number;
      job_run_id: string | null;
      finished_at: Date | null;
    }>(`SELECT status, wave, attempts, job_run_id, finished_at FROM (${DEPLOYMENT_DEVICE_STATES_SQL}) s WHERE device_id = $2`, [
      d.id,
      deviceId,
    ]);
    const s = states[0];
    if (!s) continue;
    items.push({
      id: d.id,
      name: d.name,
      status: d.status,
      action: d.action,
      package: { id: d.package_id, name: d.package_name },
      version: { id: d.version_id, version: d.version },
      createdAt: d.created_at.toISOString(),
      device: {
        status: s.status,
        wave: s.wave,
        attempts: s.attempts,
        jobRunId: s.job_run_id,
        finishedAt: s.finished_at?.toISOString() ?? null,
      },
    });
  }
  return { items };
}
