/**
 * Software assignments (ADR 24): the state a package should be in on a device or a group's devices — required
 * (installed, and kept installed), available (offered; installed on request), uninstall. One assignment per package
 * and target; a newer version for the same target supersedes the older one (its devices are upgraded). Required and
 * uninstall assignments of one package that would cover the same device are refused.
 *
 * What makes the devices match: a job run when an assignment is made (and when removing one with `uninstall`), runs
 * for devices that join or leave a group (the `software-assignments` event consumer), and a periodic enforcement that
 * applies every required and uninstall assignment again — the agent's detection makes that a no-op on a compliant
 * device and reinstalls what someone removed by hand. Every run respects the devices' maintenance windows.
 */
import { randomUUID } from 'node:crypto';
import type { DomainEvent, EventConsumer } from '@opsconductor/domain-events';
import type { AssignmentIntent, CreateAssignmentRequest, SoftwareAssignment } from '@opsconductor/contracts/deployments';
import { withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import type pg from 'pg';
import type { ApiDeps } from '../context.ts';
import { ApiError } from '../lib/problem.ts';
import { startSystemJobRun } from './job-runs.ts';
import { listVersions, softwareCommandPayload } from './software-packages.ts';

/** How long a run an assignment starts waits for its devices (offline ones, those outside their windows). */
const ASSIGNMENT_RUN_DEADLINE_SECONDS = 24 * 3600;

interface AssignmentRow {
  id: string;
  package_id: string;
  package_name: string;
  version_id: string | null;
  version: string | null;
  device_id: string | null;
  group_id: string | null;
  target_name: string;
  intent: AssignmentIntent;
  uninstall_on_leave: boolean;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  enforced_at: Date | null;
}

const SELECT_ASSIGNMENTS = `
SELECT a.id, a.package_id, p.name AS package_name, a.version_id, v.version, a.device_id, a.group_id,
       coalesce(d.hostname, g.name, '') AS target_name, a.intent, a.uninstall_on_leave, u.email AS created_by, a.created_at,
       a.updated_at, a.enforced_at
  FROM software_assignments a
  JOIN software_packages p ON p.id = a.package_id
  LEFT JOIN package_versions v ON v.id = a.version_id
  LEFT JOIN devices d ON d.id = a.device_id
  LEFT JOIN device_groups g ON g.id = a.group_id
  LEFT JOIN users u ON u.id = a.created_by_id`;

/** The devices an assignment covers (not retired): `$1` is the assignment's ID. */
const COVERED_SQL = `
SELECT d.id FROM software_assignments a
  JOIN devices d ON d.retired_at IS NULL AND (d.id = a.device_id OR d.id IN (SELECT m.device_id FROM device_group_members m WHERE m.group_id = a.group_id))
 WHERE a.id = $1`;

/** The version an assignment installs: its own, or the package's latest. */
async function versionOf(deps: ApiDeps, a: { package_id: string; version_id: string | null }): Promise<string | null> {
  if (a.version_id) return a.version_id;
  return (await listVersions(deps, a.package_id))[0]?.id ?? null;
}

async function compliance(deps: ApiDeps, a: AssignmentRow): Promise<SoftwareAssignment['compliance']> {
  const versionId = await versionOf(deps, a);
  const { rows } = await deps.db.pool.query<{ devices: number; compliant: number; failed: number }>(
    `WITH c AS (${COVERED_SQL})
     SELECT count(*)::int AS devices,
            count(*) FILTER (WHERE CASE WHEN $3 = 'uninstall' THEN coalesce(pi.state::text, 'not_installed') = 'not_installed'
                                        ELSE pi.state = 'installed' END)::int AS compliant,
            count(*) FILTER (WHERE pi.state = 'failed')::int AS failed
       FROM c LEFT JOIN package_installations pi ON pi.device_id = c.id AND pi.version_id = $2`,
    [a.id, versionId, a.intent],
  );
  const r = rows[0]!;
  return { ...r, unknown: r.devices - r.compliant - r.failed };
}

async function toAssignment(deps: ApiDeps, r: AssignmentRow): Promise<SoftwareAssignment> {
  return {
    id: r.id,
    package: { id: r.package_id, name: r.package_name },
    version: r.version_id ? { id: r.version_id, version: r.version! } : null,
    target: r.device_id
      ? { type: 'device', id: r.device_id, name: r.target_name }
      : { type: 'group', id: r.group_id!, name: r.target_name },
    intent: r.intent,
    uninstallOnLeave: r.uninstall_on_leave,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    enforcedAt: r.enforced_at?.toISOString() ?? null,
    compliance: await compliance(deps, r),
  };
}

export async function listAssignments(
  deps: ApiDeps,
  q: { packageId?: string; deviceId?: string; groupId?: string; intent?: AssignmentIntent },
): Promise<SoftwareAssignment[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.packageId) where.push(`a.package_id = $${params.push(q.packageId)}`);
  if (q.groupId) where.push(`a.group_id = $${params.push(q.groupId)}`);
  if (q.intent) where.push(`a.intent = $${params.push(q.intent)}`);
  if (q.deviceId) {
    const p = `$${params.push(q.deviceId)}`;
    where.push(`(a.device_id = ${p} OR a.group_id IN (SELECT group_id FROM device_group_members WHERE device_id = ${p}))`);
  }
  const { rows } = await deps.db.pool.query<AssignmentRow>(
    `${SELECT_ASSIGNMENTS}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY p.name, target_name, a.id LIMIT 1000`,
    params,
  );
  return Promise.all(rows.map((r) => toAssignment(deps, r)));
}

async function loadAssignment(sql: pg.Pool | pg.PoolClient, id: string): Promise<AssignmentRow | undefined> {
  return (await sql.query<AssignmentRow>(`${SELECT_ASSIGNMENTS} WHERE a.id = $1`, [id])).rows[0];
}

const opposite: Partial<Record<AssignmentIntent, AssignmentIntent>> = { required: 'uninstall', uninstall: 'required' };

/**
 * Refuses an assignment whose devices another assignment of the package covers with the contrary intent (required
 * against uninstall). `target` is the new assignment's device or group.
 */
async function refuseConflicts(
  sql: pg.PoolClient,
  packageId: string,
  intent: AssignmentIntent,
  target: { deviceId: string | null; groupId: string | null },
  replacing: string | null,
): Promise<void> {
  const contrary = opposite[intent];
  if (!contrary) return;
  const { rows } = await sql.query<{ target_name: string; n: number }>(
    `WITH mine AS (
       SELECT d.id FROM devices d WHERE d.retired_at IS NULL AND (d.id = $3 OR d.id IN (SELECT device_id FROM device_group_members WHERE group_id = $4))
     )
     SELECT coalesce(dv.hostname, g.name, '') AS target_name, count(DISTINCT mine.id)::int AS n
       FROM software_assignments a
       LEFT JOIN devices dv ON dv.id = a.device_id
       LEFT JOIN device_groups g ON g.id = a.group_id
       JOIN mine ON mine.id = a.device_id OR mine.id IN (SELECT device_id FROM device_group_members WHERE group_id = a.group_id)
      WHERE a.package_id = $1 AND a.intent = $2 AND a.id IS DISTINCT FROM $5
      GROUP BY 1 ORDER BY 2 DESC LIMIT 1`,
    [packageId, contrary, target.deviceId, target.groupId, replacing],
  );
  const clash = rows[0];
  if (clash) {
    throw new ApiError(
      409,
      'assignment_conflict',
      `${clash.n} device${clash.n === 1 ? '' : 's'} would be both ${intent === 'required' ? 'required' : 'uninstalled'} and ` +
        `${contrary === 'required' ? 'required' : 'uninstalled'}: an ${contrary} assignment of this package covers them (${clash.target_name}). Remove that one first.`,
    );
  }
}

/** Starts the run that brings an assignment's devices (all it covers, or these) to its state. */
async function applyAssignment(
  deps: ApiDeps,
  a: { id: string; package_id: string; version_id: string | null; intent: AssignmentIntent },
  opts: { deviceIds?: string[]; kind?: 'install' | 'uninstall'; runId?: string; reason: string },
): Promise<string | null> {
  const kind = opts.kind ?? (a.intent === 'uninstall' ? 'uninstall' : 'install');
  const versionId = await versionOf(deps, a);
  if (!versionId) return null; // a package without versions: nothing to install yet
  const deviceIds = opts.deviceIds ?? (await deps.db.pool.query<{ id: string }>(COVERED_SQL, [a.id])).rows.map((r) => r.id);
  if (deviceIds.length === 0) return null;
  const payload = await softwareCommandPayload(deps, kind === 'install' ? 'software.install' : 'software.uninstall', versionId);
  return startSystemJobRun(deps, {
    id: opts.runId,
    deviceIds,
    payload,
    deadlineSeconds: ASSIGNMENT_RUN_DEADLINE_SECONDS,
    assignmentId: a.id,
    maintenanceWindows: true,
    reason: opts.reason,
  });
}

export async function createAssignments(
  deps: ApiDeps,
  origin: Origin,
  userId: string,
  req: CreateAssignmentRequest,
): Promise<{ items: SoftwareAssignment[]; superseded: number }> {
  const { pool } = deps.db;
  const pkg = await pool.query<{ id: string }>('SELECT id FROM software_packages WHERE id = $1', [req.packageId]);
  if (!pkg.rowCount)
    throw new ApiError(400, 'validation_failed', 'No package has this ID.', [{ path: 'packageId', message: 'no package has this ID' }]);
  if (req.versionId) {
    const v = await pool.query('SELECT 1 FROM package_versions WHERE id = $1 AND package_id = $2', [req.versionId, req.packageId]);
    if (!v.rowCount)
      throw new ApiError(400, 'unknown_version', undefined, [{ path: 'versionId', message: 'not a version of this package' }]);
  }
  const targets = [
    ...[...new Set(req.deviceIds)].map((deviceId) => ({ deviceId, groupId: null })),
    ...[...new Set(req.groupIds)].map((groupId) => ({ deviceId: null, groupId })),
  ];
  const { ids, superseded } = await withUnitOfWork(deps.db, origin, async ({ sql, audit }) => {
    const found = await sql.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM devices WHERE id = ANY($1::uuid[]) AND retired_at IS NULL)::int +
              (SELECT count(*) FROM device_groups WHERE id = ANY($2::uuid[]))::int AS n`,
      [req.deviceIds, req.groupIds],
    );
    if (found.rows[0]!.n !== targets.length)
      throw new ApiError(400, 'unknown_devices', 'Some devices or groups do not exist (or are retired).');
    const ids: string[] = [];
    let superseded = 0;
    for (const target of targets) {
      const existing = await sql.query<{ id: string; version_id: string | null; intent: AssignmentIntent }>(
        `SELECT id, version_id, intent FROM software_assignments WHERE package_id = $1 AND ${target.deviceId ? 'device_id' : 'group_id'} = $2 FOR UPDATE`,
        [req.packageId, target.deviceId ?? target.groupId],
      );
      const prior = existing.rows[0];
      await refuseConflicts(sql, req.packageId, req.intent, target, prior?.id ?? null);
      if (prior && opposite[prior.intent] === req.intent) {
        throw new ApiError(409, 'assignment_conflict', `This target has an ${prior.intent} assignment of the package: remove it first.`);
      }
      if (prior) {
        if (prior.version_id !== req.versionId) superseded++;
        await sql.query(
          `UPDATE software_assignments SET version_id = $2, intent = $3, uninstall_on_leave = $4, updated_at = now() WHERE id = $1`,
          [prior.id, req.versionId, req.intent, req.uninstallOnLeave],
        );
        ids.push(prior.id);
      } else {
        const id = randomUUID();
        await sql.query(
          `INSERT INTO software_assignments (id, package_id, version_id, device_id, group_id, intent, uninstall_on_leave, created_by_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [id, req.packageId, req.versionId, target.deviceId, target.groupId, req.intent, req.uninstallOnLeave, userId],
        );
        ids.push(id);
      }
    }
    await audit({
      action: 'software_assignment.create',
      targetType: 'software_package',
      targetId: req.packageId,
      details: { intent: req.intent, versionId: req.versionId, deviceIds: req.deviceIds, groupIds: req.groupIds, superseded },
    });
    return { ids, superseded };
  });
  const rows = (await Promise.all(ids.map((id) => loadAssignment(pool, id)))).filter((r): r is AssignmentRow => !!r);
  if (req.intent !== 'available') {
    for (const r of rows) await applyAssignment(deps, r, { reason: `assignment ${r.intent}` });
  }
  return { items: await Promise.all(rows.map((r) => toAssignment(deps, r))), superseded };
}

/** Removes an assignment; with `uninstall`, uninstalls the package from the devices no other assignment keeps it on. */
export async function deleteAssignment(deps: ApiDeps, origin: Origin, id: string, uninstall: boolean): Promise<void> {
  const { pool } = deps.db;
  const a = await loadAssignment(pool, id);
  if (!a) throw new ApiError(404, 'not_found');
  const covered = uninstall ? (await pool.query<{ id: string }>(COVERED_SQL, [id])).rows.map((r) => r.id) : [];
  await withUnitOfWork(deps.db, origin, async ({ sql, audit }) => {
    await sql.query('DELETE FROM software_assignments WHERE id = $1', [id]);
    await audit({
      action: 'software_assignment.delete',
      targetType: 'software_package',
      targetId: a.package_id,
      details: { assignmentId: id, uninstall },
    });
  });
  if (uninstall && a.intent !== 'uninstall') {
    const kept = await keptBy(pool, a.package_id, covered);
    await applyAssignment(deps, a, { deviceIds: covered.filter((d) => !kept.has(d)), kind: 'uninstall', reason: 'assignment removed' });
  }
}

/** Of these devices, those another required or available assignment of the package still covers. */
async function keptBy(sql: pg.Pool, packageId: string, deviceIds: string[]): Promise<Set<string>> {
  const { rows } = await sql.query<{ id: string }>(
    `SELECT DISTINCT d.id FROM unnest($2::uuid[]) AS d(id) JOIN software_assignments a ON a.package_id = $1 AND a.intent IN ('required', 'available')
        AND (a.device_id = d.id OR a.group_id IN (SELECT group_id FROM device_group_members WHERE device_id = d.id))`,
    [packageId, deviceIds],
  );
  return new Set(rows.map((r) => r.id));
}

/** An available assignment, installed on one device at someone's request. */
export async function installAvailable(deps: ApiDeps, origin: Origin, id: string, deviceId: string): Promise<{ jobRunId: string }> {
  const { pool } = deps.db;
  const a = await loadAssignment(pool, id);
  if (!a) throw new ApiError(404, 'not_found');
  if (a.intent !== 'available') throw new ApiError(409, 'conflict', 'Only an available assignment is installed on request.');
  const covered = (await pool.query<{ id: string }>(`${COVERED_SQL} AND d.id = $2`, [id, deviceId])).rowCount;
  if (!covered)
    throw new ApiError(400, 'validation_failed', 'The assignment does not cover this device.', [
      { path: 'deviceId', message: 'not covered' },
    ]);
  const jobRunId = await applyAssignment(deps, a, { deviceIds: [deviceId], kind: 'install', reason: 'requested from the console' });
  if (!jobRunId) throw new ApiError(409, 'conflict', 'The package has no version to install.');
  await withUnitOfWork(deps.db, origin, ({ audit }) =>
    audit({ action: 'software_assignment.install', targetType: 'device', targetId: deviceId, details: { assignmentId: id, jobRunId } }),
  );
  return { jobRunId };
}

/**
 * Devices that join a group get its required (and uninstall) assignments applied; those that leave get the package
 * uninstalled when the assignment says so and no other assignment keeps it. A device both required and uninstalled by
 * different groups is left alone. Runs are keyed by the event, so an event handled twice starts them once.
 */
/**
 * Applies group assignments to the devices a membership change added or removed. `lookup` is the outbox's own pool:
 * a change that touches no assigned group (most of them) takes no connection from the pools that serve requests.
 */
export function softwareAssignmentConsumer(deps: ApiDeps, lookup: pg.Pool): EventConsumer {
  return {
    name: 'software-assignments',
    types: ['group.membership_changed'],
    startAt: 'now',
    async handle(event: DomainEvent) {
      if (event.type !== 'group.membership_changed') return;
      const { groupId, added, removed } = event.payload;
      const { rows } = await lookup.query<AssignmentRow>(`${SELECT_ASSIGNMENTS} WHERE a.group_id = $1`, [groupId]);
      const runId = async (a: AssignmentRow, what: string) =>
        (await deps.db.pool.query<{ id: string }>(`SELECT md5($1 || '/' || $2 || '/' || $3)::uuid::text AS id`, [event.id, a.id, what]))
          .rows[0]!.id;
      for (const a of rows) {
        if (added.length > 0 && a.intent !== 'available') {
          const contrary = await coveredByContrary(deps.db.pool, a, added);
          const ids = added.filter((d) => !contrary.has(d));
          await applyAssignment(deps, a, {
            deviceIds: ids,
            runId: await runId(a, 'added'),
            reason: `joined group, assignment ${a.intent}`,
          });
        }
        if (removed.length > 0 && a.uninstall_on_leave && a.intent !== 'uninstall') {
          const kept = await keptBy(deps.db.pool, a.package_id, removed);
          await applyAssignment(deps, a, {
            deviceIds: removed.filter((d) => !kept.has(d)),
            kind: 'uninstall',
            runId: await runId(a, 'removed'),
            reason: 'left group',
          });
        }
      }
    },
  };
}

async function coveredByContrary(sql: pg.Pool, a: AssignmentRow, deviceIds: string[]): Promise<Set<string>> {
  const contrary = opposite[a.intent];
  if (!contrary) return new Set();
  const { rows } = await sql.query<{ id: string }>(
    `SELECT DISTINCT d.id FROM unnest($2::uuid[]) AS d(id) JOIN software_assignments x ON x.package_id = $1 AND x.intent = $3
        AND (x.device_id = d.id OR x.group_id IN (SELECT group_id FROM device_group_members WHERE device_id = d.id))`,
    [a.package_id, deviceIds, contrary],
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * Applies every required and uninstall assignment again, one process at a time (an advisory lock): detection makes it
 * a no-op where the device complies, and brings back what was removed by hand.
 */
export class AssignmentEnforcer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly deps: ApiDeps,
    private readonly intervalSeconds: number,
  ) {}

  start(): void {
    if (this.intervalSeconds <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.enforceAll()
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'enforcing software assignments failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One round (when no other process holds the lock): the runs started, by assignment. */
  async enforceAll(): Promise<number> {
    const client = await this.deps.db.pool.connect();
    try {
      const locked = (await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(hashtext('assignment-enforcement')) AS locked`))
        .rows[0]!;
      if (!locked.locked) return 0;
      try {
        const { rows } = await client.query<AssignmentRow>(
          `${SELECT_ASSIGNMENTS} WHERE a.intent IN ('required', 'uninstall') ORDER BY a.created_at`,
        );
        let started = 0;
        for (const a of rows) {
          if (await applyAssignment(this.deps, a, { reason: `assignment ${a.intent}, enforced` })) started++;
          await client.query('UPDATE software_assignments SET enforced_at = now() WHERE id = $1', [a.id]);
        }
        return started;
      } finally {
        await client.query(`SELECT pg_advisory_unlock(hashtext('assignment-enforcement'))`);
      }
    } finally {
      client.release();
    }
  }
}
