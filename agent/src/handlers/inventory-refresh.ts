/** `inventory.refresh`: a full inventory report now; succeeds once the server has accepted it. */
import { commandKindVersions } from '@opsconductor/contracts/commands';
import { outcome, type CommandHandler } from './types.ts';

/** Sends a full report now; resolves with what the server said, rejects when it could not be sent. */
export type FullInventoryReport = (signal: AbortSignal) => Promise<{ accepted: boolean; changedSections: string[] }>;

export function createInventoryRefreshHandler(report: FullInventoryReport): CommandHandler<'inventory.refresh'> {
  return {
    kind: 'inventory.refresh',
    version: commandKindVersions['inventory.refresh'],
    start(payload, ctx) {
      const startedAt = new Date();
      const t0 = performance.now();
      const controller = new AbortController();
      let stopped: 'cancel' | 'shutdown' | 'timeout' | undefined;
      const timer = setTimeout(() => {
        stopped = 'timeout';
        controller.abort();
      }, payload.timeoutSeconds * 1000);
      const done = report(controller.signal)
        .then(
          (res) => {
            ctx.output(
              'stdout',
              Buffer.from(
                `full inventory report ${res.accepted ? 'accepted' : 'not accepted'} by the server; changed sections: ${res.changedSections.join(', ') || 'none'}\n`,
              ),
            );
            return res.accepted
              ? outcome({ status: 'succeeded', exitCode: 0, startedAt }, t0)
              : outcome({ status: 'failed', exitCode: null, error: 'the server did not accept the inventory report', startedAt }, t0);
          },
          (err: unknown) => {
            if (stopped === 'timeout')
              return outcome({ status: 'timed_out', exitCode: null, error: `timed out after ${payload.timeoutSeconds} s`, startedAt }, t0);
            if (stopped === 'cancel') return outcome({ status: 'cancelled', exitCode: null, startedAt }, t0);
            if (stopped === 'shutdown') return outcome({ status: 'failed', exitCode: null, error: 'agent stopped', startedAt }, t0);
            return outcome(
              {
                status: 'failed',
                exitCode: null,
                error: `the inventory report failed: ${err instanceof Error ? err.message : String(err)}`,
                startedAt,
              },
              t0,
            );
          },
        )
        .finally(() => clearTimeout(timer));
      return {
        done,
        stop(reason) {
          stopped ??= reason;
          controller.abort();
        },
      };
    },
  };
}
