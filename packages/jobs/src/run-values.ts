/**
 * A run's parameter values: what the operator gave, checked against the job's parameters, with defaults filled
 * in; then, per device, its device-scoped values and the environment and text of each step.
 */
import { devicePath } from '@opsconductor/contracts/commands';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '@opsconductor/contracts/text';
import { MAX_PARAMETER_VALUE_LENGTH, type JobDefinition, type JobParameter, type JobStep } from '@opsconductor/contracts/jobs';
import { numberProblem, type DefinitionIssue } from './definition.ts';
import { parameterVariable, stepText, substituteValues, writeReferences } from './references.ts';

export type ParameterValue = string | number | boolean;
export type RunValues = { ok: true; values: Map<string, ParameterValue> } | { ok: false; issues: DefinitionIssue[] };

function valueProblem(p: Exclude<JobParameter, { type: 'device' }>, v: unknown): string | undefined {
  switch (p.type) {
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? numberProblem(p, v) : 'must be a number';
    case 'boolean':
      return typeof v === 'boolean' ? undefined : 'must be true or false';
    case 'enum':
      return typeof v === 'string' && p.values.includes(v)
        ? undefined
        : `must be one of ${p.values.map((x) => JSON.stringify(x)).join(', ')}`;
    case 'string':
    case 'secret':
      if (typeof v !== 'string') return 'must be a string';
      if (v.length > MAX_PARAMETER_VALUE_LENGTH) return `must be at most ${MAX_PARAMETER_VALUE_LENGTH} characters`;
      return isStorableText(v) ? undefined : UNSTORABLE_TEXT_MESSAGE;
  }
}

/** Checks a run's values (`given`: name → value) against the job: unknown names, missing required ones, types and bounds. */
export function resolveRunValues(def: JobDefinition, given: Record<string, unknown>): RunValues {
  const issues: DefinitionIssue[] = [];
  const byName = new Map(def.parameters.map((p) => [p.name, p]));
  for (const name of Object.keys(given)) {
    const p = byName.get(name);
    if (!p) issues.push({ path: `parameters.${name}`, message: 'is not a parameter of this job' });
    else if (p.type === 'device') issues.push({ path: `parameters.${name}`, message: `is taken from each device (${p.field})` });
  }
  const values = new Map<string, ParameterValue>();
  for (const p of def.parameters) {
    if (p.type === 'device') continue;
    const v = Object.hasOwn(given, p.name) ? given[p.name] : 'default' in p ? p.default : undefined;
    if (v === undefined) {
      if (p.required) issues.push({ path: `parameters.${p.name}`, message: 'is required' });
      continue;
    }
    const problem = valueProblem(p, v);
    if (problem) issues.push({ path: `parameters.${p.name}`, message: problem });
    else values.set(p.name, v as ParameterValue);
  }
  return issues.length ? { ok: false, issues } : { ok: true, values };
}

/** What a device-scoped parameter reads. */
export interface DeviceFacts {
  deviceId: string;
  hostname: string;
  osName: string | null;
  osVersion: string | null;
  architecture: string | null;
}

/** Every value a step on this device may use, as the text it is passed as (booleans `true`/`false`). */
export function deviceValues(def: JobDefinition, runValues: ReadonlyMap<string, ParameterValue>, device: DeviceFacts): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of def.parameters) {
    if (p.type === 'device') {
      const fact = {
        hostname: device.hostname,
        os_name: device.osName,
        os_version: device.osVersion,
        architecture: device.architecture,
        device_id: device.deviceId,
      }[p.field];
      out.set(p.name, fact ?? '');
    } else if (runValues.has(p.name)) {
      out.set(p.name, String(runValues.get(p.name)));
    }
  }
  return out;
}

export interface RenderedStep {
  /** The command line, script body or path as the device gets it: references written as variable references (a path: with values). */
  text: string | undefined;
  /** `OC_PARAM_<NAME>` for every parameter with a value: the step's environment. Holds secrets: never log or store it as is. */
  environment: Record<string, string>;
  /** Why the step cannot run on this device: a file copy's path that is not absolute once its values are in. */
  problem?: string;
}

/** One step as it runs on one device. */
export function renderStep(step: JobStep, values: ReadonlyMap<string, string>): RenderedStep {
  const environment: Record<string, string> = {};
  for (const [name, value] of values) environment[parameterVariable(name)] = value;
  const text = stepText(step);
  if (!text) return { text: undefined, environment };
  if (text.dialect === 'path') {
    const path = substituteValues(text.text, values);
    const checked = devicePath.safeParse(path);
    return checked.success
      ? { text: path, environment }
      : { text: path, environment, problem: `the path ${checked.error.issues[0]!.message}` };
  }
  if (text.dialect === 'python') return { text: text.text, environment };
  return { text: writeReferences(text.text, text.dialect), environment };
}
