/**
 * Metrics are not served unauthenticated on the API port: by default only on the separate metrics
 * listener (loopback), and with METRICS_TOKEN set only to `Authorization: Bearer <token>`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

const METRIC = 'opsconductor_api_http_requests_total';
const scrape = (url: string, authorization?: string) => fetch(`${url}/metrics`, authorization ? { headers: { authorization } } : {});

describe('without METRICS_TOKEN', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({}, { metricsListener: true });
  });
  afterAll(() => t?.close());

  it('serves metrics on the metrics listener only, which binds loopback', async () => {
    const onApiPort = await scrape(t.url);
    expect(onApiPort.status).toBe(404);
    expect(await onApiPort.text()).not.toContain(METRIC);

    expect(t.api.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const onListener = await scrape(t.api.metricsUrl!);
    expect(onListener.status).toBe(200);
    expect(onListener.headers.get('content-type')).toContain('text/plain');
    expect(await onListener.text()).toContain(METRIC);
    // The listener serves metrics and nothing else.
    expect((await fetch(`${t.api.metricsUrl}/api/v1/devices`)).status).toBe(404);
    expect((await fetch(`${t.api.metricsUrl}/healthz`)).status).toBe(404);
  });

  it("has the process's default metrics but none that lists every socket at each scrape", async () => {
    const text = await (await scrape(t.api.metricsUrl!)).text();
    for (const name of ['nodejs_eventloop_lag_max_seconds', 'nodejs_gc_duration_seconds', 'process_open_fds'])
      expect(text).toContain(`opsconductor_api_${name}`);
    expect(text).not.toMatch(/^opsconductor_api_nodejs_active_(handles|resources)/m);
  });
});

describe('with METRICS_TOKEN', () => {
  const token = 'metrics-token-0123456789abcdef';
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi({ metricsToken: token }, { metricsListener: true });
  });
  afterAll(() => t?.close());

  it('requires the bearer token on both listeners', async () => {
    for (const url of [t.url, t.api.metricsUrl!]) {
      const anonymous = await scrape(url);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await anonymous.text()).not.toContain(METRIC);
      expect((await scrape(url, `Bearer ${token}x`)).status).toBe(401);
      expect((await scrape(url, token)).status).toBe(401);
      const admin = await t.tokenFor('admin'); // a session token is not the metrics token
      expect((await scrape(url, `Bearer ${admin}`)).status).toBe(401);
      const allowed = await scrape(url, `Bearer ${token}`);
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toContain(METRIC);
    }
  });
});
