/**
 * Acknowledging and resolving alerts, one (the alert page) or many (the list's selection). The API refuses an alert
 * that moved on (409 `alert_refused` with its reason); the refusals come back to the page as they are.
 */
import { data } from '@remix-run/node';
import { z } from 'zod';
import { uuid } from '@opsconductor/contracts/api';
import { ApiError, type ApiClient } from './api.server';
import { MAX_NOTE, type AlertIntent } from './alerts';

export const isAlertIntent = (v: unknown): v is AlertIntent => v === 'acknowledge' || v === 'resolve';

export type AlertActionResult = {
  intent: AlertIntent;
  ok: boolean;
  error?: string;
  done?: string[];
  refused?: Array<{ id: string; reason: string }>;
};

function note(form: FormData, field: string): string {
  const raw = form.get(field);
  return typeof raw === 'string' ? raw.trim() : '';
}

/** One alert acknowledged (with `comment`) or resolved (with `reason`). */
export async function decideAlert(api: ApiClient, id: string, intent: AlertIntent, form: FormData) {
  const text = note(form, intent === 'acknowledge' ? 'comment' : 'reason');
  if (text.length > MAX_NOTE)
    return data<AlertActionResult>({ intent, ok: false, error: `Keep it under ${MAX_NOTE} characters.` }, { status: 400 });
  try {
    if (intent === 'acknowledge') {
      await api.post('/alerts/{id}/acknowledge', { params: { path: { id } }, body: text ? { comment: text } : {} });
    } else {
      await api.post('/alerts/{id}/resolve', { params: { path: { id } }, body: text ? { reason: text } : {} });
    }
    return data<AlertActionResult>({ intent, ok: true });
  } catch (error) {
    if (error instanceof ApiError)
      return data<AlertActionResult>({ intent, ok: false, error: error.detail ?? error.title }, { status: error.status });
    throw error;
  }
}

/** The selected alerts (`ids`) acknowledged or resolved at once, with an optional `comment`. */
export async function decideAlerts(api: ApiClient, intent: AlertIntent, form: FormData) {
  const ids = z.array(uuid).max(500).safeParse(form.getAll('ids'));
  if (!ids.success) return data<AlertActionResult>({ intent, ok: false, error: 'Invalid selection.' }, { status: 400 });
  if (ids.data.length === 0) return data<AlertActionResult>({ intent, ok: false, error: 'Select at least one alert.' }, { status: 400 });
  const comment = note(form, 'comment');
  if (comment.length > MAX_NOTE)
    return data<AlertActionResult>({ intent, ok: false, error: `Keep it under ${MAX_NOTE} characters.` }, { status: 400 });
  const body = { ids: ids.data, ...(comment ? { comment } : {}) };
  try {
    const result = intent === 'acknowledge' ? await api.post('/alerts/acknowledge', { body }) : await api.post('/alerts/resolve', { body });
    return data<AlertActionResult>({ intent, ok: result.refused.length === 0, done: result.done, refused: result.refused });
  } catch (error) {
    if (error instanceof ApiError)
      return data<AlertActionResult>({ intent, ok: false, error: error.detail ?? error.title }, { status: error.status });
    throw error;
  }
}
