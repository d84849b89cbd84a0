/**
 * The download rate cap (`network.maxBytesPerSecond`): a token bucket over the stream, measured against a loopback
 * HTTP server that sends as fast as it can. Elapsed time is checked with a generous upper bound (the machine may be
 * loaded); the lower bound is what the cap promises. A cut connection still resumes under the cap, and a cached
 * artifact costs no time at all.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ArtifactSource } from '@opsconductor/contracts/software';
import { ArtifactCache } from '../src/depot/cache.ts';
import { fetchArtifact, type FetchArtifactOptions } from '../src/depot/download.ts';
import { DownloadThrottle } from '../src/depot/throttle.ts';
import { AgentHttpClient } from '../src/http.ts';
import { loopbackServer, manifestFor, serveBytes, serveThenCut } from './support/depot.ts';
import { tempDir } from './support/util.ts';

const teardown: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of teardown.splice(0).reverse()) await fn();
});

const MiB = 1024 * 1024;
const mirror = (url: string): ArtifactSource => ({ kind: 'http', sourceId: randomUUID(), url });

function setup(): FetchArtifactOptions {
  const { dir, cleanup } = tempDir('opsconductor-throttle-test-');
  teardown.push(cleanup);
  return {
    cache: new ArtifactCache({ dir: path.join(dir, 'cache'), maxBytes: 1024 ** 3 }),
    client: new AgentHttpClient({ serverUrl: 'http://127.0.0.1:9', deviceSecret: 'secret', channel: false }),
    platform: 'linux',
    retry: { attempts: 3, initialMs: 10, maxMs: 50 },
    connectTimeoutMs: 5000,
    idleTimeoutMs: 5000,
  };
}

describe('download rate cap', () => {
  it('takes a 2 MiB artifact at 1 MiB/s in about two seconds; without the cap it is far faster', async () => {
    const content = randomBytes(2 * MiB);
    const s = await loopbackServer((req, res) => serveBytes(req, res, content));
    teardown.push(() => s.close());

    const unthrottled = setup();
    let t0 = performance.now();
    const fast = await fetchArtifact(manifestFor(content, [mirror(`${s.url}/fast.bin`)]), unthrottled);
    const fastMs = performance.now() - t0;
    expect(fast.ok).toBe(true);

    const options = { ...setup(), throttle: new DownloadThrottle(MiB) };
    t0 = performance.now();
    const result = await fetchArtifact(manifestFor(content, [mirror(`${s.url}/slow.bin`)]), options);
    const elapsedMs = performance.now() - t0;
    expect(result.ok).toBe(true);
    if (!result.ok) throw new Error('unreachable');
    expect(readFileSync(result.path).equals(content)).toBe(true);
    // 2 MiB less the bucket's burst (0.1 s worth) at 1 MiB/s: at least 1.9 s, 1.8 s with timer slack.
    expect(elapsedMs).toBeGreaterThanOrEqual(1800);
    expect(elapsedMs).toBeLessThan(8000);
    expect(fastMs).toBeLessThan(elapsedMs / 2);

    // Cached now: no bytes, no wait.
    t0 = performance.now();
    const again = await fetchArtifact(result.manifest, options);
    expect(again).toMatchObject({ ok: true, fromCache: true, bytesDownloaded: 0 });
    expect(performance.now() - t0).toBeLessThan(1000);
  }, 30_000);

  it('resumes an interrupted download under the same cap, the bytes before the cut counted against it', async () => {
    const content = randomBytes(MiB);
    const cutAt = 256 * 1024;
    const s = await loopbackServer((req, res, n) => (n === 0 ? serveThenCut(res, content, cutAt) : serveBytes(req, res, content)));
    teardown.push(() => s.close());
    const throttle = new DownloadThrottle(512 * 1024);
    const t0 = performance.now();
    const result = await fetchArtifact(manifestFor(content, [mirror(`${s.url}/a.bin`)]), { ...setup(), throttle });
    const elapsedMs = performance.now() - t0;
    expect(result.ok).toBe(true);
    if (!result.ok) throw new Error('unreachable');
    // The cap reads slower than the server sends: some of the bytes before the cut were still in flight.
    expect(s.requests.map((r) => r.range)).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/)]);
    const resumedAt = Number(/\d+/.exec(s.requests[1]!.range!)![0]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(cutAt);
    expect(result.bytesDownloaded).toBe(content.length);
    expect(readFileSync(result.path).equals(content)).toBe(true);
    // 1 MiB at 512 KiB/s, the bytes before the cut included: about 1.9 s.
    expect(elapsedMs).toBeGreaterThanOrEqual(1700);
    expect(elapsedMs).toBeLessThan(10_000);
  }, 30_000);

  it('keeps a bounded burst and makes a larger chunk wait its share', () => {
    const throttle = new DownloadThrottle(MiB);
    expect(throttle.burstBytes).toBe(Math.round(MiB * 0.1));
    expect(throttle.reserve(throttle.burstBytes)).toBe(0);
    // The bucket is empty: half a MiB more waits about half a second.
    const wait = throttle.reserve(MiB / 2);
    expect(wait).toBeGreaterThan(450);
    expect(wait).toBeLessThanOrEqual(500);
    expect(new DownloadThrottle(1024).burstBytes).toBe(16 * 1024);
    expect(() => new DownloadThrottle(0)).toThrow(RangeError);
  });
});
