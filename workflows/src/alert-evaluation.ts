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

const { evaluateAlertRules, withdrawAlert } = proxyActivities<JobActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '30 seconds', maximumAttempts: 3 },
});

export async function evaluateAlerts(): Promise<{ rules: number; opened: number; withdrawn: number; cleared: number }> {
  const r = await evaluateAlertRules();
  let withdrawn = 0;
  for (const a of r.opened) {
    try {
      await startChild(alertLifecycle, {
        workflowId: a.workflowId,
        args: [{ alertId: a.alertId }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [{ key: OpsAlertRuleId, value: a.ruleId }],
      });
    } catch (err) {
      // The last alert of this rule and subject is still closing under the same workflow ID: this one is taken back
      // and opens again next round.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      await withdrawAlert({ alertId: a.alertId });
      withdrawn++;
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
  return { rules: r.rules, opened: r.opened.length - withdrawn, withdrawn, cleared: r.cleared.length };
}
