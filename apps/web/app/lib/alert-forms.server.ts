/**
 * The posts of the alerting admin pages: a notification channel's configuration read from its form (secrets are
 * posted, sent to the API and never answered back), and API refusals mapped to the fields they name.
 */
import { randomUUID } from 'node:crypto';
import { data, type LoaderFunctionArgs } from '@remix-run/node';
import { uuid } from '@opsconductor/contracts/api';
import { ApiError, type RouteErrorData, type Schema } from './api.server';

export const channelTypes = ['slack', 'teams', 'discord', 'webhook', 'smtp', 'resend'] as const;
export type ChannelType = (typeof channelTypes)[number];

/** An answer of a form: what went wrong, where; `answer` is new each time (the form starts again, secrets empty). */
export type FormAnswer = {
  intent: string;
  ok: boolean;
  formError?: string;
  issues?: Record<string, string>;
  code?: string;
  answer: string;
};

/** The `:id` of the URL, or a 404 page. */
export function idParam(params: LoaderFunctionArgs['params'], what: string): string {
  const parsed = uuid.safeParse(params.id);
  if (!parsed.success) throw data<RouteErrorData>({ title: `${what} not found` }, { status: 404 });
  return parsed.data;
}

/** The form field an API issue's path belongs to: `body.config.webhookUrl` → `webhookUrl`, `levels.0.delayMinutes` → `levels.0.delayMinutes`. */
export function issueField(path: string): string {
  const parts = path
    .replace(/^(body|query|params)[./]/, '')
    .split(/[./[\]]+/)
    .filter(Boolean);
  if (parts[0] === 'config' && parts[1]) return parts[1];
  if (parts[0] === 'condition' && parts[1] && parts[1] !== 'rule') return parts[1];
  if (parts[0] === 'levels' && parts[1] !== undefined && parts[2]) return `levels.${parts[1]}.${parts[2]}`;
  return parts[0] || '_form';
}

export function refusal(error: unknown, intent: string) {
  // 401, 403, 404 and 5xx became a redirect or an error page in requireApi's client already.
  if (!(error instanceof ApiError)) throw error;
  const issues: Record<string, string> = {};
  for (const e of error.errors) {
    const f = issueField(e.path);
    issues[f] = issues[f] ? `${issues[f]}; ${e.message}` : e.message;
  }
  const formError = Object.keys(issues).length ? 'Check the highlighted fields.' : (error.detail ?? error.title);
  return data<FormAnswer>({ intent, ok: false, formError, issues, code: error.code, answer: randomUUID() }, { status: error.status });
}

export const invalid = (intent: string, issues: Record<string, string>) =>
  data<FormAnswer>({ intent, ok: false, formError: 'Check the highlighted fields.', issues, answer: randomUUID() }, { status: 400 });

const str = (form: FormData, name: string) => {
  const v = form.get(name);
  return typeof v === 'string' ? v.trim() : '';
};
const list = (text: string) =>
  text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/** The configuration the form describes (the API validates it; only the obvious is checked here). */
export function readChannelConfig(
  form: FormData,
  type: string,
): { ok: true; config: Schema<'NotificationChannelConfig'> } | { ok: false; issues: Record<string, string> } {
  const issues: Record<string, string> = {};
  const need = (name: string, label: string) => {
    const v = str(form, name);
    if (!v) issues[name] = `Enter ${label}.`;
    return v;
  };
  let config: Schema<'NotificationChannelConfig'> | null = null;
  switch (type) {
    case 'slack':
    case 'teams':
    case 'discord':
      config = { type, webhookUrl: need('webhookUrl', 'the webhook URL') };
      break;
    case 'webhook':
      config = { type, url: need('url', 'the URL'), signingSecret: need('signingSecret', 'the signing secret') };
      break;
    case 'smtp': {
      const port = Number(str(form, 'port') || '587');
      if (!Number.isInteger(port) || port < 1 || port > 65535) issues.port = 'A port from 1 to 65535.';
      const security = str(form, 'security') || 'starttls';
      const username = str(form, 'username');
      const password = typeof form.get('password') === 'string' ? String(form.get('password')) : '';
      config = {
        type,
        host: need('host', 'the host'),
        port,
        security: security as 'tls' | 'starttls' | 'none',
        ...(username ? { username } : {}),
        ...(password ? { password } : {}),
        from: need('from', 'the sender'),
        to: list(need('to', 'one or more recipients')),
      };
      break;
    }
    case 'resend': {
      const baseUrl = str(form, 'baseUrl');
      config = {
        type,
        apiKey: need('apiKey', 'the API key'),
        from: need('from', 'the sender'),
        to: list(need('to', 'one or more recipients')),
        ...(baseUrl ? { baseUrl } : {}),
      };
      break;
    }
    default:
      issues.type = 'Choose a channel type.';
  }
  if (Object.keys(issues).length || !config) return { ok: false, issues };
  return { ok: true, config };
}

/** The policy form's name and levels (`levels.<i>.channelIds`, `levels.<i>.delayMinutes`). */
export function readPolicyForm(
  form: FormData,
): { ok: true; body: Schema<'EscalationPolicyBody'> } | { ok: false; issues: Record<string, string> } {
  const issues: Record<string, string> = {};
  const name = str(form, 'name');
  if (!name) issues.name = 'Enter a name.';
  const count = Math.min(10, Math.max(0, Number(str(form, 'levelCount')) || 0));
  const levels = Array.from({ length: count }, (_, i) => {
    const channelIds = form.getAll(`levels.${i}.channelIds`).filter((v): v is string => typeof v === 'string' && uuid.safeParse(v).success);
    const delayMinutes = Number(str(form, `levels.${i}.delayMinutes`));
    if (channelIds.length === 0) issues[`levels.${i}.channelIds`] = 'Choose at least one channel.';
    if (!Number.isInteger(delayMinutes) || delayMinutes < 1 || delayMinutes > 1440)
      issues[`levels.${i}.delayMinutes`] = 'Whole minutes from 1 to 1440.';
    return { channelIds, delayMinutes };
  });
  if (levels.length === 0) issues.levels = 'Add at least one level.';
  if (Object.keys(issues).length) return { ok: false, issues };
  return { ok: true, body: { name, levels } };
}
