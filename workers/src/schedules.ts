/** Temporal Schedules this deployment relies on; created at worker start, idempotently. */
import { Client, Connection, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { TemporalConnectionOptions } from '@opsconductor/temporal-connection';
import type { Logger } from 'pino';

export const GROUP_REFRESH_SCHEDULE_ID = 'group-refresh';
/** Announces devices that came online or went offline (device.came_online / device.went_offline). */
export const DEVICE_PRESENCE_SCHEDULE_ID = 'device-presence';

const schedules = [
  { id: GROUP_REFRESH_SCHEDULE_ID, every: '10 minutes', workflowType: 'refreshDynamicGroups' },
  { id: DEVICE_PRESENCE_SCHEDULE_ID, every: '1 minute', workflowType: 'sweepDevicePresence' },
] as const;

export async function ensureSchedules(o: {
  connection: TemporalConnectionOptions;
  namespace: string;
  taskQueue: string;
  logger: Logger;
}): Promise<void> {
  const connection = await Connection.connect(o.connection);
  try {
    const client = new Client({ connection, namespace: o.namespace });
    for (const s of schedules) {
      try {
        await client.schedule.create({
          scheduleId: s.id,
          spec: { intervals: [{ every: s.every }] },
          policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: s.every },
          action: { type: 'startWorkflow', workflowType: s.workflowType, taskQueue: o.taskQueue, workflowId: s.id },
        });
        o.logger.info({ scheduleId: s.id }, 'schedule created');
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      }
    }
  } finally {
    await connection.close();
  }
}
