/**
 * The agent channel (protocol 3, ADR 17): one WebSocket per agent at `GET /agent/v1/channel`, opened with
 * the device secret as bearer token, carrying the calls an agent makes all the time (the long-poll,
 * start, output, heartbeat, result) as request and reply frames. Each call has exactly the body and the
 * answer of its HTTP route, and a reply carries the HTTP status the route would have answered, so the
 * agent handles both transports alike. Everything else (enrol, check-in, inventory, files, goodbye) stays
 * HTTP. A server without the channel answers the upgrade 404 and the agent long-polls over HTTP.
 *
 * Frames are JSON text: `{ id, op, commandId?, body }` from the agent, `{ id, status, body, retryAfterSeconds? }`
 * back. `id` is the agent's, unique among its calls in flight; replies may come in any order.
 */
import { z } from 'zod';
import {
  MAX_POLL_WAIT_SECONDS,
  commandResult,
  heartbeatRequest,
  heartbeatResponse,
  outputRequest,
  pollResponse,
  resultResponse,
  startRequest,
} from './agent-protocol.ts';

/** The protocol version from which a server has the channel (its check-in answer says which it speaks). */
export const CHANNEL_PROTOCOL_VERSION = 3;
export const AGENT_CHANNEL_PATH = '/channel';
/** Largest frame either side accepts (as the HTTP routes' body limit); a larger one closes the channel (1009). */
export const MAX_CHANNEL_FRAME_BYTES = 1024 * 1024;
/** Calls an agent may have in flight on its channel; more are answered 429. */
export const MAX_CHANNEL_CALLS_IN_FLIGHT = 32;
/** The server pings every this many seconds and closes a channel whose agent did not answer the previous ping. */
export const CHANNEL_PING_SECONDS = 30;

/** Close codes beyond the standard ones (4000–4999 are the application's). */
export const channelCloseCodes = {
  /** The device's credentials were revoked or it was retired: authenticate again (over HTTP) to learn why. */
  credentialsChanged: 4001,
  /** The server is shutting down (also 1001 from proxies): reconnect with backoff. */
  serverStopping: 1001,
} as const;

/** Each call: the body it sends and the body a 200 reply carries (the HTTP route's, see routes/agent.ts). */
export const channelCalls = {
  poll: {
    request: z.object({ wait: z.number().int().min(0).max(MAX_POLL_WAIT_SECONDS) }).strict(),
    reply: pollResponse,
    commandId: false,
  },
  start: { request: startRequest, reply: heartbeatResponse, commandId: true },
  output: { request: outputRequest, reply: heartbeatResponse, commandId: true },
  /** Servers before command phases took only `{}` here (strict): agents send a phase only to servers that list them. */
  heartbeat: { request: heartbeatRequest, reply: heartbeatResponse, commandId: true },
  result: { request: commandResult, reply: resultResponse, commandId: true },
} as const;
export type ChannelOp = keyof typeof channelCalls;
export const channelOps = Object.keys(channelCalls) as [ChannelOp, ...ChannelOp[]];

const callId = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1);

/** The frame an agent sends; its body is checked against the op's request schema afterwards. */
export const channelRequest = z
  .object({
    id: callId,
    op: z.enum(channelOps),
    commandId: z.uuid().optional(),
    body: z.unknown(),
  })
  .strict();
export type ChannelRequest = z.infer<typeof channelRequest>;

/** The server's answer to one call: `status` as the HTTP route would answer, `body` its JSON (a problem when not 2xx). */
export const channelReply = z.object({
  id: callId,
  status: z.number().int().min(100).max(599),
  body: z.unknown(),
  retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
});
export type ChannelReply = z.infer<typeof channelReply>;
