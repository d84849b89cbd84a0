/**
 * A real OpenSSH server on loopback for the SSH tests: Debian's /usr/sbin/sshd (package openssh-server,
 * installed by scripts/ensure-tools.mjs --test) run in the foreground with its own configuration, host key
 * and authorized key in a temporary directory. As root it lets root log in with the key, and
 * `createPasswordUser` adds a throwaway local user for password authentication (removed by `stop`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const SSHD = process.env.SSHD || '/usr/sbin/sshd';
export const isRoot = process.getuid?.() === 0;

export interface Sshd {
  port: number;
  dir: string;
  username: string;
  /** The authorized client key (OpenSSH private key format, no passphrase). */
  clientKey: string;
  /** The host key's fingerprint as `ssh-keygen -l` prints it. */
  hostFingerprint(): string;
  /** A new host key; the server is restarted on the same port. */
  regenerateHostKey(): Promise<void>;
  /** Everything sshd wrote to stderr so far (its log). */
  log(): string;
  /** A new key pair, authorized for the server's user; returns the private key. */
  authorizeNewKey(passphrase: string): Promise<string>;
  /** A local user with a password, for password authentication (root only). */
  createPasswordUser(): { username: string; password: string };
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function keygen(path: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'opsconductor-test', '-f', path], { stdio: 'ignore' });
}

/** Resolves once the server sends its SSH banner. */
async function waitForBanner(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('SSH-'));
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not answer on port ${port}: ${log()}`);
}

export async function startSshd(): Promise<Sshd> {
  if (!existsSync(SSHD)) {
    throw new Error(`${SSHD} not found: install Debian's openssh-server (node scripts/ensure-tools.mjs --test does) or set SSHD`);
  }
  // sshd running as root needs its privilege separation directory.
  if (isRoot) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), 'opsconductor-sshd-'));
  const port = await freePort();
  const hostKey = join(dir, 'host_ed25519');
  keygen(hostKey);
  keygen(join(dir, 'client_ed25519'));
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_ed25519.pub')), { mode: 0o600 });
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The temporary directory sits in /tmp (world-writable): StrictModes would refuse the authorized_keys there.
    'StrictModes no',
    'PermitRootLogin yes',
    'PermitUserEnvironment no',
    'Subsystem sftp internal-sftp',
    'LogLevel INFO',
    'MaxStartups 100:30:200',
  ].join('\n');
  await writeFile(join(dir, 'sshd_config'), config + '\n');
  let logText = '';
  let child: ChildProcess;
  const log = () => logText;
  const start = async () => {
    child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => {
      logText += d.toString();
      if (logText.length > 200_000) logText = logText.slice(-100_000);
    });
    await waitForBanner(port, child, log);
  };
  const halt = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  await start();
  const users: string[] = [];
  return {
    port,
    dir,
    username: userInfo().username,
    clientKey: await readFile(join(dir, 'client_ed25519'), 'utf8'),
    hostFingerprint: () => execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`], { encoding: 'utf8' }).split(' ')[1]!,
    async regenerateHostKey() {
      await halt();
      await rm(hostKey, { force: true });
      await rm(`${hostKey}.pub`, { force: true });
      keygen(hostKey);
      await start();
    },
    log,
    async authorizeNewKey(passphrase) {
      const path = join(dir, `client_${randomBytes(4).toString('hex')}`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'opsconductor-test', '-f', path], { stdio: 'ignore' });
      await appendFile(join(dir, 'authorized_keys'), await readFile(`${path}.pub`));
      return readFile(path, 'utf8');
    },
    createPasswordUser() {
      if (!isRoot) throw new Error('creating a user needs root');
      const username = `ocssh${randomBytes(3).toString('hex')}`;
      const password = `pw-${randomBytes(12).toString('base64url')}`;
      execFileSync('useradd', ['--no-create-home', '--home-dir', '/tmp', '--shell', '/bin/sh', username], { stdio: 'ignore' });
      users.push(username);
      execFileSync('chpasswd', [], { input: `${username}:${password}\n`, stdio: ['pipe', 'ignore', 'ignore'] });
      return { username, password };
    },
    async stop() {
      await halt();
      for (const user of users) execFileSync('userdel', [user], { stdio: 'ignore' });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
