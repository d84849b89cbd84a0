/**
 * The rollout benchmark (`npm run bench:rollout`, issue 9 "Tests and figures"): a deployment of a package version to
 * every simulated device (agent/src/fleet-sim, in a process of its own) in three waves without soak, against the
 * product as separate processes — embedded PostgreSQL, a Temporal dev server, the API built to plain JavaScript and a
 * worker. It prints:
 *   - the rollout: from POST /deployments until it completed, its status and devices per status;
 *   - each wave: its size and time from its start to its end (the API's wave timestamps);
 *   - the API's latency during the rollout: the reads the console's deployment dashboard makes, each sampled every
 *     BENCH_SAMPLE_MS (p50 / p95 / max);
 *   - the rollout's workflow history and the largest history of any workflow on the Temporal server (the waves' job
 *     runs included);
 *   - every error the devices saw.
 *
 *   npm run bench:rollout                   # 10,000 devices
 *   npm run bench:rollout -- 2000           # another size
 *   BENCH_WAVES=10,50,100 BENCH_RAMP=500 BENCH_SETTLE_SECONDS=15 BENCH_RUN_TIMEOUT_SECONDS=900 BENCH_SAMPLE_MS=250
 */
import { Connection, WorkflowClient } from '@temporalio/client';
import { spawnFleet, type CallSummary, type FleetStatsSnapshot, type RemoteFleet } from '../../agent/src/fleet-sim/index.ts';
import { startBenchStack, type BenchStack } from './lib/bench-stack.ts';
import { every } from './lib/sampling.ts';

const agents = Number((process.argv[2] ?? '10000').replace(/[_,]/g, ''));
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const WAVES = (process.env.BENCH_WAVES ?? '10,50,100').split(',').map((p) => ({ percent: Number(p) }));
const RAMP = env('BENCH_RAMP', 500);
const SETTLE_SECONDS = env('BENCH_SETTLE_SECONDS', 15);
const RUN_TIMEOUT_MS = env('BENCH_RUN_TIMEOUT_SECONDS', 900) * 1000;
const SAMPLE_MS = env('BENCH_SAMPLE_MS', 250);
const GOAL_MS = 5 * 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (v: number) => `${(v / 1000).toFixed(1)} s`;
const ms = (v: number | null) => (v === null ? '–' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);
const kb = (bytes: number) => (bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.round(bytes / 1024)} kB`);
const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : null;
};

/** Latencies of one sampled read (to the end of its body), and its failures by kind. */
class Sampler {
  readonly times: number[] = [];
  readonly failures: Record<string, number> = {};
  async sample(url: string, headers: Record<string, string>): Promise<void> {
    const began = performance.now();
    try {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status === 200) this.times.push(performance.now() - began);
      else this.failures[`http_${res.status}`] = (this.failures[`http_${res.status}`] ?? 0) + 1;
    } catch {
      this.failures.connection = (this.failures.connection ?? 0) + 1;
    }
  }
  summary(): string {
    const failures = Object.entries(this.failures).map(([k, n]) => `${k}: ${n}`);
    const xs = this.times;
    return `${ms(pct(xs, 0.5))} / ${ms(pct(xs, 0.95))} / ${ms(xs.length ? Math.max(...xs) : null)} (${xs.length} samples${failures.length ? `; ${failures.join(', ')}` : ''})`;
  }
}

const errorsOf = (s: FleetStatsSnapshot) =>
  Object.entries(s.calls).flatMap(([call, c]) =>
    Object.entries((c as CallSummary).errorsByKind).map(([kind, n]) => `${call} ${kind}: ${n}`),
  );

/** The rollout's own history and the largest one on the server (its figures: events, bytes). */
async function histories(stack: BenchStack, workflowId: string) {
  const connection = await Connection.connect({ address: stack.temporalAddress! });
  try {
    const client = new WorkflowClient({ connection, namespace: 'default' });
    const d = await client.getHandle(workflowId).describe();
    let largest = { id: '', events: 0, bytes: 0 };
    for await (const w of client.list()) {
      if (w.historyLength > largest.events) largest = { id: w.workflowId, events: w.historyLength, bytes: w.historySize ?? 0 };
    }
    return { rollout: { events: d.historyLength, bytes: d.historySize ?? 0, runs: await runsOf(client, workflowId) }, largest };
  } finally {
    await connection.close();
  }
}

/** How many runs the rollout's workflow ID had (continue-as-new makes more than one). */
async function runsOf(client: WorkflowClient, workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.list({ query: `WorkflowId = '${workflowId}'` })) n++;
  return n;
}

async function main(): Promise<void> {
  console.error(`## ${agents.toLocaleString('en-US')} devices: starting PostgreSQL, Temporal, the API and a worker`);
  const stack = await startBenchStack({ temporal: true });
  let fleet: RemoteFleet | undefined;
  try {
    const began = performance.now();
    fleet = await spawnFleet(
      {
        serverUrl: stack.apiUrl,
        enrollmentToken: await stack.enrollmentToken(agents),
        agents,
        rampPerSecond: RAMP,
        enrollConcurrency: 64,
        hostnamePrefix: 'bench',
        seed: 9,
        behaviour: { latencyMs: [50, 500] },
      },
      { nodeOptions: ['--max-old-space-size=4096'] },
    );
    await fleet.ready;
    const up = performance.now() - began;
    console.error(`   online after ${seconds(up)}; settling ${SETTLE_SECONDS} s`);
    const pkg = await stack.api('POST', '/api/v1/software/packages', { name: 'bench-tool', platform: 'linux' });
    const version = await stack.api('POST', `/api/v1/software/packages/${pkg.body.id}/versions`, {
      version: '1.0',
      installerType: 'apt',
      packageName: 'bench-tool',
    });
    if (version.status !== 201) throw new Error(`creating the version: ${version.status} ${JSON.stringify(version.body)}`);
    await sleep(SETTLE_SECONDS * 1000);
    await fleet.resetStats();

    const t0 = Date.now();
    const post = await stack.api('POST', '/api/v1/deployments', {
      name: 'bench rollout',
      versionId: version.body.id,
      targets: { filter: {} },
      expectedDeviceCount: agents,
      strategy: { waves: WAVES, soakSeconds: 0, retries: { count: 0, backoffSeconds: 10 } },
    });
    if (post.status !== 201) throw new Error(`POST /deployments: ${post.status} ${JSON.stringify(post.body)}`);
    const id = post.body.id as string;
    const auth = { authorization: `Bearer ${stack.adminToken}` };
    const reads: Record<string, string> = {
      'GET /deployments/{id}': `/api/v1/deployments/${id}`,
      'GET /deployments/{id}/devices?status=failed': `/api/v1/deployments/${id}/devices?status=failed`,
      'GET /deployments/{id}/devices?wave=2': `/api/v1/deployments/${id}/devices?wave=2`,
      'GET /deployments/{id}/timeline': `/api/v1/deployments/${id}/timeline`,
      'GET /deployments?active=true': `/api/v1/deployments?active=true`,
    };
    const samplers = Object.fromEntries(Object.keys(reads).map((k) => [k, new Sampler()]));
    const stop = { stopped: false };
    const loops = Object.entries(reads).map(([name, path]) =>
      every(SAMPLE_MS, stop, () => samplers[name]!.sample(stack.apiUrl + path, auth)),
    );
    let last: any;
    while (Date.now() - t0 < RUN_TIMEOUT_MS) {
      last = (await stack.api('GET', `/api/v1/deployments/${id}`)).body;
      if (['completed', 'failed', 'aborted', 'paused', 'rolled_back'].includes(last.status)) break;
      await sleep(1000);
    }
    stop.stopped = true;
    await Promise.all(loops);
    const endToEnd = last.finishedAt ? Date.parse(last.finishedAt) - t0 : null;
    const history = await histories(stack, post.body.workflowId as string);
    const errors = errorsOf(await fleet.stats());

    console.log(
      `\n# bench:rollout — ${agents.toLocaleString('en-US')} simulated devices, waves ${WAVES.map((w) => `${w.percent}%`).join(' → ')}, no soak\n`,
    );
    console.log(`enrolment: ${seconds(up)} (${Math.round(agents / (up / 1000))}/s)`);
    console.log(
      `rollout (POST → completed): ${endToEnd === null ? `not finished (${last.status})` : seconds(endToEnd)}` +
        (endToEnd !== null && agents >= 10_000
          ? endToEnd <= GOAL_MS
            ? ' — goal (under 5 minutes) met'
            : ' — goal (under 5 minutes) missed'
          : ''),
    );
    console.log(
      `status: ${last.status}${last.pausedReason ? ` (${last.pausedReason})` : ''}; devices: ${JSON.stringify(last.counts)}; success rate ${last.successRate}%`,
    );
    console.log('\n| wave | devices | start → end | state |\n| --- | --- | --- | --- |');
    for (const w of last.waves) {
      const time = w.startedAt && w.finishedAt ? seconds(Date.parse(w.finishedAt) - Date.parse(w.startedAt)) : '–';
      console.log(`| ${w.label} | ${w.size.toLocaleString('en-US')} | ${time} | ${w.state} |`);
    }
    console.log('\nAPI latency during the rollout, p50 / p95 / max:\n');
    for (const [name, s] of Object.entries(samplers)) console.log(`- ${name}: ${s.summary()}`);
    console.log(
      `\nworkflow histories: the rollout ${history.rollout.events} events, ${kb(history.rollout.bytes)} (last run; ${history.rollout.runs} run(s) of its ID); ` +
        `largest on the server ${history.largest.events} events, ${kb(history.largest.bytes)} (${history.largest.id})`,
    );
    console.log(`errors seen by the devices: ${errors.length ? errors.join(', ') : 'none'}`);
    console.log(`\nTemporal's limits: 51,200 events / 50 MB of history per workflow (warning at 10,240).`);
    if (last.status !== 'completed') process.exitCode = 1;
  } catch (err) {
    console.error(stack.logs.slice(-60).join('\n'));
    throw err;
  } finally {
    await fleet?.stop();
    await stack.close();
  }
}

await main();
