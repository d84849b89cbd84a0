import { afterEach, describe, expect, it, vi } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { GOODBYE_TIMEOUT_MS, MAX_OUTPUT_CHUNK_BYTES } from '@opsconductor/contracts/agent-protocol';
import { Agent, type AgentOptions } from '../src/agent.ts';
import { EXPIRED_ERROR, readJournal, entryState } from '../src/journal.ts';
import { createLogger } from '../src/log.ts';
import { writeConfig } from '../src/state.ts';
import { spawnCli } from './support/cli-process.ts';
import { FakeServer } from './support/fake-server.ts';
import { killGroupQuietly, liveGroupMembers, shellCommand, tempDir, waitFor } from './support/util.ts';

vi.setConfig({ testTimeout: 30_000 });

const facts = {
  hostname: 'test-host',
  osFamily: 'linux' as const,
  osName: 'Test Linux',
  osVersion: '1',
  architecture: 'x64',
  ipAddresses: ['192.0.2.1'],
  agentVersion: '0.0.0-test',
};

interface Harness {
  server: FakeServer;
  stateDir: string;
  logs: string[];
  agent: Agent;
  newAgent: (overrides?: Partial<AgentOptions>) => Promise<Agent>;
}

const teardown: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of teardown.splice(0).reverse()) await fn();
});

async function harness(overrides: Partial<AgentOptions> = {}, setup: (server: FakeServer) => void = () => {}): Promise<Harness> {
  const server = await new FakeServer().listen();
  setup(server);
  const { dir: stateDir, cleanup } = tempDir();
  const logs: string[] = [];
  const agents: Agent[] = [];
  teardown.push(
    cleanup,
    () => server.close(),
    async () => {
      await Promise.all(agents.map((a) => a.stop()));
    },
  );
  const newAgent = async (more: Partial<AgentOptions> = {}) => {
    const agent = new Agent({
      serverUrl: server.url,
      deviceId: server.deviceId,
      deviceSecret: server.deviceSecret,
      stateDir,
      logger: createLogger({ level: 'debug', write: (line) => logs.push(line) }),
      collectFacts: async () => facts,
      // Inventory has its own suite (inventory-reporter.test.ts); here it would only add load and requests.
      inventory: false,
      pollWaitSeconds: 5,
      outputFlushIntervalMs: 20,
      deliveryRetry: { initialMs: 50, maxMs: 200 },
      connectionRetry: { initialMs: 50, maxMs: 200 },
      killGraceMs: 1000,
      ...overrides,
      ...more,
    });
    agents.push(agent);
    await agent.start();
    return agent;
  };
  const agent = await newAgent();
  return { server, stateDir, logs, agent, newAgent };
}

/** Reads the process group id a command printed as its first stdout line (`echo $$`). */
async function printedPgid(server: FakeServer, id: string): Promise<number> {
  const line = await waitFor(() => /^(\d+)\n/.exec(server.text(id, 'stdout'))?.[1], 'the command to print its pid');
  const pgid = Number(line);
  teardown.push(() => killGroupQuietly(pgid));
  return pgid;
}

describe('Agent against a protocol server', () => {
  it('checks in, runs a command, streams ordered output and reports the result', async () => {
    const { server } = await harness();
    await waitFor(() => server.checkins.length > 0, 'the first check-in');
    // ~200 KB of multibyte stdout in many writes, plus interleaved stderr.
    const command = shellCommand(
      `i=0; while [ $i -lt 4000 ]; do echo "line $i €😀 ${'x'.repeat(40)}"; [ $((i % 500)) -eq 0 ] && echo "err $i" >&2; i=$((i+1)); done; exit 3`,
    );
    server.deliver(command);
    const result = await waitFor(() => server.acceptedResult(command.id), 'the result');

    expect(result).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(server.starts.map((s) => s.id)).toEqual([command.id]);
    expect(server.starts[0]!.startedAt).toBe(result.startedAt);

    for (const stream of ['stdout', 'stderr'] as const) {
      const chunks = server.outputFor(command.id, stream);
      // Arrival order is seq order: 0, 1, 2, ... with no gaps or repeats.
      expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
      for (const chunk of chunks) expect(chunk.bytes).toBeLessThanOrEqual(MAX_OUTPUT_CHUNK_BYTES);
    }
    const expectedStdout = Array.from({ length: 4000 }, (_, i) => `line ${i} €😀 ${'x'.repeat(40)}\n`).join('');
    expect(server.text(command.id, 'stdout')).toBe(expectedStdout);
    expect(server.outputFor(command.id, 'stdout').length).toBeGreaterThan(3); // > 256 KB: several chunks
    expect(server.text(command.id, 'stderr')).toBe([0, 500, 1000, 1500, 2000, 2500, 3000, 3500].map((i) => `err ${i}\n`).join(''));
    // The result comes after all output.
    const resultIndex = server.results.findIndex((r) => r.id === command.id);
    expect(resultIndex).toBeGreaterThanOrEqual(0);
    expect(server.invalid).toEqual([]);
  });

  for (const upgrades of ['refuse', 'drop'] as const) {
    it(`long-polls over HTTP when a server that says protocol 3 has no channel (upgrade: ${upgrades}), and runs commands as before`, async () => {
      const { server, logs } = await harness({}, (s) => {
        s.protocolVersion = 3;
        s.channelUpgrades = upgrades;
      });
      await waitFor(() => server.checkins.length > 0, 'the first check-in');
      const command = shellCommand('echo over-http');
      server.deliver(command);
      expect(await waitFor(() => server.acceptedResult(command.id), 'the result')).toMatchObject({ status: 'succeeded', exitCode: 0 });
      expect(server.text(command.id, 'stdout')).toBe('over-http\n');
      // It tried the channel once, then kept to HTTP.
      expect(server.upgradeAttempts).toBe(1);
      expect(server.polls).toBeGreaterThan(0);
      expect(logs.some((l) => l.includes('poll failed'))).toBe(false);
      expect(server.invalid).toEqual([]);
    });
  }

  it('`run` with OPSCONDUCTOR_AGENT_CHANNEL=off never tries the channel of a server that offers it', async () => {
    for (const off of [false, true]) {
      const server = await new FakeServer().listen();
      server.protocolVersion = 3;
      const { dir: stateDir, cleanup } = tempDir();
      teardown.push(cleanup, () => server.close());
      writeConfig(stateDir, { serverUrl: server.url, deviceId: server.deviceId, deviceSecret: server.deviceSecret });
      const env = { OPSCONDUCTOR_AGENT_INVENTORY: 'off', ...(off ? { OPSCONDUCTOR_AGENT_CHANNEL: 'off' } : {}) };
      const agent = spawnCli(['run', '--state-dir', stateDir], env);
      teardown.push(() => void agent.child.kill('SIGKILL'));
      await waitFor(() => server.polls > 0, 'the agent to poll', 20_000);
      expect(server.upgradeAttempts).toBe(off ? 0 : 1);
      agent.child.kill('SIGTERM');
      expect((await agent.exited).code).toBe(0);
    }
  });

  it('delivers output byte for byte, NUL and bytes that are not UTF-8 included, to a server that takes base64', async () => {
    const { server } = await harness({}, (s) => (s.outputEncodings = ['utf8', 'base64']));
    await waitFor(() => server.checkins.length > 0, 'the first check-in');
    const command = shellCommand(String.raw`printf 'l1\000l2\n'; printf '\377\376 bad\n'; printf 'ok €\n' >&2`);
    server.deliver(command);
    await waitFor(() => server.acceptedResult(command.id), 'the result');
    expect(server.bytes(command.id, 'stdout')).toEqual(
      Buffer.concat([Buffer.from('l1\0l2\n'), Buffer.from([0xff, 0xfe]), Buffer.from(' bad\n')]),
    );
    expect(server.outputFor(command.id, 'stdout').some((c) => c.encoding === 'base64')).toBe(true);
    expect(server.outputFor(command.id, 'stderr').map((c) => c.encoding)).toEqual(['utf8']); // valid UTF-8 goes as text
    expect(server.text(command.id, 'stderr')).toBe('ok €\n');
    expect(server.invalid).toEqual([]);
  });

  it('sends only text to a server that does not list base64 (bytes that are not UTF-8 become U+FFFD)', async () => {
    const { server } = await harness();
    const command = shellCommand(String.raw`printf 'a\377b\000c'`);
    server.deliver(command);
    await waitFor(() => server.acceptedResult(command.id), 'the result');
    expect(server.outputFor(command.id, 'stdout').every((c) => c.encoding === 'utf8')).toBe(true);
    expect(server.text(command.id, 'stdout')).toBe('a\uFFFDb\0c');
  });

  it('retries the result after a 503 until the server accepts it', async () => {
    const { server, stateDir } = await harness();
    server.failNext('result', 503);
    const command = shellCommand('echo done');
    server.deliver(command);
    await waitFor(() => server.acceptedResult(command.id), 'the accepted result');
    const attempts = server.resultsFor(command.id);
    expect(attempts.map((a) => a.status)).toEqual([503, 200]);
    expect(attempts[1]!.body).toEqual(attempts[0]!.body);
    expect(attempts[1]!.body).toMatchObject({ status: 'succeeded', exitCode: 0 });
    await waitFor(() => entryState(readJournal(stateDir).entries.get(command.id)!) === 'reported', 'the journal to record delivery');
  });

  it('retries output after a failure with the same seq', async () => {
    const { server } = await harness();
    server.failNext('output', 503);
    const command = shellCommand('echo one');
    server.deliver(command);
    await waitFor(() => server.acceptedResult(command.id), 'the result');
    expect(server.outputFor(command.id, 'stdout').map((c) => c.seq)).toEqual([0]);
    expect(server.text(command.id, 'stdout')).toBe('one\n');
  });

  it('drops a result the server refuses with a 4xx instead of retrying forever', async () => {
    const { server, stateDir } = await harness();
    server.failNext('result', 404);
    const command = shellCommand('true');
    server.deliver(command);
    await waitFor(() => readJournal(stateDir).entries.get(command.id)?.reportOutcome === 'dropped', 'the result to be dropped');
    expect(server.resultsFor(command.id).map((r) => r.status)).toEqual([404]);
  });

  it('kills the process tree when the poll response lists the command in `cancel`', async () => {
    const { server } = await harness();
    const command = shellCommand('echo $$; sleep 300 & sleep 300 & wait');
    server.deliver(command);
    const pgid = await printedPgid(server, command.id);
    await waitFor(() => liveGroupMembers(pgid).length === 3, 'the tree to be running');
    server.cancel(command.id);
    const result = await waitFor(() => server.acceptedResult(command.id), 'the result');
    expect(result).toMatchObject({ status: 'cancelled', exitCode: null });
    expect(liveGroupMembers(pgid)).toEqual([]);
  });

  it('cancels when a heartbeat reply says cancelRequested', async () => {
    const { server } = await harness({ heartbeatIntervalMs: 100 });
    const command = shellCommand('echo $$; sleep 300');
    server.deliver(command);
    const pgid = await printedPgid(server, command.id);
    await waitFor(() => server.heartbeats.includes(command.id), 'a heartbeat');
    server.cancelRequested.add(command.id);
    const result = await waitFor(() => server.acceptedResult(command.id), 'the result');
    expect(result.status).toBe('cancelled');
    expect(liveGroupMembers(pgid)).toEqual([]);
  });

  it('reports timed_out when a command exceeds its timeout', async () => {
    const { server } = await harness();
    const command = shellCommand('echo $$; sleep 300', { timeoutSeconds: 1 });
    server.deliver(command);
    const pgid = await printedPgid(server, command.id);
    const result = await waitFor(() => server.acceptedResult(command.id), 'the result');
    expect(result).toMatchObject({ status: 'timed_out', exitCode: null });
    expect(liveGroupMembers(pgid)).toEqual([]);
  });

  it('does not start a command whose expiresAt has passed', async () => {
    const { server, stateDir } = await harness();
    const marker = path.join(stateDir, 'marker');
    const command = shellCommand(`echo ran > '${marker}'`, { expiresInMs: -1000 });
    server.deliver(command);
    const result = await waitFor(() => server.acceptedResult(command.id), 'the result');
    expect(result).toMatchObject({ status: 'failed', exitCode: null, error: EXPIRED_ERROR });
    expect(server.starts).toEqual([]);
    expect(existsSync(marker)).toBe(false);
  });

  it('runs a redelivered command once, in this process and after a restart, re-sending its result', async () => {
    const { server, stateDir, agent, newAgent } = await harness();
    const marker = path.join(stateDir, 'marker');
    const command = shellCommand(`echo run >> '${marker}'; sleep 0.3`);
    server.deliver(command);
    await waitFor(() => server.starts.length === 1, 'the start');
    server.deliver(command); // redelivered while running
    await waitFor(() => server.acceptedResult(command.id), 'the result');
    server.deliver(command); // redelivered after it finished
    await waitFor(() => server.resultsFor(command.id).length === 2, 'the re-sent result');

    await agent.stop();
    const pollsBefore = server.polls;
    await newAgent();
    await waitFor(() => server.polls > pollsBefore, 'the new agent to poll');
    server.deliver(command); // redelivered to a new agent process
    await waitFor(() => server.resultsFor(command.id).length === 3, 'the result re-sent by the new agent');

    expect(readFileSync(marker, 'utf8')).toBe('run\n');
    expect(server.starts).toHaveLength(1);
    const bodies = server.resultsFor(command.id).map((r) => r.body);
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
  });

  it('limits concurrency and queues the rest', async () => {
    const { server, stateDir } = await harness({ maxConcurrentCommands: 2 });
    const log = path.join(stateDir, 'concurrency.log');
    const commands = [1, 2, 3, 4].map((n) => shellCommand(`echo start >> '${log}'; sleep 0.3; echo end >> '${log}'`));
    server.deliver(...commands);
    for (const c of commands) await waitFor(() => server.acceptedResult(c.id), 'every result');
    let running = 0;
    let peak = 0;
    for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
      running += line === 'start' ? 1 : -1;
      peak = Math.max(peak, running);
    }
    expect(peak).toBe(2);
  });

  it('reports a queued command that is cancelled as cancelled without running it', async () => {
    const { server, stateDir } = await harness({ maxConcurrentCommands: 1 });
    const marker = path.join(stateDir, 'marker');
    const blocker = shellCommand('echo $$; sleep 300');
    const queued = shellCommand(`echo ran > '${marker}'`);
    server.deliver(blocker, queued);
    await printedPgid(server, blocker.id);
    server.cancel(queued.id);
    const result = await waitFor(() => server.acceptedResult(queued.id), 'the queued command result');
    expect(result).toMatchObject({ status: 'cancelled', exitCode: null });
    server.cancel(blocker.id);
    await waitFor(() => server.acceptedResult(blocker.id), 'the blocker result');
    expect(existsSync(marker)).toBe(false);
    expect(server.starts.map((s) => s.id)).toEqual([blocker.id]);
  });

  it('fails a command it cannot parse instead of ignoring it', async () => {
    const { server } = await harness();
    const id = randomUUID();
    server.deliver({ id, expiresAt: new Date(Date.now() + 60_000).toISOString(), payload: { kind: 'script', body: 'x' } });
    const result = await waitFor(() => server.acceptedResult(id), 'the rejection');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/could not accept the command/);
    expect(server.starts).toEqual([]);
  });

  it('on stop, kills running commands and reports them failed with "agent stopped"', async () => {
    const { server, agent, stateDir } = await harness();
    const command = shellCommand('echo $$; sleep 300 & wait');
    server.deliver(command);
    const pgid = await printedPgid(server, command.id);
    const exit = await agent.stop();
    expect(exit).toEqual({ reason: 'stopped' });
    expect(server.acceptedResult(command.id)).toMatchObject({ status: 'failed', exitCode: null, error: 'agent stopped' });
    expect(liveGroupMembers(pgid)).toEqual([]);
    expect(existsSync(path.join(stateDir, 'agent.lock'))).toBe(false);
  });

  it('says goodbye once on stop, after delivering the results', async () => {
    const { server, agent } = await harness();
    const command = shellCommand('sleep 300');
    server.deliver(command);
    await waitFor(() => server.starts.length > 0, 'the command to start');
    expect(await agent.stop()).toEqual({ reason: 'stopped' });
    expect(server.goodbyes).toHaveLength(1);
    expect(server.goodbyes[0]!.resultsBefore).toBe(1);
    expect(server.invalid).toEqual([]);
  });

  it('stops normally when the server does not know goodbye (404) or never answers it', async () => {
    const old = await harness();
    await waitFor(() => old.server.polls > 0, 'the first poll');
    old.server.failNext('goodbye', 404);
    expect(await old.agent.stop()).toEqual({ reason: 'stopped' });
    expect(old.logs.join('\n')).toMatch(/"level":"debug","msg":"could not say goodbye/); // an older server: no warning

    const hung = await harness();
    await waitFor(() => hung.server.polls > 0, 'the first poll');
    hung.server.hangGoodbye = true;
    const began = Date.now();
    expect(await hung.agent.stop()).toEqual({ reason: 'stopped' });
    expect(Date.now() - began).toBeLessThan(GOODBYE_TIMEOUT_MS + 2000);
    expect(hung.server.goodbyes).toHaveLength(1);
  });

  it('stops with credentials_rejected when the server answers 401, without a goodbye', async () => {
    const { server, agent } = await harness();
    await waitFor(() => server.polls > 0, 'the first poll');
    server.rejectCredentials = true;
    server.deliver(); // wake the long-poll so the next request meets the 401
    const exit = await agent.finished;
    expect(exit).toEqual({ reason: 'credentials_rejected' });
    const unauthorized = server.unauthorized;
    await new Promise((r) => setTimeout(r, 100));
    expect(server.unauthorized).toBe(unauthorized); // nothing more was sent
  });

  it('backs off and recovers when the server fails polls with 5xx', async () => {
    const { server } = await harness();
    await waitFor(() => server.polls > 0, 'the first poll');
    server.failNext('poll', 503, 503, 503);
    server.deliver(); // end the current long-poll
    const command = shellCommand('echo back');
    setTimeout(() => server.deliver(command), 50);
    await waitFor(() => server.acceptedResult(command.id), 'the result after recovering');
  });

  it('refuses to share a state directory with another running agent', async () => {
    const { newAgent } = await harness();
    await expect(newAgent()).rejects.toThrow(/another agent/);
  });
});
