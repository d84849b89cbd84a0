/**
 * `evaluateAlerts`: started by the Temporal Schedule `alert-evaluation` (workers/src/schedules.ts) every 30 seconds.
 * One round over the state alert rules (device offline, disk free, agent outdated, a dynamic-group rule): each alert it
 * opened gets its `alertLifecycle` workflow (`alert/<rule>/<subject>`, abandoned by this run so it outlives it), and
 * each alert whose condition has stayed clear is told so (`conditionCleared`), which resolves it. One round opens at
 * most MAX_OPENED_PER_EVALUATION alerts (packages/alerts), so its history stays a few thousand events.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { getExternalWorkflowHandle, ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { JobActivities } from '@opsconductor/activities';
import { alertLifecycle, conditionClearedSignal } from './alert-lifecycle.ts';
import { OpsAlertRuleId } from './search-attributes.ts';

const { evaluateAlertRules } = proxyActivities<JobActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '30 seconds', maximumAttempts: 3 },
});

export async function evaluateAlerts(): Promise<{ rules: number; opened: number; cleared: number }> {
  const r = await evaluateAlertRules();
  for (const a of r.opened) {
    try {
      await startChild(alertLifecycle, {
        workflowId: a.workflowId,
        args: [{ alertId: a.alertId }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [{ key: OpsAlertRuleId, value: a.ruleId }],
      });
    } catch (err) {
      // Its workflow still runs (the last alert of this rule and subject is closing): nothing to start.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  await Promise.all(
    r.cleared.map((id) =>
      getExternalWorkflowHandle(id)
        .signal(conditionClearedSignal, { reason: 'The condition cleared' })
        // Its workflow ended meanwhile.
        .catch(() => undefined),
    ),
  );
  return { rules: r.rules, opened: r.opened.length, cleared: r.cleared.length };
}
