/**
 * The field catalog as the rules engine sees it: built-in fields from the contract (`ruleFields`) plus
 * admin-defined custom fields (`customFields.<key>`), resolved to a contract FieldType.
 */
import { ruleFields, type FieldType } from '@opsconductor/contracts/rules';

export type CustomFieldType = 'text' | 'number' | 'boolean' | 'date' | 'enum';
export interface CustomFieldDef {
  type: CustomFieldType;
  enumValues: readonly string[];
}
export type CustomFieldDefs = ReadonlyMap<string, CustomFieldDef>;

export const CUSTOM_FIELD_PREFIX = 'customFields.';

/** How a custom field's definition type maps onto the rule field types (enums compare as strings). */
export const customFieldRuleType: Record<CustomFieldType, FieldType> = {
  text: 'string',
  number: 'number',
  boolean: 'boolean',
  date: 'date',
  enum: 'string',
};

/**
 * Built-in fields whose catalog `values` are suggestions, not a closed set: the agent reports
 * `os.architecture` from Node's `os.arch()`, which has more values (riscv64, s390x, …) than the picker.
 * Every other built-in `values` list mirrors a closed enum of the inventory schema.
 */
const OPEN_VALUE_FIELDS: ReadonlySet<string> = new Set(['os.architecture']);

export interface ResolvedField {
  key: string;
  type: FieldType;
  /** The closed set of values `equals`/`in` may name (built-in enums, custom enum fields). */
  allowedValues?: readonly string[];
  custom: boolean;
}

const builtIns: ReadonlyMap<string, ResolvedField> = new Map(
  ruleFields.map((f) => [
    f.key,
    { key: f.key, type: f.type, custom: false, ...(f.values && !OPEN_VALUE_FIELDS.has(f.key) ? { allowedValues: f.values } : {}) },
  ]),
);

/** Resolves a condition's `field` to its type, or null when no such field exists. */
export function resolveField(field: string, customFields: CustomFieldDefs): ResolvedField | null {
  const builtIn = builtIns.get(field);
  if (builtIn) return builtIn;
  if (!field.startsWith(CUSTOM_FIELD_PREFIX)) return null;
  const key = field.slice(CUSTOM_FIELD_PREFIX.length);
  const def = customFields.get(key);
  if (!def || !Object.hasOwn(customFieldRuleType, def.type)) return null;
  return {
    key: field,
    type: customFieldRuleType[def.type],
    custom: true,
    ...(def.type === 'enum' ? { allowedValues: def.enumValues } : {}),
  };
}

/** Fields whose value depends on the evaluation time: groups reading them need periodic re-evaluation. */
export const TIME_DEPENDENT_FIELDS: ReadonlySet<string> = new Set([
  'device.lastSeenAgeDays',
  'device.enrolledAgeDays',
  'device.status',
  'system.uptimeDays',
]);
