/**
 * A virtual device answering software commands, over a stand-in for the protocol client: its installed versions
 * change with the commands it runs to their end, and a device that goes silent after an install stops polling
 * until it is revived or rebooted. (Against the real server: test/e2e/fleet-sim-software.e2e.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import type { AgentCommand } from '@opsconductor/contracts/agent-protocol';
import { softwareInstallCommandPayload, softwareUninstallCommandPayload } from '@opsconductor/contracts/software';
import { describe, expect, it } from 'vitest';
import { defaultBehaviour, seededRandom, type CommandBehaviour } from '../src/fleet-sim/behaviour.ts';
import { FleetStats } from '../src/fleet-sim/fleet-stats.ts';
import type { ProtocolClient, ResultBody } from '../src/fleet-sim/protocol-client.ts';
import { VirtualAgent } from '../src/fleet-sim/virtual-agent.ts';

/** Hands out queued commands to long-polls (which wait for them), records results. */
class FakeServer {
  polls = 0;
  stateChanges = 0;
  cancelOnStart = false;
  /** What check-in answers as `commandPhases` (undefined: a server from before phases). */
  commandPhases: string[] | undefined;
  readonly heartbeats: { id: string; body: unknown }[] = [];
  readonly results = new Map<string, ResultBody>();
  private queue: AgentCommand[] = [];
  private wake: (() => void) | undefined;

  send(command: AgentCommand): void {
    this.queue.push(command);
    this.wake?.();
  }

  readonly client = {
    checkin: async () => ({ checkinIntervalSeconds: 300, ...(this.commandPhases ? { commandPhases: this.commandPhases } : {}) }),
    poll: async (_secret: string, _wait: number, signal?: AbortSignal) => {
      this.polls++;
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          signal?.addEventListener('abort', () => resolve(), { once: true });
        });
        this.wake = undefined;
      }
      if (signal?.aborted) throw new Error('aborted');
      return { commands: this.queue.splice(0), cancel: [] };
    },
    start: async () => ({ cancelRequested: this.cancelOnStart }),
    output: async () => ({ cancelRequested: false }),
    heartbeat: async (_secret: string, id: string, _signal?: AbortSignal, body: unknown = {}) => {
      this.heartbeats.push({ id, body });
      return { cancelRequested: false };
    },
    result: async (_secret: string, id: string, body: ResultBody) => {
      this.results.set(id, body);
      return { accepted: true, duplicate: false };
    },
    disconnect: async () => {},
    goodbye: async () => {},
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function device(over: Partial<CommandBehaviour> = {}, installed: string[] = []) {
  const server = new FakeServer();
  const stats = new FleetStats();
  const agent = new VirtualAgent(
    7,
    'sim-00007',
    { ...defaultBehaviour, ...over },
    {
      client: server.client as unknown as ProtocolClient,
      stats,
      random: seededRandom(1),
      jitterMs: 0,
      onStateChange: () => server.stateChanges++,
    },
    { index: 7, hostname: 'sim-00007', deviceId: randomUUID(), deviceSecret: 'secret' },
    { installed },
  );
  return { server, stats, agent };
}

const base = (versionId: string) => ({
  installerType: 'apt' as const,
  packageName: 'app',
  package: { versionId, name: 'App', version: '1.0' },
  command: 'apt-get install -y {packageName}',
  timeoutSeconds: 60,
});
const command = (payload: AgentCommand['payload']): AgentCommand => ({
  id: randomUUID(),
  expiresAt: new Date(Date.now() + 60_000).toISOString(),
  payload,
});
const install = (versionId: string) => command(softwareInstallCommandPayload.parse({ kind: 'software.install', ...base(versionId) }));
const uninstall = (versionId: string) => command(softwareUninstallCommandPayload.parse({ kind: 'software.uninstall', ...base(versionId) }));

async function run(server: FakeServer, c: AgentCommand): Promise<ResultBody> {
  server.send(c);
  await until(`the result of ${c.payload.kind}`, () => server.results.has(c.id));
  return server.results.get(c.id)!;
}

describe('a virtual device running software commands', () => {
  it('installs, reports already_installed, uninstalls, and counts the outcomes', async () => {
    const { server, stats, agent } = device();
    const v = randomUUID();
    await agent.goOnline();
    try {
      expect(await run(server, install(v))).toMatchObject({ status: 'succeeded', exitCode: 0, software: { outcome: 'installed' } });
      expect(agent.installedVersions()).toEqual([v]);
      expect(server.stateChanges).toBe(1);
      expect(await run(server, install(v))).toMatchObject({ status: 'succeeded', software: { outcome: 'already_installed' } });
      expect(await run(server, uninstall(v))).toMatchObject({ status: 'succeeded', software: { outcome: 'uninstalled' } });
      expect(agent.installedVersions()).toEqual([]);
      expect(await run(server, uninstall(v))).toMatchObject({ status: 'succeeded', software: { outcome: 'not_installed' } });
      // By hand: added, removed again.
      expect(agent.addSoftware(v)).toBe(true);
      expect(agent.addSoftware(v)).toBe(false);
      expect(await run(server, install(v))).toMatchObject({ software: { outcome: 'already_installed' } });
      expect(agent.removeSoftware(v)).toBe(true);
      expect(agent.removeSoftware(v)).toBe(false);
      expect(stats.snapshot().softwareOutcomes).toEqual({ already_installed: 2, installed: 1, not_installed: 1, uninstalled: 1 });
    } finally {
      await agent.stop();
    }
  });

  it('fails an install with 1603 and keeps nothing; a cancelled install changes nothing either', async () => {
    const { server, agent } = device({ installFailRate: 1 });
    const v = randomUUID();
    await agent.goOnline();
    try {
      expect(await run(server, install(v))).toMatchObject({
        status: 'failed',
        exitCode: 1603,
        error: 'failed: the installer exited with 1603',
        software: { outcome: 'failed', installerExitCode: 1603 },
      });
      expect(agent.installedVersions()).toEqual([]);
    } finally {
      await agent.stop();
    }
    const other = device();
    other.server.cancelOnStart = true;
    await other.agent.goOnline();
    try {
      expect(await run(other.server, install(v))).toMatchObject({
        status: 'cancelled',
        exitCode: null,
        software: { outcome: 'failed', detail: 'cancelled' },
      });
      expect(other.agent.installedVersions()).toEqual([]);
    } finally {
      await other.agent.stop();
    }
  });

  it('goes silent after installing: no more polls until revived; a reboot brings it back too', async () => {
    const { server, stats, agent } = device({ silentAfterInstallRate: 1 }, []);
    const v = randomUUID();
    await agent.goOnline();
    try {
      expect(await run(server, install(v))).toMatchObject({ status: 'succeeded', software: { outcome: 'installed' } });
      await until('the device to go silent', () => agent.status === 'silent');
      expect(agent.silent).toBe(true);
      expect(stats.wentSilent).toBe(1);
      const polls = server.polls;
      await new Promise((r) => setTimeout(r, 100));
      expect(server.polls).toBe(polls);

      expect(await agent.revive()).toBe(true);
      expect(agent.status).toBe('online');
      expect(agent.silent).toBe(false);
      await until('a poll after reviving', () => server.polls > polls);
      expect(await agent.revive()).toBe(false);

      // Silent again after the next install (of another version), then rebooted back with a new boot ID.
      expect(await run(server, install(randomUUID()))).toMatchObject({ software: { outcome: 'installed' } });
      await until('the device to go silent again', () => agent.status === 'silent');
      const bootId = agent.bootId;
      await agent.reboot(10);
      expect(agent.status).toBe('online');
      expect(agent.bootId).not.toBe(bootId);
      expect(agent.silent).toBe(false);
      // The installed versions survived both.
      expect(agent.installedVersions()).toHaveLength(2);
      // Installing an installed version does not silence it.
      expect(await run(server, install(v))).toMatchObject({ software: { outcome: 'already_installed' } });
      await new Promise((r) => setTimeout(r, 50));
      expect(agent.status).toBe('online');
    } finally {
      await agent.stop();
    }
  });

  it('starts silent when the state file says so', async () => {
    const { agent } = device();
    const silent = new VirtualAgent(
      1,
      'sim-00001',
      defaultBehaviour,
      { client: device().server.client as unknown as ProtocolClient, stats: new FleetStats(), random: seededRandom(1), jitterMs: 0 },
      { index: 1, hostname: 'sim-00001', deviceId: randomUUID(), deviceSecret: 's' },
      { installed: ['b', 'a'], silent: true },
    );
    expect(silent.silent).toBe(true);
    expect(silent.installedVersions()).toEqual(['a', 'b']);
    expect(agent.silent).toBe(false);
  });
});

describe('phases', () => {
  const withArtifact = (versionId: string) =>
    command(softwareInstallCommandPayload.parse({ kind: 'software.install', ...base(versionId), artifactIds: [randomUUID()] }));

  it('reports downloading, then installing, with a heartbeat as each begins, to a server that records phases', async () => {
    const { server, agent } = device({ latencyMs: [400, 400] });
    server.commandPhases = ['downloading', 'installing'];
    await agent.goOnline();
    try {
      const c = withArtifact(randomUUID());
      await run(server, c);
      expect(server.heartbeats.filter((h) => h.id === c.id).map((h) => h.body)).toEqual([
        { phase: 'downloading' },
        { phase: 'installing' },
      ]);
      // Without artifacts there is nothing to download.
      const plain = install(randomUUID());
      await run(server, plain);
      expect(server.heartbeats.filter((h) => h.id === plain.id).map((h) => h.body)).toEqual([{ phase: 'installing' }]);
    } finally {
      await agent.stop();
    }
  });

  it('sends no phase to a server from before phases', async () => {
    const { server, agent } = device({ latencyMs: [400, 400] });
    await agent.goOnline();
    try {
      await run(server, withArtifact(randomUUID()));
      expect(server.heartbeats.filter((h) => JSON.stringify(h.body) !== '{}')).toEqual([]);
    } finally {
      await agent.stop();
    }
  });
});
