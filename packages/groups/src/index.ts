export { GroupMembership, type GroupMembershipOptions, type MembershipChange } from './membership.ts';
export { GroupService, type CreateGroupInput, type GroupServiceDeps, type UpdateGroupInput } from './group-service.ts';
export {
  AttributeService,
  fieldValueError,
  type AttributeServiceDeps,
  type CustomField,
  type CustomFieldType,
  type CustomFieldValue,
} from './attribute-service.ts';
export { ensureBuiltInGroups } from './built-in.ts';
export { EvaluationBudgetExceeded } from './time-slice.ts';
