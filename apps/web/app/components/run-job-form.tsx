/**
 * The run form of a saved job, one page in three sections: 1 where (the target picker with its live device count),
 * 2 the version and its parameters (a field per parameter, by type), 3 the run's limits; then "Run on N devices".
 * Secret fields are password inputs that are never filled in by the page: after an answer they are empty again.
 *
 * The sections are exported for the schedule form (schedule-form.tsx), which asks for the same targets, parameters
 * and limits: `FormSection`, `TargetsSection`, `ParametersSection` with a `VersionSelect`, `LimitFields`.
 */
import { Form, useNavigate, useNavigation } from '@remix-run/react';
import { useEffect, useId, useMemo, useState, type ReactNode } from 'react';
import type { JobRunFormData } from '~/lib/job-run-form.server';
import type { RunConfirmation } from '~/lib/run-command.server';
import {
  initialText,
  isGiven,
  isRequired,
  parameterField,
  selectionOf,
  type GivenParameter,
  type RunFormIssues,
  type RunParameter,
  type TargetSelection,
  type TargetState,
} from '~/lib/job-run';
import { deviceFieldLabels } from '~/lib/job-editor';
import { pluralize } from '~/lib/format';
import { ConfirmRun } from './run-command-form';
import { RunTargetPicker, TargetPreview, previewedCount, useTargetPreview, type PickerData, type PreviewState } from './run-targets';
import { Alert, Button, Card, Field, Input, Select, buttonClass, cx } from './ui';

export type RunJobFormProps = {
  job: { id: string; name: string; currentVersion: number };
  versions: Array<{ version: number; createdAt: string }>;
  /** The version the form is for, and its parameters. */
  version: number;
  parameters: RunParameter[];
  picker: PickerData;
  result: JobRunFormData | undefined;
  /** The page's idempotency key for this form (newRunFormKey in its loader); answers may hand on another. */
  formKey: string;
  /** Devices checked when the form opens (`?deviceId=` on the page). */
  preselected?: string[];
};

const VERSION_FORM = 'job-run-version';
export const emptyTarget: TargetState = {
  target: 'selected',
  deviceIds: [],
  targetGroupId: '',
  targetTag: '',
  filterSearch: '',
  filterStatus: '',
  filterOsFamily: '',
};

/** A numbered section of the run and schedule forms. */
export function FormSection({ n, title, actions, children }: { n: number; title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <Card
      title={
        <span className="flex items-center gap-2">
          <span className="inline-flex size-5 items-center justify-center rounded-full bg-zinc-900 text-[11px] font-semibold text-white">
            {n}
          </span>
          {title}
        </span>
      }
      actions={actions}
    >
      <div className="space-y-3 p-4">{children}</div>
    </Card>
  );
}

function ParameterInput({
  p,
  text,
  error,
  again,
}: {
  p: GivenParameter;
  text: string;
  error: string | undefined;
  /** A secret whose value must be given again (the answer never carries it). */
  again: boolean;
}) {
  const id = useId();
  const required = isRequired(p);
  const label = p.label || p.name;
  const name = parameterField(p.name);
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const aria = {
    id,
    'aria-invalid': error ? (true as const) : undefined,
    'aria-describedby': error ? errorId : hintId,
    'aria-required': required || undefined,
  };
  const hint = [
    p.description,
    p.type === 'number'
      ? [
          p.integer ? 'a whole number' : null,
          p.min !== undefined ? `at least ${p.min}` : null,
          p.max !== undefined ? `at most ${p.max}` : null,
        ]
          .filter(Boolean)
          .join(', ')
      : null,
    p.type === 'secret'
      ? again
        ? 'Enter it again: secrets are never sent back to the browser.'
        : 'Kept only while the run needs it; never shown again.'
      : null,
    !required && p.type !== 'boolean' ? 'Optional; empty takes the default, if any.' : null,
  ]
    .filter(Boolean)
    .join(' · ');
  let control: ReactNode;
  switch (p.type) {
    case 'boolean':
      control = (
        <input
          {...aria}
          type="checkbox"
          name={name}
          value="true"
          defaultChecked={text === 'true'}
          className="size-4 rounded border-zinc-300 accent-zinc-900"
        />
      );
      break;
    case 'number':
      control = (
        <Input
          {...aria}
          type="number"
          name={name}
          defaultValue={text}
          inputMode={p.integer ? 'numeric' : 'decimal'}
          step={p.integer ? 1 : 'any'}
          min={p.min}
          max={p.max}
          className="w-48"
        />
      );
      break;
    case 'enum':
      control = (
        <Select {...aria} name={name} defaultValue={text} className="w-64">
          {!required || !p.default ? <option value="">{required ? 'Choose…' : '—'}</option> : null}
          {p.values.map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </Select>
      );
      break;
    case 'secret':
      control = <Input {...aria} type="password" name={name} autoComplete="off" spellCheck={false} className="w-80" />;
      break;
    default:
      control = <Input {...aria} name={name} defaultValue={text} spellCheck={false} autoComplete="off" maxLength={4096} />;
  }
  return (
    <div className="space-y-1" data-testid="run-parameter" data-name={p.name} data-invalid={error ? 'true' : undefined}>
      <div className="flex items-baseline gap-2">
        <label htmlFor={id} className={cx('text-xs font-medium text-zinc-700', p.type === 'boolean' && 'order-2')}>
          {label}
          {required ? (
            <span className="text-red-600" title="Required">
              {' '}
              *<span className="sr-only"> (required)</span>
            </span>
          ) : null}
        </label>
        {p.type === 'boolean' ? <span className="order-1">{control}</span> : null}
        <code className="order-3 font-mono text-[11px] text-zinc-400">{p.name}</code>
      </div>
      {p.type !== 'boolean' ? control : null}
      {error ? (
        <p id={errorId} className="text-xs text-red-600" data-testid="run-parameter-error">
          {error}
        </p>
      ) : hint ? (
        <p id={hintId} className="text-xs text-zinc-500">
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** A field per parameter someone gives (by type), and the device-scoped ones listed. */
export function JobParameters({
  parameters,
  posted,
  issues,
  secretsAgain,
}: {
  parameters: RunParameter[];
  posted: Record<string, string> | undefined;
  issues: RunFormIssues['parameters'];
  secretsAgain: boolean;
}) {
  const given = parameters.filter(isGiven);
  const fromDevice = parameters.filter((p) => p.type === 'device');
  if (parameters.length === 0) return <p className="text-[13px] text-zinc-500">This version has no parameters.</p>;
  return (
    <>
      {given.map((p) => (
        <ParameterInput key={p.name} p={p} text={posted?.[p.name] ?? initialText(p)} error={issues[p.name]} again={secretsAgain} />
      ))}
      {fromDevice.length ? (
        <div className="rounded-md bg-zinc-50 px-3 py-2 ring-1 ring-zinc-200 ring-inset">
          <p className="text-[11px] font-medium text-zinc-500">From each device</p>
          <ul className="mt-1 space-y-0.5 text-[13px]" data-testid="run-device-parameters">
            {fromDevice.map((p) => (
              <li key={p.name}>
                <span className="text-zinc-900">{p.label || p.name}</span>{' '}
                <code className="font-mono text-[11px] text-zinc-400">{p.name}</code>
                <span className="text-zinc-500"> — taken from each device: {deviceFieldLabels[p.field].toLowerCase()}</span>
                {issues[p.name] ? <span className="block text-xs text-red-600">{issues[p.name]}</span> : null}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </>
  );
}

/** Section "Targets": the picker and the live count of what it selects now. */
export function TargetsSection({
  n,
  picker,
  state,
  onChange,
  error,
  preview,
  selection,
  children,
}: {
  n: number;
  picker: PickerData;
  state: TargetState;
  onChange: (s: TargetState) => void;
  error?: string | undefined;
  preview: PreviewState;
  selection: TargetSelection | null;
  /** Below the count (the schedule form says when its targets are resolved). */
  children?: ReactNode;
}) {
  return (
    <FormSection n={n} title="Targets">
      <RunTargetPicker data={picker} state={state} onChange={onChange} error={error} />
      <TargetPreview preview={preview} selection={selection} />
      {children}
    </FormSection>
  );
}

/**
 * The version select of section "Parameters". It belongs to a GET form of its own (`formId`, rendered by the caller
 * outside the post form), so that choosing a version loads its parameters: with JavaScript at once (`onPick`), without
 * it through the "Load" button.
 */
export function VersionSelect({
  formId,
  value,
  options,
  invalid,
  onPick,
}: {
  formId: string;
  value: string;
  options: Array<{ value: string; label: string }>;
  invalid?: boolean;
  onPick: (value: string) => void;
}) {
  const id = useId();
  return (
    <span className="flex items-center gap-2">
      <label htmlFor={id} className="text-xs text-zinc-500">
        Version
      </label>
      <Select
        id={id}
        form={formId}
        name="version"
        defaultValue={value}
        key={value}
        className="w-44"
        aria-invalid={invalid ? true : undefined}
        onChange={(e) => onPick(e.currentTarget.value)}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </Select>
      <noscript>
        <button type="submit" form={formId} className={buttonClass('secondary', 'sm')}>
          Load
        </button>
      </noscript>
    </span>
  );
}

/** Section "Parameters": the version (`versionSelect`) and a field per parameter of it. */
export function ParametersSection({
  n,
  versionSelect,
  versionError,
  notice,
  parameters,
  posted,
  issues,
  secretsAgain,
  remountKey,
}: {
  n: number;
  versionSelect: ReactNode;
  versionError?: string | undefined;
  /** Shown above the fields (another version than the current one, secrets to give again). */
  notice?: ReactNode;
  parameters: RunParameter[];
  posted: Record<string, string> | undefined;
  issues: RunFormIssues['parameters'];
  secretsAgain: boolean;
  /** The fields are remounted when it changes: another version, or an answer (secret fields empty again). */
  remountKey: string;
}) {
  return (
    <FormSection n={n} title="Parameters" actions={versionSelect}>
      {versionError ? <Alert>{versionError}</Alert> : null}
      {notice}
      <div key={remountKey} className="space-y-4">
        <JobParameters parameters={parameters} posted={posted} issues={issues} secretsAgain={secretsAgain} />
      </div>
    </FormSection>
  );
}

/** Max concurrency, deadline and failure threshold of a run (`maxConcurrency`, `deadlineSeconds`, `threshold*`). */
export function LimitFields({
  posted,
  fields,
}: {
  posted: { maxConcurrency: string; deadlineSeconds: string; thresholdCount: string; thresholdPercent: string } | undefined;
  fields: RunFormIssues['fields'];
}) {
  return (
    <>
      <div className="grid gap-3 sm:grid-cols-2">
        <Field label="Max concurrency" error={fields.maxConcurrency} hint="Devices running the job at the same time; empty: no limit">
          {(p) => (
            <Input
              {...p}
              name="maxConcurrency"
              type="number"
              min={1}
              max={10_000}
              inputMode="numeric"
              defaultValue={posted?.maxConcurrency}
              placeholder="No limit"
            />
          )}
        </Field>
        <Field
          label="Deadline (s)"
          error={fields.deadlineSeconds}
          hint="New devices start until then; a step waits this long for an offline device"
        >
          {(p) => (
            <Input
              {...p}
              name="deadlineSeconds"
              type="number"
              min={10}
              max={604_800}
              inputMode="numeric"
              defaultValue={posted?.deadlineSeconds || 3600}
            />
          )}
        </Field>
      </div>
      <fieldset className="space-y-1.5">
        <legend className="text-xs font-medium text-zinc-700">Failure threshold</legend>
        <p className="text-xs text-zinc-500">
          Stop starting new devices once this many have failed (either limit; both empty: never stop).
        </p>
        <div className="grid gap-3 sm:grid-cols-2">
          <Field label="Failed devices" error={fields.thresholdCount}>
            {(p) => (
              <Input
                {...p}
                name="thresholdCount"
                type="number"
                min={1}
                inputMode="numeric"
                defaultValue={posted?.thresholdCount}
                placeholder="—"
              />
            )}
          </Field>
          <Field label="Failed devices (%)" error={fields.thresholdPercent}>
            {(p) => (
              <Input
                {...p}
                name="thresholdPercent"
                type="number"
                min={1}
                max={100}
                inputMode="numeric"
                defaultValue={posted?.thresholdPercent}
                placeholder="—"
              />
            )}
          </Field>
        </div>
      </fieldset>
    </>
  );
}

/** The API's issues no field shows, under the form's message. */
export function OtherIssues({ other }: { other: string[] }) {
  if (!other.length) return null;
  return (
    <ul className="mt-1 list-disc pl-4">
      {other.map((m) => (
        <li key={m}>{m}</li>
      ))}
    </ul>
  );
}

export function RunJobForm({ job, versions, version, parameters, picker, result: answer, formKey, preselected = [] }: RunJobFormProps) {
  // An answer about another version (the page moved on to a newer one meanwhile) is not this form's.
  const result = answer && answer.version === version ? answer : undefined;
  const navigate = useNavigate();
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting' && navigation.formMethod?.toLowerCase() === 'post';
  const [target, setTarget] = useState<TargetState>(() =>
    result ? { ...emptyTarget, ...result.posted } : { ...emptyTarget, deviceIds: preselected },
  );
  const selection = useMemo(() => selectionOf(target), [target]);
  const preview = useTargetPreview(selection);
  const count = previewedCount(preview, selection);
  const tooMany = preview.result?.ok === true && count !== null && count > preview.result.maxDevices;
  // A new answer shows its confirmation; any change to the form withdraws it (the count is asked for again).
  const [dismissed, setDismissed] = useState(false);
  useEffect(() => setDismissed(false), [answer]);
  const confirm = dismissed ? undefined : result?.confirm;
  // Secret inputs are remounted (emptied) with every answer: a value typed once is never kept by the page.
  const [answers, setAnswers] = useState(0);
  useEffect(() => {
    if (answer) setAnswers((n) => n + 1);
  }, [answer]);
  const issues = result?.issues ?? { parameters: {}, fields: {}, other: [] };
  const posted = result?.posted;
  const fields = issues.fields;

  return (
    <>
      {/* The version picker's own form (GET ?version=N); its select sits in section 2 through the `form` attribute. */}
      <Form id={VERSION_FORM} method="get" preventScrollReset />
      <Form method="post" noValidate className="space-y-4" onChange={() => setDismissed(true)} data-testid="run-job-form">
        <input type="hidden" name="version" value={version} />
        <input type="hidden" name="idempotencyKey" value={answer?.idempotencyKey ?? formKey} />
        {result?.formError ? (
          <Alert title={result.formErrorTitle ?? 'The run was not started'}>
            {result.formError}
            <OtherIssues other={issues.other} />
          </Alert>
        ) : null}

        <TargetsSection
          n={1}
          picker={picker}
          state={target}
          onChange={setTarget}
          error={fields.target}
          preview={preview}
          selection={selection}
        />

        <ParametersSection
          n={2}
          versionSelect={
            <VersionSelect
              formId={VERSION_FORM}
              value={String(version)}
              options={versions.map((v) => ({
                value: String(v.version),
                label: `v${v.version}${v.version === job.currentVersion ? ' (current)' : ''}`,
              }))}
              invalid={Boolean(fields.version)}
              onPick={(v) => navigate(`?version=${v}`, { replace: true, preventScrollReset: true })}
            />
          }
          versionError={fields.version}
          notice={
            version !== job.currentVersion ? (
              <Alert tone="warning">
                Runs version {version}, not the current version {job.currentVersion}.
              </Alert>
            ) : null
          }
          parameters={parameters}
          posted={posted?.values}
          issues={issues.parameters}
          secretsAgain={Boolean(result?.secretsAgain)}
          remountKey={`${version}:${answers}`}
        />

        <FormSection n={3} title="Options">
          <LimitFields posted={posted} fields={fields} />
        </FormSection>

        <RunSubmit
          confirm={confirm}
          onCancel={() => setDismissed(true)}
          count={count}
          busy={busy}
          tooMany={tooMany}
          summary={(n) => `Runs ${job.name} version ${version} on ${pluralize(n, 'device')}.`}
          verb="Run"
          idleLabel="Start run"
        />
      </Form>
    </>
  );
}

/**
 * The run forms' last card: what the run will do on how many devices and its button (with the live count it sends as
 * `expectedDeviceCount`), or the confirmation the server asked for.
 */
export function RunSubmit({
  confirm,
  onCancel,
  count,
  busy,
  tooMany,
  summary,
  verb,
  idleLabel,
}: {
  confirm: RunConfirmation | undefined;
  onCancel: () => void;
  count: number | null;
  busy: boolean;
  tooMany: boolean;
  summary: (count: number) => string;
  verb: string;
  idleLabel: string;
}) {
  return (
    <Card>
      <div className="p-4">
        {confirm ? (
          <ConfirmRun confirm={confirm} onCancel={onCancel} />
        ) : (
          <div className="flex flex-wrap items-center justify-between gap-3">
            <p className="text-xs text-zinc-500">{count === null ? 'The device count is shown before the run starts.' : summary(count)}</p>
            {count !== null ? <input type="hidden" name="expectedDeviceCount" value={count} /> : null}
            <Button type="submit" name="intent" value="run" variant="primary" disabled={busy || count === 0 || tooMany}>
              {busy ? 'Starting…' : count !== null ? `${verb} on ${pluralize(count, 'device')}` : idleLabel}
            </Button>
          </div>
        )}
      </div>
    </Card>
  );
}
