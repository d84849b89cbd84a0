/**
 * Runs of saved jobs (ADR 20) as the console shows and asks for them: the run form's parameter fields and the
 * values they post, where the API's validation issues (`parameters.count`, `failureThreshold.percent`) belong,
 * and texts of a run's steps, limits and threshold.
 *
 * Pure and browser-safe: only *types* come from the contracts.
 */
import type { components } from '@opsconductor/contracts/openapi-types';

type Definition = components['schemas']['JobDefinition'];
export type RunParameter = NonNullable<Definition['parameters']>[number];
/** A parameter someone gives a value for (device-scoped ones are taken from each device). */
export type GivenParameter = Exclude<RunParameter, { type: 'device' }>;
export type ParameterValue = string | number | boolean;
export type StepStatus = components['schemas']['JobRunStep']['status'];

/** The form field of a parameter's value on the run form. */
export const parameterField = (name: string) => `param.${name}`;
/** The form field of a secret's value on the re-run form. */
export const secretField = (name: string) => `secret.${name}`;
/** How a secret parameter's value is shown: never the value. */
export const SECRET_MASK = '•••• (secret)';

export const isGiven = (p: RunParameter): p is GivenParameter => p.type !== 'device';

/** Required when the job says so; a secret is required unless it says otherwise (the format's default). */
export function isRequired(p: GivenParameter): boolean {
  return p.required ?? p.type === 'secret';
}

/** What a field shows first: the parameter's default as text (a checkbox: 'true' or ''); a secret never has one. */
export function initialText(p: GivenParameter): string {
  switch (p.type) {
    case 'secret':
      return '';
    case 'boolean':
      return p.default ? 'true' : '';
    case 'number':
      return p.default === undefined ? '' : String(p.default);
    default:
      return p.default ?? '';
  }
}

/**
 * The values the run form posted, as the API takes them. An empty field is left out (the job's default applies, or
 * the API says the value is required); a checkbox is true or false; a number that does not read as one is sent as
 * typed, so that the API's message ("must be a number") lands on its field like every other check.
 */
export function parameterValues(
  parameters: readonly RunParameter[],
  read: (field: string) => string | null,
): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  for (const p of parameters) {
    if (!isGiven(p)) continue;
    const raw = read(parameterField(p.name));
    if (p.type === 'boolean') {
      out[p.name] = raw === 'true' || raw === 'on';
      continue;
    }
    if (raw === null || raw === '') continue;
    if (p.type === 'number') {
      const text = raw.trim();
      if (text === '') continue;
      const n = Number(text);
      out[p.name] = Number.isFinite(n) ? n : raw;
      continue;
    }
    out[p.name] = raw;
  }
  return out;
}

/** The posted texts to show again after a failed submit: every parameter's but a secret's. */
export function echoedTexts(parameters: readonly RunParameter[], read: (field: string) => string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of parameters) {
    if (!isGiven(p) || p.type === 'secret') continue;
    const raw = read(parameterField(p.name));
    out[p.name] = p.type === 'boolean' ? (raw === 'true' || raw === 'on' ? 'true' : '') : (raw ?? '');
  }
  return out;
}

// ---- the API's issues ---------------------------------------------------------------------------------

export type RunFormField = 'target' | 'version' | 'maxConcurrency' | 'thresholdCount' | 'thresholdPercent' | 'deadlineSeconds';
export type RunFormIssues = {
  /** By parameter name. */
  parameters: Record<string, string>;
  fields: Partial<Record<RunFormField, string>>;
  /** Issues no field shows, as "path: message". */
  other: string[];
};

const TARGET_PATHS = new Set(['deviceIds', 'groupIds', 'tags', 'filter', 'expectedDeviceCount']);
const FIELD_PATHS: Record<string, RunFormField> = {
  version: 'version',
  maxConcurrency: 'maxConcurrency',
  deadlineSeconds: 'deadlineSeconds',
  failureThreshold: 'thresholdCount',
  'failureThreshold.count': 'thresholdCount',
  'failureThreshold.percent': 'thresholdPercent',
};

const joinMessage = (current: string | undefined, message: string) => (current ? `${current}; ${message}` : message);

/** Where each of the API's issues belongs on the run form (paths as the API gives them, `body.` prefix or not). */
export function runFormIssues(errors: ReadonlyArray<{ path: string; message: string }>): RunFormIssues {
  const issues: RunFormIssues = { parameters: {}, fields: {}, other: [] };
  for (const { path: given, message } of errors) {
    const path = given.replace(/^body[./]/, '');
    const [head = '', second] = path.split('.');
    const field = FIELD_PATHS[path] ?? FIELD_PATHS[head];
    if (head === 'parameters' && second) {
      issues.parameters[second] = joinMessage(issues.parameters[second], message);
    } else if (TARGET_PATHS.has(head)) {
      issues.fields.target = joinMessage(issues.fields.target, message);
    } else if (field) {
      issues.fields[field] = joinMessage(issues.fields[field], message);
    } else {
      issues.other.push(path ? `${path}: ${message}` : message);
    }
  }
  return issues;
}

export const issueCount = (i: RunFormIssues) => Object.keys(i.parameters).length + Object.keys(i.fields).length + i.other.length;

// ---- texts ------------------------------------------------------------------------------------------------

/** "step 2 of 5: deploy" for a device on step index 1, or null before its first step. */
export function stepProgress(currentStep: number | null | undefined, steps: ReadonlyArray<{ name: string }>): string | null {
  if (currentStep === null || currentStep === undefined || currentStep < 0) return null;
  const name = steps[currentStep]?.name;
  return `step ${currentStep + 1} of ${steps.length}${name ? `: ${name}` : ''}`;
}

/** "3 devices or 10 %", "3 devices", "10 % of the devices", or null for no threshold. */
export function thresholdText(t: { count: number | null; percent: number | null } | null | undefined): string | null {
  if (!t || (t.count === null && t.percent === null)) return null;
  const count = t.count === null ? null : `${t.count.toLocaleString('en-US')} failed ${t.count === 1 ? 'device' : 'devices'}`;
  const percent = t.percent === null ? null : `${t.percent} % of the devices`;
  return [count, percent].filter(Boolean).join(' or ');
}

/** A parameter value as the run page shows it. */
export function valueText(value: ParameterValue): string {
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  return String(value);
}

export const stepStatusLabels: Record<StepStatus, string> = {
  not_reached: 'Not reached',
  pending: 'Pending',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  timed_out: 'Timed out',
  cancelled: 'Cancelled',
  offline: 'Offline',
  skipped: 'Skipped',
};

// ---- targets ------------------------------------------------------------------------------------------------

/** The run form's target picker as state (field names as the device list's run panel has them). */
export type TargetState = {
  target: 'selected' | 'filter' | 'group' | 'tag';
  deviceIds: string[];
  targetGroupId: string;
  targetTag: string;
  filterSearch: string;
  filterStatus: string;
  filterOsFamily: string;
};
export type TargetSelection = {
  deviceIds?: string[];
  groupIds?: string[];
  tags?: string[];
  filter?: { search?: string; status?: string; osFamily?: string };
};

/** What the picker selects, as the API's target selection; null while it selects nothing (no device checked, no group chosen). */
export function selectionOf(s: TargetState): TargetSelection | null {
  switch (s.target) {
    case 'selected':
      return s.deviceIds.length ? { deviceIds: [...s.deviceIds].sort() } : null;
    case 'group':
      return s.targetGroupId ? { groupIds: [s.targetGroupId] } : null;
    case 'tag':
      return s.targetTag ? { tags: [s.targetTag] } : null;
    case 'filter': {
      const search = s.filterSearch.trim();
      return {
        filter: {
          ...(search ? { search } : {}),
          ...(s.filterStatus ? { status: s.filterStatus } : {}),
          ...(s.filterOsFamily ? { osFamily: s.filterOsFamily } : {}),
        },
      };
    }
  }
}
