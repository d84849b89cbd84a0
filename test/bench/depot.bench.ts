/**
 * The depot benchmark (`npm run bench:depot`, ADR 23): the product as separate processes — embedded PostgreSQL and
 * the API built to plain JavaScript — with the built-in depot on a fresh directory. It prints:
 *   - upload: a BENCH_UPLOAD_MB (2048) MiB body of pseudo-random bytes, generated as it is sent (AES-CTR keystream,
 *     never on disk on the sending side), to POST /api/v1/depot/artifacts as the bench operator: throughput, and the
 *     API's RSS before, at its peak during (sampled every BENCH_SAMPLE_MS) and after, with the growth;
 *   - downloads: simulated agents (agent/src/fleet-sim, in a process of its own) fetch the same BENCH_ARTIFACT_MB (100)
 *     MiB artifact at once from GET /agent/v1/artifacts/{sha256} with their own device credentials, for each count
 *     (default 1, 50 and 200): aggregate throughput, per-agent time p50 / p95 / max, the API's RSS peak against the
 *     count, CPU of the API and of the simulator, and every download's SHA-256 checked against the artifact's.
 *     Each device may download because it holds a delivered software.install command naming the artifact
 *     (test/bench/lib/depot-grants.ts); the devices are taken offline first so no poll picks those commands up.
 *
 *   npm run bench:depot                     # upload 2 GiB; 1, 50 and 200 agents downloading 100 MiB
 *   npm run bench:depot -- 1 50 200 500     # other agent counts
 *   BENCH_UPLOAD_MB=2048 BENCH_ARTIFACT_MB=100 BENCH_SAMPLE_MS=50 BENCH_VERBOSE=1 BENCH_API_ENV="…"
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase } from '@opsconductor/db';
import { spawnFleet, type ArtifactDownload, type RemoteFleet } from '../../agent/src/fleet-sim/index.ts';
import { startBenchStack, type BenchStack } from './lib/bench-stack.ts';
import { grantArtifactDownloads } from './lib/depot-grants.ts';
import { CpuMeter, peakRssBytes, rssBytes } from './lib/proc.ts';

const counts = (process.argv.slice(2).length ? process.argv.slice(2) : ['1', '50', '200']).map((s) => Number(s.replace(/[_,]/g, '')));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const MIB = 1024 * 1024;
const UPLOAD_BYTES = env('BENCH_UPLOAD_MB', 2048) * MIB;
const ARTIFACT_BYTES = env('BENCH_ARTIFACT_MB', 100) * MIB;
const SAMPLE_MS = env('BENCH_SAMPLE_MS', 50);
const CHUNK = MIB;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;
const signedMib = (bytes: number) => `${bytes >= 0 ? '+' : '−'}${mib(Math.abs(bytes))}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rate = (bytes: number, ms: number) => `${(bytes / MIB / (ms / 1000)).toFixed(0)} MiB/s`;
const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN;
};

/** The value of one of the API's gauges in its Prometheus text (prefix `opsconductor_api_`); 0 when absent. */
function gauge(metrics: string, name: string): number {
  const m = new RegExp(`^opsconductor_api_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics);
  return m ? Number(m[1]) : 0;
}

interface MemoryPeaks {
  rss: number;
  /** The API's own view, scraped from /metrics every 250 ms: V8 heap in use, and memory outside it (Buffers). */
  heapUsed: number;
  external: number;
}

/** The API's VmRSS sampled every SAMPLE_MS, and its heap and external memory from /metrics, until stopped: the peaks. */
class MemorySampler {
  private peaks: MemoryPeaks = { rss: 0, heapUsed: 0, external: 0 };
  private timer: NodeJS.Timeout | undefined;
  private scraping = true;
  private scraper: Promise<void> = Promise.resolve();
  constructor(private readonly stack: BenchStack) {}
  start(): void {
    this.peaks = { rss: rssBytes(this.stack.apiPid), heapUsed: 0, external: 0 };
    this.timer = setInterval(() => (this.peaks.rss = Math.max(this.peaks.rss, rssBytes(this.stack.apiPid))), SAMPLE_MS);
    this.scraping = true;
    this.scraper = (async () => {
      while (this.scraping) {
        const text = await this.stack.metrics().catch(() => '');
        this.peaks.heapUsed = Math.max(this.peaks.heapUsed, gauge(text, 'nodejs_heap_size_used_bytes'));
        this.peaks.external = Math.max(this.peaks.external, gauge(text, 'nodejs_external_memory_bytes'));
        await sleep(250);
      }
    })();
  }
  async stop(): Promise<MemoryPeaks> {
    clearInterval(this.timer);
    this.scraping = false;
    await this.scraper;
    return { ...this.peaks, rss: Math.max(this.peaks.rss, rssBytes(this.stack.apiPid)) };
  }
}

/** The API's memory now: RSS, and heap and external memory as its /metrics says. */
async function memoryNow(stack: BenchStack): Promise<MemoryPeaks> {
  const text = await stack.metrics().catch(() => '');
  return {
    rss: rssBytes(stack.apiPid),
    heapUsed: gauge(text, 'nodejs_heap_size_used_bytes'),
    external: gauge(text, 'nodejs_external_memory_bytes'),
  };
}

interface Uploaded {
  status: number;
  ms: number;
  sha256: string;
  artifact: { id: string; sha256: string; size: number };
}

/**
 * Streams `size` pseudo-random bytes (an AES-256-CTR keystream: fast and incompressible) as the body of an upload,
 * with backpressure, hashing what it sends.
 */
async function upload(stack: BenchStack, size: number, fileName: string): Promise<Uploaded> {
  const cipher = createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16));
  const zeros = Buffer.alloc(CHUNK);
  const hash = createHash('sha256');
  const url = new URL(`/api/v1/depot/artifacts?fileName=${encodeURIComponent(fileName)}`, stack.apiUrl);
  const began = performance.now();
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${stack.adminToken}`,
          'content-type': 'application/octet-stream',
          'content-length': String(size),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    void (async () => {
      for (let sent = 0; sent < size;) {
        const n = Math.min(CHUNK, size - sent);
        const chunk = cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n));
        hash.update(chunk);
        sent += n;
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(reject);
  });
  const ms = performance.now() - began;
  if (answer.status !== 201 && answer.status !== 200) throw new Error(`upload answered ${answer.status}: ${answer.body.slice(0, 500)}`);
  return { status: answer.status, ms, sha256: hash.digest('hex'), artifact: JSON.parse(answer.body) as Uploaded['artifact'] };
}

interface UploadResult {
  bytes: number;
  ms: number;
  verified: boolean;
  memory: { before: MemoryPeaks; peak: MemoryPeaks; after: MemoryPeaks };
  hwm: { before: number; after: number };
  cpu: number;
}

interface DownloadRound {
  agents: number;
  wallMs: number;
  times: number[];
  firstByte: number[];
  ok: number;
  wrong: ArtifactDownload[];
  memory: { before: MemoryPeaks; peak: MemoryPeaks; after: MemoryPeaks };
  cpu: { api: number; sim: number; pg: number };
}

async function main(): Promise<void> {
  const maxAgents = Math.max(...counts);
  const depotDir = await mkdtemp(join(tmpdir(), 'opsconductor-bench-depot-'));
  console.error(`## starting PostgreSQL and the API (depot in ${depotDir})`);
  const stack = await startBenchStack({
    apiEnv: { DEPOT_DIR: depotDir, DEPOT_UPLOAD_MAX_BYTES: String(Math.max(UPLOAD_BYTES, ARTIFACT_BYTES) + MIB) },
  });
  const db = createDatabase({ url: stack.databaseUrl, poolMax: 2 });
  let fleet: RemoteFleet | undefined;
  try {
    const api = stack.apiPid;
    const apiCpu = new CpuMeter(() => [api]);
    await sleep(2000);

    // --- upload ------------------------------------------------------------------------------
    console.error(`   uploading ${mib(UPLOAD_BYTES)}`);
    const sampler = new MemorySampler(stack);
    const before = await memoryNow(stack);
    const hwmBefore = peakRssBytes(api);
    sampler.start();
    apiCpu.begin();
    const big = await upload(stack, UPLOAD_BYTES, 'big.bin');
    const uploadCpu = apiCpu.percent();
    const peak = await sampler.stop();
    await sleep(2000);
    const uploadResult: UploadResult = {
      bytes: UPLOAD_BYTES,
      ms: big.ms,
      verified: big.artifact.sha256 === big.sha256 && Number(big.artifact.size) === UPLOAD_BYTES,
      memory: { before, peak, after: await memoryNow(stack) },
      hwm: { before: hwmBefore, after: peakRssBytes(api) },
      cpu: uploadCpu,
    };

    // --- the artifact the agents download -------------------------------------------------------
    console.error(`   uploading the ${mib(ARTIFACT_BYTES)} artifact; enrolling ${maxAgents} simulated agents`);
    const artifact = await upload(stack, ARTIFACT_BYTES, 'setup.exe');
    if (artifact.artifact.sha256 !== artifact.sha256) throw new Error('the artifact was stored with another SHA-256 than was sent');
    const token = await stack.enrollmentToken(maxAgents);
    fleet = await spawnFleet({
      serverUrl: stack.apiUrl,
      enrollmentToken: token,
      agents: maxAgents,
      rampPerSecond: 500,
      enrollConcurrency: 32,
      hostnamePrefix: 'depot',
    });
    await fleet.ready;
    // Offline, so that no long-poll or redelivery hands the commands to the simulator (which would finish them).
    await fleet.goOffline({});
    const devices = await fleet.devices();
    await grantArtifactDownloads(
      db,
      artifact.artifact.id,
      devices.map((d) => d.deviceId!),
    );
    const simPid = fleet.pid;
    const simCpu = new CpuMeter(() => [simPid]);
    const pgCpu = new CpuMeter(() => stack.postgresPids());

    // --- downloads ---------------------------------------------------------------------------
    const rounds: DownloadRound[] = [];
    for (const agents of counts) {
      await sleep(2000);
      console.error(`   ${agents} agent(s) downloading at once`);
      const sampler = new MemorySampler(stack);
      const memoryBefore = await memoryNow(stack);
      sampler.start();
      for (const m of [apiCpu, simCpu, pgCpu]) m.begin();
      const downloads = await fleet.downloadArtifact({ indexes: [[0, agents - 1]] }, artifact.sha256);
      // From the simulator's common start to the last byte (without the IPC round trip).
      const wallMs = Math.max(...downloads.map((d) => d.ms));
      const cpu = { api: apiCpu.percent(), sim: simCpu.percent(), pg: pgCpu.percent() };
      const memoryPeak = await sampler.stop();
      await sleep(1000);
      const good = (d: ArtifactDownload) => d.status === 200 && d.bytes === ARTIFACT_BYTES && d.sha256 === artifact.sha256 && !d.error;
      rounds.push({
        agents,
        wallMs,
        times: downloads.map((d) => d.ms),
        firstByte: downloads.map((d) => d.firstByteMs),
        ok: downloads.filter(good).length,
        wrong: downloads.filter((d) => !good(d)),
        memory: { before: memoryBefore, peak: memoryPeak, after: await memoryNow(stack) },
        cpu,
      });
    }
    print(uploadResult, rounds);
  } catch (err) {
    console.error(stack.logs.slice(-40).join('\n'));
    throw err;
  } finally {
    await fleet?.stop().catch(() => {});
    await db.close();
    await stack.close();
    await rm(depotDir, { recursive: true, force: true });
  }
}

function print(up: UploadResult, rounds: DownloadRound[]): void {
  console.log('\n# OpsConductor depot benchmark');
  console.log(
    `The API built to plain JavaScript in its own process, embedded PostgreSQL, the built-in depot on local disk; RSS of the API sampled every ${SAMPLE_MS} ms, its heap and external memory (its /metrics) every 250 ms.\n`,
  );
  console.log('## Upload');
  console.log(
    '| size | time | throughput | SHA-256 and size as sent | API RSS before / peak during / after | peak − before | API VmHWM before / after | heap used / external, peak − before | API CPU |',
  );
  console.log('| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |');
  const m = up.memory;
  console.log(
    `| ${mib(up.bytes)} | ${seconds(up.ms)} | ${rate(up.bytes, up.ms)} | ${up.verified ? 'yes' : 'NO'} | ${mib(m.before.rss)} / ${mib(m.peak.rss)} / ${mib(m.after.rss)} | ${signedMib(m.peak.rss - m.before.rss)} | ${mib(up.hwm.before)} / ${mib(up.hwm.after)} | ${signedMib(m.peak.heapUsed - m.before.heapUsed)} / ${signedMib(m.peak.external - m.before.external)} | ${up.cpu.toFixed(0)} % |`,
  );
  console.log(`\n## ${mib(ARTIFACT_BYTES)} artifact downloaded by simulated agents at once`);
  console.log(
    '| agents | all done after | aggregate throughput | per agent p50 / p95 / max | first byte p95 | SHA-256 verified | API RSS before / peak / after | peak − before | heap used / external, peak − before | CPU API / simulator / PostgreSQL |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rounds) {
    console.log(
      `| ${r.agents} | ${seconds(r.wallMs)} | ${rate(r.agents * ARTIFACT_BYTES, r.wallMs)} | ${seconds(pct(r.times, 0.5))} / ${seconds(pct(r.times, 0.95))} / ${seconds(Math.max(...r.times))} | ${seconds(pct(r.firstByte, 0.95))} | ${r.ok} of ${r.agents} | ${mib(r.memory.before.rss)} / ${mib(r.memory.peak.rss)} / ${mib(r.memory.after.rss)} | ${signedMib(r.memory.peak.rss - r.memory.before.rss)} | ${signedMib(r.memory.peak.heapUsed - r.memory.before.heapUsed)} / ${signedMib(r.memory.peak.external - r.memory.before.external)} | ${r.cpu.api.toFixed(0)} % / ${r.cpu.sim.toFixed(0)} % / ${r.cpu.pg.toFixed(0)} % |`,
    );
  }
  const wrong = rounds.flatMap((r) => r.wrong);
  if (wrong.length) {
    console.log(`\nDownloads that failed or did not verify (first 5 of ${wrong.length}):`);
    for (const d of wrong.slice(0, 5))
      console.log(
        `- device ${d.index}: status ${d.status}, ${d.bytes} bytes, sha256 ${d.sha256.slice(0, 16)}…${d.error ? `, ${d.error}` : ''}`,
      );
    process.exitCode = 1;
  }
}

await main();
