/**
 * HTTP client for `/agent/v1`. Server data is untrusted here just as agent data is on the server:
 * every response body is size-bounded and validated with the protocol schemas before use.
 */
import {
  AGENT_API_PREFIX,
  checkinResponse,
  enrollResponse,
  GOODBYE_TIMEOUT_MS,
  goodbyeResponse,
  heartbeatResponse,
  type HeartbeatRequest,
  problem as problemSchema,
  resultResponse,
  type CheckinRequest,
  type CommandResult,
  type DeviceFacts,
  type EnrollRequest,
  type OutputRequestBody,
  type Problem,
} from '@opsconductor/contracts/agent-protocol';
import { CHANNEL_PROTOCOL_VERSION, type ChannelOp } from '@opsconductor/contracts/agent-channel';
import { inventoryResponse, type InventoryReport } from '@opsconductor/contracts/inventory';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { z } from 'zod';
import { AgentChannel, ChannelDownError, ChannelRefusedError } from './channel.ts';
import { AGENT_VERSION } from './version.ts';

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
/** A full inventory report can be megabytes; slow links need longer than the default to upload it. */
export const INVENTORY_REQUEST_TIMEOUT_MS = 120_000;
/** Added to the long-poll wait so a server that answers right at `wait` is not cut off. */
export const POLL_TIMEOUT_MARGIN_MS = 10_000;

const SMALL_RESPONSE_LIMIT = 256 * 1024;
/** A poll may carry several 64 KiB command lines; anything beyond this is a broken or hostile server. */
const POLL_RESPONSE_LIMIT = 16 * 1024 * 1024;

/**
 * Commands are validated one by one by the agent (see Agent.handlePoll): one malformed or newer-kind
 * command must not make the whole poll unusable, or the device would be stuck in a retry loop.
 */
export const pollEnvelope = z.object({
  commands: z.array(z.unknown()).max(1000),
  cancel: z.array(z.unknown()).max(10_000),
});
export type PollEnvelope = z.infer<typeof pollEnvelope>;

/** A non-2xx answer. `retryable` follows the protocol: 5xx, 408 and 429 are worth retrying. */
export class AgentApiError extends Error {
  override name = 'AgentApiError';
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    readonly retryAfterMs: number | undefined,
    message: string,
  ) {
    super(message);
  }
  get code(): string | undefined {
    return this.problem?.code;
  }
  get retryable(): boolean {
    return this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

/** 401: the server no longer accepts this device's secret (device deleted, secret rotated). */
export class CredentialsRejectedError extends AgentApiError {
  override name = 'CredentialsRejectedError';
}

/** Connection failure, timeout, oversized or malformed response: always retryable. */
export class TransportError extends Error {
  override name = 'TransportError';
  readonly retryable = true;
}

export function isRetryable(err: unknown): boolean {
  return (err instanceof AgentApiError || err instanceof TransportError) && err.retryable;
}

export function retryAfterMs(err: unknown): number {
  return err instanceof AgentApiError ? (err.retryAfterMs ?? 0) : 0;
}

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface AgentHttpClientOptions {
  serverUrl: string;
  deviceSecret?: string;
  fetch?: FetchLike;
  requestTimeoutMs?: number;
  /**
   * Poll, start, output, heartbeat and result over the agent channel (one WebSocket) once the server's
   * check-in says it has one (protocol 3); default true. Off, or with an older server, they are HTTP requests.
   */
  channel?: boolean;
}

/**
 * When the server is there but its channel is not (an older server behind the URL, a proxy that does not pass
 * WebSockets): HTTP for this long before the channel is tried again.
 */
const CHANNEL_FALLBACK_MS = 10 * 60_000;

/** A problem document from an answer's body, if it is one. */
function problemOf(body: unknown): Problem | undefined {
  const candidate = problemSchema.safeParse(body);
  return candidate.success ? candidate.data : undefined;
}

/** The same from an HTTP answer's text; not JSON (a proxy's HTML error page, say): the status alone has to do. */
function problemOfText(text: string): Problem | undefined {
  try {
    return problemOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** The error for a refused call: 401 means the credentials were rejected, anything else is an AgentApiError. */
function apiError(
  what: string,
  status: number,
  problem: Problem | undefined,
  retryAfter: number | undefined,
  statusText = '',
): AgentApiError {
  const summary = problem
    ? `${problem.code}: ${problem.title}${problem.detail ? ` (${problem.detail})` : ''}`
    : statusText || 'no problem details';
  const message = `${what} returned ${status} ${summary}`;
  if (status === 401) return new CredentialsRejectedError(status, problem, retryAfter, message);
  return new AgentApiError(status, problem, retryAfter, message);
}

interface RequestOptions<T> {
  body?: unknown;
  schema: z.ZodType<T>;
  signal?: AbortSignal;
  timeoutMs?: number;
  maxBytes?: number;
  query?: Record<string, string>;
  authenticated?: boolean;
}

function parseRetryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

async function readLimited(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new TransportError(`response body exceeds ${maxBytes} bytes`);
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString('utf8');
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

export class AgentHttpClient {
  private readonly base: URL;
  private readonly fetchImpl: FetchLike;
  private readonly timeoutMs: number;
  private channel: AgentChannel | undefined;
  /** The server's last check-in answer offered the channel (protocol 3 and later). */
  private channelOffered = false;
  /** The channel could not be had while HTTP worked: HTTP until then. */
  private channelRefusedUntil = 0;

  constructor(private readonly options: AgentHttpClientOptions) {
    this.base = new URL(options.serverUrl);
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  /** The channel, when the calls it carries should go over it now. */
  private channelNow(): AgentChannel | undefined {
    if (this.options.channel === false || !this.channelOffered || Date.now() < this.channelRefusedUntil || !this.options.deviceSecret) {
      return undefined;
    }
    this.channel ??= new AgentChannel({
      serverUrl: this.options.serverUrl,
      authorization: `Bearer ${this.options.deviceSecret}`,
      userAgent: `opsconductor-agent/${AGENT_VERSION}`,
      connectTimeoutMs: this.timeoutMs,
    });
    return this.channel;
  }

  /**
   * A call the channel carries: over the channel when there is one, else as the HTTP request `http`. Its reply
   * is treated like the HTTP answer: same errors, same schema. A refused upgrade (but for 401 and "busy") or one
   * that fails while the same call over HTTP works sends the calls over HTTP for CHANNEL_FALLBACK_MS.
   */
  private async viaChannel<T>(
    call: { op: ChannelOp; commandId?: string; body: unknown; schema: z.ZodType<T>; timeoutMs?: number; signal?: AbortSignal },
    http: () => Promise<T>,
  ): Promise<T> {
    const channel = this.channelNow();
    if (!channel) return http();
    const what = `channel ${call.op}`;
    let reply;
    try {
      reply = await channel.call(call.op, call.commandId, call.body, call.timeoutMs ?? this.timeoutMs, call.signal);
    } catch (err) {
      if (call.signal?.aborted) throw err; // our own shutdown: the caller checks its signal
      if (err instanceof ChannelRefusedError) {
        // Refused credentials and a busy server are answers about the agent, not about the channel.
        if (err.status === 401 || err.status === 429 || err.status === 503) {
          throw apiError(`${what} (upgrade)`, err.status, problemOf(err.body), err.retryAfterMs);
        }
        this.channelRefusedUntil = Date.now() + CHANNEL_FALLBACK_MS;
        return http();
      }
      if (err instanceof ChannelDownError && err.opening) {
        const answer = await http(); // fails too when the server is away: then nothing is decided
        this.channelRefusedUntil = Date.now() + CHANNEL_FALLBACK_MS;
        return answer;
      }
      throw new TransportError(`${what} failed: ${describe(err)}`, { cause: err });
    }
    if (reply.status < 200 || reply.status >= 300) {
      throw apiError(
        what,
        reply.status,
        problemOf(reply.body),
        reply.retryAfterSeconds === undefined ? undefined : reply.retryAfterSeconds * 1000,
      );
    }
    const parsed = call.schema.safeParse(reply.body);
    if (!parsed.success) throw new TransportError(`${what} returned an invalid body: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  }

  /** Closes the channel, if open (the agent is stopping), and waits until the server has read all it was sent. */
  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    await channel?.disposeAndWait();
  }

  /** The server may live under a path prefix (https://host/opsconductor); keep it. */
  private url(path: string, query?: Record<string, string>): URL {
    const url = new URL(this.base);
    url.pathname = url.pathname.replace(/\/+$/, '') + AGENT_API_PREFIX + path;
    url.search = query ? new URLSearchParams(query).toString() : '';
    url.hash = '';
    return url;
  }

  private async request<T>(method: 'GET' | 'POST', path: string, opts: RequestOptions<T>): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    // Combined by hand rather than with AbortSignal.any/timeout: the caller's signal lives as long as
    // the agent, and every request must detach from it again or a long-running agent leaks listeners.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = () => controller.abort(opts.signal?.reason);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const signal = controller.signal;
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      'user-agent': `opsconductor-agent/${AGENT_VERSION}`,
    };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (opts.authenticated !== false) {
      if (!this.options.deviceSecret) throw new Error('device secret required for this call');
      headers.authorization = `Bearer ${this.options.deviceSecret}`;
    }

    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(this.url(path, opts.query), {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal,
        // Never follow redirects: the bearer secret must only ever go to the configured origin.
        redirect: 'error',
      });
      text = await readLimited(res, opts.maxBytes ?? SMALL_RESPONSE_LIMIT);
    } catch (err) {
      if (opts.signal?.aborted) throw err; // our own shutdown: the caller checks its signal
      if (err instanceof TransportError) throw err;
      if (timedOut) throw new TransportError(`${method} ${path} timed out after ${timeoutMs} ms`);
      throw new TransportError(`${method} ${path} failed: ${describe(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }

    if (!res.ok) {
      throw apiError(`${method} ${path}`, res.status, problemOfText(text), parseRetryAfter(res.headers.get('retry-after')), res.statusText);
    }

    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new TransportError(`${method} ${path} returned a body that is not JSON`);
    }
    const parsed = opts.schema.safeParse(json);
    if (!parsed.success) {
      throw new TransportError(`${method} ${path} returned an invalid body: ${z.prettifyError(parsed.error)}`);
    }
    return parsed.data;
  }

  enroll(body: EnrollRequest, signal?: AbortSignal) {
    return this.request('POST', '/enroll', { body, schema: enrollResponse, signal, authenticated: false });
  }

  /** `announce` (protocol 2): the agent's protocol version, capabilities and boot ID; an older server ignores them. */
  async checkin(facts: DeviceFacts, signal?: AbortSignal, announce: Omit<CheckinRequest, 'facts'> = {}) {
    const res = await this.request('POST', '/checkin', { body: { facts, ...announce }, schema: checkinResponse, signal });
    // Set by every check-in: a server that was downgraded goes back to HTTP, an upgraded one gets the channel.
    this.channelOffered = (res.protocolVersion ?? 1) >= CHANNEL_PROTOCOL_VERSION;
    if (!this.channelOffered) this.channel?.close();
    return res;
  }

  poll(waitSeconds: number, signal?: AbortSignal): Promise<PollEnvelope> {
    const timeoutMs = waitSeconds * 1000 + POLL_TIMEOUT_MARGIN_MS;
    return this.viaChannel({ op: 'poll', body: { wait: waitSeconds }, schema: pollEnvelope, timeoutMs, signal }, () =>
      this.request('GET', '/commands', {
        schema: pollEnvelope,
        signal,
        query: { wait: String(waitSeconds) },
        timeoutMs,
        maxBytes: POLL_RESPONSE_LIMIT,
      }),
    );
  }

  /** `cancelRequested: true`: the server no longer wants the command run (older servers may answer `{}`). */
  start(commandId: string, startedAt: string, signal?: AbortSignal) {
    const body = { startedAt };
    const schema = z.object({ cancelRequested: z.boolean().optional() });
    return this.viaChannel({ op: 'start', commandId, body, schema, signal }, () =>
      this.request('POST', `/commands/${encodeURIComponent(commandId)}/start`, { body, schema, signal }),
    );
  }

  /**
   * Downloads a stored file into `file` (created, never overwritten), hashing it as it arrives; refuses
   * more than `maxBytes`. The caller compares size and SHA-256 with what the command says.
   */
  async download(sha256: string, file: string, maxBytes: number, signal?: AbortSignal): Promise<{ size: number; sha256: string }> {
    const headers = { authorization: `Bearer ${this.options.deviceSecret ?? ''}`, 'user-agent': `opsconductor-agent/${AGENT_VERSION}` };
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(`/files/${encodeURIComponent(sha256)}`), { headers, signal, redirect: 'error' });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new TransportError(`GET /files/${sha256} failed: ${describe(err)}`, { cause: err });
    }
    if (!res.ok) {
      const text = await readLimited(res, SMALL_RESPONSE_LIMIT).catch(() => '');
      throw apiError(
        `GET /files/${sha256}`,
        res.status,
        problemOfText(text),
        parseRetryAfter(res.headers.get('retry-after')),
        res.statusText,
      );
    }
    const hash = createHash('sha256');
    let size = 0;
    const handle = await open(file, 'wx', 0o600);
    try {
      if (res.body) {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          size += chunk.byteLength;
          if (size > maxBytes) throw new TransportError(`the file is larger than the ${maxBytes} bytes the command says`);
          hash.update(chunk);
          await handle.write(chunk);
        }
      }
      await handle.sync();
    } catch (err) {
      if (signal?.aborted || err instanceof TransportError) throw err;
      throw new TransportError(`GET /files/${sha256} failed while reading: ${describe(err)}`, { cause: err });
    } finally {
      await handle.close();
    }
    return { size, sha256: hash.digest('hex') };
  }

  /**
   * Opens `GET /artifacts/{sha256}` (from `offset` with a Range request) and hands back the response for the
   * caller to stream: 200, 206 and 416 are answers a resuming download deals with; any other status throws
   * as the other calls do. The caller bounds the body and checks the bytes against the signed manifest.
   */
  async openArtifact(sha256: string, offset: number, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.deviceSecret ?? ''}`,
      'user-agent': `opsconductor-agent/${AGENT_VERSION}`,
      // The bytes must arrive as stored: a compressed transfer would make ranges and sizes mean something else.
      'accept-encoding': 'identity',
    };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const what = `GET /artifacts/${sha256}`;
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(`/artifacts/${encodeURIComponent(sha256)}`), { headers, signal, redirect: 'error' });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new TransportError(`${what} failed: ${describe(err)}`, { cause: err });
    }
    if (res.status === 200 || res.status === 206 || res.status === 416) return res;
    const text = await readLimited(res, SMALL_RESPONSE_LIMIT).catch(() => '');
    throw apiError(what, res.status, problemOfText(text), parseRetryAfter(res.headers.get('retry-after')), res.statusText);
  }

  output(commandId: string, chunk: OutputRequestBody, signal?: AbortSignal) {
    return this.viaChannel({ op: 'output', commandId, body: chunk, schema: heartbeatResponse, signal }, () =>
      this.request('POST', `/commands/${encodeURIComponent(commandId)}/output`, { body: chunk, schema: heartbeatResponse, signal }),
    );
  }

  /** `body` carries the command's phase only for a server that records phases (it said so at check-in). */
  heartbeat(commandId: string, signal?: AbortSignal, body: HeartbeatRequest = {}) {
    return this.viaChannel({ op: 'heartbeat', commandId, body, schema: heartbeatResponse, signal }, () =>
      this.request('POST', `/commands/${encodeURIComponent(commandId)}/heartbeat`, { body, schema: heartbeatResponse, signal }),
    );
  }

  inventory(report: InventoryReport, signal?: AbortSignal) {
    return this.request('POST', '/inventory', {
      body: report,
      schema: inventoryResponse,
      signal,
      timeoutMs: Math.max(this.timeoutMs, INVENTORY_REQUEST_TIMEOUT_MS),
    });
  }

  /** Tells the server this agent is stopping; bounded by a short timeout, never retried. */
  goodbye(signal?: AbortSignal) {
    return this.request('POST', '/goodbye', { body: {}, schema: goodbyeResponse, signal, timeoutMs: GOODBYE_TIMEOUT_MS });
  }

  result(commandId: string, result: CommandResult, signal?: AbortSignal) {
    return this.viaChannel({ op: 'result', commandId, body: result, schema: resultResponse, signal }, () =>
      this.request('POST', `/commands/${encodeURIComponent(commandId)}/result`, { body: result, schema: resultResponse, signal }),
    );
  }
}
