/**
 * The agent's end of the agent channel (ADR 17, packages/contracts/src/agent-channel.ts): one WebSocket,
 * opened when the first call needs it and again after it drops, carrying calls as request/reply frames.
 * Used by the agent (http.ts) and the fleet simulator alike. It knows nothing of what the calls mean:
 * a reply is handed back with its status for the caller to treat as it treats an HTTP answer.
 */
import WebSocket from 'ws';
import {
  AGENT_CHANNEL_PATH,
  CHANNEL_PING_SECONDS,
  MAX_CHANNEL_FRAME_BYTES,
  channelReply,
  type ChannelOp,
  type ChannelReply,
} from '@opsconductor/contracts/agent-channel';
import { AGENT_API_PREFIX } from '@opsconductor/contracts/agent-protocol';

/** How long a closing agent waits for its channel's close handshake before it says goodbye anyway. */
const CLOSE_WAIT_MS = 2000;

/** The upgrade was answered with an HTTP status instead (404: this server has no channel; 401, 503 …). */
export class ChannelRefusedError extends Error {
  override name = 'ChannelRefusedError';
  constructor(
    readonly status: number,
    /** The answer's JSON (a problem document), when it had one. */
    readonly body: unknown,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`the channel upgrade was answered ${status}`);
  }
}

/** The channel could not be opened, or closed (or stopped answering) before the reply came. */
export class ChannelDownError extends Error {
  override name = 'ChannelDownError';
  /** No reply (or no upgrade answer) in time, rather than refused or dropped. */
  readonly timedOut: boolean;
  /** It failed while opening: the call was never sent. */
  readonly opening: boolean;
  constructor(message: string, o: { timedOut?: boolean; opening?: boolean } = {}) {
    super(message);
    this.timedOut = o.timedOut ?? false;
    this.opening = o.opening ?? false;
  }
}

export interface AgentChannelOptions {
  /** The server's base URL, as configured (http or https, with any path prefix). */
  serverUrl: string;
  /** `Bearer …`. */
  authorization: string;
  userAgent: string;
  /** Longest wait for the upgrade's answer (default 15 s). */
  connectTimeoutMs?: number;
}

interface Pending {
  resolve: (reply: ChannelReply) => void;
  reject: (err: Error) => void;
}

export class AgentChannel {
  private readonly url: string;
  private ws: WebSocket | undefined;
  private opening: Promise<WebSocket> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  /** When the open socket last brought anything (a reply or the server's ping). */
  private lastHeard = 0;

  constructor(private readonly options: AgentChannelOptions) {
    const url = new URL(options.serverUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.pathname = url.pathname.replace(/\/+$/, '') + AGENT_API_PREFIX + AGENT_CHANNEL_PATH;
    url.search = '';
    url.hash = '';
    this.url = url.toString();
  }

  /**
   * Sends one call and resolves with the server's reply. Rejects with ChannelRefusedError when the channel
   * could not be opened because the server said no, ChannelDownError when it is unreachable, dropped or did
   * not answer within `timeoutMs`, and with the signal's reason when aborted (a late reply is ignored). A
   * call that times out drops the socket only when nothing came over it for two ping intervals: a busy
   * server still pings, and its other calls' replies are still on their way.
   */
  async call(op: ChannelOp, commandId: string | undefined, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<ChannelReply> {
    signal?.throwIfAborted();
    const ws = await this.open(signal);
    const id = (this.nextId = (this.nextId + 1) % 2 ** 31);
    return new Promise<ChannelReply>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
      };
      const timer = setTimeout(() => {
        done();
        reject(new ChannelDownError(`${op}: no reply within ${timeoutMs} ms`, { timedOut: true }));
        if (Date.now() - this.lastHeard > 2 * CHANNEL_PING_SECONDS * 1000) ws.terminate();
      }, timeoutMs);
      const onAbort = () => {
        done();
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (reply) => (done(), resolve(reply)),
        reject: (err) => (done(), reject(err)),
      });
      ws.send(JSON.stringify({ id, op, ...(commandId === undefined ? {} : { commandId }), body }), (err) => {
        if (err) this.pending.get(id)?.reject(new ChannelDownError(`${op}: ${err.message}`));
      });
    });
  }

  /** Closes the socket (1000); calls still waiting fail with ChannelDownError. It opens again on the next call. */
  close(): void {
    this.ws?.close(1000, 'agent stopping');
    this.ws = undefined;
    this.failAll('the channel was closed');
  }

  /** Closes for good: no call opens it again. */
  dispose(): void {
    this.closed = true;
    this.close();
  }

  /**
   * {@link dispose}, resolved once the socket has closed (at most `timeoutMs`): the server has then read every
   * frame sent before, so a goodbye sent after it cannot be overtaken by one of them (a poll that marks the device
   * seen again).
   */
  async disposeAndWait(timeoutMs = CLOSE_WAIT_MS): Promise<void> {
    const ws = this.ws;
    this.dispose();
    if (!ws || ws.readyState === ws.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private open(signal?: AbortSignal): Promise<WebSocket> {
    if (this.closed) return Promise.reject(new ChannelDownError('the channel is closed', { opening: true }));
    if (this.ws?.readyState === WebSocket.OPEN) return Promise.resolve(this.ws);
    this.opening ??= this.connect().finally(() => (this.opening = undefined));
    if (!signal) return this.opening;
    const opening = this.opening;
    // Detached again once open: the caller's signal may live as long as the agent.
    return new Promise<WebSocket>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      opening.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private connect(): Promise<WebSocket> {
    return new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(this.url, {
        headers: { authorization: this.options.authorization, 'user-agent': this.options.userAgent },
        handshakeTimeout: this.options.connectTimeoutMs ?? 15_000,
        maxPayload: MAX_CHANNEL_FRAME_BYTES,
        perMessageDeflate: false,
        // Never follow redirects: the bearer secret must only ever go to the configured origin.
        followRedirects: false,
      });
      let settled = false;
      ws.once('unexpected-response', (req, res) => {
        settled = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= 64 * 1024) chunks.push(c);
        });
        res.once('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = undefined;
          }
          const seconds = Number(res.headers['retry-after']);
          reject(new ChannelRefusedError(res.statusCode ?? 0, body, Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined));
          req.destroy();
        });
        res.once('error', () => {
          reject(new ChannelRefusedError(res.statusCode ?? 0, undefined, undefined));
          req.destroy();
        });
      });
      ws.once('open', () => {
        settled = true;
        this.ws = ws;
        this.lastHeard = Date.now();
        resolve(ws);
      });
      ws.on('ping', () => (this.lastHeard = Date.now()));
      ws.on('message', (data, isBinary) => this.received(ws, data, isBinary));
      ws.on('error', (err) => {
        if (!settled) {
          settled = true;
          reject(
            new ChannelDownError(`could not open the channel: ${err.message}`, {
              opening: true,
              timedOut: /timed? ?out/i.test(err.message),
            }),
          );
        }
      });
      ws.once('close', (code, reason) => {
        if (!settled) {
          settled = true;
          reject(new ChannelDownError(`the channel closed while opening (${code})`, { opening: true }));
        }
        if (this.ws === ws) {
          this.ws = undefined;
          this.failAll(`the channel closed (${code}${reason.length ? ` ${reason.toString('utf8')}` : ''})`);
        }
      });
    });
  }

  private received(ws: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    this.lastHeard = Date.now();
    let reply: ChannelReply | undefined;
    if (!isBinary) {
      try {
        reply = channelReply.parse(JSON.parse(data.toString()));
      } catch {
        reply = undefined;
      }
    }
    // A server that speaks something else is no channel to trust with the calls in flight.
    if (!reply) {
      ws.close(1007, 'a reply is not a channel reply');
      return;
    }
    this.pending.get(reply.id)?.resolve(reply);
  }

  private failAll(why: string): void {
    for (const p of [...this.pending.values()]) p.reject(new ChannelDownError(why));
  }
}
