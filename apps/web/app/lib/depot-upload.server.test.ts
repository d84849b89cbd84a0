import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { forwardUpload } from './depot-upload.server';

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  });
}

const upload = (body: ReadableStream<Uint8Array>, length: number, query = '?fileName=setup.msi') =>
  new Request(`http://console.test/depot/upload${query}`, {
    method: 'POST',
    body,
    duplex: 'half',
    headers: { 'Content-Length': String(length), 'Content-Type': 'application/octet-stream', 'User-Agent': 'test-browser' },
  } as RequestInit);

describe('forwardUpload', () => {
  it('hands the browser’s body stream itself to the API, with the token, the length and the file name', async () => {
    const request = upload(streamOf([new Uint8Array([1, 2, 3])]), 3);
    let seen: { url: string; init: RequestInit & { duplex?: string } } | null = null;
    const answer = await forwardUpload(request, {
      apiUrl: 'http://api.test/',
      token: 'tok',
      forwardedFor: '203.0.113.9',
      fetch: (async (url: string, init: RequestInit) => {
        seen = { url, init };
        return new Response(JSON.stringify({ id: 'a' }), { status: 201, headers: { 'Content-Type': 'application/json' } });
      }) as typeof fetch,
    });
    expect(answer.status).toBe(201);
    expect(await answer.json()).toEqual({ id: 'a' });
    expect(seen!.url).toBe('http://api.test/api/v1/depot/artifacts?fileName=setup.msi');
    expect(seen!.init.body).toBeInstanceOf(ReadableStream);
    expect(new Uint8Array(await new Response(seen!.init.body).arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    expect(seen!.init.duplex).toBe('half');
    expect(seen!.init.headers).toEqual({
      Authorization: 'Bearer tok',
      'Content-Type': 'application/octet-stream',
      Accept: 'application/json, application/problem+json',
      'Content-Length': '3',
      'X-Forwarded-For': '203.0.113.9',
      'User-Agent': 'test-browser',
    });
  });

  it('streams through a real connection: the browser sends the rest only once the API has the start', async () => {
    let received = 0;
    let headers: IncomingHttpHeaders = {};
    let started!: () => void;
    const apiHasTheStart = new Promise<void>((resolve) => (started = resolve));
    const server = createServer((req, res) => {
      headers = req.headers;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        started();
      });
      req.on('end', () => {
        res.writeHead(201, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ size: received }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const chunk = new Uint8Array(64 * 1024).fill(7);
      // Buffering the body before sending it would wait here forever (the test's timeout).
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent === 1) await apiHasTheStart;
          if (sent < 4) {
            controller.enqueue(chunk);
            sent += 1;
          } else controller.close();
        },
      });
      const port = (server.address() as AddressInfo).port;
      const answer = await forwardUpload(upload(body, chunk.length * 4), { apiUrl: `http://127.0.0.1:${port}`, token: 't' });
      expect(await answer.json()).toEqual({ size: chunk.length * 4 });
      expect(headers['content-length']).toBe(String(chunk.length * 4));
      expect(headers['transfer-encoding']).toBeUndefined();
      expect(headers.authorization).toBe('Bearer t');
    } finally {
      server.close();
    }
  }, 10_000);

  it('aborts the call to the API when the browser’s body ends before its Content-Length (a cancelled upload)', async () => {
    let ended = false;
    let gotData!: () => void;
    const apiHasTheStart = new Promise<void>((resolve) => (gotData = resolve));
    let closed!: () => void;
    const apiSawTheEnd = new Promise<void>((resolve) => (closed = resolve));
    const server = createServer((req, res) => {
      req.on('data', () => gotData());
      req.on('end', () => {
        ended = true;
        res.writeHead(201).end('{}');
      });
      req.on('close', () => closed());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      // What Remix hands over when the browser goes away: a stream that simply ends, here after the API has the start.
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (!sent) {
            sent = true;
            controller.enqueue(new Uint8Array(1000));
            return;
          }
          await apiHasTheStart;
          controller.close();
        },
      });
      const answer = await forwardUpload(upload(body, 5000), { apiUrl: `http://127.0.0.1:${port}`, token: 't' });
      expect(answer.status).toBe(400);
      expect(await answer.json()).toMatchObject({ title: 'The upload was cut off' });
      await apiSawTheEnd;
      expect(ended).toBe(false);
    } finally {
      server.close();
    }
  }, 10_000);

  it('requires the Content-Length', async () => {
    const request = new Request('http://console.test/depot/upload?fileName=a', {
      method: 'POST',
      body: streamOf([]),
      duplex: 'half',
    } as RequestInit);
    expect((await forwardUpload(request, { apiUrl: 'http://api.test', token: 't' })).status).toBe(411);
  });

  it('refuses an upload without a file name, and says when the API is unreachable', async () => {
    const noName = await forwardUpload(upload(streamOf([]), 0, ''), { apiUrl: 'http://api.test', token: 't' });
    expect(noName.status).toBe(400);
    const down = await forwardUpload(upload(streamOf([new Uint8Array([1])]), 1), {
      apiUrl: 'http://api.test',
      token: 't',
      fetch: (() => Promise.reject(new TypeError('fetch failed'))) as typeof fetch,
    });
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ code: 'api_unreachable' });
  });
});
