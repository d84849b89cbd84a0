/**
 * `script`: the stored script is written to a file of its own in the state directory (`scripts/`, only
 * the agent's user can read it) and run by its interpreter with that file as its argument; the file is
 * removed when the command ends. The script never passes through a shell command line. It runs with the
 * payload's `env` and `secrets` in its environment, the secrets redacted from its output (environment.ts).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { commandKindVersions, type ScriptInterpreter } from '@opsconductor/contracts/commands';
import { executeProcess, failedToStart, type ShellInvocation } from '../executor.ts';
import { commandEnvironment, type CommandEnvironment } from './environment.ts';
import type { CommandHandler } from './types.ts';

export const SCRIPT_EXTENSIONS: Record<ScriptInterpreter, string> = {
  sh: '.sh',
  bash: '.sh',
  powershell: '.ps1',
  cmd: '.cmd',
  python: '.py',
};

export function scriptInvocation(
  interpreter: ScriptInterpreter,
  file: string,
  platform: NodeJS.Platform = process.platform,
): ShellInvocation {
  if (platform === 'win32') {
    switch (interpreter) {
      case 'powershell':
        return { file: 'powershell.exe', args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', file] };
      case 'cmd':
        // With /s cmd.exe strips the outer pair of quotes and runs the rest verbatim: the inner pair quotes the path.
        // /v:on: job steps read parameters as !OC_PARAM_X! (delayed expansion, after cmd has parsed the line).
        return { file: 'cmd.exe', args: ['/d', '/v:on', '/s', '/c', `""${file}""`], windowsVerbatimArguments: true };
      case 'python':
        return { file: 'python.exe', args: [file] };
      case 'bash':
        return { file: 'bash.exe', args: [file] };
      case 'sh':
        throw new Error('interpreter "sh" is not available on Windows');
    }
  }
  switch (interpreter) {
    case 'sh':
      return { file: '/bin/sh', args: [file] };
    case 'bash':
      return { file: 'bash', args: [file] };
    case 'python':
      return { file: 'python3', args: [file] };
    case 'powershell':
      return { file: 'pwsh', args: ['-NoProfile', '-NonInteractive', '-File', file] };
    case 'cmd':
      throw new Error('interpreter "cmd" is only available on Windows');
  }
}

export const scriptHandler: CommandHandler<'script'> = {
  kind: 'script',
  version: commandKindVersions.script,
  start(payload, ctx) {
    const dir = path.join(ctx.stateDir, 'scripts');
    const file = path.join(dir, `${ctx.commandId}${SCRIPT_EXTENSIONS[payload.interpreter]}`);
    let invocation: ShellInvocation;
    let environment: CommandEnvironment;
    try {
      environment = commandEnvironment(payload, ctx);
      invocation = scriptInvocation(payload.interpreter, file);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(file, payload.script, { mode: 0o700, flag: 'w' });
    } catch (err) {
      return failedToStart((err as Error).message);
    }
    const execution = executeProcess({
      commandId: ctx.commandId,
      invocation,
      timeoutSeconds: payload.timeoutSeconds,
      env: environment.env,
      killGraceMs: ctx.killGraceMs,
      cwd: dir,
      onOutput: environment.output,
      onSpawn: (pid) => ctx.spawned(pid),
    });
    const done = execution.done.finally(() => {
      environment.end();
      rmSync(file, { force: true });
    });
    return { done, stop: (reason) => execution.stop(reason) };
  },
};
