/**
 * The WinRM client against the WS-Management replay server (test/support/wsman-server.ts): real HTTP and
 * TLS on loopback, recorded response envelopes, Basic and NTLMv2 verified server-side. Windows itself is not
 * here: what runs on it (PowerShell, cmd) is checked as the command line and script the server receives.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteInputError, runWinRmCommand, winRmCopyFile, type WinRmTarget } from '../src/index.ts';
import { ACTION, NS, RESOURCE_URI_CMD, SIGNAL } from '../src/winrm/soap.ts';
import { child, children } from '../src/winrm/xml.ts';
import { startWsmanServer, TLS, type CommandScript, type WsmanServer, type WsmanServerOptions } from './support/wsman-server.ts';

const servers: WsmanServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const BASIC = { basic: { username: 'ops', password: 'p@ss:word' } };
const NTLM = { ntlm: { user: 'Administrator', domain: 'WINHOST', password: 'Str0ng!Pass' } };

async function server(scripts: CommandScript[], opts: Partial<WsmanServerOptions> = {}): Promise<WsmanServer> {
  const s = await startWsmanServer({ tls: true, auth: BASIC, scripts, ...opts });
  servers.push(s);
  return s;
}

const basicTarget = (s: WsmanServer, over: Partial<WinRmTarget> = {}): WinRmTarget => ({
  endpoint: s.url,
  username: 'ops',
  password: 'p@ss:word',
  auth: 'basic',
  tls: { ca: TLS.cert },
  ...over,
});

async function run(
  target: WinRmTarget,
  cmd: {
    shell?: 'powershell' | 'cmd';
    command: string;
    env?: Record<string, string>;
    secrets?: Record<string, string>;
    timeoutMs?: number;
  },
) {
  const out: Array<['stdout' | 'stderr', Buffer]> = [];
  const execution = runWinRmCommand(target, {
    shell: cmd.shell ?? 'powershell',
    command: cmd.command,
    env: cmd.env,
    secrets: cmd.secrets,
    timeoutMs: cmd.timeoutMs ?? 20_000,
    onOutput: (stream, data) => out.push([stream, Buffer.from(data)]),
  });
  const result = await execution.done;
  const text = (n: string) => Buffer.concat(out.filter(([s]) => s === n).map(([, d]) => d)).toString('utf8');
  return { result, stdout: text('stdout'), stderr: text('stderr'), execution };
}

const actions = (s: WsmanServer) => s.requests.map((r) => r.action.split('/').pop());

describe('runWinRmCommand', () => {
  it('runs a PowerShell command: env in the shell, the encoded command line, streams and the exit code', async () => {
    const s = await server([
      {
        receives: [
          { streams: [{ name: 'stdout', data: 'line 1\r\n' }] },
          {
            streams: [
              { name: 'stderr', data: 'warn\r\n' },
              { name: 'stdout', data: 'line 2\r\n', end: true },
              { name: 'stderr', data: '', end: true },
            ],
            exitCode: 7,
          },
        ],
      },
    ]);
    const nasty = `'; Remove-Item C:\\ -Recurse; $(whoami) \`"<&>"\r\n%PATH% !X!`;
    const { result, stdout, stderr } = await run(basicTarget(s), {
      command: 'Write-Output $env:GREETING; exit 7',
      env: { GREETING: nasty, EMPTY: '' },
    });
    expect(result).toMatchObject({ status: 'failed', exitCode: 7 });
    expect(stdout).toBe('line 1\r\nline 2\r\n');
    expect(stderr).toBe('warn\r\n');

    expect(actions(s)).toEqual(['Create', 'Command', 'Receive', 'Receive', 'Signal', 'Delete']);
    for (const r of s.requests) {
      expect(r.resourceUri).toBe(RESOURCE_URI_CMD);
      expect(r.maxEnvelopeSize).toBe('153600');
      expect(r.operationTimeout).toBe('PT20.000S');
      expect(r.authorization).toBe(`Basic ${Buffer.from('ops:p@ss:word').toString('base64')}`);
    }
    const [create, command, receive, , signal, del] = s.requests;
    expect(create!.options).toEqual({ WINRS_NOPROFILE: 'TRUE', WINRS_CODEPAGE: '65001' });
    expect(create!.shellId).toBeUndefined();
    // The values travel as XML text in the shell's environment, byte for byte, never in the script.
    const shellId = command!.shellId!;
    const variables = children(child(child(create!.body, NS.rsp, 'Shell'), NS.rsp, 'Environment'), NS.rsp, 'Variable');
    expect(variables.map((v) => [v.attrs.Name, v.text])).toEqual([
      ['GREETING', nasty],
      ['EMPTY', ''],
    ]);
    expect(command!.options).toEqual({ WINRS_CONSOLEMODE_STDIN: 'TRUE', WINRS_SKIP_CMD_SHELL: 'FALSE' });
    expect(s.commands[0]!.command).toBe('powershell.exe');
    expect(s.commands[0]!.args.slice(0, 5)).toEqual(['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand']);
    expect(s.commands[0]!.script).toBe("$ProgressPreference = 'SilentlyContinue'\r\nWrite-Output $env:GREETING; exit 7");
    expect(s.commands[0]!.script).not.toContain('Remove-Item');
    const commandId = s.commands[0]!.commandId;
    expect(child(child(receive!.body, NS.rsp, 'Receive'), NS.rsp, 'DesiredStream')).toMatchObject({
      attrs: { CommandId: commandId },
      text: 'stdout stderr',
    });
    for (const r of [receive!, signal!, del!]) expect(r.shellId).toBe(shellId);
    expect(child(child(signal!.body, NS.rsp, 'Signal'), NS.rsp, 'Code')?.text).toBe(SIGNAL.terminate);
    expect(child(signal!.body, NS.rsp, 'Signal')?.attrs.CommandId).toBe(commandId);
    expect(del!.body.children).toEqual([]);
    expect(s.shells.size).toBe(0); // deleted
  });

  it('receives a long output over many Receives, rides out TimedOut faults, and redacts secrets across them', async () => {
    const secret = `tok-${randomBytes(6).toString('hex')}`;
    const big = randomBytes(96 * 1024).toString('base64'); // 128 KiB of text per receive
    const receives = [
      { streams: [{ name: 'stdout' as const, data: big }] },
      { timedOut: true as const },
      { streams: [{ name: 'stdout' as const, data: `${big}key=${secret.slice(0, 5)}` }] },
      { timedOut: true as const },
      {
        streams: [
          { name: 'stdout' as const, data: `${secret.slice(5)}\r\n${big}` },
          { name: 'stderr' as const, data: `e:${secret}` },
        ],
      },
      { streams: [{ name: 'stdout' as const, data: 'end\r\n' }], exitCode: 0 },
    ];
    const s = await server([{ receives }]);
    const { result, stdout, stderr } = await run(basicTarget(s), { command: 'big-output', secrets: { API_TOKEN: secret } });
    expect(result).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(stdout).toBe(`${big}${big}key=[redacted]\r\n${big}end\r\n`);
    expect(stderr).toBe('e:[redacted]');
    expect(actions(s).filter((a) => a === 'Receive')).toHaveLength(6);
    // The secret went to the shell's environment, not into the script.
    expect(s.commands[0]!.script).not.toContain(secret);
  });

  it('on timeout abandons the pending Receive, then sends Signal terminate and Delete', async () => {
    const s = await server([{ receives: [{ streams: [{ name: 'stdout', data: 'working\r\n' }] }, { hang: true }] }]);
    const started = Date.now();
    const { result, stdout } = await run(basicTarget(s), { command: 'Start-Sleep 3600', timeoutMs: 1500 });
    expect(result.status).toBe('timed_out');
    expect(result.exitCode).toBeNull();
    expect(Date.now() - started).toBeLessThan(8000);
    expect(stdout).toBe('working\r\n');
    expect(actions(s)).toEqual(['Create', 'Command', 'Receive', 'Receive', 'Signal', 'Delete']);
    const signal = s.requests[4]!;
    expect(child(child(signal.body, NS.rsp, 'Signal'), NS.rsp, 'Code')?.text).toBe(SIGNAL.terminate);
    expect(s.shells.size).toBe(0);
  });

  it('cancels the same way', async () => {
    const s = await server([{ receives: [{ streams: [{ name: 'stdout', data: 'ready' }] }, { hang: true }] }]);
    const execution = runWinRmCommand(basicTarget(s), {
      shell: 'powershell',
      command: 'Wait-Event',
      timeoutMs: 30_000,
      onOutput: () => execution.cancel(),
    });
    const result = await execution.done;
    expect(result.status).toBe('cancelled');
    expect(actions(s).slice(-2)).toEqual(['Signal', 'Delete']);
  });

  it('runs cmd through the PowerShell launcher: cmd /d /v:on /s /c with the command as a literal', async () => {
    const s = await server([{ receives: [{ streams: [{ name: 'stdout', data: 'x\r\n' }], exitCode: 3 }] }]);
    const command = `echo "it's" & echo !VALUE! > C:\\out.txt`;
    const { result } = await run(basicTarget(s), { shell: 'cmd', command, env: { VALUE: 'a & b | c' } });
    expect(result).toMatchObject({ status: 'failed', exitCode: 3 });
    const script = s.commands[0]!.script!;
    expect(script).toContain(`$psi.Arguments = '/d /v:on /s /c "echo "it''s" & echo !VALUE! > C:\\out.txt"'`);
    expect(script).toContain('exit $p.ExitCode');
    expect(s.shells.size).toBe(0);
    expect(() =>
      runWinRmCommand(basicTarget(s), { shell: 'cmd', command: 'echo a\r\necho b', timeoutMs: 1000, onOutput: () => {} }),
    ).toThrow(/one line/);
  });

  it('sends a program too long for the command line over stdin, after a short bootstrap', async () => {
    const s = await server([{ receives: [{ exitCode: 0 }] }]);
    const longScript = `$data = '${'y'.repeat(20_000)}'\r\nWrite-Output $data.Length`;
    const { result } = await run(basicTarget(s), { command: longScript });
    expect(result.status).toBe('succeeded');
    expect(actions(s)).toEqual(['Create', 'Command', 'Send', 'Receive', 'Signal', 'Delete']);
    expect(s.requests[1]!.options.WINRS_CONSOLEMODE_STDIN).toBe('FALSE');
    expect(s.commands[0]!.script).toMatch(/FromBase64String\(\(@\(\$input\) -join ''\)\)/);
    const stdin = s.commands[0]!.stdin.toString('ascii').replace(/\r\n/g, '');
    expect(Buffer.from(stdin, 'base64').toString('utf8')).toBe(`$ProgressPreference = 'SilentlyContinue'\r\n${longScript}`);
    const send = child(s.requests[2]!.body, NS.rsp, 'Send');
    expect(children(send, NS.rsp, 'Stream')[0]!.attrs).toMatchObject({ Name: 'stdin', CommandId: s.commands[0]!.commandId, End: 'true' });
  });
});

describe('WinRM failures', () => {
  it('reports a fault on Command and still deletes the shell', async () => {
    const s = await server([{ denied: true }]);
    const { result } = await run(basicTarget(s), { command: 'x' });
    expect(result).toMatchObject({ status: 'failed', exitCode: null });
    expect(result.error).toMatch(/Access is denied/);
    expect(actions(s)).toEqual(['Create', 'Command', 'Delete']);
  });

  it('refuses a response larger than 1 MiB, and cleans up', async () => {
    const s = await server([{ receives: [{ oversized: true }] }]);
    const { result } = await run(basicTarget(s), { command: 'x' });
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/larger than 1048576 bytes/);
    expect(actions(s).slice(-2)).toEqual(['Signal', 'Delete']);
  });

  it('fails when nothing listens', async () => {
    const { result } = await run({ endpoint: 'https://127.0.0.1:1/wsman', username: 'u', password: 'p', auth: 'basic' }, { command: 'x' });
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/ECONNREFUSED/);
  });
});

describe('WinRM transport security', () => {
  it('refuses a self-signed certificate without its CA, and accepts it with the CA', async () => {
    const s = await server([{ receives: [{ exitCode: 0 }] }]);
    const refused = await run(basicTarget(s, { tls: {} }), { command: 'hostname' });
    expect(refused.result.status).toBe('failed');
    expect(refused.result.error).toMatch(/certificate .*not trusted.*SELF_SIGNED/);
    expect(s.requests).toHaveLength(0);
    const accepted = await run(basicTarget(s), { command: 'hostname' });
    expect(accepted.result.status).toBe('succeeded');
  });

  it('refuses Basic over plain HTTP unless allowed, and NTLM over plain HTTP always', async () => {
    const s = await server([{ receives: [{ exitCode: 0 }] }], { tls: false });
    const target = basicTarget(s, { tls: undefined });
    expect(() => runWinRmCommand(target, { shell: 'powershell', command: 'x', timeoutMs: 1000, onOutput: () => {} })).toThrow(
      RemoteInputError,
    );
    expect(() => runWinRmCommand(target, { shell: 'powershell', command: 'x', timeoutMs: 1000, onOutput: () => {} })).toThrow(
      /allowBasicOverHttp/,
    );
    expect(() =>
      runWinRmCommand({ ...target, auth: 'ntlm' }, { shell: 'powershell', command: 'x', timeoutMs: 1000, onOutput: () => {} }),
    ).toThrow(/NTLM over plain HTTP/);
    expect(s.requests).toHaveLength(0);
    const allowed = await run({ ...target, allowBasicOverHttp: true }, { command: 'x' });
    expect(allowed.result.status).toBe('succeeded');
  });

  it('reports wrong Basic credentials without the password', async () => {
    const s = await server([]);
    const { result } = await run(basicTarget(s, { password: 'wrong-password' }), { command: 'x' });
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/authentication failed for ops/);
    expect(result.error).not.toContain('wrong-password');
  });

  it('authenticates with NTLMv2 (MIC, channel bindings), and again on a new connection after a timeout', async () => {
    const s = await server([{ receives: [{ streams: [{ name: 'stdout', data: 'ok' }], exitCode: 0 }] }, { receives: [{ hang: true }] }], {
      auth: NTLM,
    });
    const target: WinRmTarget = {
      endpoint: s.url,
      username: 'WINHOST\\Administrator',
      password: 'Str0ng!Pass',
      auth: 'ntlm',
      tls: { ca: TLS.cert },
    };
    const first = await run(target, { command: 'whoami' });
    expect(first.result).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(first.stdout).toBe('ok');
    expect(s.ntlm.failures).toEqual([]);
    expect(s.ntlm.handshakes).toBe(1); // one connection, authenticated once
    const firstRun = s.requests.slice();
    expect(new Set(firstRun.map((r) => r.connection)).size).toBe(1);
    expect(firstRun[0]!.authorization).toMatch(/^Negotiate /);
    expect(firstRun.slice(1).every((r) => r.authorization === undefined)).toBe(true);

    const second = await run(target, { command: 'Start-Sleep 100', timeoutMs: 1500 });
    expect(second.result.status).toBe('timed_out');
    expect(actions(s).slice(-2)).toEqual(['Signal', 'Delete']);
    // The abandoned Receive took its connection along: Signal and Delete came on a new one, authenticated anew.
    expect(s.ntlm.handshakes).toBe(3);
    expect(s.ntlm.failures).toEqual([]);
  });

  it('fails NTLM with a wrong password, and the server saw a wrong NTLMv2 response', async () => {
    const s = await server([], { auth: NTLM });
    const { result } = await run(
      { endpoint: s.url, username: 'WINHOST\\Administrator', password: 'nope', auth: 'ntlm', tls: { ca: TLS.cert } },
      { command: 'whoami' },
    );
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/authentication failed/);
    expect(s.ntlm.failures).toEqual(['wrong NTLMv2 response (password)']);
  });
});

describe('winRmCopyFile', () => {
  it('sends the file as base64 lines on stdin and its SHA-256 last; the program checks and moves it into place', async () => {
    const s = await server([{ copy: true }]);
    const data = randomBytes(200_000);
    const path = "C:\\Program Files\\Opsconductor\\it's.bin";
    const result = await winRmCopyFile(basicTarget(s), {
      source: Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
      size: data.length,
      path,
      timeoutMs: 20_000,
    }).done;
    expect(result).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(s.copies).toHaveLength(1);
    expect(s.copies[0]!.path).toBe(path);
    expect(s.copies[0]!.data.equals(data)).toBe(true);
    const sends = s.requests.filter((r) => r.action === ACTION.send);
    expect(sends.length).toBeGreaterThan(4); // 48 KiB per Send
    expect(sends.slice(0, -1).every((r) => children(child(r.body, NS.rsp, 'Send'), NS.rsp, 'Stream')[0]!.attrs.End === undefined)).toBe(
      true,
    );
    expect(children(child(sends.at(-1)!.body, NS.rsp, 'Send'), NS.rsp, 'Stream')[0]!.attrs.End).toBe('true');
    expect(s.requests[1]!.options.WINRS_CONSOLEMODE_STDIN).toBe('FALSE');
    const script = s.commands[0]!.script!;
    expect(script).toContain('[IO.FileMode]::CreateNew');
    expect(script).toContain('[IO.File]::Replace($tmp, $path, $null)');
    expect(actions(s).slice(-2)).toEqual(['Signal', 'Delete']);
  });

  it('fails a short source: the program gets a hash that cannot match and removes its temporary file', async () => {
    const s = await server([{ copy: true }]);
    const result = await winRmCopyFile(basicTarget(s), {
      source: Readable.from([Buffer.from('abc')]),
      size: 10,
      path: 'C:\\f.txt',
      timeoutMs: 20_000,
    }).done;
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/ended after 3 of 10 bytes/);
    expect(s.copies).toHaveLength(0);
    expect(s.commands[0]!.stdin.toString('ascii')).toMatch(/sha256:none\r\n$/);
  });

  it('refuses a relative path before connecting', () => {
    const target: WinRmTarget = { endpoint: 'https://127.0.0.1:1/wsman', username: 'u', password: 'p', auth: 'basic' };
    expect(() => winRmCopyFile(target, { source: Buffer.from('x'), size: 1, path: 'relative\\f', timeoutMs: 1000 })).toThrow(
      RemoteInputError,
    );
    expect(() => winRmCopyFile(target, { source: Buffer.from('x'), size: 1, path: 'C:\\dir\\', timeoutMs: 1000 })).toThrow(
      RemoteInputError,
    );
  });
});
