/**
 * Alerting (ADR 25): notification channels (configuration and secrets in the secret store, never returned), their
 * delivery log and test send; escalation policies; alert rules; alerts, acknowledged and resolved through their
 * `alertLifecycle` workflow's updates (a refusal by the workflow's validator is 409 `alert_refused`); and the
 * consumer that opens alerts from domain events (a job run failed, a deployment failed or paused itself).
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import {
  MATCHING_SILENCES,
  channelSecretRef,
  deliverToChannel,
  enabledRules,
  openAlert,
  shownSettings,
  withdrawAlert,
  type AlertRuleRow,
  type OpenedAlert,
  type Subject,
} from '@opsconductor/alerts';
import type {
  AlertCondition,
  AlertSummary,
  CreateAlertRuleBody,
  CreateNotificationChannelBody,
  CreateSilenceBody,
  DeliveryAttempt,
  EscalationPolicyBody,
  NotificationChannel,
  UpdateAlertRuleBody,
  UpdateNotificationChannelBody,
} from '@opsconductor/contracts/alerts-api';
import type { DomainEvent, EventConsumer } from '@opsconductor/domain-events';
import { validateRule } from '@opsconductor/rules';
import { OpsAlertRuleId } from '@opsconductor/workflows/search-attributes';
import { SecretsUnavailableError } from '@opsconductor/secrets';
import { conflict, invalid, isUniqueViolation, NameTakenError, notFound, withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import type { ApiDeps, AuthUser } from '../context.ts';
import { ApiError } from '../lib/problem.ts';
import { withTemporalDeadline } from '../lib/temporal.ts';
import { temporalUrl } from './job-runs.ts';

function nameTaken(err: unknown, constraint: string, what: string): never {
  if (isUniqueViolation(err, constraint)) throw new NameTakenError('name', `A ${what} with this name exists.`);
  throw err;
}

// --- channels -----------------------------------------------------------------------------------------

interface DeliveryRow {
  id: string;
  channel_id: string;
  alert_id: string | null;
  kind: DeliveryAttempt['kind'];
  level: number;
  attempt: number;
  status: DeliveryAttempt['status'];
  response_code: number | null;
  detail: string | null;
  duration_ms: number;
  occurred_at: Date;
}
const DELIVERY_COLUMNS = 'id::text, channel_id, alert_id, kind, level, attempt, status, response_code, detail, duration_ms, occurred_at';
const toDelivery = (r: DeliveryRow): DeliveryAttempt => ({
  id: r.id,
  channelId: r.channel_id,
  alertId: r.alert_id,
  kind: r.kind,
  level: r.level,
  attempt: r.attempt,
  status: r.status,
  responseCode: r.response_code,
  detail: r.detail,
  durationMs: r.duration_ms,
  occurredAt: r.occurred_at.toISOString(),
});

interface ChannelRow {
  id: string;
  name: string;
  type: NotificationChannel['type'];
  target: string;
  settings: Record<string, unknown>;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  last: DeliveryRow | null;
}

async function channels(deps: ApiDeps, id?: string): Promise<NotificationChannel[]> {
  const { rows } = await deps.db.pool.query<ChannelRow>(
    `SELECT c.id, c.name, c.type, c.target, c.settings, c.enabled, c.created_at, c.updated_at,
            (SELECT row_to_json(d) FROM (SELECT ${DELIVERY_COLUMNS} FROM notification_deliveries WHERE channel_id = c.id ORDER BY id DESC LIMIT 1) d) AS last
       FROM notification_channels c WHERE $1::uuid IS NULL OR c.id = $1 ORDER BY c.name, c.id`,
    [id ?? null],
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    type: r.type,
    target: r.target,
    settings: r.settings,
    enabled: r.enabled,
    lastDelivery: r.last ? toDelivery({ ...r.last, occurred_at: new Date(r.last.occurred_at) }) : null,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  }));
}

export const listChannels = (deps: ApiDeps) => channels(deps);

export async function getChannel(deps: ApiDeps, id: string): Promise<NotificationChannel> {
  const [channel] = await channels(deps, id);
  if (!channel) throw notFound('No such notification channel.');
  return channel;
}

function requireSecretStore(deps: ApiDeps): void {
  if (!deps.secrets.configured) throw new SecretsUnavailableError('Notification channels need the secret store (SECRETS_MASTER_KEYS).');
}

export async function createChannel(
  deps: ApiDeps,
  user: AuthUser,
  origin: Origin,
  body: CreateNotificationChannelBody,
): Promise<NotificationChannel> {
  requireSecretStore(deps);
  const id = randomUUID();
  const { settings, target } = shownSettings(body.config);
  try {
    await withUnitOfWork(deps.db, origin, async (uow) => {
      await uow.sql.query(
        'INSERT INTO notification_channels (id, name, type, settings, target, enabled, created_by_id) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [id, body.name, body.config.type, settings, target, body.enabled, user.id],
      );
      await deps.secrets.put(channelSecretRef(id), JSON.stringify(body.config), uow);
      await uow.audit({
        action: 'notification_channel.create',
        targetType: 'notification_channel',
        targetId: id,
        details: { name: body.name, type: body.config.type, target },
      });
    });
  } catch (err) {
    nameTaken(err, 'notification_channels_name_key', 'channel');
  }
  return getChannel(deps, id);
}

export async function updateChannel(
  deps: ApiDeps,
  origin: Origin,
  id: string,
  body: UpdateNotificationChannelBody,
): Promise<NotificationChannel> {
  const current = await getChannel(deps, id);
  if (body.config) {
    requireSecretStore(deps);
    if (body.config.type !== current.type)
      throw conflict('channel_type_fixed', `This is a ${current.type} channel: create another channel instead.`);
  }
  const shown = body.config ? shownSettings(body.config) : null;
  try {
    await withUnitOfWork(deps.db, origin, async (uow) => {
      await uow.sql.query(
        `UPDATE notification_channels SET name = coalesce($2, name), enabled = coalesce($3, enabled), settings = coalesce($4, settings),
                target = coalesce($5, target), updated_at = now() WHERE id = $1`,
        [id, body.name ?? null, body.enabled ?? null, shown?.settings ?? null, shown?.target ?? null],
      );
      if (body.config) await deps.secrets.put(channelSecretRef(id), JSON.stringify(body.config), uow);
      await uow.audit({
        action: body.config ? 'notification_channel.reconfigure' : 'notification_channel.update',
        targetType: 'notification_channel',
        targetId: id,
        details: { name: body.name ?? current.name, ...(body.enabled !== undefined ? { enabled: body.enabled } : {}) },
      });
    });
  } catch (err) {
    nameTaken(err, 'notification_channels_name_key', 'channel');
  }
  return getChannel(deps, id);
}

export async function deleteChannel(deps: ApiDeps, origin: Origin, id: string): Promise<void> {
  const channel = await getChannel(deps, id);
  await withUnitOfWork(deps.db, origin, async (uow) => {
    // Rules and policies that named it notify the rest of their channels.
    await uow.sql.query('UPDATE alert_rules SET channel_ids = array_remove(channel_ids, $1::uuid) WHERE $1::uuid = ANY(channel_ids)', [id]);
    await uow.sql.query(
      `UPDATE escalation_policies p SET levels = (
         SELECT coalesce(jsonb_agg(jsonb_set(l, '{channelIds}', coalesce((SELECT jsonb_agg(c) FROM jsonb_array_elements(l->'channelIds') c WHERE c <> to_jsonb($1::text)), '[]'))), '[]')
           FROM jsonb_array_elements(p.levels) l)
        WHERE p.levels @> jsonb_build_array(jsonb_build_object('channelIds', jsonb_build_array($1::text)))`,
      [id],
    );
    await uow.sql.query('DELETE FROM notification_channels WHERE id = $1', [id]);
    await deps.secrets.delete(channelSecretRef(id), uow);
    await uow.audit({
      action: 'notification_channel.delete',
      targetType: 'notification_channel',
      targetId: id,
      details: { name: channel.name },
    });
  });
}

/** Sends a sample message now (one attempt, logged like every delivery). */
export async function testChannel(deps: ApiDeps, origin: Origin, id: string) {
  const channel = await getChannel(deps, id);
  const outcome = await deliverToChannel(deliveryDeps(deps), {
    channelId: id,
    alertId: null,
    kind: 'test',
    level: 0,
    attempt: 1,
    message: {
      kind: 'test',
      severity: 'info',
      title: `Test message from OpsConductor to ${channel.name}`,
      summary: `Sent by ${origin.actor.name ?? 'an administrator'} to check this channel. Alerts will look like this.`,
      ruleName: 'Test',
      subjects: [],
      count: 0,
      url: `${consoleUrl(deps)}/alerts/channels`,
      occurredAt: new Date().toISOString(),
      level: 0,
    },
  });
  await withUnitOfWork(deps.db, origin, ({ audit }) =>
    audit({ action: 'notification_channel.test', targetType: 'notification_channel', targetId: id, details: { status: outcome.status } }),
  );
  return { status: outcome.status, responseCode: outcome.responseCode, detail: outcome.detail };
}

export async function listDeliveries(deps: ApiDeps, id: string, page: number, pageSize: number) {
  await getChannel(deps, id);
  const [items, total] = await Promise.all([
    deps.db.pool.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM notification_deliveries WHERE channel_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3`,
      [id, pageSize, (page - 1) * pageSize],
    ),
    deps.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM notification_deliveries WHERE channel_id = $1', [id]),
  ]);
  return { items: items.rows.map(toDelivery), total: total.rows[0]!.n };
}

export const deliveryDeps = (deps: ApiDeps) => ({ db: deps.db, secrets: deps.secrets, allowHosts: deps.config.notificationAllowedHosts });
const consoleUrl = (deps: ApiDeps) => deps.config.consoleUrl.replace(/\/+$/, '');

async function requireChannels(deps: ApiDeps, ids: readonly string[]): Promise<void> {
  if (!ids.length) return;
  const { rows } = await deps.db.pool.query<{ id: string }>('SELECT id FROM notification_channels WHERE id = ANY($1::uuid[])', [[...ids]]);
  const known = new Set(rows.map((r) => r.id));
  const missing = [...new Set(ids)].filter((i) => !known.has(i));
  if (missing.length) throw invalid('unknown_channels', `No notification channel has the ID ${missing.join(', ')}.`);
}

// --- escalation policies ------------------------------------------------------------------------------

interface PolicyRow {
  id: string;
  name: string;
  levels: Array<{ channelIds: string[]; delayMinutes: number }>;
  rule_count: number;
  created_at: Date;
  updated_at: Date;
}

async function policies(deps: ApiDeps, id?: string) {
  const { rows } = await deps.db.pool.query<PolicyRow>(
    `SELECT p.id, p.name, p.levels, (SELECT count(*)::int FROM alert_rules r WHERE r.escalation_policy_id = p.id) AS rule_count, p.created_at, p.updated_at
       FROM escalation_policies p WHERE $1::uuid IS NULL OR p.id = $1 ORDER BY p.name, p.id`,
    [id ?? null],
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    levels: r.levels,
    ruleCount: r.rule_count,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  }));
}

export const listPolicies = (deps: ApiDeps) => policies(deps);

export async function getPolicy(deps: ApiDeps, id: string) {
  const [policy] = await policies(deps, id);
  if (!policy) throw notFound('No such escalation policy.');
  return policy;
}

export async function savePolicy(deps: ApiDeps, origin: Origin, body: EscalationPolicyBody, id?: string) {
  await requireChannels(
    deps,
    body.levels.flatMap((l) => l.channelIds),
  );
  if (id) await getPolicy(deps, id);
  const policyId = id ?? randomUUID();
  try {
    await withUnitOfWork(deps.db, origin, async (uow) => {
      await uow.sql.query(
        `INSERT INTO escalation_policies (id, name, levels) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, levels = excluded.levels, updated_at = now()`,
        [policyId, body.name, JSON.stringify(body.levels)],
      );
      await uow.audit({
        action: id ? 'escalation_policy.update' : 'escalation_policy.create',
        targetType: 'escalation_policy',
        targetId: policyId,
        details: { name: body.name, levels: body.levels.length },
      });
    });
  } catch (err) {
    nameTaken(err, 'escalation_policies_name_key', 'escalation policy');
  }
  return getPolicy(deps, policyId);
}

export async function deletePolicy(deps: ApiDeps, origin: Origin, id: string): Promise<void> {
  const policy = await getPolicy(deps, id);
  if (policy.ruleCount > 0)
    throw conflict('escalation_policy_in_use', `${policy.ruleCount} alert rule(s) use this policy: change them first.`);
  try {
    await withUnitOfWork(deps.db, origin, async (uow) => {
      await uow.sql.query('DELETE FROM escalation_policies WHERE id = $1', [id]);
      await uow.audit({
        action: 'escalation_policy.delete',
        targetType: 'escalation_policy',
        targetId: id,
        details: { name: policy.name },
      });
    });
  } catch (err) {
    if ((err as { code?: string }).code === '23503') throw conflict('escalation_policy_in_use', 'An alert rule uses this policy.');
    throw err;
  }
}

// --- rules --------------------------------------------------------------------------------------------

interface RuleRow {
  id: string;
  name: string;
  params: AlertCondition;
  group_ids: string[];
  severity: 'info' | 'warning' | 'critical';
  cooldown_seconds: number;
  channel_ids: string[];
  escalation_policy_id: string | null;
  enabled: boolean;
  open_alerts: number;
  created_at: Date;
  updated_at: Date;
}

async function rules(deps: ApiDeps, id?: string) {
  const { rows } = await deps.db.pool.query<RuleRow>(
    `SELECT r.id, r.name, r.params, r.group_ids, r.severity, r.cooldown_seconds, r.channel_ids, r.escalation_policy_id, r.enabled,
            (SELECT count(*)::int FROM alerts a WHERE a.rule_id = r.id AND a.state <> 'resolved') AS open_alerts, r.created_at, r.updated_at
       FROM alert_rules r WHERE $1::uuid IS NULL OR r.id = $1 ORDER BY r.name, r.id`,
    [id ?? null],
  );
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    condition: r.params as unknown as Record<string, unknown>,
    groupIds: r.group_ids,
    severity: r.severity,
    cooldownMinutes: Math.round(r.cooldown_seconds / 60),
    channelIds: r.channel_ids,
    escalationPolicyId: r.escalation_policy_id,
    enabled: r.enabled,
    openAlerts: r.open_alerts,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  }));
}

export const listRules = (deps: ApiDeps) => rules(deps);

export async function getRule(deps: ApiDeps, id: string) {
  const [rule] = await rules(deps, id);
  if (!rule) throw notFound('No such alert rule.');
  return rule;
}

async function checkRuleReferences(
  deps: ApiDeps,
  r: { condition?: AlertCondition; groupIds?: string[]; channelIds?: string[]; escalationPolicyId?: string | null },
) {
  if (r.channelIds) await requireChannels(deps, r.channelIds);
  if (r.escalationPolicyId) {
    const found = await deps.db.pool.query('SELECT 1 FROM escalation_policies WHERE id = $1', [r.escalationPolicyId]);
    if (!found.rowCount) throw invalid('unknown_escalation_policy', `No escalation policy has the ID ${r.escalationPolicyId}.`);
  }
  const groups = await deps.db.pool.query<{ id: string }>('SELECT id FROM device_groups');
  const groupIds = new Set(groups.rows.map((g) => g.id));
  const missing = (r.groupIds ?? []).filter((g) => !groupIds.has(g));
  if (missing.length) throw invalid('unknown_groups', `No group has the ID ${[...new Set(missing)].join(', ')}.`);
  if (r.condition?.type === 'device_rule') {
    const defs = await deps.db.pool.query<{ key: string; type: 'text' | 'number' | 'boolean' | 'date' | 'enum'; enum_values: string[] }>(
      'SELECT key, type::text, enum_values FROM custom_field_definitions',
    );
    const customFields = new Map(defs.rows.map((d) => [d.key, { type: d.type, enumValues: d.enum_values }]));
    const result = validateRule(r.condition.rule, { customFields, groupIds });
    if (!result.ok) throw invalid('rule_invalid', undefined, result.errors);
  }
}

export async function createRule(deps: ApiDeps, user: AuthUser, origin: Origin, body: CreateAlertRuleBody) {
  await checkRuleReferences(deps, body);
  const id = randomUUID();
  try {
    await withUnitOfWork(deps.db, origin, async (uow) => {
      await uow.sql.query(
        `INSERT INTO alert_rules (id, name, type, params, group_ids, severity, cooldown_seconds, channel_ids, escalation_policy_id, enabled, created_by_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          id,
          body.name,
          body.condition.type,
          JSON.stringify(body.condition),
          [...new Set(body.groupIds)],
          body.severity,
          body.cooldownMinutes * 60,
          [...new Set(body.channelIds)],
          body.escalationPolicyId,
          body.enabled,
          user.id,
        ],
      );
      await uow.audit({
        action: 'alert_rule.create',
        targetType: 'alert_rule',
        targetId: id,
        details: { name: body.name, type: body.condition.type },
      });
    });
  } catch (err) {
    nameTaken(err, 'alert_rules_name_key', 'alert rule');
  }
  return getRule(deps, id);
}

export async function updateRule(deps: ApiDeps, origin: Origin, id: string, body: UpdateAlertRuleBody) {
  await getRule(deps, id);
  await checkRuleReferences(deps, body);
  try {
    await withUnitOfWork(deps.db, origin, async (uow) => {
      await uow.sql.query(
        `UPDATE alert_rules SET name = coalesce($2, name), type = coalesce($3, type), params = coalesce($4, params), group_ids = coalesce($5, group_ids),
                severity = coalesce($6, severity), cooldown_seconds = coalesce($7, cooldown_seconds), channel_ids = coalesce($8, channel_ids),
                escalation_policy_id = CASE WHEN $9 THEN $10 ELSE escalation_policy_id END, enabled = coalesce($11, enabled), updated_at = now()
          WHERE id = $1`,
        [
          id,
          body.name ?? null,
          body.condition?.type ?? null,
          body.condition ? JSON.stringify(body.condition) : null,
          body.groupIds ? [...new Set(body.groupIds)] : null,
          body.severity ?? null,
          body.cooldownMinutes === undefined ? null : body.cooldownMinutes * 60,
          body.channelIds ? [...new Set(body.channelIds)] : null,
          body.escalationPolicyId !== undefined,
          body.escalationPolicyId ?? null,
          body.enabled ?? null,
        ],
      );
      await uow.audit({ action: 'alert_rule.update', targetType: 'alert_rule', targetId: id, details: { fields: Object.keys(body) } });
    });
  } catch (err) {
    nameTaken(err, 'alert_rules_name_key', 'alert rule');
  }
  return getRule(deps, id);
}

export async function deleteRule(deps: ApiDeps, origin: Origin, id: string): Promise<void> {
  const rule = await getRule(deps, id);
  const { rows } = await deps.db.pool.query<{ workflow_id: string }>(
    `SELECT workflow_id FROM alerts WHERE rule_id = $1 AND state <> 'resolved'`,
    [id],
  );
  // Its open alerts end with it (their workflows first: they would write to deleted rows).
  await Promise.all(
    rows.map((r) =>
      withTemporalDeadline(deps.temporal, () => deps.temporal.workflow.getHandle(r.workflow_id).terminate('alert rule deleted')).catch(
        () => undefined,
      ),
    ),
  );
  await withUnitOfWork(deps.db, origin, async (uow) => {
    await uow.sql.query('DELETE FROM alert_rules WHERE id = $1', [id]);
    await uow.audit({ action: 'alert_rule.delete', targetType: 'alert_rule', targetId: id, details: { name: rule.name } });
  });
}

// --- alerts -------------------------------------------------------------------------------------------

interface AlertRow {
  id: string;
  rule_id: string;
  rule_name: string;
  rule_type: AlertSummary['rule']['type'];
  subject_type: AlertSummary['subject']['type'];
  subject_key: string;
  subject_label: string;
  state: AlertSummary['state'];
  severity: AlertSummary['severity'];
  summary: string;
  workflow_id: string;
  opened_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution: string | null;
  silence: { id: string; reason: string; ends_at: string; created_by: string } | null;
}
const ALERT_SELECT = `SELECT a.id, a.rule_id, r.name AS rule_name, r.type AS rule_type, a.subject_type, a.subject_key, a.subject_label, a.state,
       a.severity, a.summary, a.workflow_id, a.opened_at, a.acknowledged_at, a.acknowledged_by, a.resolved_at, a.resolved_by, a.resolution,
       (SELECT row_to_json(m) FROM (${MATCHING_SILENCES} ORDER BY s.ends_at DESC LIMIT 1) m) AS silence
  FROM alerts a JOIN alert_rules r ON r.id = a.rule_id`;
const toAlert = (r: AlertRow): AlertSummary => ({
  id: r.id,
  rule: { id: r.rule_id, name: r.rule_name, type: r.rule_type },
  subject: { type: r.subject_type, id: r.subject_key, label: r.subject_label },
  state: r.state,
  severity: r.severity,
  summary: r.summary,
  workflowId: r.workflow_id,
  openedAt: r.opened_at.toISOString(),
  acknowledgedAt: r.acknowledged_at?.toISOString() ?? null,
  acknowledgedBy: r.acknowledged_by,
  resolvedAt: r.resolved_at?.toISOString() ?? null,
  resolvedBy: r.resolved_by,
  resolution: r.resolution,
  silenced: r.silence
    ? { id: r.silence.id, reason: r.silence.reason, endsAt: new Date(r.silence.ends_at).toISOString(), createdBy: r.silence.created_by }
    : null,
});

export interface AlertFilters {
  state?: AlertSummary['state'];
  active?: 'true' | 'false';
  severity?: AlertSummary['severity'];
  ruleId?: string;
  deviceId?: string;
}

export async function listAlerts(deps: ApiDeps, f: AlertFilters, page: number, pageSize: number) {
  const where = `WHERE ($1::text IS NULL OR a.state = $1) AND ($2::text IS NULL OR (a.state <> 'resolved') = ($2 = 'true'))
     AND ($3::text IS NULL OR a.severity = $3) AND ($4::uuid IS NULL OR a.rule_id = $4)
     AND ($5::uuid IS NULL OR (a.subject_type = 'device' AND a.subject_key = $5::text))`;
  const params = [f.state ?? null, f.active ?? null, f.severity ?? null, f.ruleId ?? null, f.deviceId ?? null];
  const [items, total] = await Promise.all([
    deps.db.pool.query<AlertRow>(`${ALERT_SELECT} ${where} ORDER BY a.opened_at DESC, a.id LIMIT $6 OFFSET $7`, [
      ...params,
      pageSize,
      (page - 1) * pageSize,
    ]),
    deps.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM alerts a ${where}`, params),
  ]);
  return { items: items.rows.map(toAlert), total: total.rows[0]!.n };
}

export async function getAlert(deps: ApiDeps, id: string) {
  const { rows } = await deps.db.pool.query<AlertRow>(`${ALERT_SELECT} WHERE a.id = $1`, [id]);
  if (!rows[0]) throw notFound('No such alert.');
  const [timeline, deliveries] = await Promise.all([
    deps.db.pool.query<{ id: string; type: string; message: string; actor: string | null; details: unknown; occurred_at: Date }>(
      'SELECT id::text, type, message, actor, details, occurred_at FROM alert_events WHERE alert_id = $1 ORDER BY id',
      [id],
    ),
    deps.db.pool.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM notification_deliveries WHERE alert_id = $1 ORDER BY id`, [id]),
  ]);
  return {
    ...toAlert(rows[0]),
    timeline: timeline.rows.map((e) => ({
      id: e.id,
      type: e.type,
      message: e.message,
      actor: e.actor,
      details: e.details ?? null,
      occurredAt: e.occurred_at.toISOString(),
    })),
    deliveries: deliveries.rows.map(toDelivery),
    temporalUrl: temporalUrl(deps, rows[0].workflow_id),
  };
}

export type AlertAction = 'acknowledge' | 'resolve';

/** An operator acknowledges or resolves: the workflow's update (its validator refuses what makes no sense now). */
export async function actOnAlert(deps: ApiDeps, origin: Origin, id: string, action: AlertAction, text: string | undefined) {
  const alert = await getAlert(deps, id);
  const by = actorName(origin);
  const request = action === 'acknowledge' ? { by, ...(text ? { comment: text } : {}) } : { by, reason: text ?? `Resolved by ${by}` };
  try {
    await withTemporalDeadline(deps.temporal, () =>
      deps.temporal.workflow.getHandle(alert.workflowId).executeUpdate(action, { args: [request] }),
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError)
      throw new ApiError(409, 'alert_refused', (err.cause as Error | undefined)?.message ?? err.message);
    const ended = err instanceof WorkflowNotFoundError || (err as { code?: number }).code === 5 || (err as { code?: number }).code === 9;
    if (!ended) throw err;
    if (alert.state === 'resolved') throw new ApiError(409, 'alert_refused', 'The alert is resolved already.');
    if (action === 'acknowledge')
      throw new ApiError(409, 'alert_refused', 'The alert has no running workflow to acknowledge; resolve it instead.');
    // Its workflow is gone (ended or lost): the alert is resolved here, without notifications.
    await deps.db.pool.query(
      `UPDATE alerts SET state = 'resolved', resolved_at = now(), resolved_by = $2, resolution = $3 WHERE id = $1 AND state <> 'resolved'`,
      [id, by, request.reason ?? null],
    );
    await deps.db.pool.query(`INSERT INTO alert_events (alert_id, type, message, actor) VALUES ($1, 'resolved', $2, $3)`, [
      id,
      request.reason ?? 'Resolved',
      by,
    ]);
  }
  await withUnitOfWork(deps.db, origin, ({ audit }) =>
    audit({ action: `alert.${action}`, targetType: 'alert', targetId: id, details: text ? { text } : undefined }),
  );
  return getAlert(deps, id);
}

export async function actOnAlerts(deps: ApiDeps, origin: Origin, ids: readonly string[], action: AlertAction, text: string | undefined) {
  const done: string[] = [];
  const refused: Array<{ id: string; reason: string }> = [];
  for (const id of new Set(ids)) {
    try {
      await actOnAlert(deps, origin, id, action, text);
      done.push(id);
    } catch (err) {
      if (err instanceof ApiError || (err as { kind?: string }).kind === 'not_found')
        refused.push({ id, reason: (err as Error).message || 'not found' });
      else throw err;
    }
  }
  return { done, refused };
}

// --- silences ---------------------------------------------------------------------------------------

interface SilenceRow {
  id: string;
  rule_id: string | null;
  device_id: string | null;
  group_id: string | null;
  tag: string | null;
  starts_at: Date;
  ends_at: Date;
  reason: string;
  created_by: string;
  created_at: Date;
  active: boolean;
}

const toSilence = (r: SilenceRow) => ({
  id: r.id,
  ruleId: r.rule_id,
  deviceId: r.device_id,
  groupId: r.group_id,
  tag: r.tag,
  startsAt: r.starts_at.toISOString(),
  endsAt: r.ends_at.toISOString(),
  reason: r.reason,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  active: r.active,
});
const SILENCE_SELECT = 'SELECT *, (starts_at <= now() AND ends_at > now()) AS active FROM alert_silences';

export async function listSilences(deps: ApiDeps, active?: 'true' | 'false') {
  const { rows } = await deps.db.pool.query<SilenceRow>(
    `${SILENCE_SELECT} WHERE $1::text IS NULL OR (starts_at <= now() AND ends_at > now()) = ($1 = 'true') ORDER BY ends_at DESC, id LIMIT 1000`,
    [active ?? null],
  );
  return rows.map(toSilence);
}

async function getSilence(deps: ApiDeps, id: string) {
  const { rows } = await deps.db.pool.query<SilenceRow>(`${SILENCE_SELECT} WHERE id = $1`, [id]);
  if (!rows[0]) throw notFound('No such silence.');
  return toSilence(rows[0]);
}

export async function createSilence(deps: ApiDeps, origin: Origin, body: CreateSilenceBody) {
  const exists = async (table: 'alert_rules' | 'devices' | 'device_groups', id: string | undefined) =>
    !id || !!(await deps.db.pool.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id])).rowCount;
  if (!(await exists('alert_rules', body.ruleId))) throw notFound('No such alert rule.');
  if (!(await exists('devices', body.deviceId))) throw invalid('unknown_devices', `No device has the ID ${body.deviceId}.`);
  if (!(await exists('device_groups', body.groupId))) throw invalid('unknown_groups', `No group has the ID ${body.groupId}.`);
  const id = randomUUID();
  await withUnitOfWork(deps.db, origin, async (uow) => {
    await uow.sql.query(
      `INSERT INTO alert_silences (id, rule_id, device_id, group_id, tag, starts_at, ends_at, reason, created_by)
       VALUES ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()), $7, $8, $9)`,
      [
        id,
        body.ruleId ?? null,
        body.deviceId ?? null,
        body.groupId ?? null,
        body.tag ?? null,
        body.startsAt ?? null,
        body.endsAt,
        body.reason,
        actorName(origin),
      ],
    );
    await uow.audit({ action: 'alert_silence.create', targetType: 'alert_silence', targetId: id, details: { ...body } });
  });
  return getSilence(deps, id);
}

/** Ends a silence now (one not started yet is deleted); its record stays. */
export async function expireSilence(deps: ApiDeps, origin: Origin, id: string): Promise<void> {
  await getSilence(deps, id);
  await withUnitOfWork(deps.db, origin, async (uow) => {
    await uow.sql.query('DELETE FROM alert_silences WHERE id = $1 AND starts_at > now()', [id]);
    await uow.sql.query(
      `UPDATE alert_silences SET ends_at = greatest(now(), starts_at + interval '1 millisecond') WHERE id = $1 AND ends_at > now()`,
      [id],
    );
    await uow.audit({ action: 'alert_silence.expire', targetType: 'alert_silence', targetId: id });
  });
}

const actorName = (origin: Origin) => origin.actor.name ?? origin.actor.type;

// --- alerts from domain events ------------------------------------------------------------------------

const FAILED_RUN_STATUSES = new Set(['failed', 'partially_succeeded', 'timed_out', 'unreachable']);

/**
 * Starts the alerts' `alertLifecycle` workflows. One whose workflow ID still runs (the last alert of its rule and
 * subject is closing) is taken back, and the error makes the outbox deliver the event again later.
 */
export async function startAlertWorkflows(deps: ApiDeps, opened: readonly OpenedAlert[]): Promise<void> {
  let withdrawn = 0;
  for (const a of opened) {
    try {
      await deps.temporal.workflow.start('alertLifecycle', {
        taskQueue: deps.config.temporalTaskQueue,
        workflowId: a.workflowId,
        args: [{ alertId: a.alertId }],
        typedSearchAttributes: [{ key: OpsAlertRuleId, value: a.ruleId }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      await withdrawAlert(deps.db, a.alertId);
      withdrawn++;
    }
  }
  if (withdrawn) throw new Error(`${withdrawn} alert(s) wait for the last alert of their rule and subject to close; retried later`);
}

/** Whether the run touched a device of the groups (no groups: every run). */
async function inScope(deps: ApiDeps, rule: AlertRuleRow, sql: string, id: string): Promise<boolean> {
  if (!rule.group_ids.length) return true;
  const { rowCount } = await deps.db.pool.query(
    `SELECT 1 FROM (${sql}) t JOIN device_group_members m ON m.device_id = t.device_id WHERE m.group_id = ANY($2::uuid[]) LIMIT 1`,
    [id, rule.group_ids],
  );
  return !!rowCount;
}

async function subjectFor(deps: ApiDeps, rule: AlertRuleRow, event: DomainEvent): Promise<Subject | null> {
  if (event.type === 'job_run.finished' && rule.type === 'job_run_failed') {
    const p = event.payload;
    if (!FAILED_RUN_STATUSES.has(p.status) || p.cancelled) return null;
    if (!(await inScope(deps, rule, 'SELECT device_id FROM job_run_devices WHERE job_run_id = $1', p.jobRunId))) return null;
    const { rows } = await deps.db.pool.query<{ command: string }>('SELECT command FROM job_runs WHERE id = $1', [p.jobRunId]);
    const run = rows[0];
    if (!run) return null;
    const failed = (p.counts.failed ?? 0) + (p.counts.timed_out ?? 0) + (p.counts.offline ?? 0);
    const label = run.command.length > 80 ? `${run.command.slice(0, 79)}…` : run.command;
    return {
      type: 'job_run',
      key: p.jobRunId,
      label,
      summary: `Job run ${p.status.replace('_', ' ')}: ${label} (${failed} of ${p.total} devices failed)`,
    };
  }
  if (rule.type !== 'deployment_failed' || rule.params.type !== 'deployment_failed') return null;
  if (event.type === 'deployment.finished' && event.payload.status === 'failed') {
    return {
      type: 'deployment',
      key: event.payload.deploymentId,
      label: event.payload.name,
      summary: `Deployment ${event.payload.name} failed`,
    };
  }
  if (event.type === 'deployment.paused' && event.payload.automatic && rule.params.includePaused) {
    return {
      type: 'deployment',
      key: event.payload.deploymentId,
      label: event.payload.name,
      summary: `Deployment ${event.payload.name} paused itself: ${event.payload.reason}`,
    };
  }
  return null;
}

/** Opens alerts of the event rules from job-run and deployment events (the outbox delivers each event once). */
export function alertEventsConsumer(deps: ApiDeps): EventConsumer {
  return {
    name: 'alerts',
    types: ['job_run.finished', 'deployment.finished', 'deployment.paused'],
    startAt: 'now',
    async handle(event: DomainEvent) {
      const opened: OpenedAlert[] = [];
      for (const rule of await enabledRules(deps.db, event.type === 'job_run.finished' ? ['job_run_failed'] : ['deployment_failed'])) {
        const subject = await subjectFor(deps, rule, event);
        if (!subject) continue;
        const alert = await openAlert(deps.db, rule, subject);
        if (alert) opened.push(alert);
      }
      await startAlertWorkflows(deps, opened);
    },
  };
}
