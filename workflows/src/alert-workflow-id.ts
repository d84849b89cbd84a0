/**
 * The workflow ID of an alert's `alertLifecycle` (ADR 25): one per rule and subject (`subjectKey`: a device ID, or
 * whatever the rule keys its alerts by). Pure and dependency-free: the API (through
 * `@opsconductor/workflows/search-attributes`, which re-exports it) and the workflow tests import it at runtime.
 *
 * Each part is URI-encoded, so a `/` inside one cannot make two pairs collide; UUIDs and other plain IDs are
 * unchanged: `alert/<ruleId>/<subjectKey>`.
 */
export function alertWorkflowId(ruleId: string, subjectKey: string): string {
  if (!ruleId || !subjectKey) throw new TypeError('alertWorkflowId needs a rule ID and a subject key');
  return `alert/${encodeURIComponent(ruleId)}/${encodeURIComponent(subjectKey)}`;
}
