/**
 * Durable command journal: the agent's half of "a command ID is executed at most once".
 *
 * Append-only JSONL in the state directory. Each command moves received → started → finished →
 * reported. The `started` record (with the boot ID) is fsynced *before* the process is spawned, so
 * after any crash the agent knows the command may have run and never runs it again; `spawned` keeps
 * the process's pid, so a restarted agent can stop what the crash left behind; `awaiting_reboot`
 * (fsynced) marks a command whose success is the device restarting; `finished` is fsynced too, so a
 * result that was not yet delivered survives a restart and is re-sent. The file is rewritten
 * (compacted) on open, which also drops a torn last line from a crash mid-append.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { commandResult, type CommandResult } from '@opsconductor/contracts/agent-protocol';
import { z } from 'zod';
import { type Logger, silentLogger } from './log.ts';
import { JOURNAL_FILE, ensureStateDir, writeFileAtomic } from './state.ts';

export const JOURNAL_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** A restart of the agent (same boot): what was left of the command was stopped. */
export const INTERRUPTED_ERROR = 'the agent restarted while the command was running; its processes were stopped and it was not run again';
/** A restart of the device: the command's processes ended with it. */
export const REBOOTED_ERROR = 'the device restarted while the command was running; it was not run again';
export const EXPIRED_ERROR = 'command expired before it could start';

const id = z.string().min(1).max(200);
const at = z.string();
const journalRecord = z.discriminatedUnion('type', [
  z.object({ type: z.literal('received'), id, at, expiresAt: z.string() }),
  z.object({ type: z.literal('started'), id, at, bootId: z.string().optional() }),
  z.object({ type: z.literal('spawned'), id, at, pid: z.number().int().positive() }),
  z.object({ type: z.literal('awaiting_reboot'), id, at, bootId: z.string(), until: z.string() }),
  z.object({ type: z.literal('finished'), id, at, result: commandResult }),
  z.object({ type: z.literal('reported'), id, at, outcome: z.enum(['delivered', 'dropped']) }),
]);
type JournalRecord = z.infer<typeof journalRecord>;

export type JournalState = 'received' | 'started' | 'awaiting_reboot' | 'finished' | 'reported';

export interface JournalEntry {
  id: string;
  receivedAt: string;
  expiresAt?: string;
  startedAt?: string;
  /** The boot the command started in. */
  bootId?: string;
  /** Its process (the group leader on POSIX), once spawned. */
  pid?: number;
  /** The reboot it asked for: it succeeds once the agent runs under another boot ID, fails after `until`. */
  awaitingReboot?: { bootId: string; until: string };
  result?: CommandResult;
  reportedAt?: string;
  reportOutcome?: 'delivered' | 'dropped';
}

export function entryState(entry: JournalEntry): JournalState {
  if (entry.reportedAt) return 'reported';
  if (entry.result) return 'finished';
  if (entry.awaitingReboot) return 'awaiting_reboot';
  if (entry.startedAt) return 'started';
  return 'received';
}

export class AlreadyStartedError extends Error {
  override name = 'AlreadyStartedError';
}

function apply(entries: Map<string, JournalEntry>, record: JournalRecord): void {
  let entry = entries.get(record.id);
  if (!entry) {
    entry = { id: record.id, receivedAt: record.at };
    entries.set(record.id, entry);
  }
  switch (record.type) {
    case 'received':
      entry.receivedAt = record.at;
      entry.expiresAt = record.expiresAt;
      break;
    case 'started':
      entry.startedAt ??= record.at;
      entry.bootId ??= record.bootId;
      break;
    case 'spawned':
      entry.pid ??= record.pid;
      break;
    case 'awaiting_reboot':
      entry.awaitingReboot = { bootId: record.bootId, until: record.until };
      break;
    case 'finished':
      entry.result ??= record.result;
      break;
    case 'reported':
      entry.reportedAt = record.at;
      entry.reportOutcome = record.outcome;
      break;
  }
}

/** The records that rebuild `entry` from scratch; used by compaction. */
function recordsFor(entry: JournalEntry): JournalRecord[] {
  const out: JournalRecord[] = [{ type: 'received', id: entry.id, at: entry.receivedAt, expiresAt: entry.expiresAt ?? '' }];
  if (entry.startedAt) out.push({ type: 'started', id: entry.id, at: entry.startedAt, ...(entry.bootId ? { bootId: entry.bootId } : {}) });
  if (entry.pid) out.push({ type: 'spawned', id: entry.id, at: entry.startedAt ?? entry.receivedAt, pid: entry.pid });
  if (entry.awaitingReboot)
    out.push({ type: 'awaiting_reboot', id: entry.id, at: entry.startedAt ?? entry.receivedAt, ...entry.awaitingReboot });
  if (entry.result) out.push({ type: 'finished', id: entry.id, at: entry.result.finishedAt, result: entry.result });
  if (entry.reportedAt) {
    out.push({ type: 'reported', id: entry.id, at: entry.reportedAt, outcome: entry.reportOutcome ?? 'delivered' });
  }
  return out;
}

export interface LoadedJournal {
  entries: Map<string, JournalEntry>;
  invalidLines: number;
}

/** Reads the journal without modifying it (used by `status`). */
export function readJournal(stateDir: string): LoadedJournal {
  const file = path.join(stateDir, JOURNAL_FILE);
  const entries = new Map<string, JournalEntry>();
  let invalidLines = 0;
  if (!existsSync(file)) return { entries, invalidLines };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      invalidLines++;
      continue;
    }
    const parsed = journalRecord.safeParse(json);
    if (parsed.success) apply(entries, parsed.data);
    else invalidLines++;
  }
  return { entries, invalidLines };
}

export interface JournalOptions {
  logger?: Logger;
  now?: () => Date;
  retentionMs?: number;
}

export class Journal {
  private fd: number | undefined;
  private readonly file: string;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly retentionMs: number;

  private constructor(
    private readonly stateDir: string,
    private readonly entries: Map<string, JournalEntry>,
    options: JournalOptions,
  ) {
    this.file = path.join(stateDir, JOURNAL_FILE);
    this.log = options.logger ?? silentLogger;
    this.now = options.now ?? (() => new Date());
    this.retentionMs = options.retentionMs ?? JOURNAL_RETENTION_MS;
  }

  /** Loads, prunes and compacts the journal, then opens it for appending. */
  static open(stateDir: string, options: JournalOptions = {}): Journal {
    ensureStateDir(stateDir);
    const { entries, invalidLines } = readJournal(stateDir);
    const journal = new Journal(stateDir, entries, options);
    if (invalidLines > 0) {
      // Normally a torn last line from a crash mid-append; that record was never acted upon.
      journal.log.warn('journal: skipped unreadable lines', { invalidLines });
    }
    journal.compact();
    return journal;
  }

  get(commandId: string): JournalEntry | undefined {
    const entry = this.entries.get(commandId);
    return entry && structuredClone(entry);
  }

  all(): JournalEntry[] {
    return [...this.entries.values()].map((entry) => structuredClone(entry));
  }

  /** Commands that may have run (started, awaiting a reboot or finished) and whose result the server has not taken yet. */
  unreported(): JournalEntry[] {
    return this.all().filter((entry) => {
      const state = entryState(entry);
      return state === 'started' || state === 'awaiting_reboot' || state === 'finished';
    });
  }

  markReceived(commandId: string, expiresAt: string): void {
    if (this.entries.has(commandId)) return;
    this.append({ type: 'received', id: commandId, at: this.now().toISOString(), expiresAt }, false);
  }

  /**
   * Must be called, and must return, before the process is spawned. Throws if the command was
   * started before: the last line of defence for at-most-once.
   */
  markStarted(commandId: string, startedAt: Date, bootId?: string): void {
    const entry = this.entries.get(commandId);
    if (entry?.startedAt || entry?.result) {
      throw new AlreadyStartedError(`command ${commandId} was already started at ${entry.startedAt ?? entry.result?.startedAt}`);
    }
    this.append({ type: 'started', id: commandId, at: startedAt.toISOString(), ...(bootId ? { bootId } : {}) }, true);
  }

  /** Not fsynced: a crash before it lands leaves orphans only other platforms cannot find (Linux finds them by environment). */
  markSpawned(commandId: string, pid: number): void {
    if (this.entries.get(commandId)?.pid) return;
    this.append({ type: 'spawned', id: commandId, at: this.now().toISOString(), pid }, false);
  }

  /** Before the reboot is asked for, durably: the agent that starts after it must know what it was waiting for. */
  markAwaitingReboot(commandId: string, bootId: string, until: Date): void {
    this.append({ type: 'awaiting_reboot', id: commandId, at: this.now().toISOString(), bootId, until: until.toISOString() }, true);
  }

  markFinished(commandId: string, result: CommandResult): void {
    if (this.entries.get(commandId)?.result) return;
    this.append({ type: 'finished', id: commandId, at: result.finishedAt, result }, true);
  }

  markReported(commandId: string, outcome: 'delivered' | 'dropped'): void {
    if (this.entries.get(commandId)?.reportedAt) return;
    this.append({ type: 'reported', id: commandId, at: this.now().toISOString(), outcome }, false);
  }

  /**
   * Rewrites the file with one record set per live entry. Reported entries are pruned after the
   * retention period, but only once the command has expired: a pruned command that the server
   * delivered again would then be refused as expired instead of running a second time.
   */
  compact(): void {
    const now = this.now().getTime();
    const cutoff = now - this.retentionMs;
    let pruned = 0;
    for (const [commandId, entry] of this.entries) {
      const state = entryState(entry);
      const expiresAt = Date.parse(entry.expiresAt ?? '');
      const expired = Number.isNaN(expiresAt) || expiresAt < now;
      const settledAt = Date.parse(state === 'reported' ? entry.reportedAt! : entry.receivedAt);
      const old = Number.isNaN(settledAt) || settledAt < cutoff;
      // Received-but-never-started entries are harmless to forget: the command never ran.
      if ((state === 'reported' || state === 'received') && old && expired) {
        this.entries.delete(commandId);
        pruned++;
      }
    }
    this.closeFd();
    const lines = [...this.entries.values()].flatMap(recordsFor).map((record) => JSON.stringify(record) + '\n');
    writeFileAtomic(this.file, lines.join(''), 0o600);
    this.fd = openSync(this.file, 'a', 0o600);
    if (pruned > 0) this.log.info('journal: pruned old entries', { pruned, kept: this.entries.size });
  }

  close(): void {
    this.closeFd();
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  /** Durable before in-memory: if the write fails, the caller sees the error and state is unchanged. */
  private append(record: JournalRecord, sync: boolean): void {
    if (this.fd === undefined) throw new Error(`journal ${this.file} is closed`);
    writeSync(this.fd, JSON.stringify(record) + '\n');
    if (sync) fsyncSync(this.fd);
    apply(this.entries, record);
  }

  get stateDirectory(): string {
    return this.stateDir;
  }
}
