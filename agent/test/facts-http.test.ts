import { describe, expect, it, vi } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { deviceFacts } from '@opsconductor/contracts/agent-protocol';
import { collectFacts, ipAddresses, osFamily, parseOsRelease } from '../src/facts.ts';
import { AgentApiError, AgentHttpClient, CredentialsRejectedError, TransportError, type FetchLike } from '../src/http.ts';
import { defaultStateDir } from '../src/state.ts';

vi.setConfig({ testTimeout: 30_000 });

describe('facts', () => {
  it('collects facts that satisfy the protocol schema', async () => {
    const facts = await collectFacts();
    expect(deviceFacts.safeParse(facts).success).toBe(true);
    expect(facts.osFamily).toBe(osFamily());
  });

  it('parses os-release with quotes and escapes', () => {
    const parsed = parseOsRelease(
      'NAME="Ubuntu"\nVERSION_ID="24.04"\nPRETTY_NAME="Ubuntu 24.04.1 LTS \\"Noble\\""\n# comment\nID=ubuntu\n',
    );
    expect(parsed).toMatchObject({ NAME: 'Ubuntu', VERSION_ID: '24.04', PRETTY_NAME: 'Ubuntu 24.04.1 LTS "Noble"', ID: 'ubuntu' });
  });

  it('keeps non-internal addresses only, de-duplicated and capped at 64', () => {
    const info = (address: string, internal = false) =>
      ({ address, internal, family: address.includes(':') ? 'IPv6' : 'IPv4', netmask: '', mac: '', cidr: null }) as never;
    const many = Array.from({ length: 100 }, (_, i) => info(`10.0.${Math.floor(i / 250)}.${i % 250}`));
    expect(
      ipAddresses({ lo: [info('127.0.0.1', true), info('::1', true)], eth0: [info('192.0.2.5'), info('fe80::1'), info('192.0.2.5')] }),
    ).toEqual(['192.0.2.5', 'fe80::1']);
    expect(ipAddresses({ eth0: many })).toHaveLength(64);
  });

  it('picks the state directory from the environment first', () => {
    expect(defaultStateDir({ OPSCONDUCTOR_AGENT_STATE_DIR: '/x/y' })).toBe('/x/y');
    expect(defaultStateDir({ ProgramData: 'D:\\PD' }, 'win32')).toBe('D:\\PD\\OpsConductor\\agent');
  });
});

describe('AgentHttpClient', () => {
  const respond =
    (status: number, body: string, headers: Record<string, string> = {}): FetchLike =>
    async () =>
      new Response(body, { status, headers: { 'content-type': 'application/json', ...headers } });

  it('keeps a path prefix in the server URL and sends the bearer secret', async () => {
    const seen: { url: string; auth: string | null; redirect?: RequestInit['redirect'] }[] = [];
    const client = new AgentHttpClient({
      serverUrl: 'https://example.com/ops',
      deviceSecret: 's3cret',
      fetch: async (input, init) => {
        seen.push({ url: String(input), auth: new Headers(init?.headers).get('authorization'), redirect: init?.redirect });
        return new Response(JSON.stringify({ commands: [], cancel: [] }), { status: 200 });
      },
    });
    await client.poll(25);
    expect(seen).toEqual([{ url: 'https://example.com/ops/agent/v1/commands?wait=25', auth: 'Bearer s3cret', redirect: 'error' }]);
  });

  it('validates responses and classifies failures', async () => {
    const id = randomUUID();
    const client = (fetch: FetchLike) => new AgentHttpClient({ serverUrl: 'https://example.com', deviceSecret: 'x', fetch });
    const problem = (status: number) => JSON.stringify({ type: 'about:blank', title: 't', status, code: `code_${status}` });

    await expect(client(respond(200, '{"cancelRequested":"yes"}')).heartbeat(id)).rejects.toBeInstanceOf(TransportError);
    await expect(client(respond(200, 'not json')).heartbeat(id)).rejects.toBeInstanceOf(TransportError);
    await expect(client(respond(401, problem(401))).heartbeat(id)).rejects.toBeInstanceOf(CredentialsRejectedError);
    const notFound = await client(respond(404, problem(404)))
      .heartbeat(id)
      .catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(AgentApiError);
    expect((notFound as AgentApiError).retryable).toBe(false);
    expect((notFound as AgentApiError).code).toBe('code_404');
    const busy = await client(respond(429, problem(429), { 'retry-after': '7' }))
      .heartbeat(id)
      .catch((e: unknown) => e);
    expect((busy as AgentApiError).retryable).toBe(true);
    expect((busy as AgentApiError).retryAfterMs).toBe(7000);
    await expect(
      client(async () => {
        throw new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') });
      }).heartbeat(id),
    ).rejects.toThrow(/ECONNREFUSED/);
  });

  it('refuses oversized bodies and never follows redirects', async () => {
    const server = createServer((req, res) => {
      if (req.url?.includes('/heartbeat')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ cancelRequested: false, pad: 'x'.repeat(1024 * 1024) }));
      } else {
        res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = new AgentHttpClient({ serverUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, deviceSecret: 'x' });
      await expect(client.heartbeat(randomUUID())).rejects.toThrow(/exceeds/);
      await expect(client.checkin(await collectFacts())).rejects.toBeInstanceOf(TransportError);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
