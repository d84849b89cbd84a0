import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomUUID } from 'node:crypto';
import { MAX_OUTPUT_CHUNK_BYTES } from '@opsconductor/contracts/agent-protocol';
import { executeShellCommand, shellInvocation, type ExecuteOptions } from '../src/executor.ts';
import { OutputStream, splitOutput, type OutputChunk } from '@opsconductor/command-output';
import { killGroupQuietly, liveGroupMembers, pidRunning, waitFor } from './support/util.ts';

vi.setConfig({ testTimeout: 30_000 });

const groups: number[] = [];
afterEach(() => {
  for (const pgid of groups.splice(0)) killGroupQuietly(pgid);
});

function run(command: string, opts: Partial<Omit<ExecuteOptions, 'payload'>> & { timeoutSeconds?: number; shell?: 'sh' | 'bash' } = {}) {
  const calls: { stream: 'stdout' | 'stderr'; data: Buffer }[] = [];
  const execution = executeShellCommand({
    commandId: opts.commandId ?? randomUUID(),
    payload: { kind: 'shell', command, shell: opts.shell ?? 'sh', timeoutSeconds: opts.timeoutSeconds ?? 60 },
    killGraceMs: opts.killGraceMs,
    env: opts.env,
    onOutput: (stream, data) => {
      calls.push({ stream, data });
      opts.onOutput?.(stream, data);
    },
  });
  if (execution.pid) groups.push(execution.pid);
  const bytes = (stream: 'stdout' | 'stderr') => Buffer.concat(calls.filter((c) => c.stream === stream).map((c) => c.data));
  const text = (stream: 'stdout' | 'stderr') => bytes(stream).toString('utf8');
  return { execution, calls, text, bytes };
}

/** Waits until the shell and its two background sleeps are all running, and returns their pids. */
async function treeOfThree(pgid: number): Promise<number[]> {
  return waitFor(() => {
    const members = liveGroupMembers(pgid);
    return members.length === 3 ? members : undefined;
  }, 'the shell and both sleeps to be running');
}

describe('executor: exit codes and output', () => {
  it('reports exit code 0 as succeeded and captures stdout and stderr separately', async () => {
    const { execution, text } = run('echo out; echo err >&2');
    const outcome = await execution.done;
    expect(outcome).toMatchObject({ status: 'succeeded', exitCode: 0, signal: null });
    expect(outcome.error).toBeUndefined();
    expect(text('stdout')).toBe('out\n');
    expect(text('stderr')).toBe('err\n');
    expect(outcome.finishedAt.getTime()).toBeGreaterThanOrEqual(outcome.startedAt.getTime());
  });

  it('reports a non-zero exit code as failed with that code', async () => {
    const outcome = await run('echo partial; exit 7').execution.done;
    expect(outcome).toMatchObject({ status: 'failed', exitCode: 7 });
  });

  it('reports an unexpected signal as failed with a null exit code', async () => {
    const outcome = await run('kill -9 $$').execution.done;
    expect(outcome).toMatchObject({ status: 'failed', exitCode: null, signal: 'SIGKILL' });
    expect(outcome.error).toContain('SIGKILL');
  });

  it('keeps a multibyte character whole when it is split across two pipe reads', async () => {
    // The euro sign is E2 82 AC; the first two bytes and the last arrive in separate writes. The output
    // stream holds the incomplete character back, so no chunk carries half of it.
    const sent: OutputChunk[] = [];
    const stream = new OutputStream({
      stream: 'stdout',
      flushIntervalMs: 5,
      base64Accepted: () => true,
      send: async (c) => void sent.push(c),
    });
    const { execution, calls } = run(String.raw`printf '\342\202'; sleep 0.3; printf '\254\n'`, {
      onOutput: (_, data) => stream.write(data),
    });
    const outcome = await execution.done;
    await stream.close();
    expect(outcome.status).toBe('succeeded');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(sent.map((c) => c.data).join('')).toBe('€\n');
    expect(sent.every((c) => c.encoding === undefined && !c.data.includes('\uFFFD'))).toBe(true);
  });

  it('passes the bytes through exactly, NUL and bytes that are not UTF-8 included', async () => {
    const { execution, bytes } = run(String.raw`printf 'a\000b\377\376c'`);
    expect((await execution.done).status).toBe('succeeded');
    expect(bytes('stdout')).toEqual(Buffer.from([0x61, 0x00, 0x62, 0xff, 0xfe, 0x63]));
  });

  it('decodes large multibyte output exactly and splits it into protocol-sized chunks', async () => {
    // 7 bytes per iteration: pipe reads of 64 KiB cannot all end on a character boundary.
    const { execution, text, bytes } = run(`i=0; while [ $i -lt 30000 ]; do printf '€😀'; i=$((i+1)); done`);
    const outcome = await execution.done;
    expect(outcome.status).toBe('succeeded');
    expect(text('stdout')).toBe('€😀'.repeat(30000));
    const chunks = splitOutput(bytes('stdout'), MAX_OUTPUT_CHUNK_BYTES);
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(MAX_OUTPUT_CHUNK_BYTES);
      expect(chunk.toString('utf8')).not.toContain('\uFFFD');
    }
    expect(chunks.map((c) => c.toString('utf8')).join('')).toBe(text('stdout'));
  });

  it('passes OPSCONDUCTOR_COMMAND_ID and closes stdin', async () => {
    const commandId = randomUUID();
    // `cat` would block forever if stdin were left open.
    const { execution, text } = run('echo "$OPSCONDUCTOR_COMMAND_ID"; cat; echo eof', { commandId });
    const outcome = await execution.done;
    expect(outcome.status).toBe('succeeded');
    expect(text('stdout')).toBe(`${commandId}\neof\n`);
  });

  it('passes the command as one argv element: shell metacharacters reach the shell untouched', async () => {
    const { execution, text } = run(`printf '%s|' "a b" 'c"d' "$OPSCONDUCTOR_UNSET_X"; echo`, { shell: 'bash' });
    await execution.done;
    expect(text('stdout')).toBe('a b|c"d||\n');
  });

  it('reports a shell that cannot be started as failed with an error', async () => {
    const { execution } = run('echo hi', { shell: 'bash', env: { PATH: '/nonexistent' } });
    const outcome = await execution.done;
    expect(outcome).toMatchObject({ status: 'failed', exitCode: null });
    expect(outcome.error).toMatch(/could not start bash/);
  });

  it('does not wait forever for a background process that keeps the pipes open', async () => {
    const { execution, text } = run('sleep 30 & echo launched');
    const outcome = await execution.done;
    expect(outcome).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(text('stdout')).toBe('launched\n');
    expect(outcome.durationMs).toBeLessThan(10_000);
  });
});

describe('executor: killing the process tree', () => {
  it('cancel kills every process of the group', async () => {
    const { execution } = run('sleep 300 & sleep 300 & wait');
    const pgid = execution.pid!;
    const pids = await treeOfThree(pgid);
    execution.stop('cancel');
    const outcome = await execution.done;
    expect(outcome).toMatchObject({ status: 'cancelled', exitCode: null });
    expect(liveGroupMembers(pgid)).toEqual([]);
    for (const pid of pids) expect(pidRunning(pid)).toBe(false);
  });

  it('a timeout kills the tree and reports timed_out', async () => {
    const { execution } = run('sleep 300 & sleep 300 & wait', { timeoutSeconds: 1 });
    const pgid = execution.pid!;
    const pids = await treeOfThree(pgid);
    const outcome = await execution.done;
    expect(outcome.status).toBe('timed_out');
    expect(outcome.exitCode).toBeNull();
    expect(outcome.durationMs).toBeGreaterThanOrEqual(900);
    expect(outcome.durationMs).toBeLessThan(10_000);
    expect(liveGroupMembers(pgid)).toEqual([]);
    for (const pid of pids) expect(pidRunning(pid)).toBe(false);
  });

  it('escalates to SIGKILL when the tree ignores SIGTERM', async () => {
    // Ignored dispositions are inherited, so the sleeps ignore SIGTERM too.
    const { execution } = run(`trap '' TERM; sleep 300 & sleep 300 & wait`, { killGraceMs: 300 });
    const pgid = execution.pid!;
    await treeOfThree(pgid);
    const began = Date.now();
    execution.stop('cancel');
    const outcome = await execution.done;
    expect(outcome.status).toBe('cancelled');
    expect(Date.now() - began).toBeGreaterThanOrEqual(250);
    expect(liveGroupMembers(pgid)).toEqual([]);
  });

  it('shutdown reports failed with "agent stopped"', async () => {
    const { execution } = run('sleep 300');
    await waitFor(() => liveGroupMembers(execution.pid!).length > 0, 'sleep to start');
    execution.stop('shutdown');
    const outcome = await execution.done;
    expect(outcome).toMatchObject({ status: 'failed', exitCode: null, error: 'agent stopped' });
    expect(liveGroupMembers(execution.pid!)).toEqual([]);
  });

  it('stop after the command exited changes nothing', async () => {
    const { execution } = run('exit 0');
    await new Promise((resolve) => setTimeout(resolve, 100));
    execution.stop('cancel');
    expect((await execution.done).status).toBe('succeeded');
  });
});

describe('shellInvocation', () => {
  it('maps shells per platform, passing the command as a single argument', () => {
    expect(shellInvocation('default', 'echo $x', 'linux')).toEqual({ file: '/bin/sh', args: ['-c', 'echo $x'] });
    expect(shellInvocation('bash', 'a && b', 'darwin')).toEqual({ file: 'bash', args: ['-c', 'a && b'] });
    expect(shellInvocation('default', 'Get-Date', 'win32')).toEqual({
      file: 'powershell.exe',
      args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', 'Get-Date'],
    });
    // Delayed expansion on (/v:on): job steps read parameters as !OC_PARAM_X!, expanded after cmd parsed the line.
    expect(shellInvocation('cmd', 'dir "C:\\x" & echo !OC_PARAM_X!', 'win32')).toEqual({
      file: 'cmd.exe',
      args: ['/d', '/v:on', '/s', '/c', '"dir "C:\\x" & echo !OC_PARAM_X!"'],
      windowsVerbatimArguments: true,
    });
    expect(() => shellInvocation('cmd', 'dir', 'linux')).toThrow(/only available on Windows/);
    expect(() => shellInvocation('bash', 'ls', 'win32')).toThrow(/not available on Windows/);
  });
});
