/** Activities for device presence: announcing devices that came online or went offline. */
import type { Database } from '@opsconductor/db';
import { announcePresence } from '@opsconductor/devices';
import { DEFAULT_PRESENCE, type PresenceThresholds } from '@opsconductor/rules';
import { systemActor } from '@opsconductor/unit-of-work';
import type { Logger } from 'pino';

export function createDeviceActivities({ db, logger, presence }: { db: Database; logger: Logger; presence?: PresenceThresholds }) {
  return {
    /** Idempotent: announces (device.came_online / device.went_offline) only what changed since the last announcement. */
    async announceDevicePresence(): Promise<{ cameOnline: number; wentOffline: number }> {
      const changes = await announcePresence(db, {
        presence: presence ?? DEFAULT_PRESENCE,
        origin: { actor: systemActor('schedule device-presence') },
      });
      if (changes.cameOnline || changes.wentOffline)
        logger.info({ activity: 'announceDevicePresence', ...changes }, 'device presence announced');
      return changes;
    },
  };
}
