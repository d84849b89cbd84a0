/**
 * The dynamic-group rules engine: pure functions, no I/O. Typical server flow:
 *
 *   validateRule(json, { customFields, groupIds })      on create/update (store `result.rule`)
 *   orderGroups(groups)                                  plan: referenced groups first, refuse cycles
 *   softwareConditions(rule) / softwareNameFilter(...)   load only the packages the rules need
 *   factsFromDevice(row, now)                            per device
 *   compileRule(rule)(facts)                             per group × device
 *   usesTime(rule)                                       schedule periodic re-evaluation
 */
export { compareVersions, isValidVersion, type VersionOrder } from './version.ts';
export {
  deviceStatusAt,
  factsFromDevice,
  inventoryFacts,
  inventoryFactKeys,
  normalizeArchitecture,
  builtInFieldTypes,
  DEFAULT_PRESENCE,
  type BuiltInFieldKey,
  type BuiltInFacts,
  type CustomFieldValue,
  type DeviceFacts,
  type DeviceFactsInput,
  type DeviceStatus,
  type FactSections,
  type FactValue,
  type FactsOptions,
  type PresenceThresholds,
  type InventoryFactKey,
  type InventoryFacts,
  type SoftwareFact,
} from './facts.ts';
export { validateRule, MAX_ERRORS, type RuleError, type ValidationContext, type ValidationResult } from './validate.ts';
export { compileRule, type Predicate } from './evaluate.ts';
export {
  orderGroups,
  referencedGroups,
  ruleNeeds,
  softwareConditions,
  softwareNameFilter,
  usesTime,
  type RuleNeeds,
  type SoftwareNamePattern,
} from './dependencies.ts';
export { builtInGroups, type BuiltInGroup } from './built-in.ts';
export {
  resolveField,
  customFieldRuleType,
  TIME_DEPENDENT_FIELDS,
  type CustomFieldDef,
  type CustomFieldDefs,
  type CustomFieldType,
  type ResolvedField,
} from './fields.ts';
export { checkRegex, MAX_REGEX_CONDITIONS, MAX_REGEX_INPUT_LENGTH, MAX_REGEX_LENGTH } from './regex.ts';
export { parseIsoDate } from './dates.ts';
