/**
 * Agentless targets end to end (issue 7, ADR 21): API (with its relay), worker, Temporal, and a real OpenSSH server
 * on loopback standing in for a machine without an agent; a WinRM replay server (packages/agentless/test/support)
 * standing in for Windows. Jobs run on them through the same workflows as on agents: parameters as data, a secret
 * redacted, a file copied, a script, output per step, a timeout, a cancellation that stops the remote process, the
 * host key pinned on first use and a changed one refused.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type Sshd } from '../../packages/agentless/test/support/sshd.ts';
import { startWsmanServer, TLS, type WsmanServer } from '../../packages/agentless/test/support/wsman-server.ts';
import { ACTION, NS } from '../../packages/agentless/src/winrm/soap.ts';
import { child, children } from '../../packages/agentless/src/winrm/xml.ts';
import { startStack, uploadFile, waitForRun, type Stack } from '../support/stack.ts';
import { waitFor } from '../support/tools.ts';

let stack: Stack;
let sshd: Sshd;

beforeAll(async () => {
  [stack, sshd] = await Promise.all([startStack(), startSshd()]);
}, 240_000);
afterAll(async () => {
  if (process.env.E2E_DUMP_LOGS) console.log(stack?.logs.join('\n'));
  await Promise.allSettled([stack?.close(), sshd?.stop()]);
});

async function ok(method: string, path: string, body?: unknown, status = 200) {
  const res = await stack.api(method, path, body);
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(status);
  return res.body;
}

async function runOn(targetId: string, definition: Record<string, unknown>, parameters: Record<string, unknown> = {}) {
  const job = await ok('POST', '/api/v1/jobs', { name: `agentless-${randomUUID()}`, ...definition }, 201);
  return ok('POST', `/api/v1/jobs/${job.id}/runs`, { deviceIds: [targetId], parameters }, 201) as Promise<{ id: string }>;
}

async function stepsOf(runId: string, deviceId: string) {
  return (await ok('GET', `/api/v1/job-runs/${runId}/devices/${deviceId}/steps`)).steps as {
    index: number;
    status: string;
    exitCode: number | null;
    errorMessage: string | null;
  }[];
}

async function stepOutput(runId: string, deviceId: string, step: number): Promise<string> {
  const { items } = await ok('GET', `/api/v1/job-runs/${runId}/output?deviceId=${deviceId}&step=${step}&limit=5000`);
  return (items as { data: string }[]).map((c) => c.data).join('');
}

describe('agentless SSH targets', () => {
  let credentialId: string;
  let targetId: string;

  it('keeps a credential write-only and adds a target that is a device', async () => {
    const credential = await ok(
      'POST',
      '/api/v1/agentless-credentials',
      { name: `sshd-key-${randomUUID()}`, username: sshd.username, secret: { kind: 'private_key', privateKey: sshd.clientKey } },
      201,
    );
    credentialId = credential.id;
    expect(credential).toMatchObject({ kind: 'private_key', hasPassphrase: false, targetCount: 0 });
    expect(JSON.stringify(credential)).not.toContain('PRIVATE KEY');
    const target = await ok(
      'POST',
      '/api/v1/agentless-targets',
      { protocol: 'ssh', name: `sshd-${randomUUID().slice(0, 8)}`, host: '127.0.0.1', port: sshd.port, credentialId },
      201,
    );
    targetId = target.id;
    expect(target).toMatchObject({
      protocol: 'ssh',
      osFamily: 'linux',
      ssh: { hostKey: null },
      commandKinds: ['shell', 'script', 'file.fetch'],
    });
    // It is a device: the device list has it, a run can target it.
    const device = await ok('GET', `/api/v1/devices/${targetId}`);
    expect(device.hostname).toBe(target.name);
    expect(JSON.stringify(await ok('GET', `/api/v1/agentless-credentials/${credentialId}`))).not.toContain('PRIVATE KEY');
    // The stored secret is the encrypted envelope, never the key.
    const secrets = await stack.database.db.pool.query<{ ciphertext: Buffer }>(
      "SELECT ciphertext FROM secrets WHERE owner_type = 'agentless_credential' AND owner_id = $1",
      [credentialId],
    );
    expect(secrets.rowCount).toBe(1);
    expect(secrets.rows[0]!.ciphertext.toString('latin1')).not.toContain('PRIVATE KEY');
  });

  it('runs shell, script and file copy steps over SSH with values as data, a redacted secret, and pins the host key on first use', async () => {
    const marker = join(tmpdir(), `agentless-pwned-${randomUUID()}`);
    const hostile = `; touch ${marker}; $(touch ${marker}) \`touch ${marker}\` "dq" 'sq'\nsecond line *`;
    const SECRET = `s3cr3t-${randomUUID()}`;
    const content = Buffer.from(`setting=${randomUUID()}\n`);
    const file = await uploadFile(stack, 'app.conf', content);
    const path = join(sshd.dir, `copied-${randomUUID()}.conf`);
    const run = await runOn(
      targetId,
      {
        parameters: [
          { name: 'greeting', type: 'string', required: true },
          { name: 'token', type: 'secret', required: true },
        ],
        steps: [
          { name: 'greet', kind: 'shell', command: 'printf "%s\\n" "{{ greeting }}"; echo "token={{ token }}"; echo to-stderr >&2' },
          { name: 'copy', kind: 'file_copy', fileSha256: file.sha256, path, mode: '0640' },
          {
            name: 'read back',
            kind: 'script',
            interpreter: 'bash',
            body: `set -e\ncat '${path}'\necho "bash $BASH_VERSION" >/dev/null\nexit 3`,
          },
          { name: 'cleanup', kind: 'shell', condition: 'on_failure', command: 'echo cleanup ran' },
        ],
      },
      { greeting: hostile, token: SECRET },
    );
    const done = await waitForRun(stack, run.id);
    expect(done.status).toBe('failed');
    const steps = await stepsOf(run.id, targetId);
    expect(steps.map((s) => [s.status, s.exitCode])).toEqual([
      ['succeeded', 0],
      ['succeeded', 0],
      ['failed', 3],
      ['succeeded', 0],
    ]);
    const greet = await stepOutput(run.id, targetId, 0);
    expect(greet).toContain(`${hostile}\n`);
    expect(greet).toContain('token=[redacted]');
    expect(greet).toContain('to-stderr');
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(path)).toEqual(content);
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(await stepOutput(run.id, targetId, 2)).toContain(content.toString());
    expect(await stepOutput(run.id, targetId, 3)).toContain('cleanup ran');
    const all = JSON.stringify(await ok('GET', `/api/v1/job-runs/${run.id}/output?deviceId=${targetId}&limit=5000`));
    expect(all).not.toContain(SECRET);
    const target = await ok('GET', `/api/v1/agentless-targets/${targetId}`);
    expect(target.ssh.hostKey).toBe(sshd.hostFingerprint());
    expect(target.lastConnectedAt).not.toBeNull();
    rmSync(path, { force: true });
  });

  it('times a step out and cancels one mid-step: the remote processes are stopped', async () => {
    const flag = join(sshd.dir, `still-running-${randomUUID()}`);
    const timedOut = await runOn(targetId, {
      steps: [{ name: 'slow', kind: 'shell', timeoutSeconds: 2, command: `sleep 6; touch ${flag}` }],
    });
    const cancelled = await runOn(targetId, {
      steps: [{ name: 'long', kind: 'shell', command: `echo started; sleep 6; touch ${flag}.cancel` }],
    });
    await waitFor('the long step to start', async () => (await stepOutput(cancelled.id, targetId, 0)).includes('started'), 30_000);
    await ok('POST', `/api/v1/job-runs/${cancelled.id}/cancel`);
    const [t, c] = await Promise.all([waitForRun(stack, timedOut.id), waitForRun(stack, cancelled.id)]);
    expect(t.status).toBe('timed_out');
    expect((await stepsOf(timedOut.id, targetId))[0]).toMatchObject({ status: 'timed_out' });
    expect(c.status).toBe('cancelled');
    // Well past the sleeps: neither command went on after it was stopped.
    await new Promise((r) => setTimeout(r, 7000));
    expect(existsSync(flag)).toBe(false);
    expect(existsSync(`${flag}.cancel`)).toBe(false);
  });

  it('refuses a changed host key, and connects again once the new key is pinned', async () => {
    const before = (await ok('GET', `/api/v1/agentless-targets/${targetId}`)).ssh.hostKey as string;
    await sshd.regenerateHostKey();
    const refused = await runOn(targetId, { steps: [{ name: 'hello', kind: 'shell', command: 'echo hello' }] });
    const done = await waitForRun(stack, refused.id);
    expect(done.status).toBe('failed');
    const [step] = await stepsOf(refused.id, targetId);
    expect(step!.errorMessage).toContain(`host key changed: expected ${before}, got ${sshd.hostFingerprint()}`);
    const target = await ok('GET', `/api/v1/agentless-targets/${targetId}`);
    expect(target.ssh.hostKey).toBe(before);
    expect(target.lastError).toContain('host key changed');
    // The operator checked the machine: pin the new key.
    await ok('PATCH', `/api/v1/agentless-targets/${targetId}`, { hostKey: sshd.hostFingerprint() });
    const again = await runOn(targetId, { steps: [{ name: 'hello', kind: 'shell', command: 'echo hello again' }] });
    expect((await waitForRun(stack, again.id)).status).toBe('succeeded');
    expect(await stepOutput(again.id, targetId, 0)).toContain('hello again');
  });

  it('rotates the credential: the next command logs in with the new secret', async () => {
    const { username, password } = sshd.createPasswordUser();
    await ok('PATCH', `/api/v1/agentless-credentials/${credentialId}`, {
      username,
      secret: { kind: 'password', password: 'wrong-password' },
    });
    const refused = await runOn(targetId, { steps: [{ name: 'who', kind: 'shell', command: 'id -un' }] });
    expect((await waitForRun(stack, refused.id)).status).toBe('failed');
    expect((await stepsOf(refused.id, targetId))[0]!.errorMessage).toContain('authentication failed');
    const rotated = await ok('PATCH', `/api/v1/agentless-credentials/${credentialId}`, { secret: { kind: 'password', password } });
    expect(rotated).toMatchObject({ kind: 'password', username });
    const run = await runOn(targetId, { steps: [{ name: 'who', kind: 'shell', command: 'id -un' }] });
    expect((await waitForRun(stack, run.id)).status).toBe('succeeded');
    expect((await stepOutput(run.id, targetId, 0)).trim()).toBe(username);
    // In use: the credential cannot be deleted; the target can (its device is retired, its runs stay).
    expect((await stack.api('DELETE', `/api/v1/agentless-credentials/${credentialId}`)).body.code).toBe('credential_in_use');
    await ok('DELETE', `/api/v1/agentless-targets/${targetId}`, undefined, 204);
    expect((await ok('GET', `/api/v1/devices/${targetId}`)).retiredAt).not.toBeNull();
    expect((await ok('GET', `/api/v1/job-runs/${run.id}`)).id).toBe(run.id);
    await ok('DELETE', `/api/v1/agentless-credentials/${credentialId}`, undefined, 204);
  });
});

describe('agentless WinRM targets (replay server)', () => {
  let wsman: WsmanServer;
  afterAll(() => wsman?.close());

  it('runs a PowerShell step and copies a file over WinRM through the same workflows', async () => {
    wsman = await startWsmanServer({
      tls: true,
      auth: { ntlm: { user: 'opsadmin', domain: 'CORP', password: 'Winrm-Pa55' } },
      scripts: [{ receives: [{ streams: [{ name: 'stdout', data: 'hello from windows\r\n' }], exitCode: 0 }] }, { copy: true }],
    });
    const port = Number(new URL(wsman.url).port);
    const credential = await ok(
      'POST',
      '/api/v1/agentless-credentials',
      { name: `winrm-${randomUUID()}`, username: 'CORP\\opsadmin', secret: { kind: 'password', password: 'Winrm-Pa55' } },
      201,
    );
    const target = await ok(
      'POST',
      '/api/v1/agentless-targets',
      { protocol: 'winrm', name: `win-${randomUUID().slice(0, 8)}`, host: '127.0.0.1', port, credentialId: credential.id, ca: TLS.cert },
      201,
    );
    expect(target).toMatchObject({
      osFamily: 'windows',
      winrm: { https: true, auth: 'ntlm', hasCa: true, endpoint: `https://127.0.0.1:${port}/wsman` },
    });
    const content = Buffer.from('[settings]\r\nmode=agentless\r\n');
    const file = await uploadFile(stack, 'app.ini', content);
    const run = await runOn(
      target.id,
      {
        parameters: [{ name: 'site', type: 'string', required: true }],
        steps: [
          { name: 'hello', kind: 'powershell', command: 'Write-Output "hello from {{ site }}"' },
          { name: 'copy', kind: 'file_copy', fileSha256: file.sha256, path: 'C:\\ProgramData\\app\\app.ini' },
        ],
      },
      { site: "Berlin'; Remove-Item C:\\ -Recurse" },
    );
    const done = await waitForRun(stack, run.id);
    expect(done.status, JSON.stringify(await stepsOf(run.id, target.id))).toBe('succeeded');
    expect(await stepOutput(run.id, target.id, 0)).toContain('hello from windows');
    // The value went as an environment variable of the shell, the command as PowerShell referring to it.
    const create = wsman.requests.find((r) => r.action === ACTION.create)!;
    const variables = children(child(child(create.body, NS.rsp, 'Shell'), NS.rsp, 'Environment'), NS.rsp, 'Variable');
    expect(variables.map((v) => [v.attrs.Name, v.text])).toContainEqual(['OC_PARAM_SITE', "Berlin'; Remove-Item C:\\ -Recurse"]);
    expect(wsman.commands[0]!.script).toContain('Write-Output "hello from ${env:OC_PARAM_SITE}"');
    expect(wsman.copies).toEqual([{ path: 'C:\\ProgramData\\app\\app.ini', data: content }]);
    expect(wsman.ntlm.failures).toEqual([]);
  });
});
