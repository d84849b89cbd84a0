/**
 * The kinds of command the server sends agents, defined once. Each kind is a payload schema with a
 * version; an agent announces what it can run as capabilities (`<kind>@<version>`) at check-in and
 * the server dispatches only those (anything else ends `unsupported`). A new kind is a new schema
 * here, a handler in the agent (agent/src/handlers) and its entry in `commandKindVersions`.
 *
 * Every payload carries `timeoutSeconds`: how long the agent may take with it before it gives up
 * (for `reboot`: how long the device may take to come back), which also bounds how long the
 * server waits for its result.
 */
import { z } from 'zod';
import { scriptInterpreters, shells } from './constants.ts';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './text.ts';
import { softwareInstallCommandPayload, softwareUninstallCommandPayload } from './software.ts';

export const MAX_COMMAND_TIMEOUT_SECONDS = 7 * 24 * 3600;
const timeoutSeconds = z.number().int().min(1).max(MAX_COMMAND_TIMEOUT_SECONDS);

/** Longest shell command line (UTF-16 code units). */
export const MAX_SHELL_COMMAND_LENGTH = 64 * 1024;
/** Longest stored script (UTF-16 code units): stored once on the server, dispatched by reference. */
export const MAX_SCRIPT_LENGTH = 256 * 1024;
/** Largest file a `file.fetch` may name (the server's store may refuse less, see FILE_UPLOAD_MAX_BYTES). */
export const MAX_FETCH_FILE_BYTES = 16 * 1024 ** 3;

export { scriptInterpreters, shells, type ScriptInterpreter } from './constants.ts';

export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in lowercase hex');

/** An absolute path on the device: POSIX (`/etc/app.conf`) or Windows (`C:\ProgramData\app.conf`). */
export const devicePath = z
  .string()
  .min(2)
  .max(4096)
  .refine((p) => !p.includes('\u0000'), 'must not contain NUL characters')
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute path');
/** Unix permission bits in octal, e.g. `0644` or `755`. */
export const fileMode = z.string().regex(/^0?[0-7]{3}$/, 'must be octal permission bits such as 0644');
/** `user` or `user:group`, each a name or a numeric ID. */
export const fileOwner = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$/, 'must be user or user:group');

/** What an environment variable of a command may be named: also a valid name in sh, PowerShell and cmd. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Most variables a command may set, `env` and `secrets` together. */
export const MAX_COMMAND_ENV_ENTRIES = 64;
/** Longest value of one variable (UTF-16 code units). */
export const MAX_COMMAND_ENV_VALUE_LENGTH = 64 * 1024;
/** Most UTF-16 code units of all names and values of `env` and `secrets` together. */
export const MAX_COMMAND_ENV_TOTAL_LENGTH = 256 * 1024;

const envName = z
  .string()
  .regex(ENV_NAME_PATTERN, 'must be a letter or _ followed by up to 127 letters, digits or _ (an environment variable name)');
// Messages name the rule, never the value: a value may be a secret.
const envValue = z.string().max(MAX_COMMAND_ENV_VALUE_LENGTH).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);
const envRecord = z
  .record(envName, envValue)
  .refine((vars) => Object.keys(vars).length <= MAX_COMMAND_ENV_ENTRIES, `at most ${MAX_COMMAND_ENV_ENTRIES} variables`);
const parameterName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a parameter name');

/**
 * The environment a `shell` or `script` command runs with, on top of the agent's own: job steps read their
 * parameters from it (`OC_PARAM_<NAME>`, ADR 19), so values reach the command as data, never as code.
 */
const commandEnvironment = {
  /** Plain values. */
  env: envRecord.optional(),
  /**
   * Secret values: set like `env`, and every occurrence of each (non-empty) value in the command's stdout
   * and stderr is replaced by `[redacted]` on the device, before the output leaves it. Never stored by the
   * server: it holds `secretRefs` instead and puts the values in when it delivers the command.
   */
  secrets: envRecord.optional(),
  /**
   * SERVER-SIDE ONLY: variable name → the job parameter whose secret value it gets. Stored in the payload in
   * place of `secrets` and replaced by `secrets` when the server delivers the command. An agent runs nothing
   * for a command that names a variable here without its value in `secrets`.
   */
  secretRefs: z
    .record(envName, parameterName)
    .refine((refs) => Object.keys(refs).length <= MAX_COMMAND_ENV_ENTRIES, `at most ${MAX_COMMAND_ENV_ENTRIES} variables`)
    .optional(),
};

/**
 * One name for one variable: a name may not be both plain and secret (compared ignoring case, as Windows
 * does, so neither can replace the other there), and the sizes of `env` and `secrets` add up.
 */
function checkCommandEnvironment(
  payload: { env?: Record<string, string>; secrets?: Record<string, string>; secretRefs?: Record<string, string> },
  ctx: z.RefinementCtx,
): void {
  const plain = new Set(Object.keys(payload.env ?? {}).map((name) => name.toUpperCase()));
  for (const field of ['secrets', 'secretRefs'] as const) {
    for (const name of Object.keys(payload[field] ?? {})) {
      if (plain.has(name.toUpperCase()))
        ctx.addIssue({ code: 'custom', path: [field, name], message: 'is also in env: a variable is either plain or secret' });
    }
  }
  const vars = [...Object.entries(payload.env ?? {}), ...Object.entries(payload.secrets ?? {})];
  if (vars.length > MAX_COMMAND_ENV_ENTRIES)
    ctx.addIssue({ code: 'custom', path: ['env'], message: `at most ${MAX_COMMAND_ENV_ENTRIES} variables in env and secrets together` });
  const total = vars.reduce((sum, [name, value]) => sum + name.length + value.length, 0);
  if (total > MAX_COMMAND_ENV_TOTAL_LENGTH)
    ctx.addIssue({
      code: 'custom',
      path: ['env'],
      message: `the names and values of env and secrets together must not exceed ${MAX_COMMAND_ENV_TOTAL_LENGTH} characters`,
    });
}

export const shellCommandPayload = z
  .object({
    kind: z.literal('shell'),
    /** The command line, run by the platform shell: /bin/sh -c on POSIX, powershell on Windows by default. */
    command: z.string().min(1).max(MAX_SHELL_COMMAND_LENGTH),
    shell: z.enum(shells).default('default'),
    ...commandEnvironment,
    timeoutSeconds,
  })
  .superRefine(checkCommandEnvironment);
export type ShellCommandPayload = z.infer<typeof shellCommandPayload>;

/** A stored script, written to a private temporary file on the device and run with its interpreter. */
export const scriptCommandPayload = z
  .object({
    kind: z.literal('script'),
    interpreter: z.enum(scriptInterpreters),
    script: z.string().min(1).max(MAX_SCRIPT_LENGTH),
    ...commandEnvironment,
    timeoutSeconds,
  })
  .superRefine(checkCommandEnvironment);
export type ScriptCommandPayload = z.infer<typeof scriptCommandPayload>;

/**
 * Downloads a file the server holds (by content hash) to `path`: the agent checks size and SHA-256,
 * then sets `mode`/`owner` and moves it into place atomically. The directory must exist.
 */
export const fileFetchCommandPayload = z.object({
  kind: z.literal('file.fetch'),
  sha256: sha256Hex,
  size: z.number().int().min(0).max(MAX_FETCH_FILE_BYTES),
  path: devicePath,
  mode: fileMode.optional(),
  owner: fileOwner.optional(),
  timeoutSeconds,
});
export type FileFetchCommandPayload = z.infer<typeof fileFetchCommandPayload>;

/** Restarts the device; succeeds once the agent runs again under a new boot ID. */
export const rebootCommandPayload = z.object({ kind: z.literal('reboot'), timeoutSeconds });
export type RebootCommandPayload = z.infer<typeof rebootCommandPayload>;

/** Sends a full inventory report now; succeeds once the server accepted it. */
export const inventoryRefreshCommandPayload = z.object({ kind: z.literal('inventory.refresh'), timeoutSeconds });
export type InventoryRefreshCommandPayload = z.infer<typeof inventoryRefreshCommandPayload>;

export const commandPayload = z.discriminatedUnion('kind', [
  shellCommandPayload,
  scriptCommandPayload,
  fileFetchCommandPayload,
  rebootCommandPayload,
  inventoryRefreshCommandPayload,
  softwareInstallCommandPayload,
  softwareUninstallCommandPayload,
]);
export type CommandPayload = z.infer<typeof commandPayload>;
export type CommandKind = CommandPayload['kind'];
export type CommandPayloadOf<K extends CommandKind> = Extract<CommandPayload, { kind: K }>;

/**
 * The payload version of every kind; bumped when a kind's payload changes incompatibly (an agent of the old
 * version would misread it). shell and script 2: `env`, `secrets` (an older agent would run without them).
 */
export const commandKindVersions = {
  shell: 2,
  script: 2,
  'file.fetch': 1,
  reboot: 1,
  'inventory.refresh': 1,
  'software.install': 1,
  'software.uninstall': 1,
} as const satisfies Record<CommandKind, number>;
export const commandKinds = Object.keys(commandKindVersions) as CommandKind[];

export function isCommandKind(kind: unknown): kind is CommandKind {
  return typeof kind === 'string' && Object.hasOwn(commandKindVersions, kind);
}

/** What an agent announces for one handler. */
export function capability(kind: CommandKind, version: number = commandKindVersions[kind]): string {
  return `${kind}@${version}`;
}

/**
 * The kinds the server may send an agent with these capabilities: those it announces at the version
 * the server speaks. An agent that announces nothing (protocol 1, before capabilities) is sent nothing:
 * it only knows shell commands of version 1, which no longer exist, and must be upgraded.
 */
export function dispatchableKinds(capabilities: readonly string[] | null | undefined): CommandKind[] {
  if (!capabilities) return [];
  const announced = new Set(capabilities);
  return commandKinds.filter((kind) => announced.has(capability(kind)));
}
