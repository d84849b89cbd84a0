/**
 * The rule builder's model: a dynamic-group rule (`@opsconductor/contracts/rules`) as an editable tree
 * with stable node ids, conversions both ways, the JSON path of every node (the API reports rule
 * errors by path, e.g. `all.1.value`), and readable text for conditions.
 *
 * Pure and browser-safe: only *types* and the zod-free constants come from the contracts (their zod schemas stay on the server);
 * the field catalog and operator table reach the browser through loader data (see rule-catalog.server).
 */
import { softwareNameMatches, softwareVersionOps } from '@opsconductor/contracts/constants';
import type { components } from '@opsconductor/contracts/openapi-types';
import type { FieldType, Rule } from '@opsconductor/contracts/rules';

/**
 * A rule as the API returns it: what was validated and stored, read leniently here (a `match` or `present`
 * left out means the default). Every rule the builder makes is one.
 */
export type StoredRule = components['schemas']['Rule'];

// ---- catalog -------------------------------------------------------------------------------------

export type FieldOption = {
  key: string;
  label: string;
  type: FieldType;
  /** Known values (enums); the builder offers them in a select. */
  values?: string[];
  /** Heading in the field picker: Device, Operating system, Hardware, …, Custom fields. */
  category: string;
  description?: string;
};

export type RuleCatalog = {
  fields: FieldOption[];
  operatorsByType: Record<FieldType, readonly string[]>;
  /** Groups a "Member of group" condition may name. */
  groups: Array<{ id: string; name: string; kind: 'static' | 'dynamic' }>;
};

export const fieldCategoryOrder = [
  'Device',
  'Operating system',
  'Network',
  'Hardware',
  'Directory',
  'System',
  'Security',
  'Performance',
  'Custom fields',
] as const;

export function fieldCategory(key: string): string {
  if (key.startsWith('customFields.')) return 'Custom fields';
  const prefix = key.split('.')[0] ?? '';
  const byPrefix: Record<string, string> = {
    os: 'Operating system',
    network: 'Network',
    hardware: 'Hardware',
    directory: 'Directory',
    system: 'System',
    security: 'Security',
    performance: 'Performance',
  };
  return byPrefix[prefix] ?? 'Device';
}

/** Custom field types as rule field types: text → string, enum → string with values. */
export function customFieldRuleType(type: 'text' | 'number' | 'boolean' | 'date' | 'enum'): FieldType {
  return type === 'text' || type === 'enum' ? 'string' : type;
}

const operatorLabels: Record<string, string> = {
  equals: 'equals',
  not_equals: 'does not equal',
  contains: 'contains',
  not_contains: 'does not contain',
  starts_with: 'starts with',
  ends_with: 'ends with',
  regex: 'matches regex',
  in: 'is one of',
  not_in: 'is not one of',
  exists: 'is set',
  not_exists: 'is not set',
  gt: 'is greater than',
  gte: 'is at least',
  lt: 'is less than',
  lte: 'is at most',
  version_eq: 'version =',
  version_neq: 'version ≠',
  version_gt: 'version >',
  version_gte: 'version ≥',
  version_lt: 'version <',
  version_lte: 'version ≤',
};
const dateOperatorLabels: Record<string, string> = { gt: 'is after', gte: 'is on or after', lt: 'is before', lte: 'is on or before' };

export function operatorLabel(op: string, type?: FieldType): string {
  if (type === 'date' && dateOperatorLabels[op]) return dateOperatorLabels[op];
  return operatorLabels[op] ?? op;
}

export const softwareMatchModes = softwareNameMatches;
export type SoftwareMatch = (typeof softwareMatchModes)[number];
export const softwareMatchLabels: Record<SoftwareMatch, string> = {
  equals: 'named exactly',
  contains: 'name contains',
  starts_with: 'name starts with',
  regex: 'name matches regex',
};
export const versionOps = softwareVersionOps;
export type VersionOp = (typeof versionOps)[number];

export const valuelessOps = new Set(['exists', 'not_exists']);
export const listValueOps = new Set(['in', 'not_in']);

export function findField(catalog: RuleCatalog, key: string): FieldOption | undefined {
  return catalog.fields.find((f) => f.key === key);
}

/** Operators for a field; an unknown field (e.g. a deleted custom field) is treated as a string. */
export function operatorsFor(catalog: RuleCatalog, key: string): readonly string[] {
  const type = findField(catalog, key)?.type ?? 'string';
  return catalog.operatorsByType[type] ?? [];
}

// ---- tree ----------------------------------------------------------------------------------------

type NodeBase = { id: string; negate: boolean };
export type GroupNode = NodeBase & { kind: 'group'; combinator: 'all' | 'any'; children: RuleNode[] };
export type FieldNode = NodeBase & { kind: 'field'; field: string; op: string; value: string };
export type SoftwareNode = NodeBase & {
  kind: 'software';
  name: string;
  match: SoftwareMatch;
  versionOp: VersionOp | '';
  version: string;
  present: boolean;
};
export type MemberNode = NodeBase & { kind: 'member'; groupId: string };
export type ConditionNode = FieldNode | SoftwareNode | MemberNode;
export type RuleNode = GroupNode | ConditionNode;

let counter = 0;
/** Ids of nodes created in the browser (parsed trees number their nodes deterministically). */
export function newNodeId(): string {
  counter += 1;
  return `new-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function emptyCondition(id = newNodeId()): FieldNode {
  return { id, kind: 'field', negate: false, field: '', op: '', value: '' };
}
export function emptyGroup(id = newNodeId(), withCondition = true): GroupNode {
  return { id, kind: 'group', negate: false, combinator: 'all', children: withCondition ? [emptyCondition()] : [] };
}

/** Visits every node, depth first, parents before children. */
export function walk(node: RuleNode, visit: (node: RuleNode, parent: GroupNode | null) => void, parent: GroupNode | null = null): void {
  visit(node, parent);
  if (node.kind === 'group') for (const child of node.children) walk(child, visit, node);
}

/** A tree of builder nodes: groups (`kind: 'group'`, with children) and leaves, each with an ID (this and the detection builder's). */
type TreeNode = { id: string; kind: string; children?: unknown };
type TreeGroup<N extends TreeNode> = N & { kind: 'group'; children: N[] };
const isGroup = <N extends TreeNode>(node: N): node is TreeGroup<N> => node.kind === 'group';

/** Replaces the node `id` with `update(node)` (immutably): unchanged subtrees stay the same objects. */
export function updateTreeNode<N extends TreeNode, G extends TreeGroup<N>>(root: G, id: string, update: (node: N) => N): G {
  const go = (node: N): N => {
    if (node.id === id) return update(node);
    if (!isGroup(node)) return node;
    let changed = false;
    const children = node.children.map((c) => {
      const next = go(c);
      if (next !== c) changed = true;
      return next;
    });
    return changed ? { ...node, children } : node;
  };
  return go(root) as unknown as G;
}

/** The tree without the node `id` (immutably). */
export function removeTreeNode<N extends TreeNode, G extends TreeGroup<N>>(root: G, id: string): G {
  const go = (node: TreeGroup<N>): TreeGroup<N> => {
    const kept = node.children.filter((c) => c.id !== id);
    const children = kept.map((c) => (isGroup(c) ? go(c) : c));
    return kept.length === node.children.length && children.every((c, i) => c === node.children[i]) ? node : { ...node, children };
  };
  return go(root) as G;
}

/** The tree with `child` added at the end of group `groupId` (immutably). */
export function appendTreeChild<N extends TreeNode, G extends TreeGroup<N>>(root: G, groupId: string, child: N): G {
  return updateTreeNode<N, G>(root, groupId, (n) => (isGroup(n) ? { ...n, children: [...n.children, child] } : n));
}

export const updateNode = (root: GroupNode, id: string, update: (node: RuleNode) => RuleNode): GroupNode =>
  updateTreeNode<RuleNode, GroupNode>(root, id, update);
export const removeNode = (root: GroupNode, id: string): GroupNode => removeTreeNode<RuleNode, GroupNode>(root, id);
export const appendChild = (root: GroupNode, groupId: string, child: RuleNode): GroupNode =>
  appendTreeChild<RuleNode, GroupNode>(root, groupId, child);

// ---- JSON → tree ---------------------------------------------------------------------------------

export type ParseResult = { ok: true; root: GroupNode } | { ok: false; error: string };

class RuleShapeError extends Error {}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function valueToText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((v) => String(v)).join(', ');
  return String(value);
}

/**
 * Reads a rule (parsed JSON) into a tree; the root is always a group (a lone condition becomes
 * "ALL of: that condition"). Checks the shape only; the API type-checks the conditions.
 */
export function ruleToTree(json: unknown): ParseResult {
  let n = 0;
  const id = () => `n${n++}`;
  const at = (path: string) => (path ? ` at ${path}` : '');
  const onlyKeys = (x: Record<string, unknown>, allowed: string[], path: string) => {
    const extra = Object.keys(x).filter((k) => !allowed.includes(k));
    if (extra.length) throw new RuleShapeError(`Unexpected ${extra.map((k) => `"${k}"`).join(', ')}${at(path)}`);
  };
  const join = (a: string, b: string | number) => (a ? `${a}.${b}` : String(b));

  const parse = (x: unknown, path: string): RuleNode => {
    if (!isObject(x)) throw new RuleShapeError(`Expected an object${at(path)}`);
    for (const combinator of ['all', 'any'] as const) {
      if (combinator in x) {
        onlyKeys(x, [combinator], path);
        const list = x[combinator];
        if (!Array.isArray(list)) throw new RuleShapeError(`"${combinator}" must be a list${at(path)}`);
        const nodeId = id();
        return {
          id: nodeId,
          kind: 'group',
          negate: false,
          combinator,
          children: list.map((c, i) => parse(c, join(join(path, combinator), i))),
        };
      }
    }
    if ('not' in x) {
      onlyKeys(x, ['not'], path);
      const inner = parse(x.not, join(path, 'not'));
      if (!inner.negate) return { ...inner, negate: true };
      return { id: id(), kind: 'group', negate: true, combinator: 'all', children: [inner] };
    }
    if ('field' in x) {
      onlyKeys(x, ['field', 'op', 'value'], path);
      if (typeof x.field !== 'string') throw new RuleShapeError(`"field" must be a string${at(path)}`);
      if (typeof x.op !== 'string') throw new RuleShapeError(`"op" must be a string${at(path)}`);
      return { id: id(), kind: 'field', negate: false, field: x.field, op: x.op, value: valueToText(x.value) };
    }
    if ('software' in x) {
      onlyKeys(x, ['software', 'present'], path);
      const s = x.software;
      if (!isObject(s)) throw new RuleShapeError(`"software" must be an object${at(path)}`);
      onlyKeys(s, ['name', 'match', 'version'], join(path, 'software'));
      if (typeof s.name !== 'string') throw new RuleShapeError(`"software.name" must be a string${at(path)}`);
      const match = s.match ?? 'equals';
      if (typeof match !== 'string' || !(softwareMatchModes as readonly string[]).includes(match)) {
        throw new RuleShapeError(`"software.match" must be one of ${softwareMatchModes.join(', ')}${at(path)}`);
      }
      let versionOp: VersionOp | '' = '';
      let version = '';
      if (s.version !== undefined) {
        const v = s.version;
        if (!isObject(v) || typeof v.op !== 'string' || !(versionOps as readonly string[]).includes(v.op) || typeof v.value !== 'string') {
          throw new RuleShapeError(`"software.version" must be { op, value }${at(path)}`);
        }
        versionOp = v.op as VersionOp;
        version = v.value;
      }
      if (x.present !== undefined && typeof x.present !== 'boolean') throw new RuleShapeError(`"present" must be true or false${at(path)}`);
      return {
        id: id(),
        kind: 'software',
        negate: false,
        name: s.name,
        match: match as SoftwareMatch,
        versionOp,
        version,
        present: x.present !== false,
      };
    }
    if ('memberOf' in x) {
      onlyKeys(x, ['memberOf'], path);
      if (typeof x.memberOf !== 'string') throw new RuleShapeError(`"memberOf" must be a group id${at(path)}`);
      return { id: id(), kind: 'member', negate: false, groupId: x.memberOf };
    }
    throw new RuleShapeError(`Expected all, any, not, field, software or memberOf${at(path)}`);
  };

  try {
    const node = parse(json, '');
    if (node.kind === 'group') return { ok: true, root: node };
    return { ok: true, root: { id: id(), kind: 'group', negate: false, combinator: 'all', children: [node] } };
  } catch (error) {
    if (error instanceof RuleShapeError) return { ok: false, error: error.message };
    throw error;
  }
}

/** Parses the JSON editor's text. */
export function parseRuleText(text: string): ParseResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `Invalid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  return ruleToTree(json);
}

// ---- tree → JSON ---------------------------------------------------------------------------------

export type NodeProblem = { nodeId: string; message: string };
export type Serialized = {
  /** The rule, or null while a problem remains (an empty group, a condition without a field…). */
  rule: Rule | null;
  /** What a complete tree would be, problems or not (for the JSON view). */
  draft: unknown;
  /** JSON path (dot-separated, '' for the root) → node id; a negated node owns its `not` path too. */
  paths: Map<string, string>;
  problems: NodeProblem[];
};

function typedValue(text: string, type: FieldType): { ok: true; value: string | number | boolean } | { ok: false; message: string } {
  const t = text.trim();
  if (type === 'number') {
    if (t === '' || !Number.isFinite(Number(t))) return { ok: false, message: 'Enter a number' };
    return { ok: true, value: Number(t) };
  }
  if (type === 'boolean') {
    if (t === 'true') return { ok: true, value: true };
    if (t === 'false') return { ok: true, value: false };
    return { ok: false, message: 'Choose true or false' };
  }
  if (t === '') return { ok: false, message: type === 'date' ? 'Enter a date' : 'Enter a value' };
  return { ok: true, value: type === 'date' ? t : text };
}

export function serializeTree(root: GroupNode, catalog: RuleCatalog): Serialized {
  const paths = new Map<string, string>();
  const problems: NodeProblem[] = [];
  const join = (a: string, b: string | number) => (a ? `${a}.${b}` : String(b));

  const condition = (node: ConditionNode): unknown => {
    if (node.kind === 'member') {
      if (!node.groupId) problems.push({ nodeId: node.id, message: 'Choose a group' });
      return { memberOf: node.groupId };
    }
    if (node.kind === 'software') {
      if (!node.name.trim()) problems.push({ nodeId: node.id, message: 'Enter a software name' });
      const software: Record<string, unknown> = { name: node.name.trim(), match: node.match };
      if (node.versionOp) {
        if (!node.version.trim()) problems.push({ nodeId: node.id, message: 'Enter a version' });
        software.version = { op: node.versionOp, value: node.version.trim() };
      }
      return { software, present: node.present };
    }
    if (!node.field) {
      problems.push({ nodeId: node.id, message: 'Choose a field' });
      return { field: '', op: node.op };
    }
    if (!node.op) {
      problems.push({ nodeId: node.id, message: 'Choose an operator' });
      return { field: node.field, op: '' };
    }
    const type = findField(catalog, node.field)?.type ?? 'string';
    if (valuelessOps.has(node.op)) return { field: node.field, op: node.op };
    if (listValueOps.has(node.op)) {
      const items = node.value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (items.length === 0) {
        problems.push({ nodeId: node.id, message: 'Enter one or more values, separated by commas' });
        return { field: node.field, op: node.op, value: [] };
      }
      const values: Array<string | number | boolean> = [];
      for (const item of items) {
        const v = typedValue(item, type === 'list' ? 'string' : type);
        if (!v.ok) {
          problems.push({ nodeId: node.id, message: `${v.message} (“${item}”)` });
          return { field: node.field, op: node.op, value: items };
        }
        values.push(v.value);
      }
      return { field: node.field, op: node.op, value: values };
    }
    // Version comparisons on a string field compare versions: the value stays a string.
    const v = typedValue(node.value, node.op.startsWith('version_') || type === 'list' || type === 'version' ? 'string' : type);
    if (!v.ok) {
      problems.push({ nodeId: node.id, message: v.message });
      return { field: node.field, op: node.op, value: node.value };
    }
    return { field: node.field, op: node.op, value: v.value };
  };

  const go = (node: RuleNode, path: string): unknown => {
    paths.set(path, node.id);
    const innerPath = node.negate ? join(path, 'not') : path;
    if (node.negate) paths.set(innerPath, node.id);
    let json: unknown;
    if (node.kind === 'group') {
      if (node.children.length === 0) problems.push({ nodeId: node.id, message: 'Add at least one condition' });
      json = { [node.combinator]: node.children.map((c, i) => go(c, join(join(innerPath, node.combinator), i))) };
    } else {
      json = condition(node);
    }
    return node.negate ? { not: json } : json;
  };

  const draft = go(root, '');
  return { rule: problems.length === 0 ? (draft as Rule) : null, draft, paths, problems };
}

// ---- errors by node ---------------------------------------------------------------------------------

/** `body.rule.all[1].value`, `/rule/all/1/value`, `rule.all.1.value` → `all.1.value` (`field`: the tree's field in the body). */
export function normalizeErrorPath(path: string, field: 'rule' | 'detection' = 'rule'): string {
  return path
    .replace(/\[(\d+)\]/g, '.$1')
    .replace(/\//g, '.')
    .replace(/^\.+/, '')
    .replace(/^body\./, '')
    .replace(new RegExp(`^${field}(\\.|$)`), '')
    .replace(/\.+$/, '');
}

/** The node an error path points at: the longest known path that is a prefix of it. */
export function nodeForPath(paths: Map<string, string>, errorPath: string, field: 'rule' | 'detection' = 'rule'): string | undefined {
  let p = normalizeErrorPath(errorPath, field);
  for (;;) {
    const id = paths.get(p);
    if (id) return id;
    if (p === '') return undefined;
    const cut = p.lastIndexOf('.');
    p = cut < 0 ? '' : p.slice(0, cut);
  }
}

export function errorsByNode(paths: Map<string, string>, errors: Array<{ path: string; message: string }>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of errors) {
    const id = nodeForPath(paths, e.path) ?? paths.get('') ?? '';
    out.set(id, [...(out.get(id) ?? []), e.message]);
  }
  return out;
}

/** "Condition 2.1" / "Group 3" / "The rule": where a node sits, for the error summary. */
export function nodeLabels(root: GroupNode): Map<string, string> {
  const out = new Map<string, string>();
  out.set(root.id, 'The rule');
  const go = (group: GroupNode, prefix: string) => {
    group.children.forEach((child, i) => {
      const number = prefix ? `${prefix}.${i + 1}` : String(i + 1);
      out.set(child.id, `${child.kind === 'group' ? 'Group' : 'Condition'} ${number}`);
      if (child.kind === 'group') go(child, number);
    });
  };
  go(root, '');
  return out;
}

// ---- readable text ---------------------------------------------------------------------------------

function formatValue(value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => formatValue(v)).join(', ');
  if (typeof value === 'string') return `“${value}”`;
  return String(value);
}

/** One condition as a sentence: `OS family equals “linux”`, `has software “openssl” version ≥ 3.0`. */
export function conditionText(cond: StoredRule, catalog: Pick<RuleCatalog, 'fields' | 'groups'>, negate = false): string {
  const c = cond as Record<string, unknown>;
  if (typeof c.memberOf === 'string') {
    const g = catalog.groups.find((x) => x.id === c.memberOf);
    return `${negate ? 'is not a member of' : 'is a member of'} ${g ? `“${g.name}”` : `group ${c.memberOf}`}`;
  }
  if (isObject(c.software)) {
    const s = c.software as { name: string; match?: SoftwareMatch; version?: { op: string; value: string } };
    const has = (c.present !== false) !== negate;
    const match = s.match && s.match !== 'equals' ? ` (${softwareMatchLabels[s.match]})` : '';
    const version = s.version ? ` ${operatorLabel(s.version.op)} ${s.version.value}` : '';
    return `${has ? 'has' : 'does not have'} software “${s.name}”${match}${version}`;
  }
  if (typeof c.field === 'string') {
    const f = catalog.fields.find((x) => x.key === c.field);
    const label = f?.label ?? c.field;
    const op = operatorLabel(String(c.op), f?.type);
    const text = valuelessOps.has(String(c.op)) ? `${label} ${op}` : `${label} ${op} ${formatValue(c.value)}`;
    return negate ? `NOT (${text})` : text;
  }
  return JSON.stringify(cond);
}

/** A rule as nested lines for a read-only view: groups carry their combinator, leaves their sentence. */
export type RuleLine =
  { kind: 'group'; combinator: 'all' | 'any'; negate: boolean; children: RuleLine[] } | { kind: 'condition'; text: string };

export function ruleLines(rule: StoredRule, catalog: Pick<RuleCatalog, 'fields' | 'groups'>): RuleLine {
  const go = (r: StoredRule, negate: boolean): RuleLine => {
    const x = r as Record<string, unknown>;
    if (Array.isArray(x.all) || Array.isArray(x.any)) {
      const combinator = Array.isArray(x.all) ? 'all' : 'any';
      return { kind: 'group', combinator, negate, children: (x[combinator] as StoredRule[]).map((c) => go(c, false)) };
    }
    if (isObject(x.not)) {
      if (negate) return { kind: 'group', combinator: 'all', negate: true, children: [go(x.not as StoredRule, true)] };
      return go(x.not as StoredRule, true);
    }
    return { kind: 'condition', text: conditionText(r, catalog, negate) };
  };
  return go(rule, false);
}
