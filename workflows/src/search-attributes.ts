/**
 * Custom search attributes that let ops find job runs in the Temporal UI, e.g.
 * `OpsJobRunId = "…"` or `OpsDeviceIds = "…"`. Pure `@temporalio/common`: safe in the workflow bundle, the API and
 * the worker. The API sets both when it starts `jobRun`; `OpsDeviceIds` holds as many of the run's devices as fit in
 * Temporal's 2 KiB limit (about 48), so a larger run is found by device in the console (`job_run_devices`).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export { alertWorkflowId } from './alert-workflow-id.ts';

export const OpsJobRunId = defineSearchAttributeKey('OpsJobRunId', SearchAttributeType.KEYWORD);
export const OpsDeviceIds = defineSearchAttributeKey('OpsDeviceIds', SearchAttributeType.KEYWORD_LIST);
/** A deployment's rollout (`deploymentRollout`, ADR 24): its deployment, package and version. */
export const OpsDeploymentId = defineSearchAttributeKey('OpsDeploymentId', SearchAttributeType.KEYWORD);
export const OpsPackageId = defineSearchAttributeKey('OpsPackageId', SearchAttributeType.KEYWORD);
export const OpsVersionId = defineSearchAttributeKey('OpsVersionId', SearchAttributeType.KEYWORD);
/**
 * An alert's lifecycle (`alertLifecycle`, ADR 25, workflow ID `alert/<ruleId>/<subjectKey>`): its rule. The starter
 * sets it with the workflow ID (it knows the rule before the workflow loads anything); the workflow never upserts it.
 */
export const OpsAlertRuleId = defineSearchAttributeKey('OpsAlertRuleId', SearchAttributeType.KEYWORD);

/** Every custom search attribute, for registration (operator service, `@temporalio/testing` dev server). */
export const searchAttributeKeys = [OpsJobRunId, OpsDeviceIds, OpsDeploymentId, OpsPackageId, OpsVersionId, OpsAlertRuleId] as const;

/**
 * The same list with the type names the Temporal CLI expects, e.g.
 * `temporal server start-dev --search-attribute OpsJobRunId=Keyword --search-attribute OpsDeviceIds=KeywordList`.
 */
export const searchAttributeDefinitions = [
  { name: OpsJobRunId.name, type: OpsJobRunId.type, cliType: 'Keyword' },
  { name: OpsDeviceIds.name, type: OpsDeviceIds.type, cliType: 'KeywordList' },
  { name: OpsDeploymentId.name, type: OpsDeploymentId.type, cliType: 'Keyword' },
  { name: OpsPackageId.name, type: OpsPackageId.type, cliType: 'Keyword' },
  { name: OpsVersionId.name, type: OpsVersionId.type, cliType: 'Keyword' },
  { name: OpsAlertRuleId.name, type: OpsAlertRuleId.type, cliType: 'Keyword' },
] as const;

/** `--search-attribute Name=Type` pairs for `temporal server start-dev`. */
export function devServerSearchAttributeArgs(): string[] {
  return searchAttributeDefinitions.flatMap((d) => ['--search-attribute', `${d.name}=${d.cliType}`]);
}

/**
 * Temporal refuses a search attribute value larger than `frontend.searchAttributesSizeOfValueLimit` (2 KiB by
 * default; a child start over the limit even fails the parent workflow). A keyword list of UUIDs costs ~39 bytes an
 * entry, so only about 50 device IDs fit. We keep the first IDs that fit this budget: the list then says "this run
 * targets (at least) these devices"; the database (`job_run_devices`) remains the complete index.
 */
export const OPS_DEVICE_IDS_MAX_BYTES = 1900;

/** The device IDs to put in `OpsDeviceIds`: a prefix of `deviceIds` whose JSON encoding fits the size budget. */
export function deviceIdsForSearch(deviceIds: readonly string[], maxBytes = OPS_DEVICE_IDS_MAX_BYTES): string[] {
  const kept: string[] = [];
  let bytes = 2; // "[" and "]"
  for (const id of deviceIds) {
    // IDs are UUIDs (ASCII); length + 2 quotes + 1 comma is exact enough for ASCII and errs low for others.
    const cost = id.length + 3;
    if (bytes + cost > maxBytes) break;
    kept.push(id);
    bytes += cost;
  }
  return kept;
}
