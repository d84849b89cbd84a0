/**
 * `shell`: a command line run by the platform's shell (executor.ts), with the payload's `env` and
 * `secrets` in its environment and the secrets redacted from its output (environment.ts).
 */
import { commandKindVersions } from '@opsconductor/contracts/commands';
import { executeShellCommand, failedToStart } from '../executor.ts';
import { commandEnvironment, type CommandEnvironment } from './environment.ts';
import type { CommandHandler } from './types.ts';

export const shellHandler: CommandHandler<'shell'> = {
  kind: 'shell',
  version: commandKindVersions.shell,
  start(payload, ctx) {
    let environment: CommandEnvironment;
    try {
      environment = commandEnvironment(payload, ctx);
    } catch (err) {
      return failedToStart((err as Error).message);
    }
    const execution = executeShellCommand({
      commandId: ctx.commandId,
      payload,
      env: environment.env,
      killGraceMs: ctx.killGraceMs,
      onOutput: environment.output,
      onSpawn: (pid) => ctx.spawned(pid),
    });
    // Settled once the pipes are closed (or given up on): nothing more to hold back for.
    const done = execution.done.finally(environment.end);
    return { done, stop: (reason) => execution.stop(reason) };
  },
};
