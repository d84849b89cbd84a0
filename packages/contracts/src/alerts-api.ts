/**
 * Alerting (ADR 25): notification channels (their secrets go in once and never come back out), escalation
 * policies, alert rules and the alerts they raise, with their timeline and the log of every delivery attempt.
 */
import { z } from 'zod';
import { pagination, tagName, uuid } from './api.ts';
import type { Rule } from './rules.ts';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './text.ts';

const text = (max: number) => z.string().max(max).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);
const name = text(200).trim().min(1);

export const notificationChannelTypes = ['slack', 'teams', 'discord', 'webhook', 'smtp', 'resend'] as const;
export type NotificationChannelType = (typeof notificationChannelTypes)[number];
export const alertSeverities = ['info', 'warning', 'critical'] as const;
export const alertStates = ['open', 'acknowledged', 'resolved'] as const;
export const alertRuleTypes = [
  'device_offline',
  'disk_free',
  'job_run_failed',
  'deployment_failed',
  'agent_outdated',
  'device_rule',
] as const;
export const notificationKinds = ['opened', 'escalated', 'resolved', 'test'] as const;
export const deliveryStatuses = ['delivered', 'failed', 'skipped'] as const;

/** An http(s) URL without user name or password (where it may point is checked when sending: ADR 25, SSRF). */
const webUrl = text(2048).refine((s) => {
  if (!URL.canParse(s)) return false;
  const u = new URL(s);
  return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password && u.hostname !== '';
}, 'must be an http:// or https:// URL without a user name or password');
/** A mail address as SMTP takes it (no display name, no control characters or spaces). */
export const mailAddress = z
  .string()
  .max(254)
  .regex(
    /^[^\s@<>()[\]\\,;:"\u0000-\u001f\u007f]+@[^\s@<>()[\]\\,;:"\u0000-\u001f\u007f]+$/,
    'must be a mail address such as ops@example.com',
  );
const recipients = z.array(mailAddress).min(1).max(50);
export const hostName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or address');
/** A Standard Webhooks signing secret: `whsec_` and 24 to 64 random bytes in base64. */
export const signingSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/, 'must be whsec_ followed by 24 to 64 bytes in base64')
  .refine((s) => {
    const bytes = Buffer.from(s.slice(6), 'base64').length;
    return bytes >= 24 && bytes <= 64;
  }, 'must be whsec_ followed by 24 to 64 bytes in base64');

/** How to reach a channel, with its secrets: given on creation and when replaced, never returned. */
export const notificationChannelConfig = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('slack'), webhookUrl: webUrl.describe('The incoming webhook URL (a secret)') }),
    z.strictObject({ type: z.literal('teams'), webhookUrl: webUrl.describe('The Teams workflow (Power Automate) webhook URL (a secret)') }),
    z.strictObject({ type: z.literal('discord'), webhookUrl: webUrl.describe('The Discord webhook URL (a secret)') }),
    z.strictObject({
      type: z.literal('webhook'),
      url: webUrl.describe('Where the signed JSON is POSTed (kept as a secret: URLs often carry tokens)'),
      signingSecret: signingSecret.describe('Standard Webhooks secret the receiver verifies the signature with (a secret)'),
    }),
    z.strictObject({
      type: z.literal('smtp'),
      host: hostName,
      port: z.number().int().min(1).max(65535).default(587),
      security: z
        .enum(['tls', 'starttls', 'none'])
        .default('starttls')
        .describe('tls: TLS from the start (465); starttls: upgrade, required'),
      username: text(256).min(1).optional(),
      password: text(1024).min(1).optional().describe('A secret'),
      from: mailAddress,
      to: recipients,
    }),
    z.strictObject({
      type: z.literal('resend'),
      apiKey: text(256).min(1).describe('The Resend API key (a secret)'),
      from: mailAddress,
      to: recipients,
      baseUrl: webUrl.optional().describe('Another Resend API base URL (default https://api.resend.com)'),
    }),
  ])
  .meta({ id: 'NotificationChannelConfig' });
export type NotificationChannelConfig = z.infer<typeof notificationChannelConfig>;

export const createNotificationChannelBody = z
  .strictObject({ name, enabled: z.boolean().default(true), config: notificationChannelConfig })
  .meta({ id: 'CreateNotificationChannel' });
export type CreateNotificationChannelBody = z.infer<typeof createNotificationChannelBody>;

export const updateNotificationChannelBody = z
  .strictObject({
    name: name.optional(),
    enabled: z.boolean().optional(),
    config: notificationChannelConfig.optional().describe('Replaces the configuration and its secrets (the type may not change)'),
  })
  .meta({ id: 'UpdateNotificationChannel' });
export type UpdateNotificationChannelBody = z.infer<typeof updateNotificationChannelBody>;

export const deliveryAttempt = z
  .object({
    id: z.string().describe('A bigint, as a string'),
    channelId: uuid,
    alertId: uuid.nullable(),
    kind: z.enum(notificationKinds),
    level: z.number().int(),
    attempt: z.number().int(),
    status: z.enum(deliveryStatuses),
    responseCode: z.number().int().nullable(),
    detail: z.string().nullable(),
    durationMs: z.number().int(),
    occurredAt: z.string(),
  })
  .meta({ id: 'NotificationDelivery' });
export type DeliveryAttempt = z.infer<typeof deliveryAttempt>;

export const notificationChannel = z
  .object({
    id: uuid,
    name: z.string(),
    type: z.enum(notificationChannelTypes),
    /** Where it sends to: the webhook's host, or the mail recipients; never a secret. */
    target: z.string(),
    settings: z.record(z.string(), z.unknown()).describe('What may be shown: SMTP host, port, security, user name, sender, recipients'),
    enabled: z.boolean(),
    lastDelivery: deliveryAttempt.nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'NotificationChannel' });
export type NotificationChannel = z.infer<typeof notificationChannel>;
export const notificationChannelList = z.object({ items: z.array(notificationChannel) }).meta({ id: 'NotificationChannelList' });

export const deliveryList = z.object({ items: z.array(deliveryAttempt), total: z.number().int() }).meta({ id: 'NotificationDeliveryList' });
export const deliveryListQuery = pagination;

export const escalationLevel = z.strictObject({
  channelIds: z.array(uuid).min(1).max(20),
  delayMinutes: z.number().int().min(1).max(1440).describe('Wait this long for an acknowledgement before the next level'),
});
export const escalationPolicyBody = z
  .strictObject({ name, levels: z.array(escalationLevel).min(1).max(10) })
  .meta({ id: 'EscalationPolicyBody' });
export type EscalationPolicyBody = z.infer<typeof escalationPolicyBody>;
export const escalationPolicy = z
  .object({
    id: uuid,
    name: z.string(),
    levels: z.array(z.object({ channelIds: z.array(uuid), delayMinutes: z.number().int() })),
    ruleCount: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'EscalationPolicy' });
export const escalationPolicyList = z.object({ items: z.array(escalationPolicy) }).meta({ id: 'EscalationPolicyList' });

/** What a rule watches, with its parameters: every kind but the dynamic-group rule (see deviceRuleCondition). */
export const alertConditionOptions = [
  z.strictObject({
    type: z.literal('device_offline'),
    minutes: z.number().int().min(1).max(10_080).describe('Not heard from for longer than this'),
    quietInMaintenanceWindows: z
      .boolean()
      .default(false)
      .describe("Open no alert for a device inside one of its groups' maintenance windows (planned restarts)"),
  }),
  z.strictObject({
    type: z.literal('disk_free'),
    belowPercent: z.number().min(0.1).max(99).describe('A volume with less free space than this, in the last inventory'),
  }),
  z.strictObject({ type: z.literal('job_run_failed') }),
  z.strictObject({
    type: z.literal('deployment_failed'),
    includePaused: z.boolean().default(true).describe('Also when a rollout paused itself (auto-pause, health)'),
  }),
  z.strictObject({
    type: z.literal('agent_outdated'),
    minimumVersion: z
      .string()
      .max(64)
      .regex(/^\d+(\.\d+){0,3}$/, 'must be a version such as 1.4.0')
      .describe('Agents older than this version'),
  }),
] as const;
/**
 * "Alert for every device matching this rule": the rule is checked by validateRule (as a group's is), so the schema
 * takes it as given; the API documents it with its recursive `Rule` component (apps/api/src/lib/rule-openapi.ts).
 */
export const deviceRuleCondition = <R extends z.ZodType>(ruleSchema: R) =>
  z.strictObject({ type: z.literal('device_rule'), rule: ruleSchema.describe('A dynamic-group rule: every device matching it alerts') });
export const alertCondition = z.discriminatedUnion('type', [...alertConditionOptions, deviceRuleCondition(z.custom<Rule>())]);
export type AlertCondition = z.infer<typeof alertCondition>;

const alertRuleFields = {
  name,
  condition: alertCondition,
  groupIds: z.array(uuid).max(100).default([]).describe('Devices of these groups only (empty: every device)'),
  severity: z.enum(alertSeverities).default('warning'),
  cooldownMinutes: z.number().int().min(0).max(10_080).default(0).describe('A resolved alert does not open again for this long'),
  channelIds: z.array(uuid).max(20).default([]).describe('Notified when there is no escalation policy'),
  escalationPolicyId: uuid.nullable().default(null),
  enabled: z.boolean().default(true),
};
export const createAlertRuleBody = z.strictObject(alertRuleFields);
export type CreateAlertRuleBody = z.infer<typeof createAlertRuleBody>;
export const updateAlertRuleBody = z.strictObject({
  name: name.optional(),
  condition: alertCondition.optional(),
  groupIds: z.array(uuid).max(100).optional(),
  severity: z.enum(alertSeverities).optional(),
  cooldownMinutes: z.number().int().min(0).max(10_080).optional(),
  channelIds: z.array(uuid).max(20).optional(),
  escalationPolicyId: uuid.nullable().optional(),
  enabled: z.boolean().optional(),
});
export type UpdateAlertRuleBody = z.infer<typeof updateAlertRuleBody>;
export const alertRule = z
  .object({
    id: uuid,
    name: z.string(),
    condition: z.record(z.string(), z.unknown()).describe('As created (AlertCondition)'),
    groupIds: z.array(uuid),
    severity: z.enum(alertSeverities),
    cooldownMinutes: z.number().int(),
    channelIds: z.array(uuid),
    escalationPolicyId: uuid.nullable(),
    enabled: z.boolean(),
    openAlerts: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'AlertRule' });
export const alertRuleList = z.object({ items: z.array(alertRule) }).meta({ id: 'AlertRuleList' });

const MAX_SILENCE_DAYS = 90;
export const createSilenceBody = z
  .strictObject({
    ruleId: uuid.optional().describe('Alerts of this rule'),
    deviceId: uuid.optional().describe('Alerts about this device'),
    groupId: uuid.optional().describe("Alerts about this group's devices"),
    tag: tagName.optional().describe('Alerts about devices with this tag'),
    startsAt: z.iso.datetime({ offset: true }).optional().describe('Default: now'),
    endsAt: z.iso.datetime({ offset: true }).describe(`At most ${MAX_SILENCE_DAYS} days after it starts`),
    reason: text(2000).trim().min(1),
  })
  .refine((s) => s.ruleId || s.deviceId || s.groupId || s.tag, {
    message: 'give at least one of ruleId, deviceId, groupId, tag',
    path: ['ruleId'],
  })
  .refine(
    (s) => {
      const start = s.startsAt ? Date.parse(s.startsAt) : Date.now();
      const end = Date.parse(s.endsAt);
      return end > start && end > Date.now() && end - start <= MAX_SILENCE_DAYS * 86_400_000;
    },
    { message: `must be in the future, after startsAt, and at most ${MAX_SILENCE_DAYS} days after it`, path: ['endsAt'] },
  )
  .meta({ id: 'CreateAlertSilence' });
export type CreateSilenceBody = z.infer<typeof createSilenceBody>;
export const alertSilence = z
  .object({
    id: uuid,
    ruleId: uuid.nullable(),
    deviceId: uuid.nullable(),
    groupId: uuid.nullable(),
    tag: z.string().nullable(),
    startsAt: z.string(),
    endsAt: z.string(),
    reason: z.string(),
    createdBy: z.string(),
    createdAt: z.string(),
    active: z.boolean(),
  })
  .meta({ id: 'AlertSilence' });
export const alertSilenceList = z.object({ items: z.array(alertSilence) }).meta({ id: 'AlertSilenceList' });
export const alertSilenceListQuery = z.object({
  active: z.enum(['true', 'false']).optional().describe('true: in effect now; false: ended or not started yet'),
});

export const alertSummary = z
  .object({
    id: uuid,
    rule: z.object({ id: uuid, name: z.string(), type: z.enum(alertRuleTypes) }),
    subject: z.object({ type: z.enum(['device', 'job_run', 'deployment']), id: z.string(), label: z.string() }),
    state: z.enum(alertStates),
    severity: z.enum(alertSeverities),
    summary: z.string(),
    workflowId: z.string(),
    openedAt: z.string(),
    acknowledgedAt: z.string().nullable(),
    acknowledgedBy: z.string().nullable(),
    resolvedAt: z.string().nullable(),
    resolvedBy: z.string().nullable(),
    resolution: z.string().nullable(),
    silenced: z
      .object({ id: uuid, reason: z.string(), endsAt: z.string(), createdBy: z.string() })
      .nullable()
      .describe('The silence muting its notifications now, if any'),
  })
  .meta({ id: 'AlertSummary' });
export type AlertSummary = z.infer<typeof alertSummary>;
export const alertList = z.object({ items: z.array(alertSummary), total: z.number().int() }).meta({ id: 'AlertList' });
export const alertListQuery = pagination.extend({
  state: z.enum(alertStates).optional().describe('Only alerts in this state'),
  active: z.enum(['true', 'false']).optional().describe('true: open or acknowledged'),
  severity: z.enum(alertSeverities).optional().describe('Only alerts of this severity'),
  ruleId: uuid.optional().describe('Only alerts of this rule'),
  deviceId: uuid.optional().describe('Only alerts about this device'),
});
export const alertEvent = z
  .object({
    id: z.string(),
    type: z.string(),
    message: z.string(),
    actor: z.string().nullable(),
    details: z.unknown().nullable(),
    occurredAt: z.string(),
  })
  .meta({ id: 'AlertEvent' });
export const alertDetail = alertSummary
  .extend({
    timeline: z.array(alertEvent),
    deliveries: z.array(deliveryAttempt),
    temporalUrl: z.string().nullable().describe('Its alertLifecycle workflow in the Temporal UI (null when TEMPORAL_UI_URL is empty)'),
  })
  .meta({ id: 'AlertDetail' });

export const acknowledgeAlertBody = z.strictObject({ comment: text(2000).optional() }).meta({ id: 'AcknowledgeAlert' });
export const resolveAlertBody = z.strictObject({ reason: text(2000).optional() }).meta({ id: 'ResolveAlert' });
export const bulkAlertBody = z
  .strictObject({ ids: z.array(uuid).min(1).max(500), comment: text(2000).optional() })
  .meta({ id: 'BulkAlertAction' });
export const bulkAlertResult = z
  .object({ done: z.array(uuid), refused: z.array(z.object({ id: uuid, reason: z.string() })) })
  .meta({ id: 'BulkAlertResult' });

export const testDeliveryResult = z
  .object({ status: z.enum(deliveryStatuses), responseCode: z.number().int().nullable(), detail: z.string().nullable() })
  .meta({ id: 'TestDeliveryResult' });
