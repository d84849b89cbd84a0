/**
 * Device lifecycle with real agent processes: a retired agent stops at once (exit code 3) and its
 * running command's run ends instead of waiting for a timeout; after a secret rotation the agent stops,
 * `rekey` installs the new secret and the agent runs commands again.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fromSources, startChild } from '../../scripts/lib/child.ts';
import { startStack, waitForRun, type Stack } from '../support/stack.ts';
import { repoRoot, waitFor } from '../support/tools.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 240_000);
afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await stack?.close();
});

const agentLogs = (deviceId: string) => stack.logs.filter((l) => l.startsWith(`[agent-${deviceId.slice(0, 8)}]`)).join('\n');

it("retiring a device stops its agent and ends its running command's run now", async () => {
  const agent = await stack.enrollAgent();
  await agent.start();
  const created = await stack.api('POST', '/api/v1/job-runs', { deviceIds: [agent.deviceId], command: 'sleep 120', timeoutSeconds: 300 });
  expect(created.status).toBe(201);
  await waitFor(
    'the command to run',
    async () => (await stack.api('GET', `/api/v1/job-runs/${created.body.id}`)).body.targets[0].status === 'running',
    60_000,
    250,
  );

  const started = Date.now();
  expect((await stack.api('POST', `/api/v1/devices/${agent.deviceId}/retire`)).status).toBe(200);
  expect(await agent.process!.exited).toBe(3);
  expect(agentLogs(agent.deviceId)).toMatch(/retired/);
  const run = await waitForRun(stack, created.body.id, 60_000);
  expect(run.targets[0]).toMatchObject({ status: 'failed', errorMessage: 'The device was retired.' });
  expect(Date.now() - started).toBeLessThan(60_000);
  const device = await stack.api('GET', `/api/v1/devices/${agent.deviceId}`);
  expect(device.body.retiredAt).toEqual(expect.any(String));
});

it('after a secret rotation the agent stops; rekey installs the new secret and it works again', async () => {
  const agent = await stack.enrollAgent();
  await agent.start();
  const rotated = await stack.api('POST', `/api/v1/devices/${agent.deviceId}/rotate-secret`);
  expect(rotated.status).toBe(200);
  expect(await agent.process!.exited).toBe(3);

  const cli = join(repoRoot, 'agent/src/cli.ts');
  const rekey = (secret: string) => {
    const lines: string[] = [];
    const child = startChild('agent-rekey', ...fromSources(cli, ['rekey', '--state-dir', agent.stateDir]), {
      env: { OPSCONDUCTOR_DEVICE_SECRET: secret },
      output: (l) => lines.push(l),
    });
    return child.exited.then((code) => ({ code, output: lines.join('\n') }));
  };
  // A wrong secret changes nothing.
  const wrong = await rekey('A'.repeat(43));
  expect(wrong.code, wrong.output).toBe(3);
  const ok = await rekey(rotated.body.deviceSecret);
  expect(ok.code, ok.output).toBe(0);

  await agent.start();
  const run = await stack.api('POST', '/api/v1/job-runs', { deviceIds: [agent.deviceId], command: 'echo rekeyed' });
  expect(run.status).toBe(201);
  const done = await waitForRun(stack, run.body.id, 60_000);
  expect(done.status).toBe('succeeded');
});
