/**
 * Sends inventory to `POST /agent/v1/inventory`: a full report when the agent has no accepted base (first
 * start, or the server asks for one with 409 `inventory_full_report_required`) and every
 * `fullIntervalSeconds`; in between, every `deltaIntervalSeconds`, a delta with only the sections whose
 * hash differs from the last accepted report. A delta is sent even when nothing changed: it proves the
 * inventory is alive and lets the server check its base against our hashes.
 *
 * The last accepted hashes are kept in `<state-dir>/inventory.json`, so a restarted agent goes on with
 * deltas. Everything runs in its own loop: collection and upload never hold up command execution.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  inventoryReport,
  inventorySectionNames,
  MAX_INVENTORY_REPORT_BYTES,
  type InventoryReport,
  type InventoryResponse,
  type InventorySectionName,
  type InventorySections,
} from '@opsconductor/contracts/inventory';
import { sectionHash } from '@opsconductor/contracts/inventory-hash';
import { z } from 'zod';
import { Backoff, sleep } from '../backoff.ts';
import { AgentApiError, isRetryable, retryAfterMs, type AgentHttpClient } from '../http.ts';
import type { Logger } from '../log.ts';
import { writeFileAtomic } from '../state.ts';
import { collectInventoryDetailed, type CollectedInventory } from './index.ts';

export const INVENTORY_STATE_FILE = 'inventory.json';
export const DEFAULT_FULL_INTERVAL_SECONDS = 86_400;
export const DEFAULT_DELTA_INTERVAL_SECONDS = 3_600;
export const FULL_REPORT_REQUIRED = 'inventory_full_report_required';
/** Bounds on what the server may ask for: a broken answer must neither spin the agent nor silence it. */
const MAX_DELTA_INTERVAL_SECONDS = 7 * 86_400;
const MAX_FULL_INTERVAL_SECONDS = 30 * 86_400;

type Hashes = Partial<Record<InventorySectionName, string>>;

const hashSchema = z.string().regex(/^[0-9a-f]{64}$/);
const persistedSchema = z.object({
  version: z.literal(1),
  deviceId: z.string(),
  hashes: z.partialRecord(z.enum(inventorySectionNames), hashSchema),
  acceptedAt: z.string(),
  lastFullAt: z.string().nullish(),
  fullIntervalSeconds: z.number().int().positive().nullish(),
  deltaIntervalSeconds: z.number().int().positive().nullish(),
});
export type InventoryState = z.infer<typeof persistedSchema>;

export function inventoryStatePath(stateDir: string): string {
  return path.join(stateDir, INVENTORY_STATE_FILE);
}

/** The persisted state, or undefined when there is none usable (missing, corrupt, another device's). */
export function readInventoryState(stateDir: string, deviceId: string): InventoryState | undefined {
  let raw: string;
  try {
    raw = readFileSync(inventoryStatePath(stateDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = persistedSchema.parse(JSON.parse(raw));
    // After a re-enrollment (--force) the server knows a new device with no inventory at all.
    return parsed.deviceId === deviceId ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export interface InventoryReporterOptions {
  client: AgentHttpClient;
  stateDir: string;
  deviceId: string;
  log: Logger;
  /** Stops the loop (the agent's lifetime). */
  signal: AbortSignal;
  /** Replaces the real collectors (tests, the fleet simulator). */
  collect?: (options: { signal: AbortSignal; log: Logger }) => Promise<CollectedInventory>;
  /** Lets the agent react to rejected credentials; returns true when the error ends the agent. */
  onFatal?: (err: unknown) => boolean;
  /** Upload retry on connection errors and 5xx (default 5 s → 5 min). */
  retry?: { initialMs: number; maxMs: number };
  /** Floor for the server's intervals (default 60 s; tests lower it). */
  minIntervalSeconds?: number;
  random?: () => number;
}

export interface BuiltReport {
  report: InventoryReport;
  hashes: Record<InventorySectionName, string>;
}

/**
 * Builds a report from collected sections. Sections listed in `unavailable` (their collector failed and no
 * earlier good copy exists) are left out of a delta and claimed unchanged with the last accepted hash,
 * rather than replacing real data on the server with a minimal stand-in.
 */
export function buildReport(
  mode: 'full' | 'delta',
  sections: InventorySections,
  accepted: Hashes,
  collectedAt: Date,
  unavailable: readonly InventorySectionName[] = [],
): BuiltReport {
  const hashes = {} as Record<InventorySectionName, string>;
  const sent: Partial<InventorySections> = {};
  for (const name of inventorySectionNames) {
    const previous = accepted[name];
    if (mode === 'delta' && unavailable.includes(name) && previous) {
      hashes[name] = previous;
      continue;
    }
    const hash = sectionHash(sections[name]);
    hashes[name] = hash;
    if (mode === 'full' || hash !== previous) (sent as Record<string, unknown>)[name] = sections[name];
  }
  return { report: { mode, collectedAt: collectedAt.toISOString(), sections: sent, hashes }, hashes };
}

type SendOutcome =
  | { kind: 'accepted'; response: InventoryResponse }
  | { kind: 'full_required' }
  | { kind: 'rejected' }
  | { kind: 'stale' }
  | { kind: 'stopped' };

export class InventoryReporter {
  private state: InventoryState | undefined;
  /** Last good copy of each section from this process, standing in when a collector fails. */
  private readonly lastGood: Partial<InventorySections> = {};
  private fullIntervalSeconds = DEFAULT_FULL_INTERVAL_SECONDS;
  private deltaIntervalSeconds = DEFAULT_DELTA_INTERVAL_SECONDS;
  private collecting: Promise<CollectedInventory> | undefined;
  /** Shared by successive uploads, so a long outage keeps backing off even across fresh collections. */
  private readonly backoff: Backoff;

  constructor(private readonly options: InventoryReporterOptions) {
    this.backoff = new Backoff({ ...(options.retry ?? { initialMs: 5_000, maxMs: 300_000 }), random: options.random });
  }

  /** Runs until the signal aborts. Never throws for network or server trouble; logs it and carries on. */
  async run(): Promise<void> {
    const { signal, log } = this.options;
    this.state = readInventoryState(this.options.stateDir, this.options.deviceId);
    if (this.state) {
      this.fullIntervalSeconds = this.clampFull(this.state.fullIntervalSeconds ?? DEFAULT_FULL_INTERVAL_SECONDS);
      this.deltaIntervalSeconds = this.clampDelta(this.state.deltaIntervalSeconds ?? DEFAULT_DELTA_INTERVAL_SECONDS);
    }
    log.debug('inventory reporter starting', { base: this.state ? 'persisted hashes' : 'none (full report first)' });
    while (!signal.aborted) {
      const waitMs = await this.cycle();
      if (waitMs === undefined) break;
      await sleep(waitMs, signal);
    }
  }

  /** One collection and its upload; returns how long to wait before the next one (undefined: stop). */
  private async cycle(): Promise<number | undefined> {
    const { signal, log } = this.options;
    let collected: CollectedInventory;
    try {
      collected = await this.collect();
    } catch (err) {
      if (signal.aborted) return undefined;
      log.error('inventory collection failed', { err });
      return this.deltaIntervalSeconds * 1000;
    }
    if (signal.aborted) return undefined;
    const collectedAt = new Date();
    const { sections, unavailable } = this.withLastGood(collected);

    let mode: 'full' | 'delta' = this.fullDue(collectedAt) ? 'full' : 'delta';
    for (let attempt = 0; attempt < 2; attempt++) {
      const built = buildReport(mode, sections, this.state?.hashes ?? {}, collectedAt, unavailable);
      const outcome = await this.send(built, collected, collectedAt);
      switch (outcome.kind) {
        case 'accepted':
          if (outcome.response.accepted) {
            this.accept(built, outcome.response, collectedAt);
          } else {
            // Not stored: the server's base is what it was, so the hashes stay the last accepted ones.
            log.warn('server did not accept the inventory report', { mode });
            this.fullIntervalSeconds = this.clampFull(outcome.response.fullIntervalSeconds);
            this.deltaIntervalSeconds = this.clampDelta(outcome.response.deltaIntervalSeconds);
          }
          return this.nextDelayMs(new Date());
        case 'full_required':
          if (mode === 'full') {
            log.error('server asked for a full report in answer to a full report; trying again later');
            return this.deltaIntervalSeconds * 1000;
          }
          // The server lacks the base this delta builds on: send everything now, from the same collection.
          log.info('server has no inventory base for this device; sending a full report');
          mode = 'full';
          continue;
        case 'rejected':
          return this.deltaIntervalSeconds * 1000;
        case 'stale':
          return 0; // the data went stale while the server was unreachable: collect afresh
        case 'stopped':
          return undefined;
      }
    }
    return this.deltaIntervalSeconds * 1000;
  }

  /**
   * A full report now (the `inventory.refresh` command), outside the schedule: collected afresh, sent in
   * full, and taken as the new base when accepted. Rejects when it could not be delivered.
   */
  async reportFullNow(signal: AbortSignal): Promise<{ accepted: boolean; changedSections: string[] }> {
    const collected = await this.collect();
    const collectedAt = new Date();
    const { sections, unavailable } = this.withLastGood(collected);
    const built = buildReport('full', sections, this.state?.hashes ?? {}, collectedAt, unavailable);
    const outcome = await this.send(built, collected, collectedAt, AbortSignal.any([signal, this.options.signal]));
    switch (outcome.kind) {
      case 'accepted':
        if (outcome.response.accepted) this.accept(built, outcome.response, collectedAt);
        return { accepted: outcome.response.accepted, changedSections: outcome.response.changedSections };
      case 'stopped':
        throw new Error('stopped before the report was delivered');
      case 'stale':
        throw new Error('the server could not be reached');
      default:
        throw new Error('the server refused the report');
    }
  }

  /** At most one collection in flight per reporter; the module adds a process-wide cap of one as well. */
  private collect(): Promise<CollectedInventory> {
    if (!this.collecting) {
      const { signal, log } = this.options;
      const run = this.options.collect ?? ((o) => collectInventoryDetailed(o));
      this.collecting = run({ signal, log }).finally(() => (this.collecting = undefined));
    }
    return this.collecting;
  }

  private withLastGood(collected: CollectedInventory): { sections: InventorySections; unavailable: InventorySectionName[] } {
    const sections = { ...collected.sections };
    const unavailable: InventorySectionName[] = [];
    for (const name of inventorySectionNames) {
      if (!collected.failed.includes(name)) {
        (this.lastGood as Record<string, unknown>)[name] = collected.sections[name];
      } else if (this.lastGood[name]) {
        (sections as Record<string, unknown>)[name] = this.lastGood[name];
      } else {
        unavailable.push(name);
      }
    }
    if (collected.failed.length > 0) {
      this.options.log.warn('some inventory sections could not be collected', {
        failed: collected.failed,
        substituted: collected.failed.filter((n) => !unavailable.includes(n)),
      });
    }
    return { sections, unavailable };
  }

  private async send(
    built: BuiltReport,
    collected: CollectedInventory,
    collectedAt: Date,
    signal = this.options.signal,
  ): Promise<SendOutcome> {
    const { log, client } = this.options;
    const { report } = built;
    const checked = inventoryReport.safeParse(report);
    if (!checked.success) {
      // A bug on our side: sending it would only earn a 400.
      log.error('built an invalid inventory report; not sending it', { issues: z.prettifyError(checked.error).slice(0, 2000) });
      return { kind: 'rejected' };
    }
    const bytes = Buffer.byteLength(JSON.stringify(report));
    const sent = Object.keys(report.sections);
    if (bytes > MAX_INVENTORY_REPORT_BYTES) {
      log.error('inventory report exceeds the size the server accepts; not sending it', {
        bytes,
        limit: MAX_INVENTORY_REPORT_BYTES,
        sections: sent,
      });
      return { kind: 'rejected' };
    }
    for (;;) {
      if (signal.aborted) return { kind: 'stopped' };
      try {
        const response = await client.inventory(report, signal);
        this.backoff.reset();
        log.info('inventory report delivered', {
          mode: report.mode,
          sections: sent,
          changedSections: response.changedSections,
          accepted: response.accepted,
          bytes,
          collectionMs: collected.durationMs,
        });
        return { kind: 'accepted', response };
      } catch (err) {
        if (signal.aborted) return { kind: 'stopped' };
        if (this.options.onFatal?.(err)) return { kind: 'stopped' };
        if (err instanceof AgentApiError && err.status === 409 && err.code === FULL_REPORT_REQUIRED) return { kind: 'full_required' };
        if (!isRetryable(err)) {
          log.error('server refused the inventory report', {
            err,
            mode: report.mode,
            sections: sent,
            bytes,
            errors: err instanceof AgentApiError ? err.problem?.errors?.slice(0, 20) : undefined,
          });
          return { kind: 'rejected' };
        }
        const delayMs = this.backoff.next(retryAfterMs(err));
        if (Date.now() + delayMs - collectedAt.getTime() > this.deltaIntervalSeconds * 1000) {
          log.warn('inventory upload failed; collecting afresh before the next try', { err, retryInMs: delayMs });
          await sleep(delayMs, signal);
          return signal.aborted ? { kind: 'stopped' } : { kind: 'stale' };
        }
        log.warn('inventory upload failed; retrying', { err, retryInMs: delayMs });
        await sleep(delayMs, signal);
      }
    }
  }

  private accept(built: BuiltReport, response: InventoryResponse, collectedAt: Date): void {
    this.fullIntervalSeconds = this.clampFull(response.fullIntervalSeconds);
    this.deltaIntervalSeconds = this.clampDelta(response.deltaIntervalSeconds);
    const lastFullAt = built.report.mode === 'full' ? collectedAt.toISOString() : this.state?.lastFullAt;
    this.state = {
      version: 1,
      deviceId: this.options.deviceId,
      hashes: built.hashes,
      acceptedAt: new Date().toISOString(),
      lastFullAt: lastFullAt ?? null,
      fullIntervalSeconds: this.fullIntervalSeconds,
      deltaIntervalSeconds: this.deltaIntervalSeconds,
    };
    try {
      writeFileAtomic(inventoryStatePath(this.options.stateDir), JSON.stringify(this.state, null, 2) + '\n', 0o600);
    } catch (err) {
      // Only costs a full report after the next restart.
      this.options.log.warn('could not save the inventory state', { err });
    }
  }

  private fullDue(now: Date): boolean {
    const state = this.state;
    if (!state || Object.keys(state.hashes).length === 0 || !state.lastFullAt) return true;
    const last = Date.parse(state.lastFullAt);
    // A last-full time in the future means the clock was set back: start the cycle over.
    if (Number.isNaN(last) || last > now.getTime() + 60_000) return true;
    return now.getTime() - last >= this.fullIntervalSeconds * 1000;
  }

  private nextDelayMs(now: Date): number {
    const random = this.options.random ?? Math.random;
    // Up to 10 % earlier, so a fleet that started together (a server outage ending) spreads out again.
    const deltaMs = this.deltaIntervalSeconds * 1000 * (1 - 0.1 * random());
    const last = Date.parse(this.state?.lastFullAt ?? '');
    const fullMs = Number.isNaN(last) ? deltaMs : last + this.fullIntervalSeconds * 1000 - now.getTime();
    return Math.max(0, Math.min(deltaMs, fullMs));
  }

  private clampDelta(seconds: number): number {
    const min = this.options.minIntervalSeconds ?? 60;
    return Math.min(MAX_DELTA_INTERVAL_SECONDS, Math.max(min, Number.isFinite(seconds) ? seconds : DEFAULT_DELTA_INTERVAL_SECONDS));
  }

  private clampFull(seconds: number): number {
    const min = this.options.minIntervalSeconds ?? 60;
    return Math.min(MAX_FULL_INTERVAL_SECONDS, Math.max(min, Number.isFinite(seconds) ? seconds : DEFAULT_FULL_INTERVAL_SECONDS));
  }
}
