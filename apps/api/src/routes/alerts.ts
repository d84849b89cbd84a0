/**
 * Alerting (services/alerts.ts, ADR 25). Everyone signed in reads alerts and rules; operators acknowledge and
 * resolve alerts; admins manage rules, escalation policies and channels (channels are admin-only, reading
 * included: their targets and delivery log say where the organisation's notifications go).
 */
import { createRoute, z } from '@hono/zod-openapi';
import {
  acknowledgeAlertBody,
  alertDetail,
  alertList,
  alertListQuery,
  alertRule,
  alertRuleList,
  alertSilence,
  alertSilenceList,
  alertSilenceListQuery,
  createSilenceBody,
  bulkAlertBody,
  bulkAlertResult,
  createNotificationChannelBody,
  deliveryList,
  deliveryListQuery,
  escalationPolicy,
  escalationPolicyBody,
  escalationPolicyList,
  notificationChannel,
  notificationChannelList,
  resolveAlertBody,
  testDeliveryResult,
  type CreateAlertRuleBody,
  type UpdateAlertRuleBody,
  updateNotificationChannelBody,
} from '@opsconductor/contracts/alerts-api';
import { uuid } from '@opsconductor/contracts/api';
import { requestOrigin } from '../lib/audit.ts';
import { createAlertRuleRequest, updateAlertRuleRequest } from '../lib/rule-openapi.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { documentedProblem, problemResponses } from '../lib/problem.ts';
import { body, createRouter, json } from '../lib/router.ts';
import {
  actOnAlert,
  actOnAlerts,
  createChannel,
  createRule,
  createSilence,
  expireSilence,
  listSilences,
  deleteChannel,
  deletePolicy,
  deleteRule,
  getAlert,
  getChannel,
  getPolicy,
  getRule,
  listAlerts,
  listChannels,
  listDeliveries,
  listPolicies,
  listRules,
  savePolicy,
  testChannel,
  updateChannel,
  updateRule,
} from '../services/alerts.ts';

const security = [{ bearerAuth: [] }];
const read = [authenticate];
const operator = [authenticate, requireRole('operator')];
const admin = [authenticate, requireRole('admin')];
const alertTags = ['alerts'];
const ruleTags = ['alert rules'];
const channelTags = ['notification channels'];
const policyTags = ['escalation policies'];
const silenceTags = ['alert silences'];
const idParam = (what: string) => z.object({ id: uuid.describe(`The ${what}'s ID`) });
const nameTaken = { 409: documentedProblem('The name is taken (`name_taken`)') };
const secretNote =
  'The configuration (webhook URL, signing secret, SMTP password, API key) is kept in the secret store, encrypted, and never returned by any request. Webhook destinations that resolve to private, loopback or link-local addresses are refused when sending unless NOTIFICATION_ALLOWED_HOSTS lists them.';

const routes = {
  listChannels: createRoute({
    method: 'get',
    path: '/notification-channels',
    operationId: 'listNotificationChannels',
    tags: channelTags,
    summary: 'List notification channels (admin)',
    security,
    middleware: admin,
    responses: { 200: json(notificationChannelList, 'Channels (no secrets)'), ...problemResponses },
  }),
  getChannel: createRoute({
    method: 'get',
    path: '/notification-channels/{id}',
    operationId: 'getNotificationChannel',
    tags: channelTags,
    summary: 'One notification channel (admin)',
    security,
    middleware: admin,
    request: { params: idParam('channel') },
    responses: { 200: json(notificationChannel, 'The channel (no secrets)'), ...problemResponses },
  }),
  createChannel: createRoute({
    method: 'post',
    path: '/notification-channels',
    operationId: 'createNotificationChannel',
    tags: channelTags,
    summary: 'Add a notification channel: Slack, Teams, Discord, a signed webhook, SMTP or Resend (admin)',
    description: secretNote,
    security,
    middleware: admin,
    request: body(createNotificationChannelBody),
    responses: { 201: json(notificationChannel, 'Added'), ...nameTaken, ...problemResponses },
  }),
  updateChannel: createRoute({
    method: 'patch',
    path: '/notification-channels/{id}',
    operationId: 'updateNotificationChannel',
    tags: channelTags,
    summary: 'Rename, turn on or off, or reconfigure a channel (admin)',
    description: `Changes what is given; \`config\` replaces the whole configuration and its secrets. ${secretNote}`,
    security,
    middleware: admin,
    request: { params: idParam('channel'), ...body(updateNotificationChannelBody) },
    responses: {
      200: json(notificationChannel, 'Changed'),
      409: documentedProblem('The name is taken (`name_taken`), or `config` is of another type (`channel_type_fixed`)'),
      ...problemResponses,
    },
  }),
  deleteChannel: createRoute({
    method: 'delete',
    path: '/notification-channels/{id}',
    operationId: 'deleteNotificationChannel',
    tags: channelTags,
    summary: 'Delete a channel, its secrets and its delivery log (admin); rules and policies naming it keep their other channels',
    security,
    middleware: admin,
    request: { params: idParam('channel') },
    responses: { 204: { description: 'Deleted' }, ...problemResponses },
  }),
  testChannel: createRoute({
    method: 'post',
    path: '/notification-channels/{id}/test',
    operationId: 'testNotificationChannel',
    tags: channelTags,
    summary: 'Send a sample message now (admin): one attempt, logged in the delivery log',
    security,
    middleware: admin,
    request: { params: idParam('channel') },
    responses: { 200: json(testDeliveryResult, 'What the destination answered'), ...problemResponses },
  }),
  listDeliveries: createRoute({
    method: 'get',
    path: '/notification-channels/{id}/deliveries',
    operationId: 'listNotificationDeliveries',
    tags: channelTags,
    summary: "A channel's delivery log, newest first: every attempt with its status and response code (admin)",
    security,
    middleware: admin,
    request: { params: idParam('channel'), query: deliveryListQuery },
    responses: { 200: json(deliveryList, 'Attempts'), ...problemResponses },
  }),
  listPolicies: createRoute({
    method: 'get',
    path: '/escalation-policies',
    operationId: 'listEscalationPolicies',
    tags: policyTags,
    summary: 'List escalation policies',
    security,
    middleware: read,
    responses: { 200: json(escalationPolicyList, 'Policies'), ...problemResponses },
  }),
  getPolicy: createRoute({
    method: 'get',
    path: '/escalation-policies/{id}',
    operationId: 'getEscalationPolicy',
    tags: policyTags,
    summary: 'One escalation policy',
    security,
    middleware: read,
    request: { params: idParam('policy') },
    responses: { 200: json(escalationPolicy, 'The policy'), ...problemResponses },
  }),
  createPolicy: createRoute({
    method: 'post',
    path: '/escalation-policies',
    operationId: 'createEscalationPolicy',
    tags: policyTags,
    summary: 'Create an escalation policy (admin): levels notified in turn while nobody acknowledges',
    security,
    middleware: admin,
    request: body(escalationPolicyBody),
    responses: { 201: json(escalationPolicy, 'Created'), ...nameTaken, ...problemResponses },
  }),
  updatePolicy: createRoute({
    method: 'put',
    path: '/escalation-policies/{id}',
    operationId: 'updateEscalationPolicy',
    tags: policyTags,
    summary: 'Replace an escalation policy (admin); alerts open now keep the levels they started with',
    security,
    middleware: admin,
    request: { params: idParam('policy'), ...body(escalationPolicyBody) },
    responses: { 200: json(escalationPolicy, 'Replaced'), ...nameTaken, ...problemResponses },
  }),
  deletePolicy: createRoute({
    method: 'delete',
    path: '/escalation-policies/{id}',
    operationId: 'deleteEscalationPolicy',
    tags: policyTags,
    summary: 'Delete an escalation policy no rule uses (admin)',
    security,
    middleware: admin,
    request: { params: idParam('policy') },
    responses: {
      204: { description: 'Deleted' },
      409: documentedProblem('Rules use it (`escalation_policy_in_use`)'),
      ...problemResponses,
    },
  }),
  listRules: createRoute({
    method: 'get',
    path: '/alert-rules',
    operationId: 'listAlertRules',
    tags: ruleTags,
    summary: 'List alert rules',
    security,
    middleware: read,
    responses: { 200: json(alertRuleList, 'Rules'), ...problemResponses },
  }),
  getRule: createRoute({
    method: 'get',
    path: '/alert-rules/{id}',
    operationId: 'getAlertRule',
    tags: ruleTags,
    summary: 'One alert rule',
    security,
    middleware: read,
    request: { params: idParam('rule') },
    responses: { 200: json(alertRule, 'The rule'), ...problemResponses },
  }),
  createRule: createRoute({
    method: 'post',
    path: '/alert-rules',
    operationId: 'createAlertRule',
    tags: ruleTags,
    summary: 'Create an alert rule (admin)',
    description:
      'Device offline, disk free, agent outdated and dynamic-group rules are evaluated every 30 seconds (the `alert-evaluation` schedule); job-run and deployment rules fire on their events. One alert per rule and subject while it is not resolved.',
    security,
    middleware: admin,
    request: body(createAlertRuleRequest),
    responses: { 201: json(alertRule, 'Created'), ...nameTaken, ...problemResponses },
  }),
  updateRule: createRoute({
    method: 'patch',
    path: '/alert-rules/{id}',
    operationId: 'updateAlertRule',
    tags: ruleTags,
    summary: 'Change an alert rule (admin)',
    security,
    middleware: admin,
    request: { params: idParam('rule'), ...body(updateAlertRuleRequest) },
    responses: { 200: json(alertRule, 'Changed'), ...nameTaken, ...problemResponses },
  }),
  deleteRule: createRoute({
    method: 'delete',
    path: '/alert-rules/{id}',
    operationId: 'deleteAlertRule',
    tags: ruleTags,
    summary: 'Delete an alert rule and its alerts (admin); their workflows are ended',
    security,
    middleware: admin,
    request: { params: idParam('rule') },
    responses: { 204: { description: 'Deleted' }, ...problemResponses },
  }),
  listSilences: createRoute({
    method: 'get',
    path: '/alert-silences',
    operationId: 'listAlertSilences',
    tags: silenceTags,
    summary: 'List silences, the latest ending first',
    security,
    middleware: read,
    request: { query: alertSilenceListQuery },
    responses: { 200: json(alertSilenceList, 'Silences'), ...problemResponses },
  }),
  createSilence: createRoute({
    method: 'post',
    path: '/alert-silences',
    operationId: 'createAlertSilence',
    tags: silenceTags,
    summary: 'Silence alerts (operator): those matching every matcher given are still opened and shown, but not notified',
    security,
    middleware: operator,
    request: body(createSilenceBody),
    responses: { 201: json(alertSilence, 'Created'), ...problemResponses },
  }),
  expireSilence: createRoute({
    method: 'delete',
    path: '/alert-silences/{id}',
    operationId: 'expireAlertSilence',
    tags: silenceTags,
    summary: 'End a silence now (operator); one that has not started is deleted',
    security,
    middleware: operator,
    request: { params: idParam('silence') },
    responses: { 204: { description: 'Ended' }, ...problemResponses },
  }),
  listAlerts: createRoute({
    method: 'get',
    path: '/alerts',
    operationId: 'listAlerts',
    tags: alertTags,
    summary: 'List alerts, newest first',
    security,
    middleware: read,
    request: { query: alertListQuery },
    responses: { 200: json(alertList, 'Alerts'), ...problemResponses },
  }),
  getAlert: createRoute({
    method: 'get',
    path: '/alerts/{id}',
    operationId: 'getAlert',
    tags: alertTags,
    summary: 'One alert with its timeline and delivery attempts',
    security,
    middleware: read,
    request: { params: idParam('alert') },
    responses: { 200: json(alertDetail, 'The alert'), ...problemResponses },
  }),
  acknowledgeAlert: createRoute({
    method: 'post',
    path: '/alerts/{id}/acknowledge',
    operationId: 'acknowledgeAlert',
    tags: alertTags,
    summary: 'Take ownership of an alert (operator): it stops escalating',
    security,
    middleware: operator,
    request: { params: idParam('alert'), ...body(acknowledgeAlertBody) },
    responses: {
      200: json(alertDetail, 'Acknowledged'),
      409: documentedProblem('Acknowledged or resolved already (`alert_refused`)'),
      ...problemResponses,
    },
  }),
  resolveAlert: createRoute({
    method: 'post',
    path: '/alerts/{id}/resolve',
    operationId: 'resolveAlert',
    tags: alertTags,
    summary: 'Resolve an alert (operator): its channels get a resolved message',
    security,
    middleware: operator,
    request: { params: idParam('alert'), ...body(resolveAlertBody) },
    responses: { 200: json(alertDetail, 'Resolved'), 409: documentedProblem('Resolved already (`alert_refused`)'), ...problemResponses },
  }),
  acknowledgeAlerts: createRoute({
    method: 'post',
    path: '/alerts/acknowledge',
    operationId: 'acknowledgeAlerts',
    tags: alertTags,
    summary: 'Acknowledge several alerts (operator); those that cannot be are listed with the reason',
    security,
    middleware: operator,
    request: body(bulkAlertBody),
    responses: { 200: json(bulkAlertResult, 'What was done'), ...problemResponses },
  }),
  resolveAlerts: createRoute({
    method: 'post',
    path: '/alerts/resolve',
    operationId: 'resolveAlerts',
    tags: alertTags,
    summary: 'Resolve several alerts (operator); those that cannot be are listed with the reason',
    security,
    middleware: operator,
    request: body(bulkAlertBody),
    responses: { 200: json(bulkAlertResult, 'What was done'), ...problemResponses },
  }),
};

export const alertRoutes = createRouter()
  .openapi(routes.listChannels, async (c) => c.json({ items: await listChannels(c.var.deps) }, 200))
  .openapi(routes.getChannel, async (c) => c.json(await getChannel(c.var.deps, c.req.valid('param').id), 200))
  .openapi(routes.createChannel, async (c) =>
    c.json(await createChannel(c.var.deps, c.var.user, requestOrigin(c), c.req.valid('json')), 201),
  )
  .openapi(routes.updateChannel, async (c) =>
    c.json(await updateChannel(c.var.deps, requestOrigin(c), c.req.valid('param').id, c.req.valid('json')), 200),
  )
  .openapi(routes.deleteChannel, async (c) => {
    await deleteChannel(c.var.deps, requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(routes.testChannel, async (c) => c.json(await testChannel(c.var.deps, requestOrigin(c), c.req.valid('param').id), 200))
  .openapi(routes.listDeliveries, async (c) => {
    const q = c.req.valid('query');
    return c.json(await listDeliveries(c.var.deps, c.req.valid('param').id, q.page, q.pageSize), 200);
  })
  .openapi(routes.listPolicies, async (c) => c.json({ items: await listPolicies(c.var.deps) }, 200))
  .openapi(routes.getPolicy, async (c) => c.json(await getPolicy(c.var.deps, c.req.valid('param').id), 200))
  .openapi(routes.createPolicy, async (c) => c.json(await savePolicy(c.var.deps, requestOrigin(c), c.req.valid('json')), 201))
  .openapi(routes.updatePolicy, async (c) =>
    c.json(await savePolicy(c.var.deps, requestOrigin(c), c.req.valid('json'), c.req.valid('param').id), 200),
  )
  .openapi(routes.deletePolicy, async (c) => {
    await deletePolicy(c.var.deps, requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(routes.listRules, async (c) => c.json({ items: await listRules(c.var.deps) }, 200))
  .openapi(routes.getRule, async (c) => c.json(await getRule(c.var.deps, c.req.valid('param').id), 200))
  // A condition's dynamic-group rule arrives as JSON; the service checks it with validateRule (400 rule_invalid).
  .openapi(routes.createRule, async (c) =>
    c.json(await createRule(c.var.deps, c.var.user, requestOrigin(c), c.req.valid('json') as CreateAlertRuleBody), 201),
  )
  .openapi(routes.updateRule, async (c) =>
    c.json(await updateRule(c.var.deps, requestOrigin(c), c.req.valid('param').id, c.req.valid('json') as UpdateAlertRuleBody), 200),
  )
  .openapi(routes.deleteRule, async (c) => {
    await deleteRule(c.var.deps, requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(routes.listSilences, async (c) => c.json({ items: await listSilences(c.var.deps, c.req.valid('query').active) }, 200))
  .openapi(routes.createSilence, async (c) => c.json(await createSilence(c.var.deps, requestOrigin(c), c.req.valid('json')), 201))
  .openapi(routes.expireSilence, async (c) => {
    await expireSilence(c.var.deps, requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  })
  .openapi(routes.listAlerts, async (c) => {
    const { page, pageSize, ...filters } = c.req.valid('query');
    return c.json(await listAlerts(c.var.deps, filters, page, pageSize), 200);
  })
  .openapi(routes.getAlert, async (c) => c.json(await getAlert(c.var.deps, c.req.valid('param').id), 200))
  .openapi(routes.acknowledgeAlert, async (c) =>
    c.json(await actOnAlert(c.var.deps, requestOrigin(c), c.req.valid('param').id, 'acknowledge', c.req.valid('json').comment), 200),
  )
  .openapi(routes.resolveAlert, async (c) =>
    c.json(await actOnAlert(c.var.deps, requestOrigin(c), c.req.valid('param').id, 'resolve', c.req.valid('json').reason), 200),
  )
  .openapi(routes.acknowledgeAlerts, async (c) => {
    const b = c.req.valid('json');
    return c.json(await actOnAlerts(c.var.deps, requestOrigin(c), b.ids, 'acknowledge', b.comment), 200);
  })
  .openapi(routes.resolveAlerts, async (c) => {
    const b = c.req.valid('json');
    return c.json(await actOnAlerts(c.var.deps, requestOrigin(c), b.ids, 'resolve', b.comment), 200);
  });
