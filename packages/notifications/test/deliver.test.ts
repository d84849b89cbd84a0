/**
 * deliver() against real HTTP servers on loopback standing in for Slack, Teams, Discord, a webhook receiver and
 * Resend: what they receive is each platform's format, webhooks are signed, and every outcome is classified so the
 * caller retries what may pass later and nothing else.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import {
  deliver,
  type DeliveryOptions,
  type DiscordPayload,
  type SlackPayload,
  type TeamsPayload,
  type WebhookPayload,
} from '../src/index.ts';
import { alertMessage, hostileMessage } from './support/messages.ts';
import { reply, startReceiver, type Receiver } from './support/receiver.ts';
import { validateDiscord, validateSlack, validateTeams } from './support/validators.ts';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const loopback: DeliveryOptions = { allowHosts: ['127.0.0.1'] };

let receiver: Receiver;
let other: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
  other = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  await other.close();
});
afterEach(() => {
  receiver.respondWith(reply(200, 'ok'));
  receiver.received.length = 0;
  other.received.length = 0;
});

function lastJson<T>(): T {
  const request = receiver.received.at(-1);
  expect(request?.method).toBe('POST');
  expect(request?.headers['content-type']).toBe('application/json');
  return JSON.parse(request!.body) as T;
}

describe('chat deliveries', () => {
  it('Slack receives a valid Block Kit message through @slack/webhook', async () => {
    const result = await deliver({ type: 'slack', webhookUrl: `${receiver.url}/services/T/B/X` }, hostileMessage(), loopback);
    expect(result).toEqual({ ok: true, responseCode: 200, detail: 'ok', retryable: false });
    expect(receiver.received.at(-1)?.url).toBe('/services/T/B/X');
    expect(validateSlack(lastJson<SlackPayload>())).toEqual([]);
  });

  it('Teams receives an Adaptive Card message (202 Accepted is delivered)', async () => {
    receiver.respondWith(reply(202));
    const result = await deliver({ type: 'teams', webhookUrl: `${receiver.url}/workflows/1` }, hostileMessage(), loopback);
    expect(result).toEqual({ ok: true, responseCode: 202, detail: null, retryable: false });
    expect(validateTeams(lastJson<TeamsPayload>())).toEqual([]);
  });

  it('Discord receives one embed within every limit, with mentions disabled (204 is delivered)', async () => {
    receiver.respondWith(reply(204));
    const result = await deliver({ type: 'discord', webhookUrl: `${receiver.url}/api/webhooks/1/t` }, hostileMessage(), loopback);
    expect(result).toMatchObject({ ok: true, responseCode: 204 });
    const payload = lastJson<DiscordPayload>();
    expect(validateDiscord(payload)).toEqual([]);
    expect(payload.allowed_mentions).toEqual({ parse: [] });
  });

  it('Slack: 429 with Retry-After is retryable after that long (the headers survive the library)', async () => {
    receiver.respondWith(reply(429, 'rate_limited', { 'retry-after': '30' }));
    const result = await deliver({ type: 'slack', webhookUrl: receiver.url }, alertMessage(), loopback);
    expect(result).toEqual({ ok: false, responseCode: 429, detail: 'rate_limited', retryable: true, retryAfterSeconds: 30 });
  });

  it('Slack: 404 no_service is final', async () => {
    receiver.respondWith(reply(404, 'no_service'));
    const result = await deliver({ type: 'slack', webhookUrl: receiver.url }, alertMessage(), loopback);
    expect(result).toEqual({ ok: false, responseCode: 404, detail: 'no_service', retryable: false });
  });

  it('Slack: a redirect is not followed', async () => {
    receiver.respondWith(reply(302, '', { location: `${other.url}/elsewhere` }));
    const result = await deliver({ type: 'slack', webhookUrl: receiver.url }, alertMessage(), loopback);
    expect(result).toMatchObject({ ok: false, responseCode: 302, retryable: false });
    expect(other.received).toHaveLength(0);
  });

  it('Slack: a webhook that never answers times out, retryable', async () => {
    receiver.respondWith(() => undefined);
    const result = await deliver({ type: 'slack', webhookUrl: receiver.url }, alertMessage(), { ...loopback, timeoutMs: 300 });
    expect(result).toEqual({ ok: false, responseCode: null, detail: 'no response within 300 ms', retryable: true });
  });

  it('Slack: a refused destination is final and nothing is sent', async () => {
    const result = await deliver({ type: 'slack', webhookUrl: receiver.url }, alertMessage());
    expect(result).toMatchObject({ ok: false, responseCode: null, retryable: false });
    expect(result.detail).toMatch(/loopback address 127\.0\.0\.1/);
    expect(receiver.received).toHaveLength(0);
  });
});

describe('signed generic webhook', () => {
  const channel = () => ({ type: 'webhook' as const, url: `${receiver.url}/hooks/opsconductor`, signingSecret: SECRET });

  it('is a Standard Webhooks request whose signature verifies, and a tampered body does not', async () => {
    const result = await deliver(channel(), alertMessage({ kind: 'resolved' }), { ...loopback, messageId: 'msg_alert42_resolved' });
    expect(result).toMatchObject({ ok: true, responseCode: 200 });
    const request = receiver.received.at(-1)!;
    const headers = {
      'webhook-id': String(request.headers['webhook-id']),
      'webhook-timestamp': String(request.headers['webhook-timestamp']),
      'webhook-signature': String(request.headers['webhook-signature']),
    };
    expect(headers['webhook-id']).toBe('msg_alert42_resolved');
    const verified = new Webhook(SECRET).verify(request.body, headers) as WebhookPayload;
    expect(verified).toMatchObject({ type: 'alert.resolved', timestamp: '2026-12-04T21:00:00.000Z', data: { kind: 'resolved', count: 1 } });
    const tampered = request.body.replace('"resolved"', '"opened"');
    expect(() => new Webhook(SECRET).verify(tampered, headers)).toThrow();
    const otherSecret = `whsec_${Buffer.alloc(32, 8).toString('base64')}`;
    expect(() => new Webhook(otherSecret).verify(request.body, headers)).toThrow();
  });

  it('signs with the given clock (a stale signature is refused by receivers)', async () => {
    await deliver(channel(), alertMessage(), { ...loopback, now: () => new Date('2026-01-01T00:00:00Z') });
    const request = receiver.received.at(-1)!;
    expect(request.headers['webhook-timestamp']).toBe(String(Date.parse('2026-01-01T00:00:00Z') / 1000));
    const headers = {
      'webhook-id': String(request.headers['webhook-id']),
      'webhook-timestamp': String(request.headers['webhook-timestamp']),
      'webhook-signature': String(request.headers['webhook-signature']),
    };
    expect(() => new Webhook(SECRET).verify(request.body, headers)).toThrow(/timestamp/i);
  });

  it.each(['', 'secret', 'whsec_', 'whsec_not base64!', `whsec_${Buffer.alloc(8).toString('base64')}`])(
    'refuses the signing secret %j without sending',
    async (signingSecret) => {
      const result = await deliver({ ...channel(), signingSecret }, alertMessage(), loopback);
      expect(result).toMatchObject({ ok: false, responseCode: null, retryable: false });
      expect(receiver.received).toHaveLength(0);
    },
  );
});

describe('classifying responses', () => {
  const cases: Array<[status: number, headers: Record<string, string>, retryable: boolean, retryAfter: number | undefined]> = [
    [500, {}, true, undefined],
    [502, {}, true, undefined],
    [503, { 'retry-after': '120' }, true, 120],
    [429, { 'retry-after': '5' }, true, 5],
    [408, {}, true, undefined],
    [425, {}, true, undefined],
    [400, {}, false, undefined],
    [401, {}, false, undefined],
    [404, {}, false, undefined],
    [410, {}, false, undefined],
    [413, {}, false, undefined],
  ];
  it.each(cases)('%i %j: retryable %s', async (status, headers, retryable, retryAfterSeconds) => {
    receiver.respondWith(reply(status, `status ${status}`, headers));
    const result = await deliver({ type: 'discord', webhookUrl: receiver.url }, alertMessage(), loopback);
    expect(result).toEqual({
      ok: false,
      responseCode: status,
      detail: `status ${status}`,
      retryable,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  });

  it('Retry-After as an HTTP date becomes seconds from now', async () => {
    receiver.respondWith(reply(503, '', { 'retry-after': new Date(Date.now() + 60_000).toUTCString() }));
    const result = await deliver({ type: 'teams', webhookUrl: receiver.url }, alertMessage(), loopback);
    expect(result.retryAfterSeconds).toBeGreaterThanOrEqual(58);
    expect(result.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it('a redirect is a final failure and its target receives nothing', async () => {
    receiver.respondWith(reply(302, '', { location: `${other.url}/stolen` }));
    const result = await deliver({ type: 'webhook', url: receiver.url, signingSecret: SECRET }, alertMessage(), {
      allowHosts: ['127.0.0.1'],
    });
    expect(result).toEqual({ ok: false, responseCode: 302, detail: `redirect to ${other.url}/stolen not followed`, retryable: false });
    expect(other.received).toHaveLength(0);
  });

  it('a receiver that never answers times out, retryable', async () => {
    receiver.respondWith(() => undefined);
    const started = Date.now();
    const result = await deliver({ type: 'discord', webhookUrl: receiver.url }, alertMessage(), { ...loopback, timeoutMs: 300 });
    expect(result).toEqual({ ok: false, responseCode: null, detail: 'no response within 300 ms', retryable: true });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a refused connection is retryable', async () => {
    const gone = await startReceiver();
    await gone.close();
    const result = await deliver({ type: 'teams', webhookUrl: gone.url }, alertMessage(), loopback);
    expect(result).toMatchObject({ ok: false, responseCode: null, retryable: true });
    expect(result.detail).toMatch(/ECONNREFUSED/);
  });

  it('a response body is kept to 4 KiB', async () => {
    receiver.respondWith(reply(400, 'e'.repeat(50_000)));
    const result = await deliver({ type: 'discord', webhookUrl: receiver.url }, alertMessage(), loopback);
    expect(result.detail).toHaveLength(4096);
  });
});

describe('Resend', () => {
  const channel = (baseUrl: string) => ({
    type: 'resend' as const,
    apiKey: 're_test_123',
    from: 'OpsConductor <alerts@example.com>',
    to: ['ops@example.com', 'oncall@example.com'],
    baseUrl,
  });

  it('posts /emails with the rendered e-mail and the API key as bearer token', async () => {
    receiver.respondWith(reply(200, JSON.stringify({ id: 'email_123' }), { 'content-type': 'application/json' }));
    const result = await deliver(channel(receiver.url), alertMessage({ summary: '<b>x</b> & y' }), loopback);
    expect(result).toEqual({ ok: true, responseCode: 200, detail: 'email_123', retryable: false });
    const request = receiver.received.at(-1)!;
    expect(request).toMatchObject({ method: 'POST', url: '/emails' });
    expect(request.headers.authorization).toBe('Bearer re_test_123');
    const body = JSON.parse(request.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      from: 'OpsConductor <alerts@example.com>',
      to: ['ops@example.com', 'oncall@example.com'],
      subject: '[Critical] Opened: Device offline: web-01',
    });
    expect(body.text).toContain('<b>x</b> & y');
    expect(body.html).toContain('&lt;b&gt;x&lt;/b&gt; &amp; y');
  });

  it('connects through the guard: a name is resolved by the guard and pinned', async () => {
    receiver.respondWith(reply(200, JSON.stringify({ id: 'email_456' })));
    const result = await deliver(channel(`http://mail.test:${receiver.port}`), alertMessage(), {
      allowHosts: ['mail.test'],
      resolve: () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]),
    });
    expect(result).toMatchObject({ ok: true, detail: 'email_456' });
    expect(receiver.received.at(-1)?.headers.host).toBe(`mail.test:${receiver.port}`);
  });

  it('refuses a base URL that is not allow-listed: literal or resolved, final, nothing sent', async () => {
    const literal = await deliver(channel(receiver.url), alertMessage());
    expect(literal).toMatchObject({ ok: false, responseCode: null, retryable: false });
    expect(literal.detail).toMatch(/loopback address 127\.0\.0\.1/);
    const resolved = await deliver(channel(`http://mail.test:${receiver.port}`), alertMessage(), {
      resolve: () => Promise.resolve([{ address: '10.1.2.3', family: 4 }]),
    });
    expect(resolved).toMatchObject({
      ok: false,
      responseCode: null,
      retryable: false,
      detail: 'refused to connect to mail.test: private address 10.1.2.3',
    });
    expect(receiver.received).toHaveLength(0);
  });

  it('429 is retryable with Retry-After; 422 is final', async () => {
    const error = (statusCode: number, name: string) => JSON.stringify({ statusCode, name, message: name });
    receiver.respondWith(reply(429, error(429, 'rate_limit_exceeded'), { 'retry-after': '2' }));
    expect(await deliver(channel(receiver.url), alertMessage(), loopback)).toEqual({
      ok: false,
      responseCode: 429,
      detail: 'rate_limit_exceeded: rate_limit_exceeded',
      retryable: true,
      retryAfterSeconds: 2,
    });
    receiver.respondWith(reply(422, error(422, 'validation_error')));
    expect(await deliver(channel(receiver.url), alertMessage(), loopback)).toMatchObject({
      ok: false,
      responseCode: 422,
      retryable: false,
    });
  });

  it('a redirect is not followed', async () => {
    receiver.respondWith(reply(307, '', { location: `${other.url}/emails` }));
    const result = await deliver(channel(receiver.url), alertMessage(), loopback);
    expect(result).toMatchObject({ ok: false, responseCode: 307, retryable: false });
    expect(other.received).toHaveLength(0);
  });

  it('a Resend that never answers times out, retryable', async () => {
    receiver.respondWith(() => undefined);
    const result = await deliver(channel(receiver.url), alertMessage(), { ...loopback, timeoutMs: 300 });
    expect(result).toEqual({ ok: false, responseCode: null, detail: 'no response within 300 ms', retryable: true });
  });
});
