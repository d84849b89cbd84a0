/**
 * At-most-once across a real agent crash: the first agent is the actual CLI in its own process,
 * killed with SIGKILL while a command runs (no cleanup code gets to run). A new agent on the same
 * state directory must report that command failed and never run it again, even when the server
 * delivers it again.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Agent } from '../src/agent.ts';
import { RESTARTED_ERROR } from '../src/journal.ts';
import { silentLogger } from '../src/log.ts';
import { writeConfig } from '../src/state.ts';
import { FakeServer } from './support/fake-server.ts';
import { spawnCli } from './support/cli-process.ts';
import { killGroupQuietly, liveGroupMembers, shellCommand, tempDir, waitFor } from './support/util.ts';

vi.setConfig({ testTimeout: 60_000 });

const teardown: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of teardown.splice(0).reverse()) await fn();
});

describe('journal across an agent crash', () => {
  it('reports a command that was running during a crash as failed and never runs it again', async () => {
    const server = await new FakeServer().listen();
    const { dir: stateDir, cleanup } = tempDir();
    teardown.push(cleanup, () => server.close());
    writeConfig(stateDir, { serverUrl: server.url, deviceId: server.deviceId, deviceSecret: server.deviceSecret });

    const marker = path.join(stateDir, 'runs');
    const command = shellCommand(`echo $$ >> '${marker}'; sleep 300`);

    // 1. A real agent process picks the command up and starts it...
    const first = spawnCli(['run', '--state-dir', stateDir]);
    teardown.push(() => void first.child.kill('SIGKILL'));
    await waitFor(() => server.polls > 0, 'the first agent to poll', 20_000).catch((err) => {
      throw new Error(`${err.message}\n${first.stderr()}`);
    });
    server.deliver(command);
    const pgid = await waitFor(() => (existsSync(marker) ? Number(readFileSync(marker, 'utf8').split('\n')[0]) : 0), 'the command to run');
    teardown.push(() => killGroupQuietly(pgid));
    expect(server.starts.map((s) => s.id)).toEqual([command.id]);

    // 2. ...and dies without any chance to clean up. The command's process tree lives on.
    first.child.kill('SIGKILL');
    await first.exited;
    expect(liveGroupMembers(pgid).length).toBeGreaterThan(0);
    expect(server.resultsFor(command.id)).toEqual([]);

    // 3. A new agent on the same state directory reports it at startup, without running it.
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
    expect(recovered).toMatchObject({ status: 'failed', exitCode: null, error: RESTARTED_ERROR });

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
