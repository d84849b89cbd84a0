/**
 * Test-only workflow interceptor (bundled with `workflowInterceptorModules`): `deploymentRollout` is told that
 * Temporal suggests continuing as new (`workflowInfo().continueAsNewSuggested`) once its history passes
 * EARLY_CONTINUE_AS_NEW_EVENTS events, as the server suggests it when a history grows large.
 *
 * Why: the workflow continues as new past CONTINUE_AS_NEW_AFTER_EVENTS (8,000) events or when Temporal suggests it;
 * a test that grew 8,000 events would take minutes. The workflow's own check is the same call either way.
 */
import {
  workflowInfo,
  type ActivateInput,
  type Next,
  type WorkflowInterceptorsFactory,
  type WorkflowInternalsInterceptor,
} from '@temporalio/workflow';
// The activator holds workflowInfo(); mutateWorkflowInfo is how the SDK itself updates it each activation.
import { getActivator } from '@temporalio/workflow/lib/global-attributes.js';

export const EARLY_CONTINUE_AS_NEW_EVENTS = 250;

class EarlyContinueAsNew implements WorkflowInternalsInterceptor {
  activate(input: ActivateInput, next: Next<WorkflowInternalsInterceptor, 'activate'>): void {
    if (workflowInfo().workflowType === 'deploymentRollout' && workflowInfo().historyLength > EARLY_CONTINUE_AS_NEW_EVENTS) {
      getActivator().mutateWorkflowInfo((info) => ({ ...info, continueAsNewSuggested: true }));
    }
    return next(input);
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ internals: [new EarlyContinueAsNew()] });
