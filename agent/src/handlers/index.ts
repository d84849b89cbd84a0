/** The agent's command handlers by kind; their `kind@version` list is what the agent announces at check-in. */
import { capability, isCommandKind, type CommandKind, type CommandPayload } from '@opsconductor/contracts/commands';
import { fileFetchHandler } from './file-fetch.ts';
import { createInventoryRefreshHandler, type FullInventoryReport } from './inventory-refresh.ts';
import { createRebootHandler } from './reboot.ts';
import { scriptHandler } from './script.ts';
import { shellHandler } from './shell.ts';
import { createSoftwareHandlers, type SoftwareHandlerOptions } from './software.ts';
import type { CommandHandler, Execution, HandlerContext } from './types.ts';

export interface HandlerRegistryOptions {
  /** Replaces the system's restart command (tests). */
  rebootCommand?: string;
  /** How to send a full inventory report; without it (inventory turned off) the agent cannot run inventory.refresh. */
  fullInventoryReport?: FullInventoryReport;
  /** Replaces the software handlers' detection probes and requirement facts (tests). */
  software?: SoftwareHandlerOptions;
}

export class HandlerRegistry {
  private readonly handlers = new Map<CommandKind, CommandHandler>();

  constructor(options: HandlerRegistryOptions = {}) {
    const all: CommandHandler[] = [
      shellHandler,
      scriptHandler,
      fileFetchHandler,
      createRebootHandler(options.rebootCommand),
      ...createSoftwareHandlers(options.software),
    ] as CommandHandler[];
    if (options.fullInventoryReport) all.push(createInventoryRefreshHandler(options.fullInventoryReport) as CommandHandler);
    for (const handler of all) this.handlers.set(handler.kind, handler);
  }

  has(kind: unknown): kind is CommandKind {
    return isCommandKind(kind) && this.handlers.has(kind);
  }

  /** `kind@version` of every handler. */
  capabilities(): string[] {
    return [...this.handlers.values()].map((h) => capability(h.kind, h.version));
  }

  start(payload: CommandPayload, ctx: HandlerContext): Execution {
    const handler = this.handlers.get(payload.kind);
    if (!handler) throw new Error(`no handler for ${payload.kind} commands`);
    return (handler as CommandHandler<typeof payload.kind>).start(payload as never, ctx);
  }
}

export type { CommandHandler, Execution, HandlerContext, HandlerOutcome } from './types.ts';
