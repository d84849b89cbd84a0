/** `shell`: a command line run by the platform's shell (executor.ts). */
import { commandKindVersions } from '@opsconductor/contracts/commands';
import { executeShellCommand } from '../executor.ts';
import type { CommandHandler } from './types.ts';

export const shellHandler: CommandHandler<'shell'> = {
  kind: 'shell',
  version: commandKindVersions.shell,
  start(payload, ctx) {
    return executeShellCommand({
      commandId: ctx.commandId,
      payload,
      env: ctx.env,
      killGraceMs: ctx.killGraceMs,
      onOutput: (stream, data) => ctx.output(stream, data),
      onSpawn: (pid) => ctx.spawned(pid),
    });
  },
};
