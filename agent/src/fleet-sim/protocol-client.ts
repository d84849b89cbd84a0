/**
 * The agent protocol (`/agent/v1`) as the fleet simulator speaks it, over a shared undici dispatcher and,
 * for the calls it carries, over each device's agent channel (a WebSocket, ADR 17) as the real agent does.
 *
 * Every body it sends is checked against the contract's request schema before it goes out, and every
 * answer against the response schema: when the protocol changes, the simulator fails loudly (type errors
 * where it builds bodies, `ProtocolDriftError` at run time) instead of quietly testing an old protocol.
 * Bodies are built with the contract's input types, so a new required field is a compile error here.
 */
import {
  AGENT_API_PREFIX,
  checkinRequest,
  checkinResponse,
  commandResult,
  enrollRequest,
  enrollResponse,
  goodbyeRequest,
  goodbyeResponse,
  heartbeatRequest,
  heartbeatResponse,
  type HeartbeatRequest,
  outputRequest,
  pollResponse,
  problem,
  resultResponse,
  startRequest,
} from '@opsconductor/contracts/agent-protocol';
import { CHANNEL_PROTOCOL_VERSION, type ChannelOp } from '@opsconductor/contracts/agent-channel';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { AgentChannel, ChannelDownError, ChannelRefusedError } from '../channel.ts';

export type EnrollBody = z.input<typeof enrollRequest>;
export type CheckinBody = z.input<typeof checkinRequest>;
export type StartBody = z.input<typeof startRequest>;
export type OutputBody = z.input<typeof outputRequest>;
export type ResultBody = z.input<typeof commandResult>;

/** Time allowed beyond the long-poll's wait before the answer counts as late (as the real agent). */
export const POLL_TIMEOUT_MARGIN_MS = 10_000;
const RESPONSE_LIMIT_BYTES = 16 * 1024 * 1024;

/** The simulator built a body the contract refuses, or the server answered outside the contract. */
export class ProtocolDriftError extends Error {
  override name = 'ProtocolDriftError';
}

/**
 * A failed call. `kind` is what the statistics count: `http_<status>`, `timeout`, `connection` (refused,
 * reset, closed), `invalid_response` (not JSON or outside the contract).
 */
export class ProtocolCallError extends Error {
  override name = 'ProtocolCallError';
  constructor(
    readonly kind: string,
    message: string,
    readonly status?: number,
    readonly code?: string,
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** As the real agent: 5xx, 408, 429 and transport failures are worth retrying; other 4xx are not. */
  get retryable(): boolean {
    return this.status === undefined || this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function transportKind(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && TIMEOUT_CODES.has(code) ? 'timeout' : 'connection';
}

function retryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

interface Call<T> {
  /** The agent channel's name for this call, when it carries it. */
  op?: ChannelOp;
  commandId?: string;
  /** The body over the channel when the HTTP request has none (the long-poll's query). */
  channelBody?: unknown;
  method: 'GET' | 'POST';
  path: string;
  secret?: string;
  request?: { schema: z.ZodType; body: unknown };
  response: z.ZodType<T>;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface ProtocolClientOptions {
  serverUrl: string;
  dispatcher: Dispatcher;
  /** Every call but the long-poll (default 15 s). */
  requestTimeoutMs?: number;
  userAgent: string;
  /** `channel` (default): as the real agent, the channel once the server's check-in offers it; `http`: long-polls. */
  transport?: 'channel' | 'http';
}

export class ProtocolClient {
  private readonly origin: string;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  /** Each device's channel, by its secret. */
  private readonly channels = new Map<string, AgentChannel>();
  private channelOffered = false;

  constructor(private readonly options: ProtocolClientOptions) {
    const url = new URL(options.serverUrl);
    this.origin = url.origin;
    // The server may live under a path prefix (https://host/opsconductor); keep it.
    this.prefix = url.pathname.replace(/\/+$/, '') + AGENT_API_PREFIX;
    this.timeoutMs = options.requestTimeoutMs ?? 15_000;
  }

  /** Closes the device's channel (it went offline; the next call opens a new one), resolved once the server has read everything sent on it. */
  async disconnect(secret: string): Promise<void> {
    const channel = this.channels.get(secret);
    this.channels.delete(secret);
    await channel?.disposeAndWait();
  }

  private channelFor(c: Call<unknown>): AgentChannel | undefined {
    if (!c.op || !c.secret || !this.channelOffered || this.options.transport === 'http') return undefined;
    let channel = this.channels.get(c.secret);
    if (!channel) {
      channel = new AgentChannel({
        serverUrl: this.options.serverUrl,
        authorization: `Bearer ${c.secret}`,
        userAgent: this.options.userAgent,
        connectTimeoutMs: this.timeoutMs,
      });
      this.channels.set(c.secret, channel);
    }
    return channel;
  }

  private async call<T>(c: Call<T>): Promise<T> {
    let body: string | undefined;
    if (c.request) {
      const checked = c.request.schema.safeParse(c.request.body);
      if (!checked.success)
        throw new ProtocolDriftError(`${c.method} ${c.path}: the simulator's body breaks the contract: ${z.prettifyError(checked.error)}`);
      body = JSON.stringify(c.request.body);
    }
    const channel = this.channelFor(c);
    if (channel) {
      const answer = await this.overChannel(channel, c);
      if (answer !== 'use_http') return answer;
    }
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json', 'user-agent': this.options.userAgent };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (c.secret) headers.authorization = `Bearer ${c.secret}`;
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      res = await this.options.dispatcher.request({
        origin: this.origin,
        path: this.prefix + c.path,
        method: c.method,
        headers,
        body: body ?? null,
        headersTimeout: c.timeoutMs,
        bodyTimeout: c.timeoutMs,
        signal: c.signal ?? null,
      });
      text = await readLimited(res.body);
    } catch (err) {
      if (c.signal?.aborted) throw err; // our own doing (the agent went offline): not a failure of the server
      const kind = transportKind(err);
      throw new ProtocolCallError(
        kind,
        `${c.method} ${c.path}: ${kind}: ${(err as Error)?.message ?? String(err)}`,
        undefined,
        undefined,
        undefined,
        { cause: err },
      );
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      let code: string | undefined;
      try {
        code = problem.safeParse(JSON.parse(text)).data?.code;
      } catch {
        // not problem+json (a proxy's page): the status says enough
      }
      throw new ProtocolCallError(
        `http_${res.statusCode}`,
        `${c.method} ${c.path} returned ${res.statusCode}${code ? ` ${code}` : ''}`,
        res.statusCode,
        code,
        retryAfter(res.headers['retry-after']),
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ProtocolCallError('invalid_response', `${c.method} ${c.path} returned a body that is not JSON`);
    }
    const parsed = c.response.safeParse(json);
    if (!parsed.success)
      throw new ProtocolDriftError(`${c.method} ${c.path}: the answer breaks the contract: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  }

  /** The call over the device's channel, checked like its HTTP answer; `use_http` when the server has no channel (404). */
  private async overChannel<T>(channel: AgentChannel, c: Call<T>): Promise<T | 'use_http'> {
    const what = `channel ${c.op}`;
    let reply;
    try {
      reply = await channel.call(c.op!, c.commandId, c.channelBody ?? c.request?.body ?? {}, c.timeoutMs, c.signal);
    } catch (err) {
      if (c.signal?.aborted) throw err;
      if (err instanceof ChannelRefusedError) {
        if (err.status === 404) {
          this.channelOffered = false;
          return 'use_http';
        }
        const code = problem.safeParse(err.body).data?.code;
        throw new ProtocolCallError(`http_${err.status}`, `${what} upgrade returned ${err.status}`, err.status, code, err.retryAfterMs);
      }
      const kind = err instanceof ChannelDownError && err.timedOut ? 'timeout' : 'connection';
      throw new ProtocolCallError(kind, `${what}: ${kind}: ${(err as Error)?.message ?? String(err)}`, undefined, undefined, undefined, {
        cause: err,
      });
    }
    if (reply.status < 200 || reply.status >= 300) {
      const code = problem.safeParse(reply.body).data?.code;
      throw new ProtocolCallError(
        `http_${reply.status}`,
        `${what} returned ${reply.status}${code ? ` ${code}` : ''}`,
        reply.status,
        code,
        reply.retryAfterSeconds === undefined ? undefined : reply.retryAfterSeconds * 1000,
      );
    }
    const parsed = c.response.safeParse(reply.body);
    if (!parsed.success) throw new ProtocolDriftError(`${what}: the answer breaks the contract: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  }

  enroll(body: EnrollBody) {
    return this.call({
      method: 'POST',
      path: '/enroll',
      request: { schema: enrollRequest, body },
      response: enrollResponse,
      timeoutMs: this.timeoutMs,
    });
  }

  async checkin(secret: string, body: CheckinBody, signal?: AbortSignal) {
    const res = await this.call({
      method: 'POST',
      path: '/checkin',
      secret,
      request: { schema: checkinRequest, body },
      response: checkinResponse,
      timeoutMs: this.timeoutMs,
      signal,
    });
    this.channelOffered = (res.protocolVersion ?? 1) >= CHANNEL_PROTOCOL_VERSION;
    return res;
  }

  poll(secret: string, waitSeconds: number, signal?: AbortSignal) {
    return this.call({
      op: 'poll',
      channelBody: { wait: waitSeconds },
      method: 'GET',
      path: `/commands?wait=${waitSeconds}`,
      secret,
      response: pollResponse,
      timeoutMs: waitSeconds * 1000 + POLL_TIMEOUT_MARGIN_MS,
      signal,
    });
  }

  start(secret: string, commandId: string, body: StartBody, signal?: AbortSignal) {
    return this.call({
      op: 'start',
      commandId,
      method: 'POST',
      path: `/commands/${encodeURIComponent(commandId)}/start`,
      secret,
      request: { schema: startRequest, body },
      response: heartbeatResponse,
      timeoutMs: this.timeoutMs,
      signal,
    });
  }

  output(secret: string, commandId: string, body: OutputBody, signal?: AbortSignal) {
    return this.call({
      op: 'output',
      commandId,
      method: 'POST',
      path: `/commands/${encodeURIComponent(commandId)}/output`,
      secret,
      request: { schema: outputRequest, body },
      response: heartbeatResponse,
      timeoutMs: this.timeoutMs,
      signal,
    });
  }

  /** `body` carries a phase only for a server that records phases (its check-in answer lists them). */
  heartbeat(secret: string, commandId: string, signal?: AbortSignal, body: HeartbeatRequest = {}) {
    return this.call({
      op: 'heartbeat',
      commandId,
      method: 'POST',
      path: `/commands/${encodeURIComponent(commandId)}/heartbeat`,
      secret,
      request: { schema: heartbeatRequest, body },
      response: heartbeatResponse,
      timeoutMs: this.timeoutMs,
      signal,
    });
  }

  result(secret: string, commandId: string, body: ResultBody, signal?: AbortSignal) {
    return this.call({
      op: 'result',
      commandId,
      method: 'POST',
      path: `/commands/${encodeURIComponent(commandId)}/result`,
      secret,
      request: { schema: commandResult, body },
      response: resultResponse,
      timeoutMs: this.timeoutMs,
      signal,
    });
  }

  goodbye(secret: string) {
    return this.call({
      method: 'POST',
      path: '/goodbye',
      secret,
      request: { schema: goodbyeRequest, body: {} },
      response: goodbyeResponse,
      timeoutMs: 3000,
    });
  }
}

async function readLimited(body: Dispatcher.ResponseData['body']): Promise<string> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > RESPONSE_LIMIT_BYTES) {
      body.destroy();
      throw new Error(`response body exceeds ${RESPONSE_LIMIT_BYTES} bytes`);
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}
