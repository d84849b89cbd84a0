/**
 * SSH and SFTP against a real OpenSSH server on loopback (test/support/sshd.ts). The server runs on this
 * machine, so the tests look at the remote side directly: processes, files, owners.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteInputError, runSshCommand, sshCopyFile, sshFingerprint, type SshTarget } from '../src/index.ts';
import { isRoot, startSshd, type Sshd } from './support/sshd.ts';

let sshd: Sshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

const target = (over: Partial<SshTarget> = {}): SshTarget => ({
  host: '127.0.0.1',
  port: sshd.port,
  username: sshd.username,
  auth: { privateKey: sshd.clientKey },
  hostKey: { sha256: sshd.hostFingerprint() },
  ...over,
});

async function run(
  command: string,
  opts: { env?: Record<string, string>; secrets?: Record<string, string>; timeoutMs?: number; t?: SshTarget } = {},
) {
  const out: Array<['stdout' | 'stderr', Buffer]> = [];
  const { execution, hostKey } = runSshCommand(opts.t ?? target(), {
    command,
    env: opts.env,
    secrets: opts.secrets,
    timeoutMs: opts.timeoutMs ?? 20_000,
    onOutput: (stream, data) => out.push([stream, Buffer.from(data)]),
  });
  const result = await execution.done;
  const text = (s: 'stdout' | 'stderr') => Buffer.concat(out.filter(([n]) => n === s).map(([, d]) => d)).toString('utf8');
  return { result, stdout: text('stdout'), stderr: text('stderr'), chunks: out, hostKey };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function eventually(check: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('runSshCommand', () => {
  it('passes env values full of shell metacharacters literally', async () => {
    const nasty = `; $(id) \`id\` "' \\ \n $HOME '\\'' %s\t!x *`;
    const env = { A: nasty, B: "'", C: '', D: 'line1\nline2\n', E_1: '$(touch /tmp/oc-pwned)' };
    const { result, stdout, stderr } = await run(`printf '[%s]' "$A" "$B" "$C" "$D" "$E_1"`, { env });
    expect(stderr).toBe('');
    expect(result).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(stdout).toBe(`[${nasty}]['][][line1\nline2\n][$(touch /tmp/oc-pwned)]`);
    expect(existsSync('/tmp/oc-pwned')).toBe(false);
    expect(result.startedAt.getTime()).toBeLessThanOrEqual(result.finishedAt.getTime());
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('refuses a variable name that is not one, before connecting', () => {
    expect(() => runSshCommand(target(), { command: 'true', env: { 'A;B': 'x' }, timeoutMs: 1000, onOutput: () => {} })).toThrow(
      RemoteInputError,
    );
    expect(() => runSshCommand(target(), { command: 'true', env: { '1A': 'x' }, timeoutMs: 1000, onOutput: () => {} })).toThrow(
      /not a variable name/,
    );
    expect(() => runSshCommand(target(), { command: 'true', env: { A: 'x\0y' }, timeoutMs: 1000, onOutput: () => {} })).toThrow(/NUL/);
  });

  it('reports exit codes 0, 3 and 255', async () => {
    for (const code of [0, 3, 255]) {
      const { result } = await run(`exit ${code}`);
      expect(result.exitCode).toBe(code);
      expect(result.status).toBe(code === 0 ? 'succeeded' : 'failed');
    }
  });

  it('keeps stdout and stderr apart, and runs a multi-line script with stdin at its end', async () => {
    const { result, stdout, stderr } = await run('echo out1\necho err1 >&2\nif read x; then echo got-stdin; fi\necho out2; exit 4');
    expect(result).toMatchObject({ status: 'failed', exitCode: 4 });
    expect(stdout).toBe('out1\nout2\n');
    expect(stderr).toBe('err1\n');
  });

  it('redacts secrets from both streams, across chunk boundaries, and keeps them off every command line', async () => {
    const secret = `s3cr3t-${randomBytes(8).toString('hex')}`;
    const half = secret.length >> 1;
    const command = [
      `printf '%s' "$TOKEN" | head -c ${half}; sleep 0.3; printf '%s\\n' "$TOKEN" | tail -c +${half + 1}`,
      'echo "err:$TOKEN" >&2',
      // Shell builtins only: the secret stays in the shell's memory, never in an argv of its own.
      'for f in /proc/[0-9]*/cmdline; do l=$(tr "\\000" " " 2>/dev/null < "$f") || continue; case "$l" in *"$TOKEN"*) echo "FOUND in $f";; esac; done',
      'echo done',
    ].join('\n');
    const { result, stdout, stderr, chunks } = await run(command, { secrets: { TOKEN: secret } });
    expect(result.status).toBe('succeeded');
    expect(chunks.filter(([s]) => s === 'stdout').length).toBeGreaterThan(1);
    expect(stdout).toBe('[redacted]\ndone\n');
    expect(stderr).toBe('err:[redacted]\n');
    expect(Buffer.concat(chunks.map(([, d]) => d)).includes(secret)).toBe(false);
  });

  it('kills the remote command and its children on timeout', async () => {
    const pidFile = join(sshd.dir, `sleeper-${randomBytes(4).toString('hex')}`);
    const started = Date.now();
    const { result } = await run(`sleep 60 & echo $! > ${pidFile}; echo started; wait`, { timeoutMs: 2000 });
    expect(result.status).toBe('timed_out');
    expect(result.exitCode).toBeNull();
    expect(result.error).toMatch(/timed out after 2000 ms/);
    expect(Date.now() - started).toBeLessThan(10_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(await eventually(() => !alive(pid))).toBe(true);
  });

  it('cancels: the remote command ends and the status is cancelled', async () => {
    const pidFile = join(sshd.dir, `cancel-${randomBytes(4).toString('hex')}`);
    let seen = '';
    const { execution } = runSshCommand(target(), {
      command: `echo $$ > ${pidFile}; echo ready; exec sleep 60`,
      timeoutMs: 30_000,
      onOutput: (_s, d) => {
        seen += d.toString();
        if (seen.includes('ready')) execution.cancel();
      },
    });
    const result = await execution.done;
    expect(result.status).toBe('cancelled');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(await eventually(() => !alive(pid))).toBe(true);
    execution.cancel(); // idempotent after the end
  });

  it('authenticates with a password', async (ctx) => {
    if (!isRoot) {
      ctx.skip(); // reported: a password user can only be created as root (CI runs as root)
      return;
    }
    const user = sshd.createPasswordUser();
    const { result, stdout } = await run('id -un', { t: target({ username: user.username, auth: { password: user.password } }) });
    expect(result.status).toBe('succeeded');
    expect(stdout.trim()).toBe(user.username);
    const wrong = await run('id -un', { t: target({ username: user.username, auth: { password: 'not-it' } }) });
    expect(wrong.result).toMatchObject({ status: 'failed', exitCode: null });
    expect(wrong.result.error).toMatch(/authentication failed/);
    expect(wrong.result.error).not.toContain('not-it');
  });

  it('logs in with a passphrase-protected key, and says so when the passphrase is wrong', async () => {
    const key = await sshd.authorizeNewKey('correct horse');
    const ok = await run('echo key-ok', { t: target({ auth: { privateKey: key, passphrase: 'correct horse' } }) });
    expect(ok.stdout).toBe('key-ok\n');
    const wrong = await run('true', { t: target({ auth: { privateKey: key, passphrase: 'battery staple' } }) });
    expect(wrong.result.status).toBe('failed');
    expect(wrong.result.error).toMatch(/passphrase|decrypt|parse/i);
    expect(wrong.result.error).not.toContain('battery staple');
  });

  it('fails clearly with a key the server does not accept', async () => {
    const other = readFileSync(join(sshd.dir, 'host_ed25519'), 'utf8'); // a valid key, not authorized
    const { result } = await run('true', { t: target({ auth: { privateKey: other } }) });
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/authentication failed/);
  });

  it('trusts on first use: returns the fingerprint, and a later connect pinned to it works', async () => {
    const first = await run('echo hi', { t: target({ hostKey: {} }) });
    expect(first.result.status).toBe('succeeded');
    const fingerprint = await first.hostKey;
    expect(fingerprint).toBe(sshd.hostFingerprint());
    expect(fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const pinned = await run('echo again', { t: target({ hostKey: { sha256: fingerprint } }) });
    expect(pinned.stdout).toBe('again\n');
    expect(await pinned.hostKey).toBe(fingerprint);
  });

  it('refuses a wrong pinned host key before authenticating, and the old pin after the host key changed', async () => {
    const wrongPin = sshFingerprint(randomBytes(51));
    const accepted = () => (sshd.log().match(/Accepted publickey/g) ?? []).length;
    const before = accepted();
    const wrong = await run('echo should-not-run', { t: target({ hostKey: { sha256: wrongPin } }) });
    expect(wrong.result).toMatchObject({ status: 'failed', exitCode: null });
    expect(wrong.result.error).toContain(`host key changed: expected ${wrongPin}, got ${sshd.hostFingerprint()}`);
    expect(wrong.stdout).toBe('');
    expect(await wrong.hostKey).toBe(sshd.hostFingerprint());
    await new Promise((r) => setTimeout(r, 200));
    expect(accepted()).toBe(before);

    const oldPin = sshd.hostFingerprint();
    await sshd.regenerateHostKey();
    const newPin = sshd.hostFingerprint();
    expect(newPin).not.toBe(oldPin);
    const stale = await run('echo x', { t: target({ hostKey: { sha256: oldPin } }) });
    expect(stale.result.status).toBe('failed');
    expect(stale.result.error).toContain(`host key changed: expected ${oldPin}, got ${newPin}`);
    const fresh = await run('echo x', { t: target({ hostKey: { sha256: newPin } }) });
    expect(fresh.result.status).toBe('succeeded');
  });

  it('fails (not hangs) when nothing listens, and hostKey rejects', async () => {
    const { result, hostKey } = await run('true', { t: target({ port: 1, connectTimeoutMs: 2000 }) });
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/ECONNREFUSED|closed|connect/);
    await expect(hostKey).rejects.toThrow(/no host key/);
  });
});

describe('sshCopyFile', () => {
  const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.includes('.oc-'));

  it('copies a buffer with its mode, atomically replacing the destination', async () => {
    const path = join(sshd.dir, 'copied.bin');
    writeFileSync(path, 'old content');
    const oldInode = statSync(path).ino;
    const data = randomBytes(300_000);
    const result = await sshCopyFile(target(), { source: data, size: data.length, path, mode: '0750', timeoutMs: 20_000 }).done;
    expect(result).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(readFileSync(path).equals(data)).toBe(true);
    const st = statSync(path);
    expect(st.mode & 0o7777).toBe(0o750);
    expect(st.ino).not.toBe(oldInode); // renamed into place, not rewritten
    expect(leftovers(sshd.dir)).toEqual([]);
  });

  it('copies a stream, and sets the owner with chown', async (ctx) => {
    const path = join(sshd.dir, 'streamed.txt');
    const parts = ['hello ', 'from ', 'a stream\n'];
    const size = Buffer.byteLength(parts.join(''));
    const owner = isRoot ? { owner: 'nobody:nogroup' } : {};
    const result = await sshCopyFile(target(), { source: Readable.from(parts), size, path, timeoutMs: 20_000, ...owner }).done;
    expect(result.status).toBe('succeeded');
    expect(readFileSync(path, 'utf8')).toBe(parts.join(''));
    expect(statSync(path).mode & 0o7777).toBe(0o644);
    if (!isRoot) return ctx.skip(); // chown to another user needs root
    expect(statSync(path).uid).toBe(Number(execId('-u', 'nobody')));
  });

  it('fails on a size mismatch and leaves neither a temporary file nor a changed destination', async () => {
    const path = join(sshd.dir, 'short.txt');
    writeFileSync(path, 'keep me');
    const short = await sshCopyFile(target(), { source: Readable.from([Buffer.from('abc')]), size: 10, path, timeoutMs: 20_000 }).done;
    expect(short.status).toBe('failed');
    expect(short.error).toMatch(/ended after 3 of 10 bytes/);
    const long = await sshCopyFile(target(), { source: Readable.from([Buffer.alloc(20)]), size: 10, path, timeoutMs: 20_000 }).done;
    expect(long.error).toMatch(/more than the 10 bytes/);
    expect(readFileSync(path, 'utf8')).toBe('keep me');
    expect(leftovers(sshd.dir)).toEqual([]);
  });

  it('fails a copy into a missing directory, and refuses a relative path or a bad mode before connecting', async () => {
    const result = await sshCopyFile(target(), { source: Buffer.from('x'), size: 1, path: join(sshd.dir, 'nope', 'f'), timeoutMs: 20_000 })
      .done;
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/nope/);
    expect(() => sshCopyFile(target(), { source: Buffer.from('x'), size: 1, path: 'relative/f', timeoutMs: 1000 })).toThrow(
      RemoteInputError,
    );
    expect(() => sshCopyFile(target(), { source: Buffer.from('x'), size: 1, path: '/tmp/f', mode: 'rwx', timeoutMs: 1000 })).toThrow(
      /mode/,
    );
    expect(() => sshCopyFile(target(), { source: Buffer.from('x'), size: 1, path: '/tmp/f', owner: 'a b', timeoutMs: 1000 })).toThrow(
      /owner/,
    );
  });
});

function execId(flag: string, user: string): string {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === user)![flag === '-u' ? 2 : 3]!;
}
