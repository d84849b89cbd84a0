import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { enrollRequest } from '@opsconductor/contracts/agent-protocol';
import { EXIT_CREDENTIALS_REJECTED, EXIT_ERROR, EXIT_OK, EXIT_USAGE, main, type CliIo } from '../src/cli.ts';
import { readConfig, writeConfig } from '../src/state.ts';
import { FakeServer } from './support/fake-server.ts';
import { spawnCli } from './support/cli-process.ts';
import { killGroupQuietly, liveGroupMembers, shellCommand, tempDir, waitFor } from './support/util.ts';

vi.setConfig({ testTimeout: 60_000 });

const teardown: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of teardown.splice(0).reverse()) await fn();
});

async function setup() {
  const server = await new FakeServer().listen();
  const { dir, cleanup } = tempDir();
  teardown.push(cleanup, () => server.close());
  return { server, stateDir: path.join(dir, 'state') };
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

describe('cli rekey', () => {
  async function enrolledWithOldSecret() {
    const { server, stateDir } = await setup();
    expect((await cli(['enroll', '--server', server.url, '--token', server.enrollmentToken, '--state-dir', stateDir])).code).toBe(EXIT_OK);
    // As after a rotation in the console: agent.json holds a secret the server no longer accepts.
    writeConfig(stateDir, { ...readConfig(stateDir), deviceSecret: 'O'.repeat(43) });
    return { server, stateDir };
  }
  const rekey = async (stateDir: string, line: string, env: NodeJS.ProcessEnv = {}) => {
    let stdout = '';
    let stderr = '';
    const code = await main(['rekey', '--state-dir', stateDir], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env,
      readLine: async () => line,
    });
    return { code, stdout, stderr };
  };

  it('installs a secret read from stdin once the server accepts it for this device, never printing it', async () => {
    const { server, stateDir } = await enrolledWithOldSecret();
    const res = await rekey(stateDir, `${server.deviceSecret}\n`);
    expect(res.code, res.stderr).toBe(EXIT_OK);
    expect(readConfig(stateDir).deviceSecret).toBe(server.deviceSecret);
    expect(res.stdout + res.stderr).not.toContain(server.deviceSecret);
    expect(statSync(path.join(stateDir, 'agent.json')).mode & 0o777).toBe(0o600);
  });

  it('changes nothing for a refused, malformed or foreign secret', async () => {
    const { server, stateDir } = await enrolledWithOldSecret();
    expect((await rekey(stateDir, 'W'.repeat(43))).code).toBe(EXIT_CREDENTIALS_REJECTED);
    expect((await rekey(stateDir, 'not a secret')).code).toBe(EXIT_USAGE);
    expect(readConfig(stateDir).deviceSecret).toBe('O'.repeat(43));
    // The secret is valid, but for another device than the one in agent.json.
    writeConfig(stateDir, { ...readConfig(stateDir), deviceId: '00000000-0000-4000-8000-000000000000' });
    const foreign = await rekey(stateDir, '', { OPSCONDUCTOR_DEVICE_SECRET: server.deviceSecret });
    expect(foreign.code).toBe(EXIT_ERROR);
    expect(foreign.stderr).toMatch(/belongs to device/);
    expect(readConfig(stateDir).deviceSecret).toBe('O'.repeat(43));
  });
});

describe('cli', () => {
  it('enroll stores credentials privately, prints the device ID but never the secret', async () => {
    const { server, stateDir } = await setup();
    const res = await cli(['enroll', '--server', `${server.url}/`, '--token', server.enrollmentToken, '--state-dir', stateDir]);
    expect(res.code).toBe(EXIT_OK);
    expect(res.stdout).toContain(server.deviceId);
    expect(res.stdout + res.stderr).not.toContain(server.deviceSecret);

    const config = readConfig(stateDir);
    expect(config).toMatchObject({ serverUrl: server.url, deviceId: server.deviceId, deviceSecret: server.deviceSecret });
    expect(statSync(path.join(stateDir, 'agent.json')).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);

    const sent = enrollRequest.parse(server.enrolls[0]);
    expect(sent.facts.hostname.length).toBeGreaterThan(0);
    expect(sent.facts.agentVersion).toBe(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);

    const status = await cli(['status', '--state-dir', stateDir]);
    expect(status.code).toBe(EXIT_OK);
    expect(status.stdout).toContain(server.deviceId);
    expect(status.stdout).not.toContain(server.deviceSecret);
  });

  it('refuses to overwrite an enrollment unless --force, and takes server and token from the environment', async () => {
    const { server, stateDir } = await setup();
    const env = { OPSCONDUCTOR_SERVER_URL: server.url, OPSCONDUCTOR_ENROLLMENT_TOKEN: server.enrollmentToken };
    expect((await cli(['enroll', '--state-dir', stateDir], env)).code).toBe(EXIT_OK);
    const before = readFileSync(path.join(stateDir, 'agent.json'), 'utf8');

    const again = await cli(['enroll', '--state-dir', stateDir], env);
    expect(again.code).toBe(EXIT_ERROR);
    expect(again.stderr).toMatch(/already enrolled.*--force/);
    expect(readFileSync(path.join(stateDir, 'agent.json'), 'utf8')).toBe(before);
    expect(server.enrolls).toHaveLength(1);

    expect((await cli(['enroll', '--force', '--state-dir', stateDir], env)).code).toBe(EXIT_OK);
    expect(server.enrolls).toHaveLength(2);
  });

  it('exits 3 when the enrollment token is rejected, and writes nothing', async () => {
    const { server, stateDir } = await setup();
    const res = await cli(['enroll', '--server', server.url, '--token', 'wrong-token-123', '--state-dir', stateDir]);
    expect(res.code).toBe(EXIT_CREDENTIALS_REJECTED);
    expect(res.stderr).toMatch(/rejected the enrollment token/);
    expect((await cli(['status', '--state-dir', stateDir])).stdout).toContain('Enrolled:        no');
  });

  it('retries an enrolment the server could not answer with the same enrollmentId, but not one it refused', async () => {
    const { server, stateDir } = await setup();
    server.failures.set('enroll', [503, 502]);
    const res = await cli(['enroll', '--server', server.url, '--token', server.enrollmentToken, '--state-dir', stateDir]);
    expect(res.code).toBe(EXIT_OK);
    expect(res.stderr).toMatch(/enrollment attempt 1 failed .*503.*retrying/);
    const ids = server.enrolls.map((b) => enrollRequest.parse(b).enrollmentId);
    expect(ids).toHaveLength(3);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).toBe(1);

    const other = await setup();
    other.server.failures.set('enroll', [400]);
    const refused = await cli([
      'enroll',
      '--server',
      other.server.url,
      '--token',
      other.server.enrollmentToken,
      '--state-dir',
      other.stateDir,
    ]);
    expect(refused.code).toBe(EXIT_ERROR);
    expect(other.server.enrolls).toHaveLength(1);
  });

  it('exits 2 with a readable message on usage errors', async () => {
    const cases: [string[], RegExp][] = [
      [[], /missing command/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['enroll', '--token', '0123456789'], /--server: is required/],
      [['enroll', '--server', 'ftp://example.com', '--token', '0123456789'], /--server: must be an http/],
      [['enroll', '--server', 'https://u:p@example.com', '--token', '0123456789'], /user name or password/],
      [['enroll', '--server', 'https://example.com', '--token', 'short'], /--token: must be at least 10/],
      [['status', '--force'], /--force does not apply to "status"/],
      [['run', '--bogus'], /Unknown option '--bogus'/],
      [['run', '--log-level', 'loud'], /--log-level/],
      [['run', '--depot-cache-mb', 'lots'], /--depot-cache-mb: must be a whole number/],
      [['run', '--depot-cache-mb', '0'], /--depot-cache-mb: must be at least 1/],
      [['status', '--depot-cache-mb', '10'], /--depot-cache-mb does not apply to "status"/],
    ];
    for (const [args, message] of cases) {
      const res = await cli(args, {});
      expect(res.code, args.join(' ')).toBe(EXIT_USAGE);
      expect(res.stderr, args.join(' ')).toMatch(message);
    }
    const help = await cli(['--help']);
    expect(help.code).toBe(EXIT_OK);
    expect(help.stdout).toMatch(/Usage:/);
  });

  it('run fails clearly when not enrolled', async () => {
    const { stateDir } = await setup();
    const res = await cli(['run', '--state-dir', stateDir]);
    expect(res.code).toBe(EXIT_ERROR);
    expect(res.stderr).toMatch(/not enrolled/);
  });

  it('run: SIGTERM kills running commands, reports them "agent stopped" and exits 0', async () => {
    const { server, stateDir } = await setup();
    writeConfig(stateDir, { serverUrl: 'http://127.0.0.1:9', deviceId: server.deviceId, deviceSecret: server.deviceSecret });
    // The environment overrides the server URL stored at enrollment.
    const agent = spawnCli(['run', '--state-dir', stateDir], { OPSCONDUCTOR_SERVER_URL: server.url });
    teardown.push(() => void agent.child.kill('SIGKILL'));
    await waitFor(() => server.polls > 0, 'the agent to poll', 20_000);
    const command = shellCommand('echo $$; sleep 300 & wait');
    server.deliver(command);
    const pgid = Number(await waitFor(() => /^(\d+)\n/.exec(server.text(command.id, 'stdout'))?.[1], 'the command to start'));
    teardown.push(() => killGroupQuietly(pgid));

    agent.child.kill('SIGTERM');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    expect(server.acceptedResult(command.id)).toMatchObject({ status: 'failed', exitCode: null, error: 'agent stopped' });
    expect(liveGroupMembers(pgid)).toEqual([]);
    // Logs are JSON lines and never contain the secret.
    const lines = agent.stderr().trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(agent.stderr()).not.toContain(server.deviceSecret);
  });

  it('run exits 3 when the server rejects the device credentials', async () => {
    const { server, stateDir } = await setup();
    writeConfig(stateDir, { serverUrl: server.url, deviceId: server.deviceId, deviceSecret: 'revoked-secret' });
    const agent = spawnCli(['run', '--state-dir', stateDir]);
    teardown.push(() => void agent.child.kill('SIGKILL'));
    expect((await agent.exited).code).toBe(EXIT_CREDENTIALS_REJECTED);
    expect(server.unauthorized).toBeGreaterThan(0);
  });

  it('status warns nothing and shows the secret nowhere even with a corrupt journal', async () => {
    const { server, stateDir } = await setup();
    writeConfig(stateDir, { serverUrl: server.url, deviceId: server.deviceId, deviceSecret: server.deviceSecret });
    writeFileSync(path.join(stateDir, 'journal.jsonl'), 'not json\n');
    const res = await cli(['status', '--state-dir', stateDir]);
    expect(res.code).toBe(EXIT_OK);
    expect(res.stdout).toMatch(/Agent running:\s+no/);
    expect(res.stdout).not.toContain(server.deviceSecret);
  });
});
