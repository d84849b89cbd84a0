/** Activities for group maintenance: re-evaluating rules that read time (last seen, uptime, …). */
import type { Database } from '@opsconductor/db';
import { GroupMembership } from '@opsconductor/groups';
import { systemActor } from '@opsconductor/unit-of-work';
import type { Logger } from 'pino';
import type { PresenceThresholds } from '@opsconductor/rules';

export function createGroupActivities({ db, logger, presence }: { db: Database; logger: Logger; presence?: PresenceThresholds }) {
  const membership = new GroupMembership({ db, logger, presence, actor: systemActor('schedule group-refresh') });
  return {
    /** Idempotent: evaluates every time-based group fully and records what changed. */
    async refreshTimeBasedGroups(): Promise<{ added: number; removed: number }> {
      const changes = await membership.refreshTimeBasedGroups();
      const added = changes.filter((c) => c.change === 'added').length;
      logger.info({ activity: 'refreshTimeBasedGroups', added, removed: changes.length - added }, 'time-based groups refreshed');
      return { added, removed: changes.length - added };
    },
  };
}
