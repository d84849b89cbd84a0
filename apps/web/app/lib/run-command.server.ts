/** The "run a command on these devices" action shared by the device list and device pages. */
import { data, redirect, type AppLoadContext } from '@remix-run/node';
import { z } from 'zod';
import { createJobRunRequest, type CreateJobRunRequest } from '@opsconductor/contracts/api';
import { ApiError, requireApi } from './api.server';

export type RunCommandActionData = {
  formError?: string;
  fieldErrors?: Partial<Record<'deviceIds' | 'command' | 'shell' | 'timeoutSeconds' | 'deadlineSeconds', string>>;
};

const seconds = (label: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${label} must be a number` })
    .int(`${label} must be a whole number of seconds`)
    .min(min, `${label} must be at least ${min} s`)
    .max(max, `${label} must be at most ${max.toLocaleString('en-US')} s`);

const runCommandForm = z.object({
  deviceIds: z
    .array(z.string().uuid('Invalid device id'))
    .min(1, 'Select at least one device')
    .max(10_000, 'At most 10,000 devices per run'),
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

/** The run-command form as a createJobRunRequest, or the message per field. */
export function parseRunCommandForm(
  form: FormData,
): { ok: true; request: CreateJobRunRequest } | { ok: false; fieldErrors: RunCommandFieldErrors } {
  const parsed = runCommandForm.safeParse({
    deviceIds: form.getAll('deviceIds'),
    command: form.get('command') ?? '',
    shell: form.get('shell') || undefined,
    timeoutSeconds: form.get('timeoutSeconds') || 300,
    deadlineSeconds: form.get('deadlineSeconds') || 3600,
  });
  if (parsed.success) return { ok: true, request: parsed.data };
  const fieldErrors: RunCommandFieldErrors = {};
  for (const issue of parsed.error.issues) {
    const key = issue.path[0] as keyof RunCommandFieldErrors;
    fieldErrors[key] ??= issue.message;
  }
  return { ok: false, fieldErrors };
}

/** Validates the form, creates the job run and redirects to it; returns field errors otherwise. */
export async function runCommandAction(request: Request, context: AppLoadContext, form: FormData) {
  const api = await requireApi(request, context);
  const parsed = parseRunCommandForm(form);
  if (!parsed.ok) return data<RunCommandActionData>({ fieldErrors: parsed.fieldErrors }, { status: 400 });
  try {
    const run = await api.createJobRun(parsed.request);
    return redirect(`/runs/${run.id}`);
  } catch (error) {
    if (error instanceof ApiError) {
      return data<RunCommandActionData>(
        { formError: error.detail ?? error.title, fieldErrors: error.fieldErrors() },
        { status: error.status },
      );
    }
    throw error;
  }
}
