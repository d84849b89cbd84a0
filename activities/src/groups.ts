/** Activities for group maintenance: re-evaluating rules that read time (last seen, uptime, …). */
import type { Database } from '@opsconductor/db';
import { GroupMembership } from '@opsconductor/groups';
import { systemActor } from '@opsconductor/unit-of-work';
import type { Logger } from 'pino';

export function createGroupActivities({ db, logger, onlineWindowSeconds }: { db: Database; logger: Logger; onlineWindowSeconds?: number }) {
  const membership = new GroupMembership({ db, logger, onlineWindowSeconds, actor: systemActor('schedule group-refresh') });
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
