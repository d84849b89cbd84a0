/**
 * The rule builder's catalog for loader data: the built-in fields and operator table from the contracts
 * (kept on the server so zod stays out of the browser bundle), plus custom fields and groups from the API.
 */
import { operatorsByType, ruleFields } from '@opsconductor/contracts/rules';
import type { ApiClient } from './api.server';
import { customFieldRuleType, fieldCategory, fieldCategoryOrder, type FieldOption, type RuleCatalog } from './rule-tree';

export function builtInFields(): FieldOption[] {
  return ruleFields.map((f) => ({
    key: f.key,
    label: f.label,
    type: f.type,
    category: fieldCategory(f.key),
    ...(f.values ? { values: [...f.values] } : {}),
    ...(f.description ? { description: f.description } : {}),
  }));
}

export async function loadRuleCatalog(api: ApiClient, opts: { excludeGroupId?: string } = {}): Promise<RuleCatalog> {
  const [customFields, groups] = await Promise.all([api.get('/custom-fields'), api.get('/groups')]);
  const custom: FieldOption[] = customFields.items.map((c) => ({
    key: `customFields.${c.key}`,
    label: c.label,
    type: customFieldRuleType(c.type),
    category: 'Custom fields',
    ...(c.type === 'enum' ? { values: c.enumValues } : {}),
  }));
  const order = (f: FieldOption) => fieldCategoryOrder.indexOf(f.category as (typeof fieldCategoryOrder)[number]);
  const fields = [...builtInFields(), ...custom].sort((a, b) => order(a) - order(b));
  return {
    fields,
    operatorsByType: { ...operatorsByType },
    groups: groups.items
      .filter((g) => g.id !== opts.excludeGroupId)
      .map((g) => ({ id: g.id, name: g.name, kind: g.kind }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}
