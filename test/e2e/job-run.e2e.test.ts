/**
 * The foundation end to end: API, worker and a real agent process on this machine, enrolled with the
 * documented command; commands that succeed, fail, time out, get cancelled, wait for an offline device,
 * and survive the worker, the API or the agent being killed mid-run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputOf, startStack, waitForRun, type AgentHandle, type Stack } from '../support/stack.ts';
import { waitFor } from '../support/tools.ts';

let stack: Stack;
let agent: AgentHandle;

beforeAll(async () => {
  stack = await startStack();
  agent = await stack.enrollAgent();
  await agent.start();
}, 240_000);
afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await stack?.close();
});

async function run(command: string, extra: Record<string, unknown> = {}, deviceIds = [agent.deviceId]) {
  const res = await stack.api('POST', '/api/v1/job-runs', { deviceIds, command, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; workflowId: string; temporalUrl: string };
}
const target = (runBody: any, deviceId = agent.deviceId) => runBody.targets.find((t: any) => t.deviceId === deviceId);
/** Alive and not a zombie (PID 1 in some containers never reaps orphans, so kill(pid, 0) is not enough). */
const pidAlive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('a real agent on this machine', () => {
  it('shows up as an online device with its facts', async () => {
    const { body } = await stack.api('GET', `/api/v1/devices/${agent.deviceId}`);
    expect(body).toMatchObject({ hostname: hostname(), osFamily: 'linux', status: 'online' });
    expect(body.ipAddresses.length).toBeGreaterThan(0);
    expect(body.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('goes offline as soon as it is stopped cleanly (SIGTERM), and online again when it starts', async () => {
    const status = async () => (await stack.api('GET', `/api/v1/devices/${agent.deviceId}`)).body.status as string;
    expect(await status()).toBe('online');
    const began = Date.now();
    await agent.stop('SIGTERM'); // returns once the process has exited: it said goodbye on its way out
    expect(await status()).toBe('offline');
    expect(Date.now() - began).toBeLessThan(5000);
    expect(stack.logs.some((l) => l.includes('could not say goodbye'))).toBe(false);
    await agent.start();
    expect(await status()).toBe('online');
  });

  it("reports its real inventory: the machine's hostname and kernel, its dpkg packages, and built-in group membership", async () => {
    const bashVersion = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'bash'], { encoding: 'utf8' });
    const detail = await waitFor(
      'the inventory',
      async () => {
        const { body } = await stack.api('GET', `/api/v1/devices/${agent.deviceId}`);
        return body.inventoryUpdatedAt && body.softwareCount > 0 ? body : null;
      },
      60_000,
      500,
    );
    expect(detail.inventory.system).toMatchObject({ hostname: hostname(), kernel: release(), osFamily: 'linux' });
    expect(detail.inventory.hardware.memoryBytes).toBeGreaterThan(0);
    const bash = await stack.api('GET', `/api/v1/devices/${agent.deviceId}/software?search=bash`);
    expect(bash.body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'bash', version: bashVersion, source: 'dpkg' })]),
    );
    expect(detail.groups.map((g: { name: string }) => g.name)).toContain('All Linux');
    const timeline = await stack.api('GET', `/api/v1/devices/${agent.deviceId}/timeline`);
    expect(timeline.body.items.map((e: { kind: string }) => e.kind)).toContain('inventory_first_report');
  });

  it('runs a succeeding command as a jobRun workflow and captures stdout, stderr and the exit code', async () => {
    const created = await run('echo hello; echo oops >&2; exit 0');
    expect(created.workflowId).toBe(`job-run/${created.id}`);
    expect(created.temporalUrl).toContain(encodeURIComponent(created.workflowId));
    const done = await waitForRun(stack, created.id);
    expect(done.status).toBe('succeeded');
    expect(target(done)).toMatchObject({ status: 'succeeded', exitCode: 0, stdoutTruncated: false });
    expect(target(done).durationMs).toBeGreaterThanOrEqual(0);
    expect(await outputOf(stack, created.id, agent.deviceId)).toBe('hello\n');
    expect(await outputOf(stack, created.id, agent.deviceId, 'stderr')).toBe('oops\n');
  });

  it('stores output with NUL and bytes that are not UTF-8 byte for byte, and shows the clean lines around them', async () => {
    const done = await waitForRun(stack, (await run(String.raw`printf 'line1\000line2\n'; printf 'bad \377\376 bytes\n'; echo last`)).id);
    expect(target(done)).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(await outputOf(stack, done.id, agent.deviceId)).toBe('line1\0line2\nbad \uFFFD\uFFFD bytes\nlast\n');
    const exact = await stack.api('GET', `/api/v1/job-runs/${done.id}/output?deviceId=${agent.deviceId}&encoding=base64`);
    const bytes = Buffer.concat(
      (exact.body.items as { stream: string; data: string }[])
        .filter((c) => c.stream === 'stdout')
        .map((c) => Buffer.from(c.data, 'base64')),
    );
    expect(bytes).toEqual(Buffer.concat([Buffer.from('line1\0line2\nbad '), Buffer.from([0xff, 0xfe]), Buffer.from(' bytes\nlast\n')]));
  });

  it('reports a failing command with its exit code', async () => {
    const done = await waitForRun(stack, (await run('echo before; exit 3')).id);
    expect(done.status).toBe('failed');
    expect(target(done)).toMatchObject({ status: 'failed', exitCode: 3 });
  });

  it('kills a command that exceeds its timeout', async () => {
    const started = Date.now();
    const done = await waitForRun(stack, (await run('sleep 30', { timeoutSeconds: 1 })).id);
    expect(target(done).status).toBe('timed_out');
    expect(done.status).toBe('timed_out');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('cancels a running command: the agent kills the whole process tree', async () => {
    const pidFile = join(agent.stateDir, `child-${Date.now()}.pid`);
    const created = await run(`sleep 120 & echo $! > ${pidFile}; echo started; wait`);
    await waitFor('the command to run', async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim().length > 0, 30_000);
    const childPid = Number(readFileSync(pidFile, 'utf8'));
    expect(pidAlive(childPid)).toBe(true);
    const cancel = await stack.api('POST', `/api/v1/job-runs/${created.id}/cancel`);
    expect(cancel.status).toBe(200);
    const done = await waitForRun(stack, created.id);
    expect(done.status).toBe('cancelled');
    expect(target(done).status).toBe('cancelled');
    await waitFor('the background child to be killed', async () => !pidAlive(childPid), 15_000);
    const again = await stack.api('POST', `/api/v1/job-runs/${created.id}/cancel`);
    expect(again.status).toBe(409);
  });

  it('streams output while the command runs', async () => {
    const created = await run('echo first; sleep 3; echo second');
    await waitFor('first line before the end', async () => (await outputOf(stack, created.id, agent.deviceId)) === 'first\n', 20_000);
    const mid = await stack.api('GET', `/api/v1/job-runs/${created.id}`);
    expect(mid.body.finishedAt).toBeNull();
    await waitForRun(stack, created.id);
    expect(await outputOf(stack, created.id, agent.deviceId)).toBe('first\nsecond\n');
  });
});

describe('durability', () => {
  it('runs a command queued while the agent was offline once it comes back', async () => {
    await agent.stop();
    const created = await run('echo caught up', { deadlineSeconds: 120 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(target((await stack.api('GET', `/api/v1/job-runs/${created.id}`)).body).status).toBe('pending');
    await agent.start();
    const done = await waitForRun(stack, created.id);
    expect(target(done)).toMatchObject({ status: 'succeeded', exitCode: 0 });
  });

  it('marks a device that stays offline past the deadline as offline', async () => {
    const offline = await stack.enrollAgent(); // enrolled, never started
    const done = await waitForRun(stack, (await run('echo never', { deadlineSeconds: 10 }, [offline.deviceId])).id, 60_000);
    expect(target(done, offline.deviceId).status).toBe('offline');
    expect(done.status).toBe('unreachable');
  });

  it('finishes correctly when the worker is killed and restarted mid-run', async () => {
    const created = await run('echo start; sleep 4; echo end');
    await waitFor('the command to start', async () => (await outputOf(stack, created.id, agent.deviceId)).includes('start'), 30_000);
    await stack.stopWorker('SIGKILL');
    await new Promise((r) => setTimeout(r, 5000)); // the command finishes while no worker runs
    await stack.startWorker();
    const done = await waitForRun(stack, created.id, 90_000);
    expect(done.status).toBe('succeeded');
    expect(await outputOf(stack, created.id, agent.deviceId)).toBe('start\nend\n');
  });

  it('finishes correctly when the API is killed and restarted mid-run, recording the result once', async () => {
    const created = await run('echo start; sleep 3; echo end');
    await waitFor('the command to start', async () => (await outputOf(stack, created.id, agent.deviceId)).includes('start'), 30_000);
    await stack.stopApi('SIGKILL');
    await new Promise((r) => setTimeout(r, 5000)); // the agent finishes and retries its result and output
    await stack.startApi();
    const done = await waitForRun(stack, created.id, 90_000);
    expect(done.status).toBe('succeeded');
    expect(target(done).exitCode).toBe(0);
    expect(await outputOf(stack, created.id, agent.deviceId)).toBe('start\nend\n');
    const cmd = await stack.database.db.prisma.agentCommand.findFirstOrThrow({ where: { jobRunDevice: { jobRunId: created.id } } });
    expect(cmd.state).toBe('succeeded');
    expect(cmd.resultCount).toBeGreaterThanOrEqual(1);
  });

  it('never runs a command twice when the agent crashes mid-run, and leaves nothing of it running', async () => {
    const marker = join(agent.stateDir, `runs-${Date.now()}.log`);
    const pidFile = join(agent.stateDir, `sleep-${Date.now()}.pid`);
    const created = await run(`echo ran >> ${marker}; sleep 60 & echo $! > ${pidFile}; wait`);
    await waitFor('the command to start', async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim().length > 0, 30_000);
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    await agent.stop('SIGKILL');
    // The agent is gone; the command's processes are not (nothing was left to stop them).
    expect(pidAlive(sleeper)).toBe(true);
    await agent.start();
    const done = await waitForRun(stack, created.id, 90_000);
    // The restarted agent stopped what was left before it reported: the server never calls over what still runs.
    expect(pidAlive(sleeper)).toBe(false);
    expect(readFileSync(marker, 'utf8')).toBe('ran\n');
    expect(target(done)).toMatchObject({
      status: 'failed',
      errorMessage: expect.stringMatching(/agent restarted while the command was running; its processes were stopped/),
    });
    const cmd = await stack.database.db.prisma.agentCommand.findFirstOrThrow({ where: { jobRunDevice: { jobRunId: created.id } } });
    expect(cmd.state).toBe('interrupted');
  });
});
