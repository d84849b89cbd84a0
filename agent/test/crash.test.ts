/**
 * At-most-once across a real agent crash: the first agent is the actual CLI in its own process,
 * killed with SIGKILL while a command runs (no cleanup code gets to run). A new agent on the same
 * state directory must stop what the command left running — also a process that left its group —,
 * report it interrupted and never run it again, even when the server delivers it again.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Agent } from '../src/agent.ts';
import { INTERRUPTED_ERROR } from '../src/journal.ts';
import { silentLogger } from '../src/log.ts';
import { writeConfig } from '../src/state.ts';
import { FakeServer } from './support/fake-server.ts';
import { spawnCli } from './support/cli-process.ts';
import { killGroupQuietly, liveGroupMembers, pidRunning, shellCommand, tempDir, waitFor } from './support/util.ts';

vi.setConfig({ testTimeout: 60_000 });

const teardown: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of teardown.splice(0).reverse()) await fn();
});

describe('journal across an agent crash', () => {
  it('stops what a command running during a crash left behind, reports it interrupted and never runs it again', async () => {
    const server = await new FakeServer().listen();
    const { dir: stateDir, cleanup } = tempDir();
    teardown.push(cleanup, () => server.close());
    writeConfig(stateDir, { serverUrl: server.url, deviceId: server.deviceId, deviceSecret: server.deviceSecret });

    const marker = path.join(stateDir, 'runs');
    const escaped = path.join(stateDir, 'escaped');
    // A child in a session of its own is out of reach of a kill of the process group.
    const command = shellCommand(`setsid sleep 301 & echo $! > '${escaped}'; echo $$ >> '${marker}'; sleep 300`);

    // 1. A real agent process picks the command up and starts it...
    const first = spawnCli(['run', '--state-dir', stateDir]);
    teardown.push(() => void first.child.kill('SIGKILL'));
    await waitFor(() => server.polls > 0, 'the first agent to poll', 20_000).catch((err) => {
      throw new Error(`${err.message}\n${first.stderr()}`);
    });
    server.deliver(command);
    const pgid = await waitFor(() => (existsSync(marker) ? Number(readFileSync(marker, 'utf8').split('\n')[0]) : 0), 'the command to run');
    teardown.push(() => killGroupQuietly(pgid));
    const escapedPid = Number(readFileSync(escaped, 'utf8'));
    teardown.push(() => void (pidRunning(escapedPid) && process.kill(escapedPid, 'SIGKILL')));
    expect(server.starts.map((s) => s.id)).toEqual([command.id]);

    // 2. ...and dies without any chance to clean up. The command's process tree lives on.
    first.child.kill('SIGKILL');
    await first.exited;
    expect(liveGroupMembers(pgid).length).toBeGreaterThan(0);
    expect(pidRunning(escapedPid)).toBe(true);
    expect(server.resultsFor(command.id)).toEqual([]);

    // 3. A new agent on the same state directory (same boot) stops what is left, then reports it, without running it.
    const second = new Agent({
      serverUrl: server.url,
      deviceId: server.deviceId,
      deviceSecret: server.deviceSecret,
      stateDir,
      logger: silentLogger,
      inventory: false,
      pollWaitSeconds: 5,
      deliveryRetry: { initialMs: 50, maxMs: 200 },
    });
    teardown.push(async () => void (await second.stop()));
    const pollsBefore = server.polls;
    await second.start();
    const recovered = await waitFor(() => server.acceptedResult(command.id), 'the recovered result');
    expect(recovered).toMatchObject({ status: 'interrupted', exitCode: null, error: INTERRUPTED_ERROR });
    expect(liveGroupMembers(pgid)).toEqual([]);
    expect(pidRunning(escapedPid)).toBe(false);

    // 4. The server delivers it again: still not run, the same failure is re-sent.
    await waitFor(() => server.polls > pollsBefore, 'the new agent to poll');
    server.deliver(command);
    await waitFor(() => server.resultsFor(command.id).length === 2, 'the re-sent result');
    expect(server.resultsFor(command.id)[1]!.body).toEqual(recovered);

    expect(readFileSync(marker, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(server.starts).toHaveLength(1);
    expect(second.runningCommandIds).toEqual([]);
  });
});
