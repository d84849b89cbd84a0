/** Narrowing and traversal helpers for the Rule tree (the contract's type is a plain union). */
import type { FieldCondition, GroupCondition, Rule, SoftwareCondition } from '@opsconductor/contracts/rules';

export type Combinator = 'all' | 'any';

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

export const isAll = (r: Rule): r is { all: Rule[] } => isObject(r) && Array.isArray((r as { all?: unknown }).all);
export const isAny = (r: Rule): r is { any: Rule[] } => isObject(r) && Array.isArray((r as { any?: unknown }).any);
export const isNot = (r: Rule): r is { not: Rule } => isObject(r) && 'not' in r;
export const isField = (r: Rule): r is FieldCondition => isObject(r) && typeof (r as { field?: unknown }).field === 'string';
export const isSoftware = (r: Rule): r is SoftwareCondition => isObject(r) && isObject((r as { software?: unknown }).software);
export const isGroup = (r: Rule): r is GroupCondition => isObject(r) && typeof (r as { memberOf?: unknown }).memberOf === 'string';

/** The child rules of a node (none for conditions). */
export function children(r: Rule): readonly Rule[] {
  if (isAll(r)) return r.all;
  if (isAny(r)) return r.any;
  if (isNot(r)) return [r.not];
  return [];
}

/**
 * Visits every node depth-first, pre-order. Iterative, so even a rule that skipped validation cannot
 * overflow the stack; a node object seen twice (a shared or cyclic in-memory tree) is visited once.
 */
export function forEachNode(root: Rule, visit: (node: Rule) => void): void {
  const seen = new Set<Rule>();
  const stack: Rule[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (!isObject(node) || seen.has(node)) continue;
    seen.add(node);
    visit(node);
    const kids = children(node);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
}
