/**
 * Shell steps over SSH, file copies over SFTP (the ssh2 package, pure JavaScript: its optional native
 * crypto binding is not built, see allowScripts in the root package.json).
 *
 * How a command runs. The SSH exec request carries only a fixed bootstrap, `exec /bin/sh -c '…'`; the script
 * itself (the variables as `export NAME='…'` lines, then the command) goes over the channel's stdin, so neither
 * the command nor a secret shows in the remote process list, and the server's AcceptEnv does not matter. The
 * bootstrap reads the script up to a random end line, then:
 *  - runs it as `eval` in a background subshell with stdin from /dev/null (a command reading stdin sees its end,
 *    as on the agent) and waits for it: its exit code is the step's;
 *  - traps HUP, INT and TERM to kill its whole process group (sshd starts each session in its own), so the
 *    `signal TERM` the client sends on a timeout or a cancel ends the command and its children;
 *  - keeps reading the channel's stdin in a watcher: when the channel closes (a timeout, a cancel, the worker's
 *    connection lost) the watcher sees the end and kills the process group too, so nothing runs on unattended.
 * The remote login shell only parses the bootstrap, which is one line without `!`, backslash pairs or quotes
 * inside, so sh, bash, zsh, ksh, fish and csh all pass it on unchanged. /bin/sh must be a POSIX shell.
 *
 * Host keys: `hostKey.sha256` pins the server's key by its SHA-256 fingerprint as OpenSSH prints it
 * (`SHA256:` + unpadded base64). A different key fails the connection during the key exchange, before any
 * credential is sent. Without a pin the key is trusted on first use and `hostKey` resolves with what was seen.
 */
import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import ssh2, { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { rechunk } from './chunks.ts';
import { errorMessage, scrubber, startExecution, raceAbort, type Outcome } from './execution.ts';
import { redactOutput } from '@opsconductor/command-output';
import { RemoteInputError, type RemoteExecution, type RemoteOutput } from './types.ts';
import { mergeVariables, posixExports, shellQuote } from './variables.ts';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  auth: { password: string } | { privateKey: string; passphrase?: string };
  /** The pinned fingerprint, `SHA256:…` as OpenSSH prints it; without one the key is trusted on first use. */
  hostKey: { sha256?: string };
  /** From the TCP connect to a finished authentication; default 20 s. */
  connectTimeoutMs?: number;
  /** Told the fingerprint of every host key the server shows (before it is checked against the pin). */
  onHostKey?: (fingerprint: string) => void;
}

export interface SshCommand {
  /** A POSIX shell script (run by /bin/sh); it may span lines. */
  command: string;
  env?: Record<string, string>;
  /** Set like env, and redacted from the output. */
  secrets?: Record<string, string>;
  /** From the start (connecting included) to the end of the command. */
  timeoutMs: number;
  onOutput: RemoteOutput;
}

export interface SshFile {
  source: NodeJS.ReadableStream | Buffer;
  /** The exact number of bytes `source` holds: anything else fails the copy and leaves nothing behind. */
  size: number;
  /** Absolute path on the target. */
  path: string;
  /** Octal permission bits, e.g. `0644` (the default) or `755`. */
  mode?: string;
  /** `user` or `user:group`, set with chown(1): the SSH user must be allowed to (root). */
  owner?: string;
  timeoutMs: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
/** After a stop, how long the remote side gets to close the channel before the connection is cut. */
const STOP_GRACE_MS = 5_000;
const FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{43})=?$/;
const OWNER = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}(:[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63})?$/;
const MODE = /^[0-7]{3,4}$/;
/** SFTP write size: OpenSSH's sftp-server takes up to 256 KiB per request; 32 KiB keeps within every server. */
const SFTP_CHUNK = 32 * 1024;

/** The fingerprint OpenSSH prints for a public key blob: `SHA256:` and the unpadded base64 of its SHA-256. */
/**
 * Why a private key cannot be used (unreadable, encrypted without the right passphrase, a public key), or
 * undefined when it can: ssh2 parses it as it would to log in. The message never quotes the key.
 */
export function checkPrivateKey(privateKey: string, passphrase?: string): string | undefined {
  let parsed: ReturnType<typeof ssh2.utils.parseKey>;
  try {
    // ssh2 is CommonJS: `utils` is not among the names Node's ESM loader finds in it.
    parsed = ssh2.utils.parseKey(privateKey, passphrase);
  } catch (err) {
    return errorMessage(err).slice(0, 200);
  }
  const keys = Array.isArray(parsed) ? parsed : [parsed];
  const first = keys[0];
  if (!first || first instanceof Error) return first instanceof Error ? first.message.slice(0, 200) : 'no key found';
  if (!first.isPrivateKey()) return 'this is a public key: give the private key';
  return undefined;
}

export function sshFingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}

function checkTarget(target: SshTarget): string | undefined {
  if (!target.host || /[\s\0]/.test(target.host)) throw new RemoteInputError('ssh: host is missing or malformed');
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) throw new RemoteInputError('ssh: port must be 1–65535');
  if (!target.username || target.username.includes('\0')) throw new RemoteInputError('ssh: username is missing');
  const pin = target.hostKey.sha256;
  if (pin === undefined) return undefined;
  const m = FINGERPRINT.exec(pin.trim());
  if (!m) throw new RemoteInputError('ssh: hostKey.sha256 must look like SHA256:<43 base64 characters>, as ssh-keygen -l prints it');
  return `SHA256:${m[1]}`;
}

interface Connected {
  client: Client;
  /** Resolves once the connection has closed. */
  closed: Promise<void>;
}

/**
 * Connects and authenticates; rejects on a changed host key (before authentication), on failed
 * authentication, or once `signal` aborts.
 */
function connect(
  target: SshTarget,
  pin: string | undefined,
  signal: AbortSignal,
  onHostKey: (fingerprint: string) => void,
): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKeyError: string | undefined;
    let settled = false;
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      client.destroy();
      reject(err);
    };
    const onAbort = () => fail(new Error(signal.reason === 'timeout' ? 'timed out while connecting' : 'cancelled while connecting'));
    signal.addEventListener('abort', onAbort, { once: true });
    client.on('error', (err: Error & { level?: string }) => {
      if (hostKeyError) return fail(new Error(hostKeyError));
      if (err.level === 'client-authentication') return fail(new Error(`ssh: authentication failed for ${target.username}@${target.host}`));
      if (err.level === 'client-timeout')
        return fail(new Error(`ssh: no connection to ${target.host}:${target.port} within the connect timeout`));
      fail(new Error(`ssh: ${err.message}`));
    });
    client.once('close', () => fail(new Error(hostKeyError ?? `ssh: ${target.host}:${target.port} closed the connection`)));
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      resolve({ client, closed });
    });
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.username,
      readyTimeout: target.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => {
        const seen = sshFingerprint(key);
        onHostKey(seen);
        target.onHostKey?.(seen);
        if (pin !== undefined && seen !== pin) {
          hostKeyError = `ssh: host key changed: expected ${pin}, got ${seen} (${target.host}:${target.port})`;
          return false;
        }
        return true;
      },
    };
    if ('password' in target.auth) config.password = target.auth.password;
    else {
      config.privateKey = target.auth.privateKey;
      if (target.auth.passphrase !== undefined) config.passphrase = target.auth.passphrase;
    }
    try {
      client.connect(config);
    } catch (err) {
      // ssh2 parses the private key synchronously: its message names the problem, never the key.
      fail(new Error(`ssh: ${errorMessage(err)}`));
    }
  });
}

/** Ends the connection politely, then for good if the server does not close it. */
async function disconnect({ client, closed }: Connected): Promise<void> {
  client.end();
  const timer = setTimeout(() => client.destroy(), STOP_GRACE_MS);
  await closed;
  clearTimeout(timer);
}

/** The bootstrap the exec request carries; `end` is the line that ends the script on stdin. */
export function bootstrapCommand(end: string): string {
  const script =
    'n=$(printf "\\n_"); n=${n%_}; s=; ok=; ' +
    `while IFS= read -r l; do if [ "$l" = "${end}" ]; then ok=1; break; fi; s="$s$l$n"; done; ` +
    '[ -n "$ok" ] || exit 125; ' +
    'exec 3<&0; ' +
    '{ cat <&3 >/dev/null 2>&1; kill -s KILL 0; } & w=$!; ' +
    'trap "kill -s KILL 0" HUP INT TERM; ' +
    '(eval "$s") </dev/null 3<&- & p=$!; ' +
    'wait $p; r=$?; kill $w 2>/dev/null; exit $r';
  return `exec /bin/sh -c '${script}'`;
}

function exec(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => client.exec(command, (err, channel) => (err ? reject(err) : resolve(channel))));
}

/**
 * Runs a shell command on the target. `hostKey` resolves with the fingerprint the server showed (to pin it
 * after a first use), or rejects when no key was seen (the connection failed before).
 */
export function runSshCommand(target: SshTarget, cmd: SshCommand): { execution: RemoteExecution; hostKey: Promise<string> } {
  const pin = checkTarget(target);
  const variables = mergeVariables(cmd);
  if (cmd.command.includes('\0')) throw new RemoteInputError('ssh: the command holds a NUL character');
  let end = `OC_END_${randomBytes(16).toString('hex')}`;
  while (cmd.command.includes(end) || variables.some(([, v]) => v.includes(end))) end = `OC_END_${randomBytes(16).toString('hex')}`;
  const script = `${posixExports(variables)}${cmd.command}\n${end}\n`;
  const secrets = Object.values(cmd.secrets ?? {});

  let resolveKey!: (fingerprint: string) => void;
  let rejectKey!: (err: Error) => void;
  const hostKey = new Promise<string>((resolve, reject) => {
    resolveKey = resolve;
    rejectKey = reject;
  });
  hostKey.catch(() => {}); // the caller may not ask for it

  const run = async (signal: AbortSignal): Promise<Outcome> => {
    const connected = await connect(target, pin, signal, resolveKey);
    const { client } = connected;
    try {
      const channel = await raceAbort(exec(client, bootstrapCommand(end)), signal);
      return await new Promise<Outcome>((resolve) => {
        const output = redactOutput(secrets, cmd.onOutput);
        let exit: Outcome | undefined;
        channel.on('data', (data: Buffer) => output.output('stdout', data));
        channel.stderr.on('data', (data: Buffer) => output.output('stderr', data));
        channel.on('exit', (code: number | null, signalName?: string) => {
          exit =
            code !== null && code !== undefined
              ? { exitCode: code }
              : { exitCode: null, error: `the command was killed by signal ${signalName ?? 'unknown'}` };
        });
        let finished = false;
        const finish = (fallback: Outcome) => {
          if (finished) return;
          finished = true;
          signal.removeEventListener('abort', stop);
          output.end();
          resolve(exit ?? fallback);
        };
        channel.once('close', () => finish({ exitCode: null, error: 'the channel closed without an exit status' }));
        client.once('close', () => finish({ exitCode: null, error: 'the connection closed before the command ended' }));
        const stop = () => {
          // The bootstrap's trap kills the process group on TERM; closing our side of stdin tells its watcher the same.
          try {
            channel.signal('TERM');
          } catch {
            // the channel is already closing
          }
          channel.end();
          setTimeout(() => client.destroy(), STOP_GRACE_MS).unref();
        };
        if (signal.aborted) stop();
        else signal.addEventListener('abort', stop, { once: true });
        // stdin stays open: the bootstrap's watcher reads it until the channel closes.
        channel.write(script);
      });
    } finally {
      await disconnect(connected);
    }
  };
  const execution = startExecution(cmd.timeoutMs, run, scrubber(secrets));
  void execution.done.then(() => rejectKey(new Error('ssh: no host key was seen (the connection failed before the key exchange)')));
  return { execution, hostKey };
}

function sftpSession(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
}

/** Promisifies one SFTP call; rejects on `signal` too (the connection is then destroyed by the caller). */
function call<T = void>(signal: AbortSignal, op: (cb: (err: Error | undefined | null, value?: T) => void) => void): Promise<T> {
  return raceAbort(new Promise<T>((resolve, reject) => op((err, value) => (err ? reject(err) : resolve(value as T)))), signal);
}

/** Runs a short command of our own (chown) and returns its exit code and the first KiB of its stderr. */
function runQuiet(client: Client, command: string, signal: AbortSignal): Promise<{ code: number | null; stderr: string }> {
  return raceAbort(
    exec(client, command).then(
      (channel) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          let stderr = '';
          let code: number | null = null;
          channel.resume();
          channel.stderr.on('data', (d: Buffer) => {
            if (stderr.length < 1024) stderr += d.toString('utf8').slice(0, 1024 - stderr.length);
          });
          channel.on('exit', (c: number | null) => (code = c));
          channel.once('close', () => resolve({ code, stderr: stderr.trim() }));
          channel.end();
        }),
    ),
    signal,
  );
}

/**
 * Copies a file to the target over SFTP: written to a temporary name in the destination's directory (created
 * exclusively, mode 0600 while it is written), its size checked, its mode set, its owner set with chown when
 * asked, then renamed over the destination atomically (OpenSSH's posix-rename; plain rename where the server
 * lacks it, which does not replace an existing file). On any failure the temporary file is removed.
 */
export function sshCopyFile(target: SshTarget, file: SshFile): RemoteExecution {
  const pin = checkTarget(target);
  if (!posix.isAbsolute(file.path) || file.path.includes('\0') || file.path.endsWith('/')) {
    throw new RemoteInputError('ssh copy: path must be an absolute file path');
  }
  if (!Number.isSafeInteger(file.size) || file.size < 0) throw new RemoteInputError('ssh copy: size must be a whole number of bytes');
  if (Buffer.isBuffer(file.source) && file.source.length !== file.size) {
    throw new RemoteInputError(`ssh copy: size says ${file.size} bytes, the buffer holds ${file.source.length}`);
  }
  const mode = file.mode ?? '0644';
  if (!MODE.test(mode)) throw new RemoteInputError('ssh copy: mode must be octal permission bits such as 0644');
  if (file.owner !== undefined && !OWNER.test(file.owner)) throw new RemoteInputError('ssh copy: owner must be user or user:group');
  const dir = posix.dirname(file.path);
  const temp = posix.join(dir, `.${posix.basename(file.path)}.oc-${randomBytes(6).toString('hex')}.tmp`);

  const run = async (signal: AbortSignal): Promise<Outcome> => {
    const connected = await connect(target, pin, signal, () => {});
    const { client } = connected;
    let created = false;
    let sftp: SFTPWrapper | undefined;
    try {
      sftp = await raceAbort(sftpSession(client), signal);
      const s = sftp;
      const handle = await call<Buffer>(signal, (cb) => s.open(temp, 'wx', { mode: 0o600 }, cb));
      created = true;
      let written = 0;
      try {
        for await (const chunk of rechunk(file.source, SFTP_CHUNK)) {
          if (written + chunk.length > file.size) throw new Error(`the source holds more than the ${file.size} bytes announced`);
          await call(signal, (cb) => s.write(handle, chunk, 0, chunk.length, written, cb));
          written += chunk.length;
        }
        if (written !== file.size) throw new Error(`the source ended after ${written} of ${file.size} bytes`);
        const stats = await call<{ size: number }>(signal, (cb) => s.fstat(handle, cb));
        if (stats.size !== file.size) throw new Error(`the remote file has ${stats.size} bytes, not ${file.size}`);
        await call(signal, (cb) => s.fchmod(handle, parseInt(mode, 8), cb));
      } finally {
        await call(signal, (cb) => s.close(handle, cb)).catch(() => {});
      }
      if (file.owner !== undefined) {
        const r = await runQuiet(client, `chown -- ${shellQuote(file.owner)} ${shellQuote(temp)}`, signal);
        if (r.code !== 0) throw new Error(`chown ${file.owner} failed (exit ${r.code ?? 'none'})${r.stderr ? `: ${r.stderr}` : ''}`);
      }
      try {
        await call(signal, (cb) => s.ext_openssh_rename(temp, file.path, cb));
      } catch (err) {
        if (signal.aborted || !/not support/i.test(errorMessage(err))) throw err;
        await call(signal, (cb) => s.rename(temp, file.path, cb));
      }
      created = false;
      return { exitCode: 0 };
    } catch (err) {
      return { exitCode: null, error: `ssh copy to ${file.path}: ${errorMessage(err)}` };
    } finally {
      if (created && sftp) {
        // Best effort, also after a timeout or a cancel: a few seconds, then the connection goes.
        const s = sftp;
        const timer = setTimeout(() => client.destroy(), STOP_GRACE_MS);
        await new Promise<void>((r) => s.unlink(temp, () => r()));
        clearTimeout(timer);
      }
      await disconnect(connected);
    }
  };
  return startExecution(file.timeoutMs, run);
}
