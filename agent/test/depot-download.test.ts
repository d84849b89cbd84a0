import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ArtifactSource } from '@opsconductor/contracts/software';
import { ArtifactCache } from '../src/depot/cache.ts';
import { fetchArtifact, parseContentRange, type FetchArtifactOptions } from '../src/depot/download.ts';
import { AgentHttpClient } from '../src/http.ts';
import { loopbackServer, manifestFor, serveBytes, serveThenCut, sha256, type LoopbackServer } from './support/depot.ts';
import { tempDir } from './support/util.ts';

const teardown: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of teardown.splice(0).reverse()) await fn();
});

const SECRET = 'device-secret-for-tests';

async function server(handler: Parameters<typeof loopbackServer>[0]): Promise<LoopbackServer> {
  const s = await loopbackServer(handler);
  teardown.push(() => s.close());
  return s;
}

function setup(serverUrl = 'http://127.0.0.1:9', maxBytes = 1024 ** 3) {
  const { dir, cleanup } = tempDir('opsconductor-depot-test-');
  teardown.push(cleanup);
  const cache = new ArtifactCache({ dir: path.join(dir, 'cache'), maxBytes });
  const client = new AgentHttpClient({ serverUrl, deviceSecret: SECRET, channel: false });
  const options: FetchArtifactOptions = {
    cache,
    client,
    platform: 'linux',
    retry: { attempts: 3, initialMs: 10, maxMs: 50 },
    connectTimeoutMs: 5000,
    idleTimeoutMs: 5000,
  };
  return { dir, cache, client, options };
}

const depot = (): ArtifactSource => ({ kind: 'depot', sourceId: randomUUID() });
const mirror = (url: string): ArtifactSource => ({ kind: 'http', sourceId: randomUUID(), url });
const share = (mountPath: string): ArtifactSource => ({ kind: 'share', sourceId: randomUUID(), mountPath });

/** Files in the cache directory (complete artifacts, markers, partials). */
function cacheFiles(cache: ArtifactCache): string[] {
  const top = existsSync(cache.dir) ? readdirSync(cache.dir).filter((name) => name !== 'partial') : [];
  const partials = existsSync(cache.partialDir) ? readdirSync(cache.partialDir).map((name) => `partial/${name}`) : [];
  return [...top, ...partials];
}

describe('fetchArtifact', () => {
  it('resumes an interrupted depot download with a Range request, sending each byte about once', async () => {
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const cutAt = 1024 * 1024;
    const depotServer = await server(async (req, res, n) => {
      if (n === 0) return serveThenCut(res, content, cutAt);
      serveBytes(req, res, content);
    });
    const { cache, options } = setup(depotServer.url);
    const manifest = manifestFor(content, [depot()]);
    const progress: number[] = [];
    const result = await fetchArtifact(manifest, { ...options, onProgress: (p) => progress.push(p.receivedBytes) });

    expect(result).toMatchObject({ ok: true, fromCache: false, sourceId: manifest.sources[0]!.sourceId });
    if (!result.ok) throw new Error('unreachable');
    expect(depotServer.requests.map((r) => r.range)).toEqual([undefined, `bytes=${cutAt}-`]);
    expect(depotServer.requests[0]!.url).toBe(`/agent/v1/artifacts/${manifest.sha256}`);
    expect(depotServer.requests.every((r) => r.authorization === `Bearer ${SECRET}`)).toBe(true);
    expect(sha256(readFileSync(result.path))).toBe(manifest.sha256);
    expect(result.bytesDownloaded).toBe(content.length);
    expect(depotServer.bytesSent).toBe(content.length);
    expect(result.attempts).toEqual([{ sourceId: manifest.sources[0]!.sourceId, kind: 'depot', tries: 2, bytes: content.length }]);
    // Progress counts the bytes on disk: it never goes back when the download resumes, and ends at the size.
    expect(progress.at(-1)).toBe(content.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(cacheFiles(cache).sort()).toEqual([manifest.sha256, `${manifest.sha256}.ok`]);
    await result.pin.release();
  });

  it('starts over when a server answers a Range request with the whole file (200)', async () => {
    const content = randomBytes(512 * 1024);
    const cutAt = 200 * 1024;
    const plain = await server(async (_req, res, n) => {
      if (n === 0) return serveThenCut(res, content, cutAt);
      res.writeHead(200, { 'content-length': content.length });
      res.write(content);
      res.end();
    });
    const { options } = setup();
    const manifest = manifestFor(content, [mirror(`${plain.url}/a.bin`)]);
    const result = await fetchArtifact(manifest, options);
    expect(result.ok).toBe(true);
    if (!result.ok) throw new Error('unreachable');
    expect(plain.requests.map((r) => r.range)).toEqual([undefined, `bytes=${cutAt}-`]);
    expect(readFileSync(result.path).equals(content)).toBe(true);
    expect(result.bytesDownloaded).toBe(cutAt + content.length);
  });

  it('records hash_mismatch for a mirror that serves tampered bytes and takes them from the next source (a share)', async () => {
    const content = randomBytes(64 * 1024);
    const tampered = Buffer.from(content);
    tampered[1000] = tampered[1000]! ^ 0xff;
    const evil = await server((req, res) => serveBytes(req, res, tampered));
    const { dir, options } = setup();
    const shareDir = path.join(dir, 'share');
    mkdirSync(shareDir);
    writeFileSync(path.join(shareDir, 'setup.bin'), content);
    const manifest = manifestFor(content, [mirror(`${evil.url}/setup.bin`), share(path.join(shareDir, 'setup.bin'))]);

    const result = await fetchArtifact(manifest, options);
    expect(result).toMatchObject({ ok: true, sourceId: manifest.sources[1]!.sourceId, fromCache: false });
    if (!result.ok) throw new Error('unreachable');
    expect(result.attempts).toMatchObject([
      { sourceId: manifest.sources[0]!.sourceId, kind: 'http', failure: 'hash_mismatch' },
      { sourceId: manifest.sources[1]!.sourceId, kind: 'share' },
    ]);
    expect(result.attempts[1]!.failure).toBeUndefined();
    expect(readFileSync(result.path).equals(content)).toBe(true);
    // The mirror never saw the device's credentials.
    expect(evil.requests.map((r) => r.authorization)).toEqual([undefined]);
  });

  it('fails with hash_mismatch when every source is tampered, leaving nothing in the cache', async () => {
    const content = randomBytes(32 * 1024);
    const tampered = Buffer.from(content);
    tampered[0] = tampered[0]! ^ 1;
    const evil = await server((req, res) => serveBytes(req, res, tampered));
    const { dir, cache, options } = setup();
    writeFileSync(path.join(dir, 'evil-share.bin'), tampered);
    const manifest = manifestFor(content, [mirror(`${evil.url}/x`), share(path.join(dir, 'evil-share.bin'))]);

    const result = await fetchArtifact(manifest, options);
    expect(result).toMatchObject({ ok: false, reason: 'hash_mismatch' });
    expect(result.attempts.map((a) => a.failure)).toEqual(['hash_mismatch', 'hash_mismatch']);
    expect(cacheFiles(cache)).toEqual([]);
    expect(cache.isPinned(manifest.sha256)).toBe(false);
  });

  it('fails with download_failed when no source could be reached', async () => {
    const { dir, options } = setup();
    const content = randomBytes(1000);
    const gone = await server((_req, res) => res.writeHead(404).end());
    const manifest = manifestFor(content, [share(path.join(dir, 'missing.bin')), mirror(`${gone.url}/x`)]);
    const result = await fetchArtifact(manifest, options);
    expect(result).toMatchObject({ ok: false, reason: 'download_failed' });
    expect(result.attempts.map((a) => a.failure)).toEqual(['not_found', 'not_found']);
    expect(gone.requests).toHaveLength(1); // a 404 is not retried
  });

  it('falls back to the next source when the share path is not there (or not there for this platform)', async () => {
    const content = randomBytes(10_000);
    const good = await server((req, res) => serveBytes(req, res, content));
    const { dir, options } = setup();
    const unc: ArtifactSource = { kind: 'share', sourceId: randomUUID(), uncPath: '\\\\fileserver\\depot\\x.bin' };
    const manifest = manifestFor(content, [share(path.join(dir, 'not-mounted', 'x.bin')), unc, mirror(`${good.url}/x.bin`)]);
    const result = await fetchArtifact(manifest, options);
    expect(result).toMatchObject({ ok: true, sourceId: manifest.sources[2]!.sourceId });
    expect(result.attempts.map((a) => a.failure)).toEqual(['not_found', 'unavailable', undefined]);
  });

  it('serves the second fetch from the cache without a request, and re-downloads a cached file that was altered', async () => {
    const content = randomBytes(100_000);
    const good = await server((req, res) => serveBytes(req, res, content));
    const { options } = setup();
    const manifest = manifestFor(content, [mirror(`${good.url}/x.bin`)]);
    const first = await fetchArtifact(manifest, options);
    expect(first).toMatchObject({ ok: true, fromCache: false, bytesDownloaded: content.length });
    const second = await fetchArtifact(manifest, options);
    expect(second).toMatchObject({ ok: true, fromCache: true, sourceId: null, bytesDownloaded: 0, attempts: [] });
    expect(good.requests).toHaveLength(1);

    // Someone writes to the cached file (through a staged hard link, say): same size, other bytes.
    if (!second.ok) throw new Error('unreachable');
    const altered = Buffer.from(content);
    altered[5] = altered[5]! ^ 0x55;
    const { chmodSync } = await import('node:fs');
    chmodSync(second.path, 0o644);
    writeFileSync(second.path, altered);
    const third = await fetchArtifact(manifest, options);
    expect(third).toMatchObject({ ok: true, fromCache: false });
    expect(good.requests).toHaveLength(2);
    if (!third.ok) throw new Error('unreachable');
    expect(readFileSync(third.path).equals(content)).toBe(true);
  });

  it('aborts a source that sends more bytes than the manifest says, at once, and tries the next', async () => {
    const content = randomBytes(20_000);
    let stillStreaming = true;
    const endless = await server(async (_req, res) => {
      // No Content-Length and no end: only the agent's size check stops this.
      res.writeHead(200);
      res.on('close', () => (stillStreaming = false));
      while (!res.destroyed && stillStreaming) {
        res.write(randomBytes(8192));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    });
    const announced = await server((_req, res) => {
      res.writeHead(200, { 'content-length': content.length + 1 });
      res.write(Buffer.concat([content, Buffer.from('!')]));
      res.end();
    });
    const good = await server((req, res) => serveBytes(req, res, content));
    const { options } = setup();
    const manifest = manifestFor(content, [mirror(`${endless.url}/x`), mirror(`${announced.url}/x`), mirror(`${good.url}/x`)]);
    const result = await fetchArtifact(manifest, options);
    expect(result).toMatchObject({ ok: true, sourceId: manifest.sources[2]!.sourceId });
    expect(result.attempts.slice(0, 2)).toMatchObject([
      { failure: 'size_mismatch', tries: 1 },
      { failure: 'size_mismatch', tries: 1, bytes: 0 },
    ]);
    expect(result.attempts[0]!.bytes).toBeLessThanOrEqual(content.length);
    expect(endless.requests).toHaveLength(1);
  });

  it('retries a source on network errors with backoff, then moves on', async () => {
    const content = randomBytes(4096);
    const flaky = await server((_req, res) => res.writeHead(503).end());
    const good = await server((req, res) => serveBytes(req, res, content));
    const { options } = setup();
    const manifest = manifestFor(content, [mirror(`${flaky.url}/x`), mirror(`${good.url}/x`)]);
    const result = await fetchArtifact(manifest, options);
    expect(result).toMatchObject({ ok: true, sourceId: manifest.sources[1]!.sourceId });
    expect(result.attempts[0]).toMatchObject({ failure: 'network', tries: 3 });
    expect(flaky.requests).toHaveLength(3);
  });

  it('refuses redirects to another scheme; follows them within the scheme without credentials', async () => {
    const content = randomBytes(4096);
    const target = await server((req, res) => serveBytes(req, res, content));
    const toFtp = await server((_req, res) => res.writeHead(302, { location: 'ftp://127.0.0.1/x' }).end());
    const toHttp = await server((_req, res) => res.writeHead(302, { location: `${target.url}/moved` }).end());
    const { options } = setup();
    const manifest = manifestFor(content, [mirror(`${toFtp.url}/x`), mirror(`${toHttp.url}/x`)]);
    const result = await fetchArtifact(manifest, options);
    expect(result).toMatchObject({ ok: true, sourceId: manifest.sources[1]!.sourceId });
    expect(result.attempts[0]).toMatchObject({ failure: 'refused' });
    expect(target.requests).toMatchObject([{ url: '/moved', authorization: undefined }]);
  });

  it('starts over on 416 and on a Content-Range that does not continue the partial', async () => {
    const content = randomBytes(300_000);
    const cutAt = 100_000;
    const odd = await server(async (req, res, n) => {
      if (n === 0 || n === 2) return serveThenCut(res, content, cutAt);
      if (n === 1) {
        res.writeHead(416, { 'content-range': `bytes */${content.length}` }).end();
        return;
      }
      if (n === 3) {
        // Claims bytes from 0 although asked for the rest.
        res.writeHead(206, { 'content-range': `bytes 0-${content.length - 1}/${content.length}` });
        res.write(content);
        res.end();
        return;
      }
      serveBytes(req, res, content);
    });
    const { options } = setup();
    const manifest = manifestFor(content, [mirror(`${odd.url}/x`)]);
    const result = await fetchArtifact(manifest, options);
    expect(result.ok).toBe(true);
    expect(odd.requests.map((r) => r.range)).toEqual([undefined, `bytes=${cutAt}-`, undefined, `bytes=${cutAt}-`, undefined]);
    if (!result.ok) throw new Error('unreachable');
    expect(readFileSync(result.path).equals(content)).toBe(true);
  });

  it('resumes a partial left by an earlier run, and blames no source for bytes it did not write', async () => {
    const content = randomBytes(50_000);
    const { cache, options } = setup();
    await cache.ensureDirs();
    // A partial of unknown origin whose first bytes are wrong: the hash fails, the source gets a clean try.
    const bad = Buffer.from(content.subarray(0, 20_000));
    bad[0] = bad[0]! ^ 1;
    const manifest = manifestFor(content, []);
    writeFileSync(cache.partialPath(manifest.sha256), bad);
    const good = await server((req, res) => serveBytes(req, res, content));
    manifest.sources = [mirror(`${good.url}/x`)];
    const result = await fetchArtifact(manifest, options);
    expect(result).toMatchObject({ ok: true });
    expect(result.attempts[0]!.failure).toBeUndefined();
    expect(good.requests.map((r) => r.range)).toEqual(['bytes=20000-', undefined]);
  });
});

describe('fetchArtifact, edge cases', () => {
  it('stores an empty artifact without asking a source', async () => {
    const never = await server((_req, res) => res.writeHead(500).end());
    const { options } = setup();
    const result = await fetchArtifact(manifestFor(Buffer.alloc(0), [mirror(`${never.url}/x`)]), options);
    expect(result).toMatchObject({ ok: true, bytesDownloaded: 0 });
    if (!result.ok) throw new Error('unreachable');
    expect(readFileSync(result.path).length).toBe(0);
    expect(never.requests).toHaveLength(0);
  });
});

describe('fetchArtifact, stopped', () => {
  it('gives up on a source that stops sending (idle timeout), keeping the partial for the next fetch', async () => {
    const content = randomBytes(64 * 1024);
    const stalls = await server(async (req, res, n) => {
      if (n < 2) {
        res.writeHead(200, { 'content-length': content.length });
        res.write(content.subarray(0, 1000));
        return; // and never more
      }
      serveBytes(req, res, content);
    });
    const { cache, options } = setup();
    const manifest = manifestFor(content, [mirror(`${stalls.url}/x`)]);
    const first = await fetchArtifact(manifest, { ...options, idleTimeoutMs: 200, retry: { attempts: 2, initialMs: 10, maxMs: 10 } });
    expect(first).toMatchObject({ ok: false, reason: 'download_failed', attempts: [{ failure: 'network', tries: 2 }] });
    expect(first.attempts[0]!.error).toMatch(/no data for 200 ms/);
    expect(readFileSync(cache.partialPath(manifest.sha256)).length).toBe(1000);
    const second = await fetchArtifact(manifest, options);
    expect(second).toMatchObject({ ok: true, bytesDownloaded: content.length - 1000 });
    expect(stalls.requests[2]!.range).toBe('bytes=1000-');
  });

  it('rejects when its signal aborts, releasing its pin and keeping the partial', async () => {
    const content = randomBytes(64 * 1024);
    const controller = new AbortController();
    const slow = await server(async (_req, res) => {
      res.writeHead(200, { 'content-length': content.length });
      res.write(content.subarray(0, 5000), () => setTimeout(() => controller.abort(new Error('command cancelled')), 100));
    });
    const { cache, options } = setup();
    const manifest = manifestFor(content, [mirror(`${slow.url}/x`)]);
    await expect(fetchArtifact(manifest, { ...options, signal: controller.signal })).rejects.toThrow('command cancelled');
    expect(cache.isPinned(manifest.sha256)).toBe(false);
    expect(readFileSync(cache.partialPath(manifest.sha256)).length).toBe(5000);
  });
});

describe('parseContentRange', () => {
  it('accepts only well-formed byte ranges', () => {
    expect(parseContentRange('bytes 10-19/20')).toEqual({ start: 10, end: 19, total: 20 });
    expect(parseContentRange('bytes 10-19/*')).toEqual({ start: 10, end: 19, total: undefined });
    for (const bad of [
      null,
      '',
      'bytes 10-19',
      'bytes 19-10/20',
      'bytes 10-20/20',
      'items 1-2/3',
      'bytes -1-2/3',
      'bytes 1-2/3 ',
      'bytes 1-99999999999999999/x',
    ]) {
      expect(parseContentRange(bad)).toBeUndefined();
    }
  });
});
