/**
 * validateRule: is this untrusted JSON a rule we will store and evaluate?
 *
 * Two layers, reported together as `{ path, message }` pairs with dotted paths (`all.1.any.0.value`):
 * 1. Shape — the contract's zod schemas. The recursive `rule` union reports a failing branch poorly
 *    ("Invalid input" at the node), so we walk the tree ourselves, pick the branch from the node's
 *    keys, and run that branch's contract schema; the contract's `rule` schema still has the last word.
 * 2. Meaning — field known, operator fits the field's type, value fits the operator and field, regexes
 *    in RE2 syntax and within bounds, versions/dates parseable, enum values known, limits, referenced groups exist.
 *
 * Never throws: the walk is bounded by MAX_RULE_DEPTH/MAX_RULE_NODES before anything recursive runs,
 * and a final catch turns anything unexpected (e.g. a throwing getter) into an error entry.
 */
import { z } from 'zod';
import {
  MAX_RULE_DEPTH,
  MAX_RULE_NODES,
  fieldCondition,
  groupCondition,
  operatorsByType,
  rule as ruleSchema,
  softwareCondition,
  type FieldCondition,
  type Rule,
  type SoftwareCondition,
} from '@opsconductor/contracts/rules';
import { isIsoDate } from './dates.ts';
import { CUSTOM_FIELD_PREFIX, resolveField, type CustomFieldDefs, type ResolvedField } from './fields.ts';
import { checkRegex, MAX_REGEX_CONDITIONS } from './regex.ts';
import { isValidVersion } from './version.ts';

export interface RuleError {
  path: string;
  message: string;
}

export interface ValidationContext {
  customFields: CustomFieldDefs;
  /** When given, `memberOf` must name one of these groups. */
  groupIds?: ReadonlySet<string>;
  /** The group whose rule this is (when editing): a group cannot be a member of itself. */
  groupId?: string;
}

export type ValidationResult = { ok: true; rule: Rule } | { ok: false; errors: RuleError[] };

/** Enough to fix a rule; bounds the response for a hostile input. */
export const MAX_ERRORS = 50;
const MAX_CHILDREN = 100; // the contract's `all`/`any` bound

const NODE_KINDS = 'all, any, not, field, software or memberOf';
type NodeKind = 'all' | 'any' | 'not' | 'field' | 'software' | 'memberOf';
const KIND_OF_KEY: Record<string, NodeKind> = {
  all: 'all',
  any: 'any',
  not: 'not',
  field: 'field',
  op: 'field',
  value: 'field',
  software: 'software',
  present: 'software',
  memberOf: 'memberOf',
};

// The combinator branches of the contract's `rule` union, with children left to the walk.
const combinator = {
  all: z.object({ all: z.array(z.unknown()).min(1).max(MAX_CHILDREN) }).strict(),
  any: z.object({ any: z.array(z.unknown()).min(1).max(MAX_CHILDREN) }).strict(),
  not: z.object({ not: z.unknown() }).strict(),
};

const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const join = (path: string, segment: string | number): string => (path === '' ? String(segment) : `${path}.${segment}`);
const quote = (x: unknown): string => JSON.stringify(x) ?? String(x);

class Collector {
  readonly errors: RuleError[] = [];
  nodes = 0;
  regexes = 0;
  add(path: string, message: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push({ path, message });
  }
  get full(): boolean {
    return this.errors.length >= MAX_ERRORS;
  }
}

export function validateRule(input: unknown, ctx: ValidationContext): ValidationResult {
  try {
    const out = new Collector();
    walk(input, '', 1, ctx, out);
    if (out.errors.length > 0) return { ok: false, errors: out.errors };
    // The walk mirrors the contract; the contract's own schema decides (and applies defaults).
    const parsed = ruleSchema.safeParse(input);
    if (!parsed.success) {
      parsed.error.issues.forEach((issue) => zodIssueErrors(issue, '', input).forEach((e) => out.add(e.path, e.message)));
      return { ok: false, errors: out.errors.length > 0 ? out.errors : [{ path: '', message: 'not a valid rule' }] };
    }
    return { ok: true, rule: parsed.data };
  } catch (e) {
    return { ok: false, errors: [{ path: '', message: `rule could not be validated: ${e instanceof Error ? e.message : String(e)}` }] };
  }
}

function walk(node: unknown, path: string, depth: number, ctx: ValidationContext, out: Collector): void {
  if (out.full) return;
  out.nodes++;
  if (out.nodes === MAX_RULE_NODES + 1) {
    out.add('', `a rule has at most ${MAX_RULE_NODES} conditions and groups`);
  }
  if (out.nodes > MAX_RULE_NODES) return; // stop here: the remaining tree could be huge
  if (depth > MAX_RULE_DEPTH) {
    out.add(path, `rules nest at most ${MAX_RULE_DEPTH} levels deep`);
    return;
  }
  if (!isPlainObject(node)) {
    out.add(path, `expected a rule: an object with one of ${NODE_KINDS}`);
    return;
  }
  const kinds = [
    ...new Set(
      Object.keys(node)
        .filter((k) => Object.hasOwn(KIND_OF_KEY, k))
        .map((k) => KIND_OF_KEY[k]!),
    ),
  ];
  if (kinds.length !== 1) {
    out.add(
      path,
      kinds.length === 0
        ? `expected a rule: an object with one of ${NODE_KINDS}`
        : `a rule node is exactly one of ${NODE_KINDS}; this one mixes ${kinds.join(' and ')}`,
    );
    return;
  }
  const kind = kinds[0]!;
  switch (kind) {
    case 'all':
    case 'any': {
      const parsed = combinator[kind].safeParse(node);
      if (!parsed.success) {
        parsed.error.issues.forEach((i) => zodIssueErrors(i, path, node).forEach((e) => out.add(e.path, e.message)));
        return;
      }
      const list = node[kind] as unknown[];
      list.forEach((child, i) => walk(child, join(join(path, kind), i), depth + 1, ctx, out));
      return;
    }
    case 'not': {
      const parsed = combinator.not.safeParse(node);
      if (!parsed.success) parsed.error.issues.forEach((i) => zodIssueErrors(i, path, node).forEach((e) => out.add(e.path, e.message)));
      walk(node.not, join(path, 'not'), depth + 1, ctx, out);
      return;
    }
    case 'field': {
      const parsed = fieldCondition.safeParse(node);
      if (!parsed.success) parsed.error.issues.forEach((i) => zodIssueErrors(i, path, node).forEach((e) => out.add(e.path, e.message)));
      else checkFieldCondition(parsed.data, path, ctx, out);
      return;
    }
    case 'software': {
      const parsed = softwareCondition.safeParse(node);
      if (!parsed.success) parsed.error.issues.forEach((i) => zodIssueErrors(i, path, node).forEach((e) => out.add(e.path, e.message)));
      else checkSoftwareCondition(parsed.data, path, out);
      return;
    }
    case 'memberOf': {
      const parsed = groupCondition.safeParse(node);
      if (!parsed.success) {
        parsed.error.issues.forEach((i) => zodIssueErrors(i, path, node).forEach((e) => out.add(e.path, e.message)));
        return;
      }
      const id = parsed.data.memberOf.toLowerCase();
      if (ctx.groupId !== undefined && id === ctx.groupId.toLowerCase())
        out.add(join(path, 'memberOf'), 'a group cannot be a member of itself');
      else if (ctx.groupIds && !ctx.groupIds.has(parsed.data.memberOf) && !ctx.groupIds.has(id))
        out.add(join(path, 'memberOf'), `unknown group ${parsed.data.memberOf}`);
      return;
    }
  }
}

// ---- semantic checks -------------------------------------------------------------------------

const NO_VALUE_OPS: ReadonlySet<string> = new Set(['exists', 'not_exists']);
const LIST_VALUE_OPS: ReadonlySet<string> = new Set(['in', 'not_in']);
const ENUM_CHECKED_OPS: ReadonlySet<string> = new Set(['equals', 'not_equals', 'in', 'not_in']);

function checkFieldCondition(c: FieldCondition, path: string, ctx: ValidationContext, out: Collector): void {
  const field = resolveField(c.field, ctx.customFields);
  if (!field) {
    const message = c.field.startsWith(CUSTOM_FIELD_PREFIX)
      ? `unknown custom field "${c.field.slice(CUSTOM_FIELD_PREFIX.length)}"`
      : `unknown field "${c.field}"`;
    out.add(join(path, 'field'), message);
    return;
  }
  const allowed = operatorsByType[field.type];
  if (!allowed.includes(c.op)) {
    out.add(join(path, 'op'), `operator "${c.op}" does not apply to ${c.field} (a ${field.type} field); use one of: ${allowed.join(', ')}`);
    return;
  }
  const at = join(path, 'value');
  if (NO_VALUE_OPS.has(c.op)) {
    if (c.value !== undefined) out.add(at, `"${c.op}" takes no value`);
    return;
  }
  if (c.value === undefined) {
    out.add(at, LIST_VALUE_OPS.has(c.op) ? `"${c.op}" needs a non-empty list of values` : `"${c.op}" needs a value`);
    return;
  }
  if (LIST_VALUE_OPS.has(c.op)) {
    if (!Array.isArray(c.value) || c.value.length === 0) {
      out.add(at, `"${c.op}" needs a non-empty list of values`);
      return;
    }
    c.value.forEach((v, i) => checkValue(v, c.op, field, join(at, i), out));
    return;
  }
  if (Array.isArray(c.value)) {
    out.add(at, `"${c.op}" takes a single value, not a list`);
    return;
  }
  checkValue(c.value, c.op, field, at, out);
}

function checkValue(value: string | number | boolean, op: string, field: ResolvedField, at: string, out: Collector): void {
  if (op.startsWith('version_')) {
    // A number would lose trailing zeros on the way here (10.10 → 10.1): versions must be strings.
    if (typeof value !== 'string') out.add(at, 'a version must be a string, e.g. "10.0.22000"');
    else if (!isValidVersion(value)) out.add(at, `${quote(value)} is not a version`);
    return;
  }
  if (op === 'regex') {
    if (typeof value !== 'string') out.add(at, 'a regular expression must be a string');
    else checkRuleRegex(value, at, out);
    return;
  }
  switch (field.type) {
    case 'number':
      if (typeof value !== 'number') out.add(at, `expected a number, got ${quote(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') out.add(at, `expected true or false, got ${quote(value)}`);
      return;
    case 'date':
      if (!isIsoDate(value)) out.add(at, `expected an ISO 8601 date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ), got ${quote(value)}`);
      return;
    case 'string':
    case 'version':
    case 'list':
      if (typeof value !== 'string') {
        out.add(at, `expected a string, got ${quote(value)}`);
        return;
      }
      if (field.allowedValues && ENUM_CHECKED_OPS.has(op)) {
        const lower = value.toLowerCase();
        if (!field.allowedValues.some((v) => v.toLowerCase() === lower)) {
          out.add(at, `${quote(value)} is not one of: ${field.allowedValues.join(', ')}`);
        }
      }
      return;
  }
}

/** Each regex costs pattern size × input length per device: their number per rule is bounded too. */
function checkRuleRegex(source: string, at: string, out: Collector): void {
  if (++out.regexes === MAX_REGEX_CONDITIONS + 1) out.add(at, `a rule has at most ${MAX_REGEX_CONDITIONS} regular expressions`);
  const problem = checkRegex(source);
  if (problem) out.add(at, problem);
}

function checkSoftwareCondition(c: SoftwareCondition, path: string, out: Collector): void {
  const sw = join(path, 'software');
  if (c.software.match === 'regex') checkRuleRegex(c.software.name, join(sw, 'name'), out);
  if (c.software.version && !isValidVersion(c.software.version.value)) {
    out.add(join(join(sw, 'version'), 'value'), `${quote(c.software.version.value)} is not a version`);
  }
}

// ---- zod issues → readable errors ------------------------------------------------------------

type Issue = z.core.$ZodIssue;

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

const isScalar = (v: unknown): boolean => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** A field condition's `value`: say which element is wrong rather than "Invalid input". */
function valueErrors(value: unknown, at: string): RuleError[] {
  if (Array.isArray(value)) {
    if (value.length > 1000) return [{ path: at, message: 'at most 1000 values' }];
    const errors: RuleError[] = [];
    value.forEach((v, i) => {
      if (typeof v === 'string' && v.length > 1000) errors.push({ path: join(at, i), message: 'at most 1000 characters' });
      else if (!isScalar(v)) errors.push({ path: join(at, i), message: `expected a string, number or boolean, got ${describeType(v)}` });
    });
    if (errors.length > 0) return errors;
  }
  if (typeof value === 'string' && value.length > 1000) return [{ path: at, message: 'at most 1000 characters' }];
  return [{ path: at, message: `expected a string, number, boolean or a list of them, got ${describeType(value)}` }];
}

function zodIssueErrors(issue: Issue, base: string, root: unknown): RuleError[] {
  const path = issue.path.reduce<string>((p, k) => join(p, String(k)), base);
  const last = issue.path[issue.path.length - 1];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: join(path, key), message: `unknown property "${key}"` }));
    case 'invalid_union':
      if (last === 'value') return valueErrors(valueAt(root, issue.path), path);
      return [{ path, message: 'invalid value' }];
    case 'invalid_value':
      if (last === 'op') {
        // The field operators are many and depend on the field (reported later); short lists help.
        const hint = issue.values.length <= 8 ? `; use one of: ${issue.values.map(String).join(', ')}` : '';
        return [{ path, message: `unknown operator ${quote(valueAt(root, issue.path))}${hint}` }];
      }
      return [{ path, message: `must be one of: ${issue.values.map(String).join(', ')}` }];
    case 'invalid_type': {
      const got = valueAt(root, issue.path);
      return [
        {
          path,
          message:
            got === undefined
              ? `required (${issue.expected})`
              : `expected ${issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}, got ${describeType(got)}`,
        },
      ];
    }
    case 'too_small':
      if (issue.origin === 'string')
        return [{ path, message: Number(issue.minimum) <= 1 ? 'must not be empty' : `at least ${issue.minimum} characters` }];
      if (issue.origin === 'array')
        return [{ path, message: `needs at least ${issue.minimum} item${Number(issue.minimum) === 1 ? '' : 's'}` }];
      return [{ path, message: issue.message }];
    case 'too_big':
      if (issue.origin === 'string') return [{ path, message: `at most ${issue.maximum} characters` }];
      if (issue.origin === 'array') return [{ path, message: `at most ${issue.maximum} items` }];
      return [{ path, message: issue.message }];
    case 'invalid_format':
      return [{ path, message: issue.format === 'uuid' ? 'must be a group ID (a UUID)' : `invalid ${issue.format}` }];
    default:
      return [{ path, message: issue.message }];
  }
}
