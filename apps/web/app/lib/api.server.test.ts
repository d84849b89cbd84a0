/** The typed client against a real HTTP server on loopback standing in for the API. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiContractError, ApiError, ApiUnreachableError, createApiClient } from './api.server';

const deviceId = '6f1c2b1e-8a7d-4c55-9a57-0d5c7b1b6a11';
let server: Server;
let baseUrl: string;
let lastRequest: IncomingMessage | undefined;

const user = { id: deviceId, email: 'a@example.com', name: 'A', role: 'admin', disabled: false, createdAt: '2025-01-01T00:00:00Z' };

beforeAll(async () => {
  server = createServer((req, res) => {
    lastRequest = req;
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/api/v1/auth/me') return send(200, user);
    if (url.pathname === '/api/v1/devices') return send(200, { items: [], total: 0 });
    if (url.pathname === '/api/v1/job-runs' && req.method === 'POST') {
      return send(
        400,
        {
          type: 'https://opsconductor.dev/problems/validation-failed',
          title: 'The request is not valid.',
          status: 400,
          code: 'validation_failed',
          errors: [
            { path: 'command', message: 'Too long' },
            { path: 'deviceIds.0', message: 'Invalid uuid' },
          ],
        },
        'application/problem+json',
      );
    }
    if (url.pathname === '/api/v1/groups/preview') {
      return send(
        400,
        {
          title: 'The rule is not valid.',
          status: 400,
          code: 'rule_invalid',
          errors: [{ path: 'all.1.value', message: 'expected a number' }],
        },
        'application/problem+json',
      );
    }
    if (url.pathname === '/api/v1/tags') return send(200, { items: [{ tag: 'prod', deviceCount: 2 }] });
    if (url.pathname === '/api/v1/users') return send(200, '{"items": [', 'application/json');
    if (url.pathname === '/api/v1/custom-fields')
      return send(409, { title: 'From a newer API', status: 409, code: 'not_a_code_we_know' }, 'application/problem+json');
    if (url.pathname === '/api/v1/audit-logs') return send(502, '<html>bad gateway</html>', 'text/html');
    send(404, { type: 'about:blank', title: 'Not found.', status: 404, code: 'not_found' }, 'application/problem+json');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = () => createApiClient({ baseUrl, token: 'tok123', forwardedFor: '203.0.113.9', userAgent: 'Browser/1.0' });

describe('createApiClient', () => {
  it('sends the bearer token, the browser IP and User-Agent, and returns the data', async () => {
    await expect(client().get('/auth/me')).resolves.toEqual(user);
    expect(lastRequest?.headers.authorization).toBe('Bearer tok123');
    expect(lastRequest?.headers['x-forwarded-for']).toBe('203.0.113.9');
    expect(lastRequest?.headers['user-agent']).toBe('Browser/1.0');
  });

  it('puts only set query parameters on the URL', async () => {
    await client().get('/devices', { params: { query: { search: 'web 01', status: undefined, tag: '', page: 2 } } });
    expect(lastRequest?.url).toBe('/api/v1/devices?search=web+01&page=2');
  });

  it('sends the device list filters and sort', async () => {
    await client().get('/devices', {
      params: { query: { osFamily: 'linux', tag: 'prod', customField: 'env:prod', groupId: deviceId, sort: 'lastSeenAt', order: 'desc' } },
    });
    const url = new URL(lastRequest?.url ?? '', 'http://x');
    expect(url.pathname).toBe('/api/v1/devices');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      osFamily: 'linux',
      tag: 'prod',
      customField: 'env:prod',
      groupId: deviceId,
      sort: 'lastSeenAt',
      order: 'desc',
    });
    await expect(client().get('/tags')).resolves.toEqual({ items: [{ tag: 'prod', deviceCount: 2 }] });
  });

  it('keeps rule_invalid error paths for the rule builder', async () => {
    const error = await client()
      .post('/groups/preview', { body: { rule: { all: [{ field: 'hostname', op: 'exists' }] } } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, code: 'rule_invalid', errors: [{ path: 'all.1.value', message: 'expected a number' }] });
  });

  it('throws ApiError with field errors from problem+json', async () => {
    const error = await client()
      .post('/job-runs', { body: { deviceIds: [deviceId], command: 'x' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    const e = error as ApiError;
    expect([e.status, e.code, e.title]).toEqual([400, 'validation_failed', 'The request is not valid.']);
    expect(e.fieldErrors()).toEqual({ command: 'Too long', deviceIds: 'Invalid uuid' });
  });

  it('still throws ApiError when the error body is not problem+json', async () => {
    const error = await client()
      .get('/audit-logs')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502, code: 'http_502' });
  });

  it('gives a code it does not know as http_<status>, so that branches on codes stay exhaustive', async () => {
    const error = await client()
      .get('/custom-fields')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 409, code: 'http_409', title: 'From a newer API' });
  });

  it('throws ApiContractError when a 2xx body is not JSON', async () => {
    await expect(client().get('/users')).rejects.toBeInstanceOf(ApiContractError);
  });

  it('throws ApiUnreachableError when nothing listens', async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const api = createApiClient({ baseUrl: `http://127.0.0.1:${port}` });
    await expect(api.get('/auth/me')).rejects.toBeInstanceOf(ApiUnreachableError);
  });

  it('gives plain calls a deadline, and streams none', async () => {
    const stalling = createServer((req, res) => {
      // Plain calls never get an answer; a stream gets its headers, then its body after the deadline.
      if (!req.url?.startsWith('/api/v1/job-runs.csv')) return;
      res.writeHead(200, { 'Content-Type': 'text/csv' });
      setTimeout(() => res.end('id\n'), 300);
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    try {
      const api = createApiClient({ baseUrl: `http://127.0.0.1:${(stalling.address() as AddressInfo).port}`, timeoutMs: 100 });
      await expect(api.get('/auth/me')).rejects.toBeInstanceOf(ApiUnreachableError);
      const csv = await api.stream('/job-runs.csv', 'text/csv');
      await expect(csv.text()).resolves.toBe('id\n');
    } finally {
      stalling.closeAllConnections();
      await new Promise<void>((resolve) => stalling.close(() => resolve()));
    }
  });

  it('lets onError replace the error (e.g. with a redirect Response)', async () => {
    const api = createApiClient({
      baseUrl,
      onError: (e) => {
        if (e instanceof ApiError && e.status === 404) throw new Response(null, { status: 302, headers: { Location: '/login' } });
      },
    });
    const thrown = await api.get('/devices/{id}', { params: { path: { id: deviceId } } }).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(Response);
  });
});
