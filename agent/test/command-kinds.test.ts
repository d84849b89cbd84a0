/**
 * Every command kind through the whole agent against the loopback protocol server: scripts with their
 * interpreters, file.fetch with its checks, reboot across a restart under a new boot ID, kinds the
 * agent cannot run, and what the agent announces at check-in.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AGENT_PROTOCOL_VERSION, type AgentCommand } from '@opsconductor/contracts/agent-protocol';
import { commandKinds, type CommandPayload } from '@opsconductor/contracts/commands';
import { Agent, type AgentOptions } from '../src/agent.ts';
import { scriptInvocation } from '../src/handlers/script.ts';
import { readJournal } from '../src/journal.ts';
import { createLogger } from '../src/log.ts';
import { FakeServer } from './support/fake-server.ts';
import { shellCommand, tempDir, waitFor } from './support/util.ts';

vi.setConfig({ testTimeout: 30_000 });

const facts = {
  hostname: 'kinds',
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
      inventory: false,
      pollWaitSeconds: 5,
      outputFlushIntervalMs: 20,
      deliveryRetry: { initialMs: 50, maxMs: 200 },
      connectionRetry: { initialMs: 50, maxMs: 200 },
      killGraceMs: 1000,
      bootId: 'boot-1',
      ...overrides,
      ...more,
    });
    agents.push(agent);
    await agent.start();
    return agent;
  };
  const agent = await newAgent();
  await waitFor(() => server.polls > 0, 'the first poll');
  return { server, stateDir, logs, agent, newAgent };
}

function command(payload: CommandPayload): AgentCommand {
  return { id: randomUUID(), attempt: 1, expiresAt: new Date(Date.now() + 3600_000).toISOString(), payload };
}

describe('check-in', () => {
  it('announces the protocol version, a capability per handler and the boot ID', async () => {
    const { server } = await harness();
    expect(server.checkins[0]).toMatchObject({
      protocolVersion: AGENT_PROTOCOL_VERSION,
      capabilities: ['shell@2', 'script@2', 'file.fetch@1', 'reboot@1', 'software.install@1', 'software.uninstall@1'], // inventory is off in this harness
      bootId: 'boot-1',
    });
    expect(server.invalid).toEqual([]);
  });
});

describe('script', () => {
  it('runs a stored script with sh, bash and python, and removes its file afterwards', async () => {
    const { server, stateDir } = await harness();
    const scripts = [
      command({ kind: 'script', interpreter: 'sh', script: 'echo "sh $0"; echo err >&2; exit 4', timeoutSeconds: 30 }),
      command({ kind: 'script', interpreter: 'bash', script: 'set -euo pipefail\nx=(a b c)\necho "bash ${#x[@]}"', timeoutSeconds: 30 }),
      command({
        kind: 'script',
        interpreter: 'python',
        script: 'import sys\nprint("python", sys.version_info[0])\nsys.exit(2)',
        timeoutSeconds: 30,
      }),
    ];
    server.deliver(...scripts);
    const [sh, bash, python] = await Promise.all(
      scripts.map((c) => waitFor(() => server.acceptedResult(c.id), `the result of ${c.payload.kind}`)),
    );
    expect(sh).toMatchObject({ status: 'failed', exitCode: 4 });
    expect(server.text(scripts[0]!.id, 'stdout')).toMatch(new RegExp(`^sh .*${scripts[0]!.id}\\.sh\\n$`));
    expect(server.text(scripts[0]!.id, 'stderr')).toBe('err\n');
    expect(bash).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(server.text(scripts[1]!.id, 'stdout')).toBe('bash 3\n');
    expect(python).toMatchObject({ status: 'failed', exitCode: 2 });
    expect(server.text(scripts[2]!.id, 'stdout')).toBe('python 3\n');
    expect(readdirSync(path.join(stateDir, 'scripts'))).toEqual([]);
  });

  it('fails a script whose interpreter this platform lacks, without running anything', async () => {
    const { server } = await harness();
    const cmd = command({ kind: 'script', interpreter: 'cmd', script: 'echo hi', timeoutSeconds: 30 });
    server.deliver(cmd);
    expect(await waitFor(() => server.acceptedResult(cmd.id), 'the result')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/only available on Windows/),
    });
  });
});

describe('scriptInvocation', () => {
  it('maps interpreters per platform, passing the file as a single argument', () => {
    expect(scriptInvocation('sh', '/s/x.sh', 'linux')).toEqual({ file: '/bin/sh', args: ['/s/x.sh'] });
    expect(scriptInvocation('python', '/s/x.py', 'darwin')).toEqual({ file: 'python3', args: ['/s/x.py'] });
    expect(scriptInvocation('powershell', 'C:\\s\\x.ps1', 'win32')).toEqual({
      file: 'powershell.exe',
      args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', 'C:\\s\\x.ps1'],
    });
    // Delayed expansion on (/v:on): job steps read parameters as !OC_PARAM_X!, expanded after cmd parsed the line.
    expect(scriptInvocation('cmd', 'C:\\state dir\\x.cmd', 'win32')).toEqual({
      file: 'cmd.exe',
      args: ['/d', '/v:on', '/s', '/c', '""C:\\state dir\\x.cmd""'],
      windowsVerbatimArguments: true,
    });
    expect(() => scriptInvocation('cmd', '/s/x.cmd', 'linux')).toThrow(/only available on Windows/);
    expect(() => scriptInvocation('sh', 'C:\\x.sh', 'win32')).toThrow(/not available on Windows/);
  });
});

describe('environment and secrets', () => {
  it('hands env values to a shell command as data, never as code', async () => {
    const { server, stateDir, logs } = await harness();
    const marker = path.join(stateDir, 'ran');
    const greeting = `'; rm -rf / $(id) "q" \n\`touch ${marker}\` $(touch ${marker}); touch ${marker} *`;
    const cmd = command({
      kind: 'shell',
      shell: 'sh',
      command: `printf '%s' "\${OC_PARAM_GREETING}"`,
      env: { OC_PARAM_GREETING: greeting },
      timeoutSeconds: 30,
    });
    server.deliver(cmd);
    expect(await waitFor(() => server.acceptedResult(cmd.id), 'the result')).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(server.text(cmd.id, 'stdout')).toBe(greeting);
    expect(existsSync(marker)).toBe(false);
    expect(logs.join('\n')).not.toContain('rm -rf');
    expect(server.invalid).toEqual([]);
  });

  it('runs a script with env and secrets in its environment, the secrets redacted from both streams', async () => {
    const { server, logs } = await harness();
    const cmd = command({
      kind: 'script',
      interpreter: 'sh',
      script: 'printf "name=%s\\n" "$OC_PARAM_NAME"\nprintf "token=%s!\\n" "$OC_PARAM_TOKEN" >&2\nprintf "%s" "$OC_PARAM_TOKEN" | wc -c\n',
      env: { OC_PARAM_NAME: 'db-01 "primary"' },
      secrets: { OC_PARAM_TOKEN: 's3cr3t-ünï' },
      timeoutSeconds: 30,
    });
    server.deliver(cmd);
    expect(await waitFor(() => server.acceptedResult(cmd.id), 'the result')).toMatchObject({ status: 'succeeded', exitCode: 0 });
    // The process had the value (12 bytes of UTF-8); only what it printed of it was replaced.
    expect(server.text(cmd.id, 'stdout')).toBe('name=db-01 "primary"\n12\n');
    expect(server.text(cmd.id, 'stderr')).toBe('token=[redacted]!\n');
    expect(logs.join('\n')).not.toMatch(/s3cr3t|primary/);
  });

  it('redacts a secret the command prints in pieces, across reads of the pipe, and what ends the stream', async () => {
    const { server, logs } = await harness();
    const cmd = command({
      kind: 'shell',
      shell: 'sh',
      // Far apart in time: each piece is read (and would be sent) on its own.
      command: `printf '%s' "$OC_PARAM_TOKEN"; printf ' ab'; sleep 0.2; printf 'cd '; sleep 0.2; printf 'abc'`,
      secrets: { OC_PARAM_TOKEN: 'abcd' },
      timeoutSeconds: 30,
    });
    server.deliver(cmd);
    expect(await waitFor(() => server.acceptedResult(cmd.id), 'the result')).toMatchObject({ status: 'succeeded' });
    expect(server.text(cmd.id, 'stdout')).toBe('[redacted] [redacted] abc');
    const chunks = server.outputFor(cmd.id, 'stdout').map((c) => c.data);
    expect(chunks.length).toBeGreaterThan(1); // the output did arrive in pieces
    for (const chunk of chunks) expect(chunk).not.toMatch(/ab(?!c$)|cd/);
    expect(logs.join('\n')).not.toContain('abcd');
  });

  it('runs nothing for a command whose secret values the server did not send', async () => {
    const { server, stateDir } = await harness();
    const marker = path.join(stateDir, 'ran');
    const shell = command({
      kind: 'shell',
      shell: 'sh',
      command: `touch '${marker}'`,
      secretRefs: { OC_PARAM_TOKEN: 'token' },
      timeoutSeconds: 30,
    });
    const script = command({
      kind: 'script',
      interpreter: 'sh',
      script: `touch '${marker}'`,
      env: { OC_PARAM_X: 'x' },
      secrets: { OC_PARAM_A: 'a' },
      secretRefs: { OC_PARAM_A: 'a', OC_PARAM_B: 'b' },
      timeoutSeconds: 30,
    });
    server.deliver(shell, script);
    expect(await waitFor(() => server.acceptedResult(shell.id), 'the result')).toMatchObject({
      status: 'failed',
      exitCode: null,
      error: "the server did not send the values of the command's secret variables (OC_PARAM_TOKEN); it was not run",
    });
    expect(await waitFor(() => server.acceptedResult(script.id), 'the result')).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('(OC_PARAM_B)'),
    });
    expect(existsSync(marker)).toBe(false);
  });
});

describe('file.fetch', () => {
  const content = Buffer.from(`config ${randomUUID()}\n`);
  const sha256 = createHash('sha256').update(content).digest('hex');

  it('downloads the file, checks it and writes it atomically with its mode and owner', async () => {
    const { server, stateDir } = await harness();
    server.files.set(sha256, content);
    const dir = path.join(stateDir, 'etc');
    mkdirSync(dir);
    const target = path.join(dir, 'app.conf');
    writeFileSync(target, 'old\n');
    const cmd = command({
      kind: 'file.fetch',
      sha256,
      size: content.length,
      path: target,
      mode: '0640',
      owner: 'root:0',
      timeoutSeconds: 30,
    });
    server.deliver(cmd);
    expect(await waitFor(() => server.acceptedResult(cmd.id), 'the result')).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(readFileSync(target)).toEqual(content);
    const st = statSync(target);
    expect(st.mode & 0o777).toBe(0o640);
    expect([st.uid, st.gid]).toEqual([0, 0]);
    expect(readdirSync(dir)).toEqual(['app.conf']); // no temporary file left
    expect(server.text(cmd.id, 'stdout')).toContain(`sha256 ${sha256}`);
  });

  it('writes nothing when the bytes do not match the hash, and fails when the directory is missing', async () => {
    const { server, stateDir } = await harness();
    server.files.set(sha256, Buffer.from(content.toString().toUpperCase())); // same size, other bytes
    const target = path.join(stateDir, 'app.conf');
    writeFileSync(target, 'old\n');
    const tampered = command({ kind: 'file.fetch', sha256, size: content.length, path: target, timeoutSeconds: 30 });
    const nowhere = command({
      kind: 'file.fetch',
      sha256,
      size: content.length,
      path: path.join(stateDir, 'missing', 'app.conf'),
      timeoutSeconds: 30,
    });
    server.deliver(tampered, nowhere);
    expect(await waitFor(() => server.acceptedResult(tampered.id), 'the result')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/SHA-256 of the received file is [0-9a-f]{64}, expected/),
    });
    expect(readFileSync(target, 'utf8')).toBe('old\n');
    expect(readdirSync(stateDir).filter((f) => f.includes('.part'))).toEqual([]);
    expect(await waitFor(() => server.acceptedResult(nowhere.id), 'the result')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/does not exist/),
    });
  });
});

describe('reboot', () => {
  it('waits for the restart across the shutdown and an agent restart on the same boot', async () => {
    const { server, stateDir, agent, newAgent } = await harness({ rebootCommand: 'echo restarting' });
    const cmd = command({ kind: 'reboot', timeoutSeconds: 600 });
    server.deliver(cmd);
    await waitFor(() => server.text(cmd.id, 'stdout') === 'restarting\n', 'the restart request');
    const entry = await waitFor(() => readJournal(stateDir).entries.get(cmd.id)?.awaitingReboot, 'the journal to await the reboot');
    expect(entry.bootId).toBe('boot-1');
    // The system going down stops the agent: that is no failure, and no result is sent.
    await agent.stop();
    expect(server.resultsFor(cmd.id)).toEqual([]);
    // The same boot (only the agent restarted): still waiting.
    await newAgent();
    await new Promise((r) => setTimeout(r, 300));
    expect(server.resultsFor(cmd.id)).toEqual([]);
  });

  it('after the restart under a new boot ID it reports success', async () => {
    const { server, agent, newAgent } = await harness({ rebootCommand: 'true' });
    const cmd = command({ kind: 'reboot', timeoutSeconds: 600 });
    server.deliver(cmd);
    await waitFor(() => server.starts.some((s) => s.id === cmd.id), 'the start');
    await new Promise((r) => setTimeout(r, 200));
    await agent.stop();
    expect(server.resultsFor(cmd.id)).toEqual([]);
    await newAgent({ bootId: 'boot-2' });
    expect(await waitFor(() => server.acceptedResult(cmd.id), 'the result')).toMatchObject({ status: 'succeeded', exitCode: null });
  });

  it('fails when the restart request fails, or when the device does not restart in time', async () => {
    const { server } = await harness({ rebootCommand: 'echo no >&2; exit 5' });
    const refused = command({ kind: 'reboot', timeoutSeconds: 600 });
    server.deliver(refused);
    expect(await waitFor(() => server.acceptedResult(refused.id), 'the result')).toMatchObject({
      status: 'failed',
      exitCode: 5,
      error: 'the restart request failed with exit code 5',
    });

    const stuck = await harness({ rebootCommand: 'true' });
    const late = command({ kind: 'reboot', timeoutSeconds: 1 });
    stuck.server.deliver(late);
    expect(await waitFor(() => stuck.server.acceptedResult(late.id), 'the result')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/did not restart by/),
    });
  });
});

describe('kinds and servers the agent does not know', () => {
  it('reports a kind without a handler as unsupported, and as failed to a server of protocol 1', async () => {
    const { server } = await harness();
    const unknown = {
      id: randomUUID(),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      payload: { kind: 'firmware.update', image: 'x' },
    };
    server.deliver(unknown);
    expect(await waitFor(() => server.acceptedResult(unknown.id), 'the result')).toMatchObject({
      status: 'unsupported',
      error: 'this agent cannot run "firmware.update" commands',
    });
    expect(server.starts).toEqual([]);

    const old = await harness({}, (s) => (s.protocolVersion = undefined));
    const inventory = command({ kind: 'inventory.refresh', timeoutSeconds: 30 }); // inventory is off: no handler
    old.server.deliver(inventory);
    expect(await waitFor(() => old.server.acceptedResult(inventory.id), 'the result')).toMatchObject({
      status: 'failed',
      error: 'this agent cannot run "inventory.refresh" commands',
    });
    expect(old.server.invalid).toEqual([]);
  });

  it('does not run a command the server says at start it no longer wants', async () => {
    const { server, stateDir } = await harness();
    const marker = path.join(stateDir, 'ran');
    const cmd = shellCommand(`echo ran > '${marker}'`);
    server.cancelRequested.add(cmd.id);
    server.deliver(cmd);
    expect(await waitFor(() => server.acceptedResult(cmd.id), 'the result')).toMatchObject({ status: 'cancelled' });
    expect(existsSync(marker)).toBe(false);
  });

  it('paces polls that keep naming a cancellation it cannot act on (an agent that lost its journal)', async () => {
    const { server } = await harness({ pollWaitSeconds: 1 });
    const stale = randomUUID();
    const before = server.polls;
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      server.cancel(stale);
      await waitFor(() => server.polls > before + i + 1, 'the next poll');
    }
    // Without the floor the agent would poll again at once, as often as the server answers.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1800);
  });
});

it('covers every command kind', () => {
  expect(commandKinds).toEqual(['shell', 'script', 'file.fetch', 'reboot', 'inventory.refresh', 'software.install', 'software.uninstall']);
});
