import { describe, expect, it } from 'vitest';
import { apiEnvSchema } from '../src/env.ts';
import { clientAddress, parseTrustedProxies, trustNobody } from '../src/lib/client-address.ts';
import { addressKey } from '../src/lib/login-throttle.ts';

describe('trusted proxies', () => {
  const proxies = parseTrustedProxies('127.0.0.1, 10.0.0.0/8, ::1, fd00::/8');

  it('parses addresses and CIDRs of both families and refuses anything else, naming it', () => {
    expect(proxies.trusts('10.20.30.40')).toBe(true);
    expect(proxies.trusts('::ffff:10.1.1.1')).toBe(true);
    expect(proxies.trusts('fd12::1')).toBe(true);
    expect(proxies.trusts('11.0.0.1')).toBe(false);
    expect(proxies.trusts('not an ip')).toBe(false);
    expect(() => parseTrustedProxies('10.0.0.0/33, localhost, 1.2.3.4/8/9')).toThrow(/10\.0\.0\.0\/33, localhost, 1\.2\.3\.4\/8\/9/);
    expect(parseTrustedProxies('').entries).toEqual([]);
  });

  it('believes X-Forwarded-For only from a trusted peer, and then the right-most untrusted hop', () => {
    expect(clientAddress('203.0.113.1', '6.6.6.6', proxies)).toBe('203.0.113.1');
    expect(clientAddress('127.0.0.1', '6.6.6.6', trustNobody)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '6.6.6.6, 198.51.100.2', proxies)).toBe('198.51.100.2');
    expect(clientAddress('127.0.0.1', '198.51.100.2, 10.0.0.5', proxies)).toBe('198.51.100.2');
    expect(clientAddress('127.0.0.1', '10.0.0.6, 10.0.0.5', proxies)).toBe('10.0.0.6'); // all trusted: the farthest
    expect(clientAddress('127.0.0.1', '[2001:db8::1]:443', proxies)).toBe('2001:db8::1');
    expect(clientAddress('127.0.0.1', '198.51.100.3:5000', proxies)).toBe('198.51.100.3');
    expect(clientAddress('127.0.0.1', 'x, <script>', proxies)).toBe('127.0.0.1');
    expect(clientAddress('::ffff:127.0.0.1', undefined, proxies)).toBe('127.0.0.1');
    expect(clientAddress(null, '1.2.3.4', proxies)).toBeNull();
  });

  it('refuses the old TRUST_PROXY=true with a message naming TRUSTED_PROXIES, and accepts false', () => {
    const base = { DATABASE_URL: 'postgresql://x@localhost/db' };
    const refused = apiEnvSchema.safeParse({ ...base, TRUST_PROXY: 'true' });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toMatch(/TRUSTED_PROXIES/);
    expect(apiEnvSchema.safeParse({ ...base, TRUST_PROXY: 'false' }).success).toBe(true);
    const bad = apiEnvSchema.safeParse({ ...base, TRUSTED_PROXIES: '10.0.0.0/99' });
    expect(bad.error?.issues[0]?.message).toMatch(/10\.0\.0\.0\/99/);
    expect(apiEnvSchema.parse({ ...base, TRUSTED_PROXIES: '127.0.0.1' }).TRUSTED_PROXIES.trusts('127.0.0.1')).toBe(true);
    expect(apiEnvSchema.parse(base).TRUSTED_PROXIES.entries).toEqual([]);
  });
});

describe('throttle keys', () => {
  it('groups IPv6 clients by /64 and keeps IPv4 as is', () => {
    expect(addressKey('2001:db8:1:2::7')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:0:0:1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('198.51.100.7')).toBe('198.51.100.7');
    expect(addressKey(null)).toBe('unknown');
  });
});
