/**
 * The device-activity consumer: turns domain events into the device's activity log (`device_activity`),
 * which the console shows on the device page. Idempotent: one row per (event, device), so an event
 * delivered twice changes nothing; events of devices deleted meanwhile are dropped.
 */
import type { Database } from '@opsconductor/db';
import type { DomainEvent, EventConsumer } from '@opsconductor/domain-events';

interface ActivityRow {
  deviceId: string;
  type: string;
  details: object;
}

async function rows(db: Database, e: DomainEvent): Promise<ActivityRow[]> {
  switch (e.type) {
    case 'device.enrolled':
      return [{ deviceId: e.payload.deviceId, type: 'enrolled', details: {} }];
    case 'device.retired':
      return [{ deviceId: e.payload.deviceId, type: 'retired', details: { endedRuns: e.payload.endedJobRunIds.length } }];
    case 'device.came_online':
      return [{ deviceId: e.payload.deviceId, type: 'came_online', details: { lastSeenAt: e.payload.lastSeenAt } }];
    case 'device.went_offline':
      return [
        { deviceId: e.payload.deviceId, type: 'went_offline', details: { lastSeenAt: e.payload.lastSeenAt, reason: e.payload.reason } },
      ];
    case 'group.membership_changed': {
      // The group's name now (null when it was deleted since).
      const {
        rows: [group],
      } = await db.pool.query<{ name: string }>('SELECT name FROM device_groups WHERE id = $1', [e.payload.groupId]);
      const details = { groupId: e.payload.groupId, groupName: group?.name ?? null, reason: e.payload.reason };
      return [
        ...e.payload.added.map((deviceId) => ({ deviceId, type: 'joined_group', details })),
        ...e.payload.removed.map((deviceId) => ({ deviceId, type: 'left_group', details })),
      ];
    }
    case 'inventory.changed': {
      const { deviceId, changedSections, firstReport, historyEvents } = e.payload;
      return [{ deviceId, type: 'inventory_changed', details: { changedSections, firstReport, historyEvents } }];
    }
    case 'command.finished': {
      const { deviceId, commandId, jobRunId, status, exitCode, durationMs, error } = e.payload;
      return [{ deviceId, type: 'command_finished', details: { commandId, jobRunId, status, exitCode, durationMs, error } }];
    }
    default:
      return [];
  }
}

export function deviceActivityConsumer(db: Database): EventConsumer {
  return {
    name: 'device-activity',
    types: [
      'device.enrolled',
      'device.retired',
      'device.came_online',
      'device.went_offline',
      'group.membership_changed',
      'inventory.changed',
      'command.finished',
    ],
    async handle(event) {
      const list = await rows(db, event);
      if (!list.length) return;
      await db.pool.query(
        `INSERT INTO device_activity (device_id, event_id, type, occurred_at, details)
         SELECT r.device_id, $1, r.type, $2, r.details FROM unnest($3::uuid[], $4::text[], $5::jsonb[]) AS r(device_id, type, details)
          WHERE EXISTS (SELECT 1 FROM devices d WHERE d.id = r.device_id)
         ON CONFLICT (event_id, device_id) DO NOTHING`,
        [event.id, event.occurredAt, list.map((r) => r.deviceId), list.map((r) => r.type), list.map((r) => JSON.stringify(r.details))],
      );
    },
  };
}
