/**
 * The "run a command" action shared by the device list, the device page and the group page.
 *
 * Explicit devices (checked rows, one device's page) run at once. Everything else — all devices
 * matching the list's filter, a group, a tag — first answers with a confirmation showing how many
 * devices the selection resolves to now (the API's preview); the confirmed run carries that count, and
 * the API refuses it if the selection changed meanwhile, in which case the new count is shown.
 *
 * Each form carries an idempotency key made when the page renders (`newRunFormKey` in its loader) and kept
 * through the form's answers: submitting it twice (a double click, a retry after a timeout) creates one run.
 */
import { randomUUID } from 'node:crypto';
import { data, redirect, type AppLoadContext } from '@remix-run/node';
import { z } from 'zod';
import {
  createJobRunRequest,
  deviceFilter,
  tagName,
  uuid,
  type CreateJobRunRequest,
  type JobRunTargetSelection,
} from '@opsconductor/contracts/api';
import { ApiError, ApiUnreachableError, requireApi, type ApiClient } from './api.server';

/** How many devices the selection resolves to, shown before the run is created. */
export type RunConfirmation = { total: number; sample: string[]; notice?: string };

export type RunCommandActionData = {
  formError?: string;
  /** Heads the form error (default: the run was not created). */
  formErrorTitle?: string;
  fieldErrors?: Partial<Record<'target' | 'deviceIds' | 'command' | 'shell' | 'timeoutSeconds' | 'deadlineSeconds', string>>;
  confirm?: RunConfirmation;
  /** The key the next submission of this form sends (the same one, unless the API refused it). */
  idempotencyKey?: string;
};

/** A new idempotency key for a run form (the hidden `idempotencyKey` field), made by the page's loader. */
export const newRunFormKey = (): string => randomUUID();
export const formKey = z.string().uuid();

/** Where the device list's run panel runs a command (the form's `target`). */
export type RunTarget = 'selected' | 'filter' | 'group' | 'tag';
const SAMPLE_SIZE = 5;

const seconds = (label: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${label} must be a number` })
    .int(`${label} must be a whole number of seconds`)
    .min(min, `${label} must be at least ${min} s`)
    .max(max, `${label} must be at most ${max.toLocaleString('en-US')} s`);

const selectedDevices = z
  .array(z.string().uuid('Invalid device id'))
  .min(1, 'Select at least one device')
  .max(10_000, 'At most 10,000 devices per run');

const runCommandForm = z.object({
  command: z
    .string()
    // Browsers submit textarea line breaks as CRLF; shells on Linux and macOS choke on the CR.
    .transform((s) => s.replace(/\r\n?/g, '\n'))
    .refine((s) => s.trim().length > 0, 'Enter a command')
    .refine((s) => s.length <= 64 * 1024, 'The command is longer than 64 KiB'),
  shell: createJobRunRequest.shape.shell,
  timeoutSeconds: seconds('Timeout', 1, 24 * 3600),
  deadlineSeconds: seconds('Deadline', 10, 7 * 24 * 3600),
});

type RunCommandFieldErrors = NonNullable<RunCommandActionData['fieldErrors']>;
export type Parsed<T> = { ok: true; value: T } | { ok: false; field: keyof RunCommandFieldErrors; message: string };

function json(text: FormDataEntryValue | null): unknown {
  try {
    return JSON.parse(String(text ?? ''));
  } catch {
    return undefined;
  }
}

/**
 * Where to run, from the form's `target` (checked rows by default) and its companion field. The job run form
 * (job-run-form.server.ts) reads its targets with this too.
 */
export function parseTarget(form: FormData): Parsed<JobRunTargetSelection> {
  const target = String(form.get('target') || 'selected');
  if (target === 'selected') {
    const ids = selectedDevices.safeParse(form.getAll('deviceIds'));
    return ids.success
      ? { ok: true, value: { deviceIds: ids.data } }
      : { ok: false, field: 'deviceIds', message: ids.error.issues[0]!.message };
  }
  if (target === 'filter') {
    const filter = deviceFilter.safeParse(json(form.get('filter')));
    return filter.success
      ? { ok: true, value: { filter: filter.data } }
      : { ok: false, field: 'target', message: 'The filter is not valid; reload the page.' };
  }
  if (target === 'group') {
    const id = uuid.safeParse(form.get('targetGroupId'));
    return id.success ? { ok: true, value: { groupIds: [id.data] } } : { ok: false, field: 'target', message: 'Choose a group' };
  }
  if (target === 'tag') {
    const tag = tagName.safeParse(form.get('targetTag'));
    return tag.success ? { ok: true, value: { tags: [tag.data] } } : { ok: false, field: 'target', message: 'Choose a tag' };
  }
  return { ok: false, field: 'target', message: 'Choose where to run the command' };
}

/**
 * The run-command form as a createJobRunRequest, or the message per field. `fixed` replaces the form's
 * target (the group page always runs on its group).
 */
export function parseRunCommandForm(
  form: FormData,
  fixed?: JobRunTargetSelection,
): { ok: true; request: CreateJobRunRequest } | { ok: false; fieldErrors: RunCommandFieldErrors } {
  const target: Parsed<JobRunTargetSelection> = fixed ? { ok: true, value: fixed } : parseTarget(form);
  const parsed = runCommandForm.safeParse({
    command: form.get('command') ?? '',
    shell: form.get('shell') || undefined,
    timeoutSeconds: form.get('timeoutSeconds') || 300,
    deadlineSeconds: form.get('deadlineSeconds') || 3600,
  });
  if (parsed.success && target.ok) return { ok: true, request: { ...target.value, ...parsed.data } };
  const fieldErrors: RunCommandFieldErrors = {};
  if (!target.ok) fieldErrors[target.field] = target.message;
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    const key = issue.path[0] as keyof RunCommandFieldErrors;
    fieldErrors[key] ??= issue.message;
  }
  return { ok: false, fieldErrors };
}

const selectionOf = ({ deviceIds, groupIds, tags, filter }: CreateJobRunRequest): JobRunTargetSelection => ({
  deviceIds,
  groupIds,
  tags,
  filter,
});

/** The confirmation step: how many devices the selection matches now, or why it cannot run. */
async function confirmation(
  api: ApiClient,
  request: CreateJobRunRequest,
  keep: Pick<RunCommandActionData, 'idempotencyKey'>,
  notice?: string,
) {
  const preview = await api.post('/job-runs/preview', { body: { ...selectionOf(request), sampleSize: SAMPLE_SIZE } });
  if (preview.total === 0) return data<RunCommandActionData>({ formError: 'No devices match this target.', ...keep }, { status: 400 });
  if (preview.total > preview.maxDevices) {
    return data<RunCommandActionData>(
      {
        formError: `This matches ${preview.total.toLocaleString('en-US')} devices; a run can target at most ${preview.maxDevices.toLocaleString('en-US')}. Narrow it down or split it into several runs.`,
        ...keep,
      },
      { status: 400 },
    );
  }
  return data<RunCommandActionData>({
    confirm: { total: preview.total, sample: preview.sample.map((d) => d.hostname), ...(notice ? { notice } : {}) },
    ...keep,
  });
}

const confirmedCount = z.coerce.number().int().min(0).max(1_000_000);

/**
 * Validates the form; runs on explicit devices at once, and on anything else only once the operator
 * confirmed the device count (intent `run-confirm` with `expectedDeviceCount`). Redirects to the run.
 */
export async function runCommandAction(request: Request, context: AppLoadContext, form: FormData, fixed?: JobRunTargetSelection) {
  const api = await requireApi(request, context);
  const key = formKey.safeParse(form.get('idempotencyKey'));
  const keep = key.success ? { idempotencyKey: key.data } : {};
  const parsed = parseRunCommandForm(form, fixed);
  if (!parsed.ok) return data<RunCommandActionData>({ fieldErrors: parsed.fieldErrors, ...keep }, { status: 400 });
  const explicit = parsed.request.deviceIds !== undefined;
  const expected = confirmedCount.safeParse(form.get('expectedDeviceCount'));
  try {
    if (!explicit && !(form.get('intent') === 'run-confirm' && expected.success)) return await confirmation(api, parsed.request, keep);
    try {
      const run = await api.post('/job-runs', {
        body: { ...parsed.request, ...(explicit ? {} : { expectedDeviceCount: expected.data }) },
        ...(key.success ? { params: { header: { 'idempotency-key': key.data } } } : {}),
      });
      return redirect(`/runs/${run.id}`);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 'target_count_changed')) throw error;
      return await confirmation(api, parsed.request, keep, 'The matching devices changed since you confirmed: check the new count.');
    }
  } catch (error) {
    if (error instanceof ApiError && error.code === 'idempotency_key_reused') {
      // An earlier submission of this form created a run with other settings; a new key makes the next one a new run.
      return data<RunCommandActionData>(
        {
          formError: 'This form already created a run with different settings (see Runs). Run again to create another one.',
          idempotencyKey: newRunFormKey(),
        },
        { status: 409 },
      );
    }
    if (error instanceof ApiError) {
      return data<RunCommandActionData>(
        { formError: error.detail ?? error.title, fieldErrors: error.fieldErrors(), ...keep },
        { status: error.status },
      );
    }
    if (error instanceof ApiUnreachableError && key.success) {
      return data<RunCommandActionData>(
        {
          formErrorTitle: 'No answer from the API',
          formError: 'The run may have been created. Run again to open it: this form does not create a second one.',
          ...keep,
        },
        { status: 503 },
      );
    }
    throw error;
  }
}
