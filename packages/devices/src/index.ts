export { enrollDevice, type EnrollmentInput } from './enrollment.ts';
export { DeviceLifecycle, type DeviceLifecycleDeps } from './lifecycle.ts';
export { announcePresence, recordGoodbye, type PresenceChanges } from './presence.ts';
export { deviceActivityConsumer } from './activity-log.ts';
export { deviceWhere, normalizeSelection, previewTargets, resolveTargets, type TargetDeps } from './targets.ts';
