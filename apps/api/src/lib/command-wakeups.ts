/**
 * Which devices may have work, so an idle long-poll costs no database query. After a poll found
 * nothing for a device, the device is known idle until a notification on `oc_agent_commands` names it
 * (a command was queued or cancelled — by this process or another, through LISTEN/NOTIFY), until
 * something it holds falls due by time alone (a redelivery, a cancellation expiring: the poll's
 * `recheckAt`), or at the latest after IDLE_RECHECK_MS, which bounds what a lost notification costs.
 * While the LISTEN connection is down nothing counts as idle; after it is back, everything is looked
 * at again.
 */
import { channels } from '@opsconductor/db/notify';
import type { EventHub } from '@opsconductor/db/event-hub';

/** A device known idle is looked at again after this long anyway (a NOTIFY that never arrived). */
export const IDLE_RECHECK_MS = 5 * 60_000;
/** Beyond this many devices the index starts over (every device is looked at once more). */
const MAX_TRACKED = 200_000;

export class CommandWakeups {
  /** device ID → until when it is known to have nothing (ms since epoch). */
  private readonly idleUntil = new Map<string, number>();
  /** device ID → the notification count when it was last notified, to spot one that lands during a poll's query. */
  private readonly notifiedAt = new Map<string, number>();
  private notifications = 0;
  /** The notification count when every device last counted as notified at once (LISTEN came back). */
  private resetAt = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly events: EventHub,
    private readonly now: () => number = Date.now,
  ) {
    this.unsubscribe = events.subscribeChannel(channels.agentCommands, (deviceId) =>
      deviceId ? this.notified(deviceId) : this.forgetAll(),
    );
  }

  /** Whether a poll must look in the database for this device. */
  mayHaveWork(deviceId: string): boolean {
    if (!this.events.listening) return true;
    return (this.idleUntil.get(deviceId) ?? 0) <= this.now();
  }

  /** Milliseconds until a device known idle must be looked at again (0 when it must be now). */
  msUntilRecheck(deviceId: string): number {
    return Math.max(0, (this.idleUntil.get(deviceId) ?? 0) - this.now());
  }

  /** Taken before a poll's query: `markIdle` only counts if no notification came in between. */
  ticket(): number {
    return this.notifications;
  }

  /** The poll that took `ticket` found nothing for the device; `recheckAt` is when something falls due. */
  markIdle(deviceId: string, ticket: number, recheckAt: Date | null): void {
    if (ticket < this.resetAt || (this.notifiedAt.get(deviceId) ?? -1) > ticket) return;
    if (this.idleUntil.size >= MAX_TRACKED) this.forgetAll();
    const until = Math.min(this.now() + IDLE_RECHECK_MS, recheckAt?.getTime() ?? Number.POSITIVE_INFINITY);
    this.idleUntil.set(deviceId, until);
    this.notifiedAt.delete(deviceId);
  }

  notified(deviceId: string): void {
    this.notifications++;
    this.idleUntil.delete(deviceId);
    if (this.notifiedAt.size >= MAX_TRACKED) this.notifiedAt.clear();
    this.notifiedAt.set(deviceId, this.notifications);
  }

  private forgetAll(): void {
    this.resetAt = ++this.notifications;
    this.idleUntil.clear();
    this.notifiedAt.clear();
  }

  close(): void {
    this.unsubscribe();
    this.idleUntil.clear();
    this.notifiedAt.clear();
  }
}
