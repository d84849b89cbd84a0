/**
 * The SSRF guard refuses every non-public destination — as an IP literal in any spelling, as a name resolving to one
 * (even among public addresses), through a redirect — and lets an admin's allow-listed hosts through. No test makes
 * an outbound connection: refused destinations are refused before connecting, and what connects is on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BlockedDestinationError,
  blockedAddressReason,
  checkDestinationUrl,
  guardedFetch,
  isAllowedHost,
  type HostResolver,
  type ResolvedAddress,
} from '../src/index.ts';
import { reply, startReceiver, type Receiver } from './support/receiver.ts';

const refused: Array<[address: string, reason: string]> = [
  ['0.0.0.0', 'unspecified address'],
  ['0.1.2.3', 'unspecified address'],
  ['10.0.0.5', 'private address'],
  ['10.255.255.255', 'private address'],
  ['100.64.0.1', 'shared (CGNAT) address'],
  ['100.127.255.254', 'shared (CGNAT) address'],
  ['127.0.0.1', 'loopback address'],
  ['127.255.0.9', 'loopback address'],
  ['169.254.169.254', 'link-local address'],
  ['169.254.0.1', 'link-local address'],
  ['172.16.0.1', 'private address'],
  ['172.31.255.255', 'private address'],
  ['192.168.1.1', 'private address'],
  ['192.0.0.8', 'reserved address'],
  ['192.0.2.10', 'documentation address'],
  ['198.18.0.1', 'benchmarking address'],
  ['198.51.100.7', 'documentation address'],
  ['203.0.113.9', 'documentation address'],
  ['224.0.0.1', 'multicast address'],
  ['239.255.255.250', 'multicast address'],
  ['240.0.0.1', 'reserved address'],
  ['255.255.255.255', 'reserved address'],
  ['::', 'unspecified address'],
  ['::1', 'loopback address'],
  ['[::1]', 'loopback address'],
  ['fc00::1', 'private (unique local) address'],
  ['fd12:3456::1', 'private (unique local) address'],
  ['fe80::1', 'link-local address'],
  ['fe80::1%eth0', 'link-local address'],
  ['febf::1', 'link-local address'],
  ['fec0::1', 'site-local address'],
  ['ff02::1', 'multicast address'],
  ['ff05::2', 'multicast address'],
  ['::ffff:10.0.0.1', 'private address 10.0.0.1 in an IPv4-mapped address'],
  ['::ffff:7f00:1', 'loopback address 127.0.0.1 in an IPv4-mapped address'],
  ['::ffff:169.254.169.254', 'link-local address 169.254.169.254 in an IPv4-mapped address'],
  ['::127.0.0.1', 'loopback address 127.0.0.1 in an IPv4-compatible address'],
  ['::ffff:0:192.168.0.1', 'private address 192.168.0.1 in an IPv4-translated address'],
  ['64:ff9b::10.0.0.1', 'private address 10.0.0.1 in a NAT64 address'],
  ['64:ff9b::7f00:1', 'loopback address 127.0.0.1 in a NAT64 address'],
  ['64:ff9b:1::1', 'local-use NAT64 address'],
  ['2002:a00:1::1', 'private address 10.0.0.1 in a 6to4 address'],
  ['2002:7f00:1::', 'loopback address 127.0.0.1 in a 6to4 address'],
  ['2001::1', 'Teredo address'],
  ['2001:db8::1', 'documentation address'],
  ['100::1', 'discard-only address'],
  ['4000::1', 'reserved address'],
  ['example.com', 'not an IP address'],
];

const allowed = [
  '93.184.216.34',
  '8.8.8.8',
  '1.1.1.1',
  '172.32.0.1',
  '100.128.0.1',
  '2606:4700:4700::1111',
  '::ffff:93.184.216.34',
  '64:ff9b::808:808',
  '2002:5db8:d822::1',
];

describe('blockedAddressReason', () => {
  it.each(refused)('refuses %s (%s)', (address, reason) => {
    expect(blockedAddressReason(address)).toBe(reason);
  });
  it.each(allowed)('allows the public address %s', (address) => {
    expect(blockedAddressReason(address)).toBeNull();
  });
});

describe('checkDestinationUrl', () => {
  const literalForms: Array<[url: string, reason: RegExp]> = [
    ['http://127.0.0.1/', /loopback address 127\.0\.0\.1/],
    ['http://2130706433/', /loopback address 127\.0\.0\.1/], // decimal
    ['http://0x7f.1/', /loopback address 127\.0\.0\.1/], // hex
    ['http://0177.0.0.1/', /loopback address 127\.0\.0\.1/], // octal
    ['http://0x7f000001/', /loopback address 127\.0\.0\.1/],
    ['http://017700000001/', /loopback address 127\.0\.0\.1/],
    ['http://127.1/', /loopback address 127\.0\.0\.1/],
    ['http://0/', /unspecified address 0\.0\.0\.0/],
    ['http://167772161/', /private address 10\.0\.0\.1/],
    ['http://[::1]:8080/', /loopback address ::1/],
    ['http://[::ffff:127.0.0.1]/', /loopback address 127\.0\.0\.1 in an IPv4-mapped address/],
    ['http://[::ffff:a00:1]/', /private address 10\.0\.0\.1/],
    ['https://169.254.169.254/latest/meta-data/', /link-local address 169\.254\.169\.254/],
    ['http://[fd00::1]/', /unique local/],
    ['http://[64:ff9b::a00:1]/', /NAT64/],
  ];
  it.each(literalForms)('refuses the IP literal in %s', (url, reason) => {
    expect(() => checkDestinationUrl(url)).toThrow(BlockedDestinationError);
    expect(() => checkDestinationUrl(url)).toThrow(reason);
  });

  it.each([
    'file:///etc/passwd',
    'ftp://example.com/x',
    'gopher://example.com:70/_x',
    'data:text/plain,hi',
    'javascript:alert(1)',
    'ws://example.com/',
  ])('refuses the scheme of %s', (url) => {
    expect(() => checkDestinationUrl(url)).toThrow(/scheme .* is not allowed/);
  });

  it.each(['https://user:pass@example.com/', 'https://user@example.com/', 'https://:pass@example.com/'])(
    'refuses user info in %s',
    (url) => {
      expect(() => checkDestinationUrl(url)).toThrow(/user info/);
    },
  );

  it('refuses what is not a URL', () => {
    expect(() => checkDestinationUrl('not a url')).toThrow(/not a valid URL/);
  });

  it('accepts a public name (checked when resolved) and a public literal', () => {
    expect(checkDestinationUrl('https://hooks.slack.com/services/T/B/X').hostname).toBe('hooks.slack.com');
    expect(checkDestinationUrl('http://93.184.216.34/').hostname).toBe('93.184.216.34');
  });

  it('lets an allow-listed literal through, matched exactly by host or host:port', () => {
    expect(checkDestinationUrl('http://127.0.0.1:9000/', { allowHosts: ['127.0.0.1'] }).port).toBe('9000');
    expect(checkDestinationUrl('http://127.0.0.1:9000/', { allowHosts: ['127.0.0.1:9000'] }).port).toBe('9000');
    expect(() => checkDestinationUrl('http://127.0.0.1:9001/', { allowHosts: ['127.0.0.1:9000'] })).toThrow(BlockedDestinationError);
    expect(() => checkDestinationUrl('http://127.0.0.2/', { allowHosts: ['127.0.0.1'] })).toThrow(BlockedDestinationError);
    expect(checkDestinationUrl('http://[::1]:81/', { allowHosts: ['[::1]:81'] }).hostname).toBe('[::1]');
  });
});

describe('isAllowedHost', () => {
  const cases: Array<[hostname: string, port: string, protocol: string, entries: string[], expected: boolean]> = [
    ['hooks.internal', '', 'https:', ['HOOKS.internal'], true],
    ['hooks.internal', '', 'https:', ['hooks.internal:443'], true],
    ['hooks.internal', '', 'http:', ['hooks.internal:443'], false],
    ['hooks.internal', '8443', 'https:', ['hooks.internal:8443'], true],
    ['evil-hooks.internal', '', 'https:', ['hooks.internal'], false],
    ['hooks.internal.evil.example', '', 'https:', ['hooks.internal'], false],
    ['[::1]', '80', 'http:', ['::1'], true],
    ['[::1]', '80', 'http:', ['[::1]:81'], false],
  ];
  it.each(cases)('%s port %s (%s) with %j: %s', (hostname, port, protocol, entries, expected) => {
    expect(isAllowedHost(hostname, port, protocol, entries)).toBe(expected);
  });
});

describe('guardedFetch', () => {
  let receiver: Receiver;
  let redirectTarget: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
    redirectTarget = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await redirectTarget.close();
  });

  const resolver =
    (answers: Record<string, string[]>): HostResolver =>
    (hostname) => {
      const addresses = answers[hostname];
      if (addresses === undefined) return Promise.reject(Object.assign(new Error(`unknown test name ${hostname}`), { code: 'ENOTFOUND' }));
      return Promise.resolve(addresses.map((address): ResolvedAddress => ({ address, family: address.includes(':') ? 6 : 4 })));
    };

  async function refusal(promise: Promise<unknown>): Promise<BlockedDestinationError> {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BlockedDestinationError);
    return error as BlockedDestinationError;
  }

  it('refuses localhost (it resolves to loopback)', async () => {
    const error = await refusal(guardedFetch(`http://localhost:${receiver.port}/`));
    expect(error.reason).toMatch(/loopback address (127\.0\.0\.1|::1)/);
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses a name resolving to a private address', async () => {
    const error = await refusal(guardedFetch('https://hooks.test/x', {}, { resolve: resolver({ 'hooks.test': ['10.0.0.1'] }) }));
    expect(error.reason).toBe('private address 10.0.0.1');
    expect(error.destination).toBe('hooks.test');
  });

  it('refuses a name whose addresses mix public and loopback: every address is checked', async () => {
    const error = await refusal(
      guardedFetch('https://hooks.test/x', {}, { resolve: resolver({ 'hooks.test': ['93.184.216.34', '127.0.0.1'] }) }),
    );
    expect(error.reason).toBe('loopback address 127.0.0.1');
  });

  it('refuses a name resolving to an IPv4-mapped IPv6 loopback', async () => {
    const error = await refusal(guardedFetch('https://hooks.test/x', {}, { resolve: resolver({ 'hooks.test': ['::ffff:127.0.0.1'] }) }));
    expect(error.reason).toMatch(/IPv4-mapped/);
  });

  it('refuses literal IPs before connecting', async () => {
    await refusal(guardedFetch(`http://127.0.0.1:${receiver.port}/`));
    await refusal(guardedFetch(`http://2130706433:${receiver.port}/`));
    await refusal(guardedFetch(`http://[::ffff:127.0.0.1]:${receiver.port}/`));
    expect(receiver.received).toHaveLength(0);
  });

  it('refuses non-http schemes and user info', async () => {
    await refusal(guardedFetch('file:///etc/passwd'));
    await refusal(guardedFetch(`http://user:secret@127.0.0.1:${receiver.port}/`, {}, { allowHosts: ['127.0.0.1'] }));
    expect(receiver.received).toHaveLength(0);
  });

  it('lets an allow-listed loopback receiver through', async () => {
    const response = await guardedFetch(`${receiver.url}/hello`, { method: 'POST', body: 'hi' }, { allowHosts: ['127.0.0.1'] });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
    expect(receiver.received.at(-1)).toMatchObject({ method: 'POST', url: '/hello', body: 'hi' });
  });

  it('connects to the address it checked, keeping the name as Host (no second lookup to rebind)', async () => {
    let lookups = 0;
    const resolve: HostResolver = () => {
      lookups++;
      return Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
    };
    const response = await guardedFetch(`http://receiver.test:${receiver.port}/pinned`, {}, { allowHosts: ['receiver.test'], resolve });
    expect(response.status).toBe(200);
    expect(lookups).toBe(1);
    expect(receiver.received.at(-1)).toMatchObject({ url: '/pinned', headers: { host: `receiver.test:${receiver.port}` } });
  });

  it('allow-list miss: an allow-listed name does not let another name resolving to the same address through', async () => {
    const resolve = resolver({ 'other.test': ['127.0.0.1'] });
    const error = await refusal(guardedFetch(`http://other.test:${receiver.port}/`, {}, { allowHosts: ['receiver.test'], resolve }));
    expect(error.reason).toBe('loopback address 127.0.0.1');
  });

  it('returns a redirect without following it: the target receives nothing', async () => {
    receiver.respondWith(reply(302, '', { location: `${redirectTarget.url}/stolen` }));
    try {
      const response = await guardedFetch(`${receiver.url}/redirect`, { method: 'POST', body: '{}' }, { allowHosts: ['127.0.0.1'] });
      expect(response.status).toBe(302);
      expect(response.headers.get('location')).toBe(`${redirectTarget.url}/stolen`);
      expect(redirectTarget.received).toHaveLength(0);
    } finally {
      receiver.respondWith(reply(200, 'ok'));
    }
  });

  it('reads at most maxBodyBytes of the response', async () => {
    receiver.respondWith(reply(200, 'x'.repeat(100_000)));
    try {
      const response = await guardedFetch(receiver.url, {}, { allowHosts: ['127.0.0.1'] });
      expect((await response.text()).length).toBe(4096);
    } finally {
      receiver.respondWith(reply(200, 'ok'));
    }
  });
});
