/**
 * HTTP(S) for WS-Management: one keep-alive connection at a time (NTLM authenticates a connection, not a
 * request), Basic or NTLMv2 authentication, TLS certificates checked unless told otherwise, and bounded
 * responses. Refuses Basic over plain HTTP unless `allowBasicOverHttp`, and NTLM over plain HTTP always
 * (no message sealing here: see ntlm.ts).
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { RemoteInputError } from '../types.ts';
import { authenticateMessage, negotiateMessage, tlsChannelBindings } from './ntlm.ts';
import { readResponse, WsmanProtocolError } from './soap.ts';
import type { XmlElement } from './xml.ts';

export interface WinRmTarget {
  /** `https://host:5986/wsman` (or `http://host:5985/wsman` with Basic and allowBasicOverHttp). */
  endpoint: string;
  /** For NTLM: `user`, `DOMAIN\user` or `user@domain`. */
  username: string;
  password: string;
  auth: 'basic' | 'ntlm';
  tls?: { rejectUnauthorized?: boolean /* default true */; ca?: string };
  /** Basic sends the password in the clear without TLS: refused unless this is set. Default false. */
  allowBasicOverHttp?: boolean;
  /** Per HTTP exchange, to connect and get the first byte of a response beyond what the server may wait; default 20 s. */
  connectTimeoutMs?: number;
}

/** Responses beyond this are refused (we ask for envelopes of at most 150 KiB). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  socket: Socket;
}

export function checkWinRmTarget(target: WinRmTarget): URL {
  let url: URL;
  try {
    url = new URL(target.endpoint);
  } catch {
    throw new RemoteInputError('winrm: endpoint is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RemoteInputError('winrm: endpoint must be http:// or https://');
  if (url.username || url.password) throw new RemoteInputError('winrm: put credentials in username and password, not in the endpoint');
  if (!target.username) throw new RemoteInputError('winrm: username is missing');
  if (target.auth !== 'basic' && target.auth !== 'ntlm') throw new RemoteInputError('winrm: auth must be basic or ntlm');
  if (url.protocol === 'http:') {
    if (target.auth === 'ntlm') {
      throw new RemoteInputError('winrm: NTLM over plain HTTP is refused (this client does not seal messages): use https:// (port 5986)');
    }
    if (!target.allowBasicOverHttp) {
      throw new RemoteInputError(
        'winrm: Basic authentication over plain HTTP sends the password in the clear: use https://, or set allowBasicOverHttp',
      );
    }
  }
  return url;
}

export class WsmanTransport {
  readonly url: URL;
  private readonly agent: http.Agent;
  private authenticatedSocket: Socket | undefined;
  private scheme: 'Negotiate' | 'NTLM' = 'Negotiate';

  constructor(private readonly target: WinRmTarget) {
    this.url = checkWinRmTarget(target);
    const options = { keepAlive: true, maxSockets: 1, maxFreeSockets: 1 };
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({
            ...options,
            rejectUnauthorized: target.tls?.rejectUnauthorized ?? true,
            ...(target.tls?.ca ? { ca: target.tls.ca } : {}),
            // No TLS session resumption: a resumed session may not show the server's certificate, which NTLM's
            // channel binding is computed from.
            maxCachedSessions: 0,
          })
        : new http.Agent(options);
  }

  close(): void {
    this.agent.destroy();
  }

  /** POSTs one envelope and returns the response's SOAP body (a fault throws WsmanFault). */
  async post(xml: string, signal: AbortSignal, waitMs: number): Promise<XmlElement> {
    const body = Buffer.from(xml, 'utf8');
    let reply: Reply;
    if (this.target.auth === 'basic') {
      const token = Buffer.from(`${this.target.username}:${this.target.password}`, 'utf8').toString('base64');
      reply = await this.request(body, `Basic ${token}`, signal, waitMs);
    } else if (this.authenticatedSocket && !this.authenticatedSocket.destroyed) {
      reply = await this.request(body, undefined, signal, waitMs);
      if (reply.status === 401) reply = await this.ntlm(body, signal, waitMs);
    } else {
      reply = await this.ntlm(body, signal, waitMs);
    }
    if (reply.status === 401) throw new Error(`winrm: authentication failed for ${this.target.username} (HTTP 401)`);
    if (reply.status !== 200 && reply.status !== 500) {
      throw new Error(
        `winrm: HTTP ${reply.status} from ${this.url.host}${reply.status === 413 ? ' (the request is larger than the server accepts: MaxEnvelopeSizekb)' : ''}`,
      );
    }
    const type = String(reply.headers['content-type'] ?? '');
    if (!/application\/soap\+xml/i.test(type))
      throw new WsmanProtocolError(`winrm: HTTP ${reply.status} with content type "${type.slice(0, 80)}", not SOAP`);
    return readResponse(reply.body.toString('utf8'));
  }

  /** The NTLM handshake on one connection, the last leg carrying the request. */
  private async ntlm(body: Buffer, signal: AbortSignal, waitMs: number): Promise<Reply> {
    this.authenticatedSocket = undefined;
    const negotiate = negotiateMessage();
    let first = await this.request(Buffer.alloc(0), `${this.scheme} ${negotiate.toString('base64')}`, signal, waitMs);
    let challengeToken = this.challengeFrom(first);
    if (!challengeToken && this.scheme === 'Negotiate' && /\bNTLM\b/i.test(String(first.headers['www-authenticate'] ?? ''))) {
      this.scheme = 'NTLM';
      first = await this.request(Buffer.alloc(0), `NTLM ${negotiate.toString('base64')}`, signal, waitMs);
      challengeToken = this.challengeFrom(first);
    }
    if (first.status !== 401 || !challengeToken) {
      throw new Error(`winrm: the server did not answer the NTLM negotiation (HTTP ${first.status}; does it allow Negotiate/NTLM?)`);
    }
    const cert = (first.socket as Partial<TLSSocket>).getPeerCertificate?.(false);
    const authenticate = authenticateMessage({
      negotiate,
      challenge: challengeToken,
      username: this.target.username,
      password: this.target.password,
      targetName: `HTTP/${this.url.hostname}`,
      ...(cert?.raw ? { channelBindings: tlsChannelBindings(cert.raw) } : {}),
    });
    const reply = await this.request(body, `${this.scheme} ${authenticate.toString('base64')}`, signal, waitMs);
    if (reply.socket !== first.socket) throw new Error('winrm: the server closed the connection during NTLM authentication');
    if (reply.status !== 401) this.authenticatedSocket = reply.socket;
    return reply;
  }

  private challengeFrom(reply: Reply): Buffer | undefined {
    const header = reply.headers['www-authenticate'];
    const values = (Array.isArray(header) ? header : [header ?? '']).flatMap((h) => h.split(/,\s*(?=\w+\s)/));
    for (const v of values) {
      const m = /^\s*(Negotiate|NTLM)\s+([A-Za-z0-9+/=]+)\s*$/i.exec(v);
      if (m && m[1]!.toLowerCase() === this.scheme.toLowerCase()) return Buffer.from(m[2]!, 'base64');
    }
    return undefined;
  }

  private request(body: Buffer, authorization: string | undefined, signal: AbortSignal, waitMs: number): Promise<Reply> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error(signal.reason === 'timeout' ? 'timed out' : 'cancelled'));
      const lib = this.url.protocol === 'https:' ? https : http;
      const headers: http.OutgoingHttpHeaders = {
        'Content-Type': 'application/soap+xml;charset=UTF-8',
        'Content-Length': body.length,
        'User-Agent': 'OpsConductor WinRM',
        Connection: 'keep-alive',
      };
      if (authorization) headers.Authorization = authorization;
      const req = lib.request(this.url, { method: 'POST', agent: this.agent, headers });
      let settled = false;
      const finish = (err: Error | undefined, reply?: Reply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(reply!);
      };
      const timer = setTimeout(
        () => finish(new Error(`winrm: no response from ${this.url.host} within ${Math.round(waitMs / 1000)} s`)),
        waitMs,
      );
      const onAbort = () => finish(new Error(signal.reason === 'timeout' ? 'timed out' : 'cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err: Error & { code?: string }) => finish(new Error(describeNetworkError(err, this.url))));
      req.on('response', (res) => {
        const socket = res.socket;
        const parts: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) return finish(new WsmanProtocolError(`winrm: a response larger than ${MAX_RESPONSE_BYTES} bytes`));
          parts.push(chunk);
        });
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), socket }));
        res.on('error', (err) => finish(err));
      });
      req.end(body);
    });
  }
}

function describeNetworkError(err: Error & { code?: string }, url: URL): string {
  const code = err.code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME/.test(code)) {
    return `winrm: the TLS certificate of ${url.host} is not trusted (${code}: ${err.message}); give its CA in tls.ca`;
  }
  return `winrm: ${url.host}: ${err.message}`;
}
