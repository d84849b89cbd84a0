/** The alert rule form: its choices (groups, channels, policies, the rule catalog), read from the post, and saved. */
import { redirect } from '@remix-run/node';
import { z } from 'zod';
import { uuid } from '@opsconductor/contracts/api';
import type { Rule } from '@opsconductor/contracts/rules';
import type { ApiClient, Schema } from './api.server';
import { loadRuleCatalog } from './rule-catalog.server';
import { invalid, refusal } from './alert-forms.server';

/** Channels are admin-only to read: others get none (they only read the rule). */
export async function ruleFormChoices(api: ApiClient, admin: boolean) {
  const [groups, channels, policies, catalog] = await Promise.all([
    api.get('/groups'),
    admin ? api.get('/notification-channels') : Promise.resolve({ items: [] }),
    api.get('/escalation-policies'),
    admin ? loadRuleCatalog(api) : Promise.resolve(null),
  ]);
  return {
    groups: groups.items.map((g) => ({ id: g.id, name: g.name })),
    channels: channels.items.map((c) => ({ id: c.id, name: c.name, type: c.type })),
    policies: policies.items.map((p) => ({ id: p.id, name: p.name })),
    catalog,
  };
}

const ids = (form: FormData, name: string) => z.array(uuid).catch([]).parse(form.getAll(name));

/** The rule the form describes, or the issues at its fields. */
export function readRuleForm(
  form: FormData,
): { ok: true; body: Schema<'CreateAlertRule'> } | { ok: false; issues: Record<string, string> } {
  const issues: Record<string, string> = {};
  const str = (n: string) => String(form.get(n) ?? '').trim();
  const num = (n: string, label: string) => {
    const v = Number(str(n));
    if (str(n) === '' || !Number.isFinite(v)) issues[n] = `Enter ${label}.`;
    return v;
  };
  const name = str('name');
  if (!name) issues.name = 'Enter a name.';
  const type = str('type');
  let condition: Schema<'CreateAlertRule'>['condition'] | null = null;
  switch (type) {
    case 'device_offline':
      condition = { type, minutes: num('minutes', 'the minutes') };
      break;
    case 'disk_free':
      condition = { type, belowPercent: num('belowPercent', 'a percentage') };
      break;
    case 'job_run_failed':
      condition = { type };
      break;
    case 'deployment_failed':
      condition = { type, includePaused: form.get('includePaused') === 'on' };
      break;
    case 'agent_outdated':
      condition = { type, minimumVersion: str('minimumVersion') };
      if (!condition.minimumVersion) issues.minimumVersion = 'Enter a version such as 1.4.0.';
      break;
    case 'device_rule': {
      try {
        const rule: unknown = JSON.parse(str('rule'));
        if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) throw new Error('not an object');
        condition = { type, rule: rule as Rule } as Schema<'CreateAlertRule'>['condition'];
      } catch {
        issues.rule = 'Complete the rule: every condition needs a field, an operator and a value.';
      }
      break;
    }
    default:
      issues.type = 'Choose what the rule watches.';
  }
  const cooldownMinutes = str('cooldownMinutes') === '' ? 0 : num('cooldownMinutes', 'the cooldown in minutes');
  const severity = z.enum(['info', 'warning', 'critical']).catch('warning').parse(str('severity'));
  const policy = str('escalationPolicyId');
  if (Object.keys(issues).length || !condition) return { ok: false, issues };
  return {
    ok: true,
    body: {
      name,
      condition,
      groupIds: ids(form, 'groupIds'),
      severity,
      cooldownMinutes,
      channelIds: ids(form, 'channelIds'),
      escalationPolicyId: uuid.safeParse(policy).success ? policy : null,
      enabled: form.get('enabled') === 'on',
    },
  };
}

/** Creates (no `id`) or replaces the rule the form describes; back to its page, or the form with the issues. */
export async function saveRule(api: ApiClient, form: FormData, id?: string) {
  const parsed = readRuleForm(form);
  if (!parsed.ok) return invalid('save', parsed.issues);
  try {
    const rule = id
      ? await api.patch('/alert-rules/{id}', { params: { path: { id } }, body: parsed.body })
      : await api.post('/alert-rules', { body: parsed.body });
    return redirect(`/alerts/rules/${rule.id}?saved`);
  } catch (error) {
    return refusal(error, 'save');
  }
}
