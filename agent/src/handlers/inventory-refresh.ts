/** `inventory.refresh`: a full inventory report now; succeeds once the server has accepted it. */
import { commandKindVersions } from '@opsconductor/contracts/commands';
import { runInProcess, type CommandHandler } from './types.ts';

/** Sends a full report now; resolves with what the server said, rejects when it could not be sent. */
export type FullInventoryReport = (signal: AbortSignal) => Promise<{ accepted: boolean; changedSections: string[] }>;

export function createInventoryRefreshHandler(report: FullInventoryReport): CommandHandler<'inventory.refresh'> {
  return {
    kind: 'inventory.refresh',
    version: commandKindVersions['inventory.refresh'],
    start(payload, ctx) {
      return runInProcess(ctx, payload.timeoutSeconds, 'the inventory report', async (signal) => {
        const res = await report(signal);
        const output = `full inventory report ${res.accepted ? 'accepted' : 'not accepted'} by the server; changed sections: ${res.changedSections.join(', ') || 'none'}\n`;
        return res.accepted ? { ok: true, output } : { ok: false, error: 'the server did not accept the inventory report', output };
      });
    },
  };
}
