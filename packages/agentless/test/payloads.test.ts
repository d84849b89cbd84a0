/**
 * Command payloads on agentless targets (src/payloads.ts): the programs that carry a script body run it literally in a
 * real /bin/sh with each POSIX interpreter, leave no temporary file behind, and what a target cannot run is refused
 * before any connection.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CommandPayload } from '@opsconductor/contracts/commands';
import { posixScriptProgram, runPayload, windowsScriptProgram, type AgentlessConnection } from '../src/payloads.ts';
import { RemoteInputError } from '../src/types.ts';

const scratch = mkdtempSync(join(tmpdir(), 'opsconductor-payloads-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const has = (program: string) => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;

/** Lines a naive here-document or quoting would trip over. */
const TRICKY = ['it\'s "quoted" $HOME `id` $(id) \\ back', 'EOF', "'EOF'", 'OC_BODY_deadbeef', '*', ''];

describe('posixScriptProgram', () => {
  const cases: Array<[string, (lines: string[]) => string, boolean]> = [
    ['sh', (lines) => lines.map((l) => `printf '%s\\n' ${shQuote(l)}`).join('\n'), true],
    ['bash', (lines) => `lines=(${lines.map(shQuote).join(' ')})\nprintf '%s\\n' "\${lines[@]}"`, has('bash')],
    ['python', (lines) => `import sys\nfor l in ${JSON.stringify(lines)}:\n    print(l)`, has('python3')],
  ];
  for (const [interpreter, body, available] of cases) {
    it.skipIf(!available)(`runs a ${interpreter} body literally and removes its temporary directory`, () => {
      const program = posixScriptProgram(interpreter as 'sh', body(TRICKY));
      const out = execFileSync('/bin/sh', ['-c', `${program}\n`], {
        env: { PATH: process.env.PATH ?? '', TMPDIR: scratch },
        encoding: 'utf8',
      });
      expect(out).toBe(TRICKY.map((l) => `${l}\n`).join(''));
      expect(readdirSync(scratch)).toEqual([]);
    });
  }

  it('passes the exit code on, and writes the body to a directory only its user can read', () => {
    const program = posixScriptProgram('sh', `stat -c %a "$(dirname "$0")"\nexit 42`);
    const result = spawnSync('/bin/sh', ['-c', program], { env: { PATH: process.env.PATH ?? '', TMPDIR: scratch }, encoding: 'utf8' });
    expect(result.status).toBe(42);
    expect(result.stdout.trim()).toBe('700');
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('refuses cmd, which needs Windows', () => {
    expect(() => posixScriptProgram('cmd', 'echo hi')).toThrow(RemoteInputError);
  });
});

describe('windowsScriptProgram', () => {
  it('runs a PowerShell body as it is, and carries other bodies as one PowerShell literal', () => {
    expect(windowsScriptProgram('powershell', 'Get-Date')).toBe('Get-Date');
    const body = "@echo off\r\necho it's 100%% 'done'\r\nexit /b 3";
    const program = windowsScriptProgram('cmd', body);
    expect(program).toContain(`[IO.File]::WriteAllText($f, '@echo off\r\necho it''s 100%% ''done''\r\nexit /b 3', `);
    expect(program).toContain('& cmd.exe /d /v:on /s /c');
    expect(program).toContain('Remove-Item -LiteralPath $d -Recurse -Force');
    expect(() => windowsScriptProgram('sh', 'echo hi')).toThrow(RemoteInputError);
  });
});

describe('runPayload', () => {
  const ssh: AgentlessConnection = {
    protocol: 'ssh',
    target: { host: '192.0.2.1', port: 22, username: 'u', auth: { password: 'p' }, hostKey: {} },
  };
  const winrm: AgentlessConnection = {
    protocol: 'winrm',
    target: { endpoint: 'https://192.0.2.1:5986/wsman', username: 'u', password: 'p', auth: 'ntlm' },
  };
  const io = {
    onOutput: () => {},
    openFile: () => {
      throw new Error('no file should be opened');
    },
  };
  const refused: Array<[AgentlessConnection, CommandPayload, RegExp]> = [
    [ssh, { kind: 'shell', shell: 'cmd', command: 'dir', timeoutSeconds: 5 }, /WinRM target/],
    [ssh, { kind: 'script', interpreter: 'cmd', script: 'dir', timeoutSeconds: 5 }, /only available on Windows/],
    [winrm, { kind: 'shell', shell: 'sh', command: 'ls', timeoutSeconds: 5 }, /SSH target/],
    [winrm, { kind: 'script', interpreter: 'sh', script: 'ls', timeoutSeconds: 5 }, /SSH target/],
    [ssh, { kind: 'reboot', timeoutSeconds: 5 }, /need an agent/],
    [winrm, { kind: 'inventory.refresh', timeoutSeconds: 5 }, /need an agent/],
  ];
  for (const [connection, payload, message] of refused) {
    it(`refuses ${payload.kind} ${'shell' in payload ? payload.shell : 'interpreter' in payload ? payload.interpreter : ''} over ${connection.protocol} before connecting`, () => {
      expect(() => runPayload(connection, payload, io)).toThrow(message);
    });
  }

  it('refuses a POSIX owner for a Windows file before opening it', () => {
    const payload: CommandPayload = {
      kind: 'file.fetch',
      sha256: 'a'.repeat(64),
      size: 1,
      path: 'C:\\x',
      owner: 'root',
      timeoutSeconds: 5,
    };
    let opened = false;
    expect(() =>
      runPayload(winrm, payload, {
        ...io,
        openFile: () => {
          opened = true;
          throw new Error('opened');
        },
      }),
    ).toThrow(/no POSIX owner/);
    expect(opened).toBe(false);
    expect(existsSync('C:\\x')).toBe(false);
  });
});

function shQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}
