/**
 * The schedule form of a job (create at /jobs/:id/schedule, edit at /schedules/:id/edit), in five sections: 1 the
 * name, 2 when (cron lines and/or intervals, the time zone, start and end as wall times of that zone, jitter), 3 and 4
 * the run form's targets and parameters (shared with run-job-form.tsx), 5 each run's overlap policy and limits.
 * Secret fields are password inputs that are never filled in by the page; on edit one left empty keeps its value.
 */
import { Form, Link, useNavigate, useNavigation } from '@remix-run/react';
import { useEffect, useId, useMemo, useState } from 'react';
import type { PostedInterval, PostedScheduleForm, ScheduleFormData, VersionChoice } from '~/lib/schedule-form.server';
import { selectionOf, type RunParameter, type TargetState } from '~/lib/job-run';
import { cronInWords, emptyScheduleIssues, overlapPolicies, overlapTexts, timeUnits } from '~/lib/schedule';
import { FormSection, LimitFields, OtherIssues, ParametersSection, TargetsSection, VersionSelect } from './run-job-form';
import { useTargetPreview, type PickerData } from './run-targets';
import { Alert, Button, Card, Field, Input, Select, Textarea, buttonClass, useHydrated } from './ui';

export type ScheduleFormProps = {
  mode: 'create' | 'edit';
  job: { id: string; name: string; currentVersion: number };
  versions: Array<{ version: number; createdAt: string }>;
  /** The version the form is for (pinned, or the current one at each run), and its parameters. */
  version: VersionChoice;
  parameters: RunParameter[];
  picker: PickerData;
  timeZones: string[];
  /** The first values: empty, or the schedule being edited (without its secrets). */
  initial: PostedScheduleForm;
  /** The schedule's targets are more than the picker can show: saving replaces them. */
  partialTargets: boolean;
  /** The secrets the schedule keeps (edit). */
  secretNames: string[];
  cancelTo: string;
  result: ScheduleFormData | undefined;
};

const VERSION_FORM = 'schedule-version';
const emptyInterval: PostedInterval = { every: '', everyUnit: 'min', offset: '', offsetUnit: 'min' };

function UnitSelect({ name, label, defaultValue }: { name: string; label: string; defaultValue: string }) {
  return (
    <Select name={name} aria-label={label} defaultValue={defaultValue} className="w-28">
      {timeUnits.map((u) => (
        <option key={u.unit} value={u.unit}>
          {u.label}
        </option>
      ))}
    </Select>
  );
}

/** The interval rows: "every N unit, offset M unit", as many as needed (one empty row without JavaScript). */
function Intervals({ initial, errors }: { initial: PostedInterval[]; errors: Record<number, string> }) {
  const [rows, setRows] = useState(() => (initial.length ? initial : [emptyInterval]).map((r, i) => ({ ...r, key: i })));
  const [next, setNext] = useState(rows.length);
  return (
    <fieldset className="space-y-1.5">
      <legend className="text-xs font-medium text-zinc-700">Intervals</legend>
      <p className="text-xs text-zinc-500">
        Every so long, counted from the Unix epoch (not the time zone); the offset moves each time later (every 1 day, offset 3 hours: 03:00
        UTC).
      </p>
      <ul className="space-y-1.5">
        {rows.map((r, i) => (
          <li key={r.key} data-testid="schedule-interval" data-invalid={errors[i] ? 'true' : undefined}>
            <div className="flex flex-wrap items-center gap-2">
              <span className="text-xs text-zinc-500">Every</span>
              <Input
                name="intervalEvery"
                aria-label="Every"
                type="number"
                min={1}
                step="any"
                inputMode="decimal"
                defaultValue={r.every}
                className="w-24"
                aria-invalid={errors[i] ? true : undefined}
              />
              <UnitSelect name="intervalEveryUnit" label="Every unit" defaultValue={r.everyUnit} />
              <span className="text-xs text-zinc-500">offset</span>
              <Input
                name="intervalOffset"
                aria-label="Offset"
                type="number"
                min={0}
                step="any"
                inputMode="decimal"
                defaultValue={r.offset}
                placeholder="0"
                className="w-24"
              />
              <UnitSelect name="intervalOffsetUnit" label="Offset unit" defaultValue={r.offsetUnit} />
              <Button size="sm" variant="ghost" onClick={() => setRows(rows.filter((x) => x.key !== r.key))} aria-label="Remove interval">
                Remove
              </Button>
            </div>
            {errors[i] ? (
              <p className="mt-0.5 text-xs text-red-600" data-testid="schedule-interval-error">
                {errors[i]}
              </p>
            ) : null}
          </li>
        ))}
      </ul>
      <Button
        size="sm"
        onClick={() => {
          setRows([...rows, { ...emptyInterval, key: next }]);
          setNext(next + 1);
        }}
      >
        Add interval
      </Button>
    </fieldset>
  );
}

/** Cron expressions, one a line, each read back in words where it is a common one. */
function CronField({ initial, error }: { initial: string; error: string | undefined }) {
  const id = useId();
  const [value, setValue] = useState(initial);
  const lines = value
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-xs font-medium text-zinc-700">
        Cron expressions
      </label>
      <Textarea
        id={id}
        name="cron"
        rows={Math.min(6, Math.max(2, lines.length + 1))}
        value={value}
        onChange={(e) => setValue(e.currentTarget.value)}
        spellCheck={false}
        placeholder="0 3 * * *"
        aria-invalid={error ? true : undefined}
        aria-describedby={`${id}-hint`}
        maxLength={2500}
      />
      {error ? (
        <p className="text-xs text-red-600" data-testid="schedule-cron-error">
          {error}
        </p>
      ) : null}
      <p id={`${id}-hint`} className="text-xs text-zinc-500">
        One a line: minute hour day-of-month month day-of-week, in the time zone below — <code>0 3 * * 1-5</code> is 03:00 Monday to Friday;{' '}
        <code>@daily</code>, <code>@hourly</code> work too.
      </p>
      {lines.length ? (
        <ul className="space-y-0.5 text-xs text-zinc-600" data-testid="schedule-cron-words">
          {lines.map((l, i) => (
            <li key={`${i}:${l}`}>
              <code className="font-mono">{l}</code>
              {cronInWords(l) ? <span> — {cronInWords(l)}</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function TimeZoneField({
  zone,
  onChange,
  zones,
  error,
}: {
  zone: string;
  onChange: (zone: string) => void;
  zones: string[];
  error: string | undefined;
}) {
  const hydrated = useHydrated();
  const browserZone = hydrated ? Intl.DateTimeFormat().resolvedOptions().timeZone : null;
  return (
    <Field
      label="Time zone"
      error={error}
      hint={
        <>
          Cron times, start and end are read in it (daylight saving time included).
          {browserZone && browserZone !== zone && zones.includes(browserZone) ? (
            <>
              {' '}
              <button type="button" className="font-medium text-zinc-700 underline" onClick={() => onChange(browserZone)}>
                Use {browserZone}
              </button>{' '}
              (this browser&apos;s)
            </>
          ) : null}
        </>
      }
    >
      {(p) => (
        <Select {...p} name="timeZone" value={zone} onChange={(e) => onChange(e.currentTarget.value)} className="w-72">
          {zones.map((z) => (
            <option key={z} value={z}>
              {z}
            </option>
          ))}
        </Select>
      )}
    </Field>
  );
}

function OverlapField({ initial, error }: { initial: string; error: string | undefined }) {
  const id = useId();
  return (
    <fieldset className="space-y-1.5" data-testid="schedule-overlap">
      <legend className="text-xs font-medium text-zinc-700">If the last run is still going</legend>
      {error ? <p className="text-xs text-red-600">{error}</p> : null}
      <div className="grid gap-1.5 sm:grid-cols-2">
        {overlapPolicies.map((p) => (
          <div key={p} className="flex items-start gap-2 rounded-md px-2 py-1.5 ring-1 ring-zinc-200 ring-inset">
            <input
              type="radio"
              id={`${id}-${p}`}
              name="overlap"
              value={p}
              defaultChecked={initial === p}
              aria-describedby={`${id}-${p}-text`}
              className="mt-0.5 accent-zinc-900"
            />
            <span className="min-w-0">
              <label htmlFor={`${id}-${p}`} className="block text-[13px] font-medium text-zinc-900">
                {overlapTexts[p].label}
              </label>
              <span id={`${id}-${p}-text`} className="block text-xs text-zinc-500">
                {overlapTexts[p].description}
              </span>
            </span>
          </div>
        ))}
      </div>
    </fieldset>
  );
}

export function ScheduleForm({
  mode,
  job,
  versions,
  version,
  parameters,
  picker,
  timeZones,
  initial,
  partialTargets,
  secretNames,
  cancelTo,
  result: answer,
}: ScheduleFormProps) {
  // An answer about another version (the page moved on to another one meanwhile) is not this form's.
  const result = answer && answer.version === version ? answer : undefined;
  const start = result?.posted ?? initial;
  const navigate = useNavigate();
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting' && navigation.formMethod?.toLowerCase() === 'post';
  const [target, setTarget] = useState<TargetState>(() => ({
    target: start.target,
    deviceIds: start.deviceIds,
    targetGroupId: start.targetGroupId,
    targetTag: start.targetTag,
    filterSearch: start.filterSearch,
    filterStatus: start.filterStatus,
    filterOsFamily: start.filterOsFamily,
  }));
  const selection = useMemo(() => selectionOf(target), [target]);
  const preview = useTargetPreview(selection);
  const [zone, setZone] = useState(start.timeZone || 'UTC');
  // Secret inputs are remounted (emptied) with every answer: a value typed once is never kept by the page.
  const [answers, setAnswers] = useState(0);
  useEffect(() => {
    if (answer) setAnswers((n) => n + 1);
  }, [answer]);
  const issues = result?.issues ?? emptyScheduleIssues();
  const fields = issues.fields;
  const own = issues.schedule;
  const secrets = parameters.filter((p) => p.type === 'secret');
  const pinned = version === 'current' ? null : version;

  return (
    <>
      {/* The version picker's own form (GET ?version=…); its select sits in section 4 through the `form` attribute. */}
      <Form id={VERSION_FORM} method="get" preventScrollReset />
      <Form method="post" noValidate className="space-y-4" data-testid="schedule-form">
        <input type="hidden" name="version" value={version} />
        {result?.formError ? (
          <Alert title={result.formErrorTitle ?? (mode === 'create' ? 'The schedule was not created' : 'The schedule was not saved')}>
            {result.formError}
            <OtherIssues other={issues.other} />
          </Alert>
        ) : null}

        <FormSection n={1} title="Schedule">
          <div className="grid gap-3 sm:grid-cols-[minmax(0,1fr)_minmax(0,2fr)]">
            <Field label="Name" error={own.name}>
              {(p) => <Input {...p} name="name" defaultValue={start.name} maxLength={200} autoComplete="off" required />}
            </Field>
            <Field label="Description" error={own.description}>
              {(p) => <Input {...p} name="description" defaultValue={start.description} maxLength={2000} autoComplete="off" />}
            </Field>
          </div>
        </FormSection>

        <FormSection n={2} title="When">
          {own.spec ? (
            <div
              role="alert"
              className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-[13px] text-red-800"
              data-testid="schedule-spec-error"
            >
              <p className="font-medium">The schedule&apos;s times were refused</p>
              <p className="mt-0.5 font-mono text-xs break-words">{own.spec}</p>
            </div>
          ) : null}
          <CronField initial={start.cron} error={own.cron ?? (own.spec && start.cron.trim() ? 'Check the cron expressions' : undefined)} />
          <Intervals initial={start.intervals} errors={issues.intervals} />
          <div className="grid gap-3 sm:grid-cols-2">
            <TimeZoneField zone={zone} onChange={setZone} zones={timeZones} error={own.timeZone} />
            <Field label="Jitter (s)" error={own.jitterSeconds} hint="Each run starts up to this much later, at random; empty: on time">
              {(p) => (
                <Input
                  {...p}
                  name="jitterSeconds"
                  type="number"
                  min={0}
                  max={86_400}
                  inputMode="numeric"
                  defaultValue={start.jitterSeconds}
                  placeholder="0"
                  className="w-40"
                />
              )}
            </Field>
            <Field label="Start" error={own.startAt} hint={`Optional: no runs before this time (in ${zone})`}>
              {(p) => <Input {...p} name="startAt" type="datetime-local" defaultValue={start.startAt} className="w-60" />}
            </Field>
            <Field label="End" error={own.endAt} hint={`Optional: no runs after this time (in ${zone})`}>
              {(p) => <Input {...p} name="endAt" type="datetime-local" defaultValue={start.endAt} className="w-60" />}
            </Field>
          </div>
        </FormSection>

        <TargetsSection
          n={3}
          picker={picker}
          state={target}
          onChange={setTarget}
          error={fields.target}
          preview={preview}
          selection={selection}
        >
          {partialTargets ? (
            <Alert tone="warning">
              This schedule&apos;s targets are more than this picker shows (several groups or tags, or a filter by group, tag or custom
              field): saving replaces them with what is chosen here.
            </Alert>
          ) : null}
          <p className="text-xs text-zinc-500">The devices are resolved each time the schedule fires; the count is today&apos;s.</p>
        </TargetsSection>

        <ParametersSection
          n={4}
          versionSelect={
            <VersionSelect
              formId={VERSION_FORM}
              value={String(version)}
              options={[
                { value: 'current', label: `Current (v${job.currentVersion} now)` },
                ...versions.map((v) => ({
                  value: String(v.version),
                  label: `v${v.version}${v.version === job.currentVersion ? ' (current)' : ''} only`,
                })),
              ]}
              invalid={Boolean(fields.version)}
              onPick={(v) => navigate(`?version=${v}`, { replace: true, preventScrollReset: true })}
            />
          }
          versionError={fields.version}
          notice={
            <>
              <p className="text-xs text-zinc-500" data-testid="schedule-version-note">
                {pinned === null
                  ? `Each run uses the job's version current when it fires (now v${job.currentVersion}); values are checked against it now.`
                  : `Every run uses version ${pinned}${pinned !== job.currentVersion ? `, not the current version ${job.currentVersion}` : ''}.`}
              </p>
              {mode === 'edit' && secrets.length ? (
                <Alert tone="info" title="Secrets stay unless you replace them">
                  Secrets are never sent back to the browser. A secret left empty keeps the value the schedule has
                  {secretNames.length ? ` (it keeps ${secretNames.join(', ')} now)` : ''}; one you type replaces it.
                </Alert>
              ) : null}
            </>
          }
          parameters={parameters}
          posted={start.values}
          issues={issues.parameters}
          secretsAgain={mode === 'edit' || Boolean(result?.secretsAgain)}
          remountKey={`${version}:${answers}`}
        />

        <FormSection n={5} title="Each run">
          <OverlapField initial={start.overlap} error={own.overlap} />
          <LimitFields posted={start} fields={fields} />
        </FormSection>

        <Card>
          <div className="flex flex-wrap items-center justify-between gap-3 p-4">
            <label className="flex items-center gap-2 text-[13px] text-zinc-700">
              <input type="checkbox" name="paused" value="true" defaultChecked={start.paused} className="size-4 accent-zinc-900" />
              {mode === 'create' ? 'Create paused' : 'Paused'}
              <span className="text-xs text-zinc-500">— no runs start until it is unpaused</span>
            </label>
            <span className="flex items-center gap-2">
              <Link to={cancelTo} className={buttonClass('ghost')}>
                Cancel
              </Link>
              <Button type="submit" variant="primary" disabled={busy}>
                {busy ? 'Saving…' : mode === 'create' ? 'Create schedule' : 'Save schedule'}
              </Button>
            </span>
          </div>
        </Card>
      </Form>
    </>
  );
}
