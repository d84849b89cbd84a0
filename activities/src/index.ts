/**
 * Activity implementations. Workers register `createActivities(deps)`; workflows only see the types, via
 * `import type { JobActivities } from '@opsconductor/activities'` and `proxyActivities<JobActivities>()`.
 */
import type { Database } from '@opsconductor/db';
import type { EventHub } from '@opsconductor/db/event-hub';
import { pino, type Logger } from 'pino';
import { createJobRunActivities, DEFAULT_DISPATCH_PER_SECOND } from './job-run.ts';
import { createGroupActivities } from './groups.ts';
import { createDeviceActivities } from './devices.ts';
import { DispatchRate } from './dispatch-rate.ts';
import { createJobStepActivities } from './job-steps.ts';
import { createScheduledRunActivities } from './scheduled-runs.ts';
import { createDeploymentActivities } from './deployments.ts';
import { GroupMembership } from '@opsconductor/groups';
import type { PresenceThresholds } from '@opsconductor/rules';
import type { MasterKey } from '@opsconductor/secrets';
import { createAlertActivities } from './alerts.ts';

export interface ActivityDeps {
  db: Database;
  logger?: Logger;
  /** The presence thresholds (DEVICE_ONLINE_WINDOW_SECONDS, DEVICE_OFFLINE_AFTER_SECONDS), for rules on device.status and presence events. */
  presence?: PresenceThresholds;
  /** LISTEN/NOTIFY wake-ups for batch dispatches (without: they poll). */
  events?: EventHub;
  /** New commands the worker hands out per second, across all batches (default DEFAULT_DISPATCH_PER_SECOND). */
  dispatchPerSecond?: number;
  /** For alert notifications (ADR 25): the secret store's master keys, the console's URL, hosts allowed on private addresses. */
  alerts?: {
    secretsMasterKeys: readonly MasterKey[];
    consoleUrl: string;
    notificationAllowedHosts: readonly string[];
    resolveAfterSeconds?: number;
  };
}

export function createActivities(deps: ActivityDeps) {
  const logger = deps.logger ?? pino({ level: 'silent' });
  // One pace for all the worker's batches, of one-command runs and of jobs' runs alike.
  const rate = new DispatchRate(deps.dispatchPerSecond ?? DEFAULT_DISPATCH_PER_SECOND);
  const membership = new GroupMembership({ db: deps.db, logger, presence: deps.presence });
  return {
    ...createJobRunActivities({ db: deps.db, logger, events: deps.events, rate }),
    ...createJobStepActivities({ db: deps.db, logger, events: deps.events, rate }),
    ...createScheduledRunActivities({ db: deps.db, logger, presence: deps.presence }),
    ...createGroupActivities({ db: deps.db, logger, presence: deps.presence }),
    ...createDeviceActivities({ db: deps.db, logger, presence: deps.presence }),
    ...createDeploymentActivities({ db: deps.db, logger }),
    ...createAlertActivities({ db: deps.db, logger, ...deps.alerts, matching: (rule) => membership.matching(rule) }),
  };
}

export type JobActivities = ReturnType<typeof createActivities>;
export type DeploymentActivities = ReturnType<typeof createDeploymentActivities>;

export { DEFAULT_DISPATCH_PER_SECOND, DEVICE_RUN_STATUSES, errorTypes } from './job-run.ts';
export { jobRunOutcome } from './job-run-outcome.ts';
export { isTransientDatabaseError } from './pg-retry.ts';
export type * from './types.ts';
export type * from './deployment-types.ts';
export type * from './alert-types.ts';
