/**
 * Inventory collection: picks the platform's collectors, runs the sections side by side, and validates
 * each against the contract. Sections are independent: one that throws, times out or does not validate is
 * replaced by a minimal valid section (and named in `failed`), the rest of the report is unaffected.
 */
import { inventorySectionNames, type InventorySectionName, type InventorySections } from '@opsconductor/contracts/inventory';
import { setMaxListeners } from 'node:events';
import { z } from 'zod';
import { silentLogger, type Logger } from '../log.ts';
import { linuxCollectors } from './linux/index.ts';
import { minimalSection } from './minimal.ts';
import { sectionSchemas, type CollectContext, type SectionCollectors } from './types.ts';
import { windowsCollectors } from './windows/index.ts';

export { inventorySectionNames, type InventorySectionName, type InventorySections };
export type { CollectContext, SectionCollectors } from './types.ts';

export interface CollectOptions {
  log?: Logger;
  signal?: AbortSignal;
  /** Only these sections (default: all). */
  sections?: readonly InventorySectionName[];
  /** Replaces the platform's collectors (tests, the fleet simulator). */
  collectors?: SectionCollectors;
  platform?: NodeJS.Platform;
  /** A section still running after this long counts as failed (default 4 min). */
  sectionTimeoutMs?: number;
}

export interface CollectedSections<S = Partial<InventorySections>> {
  sections: S;
  /** Sections whose collector failed; they hold a minimal stand-in. */
  failed: InventorySectionName[];
  durationMs: number;
  sectionDurationsMs: Partial<Record<InventorySectionName, number>>;
}
export type CollectedInventory = CollectedSections<InventorySections>;

/** Platforms without collectors of their own: every section is the minimal one. */
const minimalCollectors = Object.fromEntries(
  inventorySectionNames.map((name) => [name, async () => minimalSection(name)]),
) as unknown as SectionCollectors;

export function platformCollectors(platform: NodeJS.Platform = process.platform): SectionCollectors {
  if (platform === 'linux') return linuxCollectors;
  if (platform === 'win32') return windowsCollectors();
  return minimalCollectors;
}

/**
 * Lists are salvaged item by item: one package with a malformed field must not turn the whole software
 * section into an empty list (which the server would record as everything being uninstalled).
 */
function salvageList(name: InventorySectionName, data: unknown, log: Logger): unknown {
  const key = name === 'software' ? 'packages' : name === 'services' ? 'services' : undefined;
  if (!key || data === null || typeof data !== 'object') return data;
  const items = (data as Record<string, unknown>)[key];
  if (!Array.isArray(items)) return data;
  const shape = sectionSchemas[name].shape as Record<string, z.ZodType>;
  const itemSchema = (shape[key] as z.ZodArray<z.ZodType>).element;
  const kept = items.filter((item) => itemSchema.safeParse(item).success);
  if (kept.length !== items.length) log.warn('dropped invalid inventory entries', { section: name, dropped: items.length - kept.length });
  return { ...(data as Record<string, unknown>), [key]: kept };
}

function validate<K extends InventorySectionName>(name: K, data: unknown, log: Logger): InventorySections[K] {
  const schema = sectionSchemas[name] as unknown as z.ZodType<InventorySections[K]>;
  const first = schema.safeParse(data);
  if (first.success) return first.data;
  const second = schema.safeParse(salvageList(name, data, log));
  if (second.success) return second.data;
  throw new Error(`section does not match the contract: ${z.prettifyError(first.error).slice(0, 2000)}`);
}

function timeout(ms: number, signal?: AbortSignal): { promise: Promise<never>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    onAbort = () => reject(new Error('collection aborted'));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  // The signal lives as long as the agent: every collection must detach again.
  return { promise, cancel: () => (clearTimeout(timer), onAbort && signal?.removeEventListener('abort', onAbort)) };
}

// One collection at a time per process: several agents in one process (the simulator, tests) must not
// multiply the load a collection puts on the host.
let queue: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const result = queue.then(fn, fn);
  queue = result.catch(() => {});
  return result;
}

export function collectSections(options: CollectOptions = {}): Promise<CollectedSections> {
  return exclusive(async () => {
    // A signal of its own per collection: every running tool and section timeout listens to it (more than
    // the default listener limit), while the caller's long-lived signal gets one listener, removed after.
    const controller = new AbortController();
    setMaxListeners(200, controller.signal);
    const forward = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) forward();
    else options.signal?.addEventListener('abort', forward, { once: true });
    try {
      return await collectWith({ log: options.log ?? silentLogger, signal: controller.signal }, options);
    } finally {
      options.signal?.removeEventListener('abort', forward);
    }
  });
}

async function collectWith(ctx: CollectContext, options: CollectOptions): Promise<CollectedSections> {
  const { log, signal } = ctx;
  const collectors = options.collectors ?? platformCollectors(options.platform);
  const names = options.sections ?? inventorySectionNames;
  const started = performance.now();
  const sections: Partial<Record<InventorySectionName, unknown>> = {};
  const durations: Partial<Record<InventorySectionName, number>> = {};
  const failed: InventorySectionName[] = [];
  await Promise.all(
    names.map(async (name) => {
      const began = performance.now();
      const limit = timeout(options.sectionTimeoutMs ?? 240_000, signal);
      try {
        const data = await Promise.race([collectors[name](ctx), limit.promise]);
        sections[name] = validate(name, data, log);
      } catch (err) {
        if (!signal?.aborted) log.warn('inventory section could not be collected; using a minimal one', { section: name, err });
        failed.push(name);
        sections[name] = sectionSchemas[name].parse(minimalSection(name));
      } finally {
        limit.cancel();
        durations[name] = Math.round(performance.now() - began);
      }
    }),
  );
  // Name order rather than completion order, so printed reports read the same every time.
  const ordered = Object.fromEntries(names.filter((n) => n in sections).map((n) => [n, sections[n]]));
  return {
    sections: ordered as Partial<InventorySections>,
    failed: failed.sort(),
    durationMs: Math.round(performance.now() - started),
    sectionDurationsMs: durations,
  };
}

/** Every section, validated. */
export async function collectInventoryDetailed(options: Omit<CollectOptions, 'sections'> = {}): Promise<CollectedInventory> {
  return (await collectSections(options)) as CollectedInventory;
}

export async function collectInventory(options: Omit<CollectOptions, 'sections'> = {}): Promise<InventorySections> {
  return (await collectInventoryDetailed(options)).sections;
}
