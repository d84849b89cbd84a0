/** What a simulated fleet measured: per protocol call, counters of what happened, and notes on anything odd. */
import type { SoftwareOutcome } from '@opsconductor/contracts/constants';
import { ProtocolCallError, ProtocolDriftError } from './protocol-client.ts';
import { CallStats, type CallSummary } from './stats.ts';

const MAX_NOTES = 50;

export class FleetStats {
  readonly enroll = new CallStats();
  readonly checkin = new CallStats();
  /** Round trips of long-polls that came back empty (they include the server's wait). */
  readonly poll = new CallStats();
  readonly start = new CallStats();
  readonly output = new CallStats();
  readonly heartbeat = new CallStats();
  readonly result = new CallStats();
  pollsWithWork = 0;
  commandsReceived = 0;
  resultsAccepted = 0;
  duplicateResults = 0;
  reboots = 0;
  rejected = 0;
  /** Answers or bodies outside the contract: the simulator and the server disagree on the protocol. */
  protocolDrift = 0;
  /** Devices that went silent after an install (`silentAfterInstallRate`). */
  wentSilent = 0;
  /** Software commands that ran, by the outcome they reported (once per command, not per delivery). */
  private readonly software = new Map<SoftwareOutcome, number>();
  private readonly notes: string[] = [];

  softwareOutcome(outcome: SoftwareOutcome): void {
    this.software.set(outcome, (this.software.get(outcome) ?? 0) + 1);
  }

  failure(call: CallStats, err: unknown): void {
    if (err instanceof ProtocolDriftError) {
      this.protocolDrift++;
      call.errors.add('protocol_drift');
      this.note(err.message);
    } else if (err instanceof ProtocolCallError) {
      call.errors.add(err.kind);
    } else {
      call.errors.add('other');
      this.note(String((err as Error)?.message ?? err));
    }
  }

  /** Keeps the first notes (the rest are counted): the first of a flood says what went wrong. */
  note(message: string): void {
    if (this.notes.length < MAX_NOTES) this.notes.push(message);
  }

  calls(): Record<'enroll' | 'checkin' | 'poll' | 'start' | 'output' | 'heartbeat' | 'result', CallStats> {
    return {
      enroll: this.enroll,
      checkin: this.checkin,
      poll: this.poll,
      start: this.start,
      output: this.output,
      heartbeat: this.heartbeat,
      result: this.result,
    };
  }

  snapshot(): FleetStatsSnapshot {
    const calls = Object.fromEntries(Object.entries(this.calls()).map(([name, c]) => [name, c.summary()])) as FleetStatsSnapshot['calls'];
    return {
      calls,
      pollsWithWork: this.pollsWithWork,
      commandsReceived: this.commandsReceived,
      resultsAccepted: this.resultsAccepted,
      duplicateResults: this.duplicateResults,
      reboots: this.reboots,
      rejected: this.rejected,
      protocolDrift: this.protocolDrift,
      softwareOutcomes: Object.fromEntries([...this.software].sort(([a], [b]) => a.localeCompare(b))),
      wentSilent: this.wentSilent,
      notes: [...this.notes],
    };
  }

  /** Starts a new measurement window (counters and latencies; notes are kept). */
  reset(): void {
    for (const c of Object.values(this.calls())) c.reset();
    this.pollsWithWork = this.commandsReceived = this.resultsAccepted = this.duplicateResults = this.reboots = this.wentSilent = 0;
    this.software.clear();
  }
}

export interface FleetStatsSnapshot {
  calls: Record<'enroll' | 'checkin' | 'poll' | 'start' | 'output' | 'heartbeat' | 'result', CallSummary>;
  pollsWithWork: number;
  commandsReceived: number;
  resultsAccepted: number;
  duplicateResults: number;
  reboots: number;
  rejected: number;
  protocolDrift: number;
  /** Software commands by reported outcome, e.g. `{ installed: 9500, failed: 480, already_installed: 20 }`. */
  softwareOutcomes: Partial<Record<SoftwareOutcome, number>>;
  wentSilent: number;
  notes: string[];
}
