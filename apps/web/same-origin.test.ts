import { describe, expect, it } from 'vitest';
import { parseAllowedOrigins, refusalReason } from './same-origin.mjs';

const self = 'http://127.0.0.1:3000';
const decide = (method: string, headers: { origin?: string; site?: string } = {}, allowedOrigins: string[] = []) =>
  refusalReason({ method, origin: headers.origin, secFetchSite: headers.site, selfOrigin: self, allowedOrigins });

describe('refusalReason', () => {
  it('lets reads through whatever their origin', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS']) expect(decide(method, { origin: 'https://evil.example' })).toBeNull();
  });

  it('accepts a state-changing request from the console itself or a configured origin', () => {
    expect(decide('POST', { origin: self })).toBeNull();
    expect(decide('DELETE', { origin: 'HTTP://127.0.0.1:3000' })).toBeNull();
    expect(decide('POST', { origin: 'https://console.example.com' }, ['https://console.example.com'])).toBeNull();
    expect(decide('POST', { site: 'same-origin' })).toBeNull();
  });

  it('refuses other sites, other ports of the same host, opaque and missing origins, for every unsafe method', () => {
    const forged: Array<{ origin?: string; site?: string }> = [
      { origin: 'https://evil.example' },
      { origin: 'http://127.0.0.1:3001', site: 'same-site' },
      { origin: 'http://localhost:3000' },
      { origin: 'https://127.0.0.1:3000' },
      { origin: 'null' },
      { origin: '' },
      { origin: 'http://127.0.0.1:3000, https://evil.example' },
      // Origin is authoritative: a matching Sec-Fetch-Site does not rescue a foreign Origin.
      { origin: 'https://evil.example', site: 'same-origin' },
      { site: 'cross-site' },
      { site: 'same-site' },
      { site: 'none' },
      {},
    ];
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'patch', 'PROPFIND', 'get', '']) {
      for (const headers of forged) expect(decide(method, headers), `${method} ${JSON.stringify(headers)}`).toEqual(expect.any(String));
    }
  });
});

describe('parseAllowedOrigins', () => {
  it('normalises bare origins and rejects anything else', () => {
    expect(parseAllowedOrigins(undefined)).toEqual([]);
    expect(parseAllowedOrigins(' https://Console.example.com , http://10.0.0.5:8080/ ')).toEqual([
      'https://console.example.com',
      'http://10.0.0.5:8080',
    ]);
    for (const bad of [
      'console.example.com',
      'https://console.example.com/app',
      'https://*.example.com',
      'ftp://x.example',
      'https://a.example?x=1',
    ]) {
      expect(() => parseAllowedOrigins(bad), bad).toThrow(/WEB_ORIGINS/);
    }
  });
});
