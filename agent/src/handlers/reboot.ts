/**
 * `reboot`: journals that the command waits for the device to restart (with the current boot ID),
 * then asks the system to restart. It is not over when the agent is stopped by the shutdown: the agent
 * that starts after the restart sees another boot ID and reports the command succeeded (agent.ts,
 * recovery). If the device has not restarted by `timeoutSeconds`, the command fails. The command that
 * restarts the system can be replaced (OPSCONDUCTOR_AGENT_REBOOT_COMMAND, run by the platform shell):
 * tests cannot restart the machine.
 */
import { commandKindVersions } from '@opsconductor/contracts/commands';
import { executeProcess, shellInvocation, type ShellInvocation, type StopReason } from '../executor.ts';
import type { CommandHandler, HandlerOutcome } from './types.ts';

export const REBOOT_COMMAND_ENV = 'OPSCONDUCTOR_AGENT_REBOOT_COMMAND';
/** How long the restart request itself may take. */
const REQUEST_TIMEOUT_SECONDS = 120;

export function rebootInvocation(override: string | undefined, platform: NodeJS.Platform = process.platform): ShellInvocation {
  if (override) return shellInvocation('default', override, platform);
  if (platform === 'win32') return { file: 'shutdown.exe', args: ['/r', '/t', '5', '/c', 'OpsConductor: reboot command'] };
  return { file: '/sbin/shutdown', args: ['-r', 'now'] };
}

export function createRebootHandler(rebootCommand: string | undefined): CommandHandler<'reboot'> {
  return {
    kind: 'reboot',
    version: commandKindVersions.reboot,
    start(payload, ctx) {
      ctx.awaitingReboot(new Date(Date.now() + payload.timeoutSeconds * 1000));
      let stoppedBy: StopReason | undefined;
      const execution = executeProcess({
        commandId: ctx.commandId,
        invocation: rebootInvocation(rebootCommand),
        timeoutSeconds: REQUEST_TIMEOUT_SECONDS,
        env: ctx.env,
        killGraceMs: ctx.killGraceMs,
        onOutput: (stream, data) => ctx.output(stream, data),
      });
      const done = execution.done.then((outcome): HandlerOutcome => {
        // The system going down stops the agent (and with it the request): that is the reboot happening.
        if (outcome.status === 'succeeded' || stoppedBy === 'shutdown') return { awaitingReboot: true };
        if (stoppedBy === 'cancel') return { ...outcome, status: 'cancelled' };
        return {
          ...outcome,
          status: 'failed',
          error: `the restart request failed${outcome.error ? `: ${outcome.error}` : ` with exit code ${outcome.exitCode}`}`,
        };
      });
      return {
        done,
        stop(reason) {
          stoppedBy ??= reason;
          execution.stop(reason);
        },
      };
    },
  };
}
