/**
 * The run form of a saved job (/jobs/:id/run, ADR 20): where to run (the device list's target picker: checked
 * devices, a group, a tag, or every device matching a filter), the version and its parameter values, and the run's
 * limits; then POST /jobs/{id}/runs with the device count the operator saw (`expectedDeviceCount`).
 *
 * The page previews the count live; a post without one (no JavaScript) or one the API refuses because the selection
 * changed answers with a confirmation showing the count now, as the run-command form does. Secret values go to the
 * API and nowhere else: an answer that shows the form again carries every posted value but theirs, and asks for them
 * again.
 */
import { data, redirect, type AppLoadContext } from '@remix-run/node';
import { z } from 'zod';
import { deviceFilter, type JobRunTargetSelection } from '@opsconductor/contracts/api';
import { deviceStatuses, osFamilies } from '@opsconductor/contracts/constants';
import { ApiError, requireApi, type ApiClient } from './api.server';
import { versionParam } from './job-pages.server';
import { echoedTexts, issueCount, parameterValues, runFormIssues, type RunFormIssues, type RunParameter } from './job-run';
import { formKey, newRunFormKey, parseTarget, type RunConfirmation, type RunTarget } from './run-command.server';

/** What was posted, secrets left out: the form shows it again. */
export type PostedJobRunForm = {
  target: RunTarget;
  deviceIds: string[];
  targetGroupId: string;
  targetTag: string;
  filterSearch: string;
  filterStatus: string;
  filterOsFamily: string;
  /** Parameter texts by name (never a secret's). */
  values: Record<string, string>;
  maxConcurrency: string;
  thresholdCount: string;
  thresholdPercent: string;
  deadlineSeconds: string;
};

export type JobRunFormData = {
  formError?: string;
  formErrorTitle?: string;
  issues?: RunFormIssues;
  confirm?: RunConfirmation;
  /** The version the answer is about (the form shows that version's parameters). */
  version: number;
  posted: PostedJobRunForm;
  /** The job has secret parameters: their fields are empty again and say so. */
  secretsAgain: boolean;
  /** The key the next submission sends (run-command.server.ts: the same one, unless the API refused it). */
  idempotencyKey?: string;
};

const SAMPLE_SIZE = 5;
const RUN_TARGETS: readonly RunTarget[] = ['selected', 'filter', 'group', 'tag'];

const text = (form: FormData, name: string, max = 4096): string => {
  const v = form.get(name);
  return typeof v === 'string' ? v.slice(0, max) : '';
};

/** The posted form without its secrets, for showing it again. */
export function postedForm(form: FormData, parameters: readonly RunParameter[]): PostedJobRunForm {
  const target = text(form, 'target', 20) as RunTarget;
  return {
    target: RUN_TARGETS.includes(target) ? target : 'selected',
    deviceIds: form
      .getAll('deviceIds')
      .filter((v): v is string => typeof v === 'string')
      .slice(0, 10_000),
    targetGroupId: text(form, 'targetGroupId', 64),
    targetTag: text(form, 'targetTag', 100),
    filterSearch: text(form, 'filterSearch', 200),
    filterStatus: text(form, 'filterStatus', 20),
    filterOsFamily: text(form, 'filterOsFamily', 20),
    values: echoedTexts(parameters, (field) => text(form, field) || null),
    maxConcurrency: text(form, 'maxConcurrency', 20),
    thresholdCount: text(form, 'thresholdCount', 20),
    thresholdPercent: text(form, 'thresholdPercent', 20),
    deadlineSeconds: text(form, 'deadlineSeconds', 20),
  };
}

const optionalInt = (label: string, min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.coerce
      .number({ error: `${label} must be a number` })
      .int(`${label} must be a whole number`)
      .min(min, `${label} must be at least ${min.toLocaleString('en-US')}`)
      .max(max, `${label} must be at most ${max.toLocaleString('en-US')}`)
      .optional(),
  );

const runOptions = z.object({
  maxConcurrency: optionalInt('Max concurrency', 1, 10_000),
  thresholdCount: optionalInt('The failed device count', 1, 10_000),
  thresholdPercent: optionalInt('The percentage', 1, 100),
  deadlineSeconds: optionalInt('The deadline', 10, 7 * 24 * 3600),
});
export type RunOptions = {
  maxConcurrency?: number;
  failureThreshold?: { count?: number; percent?: number };
  deadlineSeconds: number;
};

/** The run's limits (`maxConcurrency`, `thresholdCount`, `thresholdPercent`, `deadlineSeconds`), or a message per field. */
export function parseRunOptions(form: FormData): { ok: true; value: RunOptions } | { ok: false; fields: RunFormIssues['fields'] } {
  const parsed = runOptions.safeParse({
    maxConcurrency: text(form, 'maxConcurrency', 20),
    thresholdCount: text(form, 'thresholdCount', 20),
    thresholdPercent: text(form, 'thresholdPercent', 20),
    deadlineSeconds: text(form, 'deadlineSeconds', 20),
  });
  if (!parsed.success) {
    const fields: RunFormIssues['fields'] = {};
    for (const issue of parsed.error.issues) {
      const key = issue.path[0] as keyof z.infer<typeof runOptions>;
      fields[key] ??= issue.message;
    }
    return { ok: false, fields };
  }
  const { maxConcurrency, thresholdCount, thresholdPercent, deadlineSeconds } = parsed.data;
  const threshold = thresholdCount !== undefined || thresholdPercent !== undefined;
  return {
    ok: true,
    value: {
      ...(maxConcurrency !== undefined ? { maxConcurrency } : {}),
      ...(threshold
        ? {
            failureThreshold: {
              ...(thresholdCount !== undefined ? { count: thresholdCount } : {}),
              ...(thresholdPercent !== undefined ? { percent: thresholdPercent } : {}),
            },
          }
        : {}),
      deadlineSeconds: deadlineSeconds ?? 3600,
    },
  };
}

/** Where to run: the device list's picker, with the filter given as fields (`filterSearch`, `filterStatus`, `filterOsFamily`). */
export function parseJobRunTarget(form: FormData): { ok: true; value: JobRunTargetSelection } | { ok: false; message: string } {
  if (form.get('target') === 'filter') {
    const status = text(form, 'filterStatus', 20);
    const osFamily = text(form, 'filterOsFamily', 20);
    const search = text(form, 'filterSearch', 300).trim();
    const filter = deviceFilter.safeParse({
      ...(search ? { search } : {}),
      ...((deviceStatuses as readonly string[]).includes(status) ? { status } : {}),
      ...((osFamilies as readonly string[]).includes(osFamily) ? { osFamily } : {}),
    });
    return filter.success ? { ok: true, value: { filter: filter.data } } : { ok: false, message: filter.error.issues[0]!.message };
  }
  const parsed = parseTarget(form);
  return parsed.ok ? parsed : { ok: false, message: parsed.message };
}

/** How many devices the selection matches now, or why it cannot run. */
export async function previewConfirmation(
  api: ApiClient,
  selection: JobRunTargetSelection,
  notice?: string,
): Promise<{ confirm: RunConfirmation } | { formError: string }> {
  const preview = await api.post('/job-runs/preview', { body: { ...selection, sampleSize: SAMPLE_SIZE } });
  if (preview.total === 0) return { formError: 'No devices match this target.' };
  if (preview.total > preview.maxDevices) {
    return {
      formError: `This matches ${preview.total.toLocaleString('en-US')} devices; a run can target at most ${preview.maxDevices.toLocaleString('en-US')}. Narrow it down or split it into several runs.`,
    };
  }
  return { confirm: { total: preview.total, sample: preview.sample.map((d) => d.hostname), ...(notice ? { notice } : {}) } };
}

export const confirmedCount = z.coerce.number().int().min(0).max(1_000_000);

/**
 * The run form's post: checks what the console can (targets, limits), then starts the run of the posted version with
 * the confirmed device count and redirects to it. Anything else answers with the form's data (status 4xx/5xx).
 */
export async function runJobAction(request: Request, context: AppLoadContext, jobId: string, form: FormData) {
  const api = await requireApi(request, context);
  // The version the form was made for (its parameters are those posted); the current one if the post names none.
  const runVersion =
    versionParam(text(form, 'version', 12)) ?? (await api.get('/jobs/{id}', { params: { path: { id: jobId } } })).currentVersion;
  const { definition } = await api.get('/jobs/{id}/versions/{version}', { params: { path: { id: jobId, version: runVersion } } });
  const parameters = definition.parameters ?? [];
  const secretsAgain = parameters.some((p) => p.type === 'secret');
  const key = formKey.safeParse(form.get('idempotencyKey'));
  const base = {
    version: runVersion,
    posted: postedForm(form, parameters),
    secretsAgain,
    ...(key.success ? { idempotencyKey: key.data } : {}),
  };
  const answer = (body: Omit<JobRunFormData, 'version' | 'posted' | 'secretsAgain'>, status = 400) =>
    data<JobRunFormData>({ ...base, ...body }, { status });

  const target = parseJobRunTarget(form);
  const options = parseRunOptions(form);
  if (!target.ok || !options.ok) {
    const fields = { ...(options.ok ? {} : options.fields), ...(target.ok ? {} : { target: target.message }) };
    return answer({ formError: 'Check the highlighted fields.', issues: { parameters: {}, fields, other: [] } });
  }
  const expected = confirmedCount.safeParse(form.get('expectedDeviceCount') || undefined);
  try {
    if (!expected.success) {
      const confirmation = await previewConfirmation(api, target.value);
      return answer(confirmation, 'confirm' in confirmation ? 200 : 400);
    }
    try {
      const run = await api.post('/jobs/{id}/runs', {
        params: { path: { id: jobId }, ...(key.success ? { header: { 'idempotency-key': key.data } } : {}) },
        body: {
          ...target.value,
          version: runVersion,
          parameters: parameterValues(parameters, (field) => {
            const v = form.get(field);
            return typeof v === 'string' ? v : null;
          }),
          expectedDeviceCount: expected.data,
          ...options.value,
        },
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
    const issues = runFormIssues(error.errors);
    const n = issueCount(issues);
    if (error.code === 'idempotency_key_reused') {
      // An earlier submission of this form started a run with other settings; a new key makes the next one a new run.
      return answer(
        {
          formError: 'This form already started a run with different settings (see Runs). Run again to start another one.',
          idempotencyKey: newRunFormKey(),
        },
        409,
      );
    }
    if (error.code === 'secrets_unavailable') {
      return answer({ formErrorTitle: 'Secrets cannot be kept', formError: error.detail ?? error.title }, error.status);
    }
    return answer(
      {
        formError:
          n === 0
            ? (error.detail ?? error.title)
            : n === 1
              ? 'One value is not right: see the field below.'
              : `${n} values are not right: see below.`,
        issues,
      },
      error.status,
    );
  }
}
