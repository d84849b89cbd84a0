/**
 * The posts of the agentless pages (admins): a target created or changed (only what differs from it now), its pinned
 * host key forgotten, it removed; a credential created, its name/description/username changed, its secret rotated,
 * it deleted. Refusals of the API come back as form data with the issues at their fields; a secret is never part of
 * an answer.
 */
import { randomUUID } from 'node:crypto';
import { data, redirect, type LoaderFunctionArgs } from '@remix-run/node';
import { uuid } from '@opsconductor/contracts/api';
import { ApiError, type ApiClient, type RouteErrorData } from './api.server';
import {
  createTargetBody,
  credentialFieldIssues,
  fieldIssues,
  readCredentialFields,
  readCredentialSecret,
  readTargetForm,
  targetChanges,
  type AgentlessTarget,
  type CredentialFormValues,
  type TargetFormValues,
} from './agentless';

/** An answer of a form: what went wrong, where, and the posted values to show again (never a secret). */
export type FormAnswer<Values> = {
  intent: string;
  formError?: string;
  issues?: Record<string, string>;
  values?: Values;
  /** `credential_in_use` and the like: the API's reason, for the confirm that asked. */
  code?: string;
  /** New for every answer: the form starts again from it, its secret fields empty. */
  answer: string;
};

/** The `:id` of the URL, or a 404 page. */
export function idParam(params: LoaderFunctionArgs['params'], what: string): string {
  const parsed = uuid.safeParse(params.id);
  if (!parsed.success) throw data<RouteErrorData>({ title: `${what} not found` }, { status: 404 });
  return parsed.data;
}

/** The credentials a target may log in with, for the picker (admins only: the API refuses others). */
export async function credentialChoices(api: ApiClient) {
  const { items } = await api.get('/agentless-credentials');
  return items.map((c) => ({ id: c.id, name: c.name, username: c.username, kind: c.kind })).sort((a, b) => a.name.localeCompare(b.name));
}

/** What an API refusal says, at the fields it names; the form-level message sums them up. */
function refusal<Values>(error: unknown, intent: string, values?: Values) {
  // 401, 403, 404 and 5xx became a redirect or an error page in requireApi's client already.
  if (!(error instanceof ApiError)) throw error;
  const issues = fieldIssues(error.errors);
  const formError = issues._form ?? error.detail ?? error.title;
  delete issues._form;
  return data<FormAnswer<Values>>(
    { intent, formError, issues, code: error.code, answer: randomUUID(), ...(values ? { values } : {}) },
    { status: error.status },
  );
}

const invalid = <Values>(intent: string, issues: Record<string, string>, values?: Values) =>
  data<FormAnswer<Values>>(
    { intent, formError: 'Check the highlighted fields.', issues, answer: randomUUID(), ...(values ? { values } : {}) },
    { status: 400 },
  );

// ---- targets -----------------------------------------------------------------------------------------------------

export async function createTargetAction(api: ApiClient, form: FormData) {
  const values = readTargetForm((n) => form.get(n));
  const body = createTargetBody(values);
  if (!body.ok) return invalid<TargetFormValues>('save', body.issues, values);
  try {
    const target = await api.post('/agentless-targets', { body: body.body });
    return redirect(`/agentless/targets?created=${encodeURIComponent(target.id)}`);
  } catch (error) {
    return refusal(error, 'save', values);
  }
}

/** The edit page's posts: `save` (the form), `forget-host-key`, `remove`. */
export async function targetAction(api: ApiClient, id: string, form: FormData) {
  const intent = String(form.get('intent') ?? 'save');
  try {
    if (intent === 'forget-host-key') {
      await api.patch('/agentless-targets/{id}', { params: { path: { id } }, body: { hostKey: null } });
      return redirect(`/agentless/targets/${id}/edit?forgotten`);
    }
    if (intent === 'remove') {
      const target = await api.get('/agentless-targets/{id}', { params: { path: { id } } });
      await api.delete('/agentless-targets/{id}', { params: { path: { id } } });
      return redirect(`/agentless/targets?removed=${encodeURIComponent(target.name)}`);
    }
  } catch (error) {
    return refusal(error, intent);
  }
  const values = readTargetForm((n) => form.get(n));
  // Compared with the target as it is now, not as the form showed it: what changed meanwhile stays.
  const target: AgentlessTarget = await api.get('/agentless-targets/{id}', { params: { path: { id } } });
  const body = targetChanges(target, { ...values, protocol: target.protocol });
  if (!body.ok) return invalid<TargetFormValues>('save', body.issues, values);
  if (Object.keys(body.body).length === 0) return redirect(`/agentless/targets/${id}/edit?unchanged`);
  try {
    await api.patch('/agentless-targets/{id}', { params: { path: { id } }, body: body.body });
    return redirect(`/agentless/targets/${id}/edit?saved`);
  } catch (error) {
    return refusal(error, 'save', values);
  }
}

// ---- credentials ---------------------------------------------------------------------------------------------------

export async function createCredentialAction(api: ApiClient, form: FormData) {
  const get = (n: string) => form.get(n);
  const values = readCredentialFields(get);
  const issues = credentialFieldIssues(values);
  const secret = readCredentialSecret(get, values.kind);
  if (!secret.ok) Object.assign(issues, secret.issues);
  if (!secret.ok || Object.keys(issues).length) return invalid<CredentialFormValues>('create', issues, values);
  try {
    const created = await api.post('/agentless-credentials', {
      body: { name: values.name.trim(), description: values.description, username: values.username.trim(), secret: secret.body },
    });
    return redirect(`/agentless/credentials/${created.id}?created`);
  } catch (error) {
    return refusal(error, 'create', values);
  }
}

/** The credential page's posts: `save` (name, description, username), `rotate` (the secret), `delete`. */
export async function credentialAction(api: ApiClient, id: string, form: FormData) {
  const get = (n: string) => form.get(n);
  const intent = String(form.get('intent') ?? 'save');
  try {
    if (intent === 'delete') {
      const credential = await api.get('/agentless-credentials/{id}', { params: { path: { id } } });
      await api.delete('/agentless-credentials/{id}', { params: { path: { id } } });
      return redirect(`/agentless/credentials?deleted=${encodeURIComponent(credential.name)}`);
    }
    if (intent === 'rotate') {
      const kind = get('kind') === 'private_key' ? 'private_key' : 'password';
      const secret = readCredentialSecret(get, kind);
      if (!secret.ok) return invalid('rotate', secret.issues);
      await api.patch('/agentless-credentials/{id}', { params: { path: { id } }, body: { secret: secret.body } });
      return redirect(`/agentless/credentials/${id}?rotated`);
    }
  } catch (error) {
    return refusal(error, intent);
  }
  const values = readCredentialFields(get);
  const issues = credentialFieldIssues(values);
  if (Object.keys(issues).length) return invalid<CredentialFormValues>('save', issues, values);
  try {
    await api.patch('/agentless-credentials/{id}', {
      params: { path: { id } },
      body: { name: values.name.trim(), description: values.description, username: values.username.trim() },
    });
    return redirect(`/agentless/credentials/${id}?saved`);
  } catch (error) {
    return refusal(error, 'save', values);
  }
}
