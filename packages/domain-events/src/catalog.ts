/**
 * The domain events every feature can react to: their types, subjects and payloads. Payloads are
 * JSON (bigints as decimal strings, times as ISO strings) and carry IDs, never secrets. Adding a field
 * is compatible; renaming or removing one is a new event type.
 */

export interface DomainEventPayloads {
  /** A device enrolled with an enrollment token. */
  'device.enrolled': { deviceId: string; hostname: string; enrollmentTokenId: string };
  /** A device was retired: it left its groups, its unfinished run targets failed. */
  'device.retired': { deviceId: string; hostname: string; removedFromGroupIds: string[]; endedJobRunIds: string[] };
  /** A device is online again (its agent was heard from within the online window). */
  'device.came_online': { deviceId: string; hostname: string; lastSeenAt: string | null };
  /** A device went offline: its agent said goodbye, or was not heard from within the online window. */
  'device.went_offline': { deviceId: string; hostname: string; lastSeenAt: string | null; reason: 'agent_stopped' | 'not_seen' };
  /** Devices joined or left a group (static or dynamic); at most 1,000 device IDs per event. */
  'group.membership_changed': { groupId: string; added: string[]; removed: string[]; reason: string };
  /** An inventory report changed stored sections of a device. */
  'inventory.changed': { deviceId: string; changedSections: string[]; firstReport: boolean; historyEvents: number };
  /**
   * A command ended, once per command whatever ended it (the agent's result, a deadline, a cancellation,
   * retirement, an unsupported kind); `status` is its terminal state. Duplicate reports are no events.
   * `exitCode` and `durationMs` are the agent's, when it reported.
   */
  'command.finished': {
    commandId: string;
    deviceId: string;
    jobRunId: string | null;
    kind: string;
    attempt: number;
    status: string;
    exitCode: string | null;
    durationMs: number | null;
    error: string | null;
  };
  /** A job run ended with its final status and the devices per outcome. */
  'job_run.finished': { jobRunId: string; status: string; cancelled: boolean; counts: Record<string, number>; total: number };
  /** A deployment's first wave started. */
  'deployment.started': { deploymentId: string; name: string; packageId: string; versionId: string; devices: number };
  /** A deployment paused: by an operator (`by` set) or by itself (auto-pause, success criteria, health analysis). */
  'deployment.paused': { deploymentId: string; name: string; wave: number | null; reason: string; automatic: boolean; by: string | null };
  /** A deployment ended: completed, failed, aborted or rolled back (counts: devices per deployment status). */
  'deployment.finished': { deploymentId: string; name: string; status: string; counts: Record<string, number> };
}

export type DomainEventType = keyof DomainEventPayloads;
export type SubjectType = 'device' | 'group' | 'command' | 'job_run' | 'deployment';

/** What each event is about: consumers filter and order by it. */
const subjectOf: { [T in DomainEventType]: (p: DomainEventPayloads[T]) => [SubjectType, string] } = {
  'device.enrolled': (p) => ['device', p.deviceId],
  'device.retired': (p) => ['device', p.deviceId],
  'device.came_online': (p) => ['device', p.deviceId],
  'device.went_offline': (p) => ['device', p.deviceId],
  'group.membership_changed': (p) => ['group', p.groupId],
  'inventory.changed': (p) => ['device', p.deviceId],
  'command.finished': (p) => ['command', p.commandId],
  'job_run.finished': (p) => ['job_run', p.jobRunId],
  'deployment.started': (p) => ['deployment', p.deploymentId],
  'deployment.paused': (p) => ['deployment', p.deploymentId],
  'deployment.finished': (p) => ['deployment', p.deploymentId],
};

/** Whoever caused an event (the audit actor of the change). */
export interface EventActor {
  type: string;
  id: string | null;
  name: string | null;
}

/** An event about to be written to the outbox. */
export type NewDomainEvent = {
  [T in DomainEventType]: { type: T; subject: { type: SubjectType; id: string }; payload: DomainEventPayloads[T] };
}[DomainEventType];

/** An event as consumers receive it. `id` orders events of one transaction; it is a decimal string (bigint). */
export type DomainEvent = {
  [T in DomainEventType]: {
    id: string;
    type: T;
    subject: { type: SubjectType; id: string };
    payload: DomainEventPayloads[T];
    actor: EventActor | null;
    occurredAt: Date;
  };
}[DomainEventType];

export function domainEvent<T extends DomainEventType>(type: T, payload: DomainEventPayloads[T]): NewDomainEvent {
  const [subjectType, subjectId] = subjectOf[type](payload);
  return { type, subject: { type: subjectType, id: subjectId }, payload } as NewDomainEvent;
}
