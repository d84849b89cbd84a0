import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ArtifactManifest } from '@opsconductor/contracts/software';
import { ArtifactCache } from '../src/depot/cache.ts';
import { fetchArtifact, type FetchArtifactOptions, type FetchedArtifact } from '../src/depot/download.ts';
import { ArtifactNameError, safeArtifactFileName, stageArtifacts } from '../src/depot/stage.ts';
import { AgentHttpClient } from '../src/http.ts';
import { loopbackServer, manifestFor, serveBytes, type LoopbackServer } from './support/depot.ts';
import { tempDir } from './support/util.ts';

const teardown: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of teardown.splice(0).reverse()) await fn();
});

const KiB = 1024;

/** A mirror serving several artifacts by path, and a cache with the given cap. */
async function setup(maxBytes: number) {
  const files = new Map<string, Buffer>();
  const mirror: LoopbackServer = await loopbackServer((req, res) => {
    const content = files.get(req.url ?? '');
    if (!content) return res.writeHead(404).end();
    serveBytes(req, res, content);
  });
  const { dir, cleanup } = tempDir('opsconductor-depot-cache-test-');
  teardown.push(cleanup, () => mirror.close());
  const cache = new ArtifactCache({ dir: path.join(dir, 'cache'), maxBytes });
  const options: FetchArtifactOptions = {
    cache,
    client: new AgentHttpClient({ serverUrl: 'http://127.0.0.1:9', deviceSecret: 'x', channel: false }),
    platform: 'linux',
    retry: { attempts: 1, initialMs: 10, maxMs: 10 },
  };
  const artifact = (name: string, size: number): ArtifactManifest => {
    const content = randomBytes(size);
    files.set(`/${name}`, content);
    return manifestFor(content, [{ kind: 'http', sourceId: randomUUID(), url: `${mirror.url}/${name}` }], { fileName: name });
  };
  const fetchOk = async (manifest: ArtifactManifest): Promise<FetchedArtifact> => {
    const result = await fetchArtifact(manifest, options);
    if (!result.ok) throw new Error(`fetch failed: ${result.detail}`);
    return result;
  };
  return { dir, cache, mirror, artifact, fetchOk, options };
}

/** Last use strictly in this order, whatever the clock's resolution. */
function setLastUse(cache: ArtifactCache, manifest: ArtifactManifest, secondsAgo: number): void {
  const at = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(cache.filePath(manifest.sha256) + '.ok', at, at);
}

async function cached(cache: ArtifactCache): Promise<string[]> {
  return (await cache.entries()).map((entry) => entry.sha256);
}

describe('ArtifactCache', () => {
  it('evicts the least recently used artifacts until the new one fits, a hit counting as a use', async () => {
    const { cache, artifact, fetchOk, mirror } = await setup(3 * KiB);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => artifact(name, KiB)) as [
      ArtifactManifest,
      ArtifactManifest,
      ArtifactManifest,
      ArtifactManifest,
    ];
    for (const m of [a, b, c]) await (await fetchOk(m)).pin.release();
    setLastUse(cache, a, 30);
    setLastUse(cache, b, 20);
    setLastUse(cache, c, 10);
    // A cache hit on the oldest makes it the newest.
    const hit = await fetchOk(a);
    expect(hit.fromCache).toBe(true);
    await hit.pin.release();
    expect(await cached(cache)).toEqual([b, c, a].map((m) => m.sha256));

    await (await fetchOk(d)).pin.release();
    expect((await cached(cache)).sort()).toEqual([c, a, d].map((m) => m.sha256).sort());
    expect(existsSync(cache.filePath(b.sha256))).toBe(false);
    expect(existsSync(cache.filePath(b.sha256) + '.ok')).toBe(false);
    expect(mirror.requests.map((r) => r.url)).toEqual(['/a', '/b', '/c', '/d']);
  });

  it('never evicts a pinned artifact; evicts it once released if the cache is over its cap', async () => {
    const { cache, artifact, fetchOk } = await setup(2 * KiB);
    const [a, b, c] = ['a', 'b', 'c'].map((name) => artifact(name, KiB)) as [ArtifactManifest, ArtifactManifest, ArtifactManifest];
    const inUse = await fetchOk(a); // a running command holds it
    await (await fetchOk(b)).pin.release();
    setLastUse(cache, a, 60); // the oldest by far
    setLastUse(cache, b, 30);
    await (await fetchOk(c)).pin.release();
    expect((await cached(cache)).sort()).toEqual([a, c].map((m) => m.sha256).sort());
    await inUse.pin.release();
    await inUse.pin.release(); // idempotent: must not unpin another holder
    expect((await cached(cache)).sort()).toEqual([a, c].map((m) => m.sha256).sort());
  });

  it('counts pins: an artifact two commands use stays until both release it', async () => {
    const { cache, artifact, fetchOk } = await setup(KiB);
    const a = artifact('a', KiB);
    const first = await fetchOk(a);
    const second = await fetchOk(a);
    expect(second.fromCache).toBe(true);
    await first.pin.release();
    await cache.makeRoom(KiB); // a new artifact of 1 KiB wants the space
    expect(await cached(cache)).toEqual([a.sha256]);
    await second.pin.release();
    await cache.makeRoom(KiB);
    expect(await cached(cache)).toEqual([]);
  });

  it('lets an artifact larger than the cap in, and evicts it after its last use', async () => {
    const { cache, artifact, fetchOk } = await setup(KiB);
    const small = artifact('small', 512);
    await (await fetchOk(small)).pin.release();
    const big = artifact('big', 4 * KiB);
    const fetched = await fetchOk(big);
    expect(readFileSync(fetched.path).length).toBe(4 * KiB);
    expect(await cached(cache)).toEqual([big.sha256]); // the small one made room, in vain but as asked
    await fetched.pin.release();
    expect(await cached(cache)).toEqual([]);
  });

  it('downloads an artifact once when two commands fetch it at the same time', async () => {
    const { artifact, options, mirror } = await setup(16 * KiB);
    const a = artifact('a', 8 * KiB);
    const [one, two] = await Promise.all([fetchArtifact(a, options), fetchArtifact(a, options)]);
    expect([one.ok, two.ok]).toEqual([true, true]);
    expect([one, two].map((r) => (r.ok ? r.fromCache : null)).sort()).toEqual([false, true]);
    expect(mirror.requests).toHaveLength(1);
  });

  it('removes partial downloads older than a day, and only those', async () => {
    const { cache } = await setup(KiB);
    await cache.ensureDirs();
    const old = cache.partialPath('a'.repeat(64));
    const fresh = cache.partialPath('b'.repeat(64));
    writeFileSync(old, 'x');
    writeFileSync(fresh, 'y');
    const twoDaysAgo = new Date(Date.now() - 48 * 3600 * 1000);
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    expect(await cache.cleanPartials()).toEqual([path.basename(old)]);
    expect([existsSync(old), existsSync(fresh)]).toEqual([false, true]);
  });

  it('refuses names that are not SHA-256s (no path ever built from anything else)', async () => {
    const { cache } = await setup(KiB);
    expect(() => cache.filePath('../agent.json')).toThrow();
    expect(() => cache.pin('A'.repeat(64))).toThrow();
  });
});

describe('stageArtifacts', () => {
  it("puts a command's artifacts under their file names, linked to the cache, the installer first", async () => {
    const { dir, artifact, fetchOk } = await setup(64 * KiB);
    const installer = await fetchOk(artifact('setup.msi', 2 * KiB));
    const extra = await fetchOk(artifact('data.cab', KiB));
    const work = path.join(dir, 'work', 'cmd-1');
    const staged = await stageArtifacts([installer, extra], work);
    expect(staged).toEqual([path.join(work, 'setup.msi'), path.join(work, 'data.cab')]);
    expect(readFileSync(staged[0]!).equals(readFileSync(installer.path))).toBe(true);
    expect(statSync(staged[0]!).ino).toBe(statSync(installer.path).ino); // a hard link, not a copy of GBs
    // Evicting the cache's name leaves the command's file in place.
    await installer.pin.release();
    await rm(installer.path);
    expect(readFileSync(staged[0]!).length).toBe(2 * KiB);
  });

  it('refuses unsafe or duplicate file names before writing anything', async () => {
    const { dir, artifact, fetchOk } = await setup(64 * KiB);
    const a = await fetchOk(artifact('a.bin', 10));
    const work = path.join(dir, 'work');
    for (const name of [
      '../evil',
      'sub/x',
      'sub\\x',
      '..',
      '.',
      'nul\u0000x',
      'CON',
      'con.txt',
      'LPT1.log',
      'a.exe.',
      'a.exe ',
      'x:stream',
      '',
    ]) {
      expect(() => safeArtifactFileName(name), name).toThrow(ArtifactNameError);
      await expect(stageArtifacts([{ ...a, manifest: { ...a.manifest, fileName: name } }], work)).rejects.toThrow(ArtifactNameError);
    }
    await expect(stageArtifacts([a, { ...a, manifest: { ...a.manifest, fileName: 'A.BIN' } }], work)).rejects.toThrow(/two artifacts/);
    expect(existsSync(work)).toBe(false);
    expect(safeArtifactFileName('Firefox Setup 128.0.exe')).toBe('Firefox Setup 128.0.exe');
    expect(safeArtifactFileName('console.exe')).toBe('console.exe');
  });
});
