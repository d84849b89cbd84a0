/**
 * The jobs benchmark (`npm run bench:jobs`, issue 7 "Tests and figures"): a saved three-step job with parameters run
 * on every simulated device (agent/src/fleet-sim, in a process of its own) against the product as separate
 * processes — embedded PostgreSQL, a Temporal dev server, the API built to plain JavaScript, a worker and the
 * console's production server — on a fresh stack per fleet size. For each size it prints:
 *   - the run: from POST /jobs/{id}/runs until the run finished, its status and its devices per status, next to the
 *     outcome the simulator's own results imply (the simulator fails BENCH_FAIL_RATE of all commands, seeded);
 *   - the API's latency during the run: the read endpoints the console's run page uses, each sampled every
 *     BENCH_SAMPLE_MS (p50 / p95 / max), and the round trips of the agents' result posts (and the part in the API);
 *   - the console's run page (GET /runs/{id}, signed in through its login form) during the run: time to the
 *     first byte of its HTML and to its end;
 *   - the run's workflow history (events, bytes) and the largest history of any workflow on the Temporal server;
 *   - every error the devices saw.
 *
 * The job:
 *   parameters: greeting (string), host (device-scoped: each device's hostname)
 *   1. shell `echo "{{ greeting }} {{ host }}"`
 *   2. shell `test -e /etc/bench-marker`, continueOnError (a failure here does not fail the device)
 *   3. shell `true`, condition always (runs after a failure too)
 *
 *   npm run bench:jobs                      # 1,000 and 10,000 devices
 *   npm run bench:jobs -- 1000              # one size
 *   BENCH_FAIL_RATE=0 BENCH_SETTLE_SECONDS=20 BENCH_RAMP=500 BENCH_RUN_TIMEOUT_SECONDS=900 BENCH_SAMPLE_MS=250
 *   BENCH_PAGE_SAMPLE_MS=1000 BENCH_VERBOSE=1 BENCH_API_ENV="…" BENCH_WORKER_ENV="DISPATCH_PER_SECOND=300"
 */
import { Connection, WorkflowClient } from '@temporalio/client';
import { createDatabase } from '@opsconductor/db';
import { spawnFleet, type CallSummary, type FleetStatsSnapshot, type RemoteFleet } from '../../agent/src/fleet-sim/index.ts';
import { startBenchStack, type BenchStack } from './lib/bench-stack.ts';
import { every } from './lib/sampling.ts';
import { CpuMeter, rssBytes } from './lib/proc.ts';

const sizes = (process.argv.slice(2).length ? process.argv.slice(2) : ['1000', '10000']).map((s) => Number(s.replace(/[_,]/g, '')));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SETTLE_SECONDS = env('BENCH_SETTLE_SECONDS', 20);
const RAMP = env('BENCH_RAMP', 500);
const RUN_TIMEOUT_MS = env('BENCH_RUN_TIMEOUT_SECONDS', 900) * 1000;
const SAMPLE_MS = env('BENCH_SAMPLE_MS', 250);
const PAGE_SAMPLE_MS = env('BENCH_PAGE_SAMPLE_MS', 1000);
const FAIL_RATE = env('BENCH_FAIL_RATE', 0.01);
const SEED = 7;
const GOAL_MS = 5 * 60_000;

const JOB = {
  name: 'Bench: three steps with parameters',
  description: 'npm run bench:jobs',
  parameters: [
    { name: 'greeting', type: 'string', required: true },
    { name: 'host', type: 'device', field: 'hostname' },
  ],
  steps: [
    { name: 'Greet', kind: 'shell', command: 'echo "{{ greeting }} {{ host }}"', timeoutSeconds: 300 },
    { name: 'May fail', kind: 'shell', command: 'test -e /etc/bench-marker', continueOnError: true, timeoutSeconds: 300 },
    { name: 'Always', kind: 'shell', command: 'true', condition: 'always', timeoutSeconds: 300 },
  ],
};
const GREETING = 'hello';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;
const kb = (bytes: number) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.round(bytes / 1024)} kB`);
const ms = (v: number | null | undefined) =>
  v === null || v === undefined
    ? '–'
    : v >= 10_000
      ? `${(v / 1000).toFixed(1)} s`
      : v >= 1000
        ? `${(v / 1000).toFixed(2)} s`
        : `${Math.round(v)} ms`;
const seconds = (v: number) => `${(v / 1000).toFixed(1)} s`;
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
const describe = (e: Record<string, number>) =>
  Object.keys(e).length
    ? Object.entries(e)
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ')
    : 'none';

/** Latencies of one sampled endpoint: each call's time to the response's first byte and to its end. */
class Sampler {
  readonly ttfb: number[] = [];
  readonly total: number[] = [];
  readonly failures: Record<string, number> = {};
  bytes = 0;
  record(r: Timed): void {
    if (r.status === 200) {
      this.ttfb.push(r.ttfb);
      this.total.push(r.total);
      this.bytes = Math.max(this.bytes, r.bytes);
    } else {
      const kind = r.status === 0 ? 'connection' : `http_${r.status}`;
      this.failures[kind] = (this.failures[kind] ?? 0) + 1;
    }
  }
  summary(of: 'ttfb' | 'total' = 'total') {
    const xs = this[of];
    return { n: xs.length, p50: pct(xs, 0.5), p95: pct(xs, 0.95), max: xs.length ? Math.max(...xs) : null };
  }
}
interface Timed {
  status: number;
  ttfb: number;
  total: number;
  bytes: number;
}

/** A GET timed to its headers and to the last byte of its body (read, not parsed). */
async function timedGet(url: string, headers: Record<string, string>): Promise<Timed> {
  const began = performance.now();
  try {
    const res = await fetch(url, { headers, redirect: 'manual' });
    const ttfb = performance.now() - began;
    const body = await res.arrayBuffer();
    return { status: res.status, ttfb, total: performance.now() - began, bytes: body.byteLength };
  } catch {
    return { status: 0, ttfb: 0, total: performance.now() - began, bytes: 0 };
  }
}

/** What the simulator's results say a device's run must end as (the job above; results in the order they came). */
function expectedStatus(results: string[]): 'succeeded' | 'failed' | 'incomplete' {
  // Step 1 failed: step 2 is skipped, step 3 runs (always), the device fails. Else steps 2 and 3 run; only step 3 fails it.
  if (results.length === 2 && results[0] !== 'succeeded') return 'failed';
  if (results.length === 3 && results[0] === 'succeeded') return results[2] === 'succeeded' ? 'succeeded' : 'failed';
  return 'incomplete';
}

interface SizeResult {
  agents: number;
  enrolment: string;
  post: { status: number; ms: number };
  /** From the POST's start until the run's finishedAt (the API's clock, the same machine). */
  endToEnd: number | null;
  status: string;
  counts: Record<string, number>;
  expected: Record<string, number>;
  commandsFailedBySim: number;
  results: number;
  continuedAfterStep2: number;
  payloadCheck: string;
  endpoints: Record<string, Sampler>;
  page: Sampler;
  pageNote: string;
  result: CallSummary;
  resultInApi: { p50: string; p95: string };
  history: { run: { events: number; bytes: number } | null; largest: { id: string; events: number; bytes: number } | null };
  errors: Record<string, number>;
  cpu: Record<string, number>;
  peakRss: number;
  eventLoopMaxMs: number;
  /** Most requests waiting for a connection of each of the API's pools (admin: the console's and operators' API). */
  poolWaitingPeak: Record<string, number>;
  /** The same reads as measured in the API (every caller: the console's loader too), p50 / p95 as buckets. */
  readsInApi: Record<string, { p50: string; p95: string }>;
  /** PostgreSQL's busy backends, sampled: statements by share of the samples, with their commonest wait. */
  pgBusy: { samples: number; meanActive: number; top: { query: string; share: number; wait: string }[] };
}

/** The routes (as the API's metrics label them) of the sampled reads. */
const READ_ROUTES: Record<string, string> = {
  'GET /job-runs/{id}': '/api/v1/job-runs/:id',
  'GET /job-runs/{id}/targets?status=failed': '/api/v1/job-runs/:id/targets',
  'GET /job-runs?pageSize=50': '/api/v1/job-runs',
  'GET /job-runs/{id}/devices/{d}/steps': '/api/v1/job-runs/:id/devices/:deviceId/steps',
};

/** Samples pg_stat_activity: which statements PostgreSQL's busy backends run, and what they wait for. */
class PgSampler {
  private readonly db;
  private readonly byQuery = new Map<string, { n: number; waits: Map<string, number> }>();
  samples = 0;
  private active = 0;
  constructor(url: string) {
    this.db = createDatabase({ url, poolMax: 1 });
  }
  async sample(): Promise<void> {
    const { rows } = await this.db.pool.query<{ query: string; wait: string | null }>(
      `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query, wait_event_type || ':' || wait_event AS wait
         FROM pg_stat_activity WHERE state NOT IN ('idle') AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
    );
    this.samples++;
    this.active += rows.length;
    for (const r of rows) {
      const q = this.byQuery.get(r.query) ?? { n: 0, waits: new Map() };
      q.n++;
      const wait = r.wait ?? 'CPU';
      q.waits.set(wait, (q.waits.get(wait) ?? 0) + 1);
      this.byQuery.set(r.query, q);
    }
  }
  summary(): SizeResult['pgBusy'] {
    const total = [...this.byQuery.values()].reduce((a, q) => a + q.n, 0) || 1;
    const top = [...this.byQuery]
      .sort((a, b) => b[1].n - a[1].n)
      .slice(0, 6)
      .map(([query, q]) => ({ query, share: q.n / total, wait: [...q.waits].sort((a, b) => b[1] - a[1])[0]![0] }));
    return { samples: this.samples, meanActive: this.samples ? this.active / this.samples : 0, top };
  }
  close(): Promise<void> {
    return this.db.close();
  }
}

async function benchmark(agents: number): Promise<SizeResult> {
  console.error(`\n## ${agents.toLocaleString('en-US')} devices: starting PostgreSQL, Temporal, the API, a worker and the console`);
  const stack = await startBenchStack({ temporal: true, web: true });
  let fleet: RemoteFleet | undefined;
  try {
    const token = await stack.enrollmentToken(agents);
    const began = performance.now();
    // deviceId → commandId → the status the simulated device reported (first report; copies are the same).
    const reported = new Map<string, Map<string, string>>();
    let runStartedAt = Infinity;
    fleet = await spawnFleet(
      {
        serverUrl: stack.apiUrl,
        enrollmentToken: token,
        agents,
        rampPerSecond: RAMP,
        enrollConcurrency: 64,
        hostnamePrefix: 'bench',
        seed: SEED,
        behaviour: { failRate: FAIL_RATE },
      },
      {
        onResult: (e) => {
          if (e.reportedAt < runStartedAt) return;
          let byCommand = reported.get(e.deviceId);
          if (!byCommand) reported.set(e.deviceId, (byCommand = new Map()));
          if (!byCommand.has(e.commandId)) byCommand.set(e.commandId, e.status);
        },
        nodeOptions: ['--max-old-space-size=4096'],
      },
    );
    await fleet.ready;
    const upSeconds = (performance.now() - began) / 1000;
    const enrolment = `${upSeconds.toFixed(1)} s (${Math.round(agents / upSeconds)}/s)`;
    console.error(`   online after ${enrolment}; settling ${SETTLE_SECONDS} s`);

    const created = await stack.api('POST', '/api/v1/jobs', JOB);
    if (created.status !== 201) throw new Error(`POST /jobs: ${created.status} ${JSON.stringify(created.body)}`);
    const jobId = created.body.id as string;
    const devices = (await fleet.devices()).filter((d) => d.deviceId);
    const someDevice = devices[Math.floor(devices.length / 2)]!;
    const cookie = stack.webUrl ? await stack.webSession() : '';
    await sleep(SETTLE_SECONDS * 1000);

    // --- the run -------------------------------------------------------------------------------
    console.error(`   three-step job on every device`);
    await fleet.resetStats();
    const meters = {
      api: new CpuMeter(() => [stack.apiPid]),
      postgres: new CpuMeter(() => stack.postgresPids()),
      temporal: new CpuMeter(() => (stack.temporalPid ? [stack.temporalPid] : [])),
      worker: new CpuMeter(() => stack.workerPids()),
      console: new CpuMeter(() => (stack.webPid ? [stack.webPid] : [])),
      simulator: new CpuMeter(() => [fleet!.pid]),
    };
    for (const m of Object.values(meters)) m.begin();
    const metricsBefore = await stack.metrics();
    let peakRss = rssBytes(stack.apiPid);
    let eventLoopMaxMs = 0;
    const poolWaitingPeak: Record<string, number> = {};
    const pg = new PgSampler(stack.databaseUrl);
    const pgStop = { stopped: false };
    const pgLoop = every(500, pgStop, () => pg.sample().catch(() => {}));
    const scrape = setInterval(() => {
      peakRss = Math.max(peakRss, rssBytes(stack.apiPid));
      // Scraping resets the API's event-loop histogram, so each scrape gives the longest delay since the last.
      void stack.metrics().then(
        (m) => {
          eventLoopMaxMs = Math.max(eventLoopMaxMs, gauge(m, 'nodejs_eventloop_lag_max_seconds') * 1000);
          for (const [, pool, n] of m.matchAll(/^opsconductor_api_db_pool_waiting\{pool="([^"]+)"\} (\S+)$/gm))
            poolWaitingPeak[pool!] = Math.max(poolWaitingPeak[pool!] ?? 0, Number(n));
        },
        () => {},
      );
    }, 1000);

    runStartedAt = Date.now();
    const t0 = Date.now();
    const post = await stack.api('POST', `/api/v1/jobs/${jobId}/runs`, {
      filter: {},
      parameters: { greeting: GREETING },
      expectedDeviceCount: agents,
      deadlineSeconds: 3600,
    });
    const endpoints: Record<string, Sampler> = {};
    const page = new Sampler();
    let endToEnd: number | null = null;
    let status = `POST ${post.status}${post.status === 201 ? '' : ` ${JSON.stringify(post.body)}`}`;
    let counts: Record<string, number> = {};
    let workflowId: string | undefined;
    if (post.status === 201) {
      const runId = post.body.id as string;
      workflowId = post.body.workflowId as string;
      const auth = { authorization: `Bearer ${stack.adminToken}` };
      const reads: Record<string, string> = {
        'GET /job-runs/{id}': `/api/v1/job-runs/${runId}`,
        'GET /job-runs/{id}/targets?status=failed': `/api/v1/job-runs/${runId}/targets?status=failed`,
        'GET /job-runs?pageSize=50': `/api/v1/job-runs?pageSize=50`,
        'GET /job-runs/{id}/devices/{d}/steps': `/api/v1/job-runs/${runId}/devices/${someDevice.deviceId}/steps`,
      };
      const stop = { stopped: false };
      const loops = Object.entries(reads).map(([name, path]) => {
        const sampler = (endpoints[name] = new Sampler());
        return every(SAMPLE_MS, stop, async () => sampler.record(await timedGet(stack.apiUrl + path, auth)));
      });
      const version = `/api/v1/jobs/${jobId}/versions/${post.body.job.version as number}`;
      const loadPage = stack.webUrl
        ? () => timedGet(`${stack.webUrl}/runs/${runId}`, { cookie })
        : // No console: what its loader waits for before the HTML starts, the run with its first page of targets (read
          // together; a run on up to 500 devices reads them all) and then its job's version.
          async (): Promise<Timed> => {
            const [run, first] = await Promise.all([
              timedGet(`${stack.apiUrl}/api/v1/job-runs/${runId}?targets=none`, auth),
              timedGet(`${stack.apiUrl}/api/v1/job-runs/${runId}/targets?limit=100`, auth),
            ]);
            if (run.status !== 200) return run;
            const took = Math.max(run.total, first.total);
            const job = await timedGet(stack.apiUrl + version, auth);
            return { ...job, ttfb: took + job.ttfb, total: took + job.total, bytes: run.bytes + first.bytes + job.bytes };
          };
      loops.push(every(PAGE_SAMPLE_MS, stop, async () => page.record(await loadPage())));
      const until = t0 + RUN_TIMEOUT_MS;
      while (Date.now() < until) {
        const { body } = await stack.api('GET', `/api/v1/job-runs?pageSize=1`);
        const run = body?.items?.[0];
        if (run?.id === runId) {
          counts = run.counts ?? {};
          if (run.finishedAt) {
            endToEnd = Date.parse(run.finishedAt) - t0;
            status = run.status;
            break;
          }
        }
        await sleep(1000);
      }
      stop.stopped = true;
      await Promise.all(loops);
      if (endToEnd === null) status = `not finished after ${RUN_TIMEOUT_MS / 1000} s`;
    }
    clearInterval(scrape);
    pgStop.stopped = true;
    await pgLoop;
    await pg.close();
    const cpu = Object.fromEntries(Object.entries(meters).map(([name, m]) => [name, m.percent()]));
    const metricsAfter = await stack.metrics();
    const resultInApi = bucketQuantiles(
      histogramBuckets(metricsBefore, 'agent_channel_call_duration_seconds', 'result'),
      histogramBuckets(metricsAfter, 'agent_channel_call_duration_seconds', 'result'),
    );
    const readsInApi = Object.fromEntries(
      Object.entries(READ_ROUTES).map(([name, route]) => [
        name,
        bucketQuantiles(
          histogramBuckets(metricsBefore, 'http_request_duration_seconds', route, 'route', 'GET'),
          histogramBuckets(metricsAfter, 'http_request_duration_seconds', route, 'route', 'GET'),
        ),
      ]),
    );
    const stats = await fleet.stats();

    // --- what the simulator's results imply ----------------------------------------------------
    const expected: Record<string, number> = {};
    let commandsFailedBySim = 0;
    let results = 0;
    let continuedAfterStep2 = 0;
    for (const d of post.status === 201 ? devices : []) {
      const statuses = [...(reported.get(d.deviceId!)?.values() ?? [])];
      results += statuses.length;
      commandsFailedBySim += statuses.filter((s) => s !== 'succeeded').length;
      const e = expectedStatus(statuses);
      if (e === 'succeeded' && statuses[1] !== 'succeeded') continuedAfterStep2++;
      expected[e] = (expected[e] ?? 0) + 1;
    }

    return {
      agents,
      enrolment,
      post: { status: post.status, ms: post.ms },
      endToEnd,
      status,
      counts,
      expected,
      commandsFailedBySim,
      results,
      continuedAfterStep2,
      payloadCheck: await firstPayload(stack, someDevice.deviceId!, someDevice.hostname),
      endpoints,
      page,
      pageNote: stack.webUrl
        ? `console ${stack.webNote}`
        : `no console (${stack.webNote ?? 'not started'}): the page loader's API calls timed instead, GET /job-runs/{id} then GET /jobs/{id}/versions/{v}`,
      result: stats.calls.result,
      resultInApi,
      history: await histories(stack, workflowId),
      errors: errorsOf(stats),
      cpu,
      peakRss,
      eventLoopMaxMs,
      poolWaitingPeak,
      readsInApi,
      pgBusy: pg.summary(),
    };
  } catch (err) {
    console.error(stack.logs.slice(-40).join('\n'));
    throw err;
  } finally {
    await fleet?.stop();
    await stack.close();
  }
}

/** Step 1's command as stored for one device: its parameters must travel in `env` (payload version 2). */
async function firstPayload(stack: BenchStack, deviceId: string, hostname: string): Promise<string> {
  const db = createDatabase({ url: stack.databaseUrl, poolMax: 1 });
  try {
    const { rows } = await db.pool.query<{ payload: { command: string; env?: Record<string, string> } }>(
      `SELECT p.payload FROM agent_commands c JOIN command_payloads p ON p.sha256 = c.payload_sha256
        WHERE c.device_id = $1 ORDER BY c.created_at, c.id LIMIT 1`,
      [deviceId],
    );
    const p = rows[0]?.payload;
    if (!p) return `${hostname}: no command`;
    const ok = p.env?.OC_PARAM_GREETING === GREETING && p.env?.OC_PARAM_HOST === hostname;
    return `${ok ? 'ok' : 'WRONG'}: ${hostname}'s step 1 is \`${p.command}\` with env ${JSON.stringify(p.env ?? {})}`;
  } finally {
    await db.close();
  }
}

/** The run's workflow history (events and bytes) and the largest history on the server (its own figures). */
async function histories(stack: BenchStack, workflowId: string | undefined): Promise<SizeResult['history']> {
  if (!stack.temporalAddress) return { run: null, largest: null };
  const connection = await Connection.connect({ address: stack.temporalAddress });
  try {
    const client = new WorkflowClient({ connection, namespace: 'default' });
    let run: SizeResult['history']['run'] = null;
    if (workflowId) {
      const handle = client.getHandle(workflowId);
      const [history, description] = await Promise.all([handle.fetchHistory(), handle.describe()]);
      // Events as fetched; bytes as the server counts them for its 50 MB limit.
      run = { events: history.events?.length ?? description.historyLength, bytes: description.historySize ?? 0 };
    }
    let largest: SizeResult['history']['largest'] = null;
    for await (const w of client.list()) {
      if (!largest || w.historyLength > largest.events) largest = { id: w.workflowId, events: w.historyLength, bytes: w.historySize ?? 0 };
    }
    return { run, largest };
  } finally {
    await connection.close();
  }
}

/** Cumulative counts of one of the API's histograms for one label value (of `name`, or of any label; of one method), by upper bound. */
function histogramBuckets(metrics: string, histogram: string, label: string, name = '[a-z_]+', method?: string): Map<number, number> {
  const out = new Map<number, number>();
  const byMethod = method ? `(?=[^}]*method="${method}")` : '';
  const re = new RegExp(
    `^opsconductor_api_${histogram}_bucket\\{${byMethod}(?=[^}]*${name}="${label}")(?=[^}]*le="([^"]+)")[^}]*\\} (\\S+)$`,
    'gm',
  );
  for (const m of metrics.matchAll(re)) out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  return out;
}

/** A gauge of the API's default Node.js metrics, in its unit. */
function gauge(metrics: string, name: string): number {
  const m = new RegExp(`^opsconductor_api_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics);
  return m ? Number(m[1]) : 0;
}

/** p50 and p95 of what the histogram counted between two scrapes, as the bucket each falls in ("≤ 250 ms"). */
function bucketQuantiles(before: Map<number, number>, after: Map<number, number>): { p50: string; p95: string } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  const at = (q: number) => {
    if (!total) return '–';
    const i = counts.findIndex((c) => c >= q * total);
    return bounds[i] === Infinity ? `> ${ms(bounds[i - 1]! * 1000)}` : `≤ ${ms(bounds[i]! * 1000)}`;
  };
  return { p50: at(0.5), p95: at(0.95) };
}

const triple = (s: { p50: number | null; p95: number | null; max: number | null }) => `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.max)}`;
const countsText = (c: Record<string, number>) =>
  Object.entries(c)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n.toLocaleString('en-US')}`)
    .join(', ') || '–';

function print(results: SizeResult[]) {
  console.log('\n# OpsConductor jobs benchmark');
  console.log(
    `A saved job of three shell steps (\`echo "{{ greeting }} {{ host }}"\`; \`test -e /etc/bench-marker\` with continueOnError; \`true\` with condition always), a string and a device-scoped hostname parameter, run on every device (\`filter: {}\`). Simulated agents in their own process (real enrolment, agent channel, start and result posted at once, ${FAIL_RATE * 100} % of commands told to fail, seed ${SEED}); the API built, a worker, Temporal's dev server, embedded PostgreSQL and the console's production server, each in its own process; ${SETTLE_SECONDS} s settling before the run. Read endpoints sampled every ${SAMPLE_MS} ms and the console's run page every ${PAGE_SAMPLE_MS} ms while the run went on.\n`,
  );
  console.log(
    '| devices | enrolment | three-step run on all (POST → finished) | status | devices per status (API) | expected from the simulator | POST /jobs/{id}/runs | result post p50 / p95 (of which in the API ≤) | run workflow history | largest history on the server | errors seen by the devices |',
  );
  console.log('| ---: | ---: | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of results) {
    const h = r.history;
    console.log(
      `| ${r.agents.toLocaleString('en-US')} | ${r.enrolment} | ${r.endToEnd === null ? '–' : seconds(r.endToEnd)}${r.endToEnd !== null ? (r.agents >= 10_000 ? (r.endToEnd <= GOAL_MS ? ' (goal met)' : ' (goal missed)') : '') : ''} | ${r.status} | ${countsText(r.counts)} | ${countsText(r.expected)} (${r.commandsFailedBySim} of ${r.results.toLocaleString('en-US')} commands failed; ${r.continuedAfterStep2} continued past step 2) | ${ms(r.post.ms)} (${r.post.status}) | ${ms(r.result.p50)} / ${ms(r.result.p95)} (${r.resultInApi.p50} / ${r.resultInApi.p95}) | ${h.run ? `${h.run.events} events, ${kb(h.run.bytes)}` : '–'} | ${h.largest ? `${h.largest.events} events, ${kb(h.largest.bytes)} (${h.largest.id})` : '–'} | ${describe(r.errors)} |`,
    );
  }
  console.log(
    '\nAPI latency while the run went on, p50 / p95 / max (to the end of the body; samples; largest body; p50 / p95 as the API measured that route for every caller, the console included):\n',
  );
  const names = Object.keys(READ_ROUTES);
  console.log(`| devices | ${names.join(' | ')} | run page: first byte | run page: whole |`);
  console.log(`| ---: | ${names.map(() => '---:').join(' | ')} | ---: | ---: |`);
  for (const r of results) {
    const cells = names.map((n) => {
      const s = r.endpoints[n];
      if (!s) return '–';
      const f = Object.keys(s.failures).length ? `; failed ${describe(s.failures)}` : '';
      const api = r.readsInApi[n];
      return `${triple(s.summary())} (${s.total.length}; ${kb(s.bytes)}${f}; in the API ${api?.p50} / ${api?.p95})`;
    });
    const page = [
      `${triple(r.page.summary('ttfb'))} (${r.page.ttfb.length})`,
      `${triple(r.page.summary('total'))} (${kb(r.page.bytes)}${Object.keys(r.page.failures).length ? `; failed ${describe(r.page.failures)}` : ''})`,
    ];
    console.log(`| ${r.agents.toLocaleString('en-US')} | ${cells.join(' | ')} | ${page.join(' | ')} |`);
  }
  console.log(
    '\nMore: ' +
      results
        .map(
          (r) =>
            `${r.agents.toLocaleString('en-US')} devices: CPU during the run ${Object.entries(r.cpu)
              .map(([name, v]) => `${name} ${v.toFixed(0)} %`)
              .join(
                ', ',
              )}; run page: ${r.pageNote}; API RSS peak ${mb(r.peakRss)}, longest event-loop delay ${ms(r.eventLoopMaxMs)}; payload ${r.payloadCheck}`,
        )
        .join('; ') +
      '.',
  );
  for (const r of results) {
    const wait = Object.entries(r.poolWaitingPeak)
      .map(([pool, n]) => `${pool} ${n}`)
      .join(', ');
    console.log(
      `\nPostgreSQL during the run on ${r.agents.toLocaleString('en-US')} devices (${r.pgBusy.samples} samples of pg_stat_activity, ${r.pgBusy.meanActive.toFixed(1)} busy backends on average; most requests waiting for a connection of the API's pools: ${wait || '–'}):`,
    );
    for (const q of r.pgBusy.top) console.log(`- ${(q.share * 100).toFixed(0)} % \`${q.query}\` (mostly ${q.wait})`);
  }
  console.log(
    `\nGoal (10,000 devices, this machine): the three-step run on all in under 5 minutes. Temporal's limits: 51,200 events / 50 MB of history per workflow (warning at 10,240).`,
  );
}

const results: SizeResult[] = [];
for (const agents of sizes) results.push(await benchmark(agents));
print(results);
