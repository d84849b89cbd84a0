/**
 * The agent's channel client against a bare WebSocket server on loopback: replies matched by call ID in any
 * order, a slow reply that times out one call without dropping the others, a dropped socket failing what is in
 * flight and opening again on the next call, and a reply that is no channel reply closing the socket.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { AgentChannel, ChannelDownError } from '../src/channel.ts';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn();
});

/** A server that hands every frame to `onCall` with a way to answer it. */
async function server(onCall: (call: { id: number; op: string; body: unknown }, answer: (body: unknown) => void, ws: WebSocket) => void) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  let connections = 0;
  wss.on('connection', (ws) => {
    connections++;
    ws.on('message', (data) => {
      const call = JSON.parse(data.toString()) as { id: number; op: string; body: unknown };
      onCall(call, (body) => ws.send(JSON.stringify({ id: call.id, status: 200, body })), ws);
    });
  });
  cleanup.push(() => wss.close());
  const channel = new AgentChannel({
    serverUrl: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    authorization: 'Bearer x',
    userAgent: 'test',
  });
  cleanup.push(() => channel.dispose());
  return { channel, connections: () => connections, wss };
}

describe('the agent channel client', () => {
  it('matches replies to calls by ID, whatever their order', async () => {
    const held: (() => void)[] = [];
    const { channel } = await server((call, answer) => {
      held.push(() => answer({ echo: call.body }));
      if (held.length === 3) for (const a of held.reverse()) a(); // answers the last call first
    });
    const replies = await Promise.all([1, 2, 3].map((n) => channel.call('heartbeat', undefined, { n }, 5000)));
    expect(replies.map((r) => r.body)).toEqual([{ echo: { n: 1 } }, { echo: { n: 2 } }, { echo: { n: 3 } }]);
  });

  it('times out a call the server is slow to answer without dropping the socket or the other calls', async () => {
    const { channel, connections } = await server((call, answer) => {
      if ((call.body as { slow?: boolean }).slow) setTimeout(() => answer({ late: true }), 600);
      else answer({ ok: true });
    });
    const slow = channel.call('poll', undefined, { slow: true }, 200).catch((e: unknown) => e);
    const other = channel.call('start', undefined, {}, 5000);
    expect(await slow).toBeInstanceOf(ChannelDownError);
    expect(await slow).toMatchObject({ timedOut: true });
    expect((await other).body).toEqual({ ok: true });
    await new Promise((r) => setTimeout(r, 700)); // the late reply arrives and is ignored
    expect((await channel.call('start', undefined, {}, 5000)).body).toEqual({ ok: true });
    expect(connections()).toBe(1);
  });

  it('fails the calls in flight when the socket drops, and opens a new one for the next call', async () => {
    let drop = true;
    const { channel, connections } = await server((_call, answer, ws) => {
      if (drop) {
        drop = false;
        ws.terminate();
      } else answer({ ok: true });
    });
    expect(await channel.call('poll', undefined, {}, 5000).catch((e: unknown) => e)).toBeInstanceOf(ChannelDownError);
    expect((await channel.call('poll', undefined, {}, 5000)).body).toEqual({ ok: true });
    expect(connections()).toBe(2);
  });

  it('closes the socket on a reply that is no channel reply, failing the calls in flight', async () => {
    const { channel } = await server((_call, _answer, ws) => ws.send(JSON.stringify({ id: 'one', status: 'fine' })));
    const failed = await channel.call('poll', undefined, {}, 5000).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(ChannelDownError);
    expect(String(failed)).toMatch(/1007/);
  });
});
