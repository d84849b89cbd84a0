/** Temporal Schedules this deployment relies on; created at worker start, idempotently. */
import { Client, Connection, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { TemporalConnectionOptions } from '@opsconductor/temporal-connection';
import type { Logger } from 'pino';
import { DEFAULT_TASK_QUEUE } from './worker.ts';

export const GROUP_REFRESH_SCHEDULE_ID = 'group-refresh';
/** Announces devices that came online or went offline (device.came_online / device.went_offline). */
export const DEVICE_PRESENCE_SCHEDULE_ID = 'device-presence';
/** Evaluates the state alert rules (ADR 25): opens alerts, resolves those whose condition cleared. */
export const ALERT_EVALUATION_SCHEDULE_ID = 'alert-evaluation';

/**
 * A schedule's ID: its name on the default task queue, `<name>@<task queue>` on another, so that deployments sharing
 * a namespace with task queues of their own (and test stacks) each get their own schedules.
 */
export const scheduleId = (name: string, taskQueue: string): string => (taskQueue === DEFAULT_TASK_QUEUE ? name : `${name}@${taskQueue}`);

export async function ensureSchedules(o: {
  connection: TemporalConnectionOptions;
  namespace: string;
  taskQueue: string;
  logger: Logger;
  /** How often the state alert rules are evaluated (ALERT_EVALUATION_INTERVAL_SECONDS). */
  alertEvaluationSeconds?: number;
}): Promise<void> {
  const schedules = [
    { id: GROUP_REFRESH_SCHEDULE_ID, everyMs: 10 * 60_000, workflowType: 'refreshDynamicGroups' },
    { id: DEVICE_PRESENCE_SCHEDULE_ID, everyMs: 60_000, workflowType: 'sweepDevicePresence' },
    { id: ALERT_EVALUATION_SCHEDULE_ID, everyMs: (o.alertEvaluationSeconds ?? 30) * 1000, workflowType: 'evaluateAlerts' },
  ];
  const connection = await Connection.connect(o.connection);
  try {
    const client = new Client({ connection, namespace: o.namespace });
    for (const s of schedules) {
      const id = scheduleId(s.id, o.taskQueue);
      try {
        await client.schedule.create({
          scheduleId: id,
          spec: { intervals: [{ every: s.everyMs }] },
          policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: Math.max(s.everyMs, 60_000) },
          action: { type: 'startWorkflow', workflowType: s.workflowType, taskQueue: o.taskQueue, workflowId: id },
        });
        o.logger.info({ scheduleId: id }, 'schedule created');
      } catch (err) {
        if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      }
    }
  } finally {
    await connection.close();
  }
}
