/**
 * A WS-Management (WinRM remote shell) replay server on loopback, standing in for Windows, which cannot run
 * here. It answers with the recorded response envelopes in test/fixtures/wsman (as MS-WSMV 4.7 and real
 * servers write them), plays a scripted run per Command (output streams, TimedOut faults, a command that
 * never ends, a file copy), and records every request for the tests to check: action, resource URI,
 * selectors, options, the command line, environment, and the Authorization header.
 *
 * Authentication as Windows does it: Basic (user:password), or NTLM over `Negotiate` per connection: the
 * server sends a CHALLENGE with target info and a timestamp and verifies the client's NTLMv2 response,
 * MIC and channel bindings with the same primitives as the client (src/winrm/ntlm.ts), from the password
 * it knows.
 */
import { createHash, createHmac, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import {
  AV,
  buildAvPairs,
  FLAGS,
  fileTime,
  ntowfv2,
  ntProofStr,
  parseAuthenticate,
  parseAvPairs,
  sessionBaseKey,
  tlsChannelBindings,
} from '../../src/winrm/ntlm.ts';
import { ACTION, NS } from '../../src/winrm/soap.ts';
import { child, children, descendants, parseXml, type XmlElement } from '../../src/winrm/xml.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'wsman');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
export const TLS = {
  cert: readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', 'server-cert.pem'), 'utf8'),
  key: readFileSync(join(import.meta.dirname, '..', 'fixtures', 'tls', 'server-key.pem'), 'utf8'),
};

export type ReceiveStep =
  | { streams?: Array<{ name: 'stdout' | 'stderr'; data: string | Buffer; end?: boolean }>; exitCode?: number; delayMs?: number }
  | { timedOut: true; delayMs?: number }
  /** Never answers: the client has to give up on this Receive. */
  | { hang: true }
  /** A SOAP response of 2 MiB: more than any client should take. */
  | { oversized: true };

/** A command's run, or an Access Denied fault instead of a CommandId. */
export type CommandScript = { receives: ReceiveStep[] } | { copy: true } | { denied: true };

export interface RecordedRequest {
  action: string;
  resourceUri: string | undefined;
  shellId: string | undefined;
  options: Record<string, string>;
  operationTimeout: string | undefined;
  maxEnvelopeSize: string | undefined;
  body: XmlElement;
  authorization: string | undefined;
  /** Which TCP connection carried it (1, 2, …). */
  connection: number;
}

export interface CopiedFile {
  path: string;
  data: Buffer;
}

export interface WsmanServer {
  url: string;
  requests: RecordedRequest[];
  /** Environment variables each Create asked for, by ShellId. */
  shells: Map<string, Array<[string, string]>>;
  /** The decoded PowerShell of each Command (-EncodedCommand), and its stdin when it had any. */
  commands: Array<{ commandId: string; command: string; args: string[]; script: string | undefined; stdin: Buffer }>;
  copies: CopiedFile[];
  ntlm: { handshakes: number; failures: string[] };
  close(): Promise<void>;
}

export interface WsmanServerOptions {
  tls?: boolean;
  auth: { basic: { username: string; password: string } } | { ntlm: { user: string; domain: string; password: string } };
  scripts: CommandScript[];
}

const hmacMd5 = (key: Buffer, ...data: Buffer[]) => {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
};

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => values[name] ?? '');
}

interface NtlmConnection {
  negotiate?: Buffer;
  challenge?: Buffer;
  serverChallenge?: Buffer;
  authenticated: boolean;
}

export async function startWsmanServer(options: WsmanServerOptions): Promise<WsmanServer> {
  const requests: RecordedRequest[] = [];
  const shells = new Map<string, Array<[string, string]>>();
  const commands: WsmanServer['commands'] = [];
  const copies: CopiedFile[] = [];
  const ntlmLog = { handshakes: 0, failures: [] as string[] };
  const running = new Map<string, { script: CommandScript; step: number; stdin: Buffer[]; entry: WsmanServer['commands'][number] }>();
  const connections = new WeakMap<Socket, { id: number; ntlm: NtlmConnection }>();
  const sockets = new Set<Socket>();
  let connectionCount = 0;
  let scriptIndex = 0;
  const certDer = options.tls ? new X509Certificate(TLS.cert).raw : undefined;

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const socket = req.socket;
      let conn = connections.get(socket);
      if (!conn) {
        conn = { id: ++connectionCount, ntlm: { authenticated: false } };
        connections.set(socket, conn);
      }
      const body = Buffer.concat(chunks);
      if (!authenticate(req, res, conn.ntlm)) return;
      if (body.length === 0) {
        res.writeHead(400).end();
        return;
      }
      void respond(body.toString('utf8'), req, res, conn.id);
    });
  };

  /** True when the request may proceed; otherwise the 401 (or challenge) has been sent. */
  function authenticate(req: http.IncomingMessage, res: http.ServerResponse, ntlm: NtlmConnection): boolean {
    const header = req.headers.authorization;
    const deny = (why?: string) => {
      if (why) ntlmLog.failures.push(why);
      res.writeHead(401, { 'WWW-Authenticate': 'basic' in options.auth ? 'Basic realm="WSMAN"' : 'Negotiate', 'Content-Length': 0 }).end();
      return false;
    };
    if ('basic' in options.auth) {
      const expected = `Basic ${Buffer.from(`${options.auth.basic.username}:${options.auth.basic.password}`).toString('base64')}`;
      return header === expected || deny();
    }
    const creds = options.auth.ntlm;
    if (!header) return ntlm.authenticated || deny();
    const m = /^(Negotiate|NTLM) ([A-Za-z0-9+/=]+)$/.exec(header);
    if (!m) return deny('not a Negotiate header');
    const token = Buffer.from(m[2]!, 'base64');
    const type = token.length >= 12 ? token.readUInt32LE(8) : 0;
    if (type === 1) {
      ntlm.authenticated = false;
      ntlm.negotiate = token;
      ntlm.serverChallenge = randomBytes(8);
      const targetInfo = buildAvPairs([
        { id: AV.NB_DOMAIN_NAME, value: Buffer.from('WORKGROUP', 'utf16le') },
        { id: AV.NB_COMPUTER_NAME, value: Buffer.from('WINHOST', 'utf16le') },
        { id: AV.DNS_COMPUTER_NAME, value: Buffer.from('winhost', 'utf16le') },
        { id: AV.TIMESTAMP, value: fileTime() },
      ]);
      const name = Buffer.from('WINHOST', 'utf16le');
      const challenge = Buffer.alloc(56 + name.length + targetInfo.length);
      Buffer.from('NTLMSSP\0', 'latin1').copy(challenge, 0);
      challenge.writeUInt32LE(2, 8);
      challenge.writeUInt16LE(name.length, 12);
      challenge.writeUInt16LE(name.length, 14);
      challenge.writeUInt32LE(56, 16);
      const flags = (token.readUInt32LE(12) & 0xe2088235) | FLAGS.TARGET_INFO | FLAGS.UNICODE | FLAGS.NTLM | 0x00020000; // TARGET_TYPE_SERVER
      challenge.writeUInt32LE(flags >>> 0, 20);
      ntlm.serverChallenge.copy(challenge, 24);
      challenge.writeUInt16LE(targetInfo.length, 40);
      challenge.writeUInt16LE(targetInfo.length, 42);
      challenge.writeUInt32LE(56 + name.length, 44);
      Buffer.from([10, 0, 0x7c, 0x4f, 0, 0, 0, 0x0f]).copy(challenge, 48);
      name.copy(challenge, 56);
      targetInfo.copy(challenge, 56 + name.length);
      ntlm.challenge = challenge;
      ntlmLog.handshakes++;
      res.writeHead(401, { 'WWW-Authenticate': `${m[1]} ${challenge.toString('base64')}`, 'Content-Length': 0 }).end();
      return false;
    }
    if (type !== 3 || !ntlm.challenge || !ntlm.negotiate || !ntlm.serverChallenge)
      return deny('an AUTHENTICATE without a CHALLENGE on this connection');
    const auth = parseAuthenticate(token);
    if (auth.user.toUpperCase() !== creds.user.toUpperCase() || auth.domain.toUpperCase() !== creds.domain.toUpperCase()) {
      return deny(`unknown user ${auth.domain}\\${auth.user}`);
    }
    const key = ntowfv2(creds.password, auth.user, auth.domain);
    const proof = auth.ntResponse.subarray(0, 16);
    const temp = auth.ntResponse.subarray(16);
    if (!ntProofStr(key, ntlm.serverChallenge, temp).equals(proof)) return deny('wrong NTLMv2 response (password)');
    const pairs = parseAvPairs(temp.subarray(28));
    const avFlags = pairs.find((p) => p.id === AV.FLAGS)?.value.readUInt32LE(0) ?? 0;
    if (!(avFlags & 2)) return deny('no MIC although the challenge had a timestamp');
    const zeroed = Buffer.from(token);
    zeroed.fill(0, 72, 88);
    const mic = hmacMd5(sessionBaseKey(key, proof), ntlm.negotiate, ntlm.challenge, zeroed);
    if (!mic.equals(auth.mic)) return deny('wrong MIC');
    const bindings = pairs.find((p) => p.id === AV.CHANNEL_BINDINGS)?.value;
    const expectedBindings = certDer ? tlsChannelBindings(certDer) : Buffer.alloc(16);
    if (!bindings || !bindings.equals(expectedBindings)) return deny('wrong channel bindings');
    ntlm.authenticated = true;
    return true;
  }

  async function respond(xml: string, req: http.IncomingMessage, res: http.ServerResponse, connection: number): Promise<void> {
    const env = parseXml(xml);
    const header = child(env, NS.s, 'Header');
    const body = child(env, NS.s, 'Body')!;
    const text = (ns: string, local: string) => child(header, ns, local)?.text.trim();
    const action = text(NS.a, 'Action') ?? '';
    const messageId = text(NS.a, 'MessageID') ?? '';
    const selector = descendants(header!, NS.w, 'Selector')
      .find((s) => s.attrs.Name === 'ShellId')
      ?.text.trim();
    const opts: Record<string, string> = {};
    for (const o of descendants(header!, NS.w, 'Option')) opts[o.attrs.Name ?? ''] = o.text.trim();
    requests.push({
      action,
      resourceUri: text(NS.w, 'ResourceURI'),
      shellId: selector,
      options: opts,
      operationTimeout: text(NS.w, 'OperationTimeout'),
      maxEnvelopeSize: text(NS.w, 'MaxEnvelopeSize'),
      body,
      authorization: req.headers.authorization,
      connection,
    });
    const common = {
      MessageID: randomUUID().toUpperCase(),
      RelatesTo: messageId,
      To: `${url}`,
      Machine: '127.0.0.1',
      Owner: 'WINHOST\\test',
    };
    const send = (status: number, template: string, values: Record<string, string> = {}) => {
      const out = Buffer.from(fill(fixture(template), { ...common, ...values }), 'utf8');
      res.writeHead(status, { 'Content-Type': 'application/soap+xml;charset=UTF-8', 'Content-Length': out.length }).end(out);
    };
    if (action !== ACTION.create && (!selector || !shells.has(selector)))
      return send(500, 'fault-shell-not-found.xml', { ShellId: selector ?? '' });
    switch (action) {
      case ACTION.create: {
        const shellId = randomUUID().toUpperCase();
        const vars = descendants(body, NS.rsp, 'Variable').map((v): [string, string] => [v.attrs.Name ?? '', v.text]);
        shells.set(shellId, vars);
        return send(200, 'create-response.xml', { ShellId: shellId });
      }
      case ACTION.command: {
        const line = child(body, NS.rsp, 'CommandLine');
        const command = child(line, NS.rsp, 'Command')?.text ?? '';
        const args = children(line, NS.rsp, 'Arguments').map((a) => a.text);
        const encoded = args[args.indexOf('-EncodedCommand') + 1];
        const commandId = randomUUID().toUpperCase();
        const entry = {
          commandId,
          command,
          args,
          script: encoded ? Buffer.from(encoded, 'base64').toString('utf16le') : undefined,
          stdin: Buffer.alloc(0),
        };
        commands.push(entry);
        const script = options.scripts[scriptIndex++] ?? { receives: [{ exitCode: 0 }] };
        if ('denied' in script) return send(500, 'fault-access-denied.xml');
        running.set(commandId, { script, step: 0, stdin: [], entry });
        return send(200, 'command-response.xml', { CommandId: commandId });
      }
      case ACTION.send: {
        for (const s of children(child(body, NS.rsp, 'Send'), NS.rsp, 'Stream')) {
          const run = running.get(s.attrs.CommandId ?? '');
          if (!run) continue;
          run.stdin.push(Buffer.from(s.text.trim(), 'base64'));
          run.entry.stdin = Buffer.concat(run.stdin);
        }
        return send(200, 'send-response.xml');
      }
      case ACTION.receive: {
        const commandId = child(child(body, NS.rsp, 'Receive'), NS.rsp, 'DesiredStream')?.attrs.CommandId ?? '';
        const run = running.get(commandId);
        if (!run) return send(500, 'fault-shell-not-found.xml', { ShellId: selector ?? '' });
        const step: ReceiveStep =
          'copy' in run.script
            ? copyResult(run)
            : 'receives' in run.script
              ? (run.script.receives[run.step++] ?? { exitCode: 0 })
              : { exitCode: 0 };
        if ('hang' in step) {
          // Held open until the client gives up (closes the connection) or the server closes.
          return;
        }
        if ('oversized' in step) {
          const junk = Buffer.alloc(2 * 1024 * 1024, 'A');
          res.writeHead(200, { 'Content-Type': 'application/soap+xml;charset=UTF-8', 'Content-Length': junk.length }).end(junk);
          return;
        }
        if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
        if ('timedOut' in step) return send(500, 'fault-timed-out.xml');
        const streams = (step.streams ?? [])
          .map(
            (s) =>
              `      <rsp:Stream Name="${s.name}" CommandId="${commandId}"${s.end ? ' End="true"' : ''}>${Buffer.from(s.data).toString('base64')}</rsp:Stream>`,
          )
          .join('\n');
        const done = step.exitCode !== undefined;
        return send(200, 'receive-response.xml', {
          CommandId: commandId,
          Streams: streams,
          State: done ? 'Done' : 'Running',
          ExitCode: done ? `<rsp:ExitCode>${step.exitCode}</rsp:ExitCode>` : '',
        });
      }
      case ACTION.signal:
        return send(200, 'signal-response.xml');
      case ACTION.delete:
        shells.delete(selector!);
        return send(200, 'delete-response.xml');
      default:
        res.writeHead(400).end();
    }
  }

  /** Plays the copy program: base64 lines, then `sha256:<hex>`; checks them as the PowerShell would. */
  function copyResult(run: { stdin: Buffer[]; entry: WsmanServer['commands'][number] }): ReceiveStep {
    const lines = Buffer.concat(run.stdin).toString('ascii').split('\r\n').filter(Boolean);
    const last = lines.pop() ?? '';
    const data = Buffer.concat(lines.map((l) => Buffer.from(l, 'base64')));
    const hash = createHash('sha256').update(data).digest('hex');
    const path = /\$path = '((?:[^']|'')*)'/.exec(run.entry.script ?? '')?.[1]?.replaceAll("''", "'") ?? '';
    const size = Number(/\$size = \[long\](\d+)/.exec(run.entry.script ?? '')?.[1]);
    if (last !== `sha256:${hash}` || data.length !== size) {
      return {
        streams: [
          { name: 'stderr', data: `copy check failed: ${data.length} of ${size} bytes, sha256 ${hash}, expected ${last.slice(7)}\r\n` },
        ],
        exitCode: 2,
      };
    }
    copies.push({ path, data });
    return { streams: [{ name: 'stdout', data: `ok ${data.length} ${hash}\r\n` }], exitCode: 0 };
  }

  const server = options.tls ? https.createServer({ cert: TLS.cert, key: TLS.key }, handler) : http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}/wsman`;
  return {
    url,
    requests,
    shells,
    commands,
    copies,
    ntlm: ntlmLog,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
