/**
 * Inventory reporting through the whole agent against the loopback protocol server, whose inventory
 * endpoint checks every section against its hash and answers a delta without a matching base with 409,
 * like the real one. Collections are scripted (deterministic sections) except in the last test.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  inventorySectionNames,
  inventorySections,
  type InventorySectionName,
  type InventorySections,
} from '@opsconductor/contracts/inventory';
import { sectionHash } from '@opsconductor/contracts/inventory-hash';
import { Agent, type AgentOptions } from '../src/agent.ts';
import type { CollectedInventory } from '../src/inventory/index.ts';
import { buildReport, inventoryStatePath, readInventoryState } from '../src/inventory/reporter.ts';
import { parseRawOutput, windowsParsers } from '../src/inventory/windows/parse.ts';
import { createLogger } from '../src/log.ts';
import { writeConfig } from '../src/state.ts';
import { spawnCli } from './support/cli-process.ts';
import { FakeServer } from './support/fake-server.ts';
import { shellCommand, tempDir, waitFor } from './support/util.ts';

vi.setConfig({ testTimeout: 60_000 });

/** A complete, realistic and deterministic inventory: the parsed Windows laptop fixture. */
function baseSections(): InventorySections {
  const raw = parseRawOutput(readFileSync(new URL('./fixtures/windows/win11-23h2-laptop-ad.json', import.meta.url), 'utf8'));
  return inventorySections.parse(Object.fromEntries(Object.entries(windowsParsers).map(([name, parse]) => [name, parse(raw)])));
}

/** A scripted collector: tests change `sections` / `failed` between collections. */
class ScriptedInventory {
  sections = baseSections();
  failed: InventorySectionName[] = [];
  collections = 0;
  delayMs = 0;
  collect = async (): Promise<CollectedInventory> => {
    this.collections++;
    if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return { sections: structuredClone(this.sections), failed: [...this.failed], durationMs: 1, sectionDurationsMs: {} };
  };
  addPackage(name: string): void {
    this.sections.software.packages = [
      ...this.sections.software.packages,
      {
        name,
        version: '1.0',
        architecture: 'x64',
        vendor: null,
        installDate: null,
        source: 'registry',
        productCode: null,
        upgradeCode: null,
      },
    ];
  }
}

const facts = {
  hostname: 'test-host',
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

async function setup() {
  const server = await new FakeServer().listen();
  server.inventoryDeltaIntervalSeconds = 1;
  const { dir: stateDir, cleanup } = tempDir();
  const logs: string[] = [];
  const inventory = new ScriptedInventory();
  const agents: Agent[] = [];
  teardown.push(
    cleanup,
    () => server.close(),
    async () => {
      await Promise.all(agents.map((a) => a.stop()));
    },
  );
  const startAgent = async (overrides: Partial<AgentOptions> = {}) => {
    const agent = new Agent({
      serverUrl: server.url,
      deviceId: server.deviceId,
      deviceSecret: server.deviceSecret,
      stateDir,
      logger: createLogger({ level: 'debug', write: (line) => logs.push(line) }),
      collectFacts: async () => facts,
      pollWaitSeconds: 5,
      connectionRetry: { initialMs: 50, maxMs: 200 },
      inventory: { collect: inventory.collect, minIntervalSeconds: 0, retry: { initialMs: 50, maxMs: 200 } },
      ...overrides,
    });
    agents.push(agent);
    await agent.start();
    return agent;
  };
  return { server, stateDir, logs, inventory, startAgent };
}

const hashesOf = (sections: InventorySections) => Object.fromEntries(inventorySectionNames.map((n) => [n, sectionHash(sections[n])]));

describe('inventory reporter', () => {
  it('sends a full report first, then deltas with only the changed sections and every hash', async () => {
    const { server, inventory, startAgent } = await setup();
    await startAgent();

    const first = await waitFor(() => server.acceptedInventory()[0], 'the first report');
    expect(first.body.mode).toBe('full');
    expect(Object.keys(first.body.sections).sort()).toEqual([...inventorySectionNames].sort());
    expect(first.body.hashes).toEqual(hashesOf(inventory.sections));
    expect(server.inventory.software).toEqual(inventory.sections.software);

    inventory.addPackage('Contoso Widget');
    inventory.sections.performance.cpuPercent = 55;
    const second = await waitFor(() => server.acceptedInventory()[1], 'the second report');
    expect(second.body.mode).toBe('delta');
    expect(Object.keys(second.body.sections).sort()).toEqual(['performance', 'software']);
    expect(second.body.hashes).toEqual(hashesOf(inventory.sections));
    for (const name of ['system', 'hardware', 'directory', 'services', 'security'] as const) {
      expect(second.body.hashes[name]).toBe(first.body.hashes[name]);
    }
    expect(server.inventory.software?.packages.some((p) => p.name === 'Contoso Widget')).toBe(true);

    // Nothing changed: still a delta (liveness, and the server checks its base), with no sections.
    const third = await waitFor(() => server.acceptedInventory()[2], 'the third report');
    expect(third.body).toMatchObject({ mode: 'delta', sections: {} });
    expect(third.body.hashes).toEqual(second.body.hashes);
    // The delta interval comes from the server's answer (1 s), not the 3600 s default.
    expect(third.at - second.at).toBeGreaterThanOrEqual(850);
    expect(third.at - second.at).toBeLessThan(5000);
    expect(server.invalid).toEqual([]);
  });

  it('answers a 409 (server lost the base) with a full report at once, from the same collection', async () => {
    const { server, inventory, startAgent } = await setup();
    server.inventoryDeltaIntervalSeconds = 3;
    await startAgent();
    await waitFor(() => server.acceptedInventory()[0], 'the first report');
    server.forgetInventory();

    const refused = await waitFor(() => server.inventoryReports.find((r) => r.status === 409), 'the refused delta', 10_000);
    expect(refused.body.mode).toBe('delta');
    const full = await waitFor(() => server.acceptedInventory()[1], 'the full report');
    expect(full.body.mode).toBe('full');
    expect(full.at - refused.at).toBeLessThan(1000); // not after the 3 s delta interval
    expect(full.body.collectedAt).toBe(refused.body.collectedAt);
    expect(inventory.collections).toBe(2);
    expect(server.inventory).toEqual(inventory.sections);

    // A scripted 409 works the same way.
    server.failNext('inventory', 409);
    await waitFor(() => server.acceptedInventory()[2], 'the next full report', 10_000);
    expect(server.inventoryReports.map((r) => [r.body.mode, r.status])).toEqual([
      ['full', 200],
      ['delta', 409],
      ['full', 200],
      ['delta', 409],
      ['full', 200],
    ]);
  });

  it('persists the accepted hashes: a restarted agent sends a delta', async () => {
    const { server, stateDir, inventory, startAgent } = await setup();
    server.inventoryDeltaIntervalSeconds = 3600;
    const firstAgent = await startAgent();
    await waitFor(() => server.acceptedInventory()[0], 'the first report');
    // The server's answer must have reached the agent (stopping aborts an upload in flight).
    await waitFor(() => readInventoryState(stateDir, server.deviceId), 'the accepted hashes to be saved');
    await firstAgent.stop();

    const file = inventoryStatePath(stateDir);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const state = readInventoryState(stateDir, server.deviceId);
    expect(state?.hashes).toEqual(hashesOf(inventory.sections));
    expect(state?.deltaIntervalSeconds).toBe(3600);
    expect(readInventoryState(stateDir, '00000000-0000-4000-8000-000000000000')).toBeUndefined(); // another device's

    inventory.addPackage('Installed While Stopped');
    await startAgent();
    const afterRestart = await waitFor(() => server.inventoryReports[1], 'the report after the restart');
    expect(afterRestart.status).toBe(200);
    expect(afterRestart.body.mode).toBe('delta');
    expect(Object.keys(afterRestart.body.sections)).toEqual(['software']);
    expect(server.inventoryReports).toHaveLength(2);
  });

  it('a restarted agent whose server lost the base falls back to a full report', async () => {
    const { server, stateDir, startAgent } = await setup();
    server.inventoryDeltaIntervalSeconds = 3600;
    const firstAgent = await startAgent();
    await waitFor(() => server.acceptedInventory()[0], 'the first report');
    // The server's answer must have reached the agent (stopping aborts an upload in flight).
    await waitFor(() => readInventoryState(stateDir, server.deviceId), 'the accepted hashes to be saved');
    await firstAgent.stop();
    server.forgetInventory();
    await startAgent();
    await waitFor(() => server.acceptedInventory()[1], 'the full report after the restart');
    expect(server.inventoryReports.map((r) => [r.body.mode, r.status])).toEqual([
      ['full', 200],
      ['delta', 409],
      ['full', 200],
    ]);
    const fullAt = server.inventoryReports[2]!.body.collectedAt;
    await waitFor(() => readInventoryState(stateDir, server.deviceId)?.lastFullAt === fullAt, 'the new full report to be recorded');
  });

  it('sends a full report again once fullIntervalSeconds has passed', async () => {
    const { server, startAgent } = await setup();
    server.inventoryFullIntervalSeconds = 2;
    await startAgent();
    await waitFor(() => server.acceptedInventory().filter((r) => r.body.mode === 'full').length >= 2, 'a second full report', 10_000);
    const modes = server.acceptedInventory().map((r) => r.body.mode);
    expect(modes[0]).toBe('full');
    expect(modes[1]).toBe('delta');
  });

  it('retries the same report on 5xx, and after a 400 logs the errors and waits for the next interval', async () => {
    const { server, logs, startAgent } = await setup();
    server.failNext('inventory', 503, 502);
    await startAgent();
    const accepted = await waitFor(() => server.acceptedInventory()[0], 'the accepted report');
    expect(server.inventoryReports.map((r) => r.status)).toEqual([503, 502, 200]);
    expect(server.inventoryReports[0]!.body).toEqual(accepted.body);

    server.failNext('inventory', 400);
    const refused = await waitFor(() => server.inventoryReports.find((r) => r.status === 400), 'the refused report', 10_000);
    const next = await waitFor(
      () => server.inventoryReports[server.inventoryReports.indexOf(refused) + 1],
      'the report after the 400',
      10_000,
    );
    expect(next.at - refused.at).toBeGreaterThanOrEqual(850); // no hot loop: the next try waits for the interval
    const line = logs.find((l) => l.includes('server refused the inventory report'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ level: 'error', errors: [{ path: 'sections.software', message: 'scripted' }] });
  });

  it('keeps the last good copy of a section whose collector fails, instead of sending an empty one', async () => {
    const { server, inventory, startAgent } = await setup();
    await startAgent();
    const first = await waitFor(() => server.acceptedInventory()[0], 'the first report');
    inventory.failed = ['software'];
    inventory.sections.software = { packages: [] }; // what a failed collector's stand-in looks like
    const second = await waitFor(() => server.acceptedInventory()[1], 'the delta');
    expect(second.body.mode).toBe('delta');
    expect('software' in second.body.sections).toBe(false);
    expect(second.body.hashes.software).toBe(first.body.hashes.software);
    expect(server.inventory.software!.packages.length).toBeGreaterThan(0);
  });

  it('does not hold up commands while a slow collection runs', async () => {
    const { server, inventory, startAgent } = await setup();
    inventory.delayMs = 4000;
    await startAgent({ outputFlushIntervalMs: 20, deliveryRetry: { initialMs: 50, maxMs: 200 } });
    await waitFor(() => inventory.collections > 0 && server.polls > 0, 'a collection and a poll to be under way');
    const command = shellCommand('echo hello');
    const sentAt = Date.now();
    server.deliver(command);
    const result = await waitFor(() => server.acceptedResult(command.id), 'the command result');
    expect(result.status).toBe('succeeded');
    expect(Date.now() - sentAt).toBeLessThan(3000);
    expect(server.inventoryReports).toHaveLength(0); // the collection is still running
  });

  it('sends a full report now for an inventory.refresh command, outside the schedule, and succeeds once accepted', async () => {
    const { server, inventory, startAgent } = await setup();
    server.inventoryDeltaIntervalSeconds = 3600;
    const agent = await startAgent({ outputFlushIntervalMs: 20, deliveryRetry: { initialMs: 50, maxMs: 200 } });
    expect(agent.capabilities).toContain('inventory.refresh@1');
    await waitFor(() => server.acceptedInventory()[0], 'the first report');
    inventory.addPackage('Refreshed Tool');
    const command = {
      id: randomUUID(),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      payload: { kind: 'inventory.refresh', timeoutSeconds: 30 },
    };
    server.deliver(command);
    const result = await waitFor(() => server.acceptedResult(command.id), 'the command result');
    expect(result).toMatchObject({ status: 'succeeded', exitCode: 0 });
    const reports = server.acceptedInventory();
    expect(reports).toHaveLength(2); // the refresh, not the next delta (an hour away)
    expect(reports[1]!.body.mode).toBe('full');
    expect(server.inventory.software?.packages.some((p) => p.name === 'Refreshed Tool')).toBe(true);
    expect(server.text(command.id, 'stdout')).toMatch(/full inventory report accepted by the server; changed sections: software/);

    // A server that refuses the report fails the command, with why.
    server.failNext('inventory', 400);
    const refused = { ...command, id: randomUUID() };
    server.deliver(refused);
    expect(await waitFor(() => server.acceptedResult(refused.id), 'the result')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/refused/),
    });
  });

  it('is on by default with the real collectors, and can be turned off', async () => {
    const { server, startAgent, stateDir } = await setup();
    await startAgent({ inventory: undefined });
    const first = await waitFor(() => server.acceptedInventory()[0], 'a real report', 30_000);
    expect(first.body.mode).toBe('full');
    expect(first.body.sections.system?.hostname).toBe(os.hostname());
    expect(server.invalid).toEqual([]);
    await waitFor(() => readInventoryState(stateDir, server.deviceId), 'the accepted hashes to be saved');

    const other = await setup();
    await other.startAgent({ inventory: false });
    await waitFor(() => other.server.polls > 0, 'the agent to poll');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(other.server.inventoryReports).toEqual([]);
  });
});

describe('inventory in the real agent process', () => {
  it('`run` reports real inventory; OPSCONDUCTOR_AGENT_INVENTORY=off turns it off', async () => {
    for (const off of [false, true]) {
      const server = await new FakeServer().listen();
      const { dir: stateDir, cleanup } = tempDir();
      teardown.push(cleanup, () => server.close());
      writeConfig(stateDir, { serverUrl: server.url, deviceId: server.deviceId, deviceSecret: server.deviceSecret });
      const agent = spawnCli(['run', '--state-dir', stateDir], off ? { OPSCONDUCTOR_AGENT_INVENTORY: 'off' } : {});
      teardown.push(() => void agent.child.kill('SIGKILL'));
      if (off) {
        await waitFor(() => server.polls > 0, 'the agent to poll', 20_000);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        expect(server.inventoryReports).toEqual([]);
      } else {
        const report = await waitFor(() => server.acceptedInventory()[0], 'a report from the CLI agent', 30_000);
        expect(report.body.mode).toBe('full');
        expect(report.body.sections.software?.packages.some((p) => p.name === 'bash')).toBe(true);
        expect(server.invalid).toEqual([]);
      }
      agent.child.kill('SIGTERM');
      expect((await agent.exited).code).toBe(0);
    }
  });
});

describe('buildReport', () => {
  it('claims an unavailable section unchanged in a delta and sends its stand-in in a full report', () => {
    const sections = baseSections();
    const accepted = hashesOf(sections);
    const at = new Date('2024-01-25T14:30:00Z');
    const changed = structuredClone(sections);
    changed.security.localAdmins = ['someone-else'];
    const delta = buildReport('delta', changed, accepted, at, ['software']);
    expect(Object.keys(delta.report.sections)).toEqual(['security']);
    expect(delta.hashes.software).toBe(accepted.software);
    expect(delta.hashes.security).toBe(sectionHash(changed.security));
    const full = buildReport('full', changed, accepted, at, ['software']);
    expect(Object.keys(full.report.sections)).toHaveLength(7);
  });
});
