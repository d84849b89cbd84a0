/**
 * compileRule: turns a (validated) rule into a predicate over DeviceFacts. Work that does not depend
 * on the device — lowercasing, regex construction, set building, operator dispatch — happens once
 * here, so evaluating many rules against many devices is a chain of small closures.
 *
 * Semantics:
 * - Strings compare case-insensitively for equals / contains / starts_with / ends_with / in; regexes
 *   match case-insensitively on RE2 (regex.ts). Version operators use compareVersions.
 * - Missing values: a fact that is null, undefined, an empty string or an empty list is *missing*.
 *   A missing value fails every operator except the negative ones — not_equals, not_contains, not_in,
 *   version_neq and not_exists — which are exactly the negation of equals, contains, in, version_eq and
 *   exists. So `{field, op: 'not_X', value}` ≡ `{not: {field, op: 'X', value}}` always holds, and
 *   "devices whose OS is not Windows" includes devices that have not reported an OS yet.
 * - Lists (tags, network.ipAddresses, security.localAdmins): `contains` means "has an element equal
 *   to" (case-insensitive), not substring; exists means non-empty.
 * - The value type decides the comparison, so the compiler needs no catalog: a number value compares
 *   numerically (numeric strings in facts are coerced, other strings count as missing), a boolean
 *   compares with booleans (`"true"`/`"false"` facts are coerced), a string compares as text (number
 *   and boolean facts are stringified). gt/gte/lt/lte with an ISO date string compare dates.
 * - Software conditions: some entry of `facts.software` whose name matches (equals / contains /
 *   starts_with: case-insensitive; regex: `i` flag) and, if given, whose version satisfies the
 *   comparison. `present: false` negates: "has no matching package".
 * - memberOf checks `facts.groups`.
 * compileRule never throws, and neither does the predicate, even for unvalidated rules or facts of
 * the wrong shape: a node it cannot understand, or a regex that fails validation, matches nothing;
 * a rule nested deeper than 64 levels matches nothing at all.
 *
 * Caching: software lookups index `facts.software` by lowercased name once per list (a WeakMap keyed
 * by the array), shared by every rule evaluated on those facts — so treat the list as immutable.
 */
import type { FieldCondition, Rule, SoftwareCondition } from '@opsconductor/contracts/rules';
import { parseIsoDate } from './dates.ts';
import type { DeviceFacts, SoftwareFact } from './facts.ts';
import { CUSTOM_FIELD_PREFIX } from './fields.ts';
import { compileRegex } from './regex.ts';
import { isAll, isAny, isField, isGroup, isNot, isSoftware } from './tree.ts';
import { versionComparator } from './version.ts';

export type Predicate = (facts: DeviceFacts) => boolean;
type Scalar = string | number | boolean;
type Present = Scalar | readonly string[];
type ScalarTest = (v: Scalar) => boolean;

const never: Predicate = () => false;

/** Negative operators → their positive counterpart. A negative op is true exactly when the positive is false. */
const NEGATIONS: Readonly<Record<string, string>> = {
  not_equals: 'equals',
  not_contains: 'contains',
  not_in: 'in',
  not_exists: 'exists',
  version_neq: 'version_eq',
};

export function compileRule(rule: Rule): Predicate {
  let root: Predicate;
  try {
    root = compileNode(rule, 0);
  } catch {
    return never;
  }
  return (facts) => typeof facts === 'object' && facts !== null && root(facts);
}

/** Depth beyond which an (unvalidated) rule is refused — it matches nothing — rather than risking the stack. */
const MAX_COMPILE_DEPTH = 64;

class TooDeep extends Error {}

function compileNode(node: Rule, depth: number): Predicate {
  // The whole rule fails, not the subtree: `never` under an odd number of `not`s would match everything.
  if (depth > MAX_COMPILE_DEPTH) throw new TooDeep();
  if (typeof node !== 'object' || node === null) return never;
  if (isAll(node)) return allOf(node.all.map((r) => compileNode(r, depth + 1)));
  if (isAny(node)) return anyOf(node.any.map((r) => compileNode(r, depth + 1)));
  if (isNot(node)) {
    const inner = compileNode(node.not, depth + 1);
    return (f) => !inner(f);
  }
  if (isField(node)) return compileField(node);
  if (isSoftware(node)) return compileSoftware(node);
  if (isGroup(node)) return compileMemberOf(node.memberOf);
  return never;
}

function allOf(ps: Predicate[]): Predicate {
  if (ps.length === 0) return never; // the contract requires ≥ 1; an empty list matches nothing, like `any`
  if (ps.length === 1) return ps[0]!;
  if (ps.length === 2) {
    const [a, b] = ps as [Predicate, Predicate];
    return (f) => a(f) && b(f);
  }
  return (f) => {
    for (const p of ps) if (!p(f)) return false;
    return true;
  };
}

function anyOf(ps: Predicate[]): Predicate {
  if (ps.length === 0) return never;
  if (ps.length === 1) return ps[0]!;
  if (ps.length === 2) {
    const [a, b] = ps as [Predicate, Predicate];
    return (f) => a(f) || b(f);
  }
  return (f) => {
    for (const p of ps) if (p(f)) return true;
    return false;
  };
}

// ---- reading facts ---------------------------------------------------------------------------

/** Normalises a raw fact: scalars and string lists pass, missing/empty/garbage → null. */
function present(raw: unknown): Present | null {
  switch (typeof raw) {
    case 'string':
      return raw === '' ? null : raw;
    case 'number':
      return Number.isNaN(raw) ? null : raw;
    case 'boolean':
      return raw;
    case 'object':
      if (Array.isArray(raw)) return raw.length === 0 ? null : (raw as readonly string[]);
      return null;
    default:
      return null;
  }
}

/**
 * Reads a field. No own-property check: `present` turns whatever the prototype chain yields for names
 * like `constructor` or `__proto__` (functions, objects) into "missing".
 */
function accessor(field: string): (f: DeviceFacts) => unknown {
  if (field.startsWith(CUSTOM_FIELD_PREFIX)) {
    const key = field.slice(CUSTOM_FIELD_PREFIX.length);
    return (f) => (f.customFields as Record<string, unknown> | undefined)?.[key];
  }
  return (f) => (f as unknown as Record<string, unknown>)[field];
}

const NUMERIC = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?\s*$/i;

function toNumber(v: Scalar): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return null;
}

function toBoolean(v: Scalar): boolean | null {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
  }
  return null;
}

function toTime(v: Scalar): number | null {
  if (typeof v === 'number') return v; // epoch milliseconds
  if (typeof v === 'string') return parseIsoDate(v);
  return null;
}

const lower = (v: Scalar): string => (typeof v === 'string' ? v.toLowerCase() : String(v).toLowerCase());

// ---- field conditions ------------------------------------------------------------------------

function compileField(c: FieldCondition): Predicate {
  const read = accessor(c.field);
  const negated = Object.hasOwn(NEGATIONS, c.op);
  const op = negated ? NEGATIONS[c.op]! : c.op;
  const test = scalarTest(op, c.value);
  // A meaningless operator/value (unvalidated rules only): the positive never holds, its negation always.
  if (!test) return negated ? () => true : never;
  // On a list a condition holds when some element satisfies it; `contains` there means "an element
  // equals" (tags contains "kiosk" must not match the tag "kiosk-old").
  const elementTest = op === 'contains' && !Array.isArray(c.value) && c.value !== undefined ? equalsAny([c.value]) : test;
  const positive = (v: Present): boolean => (typeof v === 'object' ? v.some((el) => typeof el === 'string' && elementTest(el)) : test(v));
  if (negated) {
    return (f) => {
      const v = present(read(f));
      return v === null || !positive(v);
    };
  }
  return (f) => {
    const v = present(read(f));
    return v !== null && positive(v);
  };
}

/**
 * The test a present scalar fact must pass for a positive operator, or null when the operator or
 * value makes no sense (only possible for unvalidated rules): the positive then never holds.
 */
function scalarTest(op: string, value: FieldCondition['value']): ScalarTest | null {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  const single = Array.isArray(value) ? undefined : value;
  switch (op) {
    case 'exists':
      return () => true;
    case 'equals':
      return single === undefined ? null : equalsAny([single]);
    case 'in':
      return values.length === 0 ? null : equalsAny(values);
    case 'contains':
    case 'starts_with':
    case 'ends_with':
      return single === undefined ? null : textTest(op, lower(single));
    case 'regex': {
      const re = typeof single === 'string' ? compileRegex(single) : null;
      return re ? (v) => re.test(typeof v === 'string' ? v : String(v)) : null;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return single === undefined ? null : orderingTest(op, single);
    case 'version_eq':
    case 'version_gt':
    case 'version_gte':
    case 'version_lt':
    case 'version_lte':
      return single === undefined ? null : versionTest(op, String(single));
    default:
      return null;
  }
}

/** equals / in: each wanted value compares by its own type (see the module comment). */
function equalsAny(wanted: readonly Scalar[]): ScalarTest {
  const strings = new Set<string>();
  const numbers = new Set<number>();
  const booleans = new Set<boolean>();
  for (const w of wanted) {
    if (typeof w === 'number') numbers.add(w);
    else if (typeof w === 'boolean') booleans.add(w);
    else strings.add(w.toLowerCase());
  }
  if (numbers.size === 0 && booleans.size === 0) {
    if (strings.size === 1) {
      const [only] = strings;
      return (v) => lower(v) === only;
    }
    return (v) => strings.has(lower(v));
  }
  return (v) => {
    if (strings.size > 0 && strings.has(lower(v))) return true;
    if (numbers.size > 0) {
      const n = toNumber(v);
      if (n !== null && numbers.has(n)) return true;
    }
    if (booleans.size > 0) {
      const b = toBoolean(v);
      if (b !== null && booleans.has(b)) return true;
    }
    return false;
  };
}

function textTest(op: 'contains' | 'starts_with' | 'ends_with', needle: string): ScalarTest {
  switch (op) {
    case 'contains':
      return (v) => lower(v).includes(needle);
    case 'starts_with':
      return (v) => lower(v).startsWith(needle);
    case 'ends_with':
      return (v) => lower(v).endsWith(needle);
  }
}

function orderingTest(op: 'gt' | 'gte' | 'lt' | 'lte', value: Scalar): ScalarTest | null {
  const cmp = (d: number): boolean => (op === 'gt' ? d > 0 : op === 'gte' ? d >= 0 : op === 'lt' ? d < 0 : d <= 0);
  const wantedNumber = typeof value === 'boolean' ? null : toNumber(value);
  if (wantedNumber !== null) {
    return (v) => {
      const n = toNumber(v);
      return n !== null && cmp(n - wantedNumber);
    };
  }
  const wantedTime = typeof value === 'string' ? parseIsoDate(value) : null;
  if (wantedTime !== null) {
    return (v) => {
      const t = toTime(v);
      return t !== null && cmp(t - wantedTime);
    };
  }
  return null;
}

function versionTest(op: string, wanted: string): ScalarTest | null {
  const test = versionComparison(op);
  if (!test) return null;
  const compare = versionComparator(wanted);
  return (v) => test(compare(v));
}

function versionComparison(op: string): ((order: number) => boolean) | null {
  switch (op) {
    case 'version_eq':
      return (d) => d === 0;
    case 'version_neq':
      return (d) => d !== 0;
    case 'version_gt':
      return (d) => d > 0;
    case 'version_gte':
      return (d) => d >= 0;
    case 'version_lt':
      return (d) => d < 0;
    case 'version_lte':
      return (d) => d <= 0;
    default:
      return null;
  }
}

// ---- software --------------------------------------------------------------------------------

/** Name → versions, built once per software list and reused by every `equals` condition on it. */
const softwareIndex = new WeakMap<ReadonlyArray<SoftwareFact>, Map<string, string[]>>();

function softwareByName(software: ReadonlyArray<SoftwareFact>): Map<string, string[]> {
  let index = softwareIndex.get(software);
  if (!index) {
    index = new Map();
    for (const p of software) {
      if (typeof p?.name !== 'string') continue;
      const key = p.name.toLowerCase();
      const versions = index.get(key);
      const version = typeof p.version === 'string' ? p.version : '';
      if (versions) versions.push(version);
      else index.set(key, [version]);
    }
    softwareIndex.set(software, index);
  }
  return index;
}

function compileSoftware(c: SoftwareCondition): Predicate {
  const { name, match = 'equals', version } = c.software;
  const wantPresent = c.present !== false;
  const versionOk = softwareVersionTest(version);
  const list = (f: DeviceFacts): ReadonlyArray<SoftwareFact> => (Array.isArray(f.software) ? f.software : []);

  const needle = name.toLowerCase();
  if (match === 'equals') {
    return (f) => {
      const versions = softwareByName(list(f)).get(needle);
      const found = versions !== undefined && versions.some(versionOk);
      return found === wantPresent;
    };
  }
  if (match === 'contains' || match === 'starts_with') {
    // Scan the distinct lowercased names of the index rather than lowercasing every package per rule.
    const nameOk = match === 'contains' ? (n: string) => n.includes(needle) : (n: string) => n.startsWith(needle);
    return (f) => {
      let found = false;
      for (const [lowered, versions] of softwareByName(list(f))) {
        if (nameOk(lowered) && versions.some(versionOk)) {
          found = true;
          break;
        }
      }
      return found === wantPresent;
    };
  }
  const re = match === 'regex' ? compileRegex(name) : null;
  if (!re) return wantPresent ? never : () => true; // an unusable pattern or mode matches no package
  return (f) => {
    let found = false;
    for (const p of list(f)) {
      if (typeof p?.name === 'string' && re.test(p.name) && versionOk(typeof p.version === 'string' ? p.version : '')) {
        found = true;
        break;
      }
    }
    return found === wantPresent;
  };
}

function softwareVersionTest(version: SoftwareCondition['software']['version']): (v: string) => boolean {
  if (!version) return () => true;
  const test = versionComparison(version.op);
  if (!test) return () => false;
  const compare = versionComparator(version.value);
  return (v) => test(compare(v));
}

// ---- group membership ------------------------------------------------------------------------

function compileMemberOf(id: string): Predicate {
  const lowered = id.toLowerCase();
  return (f) => {
    const groups = f.groups as unknown;
    if (groups instanceof Set) return groups.has(id) || groups.has(lowered);
    if (Array.isArray(groups)) return groups.includes(id) || groups.includes(lowered); // facts rebuilt from JSON
    return false;
  };
}
