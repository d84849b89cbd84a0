/** Maintenance windows of groups (ADR 24): deployments start devices only inside one of their groups' windows. */
import { randomUUID } from 'node:crypto';
import type { MaintenanceWindow } from '@opsconductor/contracts/deployments';
import type { MaintenanceWindowSpec } from '@opsconductor/contracts/maintenance-windows';
import { nextOccurrence } from '@opsconductor/deployments';
import { withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import type { ApiDeps } from '../context.ts';
import { ApiError } from '../lib/problem.ts';

interface WindowRow {
  id: string;
  group_id: string;
  name: string;
  time_zone: string;
  recurrence: 'daily' | 'weekly';
  days_of_week: number[];
  start_time: string;
  duration_minutes: number;
  created_at: Date;
}

function toWindow(r: WindowRow, now: Date): MaintenanceWindow {
  const spec: MaintenanceWindowSpec = {
    name: r.name,
    timeZone: r.time_zone,
    recurrence: r.recurrence,
    daysOfWeek: r.days_of_week,
    startTime: r.start_time,
    durationMinutes: r.duration_minutes,
  };
  const next = nextOccurrence(spec, now);
  return {
    id: r.id,
    groupId: r.group_id,
    name: r.name,
    timeZone: r.time_zone,
    recurrence: r.recurrence,
    daysOfWeek: r.days_of_week,
    startTime: r.start_time,
    durationMinutes: r.duration_minutes,
    createdAt: r.created_at.toISOString(),
    openNow: next.start.getTime() <= now.getTime(),
    nextOpensAt: (next.start.getTime() <= now.getTime() ? now : next.start).toISOString(),
    nextClosesAt: next.end.toISOString(),
  };
}

async function requireGroup(deps: ApiDeps, groupId: string): Promise<void> {
  const { rowCount } = await deps.db.pool.query('SELECT 1 FROM device_groups WHERE id = $1', [groupId]);
  if (!rowCount) throw new ApiError(404, 'not_found');
}

export async function listWindows(deps: ApiDeps, groupId: string): Promise<MaintenanceWindow[]> {
  await requireGroup(deps, groupId);
  const { rows } = await deps.db.pool.query<WindowRow>('SELECT * FROM maintenance_windows WHERE group_id = $1 ORDER BY name, id', [
    groupId,
  ]);
  const now = new Date();
  return rows.map((r) => toWindow(r, now));
}

export async function createWindow(
  deps: ApiDeps,
  origin: Origin,
  groupId: string,
  spec: MaintenanceWindowSpec,
): Promise<MaintenanceWindow> {
  await requireGroup(deps, groupId);
  const id = randomUUID();
  const row = await withUnitOfWork(deps.db, origin, async ({ sql, audit }) => {
    const { rows } = await sql.query<WindowRow>(
      `INSERT INTO maintenance_windows (id, group_id, name, time_zone, recurrence, days_of_week, start_time, duration_minutes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [id, groupId, spec.name.trim(), spec.timeZone, spec.recurrence, spec.daysOfWeek ?? [], spec.startTime, spec.durationMinutes],
    );
    await audit({ action: 'maintenance_window.create', targetType: 'group', targetId: groupId, details: { windowId: id, ...spec } });
    return rows[0]!;
  });
  return toWindow(row, new Date());
}

export async function deleteWindow(deps: ApiDeps, origin: Origin, groupId: string, windowId: string): Promise<void> {
  await withUnitOfWork(deps.db, origin, async ({ sql, audit }) => {
    const { rows } = await sql.query<WindowRow>('DELETE FROM maintenance_windows WHERE id = $1 AND group_id = $2 RETURNING *', [
      windowId,
      groupId,
    ]);
    if (!rows[0]) throw new ApiError(404, 'not_found');
    await audit({ action: 'maintenance_window.delete', targetType: 'group', targetId: groupId, details: { windowId, name: rows[0].name } });
  });
}
