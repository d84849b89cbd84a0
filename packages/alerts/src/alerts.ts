/**
 * Alerts (ADR 25): one per rule and subject while not resolved (a partial unique index), each with its
 * `alertLifecycle` workflow `alert/<rule>/<subject>`. State rules (device offline, disk free, agent outdated, a
 * dynamic-group rule) are evaluated on the `alert-evaluation` schedule: subjects that start firing open alerts
 * (unless the rule's cooldown since the last one resolved has not passed), open alerts whose condition has been clear
 * for FLAP_CLEAR_SECONDS are handed back for automatic resolution. Event rules (job run failed, deployment failed or
 * paused itself) open alerts from domain events.
 */
import { randomUUID } from 'node:crypto';
import type { AlertCondition } from '@opsconductor/contracts/alerts-api';
import type { Rule } from '@opsconductor/contracts/rules';
import type { Database } from '@opsconductor/db';
import { compareVersions } from '@opsconductor/rules';
import { insideAnyWindow } from '@opsconductor/deployments';
import type { MaintenanceWindowSpec } from '@opsconductor/contracts/maintenance-windows';
import { alertWorkflowId } from '@opsconductor/workflows/search-attributes';

/** A condition must stay clear this long before its alert resolves by itself (flap protection), unless told otherwise. */
export const FLAP_CLEAR_SECONDS = 60;
/** Most alerts one evaluation opens (the rest open in the next round). */
export const MAX_OPENED_PER_EVALUATION = 500;

export type AlertSubjectType = 'device' | 'job_run' | 'deployment';

export interface AlertRuleRow {
  id: string;
  name: string;
  type: AlertCondition['type'];
  params: AlertCondition;
  group_ids: string[];
  severity: 'info' | 'warning' | 'critical';
  cooldown_seconds: number;
}

export interface Subject {
  type: AlertSubjectType;
  key: string;
  label: string;
  summary: string;
}

export interface OpenedAlert {
  alertId: string;
  ruleId: string;
  workflowId: string;
}

const RULE_COLUMNS = 'id, name, type, params, group_ids, severity, cooldown_seconds';

/**
 * Opens an alert of the rule about the subject, with its `opened` timeline entry; null when one is open already or
 * the rule's cooldown since the last one resolved has not passed.
 */
export async function openAlert(db: Database, rule: AlertRuleRow, subject: Subject): Promise<OpenedAlert | null> {
  const workflowId = alertWorkflowId(rule.id, subject.key);
  const { rows } = await db.pool.query<{ id: string }>(
    `WITH cooling AS (
       SELECT 1 FROM alerts WHERE rule_id = $2 AND subject_key = $3 AND state = 'resolved'
          AND resolved_at > now() - make_interval(secs => $8)
     ), opened AS (
       INSERT INTO alerts (id, rule_id, subject_key, subject_type, subject_label, state, severity, summary, workflow_id)
       SELECT $1, $2, $3, $4, $5, 'open', $6, $7, $9 WHERE NOT EXISTS (SELECT 1 FROM cooling)
       ON CONFLICT (rule_id, subject_key) WHERE state <> 'resolved' DO NOTHING
       RETURNING id
     )
     INSERT INTO alert_events (alert_id, type, message) SELECT id, 'opened', $7 FROM opened RETURNING alert_id AS id`,
    [
      randomUUID(),
      rule.id,
      subject.key,
      subject.type,
      subject.label.slice(0, 500),
      rule.severity,
      subject.summary,
      rule.cooldown_seconds,
      workflowId,
    ],
  );
  return rows[0] ? { alertId: rows[0].id, ruleId: rule.id, workflowId } : null;
}

/**
 * Takes back an alert just opened whose workflow could not start: the last alert of its rule and subject is still
 * closing (sending its resolved messages) under the same workflow ID. It opens again on the next evaluation (or the
 * event's redelivery). Only an alert nothing has happened to yet is deleted.
 */
export async function withdrawAlert(db: Database, alertId: string): Promise<void> {
  await db.pool.query(
    `DELETE FROM alerts a WHERE a.id = $1 AND a.state = 'open' AND NOT EXISTS (SELECT 1 FROM alert_events e WHERE e.alert_id = a.id AND e.type <> 'opened')`,
    [alertId],
  );
}

/** The enabled rules of these types. */
export async function enabledRules(db: Database, types: readonly AlertCondition['type'][]): Promise<AlertRuleRow[]> {
  const { rows } = await db.pool.query<AlertRuleRow>(
    `SELECT ${RULE_COLUMNS} FROM alert_rules WHERE enabled AND type = ANY($1::text[]) ORDER BY created_at, id`,
    [[...types]],
  );
  return rows;
}

interface FiringDevice {
  id: string;
  hostname: string;
  detail: string;
}

/** The devices inside one of their groups' maintenance windows now (ADR 24). */
async function inMaintenanceWindow(db: Database, deviceIds: string[]): Promise<Set<string>> {
  if (!deviceIds.length) return new Set();
  const { rows } = await db.pool.query<MaintenanceWindowSpec & { device_id: string }>(
    `SELECT m.device_id, w.name, w.time_zone AS "timeZone", w.recurrence, w.days_of_week AS "daysOfWeek", w.start_time AS "startTime",
            w.duration_minutes AS "durationMinutes"
       FROM maintenance_windows w JOIN device_group_members m ON m.group_id = w.group_id WHERE m.device_id = ANY($1::uuid[])`,
    [deviceIds],
  );
  const byDevice = new Map<string, MaintenanceWindowSpec[]>();
  for (const { device_id, ...w } of rows) byDevice.set(device_id, [...(byDevice.get(device_id) ?? []), w]);
  const now = new Date();
  return new Set([...byDevice].filter(([, ws]) => insideAnyWindow(ws, now)).map(([id]) => id));
}

/** What a state rule needs besides the database: the devices a dynamic-group rule matches. */
export interface EvaluationDeps {
  db: Database;
  matching: (rule: Rule) => Promise<string[]>;
  /** How long a condition must stay clear before its alert resolves (ALERT_RESOLVE_AFTER_SECONDS; default FLAP_CLEAR_SECONDS). */
  resolveAfterSeconds?: number;
}

const STATE_RULE_TYPES = ['device_offline', 'disk_free', 'agent_outdated', 'device_rule'] as const;

/** The devices (active, in the rule's groups when it has any) for which a state rule's condition holds now. */
async function firingDevices(deps: EvaluationDeps, rule: AlertRuleRow): Promise<FiringDevice[]> {
  const scope = rule.group_ids.length
    ? 'AND EXISTS (SELECT 1 FROM device_group_members m WHERE m.device_id = d.id AND m.group_id = ANY($1::uuid[]))'
    : 'AND $1::uuid[] IS NOT NULL';
  const c = rule.params;
  const query = async (where: string, detail: string, extra: unknown[] = []) =>
    (
      await deps.db.pool.query<FiringDevice>(
        `SELECT d.id, d.hostname, ${detail} AS detail FROM devices d WHERE d.retired_at IS NULL ${scope} AND ${where} ORDER BY d.id`,
        [rule.group_ids, ...extra],
      )
    ).rows;
  switch (c.type) {
    case 'device_offline':
      return query(
        'd.last_seen_at < now() - make_interval(mins => $2)',
        `'last seen ' || to_char(d.last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'`,
        [c.minutes],
      );
    case 'disk_free':
      return query(
        `(d.rule_facts->>'performance.minDiskFreePercent')::float8 < $2`,
        `round((d.rule_facts->>'performance.minDiskFreePercent')::numeric, 1) || '% free on its fullest volume'`,
        [c.belowPercent],
      );
    case 'agent_outdated': {
      const agents = await query(`d.transport = 'agent'`, `d.agent_version`);
      return agents.filter((d) => compareVersions(d.detail, c.minimumVersion) < 0).map((d) => ({ ...d, detail: `agent ${d.detail}` }));
    }
    case 'device_rule': {
      const matched = new Set(await deps.matching(c.rule));
      return (await query('true', `''`)).filter((d) => matched.has(d.id)).map((d) => ({ ...d, detail: 'matches the rule' }));
    }
    default:
      return [];
  }
}

function deviceSummary(rule: AlertRuleRow, d: FiringDevice): string {
  const c = rule.params;
  switch (c.type) {
    case 'device_offline':
      return `${d.hostname} offline for more than ${c.minutes} minute${c.minutes === 1 ? '' : 's'} (${d.detail})`;
    case 'disk_free':
      return `${d.hostname} low on disk space: ${d.detail}`;
    case 'agent_outdated':
      return `${d.hostname} runs an outdated ${d.detail} (older than ${c.minimumVersion})`;
    default:
      return `${d.hostname} ${d.detail} "${rule.name}"`;
  }
}

export interface EvaluationResult {
  opened: OpenedAlert[];
  /** Workflows of alerts whose condition has stayed clear long enough: to resolve automatically. */
  cleared: string[];
  rules: number;
}

/** One evaluation of every enabled state rule. */
export async function evaluateStateRules(deps: EvaluationDeps): Promise<EvaluationResult> {
  const result: EvaluationResult = { opened: [], cleared: [], rules: 0 };
  for (const rule of await enabledRules(deps.db, STATE_RULE_TYPES)) {
    result.rules++;
    const firing = await firingDevices(deps, rule);
    const keys = firing.map((d) => d.id);
    // Still firing: not clearing. Not firing: clearing since now, or since earlier; clear long enough: resolve.
    await deps.db.pool.query(
      `UPDATE alerts SET last_firing_at = now(), cleared_since = NULL WHERE rule_id = $1 AND state <> 'resolved' AND subject_key = ANY($2::text[])`,
      [rule.id, keys],
    );
    const { rows: clearing } = await deps.db.pool.query<{ workflow_id: string; due: boolean }>(
      `UPDATE alerts SET cleared_since = coalesce(cleared_since, now())
        WHERE rule_id = $1 AND state <> 'resolved' AND NOT (subject_key = ANY($2::text[]))
        RETURNING workflow_id, cleared_since <= now() - make_interval(secs => $3) AS due`,
      [rule.id, keys, deps.resolveAfterSeconds ?? FLAP_CLEAR_SECONDS],
    );
    result.cleared.push(...clearing.filter((r) => r.due).map((r) => r.workflow_id));
    const { rows: open } = await deps.db.pool.query<{ subject_key: string }>(
      `SELECT subject_key FROM alerts WHERE rule_id = $1 AND state <> 'resolved'`,
      [rule.id],
    );
    const already = new Set(open.map((r) => r.subject_key));
    // Offline inside a maintenance window: planned, so no new alert (one open already stays until it clears).
    const c = rule.params;
    if (c.type === 'device_offline' && c.quietInMaintenanceWindows) {
      for (const id of await inMaintenanceWindow(
        deps.db,
        firing.filter((d) => !already.has(d.id)).map((d) => d.id),
      ))
        already.add(id);
    }
    for (const d of firing) {
      if (already.has(d.id) || result.opened.length >= MAX_OPENED_PER_EVALUATION) continue;
      const opened = await openAlert(deps.db, rule, { type: 'device', key: d.id, label: d.hostname, summary: deviceSummary(rule, d) });
      if (opened) result.opened.push(opened);
    }
  }
  return result;
}
