/**
 * `npm run fleet-sim -- …`: runs a simulated fleet until SIGINT/SIGTERM (or --duration), printing
 * statistics. With `--ipc` it is driven by a parent process instead (see remote.ts).
 */
import { readFileSync } from 'node:fs';
import { startFleet } from './fleet.ts';
import type { FleetStatsSnapshot } from './fleet-stats.ts';
import { serveOverIpc } from './ipc.ts';
import { parseCliArgs, usage, UsageError, type CliOptions } from './options.ts';
import type { LatencySummary } from './stats.ts';

/** Sockets a fleet of this size may hold at once (a long-poll each, plus posts), and a margin for the rest. */
const socketsNeeded = (agents: number) => Math.ceil(agents * 1.2) + 100;

function openFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined; // not Linux: the operator checks `ulimit -n`
  }
}

const ms = (v: number | null) => (v === null ? '–' : v >= 10_000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`);
const latency = (s: LatencySummary) => `p50 ${ms(s.p50)} p95 ${ms(s.p95)} (n=${s.count})`;

function statsLine(s: FleetStatsSnapshot, counts: Partial<Record<string, number>>, elapsedMs: number): string {
  const c = s.calls;
  const errors = Object.entries(c).flatMap(([name, call]) => Object.entries(call.errorsByKind).map(([kind, n]) => `${name}:${kind}=${n}`));
  return [
    `[${(elapsedMs / 1000).toFixed(0)}s]`,
    Object.entries(counts)
      .map(([k, n]) => `${k} ${n}`)
      .join(', '),
    `| empty polls ${latency(c.poll)}`,
    `| results ${latency(c.result)}`,
    `| commands ${s.commandsReceived}, results ${s.resultsAccepted}${s.duplicateResults ? ` (+${s.duplicateResults} dup)` : ''}`,
    Object.keys(s.softwareOutcomes).length
      ? `| software ${Object.entries(s.softwareOutcomes)
          .map(([outcome, n]) => `${outcome} ${n}`)
          .join(', ')}`
      : '',
    s.wentSilent ? `| went silent ${s.wentSilent}` : '',
    errors.length ? `| errors ${errors.join(' ')}` : '',
    s.protocolDrift ? `| PROTOCOL DRIFT ${s.protocolDrift}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

async function run(cli: CliOptions): Promise<void> {
  const limit = openFileLimit();
  if (limit !== undefined && limit < socketsNeeded(cli.fleet.agents)) {
    throw new UsageError(
      `the open-file limit is ${limit}; ${cli.fleet.agents} devices need about ${socketsNeeded(cli.fleet.agents)}: raise it (ulimit -n) or run through npm run fleet-sim, which raises it to the hard limit`,
    );
  }
  const began = performance.now();
  const fleet = await startFleet(cli.fleet);
  const print = (final = false) => {
    const snapshot = fleet.stats();
    if (cli.json)
      console.log(JSON.stringify({ elapsedMs: Math.round(performance.now() - began), final, counts: fleet.counts(), ...snapshot }));
    else console.log(statsLine(snapshot, fleet.counts(), performance.now() - began));
    if (!cli.json) for (const note of snapshot.notes) console.error(`note: ${note}`);
  };
  console.error(`fleet-sim: ${cli.fleet.agents} devices against ${cli.fleet.serverUrl}`);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      console.error('fleet-sim: stopping');
      await fleet.stop({ goodbye: cli.goodbye });
      print(true);
    })();
    return stopping;
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
  // Devices that went silent after an install come back.
  process.on('SIGUSR2', () => {
    void fleet.revive().then((n) => console.error(`fleet-sim: revived ${n} silent device${n === 1 ? '' : 's'}`));
  });
  const timer = cli.statsIntervalMs > 0 ? setInterval(() => print(), cli.statsIntervalMs) : undefined;
  fleet.ready.then(
    () =>
      console.error(
        `fleet-sim: all devices up after ${((performance.now() - began) / 1000).toFixed(1)} s: ${JSON.stringify(fleet.counts())}`,
      ),
    (err: Error) => console.error(`fleet-sim: ramp-up failed: ${err.message}`),
  );
  if (cli.durationMs !== undefined) {
    setTimeout(() => {
      clearInterval(timer);
      void stop().then(() => process.exit(0));
    }, cli.durationMs);
  }
}

if (process.argv[2] === '--ipc') {
  serveOverIpc();
} else {
  try {
    const cli = parseCliArgs(process.argv.slice(2));
    if (!cli) {
      console.log(usage);
    } else {
      await run(cli);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`fleet-sim: ${err.message}\n\n${usage}`);
      process.exit(2);
    }
    throw err;
  }
}
