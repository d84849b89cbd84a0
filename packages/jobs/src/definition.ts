/**
 * Checking a job definition on save and import, its digest (an unchanged import makes no new version), the
 * difference between two versions, and its published JSON Schema.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { jobDefinition, type JobDefinition, type JobParameter } from '@opsconductor/contracts/jobs';
import { findReferences, parameterVariable, stepText, unusableReferences } from './references.ts';

export interface DefinitionIssue {
  /** Where, e.g. `steps.1.command` or `parameters.0.default`. */
  path: string;
  message: string;
}

export type ParsedDefinition = { ok: true; definition: JobDefinition } | { ok: false; issues: DefinitionIssue[] };

const pathOf = (path: readonly PropertyKey[]) => path.map(String).join('.');

/** Parses and checks a definition: its shape (the schema), then what the schema cannot say. */
export function parseJobDefinition(input: unknown): ParsedDefinition {
  const parsed = jobDefinition.safeParse(input);
  if (!parsed.success) return { ok: false, issues: parsed.error.issues.map((i) => ({ path: pathOf(i.path), message: i.message })) };
  const issues = checkJobDefinition(parsed.data);
  return issues.length ? { ok: false, issues } : { ok: true, definition: parsed.data };
}

function checkParameter(p: JobParameter, at: string): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  if (p.type === 'enum') {
    if (new Set(p.values).size !== p.values.length) issues.push({ path: `${at}.values`, message: 'values must be unique' });
    if (p.default !== undefined && !p.values.includes(p.default))
      issues.push({ path: `${at}.default`, message: 'must be one of the values' });
  }
  if (p.type === 'number') {
    if (p.min !== undefined && p.max !== undefined && p.min > p.max) issues.push({ path: `${at}.min`, message: 'must not be above max' });
    if (p.default !== undefined) {
      const problem = numberProblem(p, p.default);
      if (problem) issues.push({ path: `${at}.default`, message: problem });
    }
  }
  return issues;
}

/** Why a number does not suit a number parameter, or undefined. */
export function numberProblem(p: Extract<JobParameter, { type: 'number' }>, n: number): string | undefined {
  if (p.integer && !Number.isInteger(n)) return 'must be a whole number';
  if (p.min !== undefined && n < p.min) return `must be at least ${p.min}`;
  if (p.max !== undefined && n > p.max) return `must be at most ${p.max}`;
  return undefined;
}

/** What the schema cannot say: unique names, defaults that fit, references to declared parameters usable where they are. */
export function checkJobDefinition(def: JobDefinition): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  const byVariable = new Map<string, string>();
  def.parameters.forEach((p, i) => {
    const variable = parameterVariable(p.name);
    const earlier = byVariable.get(variable);
    if (earlier !== undefined)
      issues.push({ path: `parameters.${i}.name`, message: `clashes with parameter "${earlier}" (names may not differ only in case)` });
    else byVariable.set(variable, p.name);
    issues.push(...checkParameter(p, `parameters.${i}`));
  });
  const parameters = new Map(def.parameters.map((p) => [p.name, p]));
  const stepNames = new Set<string>();
  def.steps.forEach((step, i) => {
    if (stepNames.has(step.name)) issues.push({ path: `steps.${i}.name`, message: 'another step has this name' });
    stepNames.add(step.name);
    const text = stepText(step);
    if (!text) return;
    const at = `steps.${i}.${text.field}`;
    for (const ref of findReferences(text.text)) {
      const p = parameters.get(ref.name);
      if (!p) issues.push({ path: at, message: `{{ ${ref.name} }} is not a parameter of this job` });
      else if (text.dialect === 'path' && p.type === 'secret')
        issues.push({ path: at, message: `a path cannot hold the secret {{ ${ref.name} }}` });
    }
    for (const { message } of unusableReferences(text.text, text.dialect)) issues.push({ path: at, message });
  });
  if (def.chains.onSuccess === def.name || def.chains.onFailure === def.name) {
    issues.push({ path: 'chains', message: 'a job cannot chain to itself' });
  }
  return issues;
}

/** JSON with object keys sorted, so equal definitions give equal text whatever order their keys came in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 of the definition with its defaults filled in: a re-import of an unchanged job has the same digest. */
export function jobDefinitionDigest(def: JobDefinition): string {
  return createHash('sha256').update(canonicalJson(def)).digest('hex');
}

export interface DefinitionChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

/** What changed from one version to the next, field by field (steps and parameters by position). */
export function diffJobDefinitions(before: JobDefinition, after: JobDefinition): DefinitionChange[] {
  const changes: DefinitionChange[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    const container = (v: unknown) => v !== null && typeof v === 'object';
    if (container(a) && container(b) && Array.isArray(a) === Array.isArray(b)) {
      const keys = Array.isArray(a)
        ? Array.from({ length: Math.max(a.length, (b as unknown[]).length) }, (_, i) => String(i))
        : [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])];
      for (const key of keys) {
        const [x, y] = [(a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]];
        const at = path ? `${path}.${key}` : key;
        if (x === undefined && y !== undefined) changes.push({ path: at, kind: 'added', after: y });
        else if (x !== undefined && y === undefined) changes.push({ path: at, kind: 'removed', before: x });
        else walk(x, y, at);
      }
      return;
    }
    if (canonicalJson(a) !== canonicalJson(b)) changes.push({ path, kind: 'changed', before: a, after: b });
  };
  walk(before, after, '');
  return changes;
}

/** Where the schema is published, relative to the repository's root. */
export const JOB_DEFINITION_SCHEMA_FILE = 'docs/schemas/job-definition.schema.json';
export const JOB_DEFINITION_SCHEMA_ID = 'https://opsconductor.dev/schemas/job-definition.schema.json';

/** The JSON Schema of what may be written (defaults may be left out), published as {@link JOB_DEFINITION_SCHEMA_FILE}. */
export function jobDefinitionJsonSchema(): Record<string, unknown> {
  return { $id: JOB_DEFINITION_SCHEMA_ID, ...z.toJSONSchema(jobDefinition, { io: 'input', target: 'draft-2020-12' }) };
}
