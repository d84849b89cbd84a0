/**
 * Enrolment throughput with one multi-use token (`npm run bench:enroll`): N concurrent clients enroll devices
 * against the API (built, in its own process) on an embedded PostgreSQL, for 16 and 64 clients. Also checks that
 * 20 parallel enrolments on a single-use token let exactly one through.
 *   BENCH_ENROLLMENTS=2000 (per concurrency level)   BENCH_CONCURRENCY=16,64
 */
import pg from 'pg';
import { Pool } from 'undici';
import { ProtocolClient, ProtocolCallError } from '../../agent/src/fleet-sim/protocol-client.ts';
import { LatencyRecorder } from '../../agent/src/fleet-sim/stats.ts';
import { startBenchStack } from './lib/bench-stack.ts';
import { CpuMeter } from './lib/proc.ts';

const ENROLLMENTS = Number(process.env.BENCH_ENROLLMENTS ?? 2000);
const LEVELS = (process.env.BENCH_CONCURRENCY ?? '16,64').split(',').map(Number);
const facts = (hostname: string) => ({
  hostname,
  osFamily: 'linux' as const,
  osName: 'Debian GNU/Linux',
  osVersion: '12',
  architecture: 'x64',
  ipAddresses: ['10.0.0.1'],
  agentVersion: '0.1.0',
});

/** Samples, every 10 ms, how many of the database's backends wait for a lock (the enrolments queueing on the token row). */
function sampleLockWaits(client: pg.Client) {
  let stopped = false;
  let sum = 0;
  let samples = 0;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      sum += rows[0]!.n;
      samples++;
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return samples ? sum / samples : 0;
    },
  };
}

const stack = await startBenchStack();
try {
  console.log(`# OpsConductor enrolment benchmark (${ENROLLMENTS} enrolments per level, one token)`);
  console.log('| clients | enrolments/s | p50 | p95 | max | backends waiting on a lock (mean) | API CPU | PostgreSQL CPU | errors |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const sampler = new pg.Client({ connectionString: stack.databaseUrl });
  await sampler.connect();
  for (const clients of LEVELS) {
    const token = await stack.enrollmentToken(100_000);
    const pool = new Pool(stack.apiUrl, { connections: clients });
    const client = new ProtocolClient({ serverUrl: stack.apiUrl, dispatcher: pool, userAgent: 'enroll-bench' });
    const latency = new LatencyRecorder();
    const api = new CpuMeter(() => [stack.apiPid]);
    const pg = new CpuMeter(() => stack.postgresPids());
    let next = 0;
    let errors = 0;
    // Warm-up (connections, JIT) outside the measurement.
    await Promise.all(
      Array.from({ length: clients }, (_, i) => client.enroll({ enrollmentToken: token, facts: facts(`warm-${clients}-${i}`) })),
    );
    api.begin();
    pg.begin();
    const lockWaits = sampleLockWaits(sampler);
    const began = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < ENROLLMENTS) {
          const i = next++;
          const t0 = performance.now();
          try {
            await client.enroll({ enrollmentToken: token, facts: facts(`bench-${clients}-${i}`) });
            latency.record(performance.now() - t0);
          } catch {
            errors++;
          }
        }
      }),
    );
    const seconds = (performance.now() - began) / 1000;
    const waiting = await lockWaits.stop();
    const s = latency.summary();
    console.log(
      `| ${clients} | ${(s.count / seconds).toFixed(0)} | ${s.p50!.toFixed(1)} ms | ${s.p95!.toFixed(1)} ms | ${s.max!.toFixed(1)} ms | ${waiting.toFixed(1)} | ${api.percent().toFixed(0)} % | ${pg.percent().toFixed(0)} % | ${errors} |`,
    );
    await pool.close();
  }

  await sampler.end();

  const single = await stack.enrollmentToken(1);
  const pool = new Pool(stack.apiUrl, { connections: 20 });
  const client = new ProtocolClient({ serverUrl: stack.apiUrl, dispatcher: pool, userAgent: 'enroll-bench' });
  const outcomes = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      client.enroll({ enrollmentToken: single, facts: facts(`single-${i}`) }).then(
        () => 'enrolled',
        (e: unknown) => (e instanceof ProtocolCallError ? (e.code ?? e.kind) : String(e)),
      ),
    ),
  );
  const enrolled = outcomes.filter((o) => o === 'enrolled').length;
  console.log(
    `\nsingle-use token, 20 parallel enrolments: ${enrolled} enrolled, ${outcomes.length - enrolled} refused (${[...new Set(outcomes.filter((o) => o !== 'enrolled'))].join(', ')})`,
  );
  await pool.close();
  if (enrolled !== 1) process.exitCode = 1;
} finally {
  await stack.close();
}
