/**
 * Every command kind end to end: API, worker, Temporal and real agent processes on this machine —
 * scripts (sh, bash, python), file.fetch of an uploaded file with its mode, a reboot across an agent
 * restart under a new boot ID, inventory.refresh, a kind the agent cannot run; and a large script sent
 * to several devices that the workflow history holds by reference only.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { AGENT_PROTOCOL_VERSION } from '@opsconductor/contracts/agent-protocol';
import { capability } from '@opsconductor/contracts/commands';
import { readJournal } from '../../agent/src/journal.ts';
import { outputOf, startStack, uploadFile, waitForRun, type AgentHandle, type Stack } from '../support/stack.ts';
import { waitFor } from '../support/tools.ts';

let stack: Stack;
let agent: AgentHandle;
/** The agent's environment: a boot ID it can be restarted under a new one of, and a harmless restart command. */
const agentEnv = (bootId: string) => ({ OPSCONDUCTOR_AGENT_BOOT_ID: bootId, OPSCONDUCTOR_AGENT_REBOOT_COMMAND: 'echo restart requested' });

beforeAll(async () => {
  stack = await startStack();
  agent = await stack.enrollAgent();
  await agent.start(agentEnv('e2e-boot-1'));
}, 240_000);
afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await stack?.close();
});

async function run(body: Record<string, unknown>, deviceIds = [agent.deviceId]) {
  const res = await stack.api('POST', '/api/v1/job-runs', { deviceIds, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; workflowId: string; kind: string };
}
const target = (runBody: any, deviceId = agent.deviceId) => runBody.targets.find((t: any) => t.deviceId === deviceId);

describe('command kinds on a real agent', () => {
  it('announces its capabilities and boot ID, stored on the device with its own protocol version', async () => {
    const device = await stack.database.db.prisma.device.findUniqueOrThrow({ where: { id: agent.deviceId } });
    expect(device).toMatchObject({
      protocolVersion: AGENT_PROTOCOL_VERSION,
      capabilities: [
        capability('shell'),
        capability('script'),
        'file.fetch@1',
        'reboot@1',
        'software.install@1',
        'software.uninstall@1',
        'inventory.refresh@1',
      ],
      commandKinds: ['shell', 'script', 'file.fetch', 'reboot', 'inventory.refresh', 'software.install', 'software.uninstall'],
      bootId: 'e2e-boot-1',
    });
  });

  it('runs scripts with sh, bash and python', async () => {
    const scripts = {
      sh: 'echo "sh says $((6 * 7))"',
      bash: 'words=(one two); echo "bash says ${#words[@]}"; exit 3',
      python: 'import json\nprint(json.dumps({"python": "says"}))',
    };
    const runs = await Promise.all(
      Object.entries(scripts).map(([interpreter, script]) => run({ action: { kind: 'script', interpreter, script } })),
    );
    const [sh, bash, python] = await Promise.all(runs.map((r) => waitForRun(stack, r.id)));
    expect(sh).toMatchObject({ kind: 'script', shell: 'sh', command: scripts.sh, status: 'succeeded' });
    expect(await outputOf(stack, sh.id, agent.deviceId)).toBe('sh says 42\n');
    expect(target(bash)).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(await outputOf(stack, bash.id, agent.deviceId)).toBe('bash says 2\n');
    expect(await outputOf(stack, python.id, agent.deviceId)).toBe('{"python": "says"}\n');
  });

  it('stores a large script once: the workflow history holds its hash, not its body, however many devices run it', async () => {
    const marker = `marker-${randomUUID()}`;
    const script = `# ${marker}\n${'# padding to make the script large\n'.repeat(6000)}echo "${marker.slice(0, 15)} ran"\n`;
    expect(script.length).toBeGreaterThan(200_000);
    const offline = await Promise.all([stack.enrollAgent(), stack.enrollAgent(), stack.enrollAgent()]); // enrolled, never started
    const created = await run({ action: { kind: 'script', interpreter: 'sh', script }, deadlineSeconds: 10 }, [
      agent.deviceId,
      ...offline.map((a) => a.deviceId),
    ]);
    const done = await waitForRun(stack, created.id, 90_000);
    expect(target(done).status).toBe('succeeded');
    expect(offline.map((a) => target(done, a.deviceId).status)).toEqual(['offline', 'offline', 'offline']);
    expect(await outputOf(stack, done.id, agent.deviceId)).toBe(`${marker.slice(0, 15)} ran\n`);

    const connection = await Connection.connect({ address: inject('temporalAddress') });
    try {
      const history = await new Client({ connection }).workflow.getHandle(created.workflowId).fetchHistory();
      const payloads = payloadBytes(history);
      expect(payloads.text).not.toContain(marker);
      // Four dispatches of a 200 KB script would be 800 KB inline; by reference the whole history's payloads stay small.
      expect(payloads.bytes).toBeLessThan(20_000);
    } finally {
      await connection.close();
    }
    // Stored once for the run, and each device's command refers to it.
    const commands = await stack.database.db.prisma.agentCommand.findMany({ where: { jobRunDevice: { jobRunId: created.id } } });
    expect(new Set(commands.map((c) => c.payloadSha256)).size).toBe(1);
    expect(await stack.database.db.prisma.commandPayload.count({ where: { sha256: commands[0]!.payloadSha256 } })).toBe(1);
  });

  it('fetches an uploaded file by its hash and writes it with its mode', async () => {
    const content = Buffer.from(`setting=${randomUUID()}\n`);
    const file = await uploadFile(stack, 'app.conf', content);
    expect(file.size).toBe(content.length);
    const path = join(agent.stateDir, 'app.conf');
    const done = await waitForRun(stack, (await run({ action: { kind: 'file.fetch', sha256: file.sha256, path, mode: '0600' } })).id);
    expect(target(done)).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(readFileSync(path)).toEqual(content);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // A file nobody uploaded is refused when the run is created.
    const unknown = await stack.api('POST', '/api/v1/job-runs', {
      deviceIds: [agent.deviceId],
      action: { kind: 'file.fetch', sha256: 'e'.repeat(64), path },
    });
    expect(unknown).toMatchObject({ status: 400, body: { code: 'unknown_file' } });
  });

  it('refreshes the inventory now', async () => {
    const before = (await stack.database.db.prisma.device.findUniqueOrThrow({ where: { id: agent.deviceId } })).inventoryUpdatedAt;
    const done = await waitForRun(stack, (await run({ action: { kind: 'inventory.refresh' } })).id);
    expect(target(done)).toMatchObject({ status: 'succeeded' });
    expect(await outputOf(stack, done.id, agent.deviceId)).toMatch(/full inventory report accepted/);
    const after = (await stack.database.db.prisma.device.findUniqueOrThrow({ where: { id: agent.deviceId } })).inventoryUpdatedAt;
    expect(after!.getTime()).toBeGreaterThan(before?.getTime() ?? 0);
  });

  it('reboots: the command waits through the shutdown and succeeds once the agent runs under a new boot ID', async () => {
    const created = await run({ action: { kind: 'reboot' }, timeoutSeconds: 600 });
    const commandId = await waitFor(
      'the restart to be requested',
      async () => {
        const cmd = await stack.database.db.prisma.agentCommand.findFirst({ where: { jobRunDevice: { jobRunId: created.id } } });
        return cmd && readJournal(agent.stateDir).entries.get(cmd.id)?.awaitingReboot ? cmd.id : null;
      },
      30_000,
    );
    // The output is posted beside the journal entry, not before it: wait for it.
    await waitFor(
      "the restart command's output",
      async () => (await outputOf(stack, created.id, agent.deviceId)) === 'restart requested\n' || null,
      10_000,
    );
    // The system going down stops the agent (SIGTERM): not a failure.
    await agent.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    expect((await stack.api('GET', `/api/v1/job-runs/${created.id}`)).body.finishedAt).toBeNull();
    expect((await stack.database.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: commandId } })).state).toBe('running');
    await agent.start(agentEnv('e2e-boot-2'));
    const done = await waitForRun(stack, created.id, 60_000);
    expect(done.status).toBe('succeeded');
    expect((await stack.database.db.prisma.device.findUniqueOrThrow({ where: { id: agent.deviceId } })).bootId).toBe('e2e-boot-2');
  });

  it('never sends a kind the agent cannot run: its target fails saying so', async () => {
    const limited = await stack.enrollAgent();
    await limited.start({ OPSCONDUCTOR_AGENT_INVENTORY: 'off' }); // no inventory: no inventory.refresh handler
    const done = await waitForRun(stack, (await run({ action: { kind: 'inventory.refresh' } }, [limited.deviceId])).id);
    expect(target(done, limited.deviceId)).toMatchObject({
      status: 'failed',
      errorMessage: expect.stringMatching(/cannot run "inventory.refresh" commands/),
    });
    const cmd = await stack.database.db.prisma.agentCommand.findFirstOrThrow({ where: { jobRunDevice: { jobRunId: done.id } } });
    expect(cmd).toMatchObject({ state: 'unsupported', deliveredAt: null });
  });
});

/** The payloads of a history (inputs and results of every event), decoded. */
function payloadBytes(history: unknown): { bytes: number; text: string } {
  let bytes = 0;
  const texts: string[] = [];
  const visit = (value: unknown) => {
    if (!value || typeof value !== 'object') return;
    if (value instanceof Uint8Array) return;
    const data = (value as { data?: unknown }).data;
    if (data instanceof Uint8Array && 'metadata' in value) {
      bytes += data.length;
      texts.push(Buffer.from(data).toString('utf8'));
      return;
    }
    for (const child of Object.values(value)) visit(child);
  };
  visit(history);
  return { bytes, text: texts.join('\n') };
}
