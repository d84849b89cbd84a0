/**
 * Command payloads (packages/contracts/src/commands.ts) on an agentless target: what the API's relay runs for a
 * `shell`, `script` or `file.fetch` command over SSH or WinRM, with the agent's meaning of each.
 *
 * - SSH: `sh` (and `default`) commands run in /bin/sh as they are; `bash`, `powershell` (pwsh) and scripts of every
 *   POSIX interpreter are written to a private temporary directory on the target (mktemp -d, mode 0700) and run
 *   from there by their interpreter, as the agent does; the directory is removed when the command ends. `cmd`
 *   needs Windows: refused.
 * - WinRM: `powershell` (and `default`) and `cmd` commands run as such; PowerShell scripts run as the program
 *   itself, cmd/python/bash scripts from a temporary file a PowerShell prologue writes. `sh` needs SSH: refused.
 * - `file.fetch` copies the server's file over SFTP or WinRM (see ssh.ts and winrm/shell.ts). A Windows file has
 *   no POSIX owner: `owner` is refused there, `mode` ignored (as the agent ignores it on Windows).
 *
 * Parameters arrive in `env` and `secrets`, which the transports hand over as data; bodies travel inside quoted
 * here-documents (SSH) or PowerShell literals (WinRM), never parsed as code by anything but their interpreter.
 */
import { randomBytes } from 'node:crypto';
import type { CommandPayload, ScriptInterpreter } from '@opsconductor/contracts/commands';
import { runSshCommand, sshCopyFile, type SshTarget } from './ssh.ts';
import { RemoteInputError, type RemoteExecution, type RemoteOutput } from './types.ts';
import { powerShellQuote } from './variables.ts';
import { runWinRmCommand, winRmCopyFile } from './winrm/shell.ts';
import type { WinRmTarget } from './winrm/transport.ts';

export type AgentlessConnection = { protocol: 'ssh'; target: SshTarget } | { protocol: 'winrm'; target: WinRmTarget };

export interface PayloadIo {
  onOutput: RemoteOutput;
  /** The server's file of a `file.fetch` (its bytes, exactly `size` of them). */
  openFile: (sha256: string, size: number) => NodeJS.ReadableStream;
  /** SSH: the host key the server showed (to pin one seen on first use). */
  onHostKey?: (fingerprint: string) => void;
}

/** What each interpreter is called with a script file `"$f"` on a POSIX target, and the file's name. */
const POSIX_INTERPRETERS: Partial<Record<ScriptInterpreter, { run: string; file: string }>> = {
  sh: { run: '/bin/sh "$f"', file: 'script.sh' },
  bash: { run: 'bash "$f"', file: 'script.sh' },
  python: { run: 'python3 "$f"', file: 'script.py' },
  powershell: { run: 'pwsh -NoProfile -NonInteractive -File "$f"', file: 'script.ps1' },
};

/**
 * A /bin/sh program that writes `body` to a fresh private directory and runs it with `interpreter`. The body is a
 * here-document with a quoted delimiter (nothing in it is expanded) that does not occur in it as a line.
 */
export function posixScriptProgram(interpreter: ScriptInterpreter, body: string): string {
  const how = POSIX_INTERPRETERS[interpreter];
  if (!how) throw new RemoteInputError(`interpreter "${interpreter}" is only available on Windows: use a WinRM target`);
  let end = `OC_BODY_${randomBytes(12).toString('hex')}`;
  while (body.split('\n').includes(end)) end = `OC_BODY_${randomBytes(12).toString('hex')}`;
  const text = body.endsWith('\n') ? body : `${body}\n`;
  return [
    'd=$(umask 077 && mktemp -d "${TMPDIR:-/tmp}/opsconductor.XXXXXXXX") || exit 125',
    `f="$d/${how.file}"`,
    `trap 'rm -rf "$d"' EXIT`,
    `cat > "$f" <<'${end}'`,
    `${text}${end}`,
    how.run,
    '',
  ].join('\n');
}

/** How a Windows target runs a script file `$f` (PowerShell runs its script body itself). */
const WINDOWS_INTERPRETERS: Partial<Record<ScriptInterpreter, { run: string; file: string }>> = {
  cmd: { run: '& cmd.exe /d /v:on /s /c "`"$f`""', file: 'script.cmd' },
  python: { run: '& python.exe $f', file: 'script.py' },
  bash: { run: '& bash.exe $f', file: 'script.sh' },
};

/** A PowerShell program that writes `body` (UTF-8, no BOM) to a fresh temporary directory and runs it. */
export function windowsScriptProgram(interpreter: ScriptInterpreter, body: string): string {
  if (interpreter === 'powershell') return body;
  const how = WINDOWS_INTERPRETERS[interpreter];
  if (!how) throw new RemoteInputError(`interpreter "${interpreter}" is not available on Windows: use an SSH target`);
  return [
    "$ErrorActionPreference = 'Stop'",
    "$d = Join-Path ([IO.Path]::GetTempPath()) ('opsconductor-' + [Guid]::NewGuid().ToString('N'))",
    '[void][IO.Directory]::CreateDirectory($d)',
    'try {',
    `  $f = Join-Path $d '${how.file}'`,
    `  [IO.File]::WriteAllText($f, ${powerShellQuote(body)}, (New-Object Text.UTF8Encoding $false))`,
    "  $ErrorActionPreference = 'Continue'",
    `  ${how.run}`,
    '  $r = $LASTEXITCODE',
    '} finally { Remove-Item -LiteralPath $d -Recurse -Force -ErrorAction SilentlyContinue }',
    'exit $r',
  ].join('\r\n');
}

/**
 * Starts the payload on the target. Throws RemoteInputError (before connecting) for what the target cannot run:
 * a cmd command over SSH, an sh command over WinRM, a reboot, an inventory.
 */
export function runPayload(connection: AgentlessConnection, payload: CommandPayload, io: PayloadIo): RemoteExecution {
  const timeoutMs = payload.timeoutSeconds * 1000;
  if (payload.kind === 'file.fetch') {
    if (connection.protocol === 'winrm' && payload.owner)
      throw new RemoteInputError('a Windows file has no POSIX owner: leave owner out for a WinRM target');
    const file = { source: io.openFile(payload.sha256, payload.size), size: payload.size, path: payload.path, timeoutMs };
    if (connection.protocol === 'winrm') return winRmCopyFile(connection.target, file);
    const target = io.onHostKey ? { ...connection.target, onHostKey: io.onHostKey } : connection.target;
    const posix = { ...(payload.mode ? { mode: payload.mode } : {}), ...(payload.owner ? { owner: payload.owner } : {}) };
    return sshCopyFile(target, { ...file, ...posix });
  }
  if (payload.kind !== 'shell' && payload.kind !== 'script') {
    throw new RemoteInputError(`"${payload.kind}" commands need an agent on the device`);
  }
  const variables = { env: payload.env ?? {}, secrets: payload.secrets ?? {} };
  if (connection.protocol === 'ssh') {
    let command: string;
    if (payload.kind === 'script') command = posixScriptProgram(payload.interpreter, payload.script);
    else if (payload.shell === 'cmd') throw new RemoteInputError('cmd commands need Windows: use a WinRM target');
    else if (payload.shell === 'default' || payload.shell === 'sh') command = payload.command;
    else command = posixScriptProgram(payload.shell, payload.command);
    const target = io.onHostKey ? { ...connection.target, onHostKey: io.onHostKey } : connection.target;
    return runSshCommand(target, { command, ...variables, timeoutMs, onOutput: io.onOutput }).execution;
  }
  if (payload.kind === 'script') {
    return runWinRmCommand(connection.target, {
      shell: 'powershell',
      command: windowsScriptProgram(payload.interpreter, payload.script),
      ...variables,
      timeoutMs,
      onOutput: io.onOutput,
    });
  }
  if (payload.shell === 'sh' || payload.shell === 'bash') {
    throw new RemoteInputError(`${payload.shell} commands need a POSIX shell: use an SSH target`);
  }
  const shell = payload.shell === 'cmd' ? 'cmd' : 'powershell';
  return runWinRmCommand(connection.target, { shell, command: payload.command, ...variables, timeoutMs, onOutput: io.onOutput });
}
