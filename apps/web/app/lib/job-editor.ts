/**
 * The job editor's model: a job definition (ADR 19, `@opsconductor/contracts/jobs`) as editable form state —
 * text for every input, stable ids for parameters and steps (so they can be reordered and keep their error
 * messages) — and the conversions both ways, plus where the API's validation issues (`steps.1.command`) belong.
 *
 * Pure and browser-safe: only *types* and zod-free constants come from the contracts (the zod schemas stay
 * on the server, and the API checks every definition as a whole anyway).
 */
import { scriptInterpreters, type ScriptInterpreter } from '@opsconductor/contracts/constants';
import type { components } from '@opsconductor/contracts/openapi-types';
import { expiryOfSeconds, secondsOfExpiry, type ExpiryUnit } from './approval';

/** A definition as written (defaults may be left out): what the editor sends and what the API returns. */
export type JobDefinitionDraft = components['schemas']['JobDefinition'];
type DraftParameter = NonNullable<JobDefinitionDraft['parameters']>[number];
type DraftStep = JobDefinitionDraft['steps'][number];

export type ParameterType = DraftParameter['type'];
export type StepKind = DraftStep['kind'];
export type StepCondition = NonNullable<DraftStep['condition']>;
export type DeviceField = Extract<DraftParameter, { type: 'device' }>['field'];

/** Every member of a union, checked both ways: a new type in the contracts fails the typecheck here. */
const all =
  <T extends string>() =>
  <const L extends readonly T[]>(list: L & ([T] extends [L[number]] ? unknown : never)) =>
    list;

export const parameterTypes = all<ParameterType>()(['string', 'number', 'boolean', 'enum', 'secret', 'device']);
export const stepKinds = all<StepKind>()(['shell', 'powershell', 'cmd', 'script', 'file_copy', 'reboot', 'wait']);
export const stepConditions = all<StepCondition>()(['on_success', 'always', 'on_failure']);
export const deviceFields = all<DeviceField>()(['hostname', 'os_name', 'os_version', 'architecture', 'device_id']);
export { scriptInterpreters };

export const parameterTypeLabels: Record<ParameterType, string> = {
  string: 'Text',
  number: 'Number',
  boolean: 'Yes/no',
  enum: 'Choice',
  secret: 'Secret',
  device: 'From the device',
};
export const stepKindLabels: Record<StepKind, string> = {
  shell: 'Shell (sh)',
  powershell: 'PowerShell',
  cmd: 'cmd.exe',
  script: 'Script',
  file_copy: 'Copy a file',
  reboot: 'Reboot',
  wait: 'Wait',
};
export const conditionLabels: Record<StepCondition, string> = {
  on_success: 'When the steps before succeeded',
  always: 'Always',
  on_failure: 'When a step before failed',
};
/** The same, short, for the editor's select. */
export const conditionShortLabels: Record<StepCondition, string> = { on_success: 'On success', always: 'Always', on_failure: 'On failure' };
export const deviceFieldLabels: Record<DeviceField, string> = {
  hostname: 'Hostname',
  os_name: 'OS name',
  os_version: 'OS version',
  architecture: 'Architecture',
  device_id: 'Device ID',
};

// The definition format's defaults (packages/contracts/src/jobs.ts), filled in when a field is left empty.
export const DEFAULT_TIMEOUT_SECONDS = 3600;
export const DEFAULT_RETRY_BACKOFF_SECONDS = 10;
/** The API refuses bodies over 1 MiB; a definition that large is not worth sending. */
export const MAX_DEFINITION_BYTES = 1024 * 1024;

// ---- state ------------------------------------------------------------------------------------------

export type ParameterState = {
  id: string;
  name: string;
  label: string;
  description: string;
  type: ParameterType;
  required: boolean;
  /** The default as typed: text for string/number/enum; '', 'true' or 'false' for boolean; unused for secret and device. */
  default: string;
  integer: boolean;
  min: string;
  max: string;
  /** Enum values, one per line. */
  values: string;
  field: DeviceField;
};

export type StepState = {
  id: string;
  name: string;
  kind: StepKind;
  // Every kind's own fields are kept while another kind is chosen, so switching back loses nothing.
  command: string;
  interpreter: ScriptInterpreter;
  body: string;
  fileSha256: string;
  path: string;
  mode: string;
  owner: string;
  seconds: string;
  timeoutSeconds: string;
  retryCount: string;
  retryBackoffSeconds: string;
  continueOnError: boolean;
  condition: StepCondition;
};

export type EditorState = {
  name: string;
  description: string;
  parameters: ParameterState[];
  steps: StepState[];
  onSuccess: string;
  onFailure: string;
  /** Four-eyes: runs wait for another operator's approval (`approval` in the definition). */
  approval: boolean;
  /** How long a run may wait for it, as typed with its unit (kept while approval is off, so ticking it again loses nothing). */
  approvalExpiry: string;
  approvalUnit: ExpiryUnit;
  /** The next id to hand out (ids are deterministic, so the server render and hydration agree). */
  seq: number;
};

export function emptyParameter(id: string, n = 1): ParameterState {
  return {
    id,
    name: n === 1 ? 'param' : `param${n}`,
    label: '',
    description: '',
    type: 'string',
    required: false,
    default: '',
    integer: false,
    min: '',
    max: '',
    values: '',
    field: 'hostname',
  };
}

export function emptyStep(id: string, n = 1): StepState {
  return {
    id,
    name: `Step ${n}`,
    kind: 'shell',
    command: '',
    interpreter: 'sh',
    body: '',
    fileSha256: '',
    path: '',
    mode: '',
    owner: '',
    seconds: '',
    timeoutSeconds: String(DEFAULT_TIMEOUT_SECONDS),
    retryCount: '0',
    retryBackoffSeconds: String(DEFAULT_RETRY_BACKOFF_SECONDS),
    continueOnError: false,
    condition: 'on_success',
  };
}

/** A new job: no parameters and one empty shell step. */
export function emptyEditorState(): EditorState {
  return { name: '', description: '', parameters: [], steps: [emptyStep('s0')], onSuccess: '', onFailure: '', ...noApproval, seq: 1 };
}

/** Approval off, with the format's default expiry (24 hours) ready for when it is ticked. */
const noApproval = { approval: false, approvalExpiry: '24', approvalUnit: 'hours' } as const satisfies Pick<
  EditorState,
  'approval' | 'approvalExpiry' | 'approvalUnit'
>;

export function addParameter(state: EditorState): EditorState {
  const used = new Set(state.parameters.map((p) => p.name.toLowerCase()));
  let n = state.parameters.length + 1;
  while (used.has(n === 1 ? 'param' : `param${n}`)) n++;
  return { ...state, parameters: [...state.parameters, emptyParameter(`p${state.seq}`, n)], seq: state.seq + 1 };
}

export function addStep(state: EditorState): EditorState {
  return { ...state, steps: [...state.steps, emptyStep(`s${state.seq}`, state.steps.length + 1)], seq: state.seq + 1 };
}

/** `list` with the item `id` moved by `delta` places (clamped at the ends). */
export function moveItem<T extends { id: string }>(list: readonly T[], id: string, delta: number): T[] {
  const from = list.findIndex((x) => x.id === id);
  if (from < 0) return [...list];
  const to = Math.max(0, Math.min(list.length - 1, from + delta));
  const out = [...list];
  const [item] = out.splice(from, 1);
  out.splice(to, 0, item!);
  return out;
}

export function removeItem<T extends { id: string }>(list: readonly T[], id: string): T[] {
  return list.filter((x) => x.id !== id);
}

export function updateItem<T extends { id: string }>(list: readonly T[], id: string, patch: Partial<T>): T[] {
  return list.map((x) => (x.id === id ? { ...x, ...patch } : x));
}

/** A parameter switched to another type: a secret is required unless said otherwise (its default), others are not. */
export function changeParameterType(p: ParameterState, type: ParameterType): ParameterState {
  if (type === p.type) return p;
  const required = type === 'secret' ? true : p.type === 'secret' ? false : p.required;
  const fromBoolean = p.type === 'boolean' || type === 'boolean';
  return { ...p, type, required, default: fromBoolean ? '' : p.default };
}

// ---- state → definition -----------------------------------------------------------------------------

/**
 * The number typed, or the text itself when it is not one (the API then reports the field as not a number,
 * next to it); nothing when empty.
 */
function numberOf(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

/** Enum values, one per line: blank lines are skipped and the rest trimmed. */
export function enumValues(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

const optionalText = (key: string, value: string) => (value === '' ? {} : { [key]: value });

function parameterOf(p: ParameterState): DraftParameter {
  const base = { name: p.name, ...optionalText('label', p.label), ...optionalText('description', p.description) };
  switch (p.type) {
    case 'string':
      return { ...base, type: 'string', required: p.required, ...optionalText('default', p.default) };
    case 'number': {
      const def = numberOf(p.default);
      const min = numberOf(p.min);
      const max = numberOf(p.max);
      // Not-a-number text goes to the API as it is, so that its message lands on the field.
      return {
        ...base,
        type: 'number',
        required: p.required,
        ...(def === undefined ? {} : { default: def as number }),
        integer: p.integer,
        ...(min === undefined ? {} : { min: min as number }),
        ...(max === undefined ? {} : { max: max as number }),
      };
    }
    case 'boolean':
      return { ...base, type: 'boolean', required: p.required, ...(p.default === '' ? {} : { default: p.default === 'true' }) };
    case 'enum':
      return { ...base, type: 'enum', required: p.required, values: enumValues(p.values), ...optionalText('default', p.default) };
    case 'secret':
      return { ...base, type: 'secret', required: p.required };
    case 'device':
      return { ...base, type: 'device', field: p.field };
  }
}

function stepOf(s: StepState): DraftStep {
  const timeout = numberOf(s.timeoutSeconds);
  const count = numberOf(s.retryCount);
  const backoff = numberOf(s.retryBackoffSeconds);
  const common = {
    name: s.name,
    timeoutSeconds: (timeout ?? DEFAULT_TIMEOUT_SECONDS) as number,
    retries: { count: (count ?? 0) as number, backoffSeconds: (backoff ?? DEFAULT_RETRY_BACKOFF_SECONDS) as number },
    continueOnError: s.continueOnError,
    condition: s.condition,
  };
  switch (s.kind) {
    case 'shell':
    case 'powershell':
    case 'cmd':
      return { ...common, kind: s.kind, command: s.command };
    case 'script':
      return { ...common, kind: 'script', interpreter: s.interpreter, body: s.body };
    case 'file_copy':
      return {
        ...common,
        kind: 'file_copy',
        fileSha256: s.fileSha256.trim(),
        path: s.path,
        ...optionalText('mode', s.mode.trim()),
        ...optionalText('owner', s.owner.trim()),
      };
    case 'reboot':
      return { ...common, kind: 'reboot' };
    case 'wait': {
      // A missing `seconds` is left out: the API names the field.
      const seconds = numberOf(s.seconds);
      return { ...common, kind: 'wait', ...(seconds === undefined ? {} : { seconds }) } as DraftStep;
    }
  }
}

/** The definition the form state stands for, in the order the format documents its fields. */
export function definitionFromState(state: EditorState): JobDefinitionDraft {
  const chains = {
    ...optionalText('onSuccess', state.onSuccess.trim()),
    ...optionalText('onFailure', state.onFailure.trim()),
  };
  const definition: JobDefinitionDraft = {
    schemaVersion: 1,
    name: state.name,
    description: state.description,
    parameters: state.parameters.map(parameterOf),
    steps: state.steps.map(stepOf),
    chains,
  };
  if (!state.approval) return definition;
  // An empty expiry is left out (the format's default, 24 h, applies); text that is not a number goes as it is.
  const seconds = secondsOfExpiry(state.approvalExpiry, state.approvalUnit);
  return { ...definition, approval: seconds === undefined ? {} : { expiresAfterSeconds: seconds as number } };
}

/** The definition as the text of the JSON tab (and of the form's hidden field). */
export const definitionText = (definition: unknown) => JSON.stringify(definition, null, 2);

// ---- definition → state -----------------------------------------------------------------------------

export type StateResult = { ok: true; state: EditorState } | { ok: false; error: string };

class Unshowable extends Error {}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A reader of one object of the definition that refuses what the builder could not show faithfully: unknown
 * fields (a typo such as `retrys` must reach the API, not vanish) and values of the wrong type.
 */
function reader(value: unknown, at: string, known: readonly string[]) {
  if (!isObject(value)) throw new Unshowable(`${at || 'the definition'} is not an object`);
  const where = (key: string) => (at ? `${at}.${key}` : key);
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new Unshowable(`${where(key)} is not a field the editor knows`);
  }
  return {
    text(key: string, fallback = ''): string {
      const v = value[key];
      if (v === undefined) return fallback;
      if (typeof v !== 'string') throw new Unshowable(`${where(key)} is not text`);
      return v;
    },
    number(key: string, fallback = ''): string {
      const v = value[key];
      if (v === undefined) return fallback;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Unshowable(`${where(key)} is not a number`);
      return String(v);
    },
    flag(key: string, fallback: boolean): boolean {
      const v = value[key];
      if (v === undefined) return fallback;
      if (typeof v !== 'boolean') throw new Unshowable(`${where(key)} is not true or false`);
      return v;
    },
    oneOf<T extends string>(key: string, options: readonly T[], fallback?: T): T {
      const v = value[key];
      if (v === undefined && fallback !== undefined) return fallback;
      if (typeof v !== 'string' || !options.includes(v as T)) throw new Unshowable(`${where(key)} is not one of ${options.join(', ')}`);
      return v as T;
    },
    list(key: string): unknown[] {
      const v = value[key];
      if (v === undefined) return [];
      if (!Array.isArray(v)) throw new Unshowable(`${where(key)} is not a list`);
      return v;
    },
    raw: value,
  };
}

const parameterFields: Record<ParameterType, readonly string[]> = {
  string: ['required', 'default'],
  number: ['required', 'default', 'integer', 'min', 'max'],
  boolean: ['required', 'default'],
  enum: ['required', 'values', 'default'],
  secret: ['required'],
  device: ['field'],
};
const stepFields: Record<StepKind, readonly string[]> = {
  shell: ['command'],
  powershell: ['command'],
  cmd: ['command'],
  script: ['interpreter', 'body'],
  file_copy: ['fileSha256', 'path', 'mode', 'owner'],
  reboot: [],
  wait: ['seconds'],
};

function readParameter(value: unknown, at: string, id: string): ParameterState {
  const type = reader(value, at, isObject(value) ? Object.keys(value) : []).oneOf('type', parameterTypes);
  const r = reader(value, at, ['type', 'name', 'label', 'description', ...parameterFields[type]]);
  const p: ParameterState = {
    ...emptyParameter(id),
    name: r.text('name'),
    label: r.text('label'),
    description: r.text('description'),
    type,
    required: type === 'device' ? false : r.flag('required', type === 'secret'),
  };
  if (type === 'string') p.default = r.text('default');
  if (type === 'number') {
    p.default = r.number('default');
    p.integer = r.flag('integer', false);
    p.min = r.number('min');
    p.max = r.number('max');
  }
  if (type === 'boolean') {
    const d = r.raw.default;
    if (d !== undefined && typeof d !== 'boolean') throw new Unshowable(`${at}.default is not true or false`);
    p.default = d === undefined ? '' : String(d);
  }
  if (type === 'enum') {
    const values = r.list('values').map((v, i) => {
      // One value per line, trimmed: a value the textarea would change cannot be shown there.
      if (typeof v !== 'string' || v === '' || v.trim() !== v || /[\r\n]/.test(v))
        throw new Unshowable(`${at}.values.${i} cannot be edited as a line of text`);
      return v;
    });
    p.values = values.join('\n');
    p.default = r.text('default');
  }
  if (type === 'device') p.field = r.oneOf('field', deviceFields);
  return p;
}

function readStep(value: unknown, at: string, id: string): StepState {
  const kind = reader(value, at, isObject(value) ? Object.keys(value) : []).oneOf('kind', stepKinds);
  const r = reader(value, at, ['kind', 'name', 'timeoutSeconds', 'retries', 'continueOnError', 'condition', ...stepFields[kind]]);
  const retries = r.raw.retries === undefined ? null : reader(r.raw.retries, `${at}.retries`, ['count', 'backoffSeconds']);
  const s: StepState = {
    ...emptyStep(id),
    name: r.text('name'),
    kind,
    timeoutSeconds: r.number('timeoutSeconds', String(DEFAULT_TIMEOUT_SECONDS)),
    retryCount: retries ? retries.number('count', '0') : '0',
    retryBackoffSeconds: retries
      ? retries.number('backoffSeconds', String(DEFAULT_RETRY_BACKOFF_SECONDS))
      : String(DEFAULT_RETRY_BACKOFF_SECONDS),
    continueOnError: r.flag('continueOnError', false),
    condition: r.oneOf('condition', stepConditions, 'on_success'),
  };
  if (kind === 'shell' || kind === 'powershell' || kind === 'cmd') s.command = r.text('command');
  if (kind === 'script') {
    s.interpreter = r.oneOf('interpreter', scriptInterpreters);
    s.body = r.text('body');
  }
  if (kind === 'file_copy') {
    s.fileSha256 = r.text('fileSha256');
    s.path = r.text('path');
    s.mode = r.text('mode');
    s.owner = r.text('owner');
  }
  if (kind === 'wait') s.seconds = r.number('seconds');
  return s;
}

/**
 * The form state of a definition, or why the builder cannot show it (then it is edited as JSON). Ids are
 * those of `previous` by position, so that editing the JSON keeps the builder's items (and their messages).
 */
export function stateFromDefinition(definition: unknown, previous?: EditorState): StateResult {
  try {
    const r = reader(definition, '', ['schemaVersion', 'name', 'description', 'parameters', 'steps', 'chains', 'approval']);
    const version = r.raw.schemaVersion;
    if (version !== undefined && version !== 1) throw new Unshowable('schemaVersion is not 1');
    let seq = previous?.seq ?? 0;
    const idOf = (list: readonly { id: string }[] | undefined, i: number, prefix: string) => list?.[i]?.id ?? `${prefix}${seq++}`;
    const parameters = r.list('parameters').map((p, i) => readParameter(p, `parameters.${i}`, idOf(previous?.parameters, i, 'p')));
    const steps = r.list('steps').map((s, i) => readStep(s, `steps.${i}`, idOf(previous?.steps, i, 's')));
    const chains = r.raw.chains === undefined ? null : reader(r.raw.chains, 'chains', ['onSuccess', 'onFailure']);
    const approval = r.raw.approval === undefined ? null : reader(r.raw.approval, 'approval', ['expiresAfterSeconds']);
    const expiry = approval?.number('expiresAfterSeconds');
    return {
      ok: true,
      state: {
        name: r.text('name'),
        description: r.text('description'),
        parameters,
        steps,
        onSuccess: chains?.text('onSuccess') ?? '',
        onFailure: chains?.text('onFailure') ?? '',
        ...(approval
          ? // Without `expiresAfterSeconds` the default applies: shown (and sent back) as 24 hours, what the API fills in.
            { approval: true, ...approvalFields(expiry ? Number(expiry) : undefined) }
          : { ...noApproval, ...approvalFields(undefined, previous) }),
        seq,
      },
    };
  } catch (error) {
    if (error instanceof Unshowable)
      return { ok: false, error: `The builder cannot show this definition: ${error.message}. Edit it here.` };
    throw error;
  }
}

/**
 * The expiry's number and unit: those of the seconds given, else what the builder had (unticking approval in the
 * JSON tab keeps the expiry typed), else 24 hours.
 */
function approvalFields(seconds: number | undefined, previous?: EditorState): Pick<EditorState, 'approvalExpiry' | 'approvalUnit'> {
  if (seconds !== undefined) {
    const { value, unit } = expiryOfSeconds(seconds);
    return { approvalExpiry: value, approvalUnit: unit };
  }
  if (previous) return { approvalExpiry: previous.approvalExpiry, approvalUnit: previous.approvalUnit };
  return { approvalExpiry: noApproval.approvalExpiry, approvalUnit: noApproval.approvalUnit };
}

/** The JSON tab's text read: the definition and its form state, or what is wrong with it. */
export function parseDefinitionText(
  text: string,
  previous?: EditorState,
): { ok: true; definition: unknown; state: EditorState } | { ok: false; definition?: unknown; error: string } {
  let definition: unknown;
  try {
    definition = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `Not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  const read = stateFromDefinition(definition, previous);
  return read.ok ? { ok: true, definition, state: read.state } : { ok: false, definition, error: read.error };
}

// ---- validation issues ------------------------------------------------------------------------------

export type Issue = { path: string; message: string };

/** An issue's path relative to the definition: the API says `definition.steps.1.command` for a save, `steps.1.command` for a create. */
export function normalizeIssuePath(path: string): string {
  return path.replace(/^body[./]/, '').replace(/^definition(\.|$)/, '');
}

/** Path suffixes of the form's inputs, by state field (where an input's message goes, and whose messages an edit clears). */
const pathOfField: Record<string, string> = { retryCount: 'retries.count', retryBackoffSeconds: 'retries.backoffSeconds' };
export const fieldPath = (field: string) => pathOfField[field] ?? field;

/**
 * The key under which an issue is shown: `p:<id>.<field>` and `s:<id>.<field>` for a parameter's or a
 * step's field (so it follows the item when it is moved), the path itself for the rest. A value of a list
 * (`parameters.0.values.2`) goes to the list's input.
 */
export function issueKey(state: EditorState, path: string): string {
  const p = normalizeIssuePath(path);
  const m = /^(parameters|steps)\.(\d+)(?:\.(.*))?$/.exec(p);
  if (!m) return p;
  const items = m[1] === 'parameters' ? state.parameters : state.steps;
  const item = items[Number(m[2])];
  if (!item) return m[1]!;
  let rest = m[3] ?? '';
  if (m[1] === 'parameters' && /^values\.\d+$/.test(rest)) rest = 'values';
  return `${m[1] === 'parameters' ? 'p' : 's'}:${item.id}${rest ? `.${rest}` : ''}`;
}

/** Issues by the key of the input that shows them (see issueKey). */
export function issuesByKey(state: EditorState, issues: readonly Issue[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const i of issues) (out[issueKey(state, i.path)] ??= []).push(i.message);
  return out;
}

/** Where the input of an issue key is, in words, at the item's current position: `Step 2 “Install” · command`. */
export function keyLocation(state: EditorState, key: string): string {
  const m = /^([ps]):([^.]+)(?:\.(.*))?$/.exec(key);
  if (!m) return key || 'definition';
  const items: ReadonlyArray<{ id: string; name: string }> = m[1] === 'p' ? state.parameters : state.steps;
  const n = items.findIndex((x) => x.id === m[2]);
  const what = m[1] === 'p' ? 'Parameter' : 'Step';
  if (n < 0) return `A removed ${what.toLowerCase()}`;
  const name = items[n]!.name ? ` “${items[n]!.name}”` : '';
  return `${what} ${n + 1}${name}${m[3] ? ` · ${m[3]}` : ''}`;
}
