/**
 * Install or uninstall a package version on devices, now (/software/versions/:id/install): the target picker of the
 * run forms, the action and the deadline; then POST /job-runs with `action: { kind: 'software.install', versionId }`
 * and the device count the operator saw. The run is a job run like any other (a Temporal workflow), whose devices
 * report the precise outcome (installed, already installed, reboot required, hash mismatch, …).
 */
import { data, redirect, type AppLoadContext } from '@remix-run/node';
import { ApiError, requireApi } from './api.server';
import {
  confirmedCount,
  parseJobRunTarget,
  parseRunOptions,
  postedForm,
  previewConfirmation,
  type PostedJobRunForm,
} from './job-run-form.server';
import { formKey, newRunFormKey, type RunConfirmation } from './run-command.server';

export type SoftwareAction = 'software.install' | 'software.uninstall';

export type SoftwareRunFormData = {
  formError?: string;
  formErrorTitle?: string;
  fields?: { target?: string; deadlineSeconds?: string };
  confirm?: RunConfirmation;
  posted: PostedJobRunForm & { action: SoftwareAction };
  idempotencyKey?: string;
};

export async function runSoftwareAction(request: Request, context: AppLoadContext, versionId: string, form: FormData) {
  const api = await requireApi(request, context);
  const action: SoftwareAction = form.get('action') === 'software.uninstall' ? 'software.uninstall' : 'software.install';
  const key = formKey.safeParse(form.get('idempotencyKey'));
  const base = { posted: { ...postedForm(form, []), action }, ...(key.success ? { idempotencyKey: key.data } : {}) };
  const answer = (body: Omit<SoftwareRunFormData, 'posted'>, status = 400) => data<SoftwareRunFormData>({ ...base, ...body }, { status });

  const target = parseJobRunTarget(form);
  const options = parseRunOptions(form);
  if (!target.ok || !options.ok) {
    const fields = {
      ...(options.ok ? {} : { deadlineSeconds: options.fields.deadlineSeconds }),
      ...(target.ok ? {} : { target: target.message }),
    };
    return answer({ formError: 'Check the highlighted fields.', fields });
  }
  const expected = confirmedCount.safeParse(form.get('expectedDeviceCount') || undefined);
  try {
    if (!expected.success) {
      const confirmation = await previewConfirmation(api, target.value);
      return answer(confirmation, 'confirm' in confirmation ? 200 : 400);
    }
    try {
      const run = await api.post('/job-runs', {
        body: {
          ...target.value,
          action: { kind: action, versionId },
          deadlineSeconds: options.value.deadlineSeconds,
          expectedDeviceCount: expected.data,
        },
        ...(key.success ? { params: { header: { 'idempotency-key': key.data } } } : {}),
      });
      return redirect(`/runs/${run.id}`);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 'target_count_changed')) throw error;
      return answer(
        await previewConfirmation(api, target.value, 'The matching devices changed since you saw the count: check the new count.'),
        409,
      );
    }
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.code === 'idempotency_key_reused') {
      return answer(
        {
          formError: 'This form already started a run with different settings (see Runs). Start again to create another one.',
          idempotencyKey: newRunFormKey(),
        },
        409,
      );
    }
    return answer({ formError: error.detail ?? error.title }, error.status);
  }
}
