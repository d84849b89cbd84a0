/**
 * `refreshDynamicGroups`: started by the Temporal Schedule `group-refresh` (see workers/src/schedules.ts)
 * to re-evaluate dynamic groups whose rules read time, such as "offline for more than 7 days".
 */
import { proxyActivities } from '@temporalio/workflow';
import type { JobActivities } from '@opsconductor/activities';

const { refreshTimeBasedGroups } = proxyActivities<JobActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

export async function refreshDynamicGroups(): Promise<{ added: number; removed: number }> {
  return refreshTimeBasedGroups();
}
