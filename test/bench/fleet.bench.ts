/**
 * The fleet benchmark (`npm run bench:fleet`): simulated agents (agent/src/fleet-sim, in a process of its own)
 * against the product as separate processes — embedded PostgreSQL, a Temporal dev server, the API built to plain
 * JavaScript and a worker — on a fresh stack per fleet size. For each size it prints:
 *   - enrolment: how long the fleet took to enroll and come online, in devices/s;
 *   - idle: API RSS and the CPU of the API, PostgreSQL and Temporal while every device long-polls;
 *     round trips of the empty long-polls (they include the server's 25 s wait);
 *   - dispatch: time from POST /job-runs to the command reaching an idle device, p50/p95 over 20 one-device runs,
 *     and the round trips of those runs' result posts;
 *   - fan-out: a one-step run on every device, from the POST until the run finished, with the result posts'
 *     round trips and every error the devices saw.
 *
 *   npm run bench:fleet                      # 1,000 and 10,000 devices
 *   npm run bench:fleet -- 1000              # one size
 *   BENCH_IDLE_SECONDS=60 BENCH_SETTLE_SECONDS=30 BENCH_RAMP=500 BENCH_FANOUT_TIMEOUT_SECONDS=900 BENCH_VERBOSE=1
 *   BENCH_API_ENV="AGENT_DB_POOL_MAX=30"      # more environment for the API
 *   BENCH_WORKER_ENV="DISPATCH_PER_SECOND=60" # and for the worker
 */
import { spawnFleet, type CallSummary, type FleetStatsSnapshot, type RemoteFleet } from '../../agent/src/fleet-sim/index.ts';
import { startBenchStack } from './lib/bench-stack.ts';
import { CpuMeter, rssBytes } from './lib/proc.ts';

const sizes = (process.argv.slice(2).length ? process.argv.slice(2) : ['1000', '10000']).map((s) => Number(s.replace(/[_,]/g, '')));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const IDLE_SECONDS = env('BENCH_IDLE_SECONDS', 60);
const SETTLE_SECONDS = env('BENCH_SETTLE_SECONDS', 30);
const RAMP = env('BENCH_RAMP', 500);
const FANOUT_TIMEOUT_MS = env('BENCH_FANOUT_TIMEOUT_SECONDS', 900) * 1000;
const DISPATCH_RUNS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;
const ms = (v: number | null) => (v === null ? '–' : v >= 10_000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);
const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : null;
};
const errorsOf = (s: FleetStatsSnapshot) => {
  const out: Record<string, number> = {};
  for (const [call, c] of Object.entries(s.calls))
    for (const [kind, n] of Object.entries((c as CallSummary).errorsByKind)) out[`${call} ${kind}`] = n;
  return out;
};
const describeErrors = (e: Record<string, number>) =>
  Object.keys(e).length
    ? Object.entries(e)
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ')
    : 'none';

interface SizeResult {
  agents: number;
  enrolment: string;
  idleRss: number;
  idleCpu: { api: number; pg: number; temporal: number; sim: number };
  poll: CallSummary;
  dispatch: { p50: number | null; p95: number | null; post: number | null; failed: number; result: CallSummary };
  fanout: {
    post: { status: number; ms: number };
    received: number | null;
    finished: number | null;
    status: string;
    result: CallSummary;
    /** The same result calls measured in the API, from frame to reply (its histogram's buckets: "≤ 250 ms"). */
    resultInApi: { p50: string; p95: string };
    /** The API's database calls that wrote the results: their time and the results each held (p50, p95). */
    resultBatches: { seconds: { p50: string; p95: string }; items: { p50: string; p95: string } };
    peakRss: number;
    /** The API's longest event-loop delay (its metrics, scraped each second) and its GC pauses, by kind. */
    eventLoopMaxMs: number;
    gcMs: Record<string, number>;
    errors: Record<string, number>;
    pollErrors: number;
    /** CPU per process during the fan-out, in % of one core. */
    cpu: Record<string, number>;
  };
  idleErrors: Record<string, number>;
}

async function benchmark(agents: number): Promise<SizeResult> {
  console.error(`\n## ${agents.toLocaleString('en-US')} devices: starting PostgreSQL, Temporal, the API and a worker`);
  const stack = await startBenchStack({ temporal: true });
  let fleet: RemoteFleet | undefined;
  try {
    const received = new Map<string, number>(); // deviceId → when its latest command arrived
    const resulted = new Map<string, number>();
    let results = 0;
    const token = await stack.enrollmentToken(agents);
    const began = performance.now();
    fleet = await spawnFleet(
      { serverUrl: stack.apiUrl, enrollmentToken: token, agents, rampPerSecond: RAMP, enrollConcurrency: 64, hostnamePrefix: 'bench' },
      {
        onCommand: (e) => received.set(e.deviceId, e.receivedAt),
        onResult: (e) => {
          resulted.set(e.deviceId, e.reportedAt);
          results++;
        },
        nodeOptions: ['--max-old-space-size=4096'],
      },
    );
    await fleet.ready;
    const upSeconds = (performance.now() - began) / 1000;
    const enrolment = `${upSeconds.toFixed(1)} s (${Math.round(agents / upSeconds)}/s)`;
    console.error(`   online after ${enrolment}; settling ${SETTLE_SECONDS} s`);
    await sleep(SETTLE_SECONDS * 1000);

    // --- idle --------------------------------------------------------------------------------
    const simPid = fleet.pid;
    const meters = {
      api: new CpuMeter(() => [stack.apiPid]),
      pg: new CpuMeter(() => stack.postgresPids()),
      temporal: new CpuMeter(() => (stack.temporalPid ? [stack.temporalPid] : [])),
      sim: new CpuMeter(() => [simPid]),
    };
    await fleet.resetStats();
    for (const m of Object.values(meters)) m.begin();
    console.error(`   idle for ${IDLE_SECONDS} s`);
    await sleep(IDLE_SECONDS * 1000);
    const idleCpu = { api: meters.api.percent(), pg: meters.pg.percent(), temporal: meters.temporal.percent(), sim: meters.sim.percent() };
    const idleRss = rssBytes(stack.apiPid);
    const idleStats = await fleet.stats();

    // --- dispatch to an idle device ------------------------------------------------------------
    console.error(`   ${DISPATCH_RUNS} one-device runs`);
    await fleet.resetStats();
    const devices = (await fleet.devices()).filter((d) => d.status === 'online' && d.deviceId);
    const dispatch: number[] = [];
    const posts: number[] = [];
    let failed = 0;
    for (let i = 0; i < DISPATCH_RUNS; i++) {
      const device = devices[Math.floor(((i + 0.5) / DISPATCH_RUNS) * devices.length)]!;
      const t0 = Date.now();
      const res = await stack.api('POST', '/api/v1/job-runs', { deviceIds: [device.deviceId], command: 'true' });
      posts.push(res.ms);
      if (res.status !== 201) {
        failed++;
        continue;
      }
      try {
        const at = await waitUntil(() => {
          const r = received.get(device.deviceId!);
          return r !== undefined && r >= t0 ? r : undefined;
        }, 30_000);
        dispatch.push(at - t0);
        await waitUntil(() => {
          const r = resulted.get(device.deviceId!);
          return r !== undefined && r >= t0 ? r : undefined;
        }, 30_000);
      } catch {
        failed++;
      }
      await sleep(500);
    }

    const dispatchStats = await fleet.stats();

    // --- fan-out to every device ---------------------------------------------------------------
    console.error('   one-step run on every device');
    await fleet.resetStats();
    const resultsBefore = results;
    const fanBegan = Date.now();
    let peakRss = rssBytes(stack.apiPid);
    let eventLoopMaxMs = 0;
    const rssTimer = setInterval(() => {
      peakRss = Math.max(peakRss, rssBytes(stack.apiPid));
      // Scraping resets the API's event-loop histogram, so each scrape gives the longest delay since the last.
      void stack.metrics().then(
        (m) => (eventLoopMaxMs = Math.max(eventLoopMaxMs, gauge(m, 'nodejs_eventloop_lag_max_seconds') * 1000)),
        () => {},
      );
    }, 1000);
    const fanMeters = { ...meters, worker: new CpuMeter(() => stack.workerPids()) };
    for (const m of Object.values(fanMeters)) m.begin();
    const metricsBefore = await stack.metrics();

    const post = await stack.api('POST', '/api/v1/job-runs', {
      filter: {},
      command: 'true',
      expectedDeviceCount: agents,
      deadlineSeconds: 3600,
    });
    let receivedAll: number | null = null;
    let finished: number | null = null;
    let status = `POST ${post.status}${post.status === 201 ? '' : ` ${JSON.stringify(post.body)}`}`;
    if (post.status === 201) {
      const runId = post.body.id as string;
      const until = fanBegan + FANOUT_TIMEOUT_MS;
      while (Date.now() < until) {
        if (receivedAll === null && [...received.values()].filter((t) => t >= fanBegan).length >= agents)
          receivedAll = Date.now() - fanBegan;
        if (results - resultsBefore >= agents) {
          const { body } = await stack.api('GET', `/api/v1/job-runs?pageSize=1`);
          const run = body?.items?.[0];
          if (run?.id === runId && run.finishedAt) {
            finished = Date.parse(run.finishedAt) - fanBegan;
            status = run.status;
            break;
          }
        }
        await sleep(1000);
      }
      if (finished === null) {
        const { body } = await stack.api('GET', `/api/v1/job-runs?pageSize=1`);
        status = `not finished after ${FANOUT_TIMEOUT_MS / 1000} s (${results - resultsBefore} results; counts ${JSON.stringify(body?.items?.[0]?.counts ?? {})})`;
      }
    }
    clearInterval(rssTimer);
    const metricsAfter = await stack.metrics();
    const between = (histogram: string, label: string, format?: (bound: number) => string) =>
      bucketQuantiles(histogramBuckets(metricsBefore, histogram, label), histogramBuckets(metricsAfter, histogram, label), format);
    const resultInApi = between('agent_channel_call_duration_seconds', 'result');
    const resultBatches = {
      seconds: between('agent_report_batch_duration_seconds', 'result'),
      items: between('agent_report_batch_items', 'result', String),
    };
    const gcBefore = gcSeconds(metricsBefore);
    const gcMs = Object.fromEntries([...gcSeconds(metricsAfter)].map(([kind, s]) => [kind, (s - (gcBefore.get(kind) ?? 0)) * 1000]));
    const fanCpu = Object.fromEntries(Object.entries(fanMeters).map(([name, m]) => [name, m.percent()]));
    const fanStats = await fleet.stats();
    return {
      agents,
      enrolment,
      idleRss,
      idleCpu,
      poll: idleStats.calls.poll,
      idleErrors: errorsOf(idleStats),
      dispatch: { p50: pct(dispatch, 0.5), p95: pct(dispatch, 0.95), post: pct(posts, 0.5), failed, result: dispatchStats.calls.result },
      fanout: {
        post: { status: post.status, ms: post.ms },
        received: receivedAll,
        finished,
        status,
        result: fanStats.calls.result,
        resultInApi,
        resultBatches,
        peakRss,
        eventLoopMaxMs,
        gcMs,
        errors: errorsOf(fanStats),
        pollErrors: fanStats.calls.poll.errors,
        cpu: fanCpu,
      },
    };
  } catch (err) {
    console.error(stack.logs.slice(-40).join('\n'));
    throw err;
  } finally {
    await fleet?.stop();
    await stack.close();
  }
}

/** Cumulative counts of one of the API's histograms for one label value, by upper bound. */
function histogramBuckets(metrics: string, histogram: string, label: string): Map<number, number> {
  const out = new Map<number, number>();
  const re = new RegExp(`^opsconductor_api_${histogram}_bucket\\{(?=[^}]*="${label}")(?=[^}]*le="([^"]+)")[^}]*\\} (\\S+)$`, 'gm');
  for (const m of metrics.matchAll(re)) out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  return out;
}

/** A gauge of the API's default Node.js metrics, in its unit. */
function gauge(metrics: string, name: string): number {
  const m = new RegExp(`^opsconductor_api_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics);
  return m ? Number(m[1]) : 0;
}

/** Seconds the API has spent in GC pauses, by kind (major, minor, incremental, weakcb). */
function gcSeconds(metrics: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of metrics.matchAll(/^opsconductor_api_nodejs_gc_duration_seconds_sum\{[^}]*kind="([^"]+)"[^}]*\} (\S+)$/gm))
    out.set(m[1]!, Number(m[2]));
  return out;
}

/** p50 and p95 of what the histogram counted between two scrapes, as the bucket each falls in ("≤ 250 ms"). */
function bucketQuantiles(
  before: Map<number, number>,
  after: Map<number, number>,
  format: (bound: number) => string = (seconds) => ms(seconds * 1000),
): { p50: string; p95: string } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  const at = (q: number) => {
    if (!total) return '–';
    const i = counts.findIndex((c) => c >= q * total);
    return bounds[i] === Infinity ? `> ${format(bounds[i - 1]!)}` : `≤ ${format(bounds[i]!)}`;
  };
  return { p50: at(0.5), p95: at(0.95) };
}

async function waitUntil<T>(fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out');
    await sleep(5);
  }
}

function print(results: SizeResult[]) {
  console.log('\n# OpsConductor fleet benchmark');
  console.log(
    `Simulated agents in their own process (real enrolment, check-ins, 25 s long-polls, start and result posted at once); the API built, in its own process; ${IDLE_SECONDS} s idle window after ${SETTLE_SECONDS} s settling.\n`,
  );
  console.log(
    '| devices | enrolment | idle API RSS | idle CPU API / PostgreSQL / Temporal | empty long-poll p50 / p95 | dispatch to an idle device p50 / p95 (20 runs) | its result post p50 / p95 | one-step run on all | result post p50 / p95 (fan-out) | of which in the API (≤) | errors |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of results) {
    const f = r.fanout;
    const run =
      f.finished !== null
        ? `${(f.finished / 1000).toFixed(1)} s (POST ${ms(f.post.ms)}${f.received !== null ? `, all received after ${(f.received / 1000).toFixed(1)} s` : ''}; ${f.status})`
        : f.status;
    console.log(
      `| ${r.agents.toLocaleString('en-US')} | ${r.enrolment} | ${mb(r.idleRss)} | ${r.idleCpu.api.toFixed(1)} % / ${r.idleCpu.pg.toFixed(1)} % / ${r.idleCpu.temporal.toFixed(1)} % | ${ms(r.poll.p50)} / ${ms(r.poll.p95)} | ${ms(r.dispatch.p50)} / ${ms(r.dispatch.p95)}${r.dispatch.failed ? ` (${r.dispatch.failed} failed)` : ''} | ${ms(r.dispatch.result.p50)} / ${ms(r.dispatch.result.p95)} | ${run} | ${ms(f.result.p50)} / ${ms(f.result.p95)} | ${f.resultInApi.p50} / ${f.resultInApi.p95} | idle: ${describeErrors(r.idleErrors)}; fan-out: ${describeErrors(f.errors)} |`,
    );
  }
  console.log(
    '\nMore: ' +
      results
        .map(
          (r) =>
            `${r.agents.toLocaleString('en-US')} devices: simulator CPU ${r.idleCpu.sim.toFixed(1)} % idle, API RSS peak ${mb(r.fanout.peakRss)} and CPU ${Object.entries(
              r.fanout.cpu,
            )
              .map(([name, v]) => `${name} ${v.toFixed(0)} %`)
              .join(', ')} during the fan-out, its longest event-loop delay ${ms(r.fanout.eventLoopMaxMs)} and GC pauses ${Object.entries(
              r.fanout.gcMs,
            )
              .filter(([, v]) => v >= 1)
              .map(([kind, v]) => `${kind} ${ms(v)}`)
              .join(
                ', ',
              )}, result batches ${r.fanout.resultBatches.seconds.p50} / ${r.fanout.resultBatches.seconds.p95} of ${r.fanout.resultBatches.items.p50} / ${r.fanout.resultBatches.items.p95} results (p50 / p95), POST /job-runs p50 ${ms(r.dispatch.post)} for one device`,
        )
        .join('; ') +
      '.',
  );
  console.log(
    'Goals (10,000 devices, this machine): idle API RSS < 500 MB, result post p95 < 150 ms (one-device runs and the fan-out), dispatch p95 < 1 s, one-step run on all < 3 min.',
  );
}

const results: SizeResult[] = [];
for (const agents of sizes) results.push(await benchmark(agents));
print(results);
