import { describe, expect, it } from 'vitest';
import type { Rule } from '@opsconductor/contracts/rules';
import {
  appendChild,
  emptyCondition,
  errorsByNode,
  nodeForPath,
  nodeLabels,
  normalizeErrorPath,
  parseRuleText,
  removeNode,
  ruleLines,
  ruleToTree,
  serializeTree,
  updateNode,
  type GroupNode,
  type RuleCatalog,
} from './rule-tree';

const catalog: RuleCatalog = {
  fields: [
    { key: 'hostname', label: 'Hostname', type: 'string', category: 'Device' },
    { key: 'os.family', label: 'OS family', type: 'string', values: ['windows', 'linux', 'macos', 'other'], category: 'Operating system' },
    { key: 'hardware.cpuCores', label: 'CPU cores', type: 'number', category: 'Hardware' },
    { key: 'system.pendingReboot', label: 'Reboot pending', type: 'boolean', category: 'System' },
    { key: 'customFields.bought', label: 'Bought', type: 'date', category: 'Custom fields' },
  ],
  operatorsByType: {
    string: ['equals', 'not_equals', 'in', 'not_in', 'exists', 'starts_with'],
    number: ['equals', 'gt', 'in'],
    boolean: ['equals'],
    date: ['gt', 'lt'],
    version: ['version_gte'],
    list: ['contains'],
  },
  groups: [{ id: '6f1c2b1e-8a7d-4c55-9a57-0d5c7b1b6a11', name: 'Servers', kind: 'static' }],
};

const rule: Rule = {
  all: [
    { field: 'os.family', op: 'equals', value: 'linux' },
    { not: { any: [{ field: 'hardware.cpuCores', op: 'gt', value: 4 }, { memberOf: '6f1c2b1e-8a7d-4c55-9a57-0d5c7b1b6a11' }] } },
    { software: { name: 'openssl', match: 'starts_with', version: { op: 'version_gte', value: '3.0' } }, present: true },
    { not: { field: 'hostname', op: 'in', value: ['a', 'b'] } },
  ],
};

describe('rule tree', () => {
  it('round-trips a rule through the tree unchanged', () => {
    const parsed = ruleToTree(rule);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const s = serializeTree(parsed.root, catalog);
    expect(s.problems).toEqual([]);
    expect(s.rule).toEqual(rule);
  });

  it('wraps a lone condition in ALL of, and keeps double negation', () => {
    const lone = ruleToTree({ field: 'hostname', op: 'equals', value: 'x' });
    expect(lone.ok && serializeTree(lone.root, catalog).rule).toEqual({ all: [{ field: 'hostname', op: 'equals', value: 'x' }] });
    const dbl = ruleToTree({ not: { not: { field: 'hostname', op: 'exists' } } });
    expect(dbl.ok && serializeTree(dbl.root, catalog).rule).toEqual({ not: { all: [{ not: { field: 'hostname', op: 'exists' } }] } });
  });

  it('types values by field: numbers, booleans, lists', () => {
    const root: GroupNode = {
      id: 'r',
      kind: 'group',
      negate: false,
      combinator: 'any',
      children: [
        { id: 'a', kind: 'field', negate: false, field: 'hardware.cpuCores', op: 'in', value: '2, 4,8' },
        { id: 'b', kind: 'field', negate: false, field: 'system.pendingReboot', op: 'equals', value: 'false' },
        { id: 'c', kind: 'field', negate: false, field: 'os.family', op: 'not_in', value: 'windows, macos' },
        { id: 'd', kind: 'field', negate: false, field: 'hostname', op: 'exists', value: 'ignored' },
      ],
    };
    expect(serializeTree(root, catalog).rule).toEqual({
      any: [
        { field: 'hardware.cpuCores', op: 'in', value: [2, 4, 8] },
        { field: 'system.pendingReboot', op: 'equals', value: false },
        { field: 'os.family', op: 'not_in', value: ['windows', 'macos'] },
        { field: 'hostname', op: 'exists' },
      ],
    });
  });

  it('reports incomplete nodes and yields no rule', () => {
    const root: GroupNode = {
      id: 'r',
      kind: 'group',
      negate: false,
      combinator: 'all',
      children: [
        { id: 'a', kind: 'field', negate: false, field: '', op: '', value: '' },
        { id: 'b', kind: 'field', negate: false, field: 'hardware.cpuCores', op: 'gt', value: 'many' },
        { id: 'g', kind: 'group', negate: false, combinator: 'all', children: [] },
        { id: 'm', kind: 'member', negate: false, groupId: '' },
        { id: 's', kind: 'software', negate: false, name: ' ', match: 'equals', versionOp: '', version: '', present: true },
      ],
    };
    const s = serializeTree(root, catalog);
    expect(s.rule).toBeNull();
    expect(s.problems).toEqual([
      { nodeId: 'a', message: 'Choose a field' },
      { nodeId: 'b', message: 'Enter a number' },
      { nodeId: 'g', message: 'Add at least one condition' },
      { nodeId: 'm', message: 'Choose a group' },
      { nodeId: 's', message: 'Enter a software name' },
    ]);
  });

  it('maps API error paths to the node that owns them', () => {
    const parsed = ruleToTree(rule);
    if (!parsed.ok) throw new Error(parsed.error);
    const { paths } = serializeTree(parsed.root, catalog);
    const [cond0, notGroup, sw, negIn] = parsed.root.children;
    const inner = notGroup!.kind === 'group' ? notGroup!.children : [];
    expect(nodeForPath(paths, 'all.0.value')).toBe(cond0!.id);
    expect(nodeForPath(paths, 'all.1')).toBe(notGroup!.id);
    expect(nodeForPath(paths, 'all.1.not.any.0.op')).toBe(inner[0]!.id);
    expect(nodeForPath(paths, 'rule.all.1.not.any.1.memberOf')).toBe(inner[1]!.id);
    expect(nodeForPath(paths, 'body.rule.all[2].software.version.value')).toBe(sw!.id);
    expect(nodeForPath(paths, 'all.3.not.value.1')).toBe(negIn!.id);
    expect(nodeForPath(paths, '')).toBe(parsed.root.id);
    expect(nodeForPath(paths, 'nonsense')).toBe(parsed.root.id);
    const byNode = errorsByNode(paths, [
      { path: 'all.0.value', message: 'bad' },
      { path: 'all.0.op', message: 'worse' },
    ]);
    expect(byNode.get(cond0!.id)).toEqual(['bad', 'worse']);
    expect(nodeLabels(parsed.root).get(inner[1]!.id)).toBe('Condition 2.2');
  });

  it('normalizes error paths', () => {
    expect(normalizeErrorPath('rule')).toBe('');
    expect(normalizeErrorPath('/rule/all/0/value')).toBe('all.0.value');
    expect(normalizeErrorPath('all[3].not')).toBe('all.3.not');
  });

  it('explains invalid JSON and shapes', () => {
    expect(parseRuleText('{"all": [')).toMatchObject({ ok: false, error: expect.stringMatching(/^Invalid JSON/) });
    expect(parseRuleText('{"all": {}}')).toEqual({ ok: false, error: '"all" must be a list' });
    expect(parseRuleText('{"all": [{"foo": 1}]}')).toEqual({
      ok: false,
      error: 'Expected all, any, not, field, software or memberOf at all.0',
    });
    expect(parseRuleText('{"field": "x", "op": "equals", "extra": 1}')).toEqual({ ok: false, error: 'Unexpected "extra"' });
    expect(parseRuleText('[]')).toEqual({ ok: false, error: 'Expected an object' });
  });

  it('edits the tree immutably', () => {
    const root: GroupNode = { id: 'r', kind: 'group', negate: false, combinator: 'all', children: [] };
    const a = appendChild(root, 'r', emptyCondition('c1'));
    expect(root.children).toHaveLength(0);
    const b = updateNode(a, 'c1', (n) => ({ ...n, negate: true }));
    expect(b.children[0]!.negate).toBe(true);
    expect(a.children[0]!.negate).toBe(false);
    expect(removeNode(b, 'c1').children).toHaveLength(0);
  });

  it('renders rules as readable lines', () => {
    const lines = ruleLines(rule, catalog);
    expect(lines).toEqual({
      kind: 'group',
      combinator: 'all',
      negate: false,
      children: [
        { kind: 'condition', text: 'OS family equals “linux”' },
        {
          kind: 'group',
          combinator: 'any',
          negate: true,
          children: [
            { kind: 'condition', text: 'CPU cores is greater than 4' },
            { kind: 'condition', text: 'is a member of “Servers”' },
          ],
        },
        { kind: 'condition', text: 'has software “openssl” (name starts with) version ≥ 3.0' },
        { kind: 'condition', text: 'NOT (Hostname is one of “a”, “b”)' },
      ],
    });
  });
});
