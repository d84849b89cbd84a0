/** Temporal Schedules this deployment relies on; created at worker start, idempotently. */
import { Client, Connection, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { TemporalConnectionOptions } from '@opsconductor/temporal-connection';
import type { Logger } from 'pino';

export const GROUP_REFRESH_SCHEDULE_ID = 'group-refresh';

export async function ensureSchedules(o: { connection: TemporalConnectionOptions; namespace: string; taskQueue: string; logger: Logger }): Promise<void> {
  const connection = await Connection.connect(o.connection);
  try {
    const client = new Client({ connection, namespace: o.namespace });
    await client.schedule.create({
      scheduleId: GROUP_REFRESH_SCHEDULE_ID,
      spec: { intervals: [{ every: '10 minutes' }] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
      action: { type: 'startWorkflow', workflowType: 'refreshDynamicGroups', taskQueue: o.taskQueue, workflowId: 'group-refresh' },
    });
    o.logger.info({ scheduleId: GROUP_REFRESH_SCHEDULE_ID }, 'schedule created');
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  } finally {
    await connection.close();
  }
}
