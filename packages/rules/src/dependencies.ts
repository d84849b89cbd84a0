/**
 * What a rule depends on, so the server can plan evaluation: which groups must be evaluated first,
 * which groups go stale with the clock, and which installed packages need loading.
 */
import type { Rule, SoftwareCondition } from '@opsconductor/contracts/rules';
import { TIME_DEPENDENT_FIELDS } from './fields.ts';
import { compileRegex } from './regex.ts';
import { forEachNode, isField, isGroup, isSoftware } from './tree.ts';

/** Group IDs named by `memberOf` anywhere in the rule, in order of first appearance, without duplicates. */
export function referencedGroups(rule: Rule): string[] {
  const ids = new Set<string>();
  forEachNode(rule, (node) => {
    if (isGroup(node)) ids.add(node.memberOf);
  });
  return [...ids];
}

/**
 * Orders groups so each comes after the groups its rule references (static groups: `rule: null`).
 * References to IDs not in the list are ignored (they impose no order among these groups).
 * Deterministic: depth-first in input order, each group's references (in rule order) before it, so a
 * list without references keeps its order.
 * On a cycle, returns one cycle as a closed walk — `[a, b, a]`: a references b, b references a;
 * a self-reference is `[a, a]`.
 */
export function orderGroups(groups: ReadonlyArray<{ id: string; rule: Rule | null }>): { order: string[] } | { cycle: string[] } {
  const ids = new Set(groups.map((g) => g.id));
  const deps = new Map<string, string[]>(); // group → the groups it references (within the list)
  for (const g of groups) {
    const refs = g.rule ? referencedGroups(g.rule).filter((id) => ids.has(id)) : [];
    deps.set(g.id, [...new Set([...(deps.get(g.id) ?? []), ...refs])]); // a duplicated ID merges its edges
  }

  // Depth-first post-order: a group is emitted after everything it references.
  const state = new Map<string, 'visiting' | 'done'>();
  const order: string[] = [];
  for (const start of ids) {
    if (state.has(start)) continue;
    // Iterative DFS (no recursion limit on long chains); `path` is the current chain, for cycle reports.
    const path: string[] = [];
    const stack: { id: string; next: number }[] = [{ id: start, next: 0 }];
    state.set(start, 'visiting');
    path.push(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const refs = deps.get(top.id) ?? [];
      if (top.next < refs.length) {
        const ref = refs[top.next++]!;
        const s = state.get(ref);
        if (s === 'visiting') return { cycle: [...path.slice(path.indexOf(ref)), ref] };
        if (s === undefined) {
          state.set(ref, 'visiting');
          path.push(ref);
          stack.push({ id: ref, next: 0 });
        }
        continue;
      }
      stack.pop();
      path.pop();
      state.set(top.id, 'done');
      order.push(top.id);
    }
  }
  return { order };
}

/**
 * True when the rule reads a field whose value changes with the clock alone (ages, online status,
 * uptime): such groups must be re-evaluated periodically, not only when a device reports.
 */
export function usesTime(rule: Rule): boolean {
  let found = false;
  forEachNode(rule, (node) => {
    if (isField(node) && TIME_DEPENDENT_FIELDS.has(node.field)) found = true;
  });
  return found;
}

export type SoftwareNamePattern = { name: string; match: SoftwareCondition['software']['match'] };

/**
 * The package-name patterns the rule's software conditions need, deduplicated. The server loads only
 * packages matching one of them (see matchesSoftwarePattern); a rule without software conditions
 * needs no packages at all.
 */
export function softwareConditions(rule: Rule): SoftwareNamePattern[] {
  const seen = new Map<string, SoftwareNamePattern>();
  forEachNode(rule, (node) => {
    if (!isSoftware(node)) return;
    const pattern: SoftwareNamePattern = { name: node.software.name, match: node.software.match ?? 'equals' };
    const key = `${pattern.match}\u0000${pattern.match === 'regex' ? pattern.name : pattern.name.toLowerCase()}`;
    if (!seen.has(key)) seen.set(key, pattern);
  });
  return [...seen.values()];
}

/** A prefetch filter: does a package name match any of the patterns (with the evaluator's semantics)? */
export function softwareNameFilter(patterns: readonly SoftwareNamePattern[]): (name: string) => boolean {
  const tests = patterns.map((p): ((name: string) => boolean) => {
    const needle = p.name.toLowerCase();
    switch (p.match) {
      case 'equals':
        return (n) => n.toLowerCase() === needle;
      case 'contains':
        return (n) => n.toLowerCase().includes(needle);
      case 'starts_with':
        return (n) => n.toLowerCase().startsWith(needle);
      case 'regex': {
        const re = compileRegex(p.name);
        return re ? (n) => re.test(n) : () => false;
      }
      default:
        return () => false;
    }
  });
  return (name) => tests.some((t) => t(name));
}

/** What a rule reads beyond the device row and its stored inventory facts, so callers load only that. */
export interface RuleNeeds {
  tags: boolean;
  customFields: boolean;
  /** Groups whose membership the rule reads. */
  groups: string[];
  software: SoftwareNamePattern[];
}

export function ruleNeeds(rules: readonly Rule[]): RuleNeeds {
  const needs: RuleNeeds = { tags: false, customFields: false, groups: [], software: [] };
  const groups = new Set<string>();
  for (const rule of rules) {
    forEachNode(rule, (node) => {
      if (isField(node)) {
        if (node.field === 'tags') needs.tags = true;
        if (node.field.startsWith('customFields.')) needs.customFields = true;
      }
      if (isGroup(node)) groups.add(node.memberOf);
    });
  }
  needs.groups = [...groups];
  const seen = new Map<string, SoftwareNamePattern>();
  for (const p of rules.flatMap(softwareConditions)) seen.set(`${p.match}\u0000${p.match === 'regex' ? p.name : p.name.toLowerCase()}`, p);
  needs.software = [...seen.values()];
  return needs;
}
