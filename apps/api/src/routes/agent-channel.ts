/**
 * The agent channel (ADR 17, packages/contracts/src/agent-channel.ts): a WebSocket per agent carrying its
 * long-poll, start, output, heartbeat and result calls. Each call runs the same service code, with the
 * same validation, as its HTTP route, and its reply carries the status that route would answer. What it
 * saves is the HTTP request per call: no connection, header parsing, routing or response object per poll
 * cycle, so 10,000 idle agents cost their sockets and little else.
 *
 * The secret is checked at the upgrade and again (from the revocable cache) on every call; a device whose
 * credentials change or that is retired has its channels closed at once (4001).
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  AGENT_CHANNEL_PATH,
  MAX_CHANNEL_CALLS_IN_FLIGHT,
  MAX_CHANNEL_FRAME_BYTES,
  channelCalls,
  channelCloseCodes,
  channelRequest,
  type ChannelReply,
  type ChannelRequest,
} from '@opsconductor/contracts/agent-channel';
import { AGENT_API_PREFIX } from '@opsconductor/contracts/agent-protocol';
import { channels } from '@opsconductor/db/notify';
import type { ApiDeps, AuthDevice } from '../context.ts';
import { serverBusy } from '../lib/agent-admission.ts';
import { ApiError, RETRY_AFTER_SECONDS, answerForError, problemBody, type ProblemAnswer } from '../lib/problem.ts';
import { agentCommandService } from '../services/agent-commands.ts';

const CHANNEL_URL_PATH = AGENT_API_PREFIX + AGENT_CHANNEL_PATH;

interface Channel {
  ws: WebSocket;
  device: AuthDevice;
  authorization: string;
  /** Aborted when the channel closes: its waiting long-poll ends. */
  closed: AbortController;
  inFlight: number;
  answeredPing: boolean;
}

export class AgentChannelServer {
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CHANNEL_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
  });
  private readonly byDevice = new Map<string, Set<Channel>>();
  /**
   * Channels by the second of the ping period they are pinged in: each second pings one slot, so 10,000 channels
   * cost a few hundred pings a second instead of one 10,000-ping burst (a quarter of a second of the event loop).
   */
  private readonly pingSlots: Set<Channel>[];
  private nextPingSlot = 0;
  private pingTick = 0;
  private readonly pingTimer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private count = 0;
  private stopping = false;

  constructor(private readonly deps: ApiDeps) {
    this.pingSlots = Array.from({ length: deps.config.channelPingSeconds }, () => new Set());
    this.pingTimer = setInterval(() => this.ping(this.pingSlots[this.pingTick++ % this.pingSlots.length]!), 1000);
    this.pingTimer.unref();
    // Rotated, retired or deleted: its open channels go at once (a null payload means "anything may have changed").
    this.unsubscribe = deps.events.subscribeChannel(channels.deviceCredentials, (deviceId) => {
      if (deviceId)
        for (const ch of this.byDevice.get(deviceId) ?? []) ch.ws.close(channelCloseCodes.credentialsChanged, 'credentials changed');
    });
  }

  /** The HTTP server's `upgrade` listener. Anything but the channel's path is answered 404. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const receivedAt = new Date();
    socket.on('error', () => socket.destroy());
    void this.accept(req, socket, head, receivedAt).catch((err: unknown) => {
      refuse(socket, answerForError(err, this.deps.logger, CHANNEL_URL_PATH));
    });
  };

  private async accept(req: IncomingMessage, socket: Duplex, head: Buffer, receivedAt: Date): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== CHANNEL_URL_PATH || req.method !== 'GET') throw new ApiError(404, 'not_found');
    if (this.stopping) throw serverBusy('The server is stopping.');
    if (this.count >= this.deps.config.maxLongPolls) throw serverBusy('Too many agents are connected at once; try again later.');
    const authorization = req.headers.authorization ?? '';
    const device = await this.deps.deviceAuth.authenticate(authorization);
    await this.seen(device, receivedAt);
    if (socket.destroyed) return;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.opened(ws, device, authorization));
  }

  private opened(ws: WebSocket, device: AuthDevice, authorization: string): void {
    const pingSlot = this.nextPingSlot++ % this.pingSlots.length;
    const ch: Channel = { ws, device, authorization, closed: new AbortController(), inFlight: 0, answeredPing: true };
    this.pingSlots[pingSlot]!.add(ch);
    this.count++;
    this.deps.metrics.agentChannels.inc();
    let set = this.byDevice.get(device.id);
    if (!set) this.byDevice.set(device.id, (set = new Set()));
    set.add(ch);
    ws.on('pong', () => (ch.answeredPing = true));
    ws.on('message', (data, isBinary) => this.received(ch, data, isBinary));
    ws.on('error', () => ws.terminate());
    ws.once('close', () => {
      ch.closed.abort();
      this.count--;
      this.deps.metrics.agentChannels.dec();
      set.delete(ch);
      this.pingSlots[pingSlot]!.delete(ch);
      if (set.size === 0) this.byDevice.delete(device.id);
    });
  }

  private received(ch: Channel, data: RawData, isBinary: boolean): void {
    const receivedAt = new Date();
    if (isBinary) return ch.ws.close(1003, 'text frames only');
    let frame: unknown;
    try {
      frame = JSON.parse(rawText(data));
    } catch {
      return ch.ws.close(1007, 'a frame is not JSON');
    }
    const parsed = channelRequest.safeParse(frame);
    if (!parsed.success) {
      // Answerable when it has a usable ID; otherwise the agent could never match an answer to it.
      const id = (frame as { id?: unknown } | null)?.id;
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) > 2 ** 31 - 1) return ch.ws.close(1007, 'a frame has no call ID');
      return this.reply(ch, id as number, answerForError(parsed.error, this.deps.logger, CHANNEL_URL_PATH));
    }
    const call = parsed.data;
    if (ch.inFlight >= MAX_CHANNEL_CALLS_IN_FLIGHT) {
      return this.reply(ch, call.id, {
        status: 429,
        code: 'server_busy',
        detail: `At most ${MAX_CHANNEL_CALLS_IN_FLIGHT} calls may be in flight on a channel.`,
        headers: { 'Retry-After': '1' },
      });
    }
    ch.inFlight++;
    const started = performance.now();
    void this.run(ch, call, receivedAt)
      .then(
        (body) => this.send(ch, { id: call.id, status: 200, body }),
        (err: unknown) => this.reply(ch, call.id, answerForError(err, this.deps.logger, `${CHANNEL_URL_PATH} ${call.op}`)),
      )
      .finally(() => {
        ch.inFlight--;
        if (call.op !== 'poll') this.deps.metrics.channelCallDuration.observe({ op: call.op }, (performance.now() - started) / 1000);
      });
  }

  /** One call, as its HTTP route runs it (routes/agent.ts). */
  private async run(ch: Channel, call: ChannelRequest, receivedAt: Date): Promise<unknown> {
    const spec = channelCalls[call.op];
    if (spec.commandId !== (call.commandId !== undefined)) {
      throw new ApiError(400, 'validation_failed', undefined, [
        { path: 'commandId', message: spec.commandId ? `required for ${call.op}` : `not taken by ${call.op}` },
      ]);
    }
    // From the cache, which forgets a device the moment its credentials change.
    const device = await this.deps.deviceAuth.authenticate(ch.authorization);
    const commands = agentCommandService(this.deps);
    const id = call.commandId!;
    switch (call.op) {
      case 'poll': {
        const { wait } = channelCalls.poll.request.parse(call.body);
        await this.seen(device, receivedAt);
        return commands.poll(device, Math.min(wait, this.deps.config.pollWaitSeconds), ch.closed.signal);
      }
      case 'start':
        return commands.start(device, id, new Date(channelCalls.start.request.parse(call.body).startedAt));
      case 'output':
        return commands.output(device, id, channelCalls.output.request.parse(call.body));
      case 'heartbeat':
        return commands.heartbeat(device, id, channelCalls.heartbeat.request.parse(call.body));
      case 'result':
        return commands.result(device, id, channelCalls.result.request.parse(call.body));
    }
  }

  private async seen(device: AuthDevice, at: Date): Promise<void> {
    if (!(await this.deps.lastSeen.seen(device.id, at))) throw this.deps.deviceAuth.gone(device.id);
  }

  private reply(ch: Channel, id: number, answer: ProblemAnswer): void {
    const retryAfter = Number(answer.headers?.['Retry-After'] ?? (answer.status === 503 ? RETRY_AFTER_SECONDS : Number.NaN));
    this.send(ch, {
      id,
      status: answer.status,
      body: problemBody(answer.status, answer.code, answer.detail, answer.errors),
      ...(Number.isInteger(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
    });
    // Credentials refused: the agent has to learn why over HTTP (rekey, retired) rather than keep calling here.
    if (answer.status === 401) ch.ws.close(channelCloseCodes.credentialsChanged, 'credentials refused');
  }

  private send(ch: Channel, reply: ChannelReply): void {
    if (ch.ws.readyState === ch.ws.OPEN) ch.ws.send(JSON.stringify(reply));
  }

  /** Every channel of the slot gets a ping; one that did not answer its previous ping is cut off (a dead peer). */
  private ping(slot: Set<Channel>): void {
    for (const ch of slot) {
      if (!ch.answeredPing) {
        ch.ws.terminate();
        continue;
      }
      ch.answeredPing = false;
      ch.ws.ping();
    }
  }

  /** Closes every channel (1001: agents reconnect elsewhere or later) and takes no new ones. */
  close(): void {
    this.stopping = true;
    clearInterval(this.pingTimer);
    this.unsubscribe();
    for (const set of this.byDevice.values()) {
      for (const ch of set) {
        ch.closed.abort(); // waiting polls end now, not after the close handshake
        ch.ws.close(channelCloseCodes.serverStopping, 'server stopping');
      }
    }
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
}

/** Answers a refused upgrade with the problem document an HTTP route would have sent, then closes. */
function refuse(socket: Duplex, answer: ProblemAnswer): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(problemBody(answer.status, answer.code, answer.detail, answer.errors));
  const headers: Record<string, string> = {
    ...(answer.status === 503 ? { 'Retry-After': String(RETRY_AFTER_SECONDS) } : {}),
    ...answer.headers,
    'Content-Type': 'application/problem+json',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  };
  const head = [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Error'}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
