/**
 * A software command through the whole agent against the loopback protocol server: its phases reach a server that
 * records them (and never one from before phases), and a restart with a notice (reboot policy `force`) warns the
 * users first and waits the notice's delay after the result — with the agent's restart command replaced, so this
 * machine is never restarted.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentCommand } from '@opsconductor/contracts/agent-protocol';
import type { CommandPayloadOf } from '@opsconductor/contracts/commands';
import { Agent, type AgentOptions } from '../src/agent.ts';
import { createLogger } from '../src/log.ts';
import { depotKey, manifestFor, signManifestText } from './support/depot.ts';
import { FakeServer } from './support/fake-server.ts';
import { tempDir, waitFor } from './support/util.ts';

vi.setConfig({ testTimeout: 30_000 });

const facts = {
  hostname: 'software',
  osFamily: 'linux' as const,
  osName: 'Test',
  osVersion: '1',
  architecture: 'x64',
  ipAddresses: [],
  agentVersion: '0.0.0-test',
};
const teardown: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of teardown.splice(0).reverse()) await fn();
});

async function harness(overrides: Partial<AgentOptions> = {}, setup: (server: FakeServer) => void = () => {}) {
  const key = depotKey();
  const server = await new FakeServer().listen();
  server.depotSigningKeys = [key.trusted];
  setup(server);
  const { dir, cleanup } = tempDir();
  const stateDir = path.join(dir, 'state');
  const agent = new Agent({
    serverUrl: server.url,
    deviceId: server.deviceId,
    deviceSecret: server.deviceSecret,
    stateDir,
    logger: createLogger({ level: 'warn', write: () => {} }),
    collectFacts: async () => facts,
    inventory: false,
    pollWaitSeconds: 5,
    outputFlushIntervalMs: 20,
    deliveryRetry: { initialMs: 50, maxMs: 200 },
    connectionRetry: { initialMs: 50, maxMs: 200 },
    killGraceMs: 1000,
    bootId: 'boot-1',
    ...overrides,
  });
  teardown.push(
    cleanup,
    () => server.close(),
    async () => void (await agent.stop()),
  );
  await agent.start();
  await waitFor(() => server.polls > 0 && agent.depotSigningKeys.length > 0, 'the first check-in and poll');

  /** An install of an sh "installer" from a share, signed for the command (it sleeps `sleepSeconds`). */
  const install = (payload: Partial<CommandPayloadOf<'software.install'>> = {}, sleepSeconds = 0): AgentCommand => {
    const versionId = randomUUID();
    const share = path.join(dir, 'share');
    mkdirSync(share, { recursive: true });
    const bytes = Buffer.from(`#!/bin/sh\nsleep ${sleepSeconds}\necho installed\n`);
    const file = path.join(share, `${randomUUID()}.sh`);
    writeFileSync(file, bytes);
    const manifest = manifestFor(bytes, [{ kind: 'share', sourceId: randomUUID(), mountPath: file }], { versionId, fileName: 'setup.sh' });
    return {
      id: randomUUID(),
      attempt: 1,
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      payload: {
        kind: 'software.install',
        package: { versionId, name: 'Example', version: '1.0' },
        installerType: 'sh',
        command: 'sh {installer}',
        successExitCodes: [0],
        rebootExitCodes: [],
        reboot: 'never',
        timeoutSeconds: 60,
        artifacts: [signManifestText(JSON.stringify(manifest), key)],
        ...payload,
      },
    };
  };
  return { server, dir, install };
}

describe('phases', () => {
  it('tells a server that records phases when the command downloads and when it installs', async () => {
    const { server, install } = await harness({}, (s) => (s.commandPhases = ['downloading', 'installing']));
    const cmd = install({}, 1);
    server.deliver(cmd);
    expect(await waitFor(() => server.acceptedResult(cmd.id), 'the result')).toMatchObject({
      status: 'succeeded',
      software: { outcome: 'installed' },
    });
    expect(server.phases.filter((p) => p.id === cmd.id).map((p) => p.phase)).toEqual(['downloading', 'installing']);
    expect(server.invalid).toEqual([]);
  });

  it('sends no phase to a server from before phases (its heartbeats stay empty)', async () => {
    const { server, install } = await harness({ heartbeatIntervalMs: 200 });
    const cmd = install({}, 1);
    server.deliver(cmd);
    await waitFor(() => server.acceptedResult(cmd.id), 'the result');
    expect(server.heartbeats.filter((id) => id === cmd.id).length).toBeGreaterThan(0);
    expect(server.phases).toEqual([]);
    expect(server.invalid).toEqual([]);
  });
});

describe('restart with a notice', () => {
  it('warns the users with wall, then restarts once the delay after the result has passed', async () => {
    const { dir: scratch, cleanup } = tempDir();
    teardown.push(cleanup);
    const restarts = path.join(scratch, 'restarts');
    const walls = path.join(scratch, 'walls');
    // A stand-in for wall that records its arguments, one per line.
    const wall = path.join(scratch, 'wall');
    writeFileSync(wall, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> '${walls}'; done\n`);
    chmodSync(wall, 0o755);
    const { server, install } = await harness({
      rebootCommand: `node -e "require('fs').appendFileSync('${restarts}', Date.now() + '\\\\n')"`,
      wallPath: wall,
    });
    const cmd = install({ reboot: 'always', rebootNotice: { message: 'Updating "Example".\nSave your work.', delaySeconds: 2 } });
    server.deliver(cmd);
    expect(await waitFor(() => server.acceptedResult(cmd.id), 'the result')).toMatchObject({
      status: 'succeeded',
      software: { outcome: 'installed', rebootRequired: true },
    });
    const resultAt = Date.now();
    await waitFor(() => existsSync(walls), 'the notice');
    expect(readFileSync(walls, 'utf8')).toBe("--\nOpsConductor:\nUpdating 'Example'. Save your work. This device restarts in 2 seconds.\n");
    // Not before the delay is up.
    await new Promise((r) => setTimeout(r, 1000));
    expect(existsSync(restarts)).toBe(false);
    const restartedAt = Number(
      (await waitFor(() => (existsSync(restarts) ? readFileSync(restarts, 'utf8') : undefined), 'the restart', 10_000)).trim(),
    );
    expect(restartedAt - resultAt).toBeGreaterThanOrEqual(1500);
    expect(restartedAt - resultAt).toBeLessThan(8000);
  });

  it('restarts at once without a notice, and not at all with reboot never', async () => {
    const { dir: scratch, cleanup } = tempDir();
    teardown.push(cleanup);
    const restarts = path.join(scratch, 'restarts');
    const { server, install } = await harness({ rebootCommand: `echo restart >> '${restarts}'`, wallPath: null });
    const never = install({ reboot: 'never' });
    server.deliver(never);
    await waitFor(() => server.acceptedResult(never.id), 'the first result');
    const always = install({ reboot: 'always' });
    server.deliver(always);
    await waitFor(() => server.acceptedResult(always.id), 'the second result');
    expect(await waitFor(() => existsSync(restarts) && readFileSync(restarts, 'utf8'), 'the restart', 5000)).toBe('restart\n');
  });
});
