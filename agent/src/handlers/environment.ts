/**
 * The environment of a `shell` or `script` command: the agent's, then the payload's `env`, then its
 * `secrets` (the schema keeps their names apart), with the secrets redacted from the command's output.
 * Values never go into a log or an error message: only variable names do.
 */
import type { ScriptCommandPayload, ShellCommandPayload } from '@opsconductor/contracts/commands';
import { redactOutput, type StreamName } from '@opsconductor/command-output';
import type { HandlerContext } from './types.ts';

export interface CommandEnvironment {
  env: NodeJS.ProcessEnv;
  /** Where the process's bytes go: through the redactor when there are secrets. */
  output: (stream: StreamName, data: Buffer) => void;
  /** Passes on what the redactor holds back; call once the process's pipes are closed. */
  end: () => void;
}

/**
 * Throws when the payload names secret variables (`secretRefs`, which the server replaces by `secrets`
 * when it delivers a command) without their values: the command must not run without its secrets.
 */
export function commandEnvironment(payload: ShellCommandPayload | ScriptCommandPayload, ctx: HandlerContext): CommandEnvironment {
  const secrets = payload.secrets ?? {};
  const missing = Object.keys(payload.secretRefs ?? {}).filter((name) => !Object.hasOwn(secrets, name));
  if (missing.length > 0) {
    const names = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, … (${missing.length} in all)` : '');
    throw new Error(`the server did not send the values of the command's secret variables (${names}); it was not run`);
  }
  const env = { ...ctx.env, ...payload.env, ...secrets };
  const values = Object.values(secrets).filter((value) => value.length > 0);
  if (values.length === 0) return { env, output: (stream, data) => ctx.output(stream, data), end: () => {} };
  const redacted = redactOutput(values, (stream, data) => ctx.output(stream, data));
  return { env, ...redacted };
}
