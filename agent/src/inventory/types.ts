import type { z } from 'zod';
import { inventorySections, type InventorySectionName } from '@opsconductor/contracts/inventory';
import type { Logger } from '../log.ts';

export interface CollectContext {
  /** Aborts running tools when the agent stops; a collector then returns whatever it has. */
  signal?: AbortSignal;
  log: Logger;
}

/** The schema of each section, keyed by name. */
export const sectionSchemas = inventorySections.shape;

/** What a collector returns: the schema's input (defaults may be omitted); it is parsed before use. */
export type SectionInput<K extends InventorySectionName> = z.input<(typeof sectionSchemas)[K]>;

export type SectionCollectors = { [K in InventorySectionName]: (ctx: CollectContext) => Promise<SectionInput<K>> };
