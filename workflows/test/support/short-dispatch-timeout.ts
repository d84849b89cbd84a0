/**
 * Test-only workflow interceptor (bundled with `workflowInterceptorModules`): caps the batch activity's
 * (`runCommandOnTargets`) schedule-to-close timeout at SHORT_DISPATCH_TIMEOUT_MS.
 *
 * Why: the time-skipping test server never skips time while an activity is open, and a batch that never finishes
 * stays open until that timeout. Shortening it lets the timeout path run in real seconds; the full timeout the
 * workflow computes is asserted in another test from the activity's info.
 */
import type { ActivityInput, Next, WorkflowInterceptorsFactory, WorkflowOutboundCallsInterceptor } from '@temporalio/workflow';

export const SHORT_DISPATCH_TIMEOUT_MS = 1500;

class ShortDispatchTimeout implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    if (input.activityType !== 'runCommandOnTargets') return next(input);
    return next({ ...input, options: { ...input.options, scheduleToCloseTimeout: SHORT_DISPATCH_TIMEOUT_MS } });
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ outbound: [new ShortDispatchTimeout()] });
