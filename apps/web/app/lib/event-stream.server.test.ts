/**
 * The run page's event-stream proxy against a real SSE server on loopback: the browser leaving (its
 * request's signal aborts) or the API dropping the stream ends the relayed body; it never errors it,
 * which Remix's adapters would log as a server error (and `vite dev` would show as an overlay).
 */
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { writeReadableStreamToWritable } from '@remix-run/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiClient } from './api.server';
import { relayEventStream } from './event-stream.server';

const runId = '6f1c2b1e-8a7d-4c55-9a57-0d5c7b1b6a11';
let server: Server;
let baseUrl: string;
const open = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    open.add(res);
    const tick = setInterval(() => res.write(`event: output\ndata: {"n":1}\n\n`), 20);
    res.on('close', () => {
      clearInterval(tick);
      open.delete(res);
    });
    // ?drop: the API goes away mid-stream.
    if (req.url?.includes('drop')) setTimeout(() => res.socket?.destroy(), 100);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** What runs.$id.events does: open the API stream with the browser request's signal and relay it. */
async function proxied(browser: AbortController, query: { after?: string } = {}, warnings: string[] = []) {
  const upstream = await createApiClient({ baseUrl, token: 't', signal: browser.signal }).stream(
    '/job-runs/{id}/events',
    'text/event-stream',
    {
      params: { path: { id: runId }, query },
    },
  );
  return relayEventStream(upstream.body, browser.signal, (m) => warnings.push(m));
}

const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });

describe('relayEventStream', () => {
  it('ends the body quietly when the browser leaves mid-stream (production adapter)', async () => {
    const browser = new AbortController();
    const warnings: string[] = [];
    const body = await proxied(browser, {}, warnings);
    setTimeout(() => browser.abort(), 100);
    // @remix-run/express writes the body with this function; a rejection becomes next(error).
    await expect(writeReadableStreamToWritable(body, sink())).resolves.toBeUndefined();
    expect(warnings).toEqual([]);
    await expect.poll(() => open.size).toBe(0); // the upstream request was closed too
  });

  it('ends the body quietly when the browser leaves mid-stream (vite dev adapter)', async () => {
    const browser = new AbortController();
    const body = await proxied(browser);
    // @remix-run/dev pipes Readable.from(body) and awaits its `end`; an error goes to Vite's overlay.
    const readable = Readable.from(body as unknown as AsyncIterable<Uint8Array>);
    readable.pipe(sink());
    setTimeout(() => browser.abort(), 100);
    await expect(once(readable, 'end')).resolves.toBeDefined();
  });

  it('ends the body with a one-line warning when the API drops the stream', async () => {
    const warnings: string[] = [];
    const body = await proxied(new AbortController(), { after: 'drop' }, warnings);
    await expect(writeReadableStreamToWritable(body, sink())).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^\[web\] event stream from the API ended early: /);
  });

  it('passes the events through unchanged', async () => {
    const browser = new AbortController();
    const reader = (await proxied(browser)).getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/^event: output\ndata: \{"n":1\}\n\n/);
    browser.abort();
    await expect(reader.read()).resolves.toEqual({ done: true, value: undefined });
  });
});

describe('createApiClient with the browser gone', () => {
  it('rejects with the abort, not a contract error, when the browser leaves while a body is read', async () => {
    const slow = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"items": ['); // …and the rest never comes
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const browser = new AbortController();
      const reported: unknown[] = [];
      const api = createApiClient({
        baseUrl: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`,
        signal: browser.signal,
        onError: (e) => void reported.push(e),
      });
      setTimeout(() => browser.abort(), 100);
      const error = await api.get('/devices').catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'AbortError' });
      expect(reported).toEqual([]); // onError (which logs contract errors) is never asked
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });
});
