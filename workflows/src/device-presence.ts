/**
 * `announceDevicePresence`: started by the Temporal Schedule `device-presence` (workers/src/schedules.ts)
 * every minute, to announce devices that went offline (time passed) or came back (device.came_online /
 * device.went_offline domain events).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { JobActivities } from '@opsconductor/activities';

const { announceDevicePresence: announce } = proxyActivities<JobActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumInterval: '30 seconds', maximumAttempts: 3 },
});

export async function sweepDevicePresence(): Promise<{ cameOnline: number; wentOffline: number }> {
  return announce();
}
