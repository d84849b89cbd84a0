/**
 * Environment variables and secrets for remote commands: names are checked, values are data. Each transport
 * hands values to the remote process without any shell parsing them as code (see ssh.ts and winrm/).
 */
import { RemoteInputError } from './types.ts';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const MAX_VARIABLE_NAME = 255;

export interface Variables {
  env?: Record<string, string>;
  secrets?: Record<string, string>;
}

/**
 * env and secrets as one list of [name, value] (a secret wins over an env value of the same name, which is refused:
 * a name means one thing). Values may hold any character but NUL, which no environment can carry.
 */
export function mergeVariables({ env = {}, secrets = {} }: Variables): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const [kind, record] of [
    ['env', env],
    ['secrets', secrets],
  ] as const) {
    for (const [name, value] of Object.entries(record)) {
      if (!NAME.test(name) || name.length > MAX_VARIABLE_NAME) {
        throw new RemoteInputError(
          `${kind}: "${name.slice(0, 64)}" is not a variable name (letters, digits and _, not starting with a digit)`,
        );
      }
      if (typeof value !== 'string') throw new RemoteInputError(`${kind}.${name} must be a string`);
      if (value.includes('\0')) throw new RemoteInputError(`${kind}.${name} holds a NUL character, which no environment can carry`);
      const key = name.toUpperCase();
      if (seen.has(key)) throw new RemoteInputError(`${kind}.${name} is given twice (names are compared ignoring case, as on Windows)`);
      seen.add(key);
      out.push([name, value]);
    }
  }
  return out;
}

/** A POSIX shell word that stands for `value` literally: single quotes, each ' written as '\''. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** `export NAME='value'` lines, one per variable, for a POSIX shell. */
export function posixExports(variables: Array<[string, string]>): string {
  return variables.map(([name, value]) => `export ${name}=${shellQuote(value)}\n`).join('');
}

/** A PowerShell single-quoted string literal: nothing is expanded inside, a ' is written ''. */
export function powerShellQuote(value: string): string {
  // PowerShell also takes the typographic quotes U+2018–U+201B as single quotes: double them too.
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}
