/**
 * The simulator in a process of its own, driven by its parent over Node's IPC channel: benchmarks measure
 * the API without the simulator's CPU in the same process. The parent side is remote.ts.
 */
import type { CommandBehaviour, DeviceSelector } from './behaviour.ts';
import { startFleet, type Fleet, type FleetOptions } from './fleet.ts';
import type { CommandEvent, ResultEvent } from './virtual-agent.ts';

/** FleetOptions without the callbacks (they cannot cross a process boundary; events come as messages). */
export type RemoteFleetOptions = Omit<FleetOptions, 'onCommand' | 'onResult'>;

export type FleetCall =
  | { method: 'stats' }
  | { method: 'resetStats' }
  | { method: 'counts' }
  | { method: 'devices'; select?: DeviceSelector }
  | { method: 'goOffline'; select: DeviceSelector; goodbye?: boolean }
  | { method: 'goOnline'; select: DeviceSelector }
  | { method: 'reboot'; select: DeviceSelector; offlineMs?: number; keepJournal?: boolean }
  | { method: 'revive'; select?: DeviceSelector }
  | { method: 'removeSoftware'; select?: DeviceSelector; versionId: string }
  | { method: 'addSoftware'; select?: DeviceSelector; versionId: string }
  | { method: 'changeBehaviour'; select?: DeviceSelector; changes: Partial<CommandBehaviour> }
  | { method: 'downloadArtifact'; select?: DeviceSelector; sha256: string; timeoutMs?: number }
  | { method: 'stop'; goodbye?: boolean };

export type ParentMessage = { type: 'start'; options: RemoteFleetOptions; events: boolean } | { type: 'call'; id: number; call: FleetCall };

export type ChildMessage =
  | { type: 'started' }
  | { type: 'ready'; error?: string }
  | { type: 'reply'; id: number; value?: unknown; error?: string }
  | { type: 'events'; commands: CommandEvent[]; results: ResultEvent[] };

/** How often command/result events are sent to the parent, batched. */
const EVENT_FLUSH_MS = 20;

function send(message: ChildMessage, then?: () => void): void {
  if (then) process.send?.(message, then);
  else process.send?.(message);
}

async function dispatch(fleet: Fleet, call: FleetCall): Promise<unknown> {
  switch (call.method) {
    case 'stats':
      return fleet.stats();
    case 'resetStats':
      return fleet.resetStats();
    case 'counts':
      return fleet.counts();
    case 'devices':
      return fleet.devices(call.select);
    case 'goOffline':
      return fleet.goOffline(call.select, { goodbye: call.goodbye });
    case 'goOnline':
      return fleet.goOnline(call.select);
    case 'reboot':
      return fleet.reboot(call.select, { offlineMs: call.offlineMs, keepJournal: call.keepJournal });
    case 'revive':
      return fleet.revive(call.select);
    case 'removeSoftware':
      return fleet.removeSoftware(call.select, call.versionId);
    case 'addSoftware':
      return fleet.addSoftware(call.select, call.versionId);
    case 'changeBehaviour':
      return fleet.changeBehaviour(call.select, call.changes);
    case 'downloadArtifact':
      return fleet.downloadArtifact(call.select, call.sha256, { timeoutMs: call.timeoutMs });
    case 'stop':
      return fleet.stop({ goodbye: call.goodbye });
  }
}

/** Child side: waits for `start`, runs the fleet, answers calls; exits after `stop` or when the parent goes away. */
export function serveOverIpc(): void {
  let fleet: Fleet | undefined;
  const commands: CommandEvent[] = [];
  const results: ResultEvent[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  const flushSoon = () => {
    flushTimer ??= setTimeout(() => {
      flushTimer = undefined;
      send({ type: 'events', commands: commands.splice(0), results: results.splice(0) });
    }, EVENT_FLUSH_MS);
  };
  process.on('disconnect', () => {
    void (fleet?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
  });
  process.on('message', (raw) => {
    const message = raw as ParentMessage;
    if (message.type === 'start') {
      if (fleet) return;
      const events = message.events
        ? { onCommand: (e: CommandEvent) => (commands.push(e), flushSoon()), onResult: (e: ResultEvent) => (results.push(e), flushSoon()) }
        : {};
      startFleet({ ...message.options, ...events }).then(
        (f) => {
          fleet = f;
          send({ type: 'started' });
          f.ready.then(
            () => send({ type: 'ready' }),
            (err: Error) => send({ type: 'ready', error: err.message }),
          );
        },
        (err: Error) => send({ type: 'ready', error: err.message }),
      );
      return;
    }
    if (message.type === 'call') {
      const { id, call } = message;
      if (!fleet) return send({ type: 'reply', id, error: 'the fleet has not started' });
      dispatch(fleet, call).then(
        (value) => send({ type: 'reply', id, value }, call.method === 'stop' ? () => process.exit(0) : undefined),
        (err: Error) => send({ type: 'reply', id, error: err.message }),
      );
    }
  });
}
