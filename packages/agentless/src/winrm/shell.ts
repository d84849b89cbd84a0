/**
 * PowerShell and cmd steps, and file copies, over WinRM's remote shell (WS-Management, MS-WSMV):
 * Create shell → Command → (Send stdin) → Receive until Done → Signal terminate → Delete shell. On a timeout
 * or a cancel the pending Receive is abandoned and the client sends Signal terminate, then Delete (which
 * ends every process of the shell).
 *
 * Variables and secrets go into the shell's environment (rsp:Environment in the Create message): they are XML
 * text, never part of a script or a command line, so no shell parses them, and they show neither in a
 * process-creation audit log (command lines) nor in PowerShell's script block log.
 *
 * WinRS runs every command line through `cmd.exe /c` (Windows Server 2012 R2 and later ignore
 * WINRS_SKIP_CMD_SHELL), which would parse a command a second time. So every step runs as
 * `powershell.exe … -EncodedCommand <base64>`, which cmd passes through untouched:
 *  - powershell: the step's script (after `$ProgressPreference = 'SilentlyContinue'`, which keeps progress
 *    records off stderr);
 *  - cmd: a PowerShell launcher that starts `cmd.exe /d /v:on /s /c "<command>"` with the command as a
 *    single-quoted literal, as the agent does on Windows: parsed once, by that cmd; values are read as
 *    !NAME! (delayed expansion) so they are never code. A cmd command is one line.
 * A program whose encoded command line would pass cmd's 8191 characters goes over stdin instead (base64
 * text), read by a short encoded bootstrap that runs it as a script block.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rechunk } from '../chunks.ts';
import { scrubber, startExecution, type Outcome } from '../execution.ts';
import { redactOutput } from '@opsconductor/command-output';
import { RemoteInputError, type RemoteExecution, type RemoteOutput } from '../types.ts';
import { mergeVariables, powerShellQuote } from '../variables.ts';
import {
  ACTION,
  commandBody,
  commandOptions,
  CREATE_OPTIONS,
  createShellBody,
  envelope,
  readCommandId,
  readReceive,
  readShellId,
  receiveBody,
  sendBody,
  SIGNAL,
  signalBody,
  WsmanFault,
} from './soap.ts';
import { checkWinRmTarget, WsmanTransport, type WinRmTarget } from './transport.ts';
import { isXmlSafe } from './xml.ts';

export interface WinRmCommand {
  shell: 'powershell' | 'cmd';
  command: string;
  env?: Record<string, string>;
  /** Set like env, and redacted from the output. */
  secrets?: Record<string, string>;
  timeoutMs: number;
  onOutput: RemoteOutput;
}

export interface WinRmFile {
  source: Buffer | NodeJS.ReadableStream;
  /** The exact number of bytes `source` holds. */
  size: number;
  /** Absolute Windows path: `C:\dir\file` or `\\server\share\file`. */
  path: string;
  timeoutMs: number;
}

/** How long a Receive may wait on the server for output (then it answers TimedOut and we ask again). */
const OPERATION_TIMEOUT_S = 20;
/** Signal and Delete after the end, a timeout or a cancel: each gets this long. */
const CLEANUP_MS = 10_000;
/** cmd.exe's longest line is 8191 characters; this leaves room for what WinRS adds. */
export const MAX_COMMAND_LINE = 8000;
/** Raw bytes per Send: base64 twice over (our line, then the Stream element) stays well under the envelope size. */
const STDIN_CHUNK = 48 * 1024;
const POWERSHELL = 'powershell.exe';
const POWERSHELL_ARGS = ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass'];
const PRELUDE = "$ProgressPreference = 'SilentlyContinue'\r\n";
const BOOTSTRAP = "$s = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String((@($input) -join ''))); & ([ScriptBlock]::Create($s))";

export const encodePowerShell = (script: string) => Buffer.from(script, 'utf16le').toString('base64');

/** The PowerShell program a step runs. */
export function stepProgram(shell: 'powershell' | 'cmd', command: string): string {
  if (shell === 'powershell') return PRELUDE + command;
  return (
    PRELUDE +
    [
      '$psi = New-Object System.Diagnostics.ProcessStartInfo',
      "$psi.FileName = [IO.Path]::Combine([Environment]::SystemDirectory, 'cmd.exe')",
      `$psi.Arguments = ${powerShellQuote(`/d /v:on /s /c "${command}"`)}`,
      '$psi.UseShellExecute = $false',
      '$p = [Diagnostics.Process]::Start($psi)',
      '$p.WaitForExit()',
      'exit $p.ExitCode',
    ].join('\r\n')
  );
}

/** The command line for a program, and the stdin that carries it when the line would be too long. */
export function commandLine(program: string): { command: string; args: string[]; stdin?: Buffer } {
  const args = [...POWERSHELL_ARGS, '-EncodedCommand', encodePowerShell(program)];
  if (`${POWERSHELL} ${args.join(' ')}`.length <= MAX_COMMAND_LINE) return { command: POWERSHELL, args };
  const encoded = Buffer.from(program, 'utf8').toString('base64');
  const lines = encoded.match(/.{1,1024}/g) ?? [];
  return {
    command: POWERSHELL,
    args: [...POWERSHELL_ARGS, '-EncodedCommand', encodePowerShell(BOOTSTRAP)],
    stdin: Buffer.from(lines.join('\r\n') + '\r\n', 'ascii'),
  };
}

function checkXml(what: string, value: string): void {
  if (!isXmlSafe(value)) throw new RemoteInputError(`winrm: ${what} holds a control character WinRM cannot carry`);
}

/** One shell's worth of WS-Management calls on a transport. */
class RemoteShell {
  shellId: string | undefined;
  constructor(
    private readonly transport: WsmanTransport,
    private readonly waitMs: number,
  ) {}

  private post(action: string, body: string, signal: AbortSignal, extra: { options?: Array<[string, string]> } = {}) {
    const xml = envelope(
      {
        to: this.transport.url.href,
        action,
        operationTimeoutS: OPERATION_TIMEOUT_S,
        ...(this.shellId ? { shellId: this.shellId } : {}),
        ...extra,
      },
      body,
    );
    return this.transport.post(xml, signal, this.waitMs);
  }

  async create(env: Array<[string, string]>, signal: AbortSignal): Promise<void> {
    this.shellId = readShellId(await this.post(ACTION.create, createShellBody(env), signal, { options: CREATE_OPTIONS }));
  }

  async command(line: { command: string; args: string[] }, consoleModeStdin: boolean, signal: AbortSignal): Promise<string> {
    return readCommandId(
      await this.post(ACTION.command, commandBody(line.command, line.args), signal, { options: commandOptions(consoleModeStdin) }),
    );
  }

  async send(commandId: string, data: Buffer, end: boolean, signal: AbortSignal): Promise<void> {
    await this.post(ACTION.send, sendBody(commandId, data, end), signal);
  }

  /** Receives until the command is done; returns its exit code. */
  async receiveAll(commandId: string, onStream: (name: string, data: Buffer) => void, signal: AbortSignal): Promise<number | null> {
    for (;;) {
      let body;
      try {
        body = await this.post(ACTION.receive, receiveBody(commandId), signal);
      } catch (err) {
        if (err instanceof WsmanFault && err.timedOut && !signal.aborted) continue; // no output within OperationTimeout
        throw err;
      }
      const received = readReceive(body, commandId);
      for (const s of received.streams) if (s.data.length > 0) onStream(s.name, s.data);
      if (received.done) return received.exitCode ?? null;
    }
  }

  /** Signal terminate (when a command runs), then Delete: best effort, each on its own deadline. */
  async close(commandId: string | undefined): Promise<void> {
    if (!this.shellId) return;
    if (commandId) await this.post(ACTION.signal, signalBody(commandId, SIGNAL.terminate), AbortSignal.timeout(CLEANUP_MS)).catch(() => {});
    await this.post(ACTION.delete, '', AbortSignal.timeout(CLEANUP_MS)).catch(() => {});
  }
}

async function inShell(
  target: WinRmTarget,
  env: Array<[string, string]>,
  signal: AbortSignal,
  work: (shell: RemoteShell, setCommand: (id: string) => void) => Promise<Outcome>,
): Promise<Outcome> {
  const transport = new WsmanTransport(target);
  const shell = new RemoteShell(transport, OPERATION_TIMEOUT_S * 1000 + (target.connectTimeoutMs ?? 20_000));
  let commandId: string | undefined;
  try {
    await shell.create(env, signal);
    return await work(shell, (id) => (commandId = id));
  } finally {
    await shell.close(commandId);
    transport.close();
  }
}

/** Runs a PowerShell or cmd step on the target. */
export function runWinRmCommand(target: WinRmTarget, cmd: WinRmCommand): RemoteExecution {
  checkWinRmTarget(target);
  if (cmd.shell !== 'powershell' && cmd.shell !== 'cmd') throw new RemoteInputError('winrm: shell must be powershell or cmd');
  const variables = mergeVariables(cmd);
  for (const [name, value] of variables) checkXml(`the value of ${name}`, value);
  checkXml('the command', cmd.command);
  if (cmd.shell === 'cmd' && /[\r\n]/.test(cmd.command))
    throw new RemoteInputError('winrm: a cmd command is one line (cmd /c runs the first line only)');
  const line = commandLine(stepProgram(cmd.shell, cmd.command));
  const secrets = Object.values(cmd.secrets ?? {});
  return startExecution(
    cmd.timeoutMs,
    (signal) =>
      inShell(target, variables, signal, async (shell, setCommand) => {
        const commandId = await shell.command(line, !line.stdin, signal);
        setCommand(commandId);
        if (line.stdin) await sendAll(shell, commandId, line.stdin, signal);
        const output = redactOutput(secrets, cmd.onOutput);
        try {
          const exitCode = await shell.receiveAll(
            commandId,
            (name, data) => {
              if (name === 'stdout' || name === 'stderr') output.output(name, data);
            },
            signal,
          );
          return { exitCode };
        } finally {
          output.end();
        }
      }),
    scrubber(secrets),
  );
}

async function sendAll(shell: RemoteShell, commandId: string, data: Buffer, signal: AbortSignal): Promise<void> {
  for (let i = 0; i < data.length; i += STDIN_CHUNK) {
    await shell.send(commandId, data.subarray(i, i + STDIN_CHUNK), i + STDIN_CHUNK >= data.length, signal);
  }
}

const WINDOWS_PATH = /^(?:[A-Za-z]:\\|\\\\[^\\/]+\\[^\\/]+\\)[^\0]*[^\\]$/;

/**
 * The PowerShell program of a copy: reads base64 lines from stdin, appends them to a temporary file in the
 * destination's directory, then checks the size and the SHA-256 the last line names, and moves the file
 * into place (File.Replace over an existing file). On any failure the temporary file is removed and the
 * exit code is not 0.
 */
export function copyProgram(path: string, size: number, id: string): string {
  return [
    'begin {',
    "  $ErrorActionPreference = 'Stop'",
    "  $ProgressPreference = 'SilentlyContinue'",
    `  $path = ${powerShellQuote(path)}`,
    `  $size = [long]${size}`,
    `  $tmp = [IO.Path]::Combine([IO.Path]::GetDirectoryName($path), '.' + [IO.Path]::GetFileName($path) + '.oc-${id}.tmp')`,
    '  $expected = $null',
    '  $written = [long]0',
    '  trap { [Console]::Error.WriteLine("copy failed: $_"); exit 3 }',
    '  $fs = New-Object IO.FileStream($tmp, [IO.FileMode]::CreateNew, [IO.FileAccess]::Write)',
    '  $sha = [Security.Cryptography.SHA256]::Create()',
    '}',
    'process {',
    '  trap { $fs.Dispose(); Remove-Item -LiteralPath $tmp -Force -ErrorAction SilentlyContinue; [Console]::Error.WriteLine("copy failed: $_"); exit 3 }',
    '  $line = [string]$_',
    "  if ($line.StartsWith('sha256:')) { $expected = $line.Substring(7).Trim(); return }",
    '  if ($line.Trim().Length -eq 0) { return }',
    '  $bytes = [Convert]::FromBase64String($line)',
    '  $fs.Write($bytes, 0, $bytes.Length)',
    '  [void]$sha.TransformBlock($bytes, 0, $bytes.Length, $null, 0)',
    '  $written += $bytes.Length',
    '}',
    'end {',
    '  trap { $fs.Dispose(); Remove-Item -LiteralPath $tmp -Force -ErrorAction SilentlyContinue; [Console]::Error.WriteLine("copy failed: $_"); exit 3 }',
    '  [void]$sha.TransformFinalBlock([byte[]]@(), 0, 0)',
    '  $fs.Close()',
    "  $actual = -join ($sha.Hash | ForEach-Object { $_.ToString('x2') })",
    '  if ($written -ne $size -or $actual -ne $expected) {',
    '    Remove-Item -LiteralPath $tmp -Force',
    '    [Console]::Error.WriteLine("copy check failed: $written of $size bytes, sha256 $actual, expected $expected")',
    '    exit 2',
    '  }',
    '  if ([IO.File]::Exists($path)) { [IO.File]::Replace($tmp, $path, $null) } else { [IO.File]::Move($tmp, $path) }',
    '  [Console]::Out.WriteLine("ok $written $actual")',
    '}',
  ].join('\r\n');
}

/** Copies a file to the target through PowerShell over WinRM (see copyProgram). */
export function winRmCopyFile(target: WinRmTarget, file: WinRmFile): RemoteExecution {
  checkWinRmTarget(target);
  if (!WINDOWS_PATH.test(file.path) || !isXmlSafe(file.path) || /[\r\n]/.test(file.path)) {
    throw new RemoteInputError('winrm copy: path must be an absolute Windows file path (C:\\dir\\file or \\\\server\\share\\file)');
  }
  if (!Number.isSafeInteger(file.size) || file.size < 0) throw new RemoteInputError('winrm copy: size must be a whole number of bytes');
  if (Buffer.isBuffer(file.source) && file.source.length !== file.size) {
    throw new RemoteInputError(`winrm copy: size says ${file.size} bytes, the buffer holds ${file.source.length}`);
  }
  const line = commandLine(copyProgram(file.path, file.size, randomBytes(6).toString('hex')));
  if (line.stdin) throw new RemoteInputError('winrm copy: the destination path is too long');
  return startExecution(file.timeoutMs, (signal) =>
    inShell(target, [], signal, async (shell, setCommand) => {
      const commandId = await shell.command(line, false, signal);
      setCommand(commandId);
      const sha = createHash('sha256');
      let sent = 0;
      let problem: string | undefined;
      for await (const chunk of rechunk(file.source, STDIN_CHUNK)) {
        sent += chunk.length;
        if (sent > file.size) {
          problem = `the source holds more than the ${file.size} bytes announced`;
          break;
        }
        sha.update(chunk);
        await shell.send(commandId, Buffer.from(chunk.toString('base64') + '\r\n', 'ascii'), false, signal);
      }
      if (!problem && sent !== file.size) problem = `the source ended after ${sent} of ${file.size} bytes`;
      // A wrong hash makes the remote side remove its temporary file and fail: nothing is left behind.
      await shell.send(commandId, Buffer.from(`sha256:${problem ? 'none' : sha.digest('hex')}\r\n`, 'ascii'), true, signal);
      let stdout = '';
      let stderr = '';
      const keep = (text: string, add: Buffer) => (text.length < 4096 ? text + add.toString('utf8').slice(0, 4096 - text.length) : text);
      const exitCode = await shell.receiveAll(
        commandId,
        (stream, data) => {
          if (stream === 'stdout') stdout = keep(stdout, data);
          else stderr = keep(stderr, data);
        },
        signal,
      );
      if (problem) return { exitCode: null, error: `winrm copy to ${file.path}: ${problem}` };
      if (exitCode === 0 && stdout.startsWith('ok ')) return { exitCode: 0 };
      return { exitCode, error: `winrm copy to ${file.path} failed${stderr.trim() ? `: ${stderr.trim().slice(0, 1000)}` : ''}` };
    }),
  );
}
