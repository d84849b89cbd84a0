export { GroupMembership, type GroupMembershipOptions, type MembershipChange } from './membership.ts';
export { ensureBuiltInGroups } from './built-in.ts';
export { EvaluationBudgetExceeded } from './time-slice.ts';
