/**
 * Resource route for a group's maintenance windows (the group page's card, components/maintenance-windows.tsx):
 * POST intent=create (name, timeZone, recurrence, daysOfWeek, startTime, durationMinutes) or intent=delete (windowId),
 * answered as JSON the card shows; the group page's loader reads the windows again afterwards. Operators only (the
 * API's 403 otherwise).
 */
import { data, type ActionFunctionArgs } from '@remix-run/node';
import { z } from 'zod';
import { uuid } from '@opsconductor/contracts/api';
import { ApiError, requireApi, type RouteErrorData } from '~/lib/api.server';

export type WindowActionData = {
  ok: boolean;
  intent: 'create' | 'delete';
  error?: string;
  fields?: Record<string, string>;
  /** Increases with every window created: the card clears its form. */
  created?: string;
};

const text = (form: FormData, name: string, max: number) => {
  const v = form.get(name);
  return typeof v === 'string' ? v.slice(0, max) : '';
};

export async function action({ request, context, params }: ActionFunctionArgs) {
  const groupId = uuid.safeParse(params.id);
  if (!groupId.success) throw data<RouteErrorData>({ title: 'Group not found' }, { status: 404 });
  const id = groupId.data;
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = form.get('intent');
  try {
    if (intent === 'delete') {
      const windowId = uuid.safeParse(form.get('windowId'));
      if (!windowId.success) return data<WindowActionData>({ ok: false, intent, error: 'Which window? Reload the page.' }, { status: 400 });
      await api.delete('/groups/{id}/maintenance-windows/{windowId}', { params: { path: { id, windowId: windowId.data } } });
      return data<WindowActionData>({ ok: true, intent });
    }
    if (intent !== 'create') throw data<RouteErrorData>({ title: 'Unknown action' }, { status: 400 });
    const recurrence = text(form, 'recurrence', 10) === 'weekly' ? 'weekly' : 'daily';
    const days = z.array(z.coerce.number().int().min(0).max(6)).max(7).catch([]).parse(form.getAll('daysOfWeek'));
    const duration = Number(text(form, 'durationMinutes', 20).trim());
    const created = await api.post('/groups/{id}/maintenance-windows', {
      params: { path: { id } },
      body: {
        name: text(form, 'name', 200),
        timeZone: text(form, 'timeZone', 80).trim(),
        recurrence,
        ...(recurrence === 'weekly' ? { daysOfWeek: days } : {}),
        startTime: text(form, 'startTime', 10).trim(),
        // Not a number: sent as typed, so the API's message lands on the field.
        durationMinutes: (Number.isFinite(duration) && text(form, 'durationMinutes', 20).trim() !== ''
          ? duration
          : text(form, 'durationMinutes', 20)) as number,
      },
    });
    return data<WindowActionData>({ ok: true, intent, created: created.id });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return data<WindowActionData>(
      {
        ok: false,
        intent: intent === 'delete' ? 'delete' : 'create',
        error: error.errors.length ? 'Check the highlighted fields.' : (error.detail ?? error.title),
        fields: error.fieldErrors(),
      },
      { status: error.status },
    );
  }
}
