/**
 * Deployments (ADR 24): planned here — targets resolved, the pilot and the waves split, each device's previous version
 * noted for a rollback, the commands stored — then driven by the `deploymentRollout` workflow (deployment/<id>).
 * Reads derive every device's status from its job runs (DEPLOYMENT_DEVICE_STATES_SQL); operators' pause, resume,
 * abort and rollback are the workflow's updates, whose validators refuse what makes no sense now (409 with the reason).
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { CommandPayload } from '@opsconductor/contracts/commands';
import {
  deploymentDeviceStatuses,
  finishedDeploymentStatuses,
  type CreateDeploymentRequest,
  type Deployment,
  type DeploymentDevice,
  type DeploymentDeviceStatus,
  type DeploymentPlan,
  type DeploymentStatus,
  type DeploymentStrategy,
  type DeploymentSummary,
} from '@opsconductor/contracts/deployments';
import type { SoftwareRequirements } from '@opsconductor/contracts/software';
import type { PackagePlatform } from '@opsconductor/contracts/constants';
import { storePayload } from '@opsconductor/commands';
import {
  DEPLOYMENT_DEVICE_STATES_SQL,
  DEVICE_WINDOWS_SQL,
  insideAnyWindow,
  nextOpening,
  planWaves,
  windowsByDevice,
  type DeviceWindowRow,
} from '@opsconductor/deployments';
import { checkRequirements } from '@opsconductor/software';
import { likeLiteral, withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import { OpsDeploymentId, OpsPackageId, OpsVersionId } from '@opsconductor/workflows/search-attributes';
import type pg from 'pg';
import type { ApiDeps } from '../context.ts';
import { ApiError } from '../lib/problem.ts';
import { withTemporalDeadline } from '../lib/temporal.ts';
import { normalizeSelection, resolveTargets } from './job-run-targets.ts';
import { temporalUrl } from './job-runs.ts';
import { softwareCommandPayload } from './software-packages.ts';

export const deploymentWorkflowId = (id: string) => `deployment/${id}`;
const SAMPLE = 10;

type Target = { id: string; hostname: string };

interface Planned {
  targets: Target[];
  /** Device IDs per wave, the pilot (when there is one) first. */
  waves: { label: string; deviceIds: string[] }[];
  version: { id: string; packageId: string; packageName: string; version: string; requirements: SoftwareRequirements };
  needsApproval: boolean;
}

async function loadVersion(deps: ApiDeps, versionId: string): Promise<Planned['version']> {
  const { rows } = await deps.db.pool.query<Planned['version']>(
    `SELECT v.id, v.package_id AS "packageId", p.name AS "packageName", v.version, v.requirements
       FROM package_versions v JOIN software_packages p ON p.id = v.package_id WHERE v.id = $1`,
    [versionId],
  );
  if (!rows[0]) throw new ApiError(400, 'unknown_version', undefined, [{ path: 'versionId', message: 'no package version has this ID' }]);
  return rows[0];
}

/** Resolves the targets and splits them: the pilot group's targets first, the others into the waves. */
async function plan(deps: ApiDeps, req: CreateDeploymentRequest, seed: string): Promise<Planned> {
  const version = await loadVersion(deps, req.versionId);
  const targets = (await resolveTargets(deps, normalizeSelection(req.targets))).map((d) => ({ id: d.id, hostname: d.hostname }));
  if (req.expectedDeviceCount !== undefined && req.expectedDeviceCount !== targets.length) {
    throw new ApiError(
      409,
      'target_count_changed',
      `The targets now resolve to ${targets.length.toLocaleString('en-US')} devices, not the ${req.expectedDeviceCount.toLocaleString('en-US')} confirmed.`,
    );
  }
  const { strategy } = req;
  const waves: Planned['waves'] = [];
  let rest = targets.map((t) => t.id);
  if (strategy.pilotGroupId) {
    const members = await deps.db.pool.query<{ device_id: string }>(
      `SELECT g.id IS NOT NULL AS found, m.device_id FROM (SELECT $1::uuid AS id) q
         LEFT JOIN device_groups g ON g.id = q.id LEFT JOIN device_group_members m ON m.group_id = g.id`,
      [strategy.pilotGroupId],
    );
    if (!(members.rows[0] as { found?: boolean } | undefined)?.found) {
      throw new ApiError(400, 'unknown_groups', undefined, [{ path: 'strategy.pilotGroupId', message: 'no group has this ID' }]);
    }
    const inPilot = new Set(members.rows.map((r) => r.device_id));
    const pilot = rest.filter((id) => inPilot.has(id));
    rest = rest.filter((id) => !inPilot.has(id));
    waves.push({ label: 'Pilot', deviceIds: pilot });
  }
  planWaves(rest, strategy.waves, seed).forEach((ids, i) => waves.push({ label: `Wave ${i + 1}`, deviceIds: ids }));
  const threshold = deps.config.deploymentApprovalMinDevices;
  return { targets, waves, version, needsApproval: threshold > 0 && targets.length >= threshold };
}

const byHostname = (a: Target, b: Target) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id);

function platformOf(osFamily: string): PackagePlatform | null {
  const f = osFamily.toLowerCase();
  return f === 'windows' || f === 'linux' || f === 'macos' ? f : f === 'darwin' ? 'macos' : null;
}

/** The dry run: the waves, who is compliant already, who fails the requirements, who is outside their windows. */
export async function previewDeployment(deps: ApiDeps, req: CreateDeploymentRequest): Promise<DeploymentPlan> {
  const planned = await plan(deps, req, randomUUID());
  const { pool } = deps.db;
  const ids = planned.targets.map((t) => t.id);
  const hostnames = new Map(planned.targets.map((t) => [t.id, t.hostname]));
  const ref = (id: string) => ({ id, hostname: hostnames.get(id) ?? '' });
  const sampleOf = (list: string[]) => list.map(ref).sort(byHostname).slice(0, SAMPLE);

  const installed = await pool.query<{ device_id: string }>(
    `SELECT device_id FROM package_installations WHERE version_id = $1 AND device_id = ANY($2::uuid[]) AND state = 'installed'`,
    [planned.version.id, ids],
  );
  const has = new Set(installed.rows.map((r) => r.device_id));
  const compliant = ids.filter((id) => (req.action === 'install' ? has.has(id) : !has.has(id)));

  // Platform, OS version and architecture are known from the inventory; disk and memory the agent checks itself.
  const { platforms, minOsVersion, architectures } = planned.version.requirements;
  const serverChecked: SoftwareRequirements = { platforms, minOsVersion, architectures };
  const facts = await pool.query<{ id: string; os_family: string; os_version: string; architecture: string }>(
    'SELECT id, os_family, os_version, architecture FROM devices WHERE id = ANY($1::uuid[])',
    [ids],
  );
  const failing: { id: string; reason: string }[] = [];
  for (const d of facts.rows) {
    const check = checkRequirements(serverChecked, {
      platform: platformOf(d.os_family),
      osVersion: d.os_version || null,
      architecture: (d.architecture || null) as never,
      freeDiskMb: null,
      ramMb: null,
    });
    if (!check.ok) failing.push({ id: d.id, reason: check.unmet.join('; ') });
  }

  const outside: { id: string; windowOpensAt: string | null }[] = [];
  if (req.strategy.respectMaintenanceWindows) {
    const at = req.startsAt ? new Date(req.startsAt) : new Date();
    const windows = windowsByDevice((await pool.query<DeviceWindowRow>(DEVICE_WINDOWS_SQL, [ids])).rows);
    for (const [id, ws] of windows) {
      if (!insideAnyWindow(ws, at)) outside.push({ id, windowOpensAt: nextOpening(ws, at)?.toISOString() ?? null });
    }
  }
  return {
    total: planned.targets.length,
    maxDevices: 10_000,
    waves: planned.waves.map((w, index) => ({ index, label: w.label, size: w.deviceIds.length, sample: sampleOf(w.deviceIds) })),
    alreadyCompliant: { count: compliant.length, sample: sampleOf(compliant) },
    failingRequirements: {
      count: failing.length,
      sample: failing
        .map((f) => ({ ...ref(f.id), reason: f.reason }))
        .sort(byHostname)
        .slice(0, SAMPLE),
    },
    outsideWindows: {
      count: outside.length,
      sample: outside
        .map((o) => ({ ...ref(o.id), windowOpensAt: o.windowOpensAt }))
        .sort(byHostname)
        .slice(0, SAMPLE),
    },
    needsApproval: planned.needsApproval,
  };
}

/**
 * The command a deployment sends: the version's, with the deployment's reboot and network policies applied.
 * - suppress and in_window: the agent never restarts by itself (in_window: the rollout restarts it in a window);
 * - force: the agent restarts the device after every install that changed it (`always`), warning logged-in users
 *   with the strategy's notice and waiting its delay first;
 * - network: the agent's download rate cap and whether metered connections are skipped (the source restriction is
 *   applied when the manifests are signed, artifact-delivery.ts).
 */
export function withPolicy<P extends CommandPayload>(payload: P, strategy: DeploymentStrategy): P {
  if (payload.kind !== 'software.install' && payload.kind !== 'software.uninstall') return payload;
  const force = strategy.rebootPolicy === 'force';
  const { maxBytesPerSecond, skipMetered } = strategy.network;
  const network = {
    ...(maxBytesPerSecond !== undefined ? { maxBytesPerSecond } : {}),
    ...(skipMetered ? { skipMetered: true } : {}),
  };
  return {
    ...payload,
    reboot: force ? 'always' : 'never',
    ...(force && strategy.rebootNotice ? { rebootNotice: { ...strategy.rebootNotice } } : {}),
    ...(Object.keys(network).length > 0 ? { network } : {}),
  };
}

export async function createDeployment(deps: ApiDeps, origin: Origin, userId: string, req: CreateDeploymentRequest): Promise<Deployment> {
  const id = randomUUID();
  const planned = await plan(deps, req, id);
  if (planned.targets.length === 0) throw new ApiError(400, 'no_target_devices');
  const { strategy } = req;
  const { pool } = deps.db;
  const kind = req.action === 'install' ? 'software.install' : 'software.uninstall';
  const payloadSha256 = await storePayload(pool, withPolicy(await softwareCommandPayload(deps, kind, req.versionId), strategy));
  let rollbackSha256: string | null = null;
  if (req.action === 'install') {
    const uninstall = await softwareCommandPayload(deps, 'software.uninstall', req.versionId).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 400) return null; // no uninstall command: no rollback
      throw err;
    });
    if (uninstall) rollbackSha256 = await storePayload(pool, withPolicy(uninstall, strategy));
  }
  // What each device had of the package before (its last report of another version, installed): reinstalled on rollback.
  const ids = planned.targets.map((t) => t.id);
  const previous = await pool.query<{ device_id: string; version_id: string }>(
    `SELECT DISTINCT ON (device_id) device_id, version_id FROM package_installations
      WHERE package_id = $1 AND version_id <> $2 AND state = 'installed' AND device_id = ANY($3::uuid[])
      ORDER BY device_id, finished_at DESC`,
    [planned.version.packageId, planned.version.id, ids],
  );
  const previousPayloads = new Map<string, string>();
  if (req.action === 'install') {
    for (const versionId of new Set(previous.rows.map((r) => r.version_id))) {
      previousPayloads.set(
        versionId,
        await storePayload(pool, withPolicy(await softwareCommandPayload(deps, 'software.install', versionId), strategy)),
      );
    }
  }
  const previousOf = new Map(previous.rows.map((r) => [r.device_id, r.version_id]));
  const waveOf = new Map<string, number>();
  planned.waves.forEach((w, i) => w.deviceIds.forEach((d) => waveOf.set(d, i)));
  const startsAt = req.startsAt ? new Date(req.startsAt) : new Date();
  const status: DeploymentStatus = planned.needsApproval ? 'pending_approval' : 'scheduled';

  await withUnitOfWork(deps.db, origin, async ({ sql, audit }) => {
    await sql.query(
      `INSERT INTO deployments (id, workflow_id, name, package_id, version_id, action, status, options, target_selection, payload_sha256,
                                rollback_payload_sha256, starts_at, deadline_at, created_by_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [
        id,
        deploymentWorkflowId(id),
        req.name.trim(),
        planned.version.packageId,
        planned.version.id,
        req.action,
        status,
        JSON.stringify(strategy),
        JSON.stringify(normalizeSelection(req.targets)),
        payloadSha256,
        rollbackSha256,
        startsAt,
        req.deadlineAt ? new Date(req.deadlineAt) : null,
        userId,
      ],
    );
    await sql.query(
      `INSERT INTO deployment_waves (deployment_id, index, label, size)
       SELECT $1, w.i - 1, w.label, w.size FROM unnest($2::text[], $3::int[]) WITH ORDINALITY AS w(label, size, i)`,
      [id, planned.waves.map((w) => w.label), planned.waves.map((w) => w.deviceIds.length)],
    );
    const prevVersions = ids.map((d) => previousOf.get(d) ?? null);
    await sql.query(
      `INSERT INTO deployment_devices (deployment_id, device_id, hostname, wave, previous_version_id, previous_payload_sha256)
       SELECT $1, t.device_id, t.hostname, t.wave, t.previous, t.previous_payload
         FROM unnest($2::uuid[], $3::text[], $4::int[], $5::uuid[], $6::text[]) AS t(device_id, hostname, wave, previous, previous_payload)`,
      [
        id,
        ids,
        planned.targets.map((t) => t.hostname),
        ids.map((d) => waveOf.get(d)!),
        prevVersions,
        prevVersions.map((v) => (v ? (previousPayloads.get(v) ?? null) : null)),
      ],
    );
    await sql.query(`INSERT INTO deployment_events (deployment_id, type, message, actor) VALUES ($1, 'created', $2, $3)`, [
      id,
      `Created: ${req.action} ${planned.version.packageName} ${planned.version.version} on ${ids.length} devices in ${planned.waves.length} waves` +
        (planned.needsApproval ? '; waits for approval' : ''),
      origin.actor.name,
    ]);
    await audit({
      action: 'deployment.create',
      targetType: 'deployment',
      targetId: id,
      details: {
        versionId: planned.version.id,
        action: req.action,
        devices: ids.length,
        waves: planned.waves.map((w) => w.deviceIds.length),
      },
    });
  });
  await startRollout(deps, id, planned.version);
  return (await getDeployment(deps, id))!;
}

/** Starts a run of the deployment's `deploymentRollout` workflow (ID deployment/<id>); `rollback` only rolls back. */
function startRolloutWorkflow(
  deps: ApiDeps,
  id: string,
  version: { packageId: string; id: string },
  rollback?: { by: string; reason?: string },
) {
  return withTemporalDeadline(deps.temporal, () =>
    deps.temporal.workflow.start('deploymentRollout', {
      taskQueue: deps.config.temporalTaskQueue,
      workflowId: deploymentWorkflowId(id),
      // A rollback after the end is a new run of the same workflow ID.
      workflowIdReusePolicy: rollback ? 'ALLOW_DUPLICATE' : 'REJECT_DUPLICATE',
      args: [{ deploymentId: id, ...(rollback ? { rollback } : {}) }],
      typedSearchAttributes: [
        { key: OpsDeploymentId, value: id },
        { key: OpsPackageId, value: version.packageId },
        { key: OpsVersionId, value: version.id },
      ],
    }),
  );
}

async function startRollout(deps: ApiDeps, id: string, version: Planned['version']): Promise<void> {
  try {
    await startRolloutWorkflow(deps, id, version);
  } catch (err) {
    deps.logger.error({ err, deploymentId: id }, 'starting the deploymentRollout workflow failed');
    await deps.db.pool.query('DELETE FROM deployments WHERE id = $1', [id]).catch(() => {});
    throw new ApiError(503, 'temporal_unavailable');
  }
}

// --- reads ---

interface DeploymentRow {
  id: string;
  workflow_id: string;
  name: string;
  package_id: string;
  package_name: string;
  version_id: string;
  version: string;
  action: 'install' | 'uninstall';
  status: DeploymentStatus;
  paused_reason: string | null;
  current_wave: number | null;
  options: DeploymentStrategy;
  target_selection: Deployment['targetSelection'];
  starts_at: Date;
  deadline_at: Date | null;
  created_by: string | null;
  approved_by: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  total: number;
  counts: Partial<Record<DeploymentDeviceStatus, number>> | null;
}

const SELECT_DEPLOYMENT = `
SELECT d.id, d.workflow_id, d.name, d.package_id, p.name AS package_name, d.version_id, v.version, d.action, d.status, d.paused_reason,
       d.current_wave, d.options, d.target_selection, d.starts_at, d.deadline_at, cu.email AS created_by, au.email AS approved_by,
       d.created_at, d.started_at, d.finished_at
  FROM deployments d
  JOIN software_packages p ON p.id = d.package_id
  JOIN package_versions v ON v.id = d.version_id
  LEFT JOIN users cu ON cu.id = d.created_by_id
  LEFT JOIN users au ON au.id = d.approved_by_id`;

function fullCounts(partial: Partial<Record<DeploymentDeviceStatus, number>> | null): Record<DeploymentDeviceStatus, number> {
  return Object.fromEntries(deploymentDeviceStatuses.map((s) => [s, partial?.[s] ?? 0])) as Record<DeploymentDeviceStatus, number>;
}

function successRate(c: Record<DeploymentDeviceStatus, number>): number | null {
  const ok = c.succeeded + c.already_installed + c.reboot_pending;
  const results = ok + c.failed;
  return results === 0 ? null : Math.round((ok / results) * 1000) / 10;
}

function toSummary(r: DeploymentRow): DeploymentSummary {
  const counts = fullCounts(r.counts);
  return {
    id: r.id,
    name: r.name,
    package: { id: r.package_id, name: r.package_name },
    version: { id: r.version_id, version: r.version },
    action: r.action,
    status: r.status,
    pausedReason: r.paused_reason,
    currentWave: r.current_wave,
    total: r.total,
    counts,
    successRate: successRate(counts),
    startsAt: r.starts_at.toISOString(),
    deadlineAt: r.deadline_at?.toISOString() ?? null,
    createdBy: r.created_by,
    approvedBy: r.approved_by,
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

/** Devices per status of each deployment (one aggregate per deployment: the list shows at most a page). */
async function countsOf(
  sql: pg.Pool,
  ids: string[],
): Promise<Map<string, { total: number; counts: Record<string, number>; byWave: Map<number, Record<string, number>> }>> {
  const out = new Map<string, { total: number; counts: Record<string, number>; byWave: Map<number, Record<string, number>> }>();
  for (const id of ids) {
    const { rows } = await sql.query<{ wave: number; status: string; n: number }>(
      `SELECT wave, status, count(*)::int AS n FROM (${DEPLOYMENT_DEVICE_STATES_SQL}) s GROUP BY wave, status`,
      [id],
    );
    const entry = { total: 0, counts: {} as Record<string, number>, byWave: new Map<number, Record<string, number>>() };
    for (const r of rows) {
      entry.total += r.n;
      entry.counts[r.status] = (entry.counts[r.status] ?? 0) + r.n;
      const w = entry.byWave.get(r.wave) ?? {};
      w[r.status] = (w[r.status] ?? 0) + r.n;
      entry.byWave.set(r.wave, w);
    }
    out.set(id, entry);
  }
  return out;
}

export interface DeploymentListFilters {
  status?: DeploymentStatus;
  active?: 'true' | 'false';
  packageId?: string;
  deviceId?: string;
  groupId?: string;
  search?: string;
  page: number;
  pageSize: number;
}

export async function listDeployments(deps: ApiDeps, q: DeploymentListFilters): Promise<{ items: DeploymentSummary[]; total: number }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(clause(`$${params.length}`));
  };
  if (q.status) add((p) => `d.status = ${p}`, q.status);
  if (q.active) add((p) => `(d.status = ANY(${p}::text[])) = ${q.active === 'true' ? 'false' : 'true'}`, [...finishedDeploymentStatuses]);
  if (q.packageId) add((p) => `d.package_id = ${p}`, q.packageId);
  if (q.deviceId) add((p) => `EXISTS (SELECT 1 FROM deployment_devices x WHERE x.deployment_id = d.id AND x.device_id = ${p})`, q.deviceId);
  if (q.groupId)
    add(
      (p) => `(coalesce(d.target_selection->'groupIds', '[]'::jsonb) ? ${p}::text OR d.options->>'pilotGroupId' = ${p}::text)`,
      q.groupId,
    );
  if (q.search) add((p) => `d.name ILIKE ${p}`, `%${likeLiteral(q.search!)}%`);
  const whereSql = where.length ? ` WHERE ${where.join(' AND ')}` : '';
  const { pool } = deps.db;
  const total = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM deployments d${whereSql}`, params);
  const { rows } = await pool.query<DeploymentRow>(
    `${SELECT_DEPLOYMENT}${whereSql} ORDER BY d.created_at DESC, d.id LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`,
    params,
  );
  const counts = await countsOf(
    pool,
    rows.map((r) => r.id),
  );
  return {
    items: rows.map((r) => toSummary({ ...r, total: counts.get(r.id)?.total ?? 0, counts: counts.get(r.id)?.counts ?? null })),
    total: total.rows[0]!.n,
  };
}

export async function getDeployment(deps: ApiDeps, id: string): Promise<Deployment | null> {
  const { pool } = deps.db;
  const { rows } = await pool.query<DeploymentRow>(`${SELECT_DEPLOYMENT} WHERE d.id = $1`, [id]);
  const r = rows[0];
  if (!r) return null;
  const tallies = (await countsOf(pool, [id])).get(id)!;
  const waves = await pool.query<{
    index: number;
    label: string;
    size: number;
    state: Deployment['waves'][number]['state'];
    started_at: Date | null;
    soak_until: Date | null;
    finished_at: Date | null;
    health: Deployment['waves'][number]['health'];
  }>(
    'SELECT index, label, size, state, started_at, soak_until, finished_at, health FROM deployment_waves WHERE deployment_id = $1 ORDER BY index',
    [id],
  );
  const failures = await pool.query<{ reason: string; exit_code: string | null; n: number }>(
    `SELECT coalesce(outcome, 'failed') AS reason, exit_code::text, count(*)::int AS n FROM (${DEPLOYMENT_DEVICE_STATES_SQL}) s
      WHERE status = 'failed' GROUP BY 1, 2 ORDER BY n DESC, 1 LIMIT 10`,
    [id],
  );
  const rollback = await pool.query<{ rollback: string | null; n: number }>(
    `SELECT rollback, count(*)::int AS n FROM (${DEPLOYMENT_DEVICE_STATES_SQL}) s WHERE rollback IS NOT NULL GROUP BY 1`,
    [id],
  );
  const rb = Object.fromEntries(rollback.rows.map((x) => [x.rollback, x.n]));
  return {
    ...toSummary({ ...r, total: tallies.total, counts: tallies.counts }),
    workflowId: r.workflow_id,
    temporalUrl: temporalUrl(deps, r.workflow_id),
    strategy: r.options,
    targetSelection: r.target_selection,
    waves: waves.rows.map((w) => ({
      index: w.index,
      label: w.label,
      size: w.size,
      state: w.state,
      startedAt: w.started_at?.toISOString() ?? null,
      soakUntil: w.soak_until?.toISOString() ?? null,
      finishedAt: w.finished_at?.toISOString() ?? null,
      counts: fullCounts(tallies.byWave.get(w.index) ?? null),
      health: w.health,
    })),
    failedByReason: failures.rows.map((f) => ({
      reason: f.reason,
      exitCode: f.exit_code === null ? null : Number(f.exit_code),
      count: f.n,
    })),
    rollback:
      rollback.rows.length === 0
        ? null
        : { uninstalled: rb.uninstalled ?? 0, reinstalled: rb.reinstalled ?? 0, failed: rb.failed ?? 0, pending: rb.pending ?? 0 },
  };
}

async function requireDeployment(deps: ApiDeps, id: string): Promise<void> {
  const { rowCount } = await deps.db.pool.query('SELECT 1 FROM deployments WHERE id = $1', [id]);
  if (!rowCount) throw new ApiError(404, 'not_found');
}

export async function listDeploymentDevices(
  deps: ApiDeps,
  id: string,
  q: { status?: DeploymentDeviceStatus; wave?: number; search?: string; page: number; pageSize: number },
): Promise<{ items: DeploymentDevice[]; total: number }> {
  await requireDeployment(deps, id);
  const where: string[] = [];
  const params: unknown[] = [id];
  if (q.status) where.push(`status = $${params.push(q.status)}`);
  if (q.wave !== undefined) where.push(`wave = $${params.push(q.wave)}`);
  if (q.search) where.push(`hostname ILIKE $${params.push(`%${likeLiteral(q.search)}%`)}`);
  const sql = `SELECT * FROM (${DEPLOYMENT_DEVICE_STATES_SQL}) s${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  const total = await deps.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) t`, params);
  const { rows } = await deps.db.pool.query<{
    device_id: string;
    hostname: string;
    wave: number;
    status: DeploymentDeviceStatus;
    attempts: number;
    job_run_id: string | null;
    exit_code: string | null;
    outcome: string | null;
    detail: string | null;
    window_opens_at: Date | null;
    finished_at: Date | null;
    health_failure: string | null;
    rollback: DeploymentDevice['rollback'];
  }>(`${sql} ORDER BY wave, hostname, device_id LIMIT ${q.pageSize} OFFSET ${(q.page - 1) * q.pageSize}`, params);
  return {
    total: total.rows[0]!.n,
    items: rows.map((r) => ({
      deviceId: r.device_id,
      hostname: r.hostname,
      wave: r.wave,
      status: r.status,
      attempts: r.attempts,
      jobRunId: r.job_run_id,
      exitCode: r.exit_code === null ? null : Number(r.exit_code),
      outcome: r.outcome,
      detail: r.detail,
      windowOpensAt: r.window_opens_at?.toISOString() ?? null,
      finishedAt: r.finished_at?.toISOString() ?? null,
      healthFailure: r.health_failure,
      rollback: r.rollback,
    })),
  };
}

export async function listDeploymentEvents(deps: ApiDeps, id: string) {
  await requireDeployment(deps, id);
  const { rows } = await deps.db.pool.query<{
    id: string;
    type: string;
    message: string;
    actor: string | null;
    details: unknown;
    occurred_at: Date;
  }>(
    'SELECT id::text, type, message, actor, details, occurred_at FROM deployment_events WHERE deployment_id = $1 ORDER BY id DESC LIMIT 500',
    [id],
  );
  return {
    items: rows.map((r) => ({
      id: r.id,
      type: r.type,
      message: r.message,
      actor: r.actor,
      details: r.details ?? null,
      occurredAt: r.occurred_at.toISOString(),
    })),
  };
}

/** Cumulative succeeded and failed results over time since the deployment started (the dashboard's chart). */
export async function deploymentTimeline(deps: ApiDeps, id: string) {
  await requireDeployment(deps, id);
  const { rows } = await deps.db.pool.query<{ started: Date | null; last: Date | null }>(
    `SELECT d.started_at AS started, max(s.finished_at) AS last FROM deployments d LEFT JOIN (${DEPLOYMENT_DEVICE_STATES_SQL}) s ON true
      WHERE d.id = $1 GROUP BY d.started_at`,
    [id],
  );
  const started = rows[0]?.started;
  if (!started) return { bucketSeconds: 60, points: [] };
  const end = Math.max(rows[0]!.last?.getTime() ?? 0, started.getTime() + 60_000);
  const bucketSeconds = Math.max(60, Math.ceil((end - started.getTime()) / 1000 / 60 / 60) * 60);
  const points = await deps.db.pool.query<{ at: Date; succeeded: number; failed: number }>(
    `WITH s AS (${DEPLOYMENT_DEVICE_STATES_SQL}),
          b AS (SELECT generate_series($2::timestamptz, $3::timestamptz + make_interval(secs => $4), make_interval(secs => $4)) AS at)
     SELECT b.at,
            count(s.device_id) FILTER (WHERE s.status IN ('succeeded', 'already_installed', 'reboot_pending') AND s.finished_at <= b.at)::int AS succeeded,
            count(s.device_id) FILTER (WHERE s.status = 'failed' AND s.finished_at <= b.at)::int AS failed
       FROM b LEFT JOIN s ON s.finished_at IS NOT NULL GROUP BY b.at ORDER BY b.at`,
    [id, started, new Date(end), bucketSeconds],
  );
  return { bucketSeconds, points: points.rows.map((p) => ({ at: p.at.toISOString(), succeeded: p.succeeded, failed: p.failed })) };
}

// --- control ---

export type DeploymentControlAction = 'pause' | 'resume' | 'abort' | 'rollback';

/** An operator's pause, resume, abort or rollback: the workflow's update; its validator's refusal is a 409 with the reason. */
export async function controlDeployment(
  deps: ApiDeps,
  origin: Origin,
  id: string,
  action: DeploymentControlAction,
  reason: string | undefined,
): Promise<Deployment> {
  await requireDeployment(deps, id);
  const handle = deps.temporal.workflow.getHandle(deploymentWorkflowId(id));
  const request = { by: origin.actor.name ?? origin.actor.type, ...(reason ? { reason } : {}) };
  try {
    await withTemporalDeadline(deps.temporal, () => handle.executeUpdate(action, { args: [request] }));
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      throw new ApiError(409, 'deployment_refused', (err.cause as Error | undefined)?.message ?? err.message);
    }
    // A closed workflow refuses updates with a not-found or failed-precondition error.
    const ended = err instanceof WorkflowNotFoundError || (err as { code?: number }).code === 5 || (err as { code?: number }).code === 9;
    if (!ended) throw err;
    if (action !== 'rollback') throw new ApiError(409, 'deployment_refused', 'The deployment has ended.');
    await rollBackEnded(deps, id, request);
  }
  await withUnitOfWork(deps.db, origin, ({ audit }) =>
    audit({ action: `deployment.${action}`, targetType: 'deployment', targetId: id, details: reason ? { reason } : undefined }),
  );
  return (await getDeployment(deps, id))!;
}

/** Rolls back a deployment whose workflow ended (completed, failed or aborted) with a new run of it. */
async function rollBackEnded(deps: ApiDeps, id: string, request: { by: string; reason?: string }): Promise<void> {
  const { rows } = await deps.db.pool.query<{ status: string; action: string; can: boolean; package_id: string; version_id: string }>(
    'SELECT status, action, rollback_payload_sha256 IS NOT NULL AS can, package_id, version_id FROM deployments WHERE id = $1',
    [id],
  );
  const dep = rows[0];
  if (!dep) throw new ApiError(404, 'not_found');
  const refuse = (detail: string) => new ApiError(409, 'deployment_refused', detail);
  if (dep.status === 'rolled_back') throw refuse('The deployment has been rolled back already.');
  if (dep.status === 'rolling_back') throw refuse('The deployment is being rolled back.');
  if (!['completed', 'failed', 'aborted'].includes(dep.status)) throw refuse(`The deployment has ended (${dep.status}).`);
  if (dep.action === 'uninstall') throw refuse('An uninstall deployment cannot be rolled back: deploy the version again instead.');
  if (!dep.can) throw refuse('This version has no uninstall command, so it cannot be rolled back.');
  try {
    await startRolloutWorkflow(deps, id, { packageId: dep.package_id, id: dep.version_id }, request);
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw refuse('The deployment is being rolled back.');
    deps.logger.error({ err, deploymentId: id }, 'starting the rollback of an ended deployment failed');
    throw new ApiError(503, 'temporal_unavailable');
  }
}

/** A second operator's decision on a deployment that needs approval (nobody decides on their own). */
export async function decideDeployment(
  deps: ApiDeps,
  origin: Origin,
  userId: string,
  id: string,
  decision: 'approved' | 'rejected',
  comment: string | undefined,
): Promise<Deployment> {
  await withUnitOfWork(deps.db, origin, async ({ sql, audit }) => {
    const { rows } = await sql.query<{ status: string; created_by_id: string | null }>(
      'SELECT status, created_by_id FROM deployments WHERE id = $1 FOR UPDATE',
      [id],
    );
    const dep = rows[0];
    if (!dep) throw new ApiError(404, 'not_found');
    if (dep.status !== 'pending_approval') throw new ApiError(409, 'approval_not_allowed', 'The deployment does not wait for approval.');
    if (dep.created_by_id === userId)
      throw new ApiError(409, 'approval_not_allowed', 'Someone other than its creator must approve a deployment.');
    await sql.query(
      `UPDATE deployments SET status = $2, approved_by_id = $3, approved_at = now(), updated_at = now(),
              finished_at = CASE WHEN $2 = 'rejected' THEN now() END WHERE id = $1`,
      [id, decision === 'approved' ? 'scheduled' : 'rejected', userId],
    );
    await sql.query(`INSERT INTO deployment_events (deployment_id, type, message, actor) VALUES ($1, $2, $3, $4)`, [
      id,
      decision,
      `${decision === 'approved' ? 'Approved' : 'Rejected'}${comment ? `: ${comment}` : ''}`,
      origin.actor.name,
    ]);
    await audit({
      action: `deployment.${decision === 'approved' ? 'approve' : 'reject'}`,
      targetType: 'deployment',
      targetId: id,
      details: comment ? { comment } : undefined,
    });
  });
  try {
    await withTemporalDeadline(deps.temporal, () => deps.temporal.workflow.getHandle(deploymentWorkflowId(id)).signal('approvalDecided'));
  } catch (err) {
    // The rollout reads the decision from the database whenever it wakes; a lost signal only delays it.
    deps.logger.warn({ err, deploymentId: id }, 'could not signal the approval decision');
  }
  return (await getDeployment(deps, id))!;
}
