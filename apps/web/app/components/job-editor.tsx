/**
 * The job editor: name and description, a parameter form builder, a step builder and chains, or the whole
 * definition as JSON (the two tabs stay in step). The definition is posted with the form as JSON: from a hidden
 * field the builder keeps up to date, or from the JSON tab's textarea itself — which is what works without
 * JavaScript (the tabs are links, `?tab=json`).
 */
import { Form, Link, useNavigation } from '@remix-run/react';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import {
  addParameter,
  addStep,
  changeParameterType,
  conditionLabels,
  conditionShortLabels,
  definitionFromState,
  definitionText,
  deviceFieldLabels,
  deviceFields,
  emptyEditorState,
  enumValues,
  fieldPath,
  issuesByKey,
  keyLocation,
  moveItem,
  parameterTypeLabels,
  parameterTypes,
  parseDefinitionText,
  removeItem,
  scriptInterpreters,
  stepConditions,
  stepKindLabels,
  stepKinds,
  updateItem,
  type EditorState,
  type Issue,
  type ParameterState,
  type StepState,
} from '~/lib/job-editor';
import { expiryUnitLabels, expiryUnits, expiryText, secondsOfExpiry, type ExpiryUnit } from '~/lib/approval';
import { Alert, Button, Card, Field, Input, Select, Textarea, buttonClass, cx } from './ui';

export type EditorMode = 'builder' | 'json';

/** What the editor's action answers when nothing was saved. */
export type JobFormData = {
  formError?: string;
  /** The API's validation issues, paths relative to the definition (`steps.1.command`). */
  issues?: Issue[];
  /** The definition as posted, so that nothing typed is lost (the page may be rendered anew without JavaScript). */
  definitionText: string;
  mode: EditorMode;
  /** The version the posted edit started from. */
  expectedVersion?: number;
  /** Someone else saved a newer version meanwhile. */
  conflict?: { jobId: string; currentVersion: number; savedBy: string | null; message: string };
};

type Initial = { state: EditorState; mode: EditorMode; text: string; jsonError: string | null; errors: Record<string, string[]> };

/**
 * The starting state: what was posted last (the page is rendered anew after a failed save without JavaScript),
 * else the definition given, else an empty job. A definition the builder cannot show opens in the JSON tab
 * with the reason, never as an empty form (saving that would replace the job).
 */
function initialEditor(definition: unknown, mode: EditorMode, result: JobFormData | undefined): Initial {
  const wanted = result?.mode ?? mode;
  if (!result && !definition) {
    const state = emptyEditorState();
    return { state, mode: wanted, text: definitionText(definitionFromState(state)), jsonError: null, errors: {} };
  }
  const given = result ? result.definitionText : definitionText(definition);
  const parsed = parseDefinitionText(given);
  if (!parsed.ok) return { state: emptyEditorState(), mode: 'json', text: given, jsonError: parsed.error, errors: {} };
  // A stored definition is shown in the order the format documents; posted text stays as it was typed.
  const text = result ? given : definitionText(definitionFromState(parsed.state));
  return { state: parsed.state, mode: wanted, text, jsonError: null, errors: issuesByKey(parsed.state, result?.issues ?? []) };
}

type Errors = Record<string, string[]>;
const message = (errors: Errors, key: string) => errors[key]?.join('; ');

export function JobEditor({
  definition,
  mode: initialMode,
  result,
  expectedVersion,
  jobNames,
  submitLabel,
  cancelTo,
}: {
  /** The definition to start from; none for a new job. */
  definition: unknown;
  mode: EditorMode;
  result: JobFormData | undefined;
  expectedVersion?: number;
  /** Names offered for chains. */
  jobNames: string[];
  submitLabel: string;
  cancelTo: string;
}) {
  const [initial] = useState(() => initialEditor(definition, initialMode, result));
  const [state, setState] = useState(initial.state);
  const [mode, setMode] = useState(initial.mode);
  const [jsonText, setJsonText] = useState(initial.text);
  const [jsonError, setJsonError] = useState(initial.jsonError);
  const [errors, setErrors] = useState<Errors>(initial.errors);
  // The version this edit started from, fixed for the editor's life: a reload of the page's data after a
  // failed save must not turn a stale edit into one over the newer version.
  const [startedAt] = useState(result?.expectedVersion ?? expectedVersion);
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting';

  // A new answer of the action: its issues go to the inputs of the items as they are now (what was posted).
  const stateRef = useRef(state);
  stateRef.current = state;
  useEffect(() => {
    if (result) setErrors(issuesByKey(stateRef.current, result.issues ?? []));
  }, [result]);

  const serialized = useMemo(() => definitionText(definitionFromState(state)), [state]);

  /** Applies an edit and drops the messages of the inputs it changed. */
  const edit = (fn: (s: EditorState) => EditorState, cleared: string[]) => {
    setState(fn);
    if (cleared.some((k) => errors[k])) {
      setErrors((e) => Object.fromEntries(Object.entries(e).filter(([k]) => !cleared.includes(k))));
    }
  };
  const setTop = (patch: Partial<Pick<EditorState, 'name' | 'description' | 'onSuccess' | 'onFailure'>>) =>
    edit(
      (s) => ({ ...s, ...patch }),
      Object.keys(patch).map((k) => (k === 'onSuccess' || k === 'onFailure' ? `chains.${k}` : k)),
    );
  const setParameter = (id: string, patch: Partial<ParameterState>) =>
    edit(
      (s) => ({ ...s, parameters: updateItem(s.parameters, id, patch) }),
      [`p:${id}`, ...Object.keys(patch).map((k) => `p:${id}.${fieldPath(k)}`)],
    );
  const setStep = (id: string, patch: Partial<StepState>) =>
    edit(
      (s) => ({ ...s, steps: updateItem(s.steps, id, patch) }),
      [`s:${id}`, ...Object.keys(patch).map((k) => `s:${id}.${fieldPath(k)}`)],
    );
  const setApproval = (patch: Partial<Pick<EditorState, 'approval' | 'approvalExpiry' | 'approvalUnit'>>) =>
    edit((s) => ({ ...s, ...patch }), ['approval', 'approval.expiresAfterSeconds']);
  const dropItem = (id: string, prefix: 'p' | 's') => {
    setState((s) => (prefix === 'p' ? { ...s, parameters: removeItem(s.parameters, id) } : { ...s, steps: removeItem(s.steps, id) }));
    setErrors((e) => Object.fromEntries(Object.entries(e).filter(([k]) => !k.startsWith(`${prefix}:${id}`))));
  };

  const showJson = () => {
    setJsonText(serialized);
    setJsonError(null);
    setMode('json');
  };
  const onJsonChange = (text: string) => {
    setJsonText(text);
    const parsed = parseDefinitionText(text, state);
    if (parsed.ok) {
      setState(parsed.state);
      setJsonError(null);
    } else {
      setJsonError(parsed.error);
    }
  };

  const summary = Object.entries(errors).flatMap(([key, messages]) => messages.map((m) => ({ key, message: m })));
  const rawIssues = result?.issues ?? [];

  return (
    <Form method="post" className="space-y-4" noValidate data-testid="job-editor">
      {result?.conflict ? <ConflictAlert conflict={result.conflict} /> : null}
      {result?.formError && !(mode === 'builder' && summary.length > 0) ? (
        <Alert title="The job was not saved">{result.formError}</Alert>
      ) : null}

      <div className="flex items-center justify-between gap-2">
        <p className="text-xs text-zinc-500">
          Refer to a parameter in a step as <code className="font-mono">{'{{ name }}'}</code>: it reaches the step as an environment
          variable, never as part of the command.
        </p>
        <div role="group" aria-label="Editor" className="inline-flex rounded-md ring-1 ring-zinc-300 ring-inset">
          <Tab pressed={mode === 'builder'} disabled={jsonError !== null} href="?tab=builder" onClick={() => setMode('builder')}>
            Builder
          </Tab>
          <Tab pressed={mode === 'json'} href="?tab=json" onClick={showJson}>
            JSON
          </Tab>
        </div>
      </div>

      {mode === 'builder' && summary.length > 0 ? (
        <Alert title={`The job was not saved: ${summary.length === 1 ? 'a problem' : `${summary.length} problems`} in the definition`}>
          <ul className="list-disc space-y-0.5 pl-4" data-testid="job-error-summary">
            {summary.map((e, i) => (
              <li key={`${e.key}:${i}`}>
                <span className="font-medium">{keyLocation(state, e.key)}: </span>
                {e.message}
              </li>
            ))}
          </ul>
        </Alert>
      ) : null}

      <input type="hidden" name="mode" value={mode} />
      {startedAt ? <input type="hidden" name="expectedVersion" value={startedAt} /> : null}

      {mode === 'builder' ? (
        <>
          <noscript>
            <Alert tone="warning" title="The builder needs JavaScript">
              Without it, edit the definition in the{' '}
              <a href="?tab=json" className="font-medium underline">
                JSON tab
              </a>
              .
            </Alert>
          </noscript>
          <input type="hidden" name="definition" value={serialized} />
          <Card title="Job">
            <div className="grid gap-3 p-4 md:grid-cols-[minmax(0,320px)_minmax(0,1fr)]">
              <Field label="Name" error={message(errors, 'name')}>
                {(p) => (
                  <Input
                    {...p}
                    value={state.name}
                    onChange={(e) => setTop({ name: e.currentTarget.value })}
                    maxLength={200}
                    autoComplete="off"
                  />
                )}
              </Field>
              <Field label="Description" error={message(errors, 'description')} hint="Optional">
                {(p) => (
                  <Textarea
                    {...p}
                    value={state.description}
                    onChange={(e) => setTop({ description: e.currentTarget.value })}
                    rows={1}
                    maxLength={4000}
                    className="font-sans text-[13px]"
                  />
                )}
              </Field>
            </div>
          </Card>

          <Card
            title={`Parameters (${state.parameters.length})`}
            actions={
              <Button size="sm" onClick={() => edit(addParameter, ['parameters'])}>
                Add parameter
              </Button>
            }
          >
            {message(errors, 'parameters') ? <p className="px-4 pt-3 text-xs text-red-600">{message(errors, 'parameters')}</p> : null}
            {state.parameters.length === 0 ? (
              <p className="px-4 py-6 text-center text-[13px] text-zinc-500">No parameters: the job runs the same everywhere.</p>
            ) : (
              <ol className="divide-y divide-zinc-100">
                {state.parameters.map((p, i) => (
                  <ParameterEditor
                    key={p.id}
                    p={p}
                    index={i}
                    count={state.parameters.length}
                    errors={errors}
                    set={(patch) => setParameter(p.id, patch)}
                    move={(delta) => setState((s) => ({ ...s, parameters: moveItem(s.parameters, p.id, delta) }))}
                    remove={() => dropItem(p.id, 'p')}
                  />
                ))}
              </ol>
            )}
          </Card>

          <Card
            title={`Steps (${state.steps.length})`}
            actions={
              <Button size="sm" onClick={() => edit(addStep, ['steps'])}>
                Add step
              </Button>
            }
          >
            {message(errors, 'steps') ? <p className="px-4 pt-3 text-xs text-red-600">{message(errors, 'steps')}</p> : null}
            {state.steps.length === 0 ? (
              <p className="px-4 py-6 text-center text-[13px] text-zinc-500">A job needs at least one step.</p>
            ) : (
              <ol className="divide-y divide-zinc-100">
                {state.steps.map((s, i) => (
                  <StepEditor
                    key={s.id}
                    s={s}
                    index={i}
                    count={state.steps.length}
                    errors={errors}
                    set={(patch) => setStep(s.id, patch)}
                    move={(delta) => setState((st) => ({ ...st, steps: moveItem(st.steps, s.id, delta) }))}
                    remove={() => dropItem(s.id, 's')}
                  />
                ))}
              </ol>
            )}
          </Card>

          <Card title="Chains">
            <div className="grid gap-3 p-4 md:grid-cols-2">
              <Field
                label="On success, start"
                error={message(errors, 'chains.onSuccess') ?? message(errors, 'chains')}
                hint="Another job, by name, on the same targets"
              >
                {(p) => (
                  <Input
                    {...p}
                    value={state.onSuccess}
                    onChange={(e) => setTop({ onSuccess: e.currentTarget.value })}
                    list="job-names"
                    autoComplete="off"
                  />
                )}
              </Field>
              <Field label="On failure, start" error={message(errors, 'chains.onFailure')} hint="Another job, by name, on the same targets">
                {(p) => (
                  <Input
                    {...p}
                    value={state.onFailure}
                    onChange={(e) => setTop({ onFailure: e.currentTarget.value })}
                    list="job-names"
                    autoComplete="off"
                  />
                )}
              </Field>
              <datalist id="job-names">
                {jobNames.map((n) => (
                  <option key={n} value={n} />
                ))}
              </datalist>
            </div>
          </Card>

          <ApprovalEditor state={state} errors={errors} set={setApproval} />
        </>
      ) : (
        <Card title="Definition (JSON)">
          <div className="space-y-1.5 p-4">
            <Textarea
              name="definition"
              aria-label="Definition JSON"
              value={jsonText}
              onChange={(e) => onJsonChange(e.currentTarget.value)}
              rows={Math.min(40, Math.max(12, jsonText.split('\n').length + 1))}
              spellCheck={false}
              autoCapitalize="off"
              autoCorrect="off"
              {...(jsonError ? { 'aria-invalid': true, 'aria-describedby': 'job-json-error' } : {})}
            />
            {jsonError ? (
              <p id="job-json-error" className="text-xs text-amber-700" data-testid="job-json-error">
                {jsonError}
              </p>
            ) : (
              <p className="text-xs text-zinc-500">
                The format is documented by its{' '}
                <a href="/api/v1/jobs/schema" className="underline" target="_blank" rel="noreferrer">
                  JSON Schema
                </a>
                ; edits apply to the builder as you type.
              </p>
            )}
            {rawIssues.length > 0 && result?.definitionText === jsonText ? <IssueList issues={rawIssues} /> : null}
          </div>
        </Card>
      )}

      <div className="flex items-center gap-2">
        <Button type="submit" variant="primary" disabled={busy}>
          {submitLabel}
        </Button>
        <Link to={cancelTo} className={buttonClass('ghost')}>
          Cancel
        </Link>
      </div>
    </Form>
  );
}

/** Four-eyes: whether a run waits for another operator's approval, and how long it may wait. */
function ApprovalEditor({
  state,
  errors,
  set,
}: {
  state: EditorState;
  errors: Errors;
  set: (patch: Partial<Pick<EditorState, 'approval' | 'approvalExpiry' | 'approvalUnit'>>) => void;
}) {
  const expiryError = message(errors, 'approval.expiresAfterSeconds') ?? message(errors, 'approval');
  const seconds = secondsOfExpiry(state.approvalExpiry, state.approvalUnit);
  return (
    <Card title="Approval">
      <div className="space-y-3 p-4" data-testid="job-approval">
        <div>
          <Check label="Requires approval (four-eyes)" checked={state.approval} onChange={(v) => set({ approval: v })} />
          <p className="mt-1 text-xs text-zinc-500">
            A run waits until an operator other than the one who started it approves it; nothing runs before. It ends rejected when
            rejected, expired when nobody decides in time.
          </p>
        </div>
        {state.approval ? (
          <Field
            label="Expires after"
            error={expiryError}
            hint={
              typeof seconds === 'number' && Number.isInteger(seconds) && seconds > 0
                ? `${expiryText(seconds)}; between 1 minute and 30 days`
                : 'Between 1 minute and 30 days; empty for 24 hours'
            }
            className="max-w-sm"
          >
            {(a) => (
              <div className="flex items-center gap-2">
                <Input
                  {...a}
                  type="number"
                  min={0}
                  step="any"
                  value={state.approvalExpiry}
                  onChange={(e) => set({ approvalExpiry: e.currentTarget.value })}
                  className="w-28"
                />
                <Select
                  aria-label="Expiry unit"
                  value={state.approvalUnit}
                  onChange={(e) => set({ approvalUnit: e.currentTarget.value as ExpiryUnit })}
                  className="w-32"
                >
                  {expiryUnits.map((u) => (
                    <option key={u} value={u}>
                      {expiryUnitLabels[u]}
                    </option>
                  ))}
                </Select>
              </div>
            )}
          </Field>
        ) : null}
      </div>
    </Card>
  );
}

/** Validation issues by path (the JSON tab and the import page). */
export function IssueList({ issues }: { issues: Issue[] }) {
  return (
    <Alert title={issues.length === 1 ? 'The definition has a problem' : `The definition has ${issues.length} problems`}>
      <ul className="list-disc space-y-0.5 pl-4" data-testid="job-issues">
        {issues.map((e, i) => (
          <li key={`${e.path}:${i}`}>
            <span className="font-mono text-[12px]">{e.path || 'definition'}</span>: {e.message}
          </li>
        ))}
      </ul>
    </Alert>
  );
}

function ConflictAlert({ conflict }: { conflict: NonNullable<JobFormData['conflict']> }) {
  return (
    <div data-testid="job-conflict">
      <Alert title="Someone else saved this job while you were editing">
        <p>
          {conflict.message} Version {conflict.currentVersion}
          {conflict.savedBy ? ` was saved by ${conflict.savedBy}` : ''}.{' '}
          <Link to={`/jobs/${conflict.jobId}/versions/${conflict.currentVersion}`} className="font-medium underline" target="_blank">
            See version {conflict.currentVersion}
          </Link>{' '}
          ·{' '}
          <Link to={`/jobs/${conflict.jobId}/edit`} className="font-medium underline" reloadDocument>
            Edit the newest version
          </Link>{' '}
          (discards your changes; copy them from the JSON tab first to keep them).
        </p>
      </Alert>
    </div>
  );
}

function Tab({
  pressed,
  disabled,
  href,
  onClick,
  children,
}: {
  pressed: boolean;
  disabled?: boolean;
  href: string;
  onClick: () => void;
  children: ReactNode;
}) {
  const className = cx(
    'inline-flex h-6 items-center px-2.5 text-[11px] font-semibold tracking-wide first:rounded-l-md last:rounded-r-md',
    pressed ? 'bg-zinc-900 text-white' : 'bg-white text-zinc-600 hover:bg-zinc-50',
    disabled && 'cursor-not-allowed opacity-50',
  );
  // A link, so that the JSON tab is reachable without JavaScript; with it, the tab switches in place.
  return (
    <a
      href={href}
      role="button"
      aria-pressed={pressed}
      aria-disabled={disabled || undefined}
      title={disabled ? 'Fix the JSON first' : undefined}
      className={className}
      onClick={(e) => {
        e.preventDefault();
        if (!disabled && !pressed) onClick();
      }}
    >
      {children}
    </a>
  );
}

function Check({
  label,
  checked,
  onChange,
  disabled,
}: {
  label: string;
  checked: boolean;
  onChange: (v: boolean) => void;
  disabled?: boolean;
}) {
  return (
    <label className={cx('inline-flex items-center gap-1.5 text-xs font-medium text-zinc-700', disabled && 'opacity-50')}>
      <input
        type="checkbox"
        checked={checked}
        disabled={disabled}
        onChange={(e) => onChange(e.currentTarget.checked)}
        className="size-3.5 accent-zinc-900"
      />
      {label}
    </label>
  );
}

function ItemButtons({
  what,
  index,
  count,
  move,
  remove,
}: {
  what: string;
  index: number;
  count: number;
  move: (d: number) => void;
  remove: () => void;
}) {
  return (
    <div className="flex shrink-0 items-center gap-0.5">
      <Button
        size="sm"
        variant="ghost"
        aria-label={`Move ${what} ${index + 1} up`}
        title="Move up"
        disabled={index === 0}
        onClick={() => move(-1)}
      >
        ↑
      </Button>
      <Button
        size="sm"
        variant="ghost"
        aria-label={`Move ${what} ${index + 1} down`}
        title="Move down"
        disabled={index === count - 1}
        onClick={() => move(1)}
      >
        ↓
      </Button>
      <Button
        size="sm"
        variant="ghost"
        className="text-zinc-400 hover:text-red-700"
        aria-label={`Remove ${what} ${index + 1}`}
        title={`Remove ${what}`}
        onClick={remove}
      >
        ✕
      </Button>
    </div>
  );
}

function ParameterEditor({
  p,
  index,
  count,
  errors,
  set,
  move,
  remove,
}: {
  p: ParameterState;
  index: number;
  count: number;
  errors: Errors;
  set: (patch: Partial<ParameterState>) => void;
  move: (delta: number) => void;
  remove: () => void;
}) {
  const err = (field: string) => message(errors, `p:${p.id}.${field}`);
  const whole = message(errors, `p:${p.id}`);
  const values = enumValues(p.values);
  return (
    <li data-testid="job-parameter" aria-label={`Parameter ${index + 1}`} className="px-4 py-3">
      <div className="flex items-start gap-3">
        <span className="mt-6 w-5 shrink-0 text-right text-xs font-semibold text-zinc-400 tabular-nums">{index + 1}</span>
        <div className="grid min-w-0 flex-1 gap-3 md:grid-cols-[minmax(0,200px)_minmax(0,160px)_minmax(0,1fr)]">
          <Field label="Parameter name" error={err('name')}>
            {(a) => (
              <Input
                {...a}
                value={p.name}
                onChange={(e) => set({ name: e.currentTarget.value })}
                className="font-mono text-xs"
                spellCheck={false}
                autoComplete="off"
              />
            )}
          </Field>
          <Field label="Type" error={err('type')}>
            {(a) => (
              <Select {...a} value={p.type} onChange={(e) => set(changeParameterType(p, e.currentTarget.value as ParameterState['type']))}>
                {parameterTypes.map((t) => (
                  <option key={t} value={t}>
                    {parameterTypeLabels[t]}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field label="Label" error={err('label')} hint="Shown when the job is run; optional">
            {(a) => <Input {...a} value={p.label} onChange={(e) => set({ label: e.currentTarget.value })} maxLength={200} />}
          </Field>

          {p.type === 'string' ? (
            <Field label="Default" error={err('default')}>
              {(a) => <Input {...a} value={p.default} onChange={(e) => set({ default: e.currentTarget.value })} />}
            </Field>
          ) : null}
          {p.type === 'number' ? (
            <>
              <Field label="Default" error={err('default')}>
                {(a) => (
                  <Input {...a} type="number" step="any" value={p.default} onChange={(e) => set({ default: e.currentTarget.value })} />
                )}
              </Field>
              <div className="grid grid-cols-2 gap-3">
                <Field label="Min" error={err('min')}>
                  {(a) => <Input {...a} type="number" step="any" value={p.min} onChange={(e) => set({ min: e.currentTarget.value })} />}
                </Field>
                <Field label="Max" error={err('max')}>
                  {(a) => <Input {...a} type="number" step="any" value={p.max} onChange={(e) => set({ max: e.currentTarget.value })} />}
                </Field>
              </div>
            </>
          ) : null}
          {p.type === 'boolean' ? (
            <Field label="Default" error={err('default')}>
              {(a) => (
                <Select {...a} value={p.default} onChange={(e) => set({ default: e.currentTarget.value })}>
                  <option value="">None</option>
                  <option value="true">Yes (true)</option>
                  <option value="false">No (false)</option>
                </Select>
              )}
            </Field>
          ) : null}
          {p.type === 'enum' ? (
            <>
              <Field label="Values" error={err('values')} hint="One per line">
                {(a) => (
                  <Textarea {...a} value={p.values} onChange={(e) => set({ values: e.currentTarget.value })} rows={3} spellCheck={false} />
                )}
              </Field>
              <Field label="Default" error={err('default')}>
                {(a) => (
                  <Select {...a} value={p.default} onChange={(e) => set({ default: e.currentTarget.value })}>
                    <option value="">None</option>
                    {(p.default && !values.includes(p.default) ? [...values, p.default] : values).map((v) => (
                      <option key={v} value={v}>
                        {v}
                      </option>
                    ))}
                  </Select>
                )}
              </Field>
            </>
          ) : null}
          {p.type === 'secret' ? (
            <p className="self-center text-xs text-zinc-500">Given when the job is run, never stored with it: a secret has no default.</p>
          ) : null}
          {p.type === 'device' ? (
            <Field label="Device field" error={err('field')} hint="Taken from each target device when the run starts">
              {(a) => (
                <Select {...a} value={p.field} onChange={(e) => set({ field: e.currentTarget.value as ParameterState['field'] })}>
                  {deviceFields.map((f) => (
                    <option key={f} value={f}>
                      {deviceFieldLabels[f]}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
          ) : null}

          <div className={cx('flex flex-wrap items-center gap-4', p.type === 'number' ? '' : 'md:col-span-1')}>
            {p.type !== 'device' ? <Check label="Required" checked={p.required} onChange={(v) => set({ required: v })} /> : null}
            {p.type === 'number' ? <Check label="Whole number" checked={p.integer} onChange={(v) => set({ integer: v })} /> : null}
            {err('required') || err('integer') ? <p className="text-xs text-red-600">{err('required') ?? err('integer')}</p> : null}
          </div>
          <Field label="Description" error={err('description')} hint="Optional" className="md:col-span-3">
            {(a) => <Input {...a} value={p.description} onChange={(e) => set({ description: e.currentTarget.value })} maxLength={4000} />}
          </Field>
          {whole ? <p className="text-xs text-red-600 md:col-span-3">{whole}</p> : null}
        </div>
        <ItemButtons what="parameter" index={index} count={count} move={move} remove={remove} />
      </div>
    </li>
  );
}

function StepEditor({
  s,
  index,
  count,
  errors,
  set,
  move,
  remove,
}: {
  s: StepState;
  index: number;
  count: number;
  errors: Errors;
  set: (patch: Partial<StepState>) => void;
  move: (delta: number) => void;
  remove: () => void;
}) {
  const err = (field: string) => message(errors, `s:${s.id}.${field}`);
  const whole = message(errors, `s:${s.id}`);
  const invalid = Object.keys(errors).some((k) => k === `s:${s.id}` || k.startsWith(`s:${s.id}.`));
  return (
    <li data-testid="job-step" aria-label={`Step ${index + 1}`} className={cx('px-4 py-3', invalid && 'bg-red-50/40')}>
      <div className="flex items-start gap-3">
        <span className="mt-6 w-5 shrink-0 text-right text-xs font-semibold text-zinc-400 tabular-nums">{index + 1}</span>
        <div className="min-w-0 flex-1 space-y-3">
          <div className="grid gap-3 md:grid-cols-[minmax(0,1fr)_minmax(0,200px)]">
            <Field label="Step name" error={err('name')}>
              {(a) => (
                <Input {...a} value={s.name} onChange={(e) => set({ name: e.currentTarget.value })} maxLength={200} autoComplete="off" />
              )}
            </Field>
            <Field label="Kind" error={err('kind')}>
              {(a) => (
                <Select {...a} value={s.kind} onChange={(e) => set({ kind: e.currentTarget.value as StepState['kind'] })}>
                  {stepKinds.map((k) => (
                    <option key={k} value={k}>
                      {stepKindLabels[k]}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
          </div>

          {s.kind === 'shell' || s.kind === 'powershell' || s.kind === 'cmd' ? (
            <Field
              label="Command"
              error={err('command')}
              hint={s.kind === 'shell' ? 'Run with /bin/sh -c' : s.kind === 'powershell' ? 'Run with PowerShell' : 'Run with cmd.exe'}
            >
              {(a) => (
                <Textarea
                  {...a}
                  value={s.command}
                  onChange={(e) => set({ command: e.currentTarget.value })}
                  rows={Math.min(12, Math.max(2, s.command.split('\n').length))}
                  spellCheck={false}
                />
              )}
            </Field>
          ) : null}
          {s.kind === 'script' ? (
            <div className="grid gap-3 md:grid-cols-[160px_minmax(0,1fr)]">
              <Field label="Interpreter" error={err('interpreter')}>
                {(a) => (
                  <Select
                    {...a}
                    value={s.interpreter}
                    onChange={(e) => set({ interpreter: e.currentTarget.value as StepState['interpreter'] })}
                  >
                    {scriptInterpreters.map((i) => (
                      <option key={i} value={i}>
                        {i}
                      </option>
                    ))}
                  </Select>
                )}
              </Field>
              <Field
                label="Script"
                error={err('body')}
                hint={s.interpreter === 'python' ? 'Read parameters with os.environ["OC_PARAM_NAME"]' : undefined}
              >
                {(a) => (
                  <Textarea
                    {...a}
                    value={s.body}
                    onChange={(e) => set({ body: e.currentTarget.value })}
                    rows={Math.min(20, Math.max(4, s.body.split('\n').length + 1))}
                    spellCheck={false}
                  />
                )}
              </Field>
            </div>
          ) : null}
          {s.kind === 'file_copy' ? (
            <div className="grid gap-3 md:grid-cols-2">
              <Field label="File SHA-256" error={err('fileSha256')} hint="A file stored on the server, by its hash">
                {(a) => (
                  <Input
                    {...a}
                    value={s.fileSha256}
                    onChange={(e) => set({ fileSha256: e.currentTarget.value })}
                    className="font-mono text-xs"
                    spellCheck={false}
                  />
                )}
              </Field>
              <Field label="Destination path" error={err('path')} hint="Absolute; may hold {{ name }}">
                {(a) => (
                  <Input
                    {...a}
                    value={s.path}
                    onChange={(e) => set({ path: e.currentTarget.value })}
                    className="font-mono text-xs"
                    spellCheck={false}
                  />
                )}
              </Field>
              <Field label="Mode" error={err('mode')} hint="Optional, e.g. 0644">
                {(a) => (
                  <Input {...a} value={s.mode} onChange={(e) => set({ mode: e.currentTarget.value })} className="font-mono text-xs" />
                )}
              </Field>
              <Field label="Owner" error={err('owner')} hint="Optional, user or user:group">
                {(a) => (
                  <Input {...a} value={s.owner} onChange={(e) => set({ owner: e.currentTarget.value })} className="font-mono text-xs" />
                )}
              </Field>
            </div>
          ) : null}
          {s.kind === 'reboot' ? (
            <p className="text-xs text-zinc-500">
              Restarts the device and waits, up to the timeout, until its agent is back with a new boot ID.
            </p>
          ) : null}
          {s.kind === 'wait' ? (
            <Field label="Seconds to wait" error={err('seconds')} className="max-w-48">
              {(a) => (
                <Input {...a} type="number" min={1} step={1} value={s.seconds} onChange={(e) => set({ seconds: e.currentTarget.value })} />
              )}
            </Field>
          ) : null}

          <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-[minmax(0,260px)_repeat(3,minmax(0,120px))_auto] lg:items-end">
            <Field label="Runs" error={err('condition')}>
              {(a) => (
                <Select {...a} value={s.condition} onChange={(e) => set({ condition: e.currentTarget.value as StepState['condition'] })}>
                  {stepConditions.map((c) => (
                    <option key={c} value={c} title={conditionLabels[c]}>
                      {conditionShortLabels[c]}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <Field label="Timeout (s)" error={err('timeoutSeconds')}>
              {(a) => (
                <Input
                  {...a}
                  type="number"
                  min={1}
                  step={1}
                  value={s.timeoutSeconds}
                  onChange={(e) => set({ timeoutSeconds: e.currentTarget.value })}
                />
              )}
            </Field>
            <Field label="Retries" error={err('retries.count') ?? err('retries')}>
              {(a) => (
                <Input
                  {...a}
                  type="number"
                  min={0}
                  max={10}
                  step={1}
                  value={s.retryCount}
                  onChange={(e) => set({ retryCount: e.currentTarget.value })}
                />
              )}
            </Field>
            <Field label="Backoff (s)" error={err('retries.backoffSeconds')}>
              {(a) => (
                <Input
                  {...a}
                  type="number"
                  min={1}
                  step={1}
                  value={s.retryBackoffSeconds}
                  onChange={(e) => set({ retryBackoffSeconds: e.currentTarget.value })}
                />
              )}
            </Field>
            <div className="pb-1.5">
              <Check label="Continue on error" checked={s.continueOnError} onChange={(v) => set({ continueOnError: v })} />
              {err('continueOnError') ? <p className="text-xs text-red-600">{err('continueOnError')}</p> : null}
            </div>
          </div>
          {whole ? <p className="text-xs text-red-600">{whole}</p> : null}
        </div>
        <ItemButtons what="step" index={index} count={count} move={move} remove={remove} />
      </div>
    </li>
  );
}
