/** The device page's lifecycle actions: retire, rotate the secret, delete (the API checks roles and the confirmation). */
import { data, redirect } from '@remix-run/node';
import { ApiError, type ApiClient } from './api.server';

export const lifecycleIntents = ['retire', 'rotate-secret', 'delete'] as const;
export type LifecycleIntent = (typeof lifecycleIntents)[number];
export const isLifecycleIntent = (intent: string): intent is LifecycleIntent => (lifecycleIntents as readonly string[]).includes(intent);

export type LifecycleResult = { lifecycle: true; intent: LifecycleIntent; ok: boolean; error?: string; deviceSecret?: string };

export async function runLifecycleAction(api: ApiClient, intent: LifecycleIntent, form: FormData, deviceId: string) {
  try {
    if (intent === 'retire') {
      await api.post('/devices/{id}/retire', { params: { path: { id: deviceId } } });
      return data<LifecycleResult>({ lifecycle: true, intent, ok: true });
    }
    if (intent === 'rotate-secret') {
      const { deviceSecret } = await api.post('/devices/{id}/rotate-secret', { params: { path: { id: deviceId } } });
      // Shown once, in this response only: the console keeps no copy.
      return data<LifecycleResult>({ lifecycle: true, intent, ok: true, deviceSecret }, { headers: { 'Cache-Control': 'no-store' } });
    }
    const hostname = String(form.get('confirm') ?? '');
    await api.delete('/devices/{id}', { params: { path: { id: deviceId }, query: { confirm: hostname } } });
    return redirect(`/devices?deleted=${encodeURIComponent(hostname)}`);
  } catch (error) {
    if (error instanceof ApiError) {
      return data<LifecycleResult>(
        { lifecycle: true, intent, ok: false, error: error.fieldErrors().confirm ?? error.detail ?? error.title },
        { status: error.status },
      );
    }
    throw error;
  }
}
