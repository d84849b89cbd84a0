/**
 * POST /api/v1/job-runs with an Idempotency-Key: a retried request gets the run the first one created, whatever
 * happened to the first one's answer, and never a second run. The API talks to the real Temporal server through a
 * TCP proxy that can lose Temporal's answers while still delivering the requests.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';
import { startTcpProxy, type TcpProxy } from '../../../test/support/tcp-proxy.ts';

let t: TestApi;
let proxy: TcpProxy;
let temporal: Client;
let operator: string;
let deviceId: string;

beforeAll(async () => {
  const address = inject('temporalAddress');
  proxy = await startTcpProxy({
    host: address.slice(0, address.lastIndexOf(':')),
    port: Number(address.slice(address.lastIndexOf(':') + 1)),
  });
  t = await startTestApi({}, { temporalAddress: proxy.address, secretsMasterKeys: [{ id: 'k1', key: randomBytes(32) }] });
  const admin = await t.tokenFor('admin');
  operator = await t.tokenFor('operator');
  ({ deviceId } = await t.enrollDevice(await t.createEnrollmentToken(admin)));
  temporal = new Client({ connection: await Connection.connect({ address }) });
});
afterAll(async () => {
  await t?.close();
  await proxy?.close();
  await temporal?.connection.close();
});

const createRun = (key: string | undefined, body: Record<string, unknown> = {}, token = operator) =>
  t.request('/api/v1/job-runs', {
    method: 'POST',
    token,
    json: { deviceIds: [deviceId], command: 'echo idempotent', ...body },
    ...(key === undefined ? {} : { headers: { 'Idempotency-Key': key } }),
  });
const runsWith = (command: string) => t.database.db.prisma.jobRun.count({ where: { command } });
const workflowExists = (runId: string) =>
  temporal.workflow
    .getHandle(`job-run/${runId}`)
    .describe()
    .then(
      () => true,
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      },
    );

describe('creating a run with an Idempotency-Key', () => {
  it('answers the same key and body with the run the first request created', async () => {
    const key = randomUUID();
    const first = await createRun(key, { command: 'echo once' });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const run = (await first.json()) as { id: string };
    const again = await createRun(key, { command: 'echo once' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { id: string }).id).toBe(run.id);
    expect(await runsWith('echo once')).toBe(1);
    expect(await t.database.db.prisma.auditLog.count({ where: { action: 'job_run.create', targetId: run.id } })).toBe(1);
    expect(await workflowExists(run.id)).toBe(true);
  });

  it('gives concurrent requests with one key one run', async () => {
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 10 }, () => createRun(key, { command: 'echo concurrent' })));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    const ids = new Set(await Promise.all(answers.map(async (a) => ((await a.json()) as { id: string }).id)));
    expect(ids.size).toBe(1);
    expect(await runsWith('echo concurrent')).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
  });

  it('refuses the key with a different body, and keeps keys apart per user', async () => {
    const key = randomUUID();
    const run = (await (await createRun(key, { command: 'echo first body' })).json()) as { id: string };
    const other = await createRun(key, { command: 'echo second body' });
    expect(other.status).toBe(422);
    const problem = (await other.json()) as { code: string; detail: string };
    expect(problem.code).toBe('idempotency_key_reused');
    expect(problem.detail).toContain(run.id);
    expect(await runsWith('echo second body')).toBe(0);
    // Defaults filled in by validation are part of the body: spelling them out is the same request.
    expect(
      (await createRun(key, { command: 'echo first body', shell: 'default', timeoutSeconds: 300 })).headers.get('idempotent-replayed'),
    ).toBe('true');

    const colleague = await t.tokenFor('operator');
    const theirs = await createRun(key, { command: 'echo first body' }, colleague);
    expect(theirs.status).toBe(201);
    expect(((await theirs.json()) as { id: string }).id).not.toBe(run.id);
  });

  it('takes the key quoted (a structured-field string) or bare, and refuses malformed keys', async () => {
    const key = `k-${randomUUID()}`;
    const bare = (await (await createRun(key, { command: 'echo quoted' })).json()) as { id: string };
    const quoted = await createRun(`"${key}"`, { command: 'echo quoted' });
    expect(quoted.headers.get('idempotent-replayed')).toBe('true');
    expect(((await quoted.json()) as { id: string }).id).toBe(bare.id);
    for (const bad of ['', '""', 'two words', 'x'.repeat(256), '"unterminated', 'back\\slash', '"\t"']) {
      const res = await createRun(bad, { command: 'echo malformed' });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('validation_failed');
    }
    expect((await createRun('x'.repeat(255), { command: 'echo longest key' })).status).toBe(201);
    expect(await runsWith('echo malformed')).toBe(0);
  });

  it('gets the first run on retry when the answer was lost after the workflow started', async () => {
    const key = randomUUID();
    // Temporal receives the start but its answers are lost: the API cannot tell whether the workflow exists.
    await proxy.mute();
    let lost: Response;
    try {
      lost = await createRun(key, { command: 'echo lost answer' });
    } finally {
      await proxy.up();
    }
    expect(lost.status).toBe(503);
    expect(((await lost.json()) as { code: string }).code).toBe('temporal_unavailable');
    const kept = await t.database.db.prisma.jobRun.findFirstOrThrow({ where: { command: 'echo lost answer' } });
    expect(await workflowExists(kept.id)).toBe(true);

    const retry = await createRun(key, { command: 'echo lost answer' });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(((await retry.json()) as { id: string }).id).toBe(kept.id);
    expect(await runsWith('echo lost answer')).toBe(1);
  });

  it('starts the workflow on retry when the first request stopped between recording the run and starting it', async () => {
    const key = randomUUID();
    // Temporal hangs: the start never arrives. Then the API is as good as gone for that request.
    await proxy.hang();
    let first: Response;
    try {
      first = await createRun(key, { command: 'echo never started' });
    } finally {
      await proxy.up();
    }
    expect(first.status).toBe(503);
    const kept = await t.database.db.prisma.jobRun.findFirstOrThrow({ where: { command: 'echo never started' } });
    expect(await workflowExists(kept.id)).toBe(false);

    const retry = await createRun(key, { command: 'echo never started' });
    expect(retry.status).toBe(201);
    expect(((await retry.json()) as { id: string }).id).toBe(kept.id);
    expect(await workflowExists(kept.id)).toBe(true);
    expect(await runsWith('echo never started')).toBe(1);
  });

  it('forgets keys after 24 hours', async () => {
    const key = randomUUID();
    const first = (await (await createRun(key, { command: 'echo day one' })).json()) as { id: string };
    await t.database.db.pool.query(`UPDATE job_run_idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1`, [key]);
    const later = await createRun(key, { command: 'echo day one' });
    expect(later.status).toBe(201);
    expect(later.headers.get('idempotent-replayed')).toBeNull();
    expect(((await later.json()) as { id: string }).id).not.toBe(first.id);
    expect(await t.database.db.prisma.jobRunIdempotencyKey.count({ where: { key } })).toBe(1);
  });

  it('leaves requests without a key as they were: each one is a new run', async () => {
    expect((await createRun(undefined, { command: 'echo unkeyed' })).status).toBe(201);
    expect((await createRun(undefined, { command: 'echo unkeyed' })).status).toBe(201);
    expect(await runsWith('echo unkeyed')).toBe(2);
  });
});

describe('running a saved job, or re-running one, with an Idempotency-Key', () => {
  let jobId: string;
  beforeAll(async () => {
    const saved = await t.request('/api/v1/jobs', {
      method: 'POST',
      token: operator,
      json: {
        name: `idempotent-job-${randomUUID()}`,
        parameters: [
          { name: 'who', type: 'string', required: true },
          { name: 'token', type: 'secret' },
        ],
        steps: [{ name: 'hello', kind: 'shell', command: 'echo "{{ who }}"' }],
      },
    });
    expect(saved.status).toBe(201);
    jobId = ((await saved.json()) as { id: string }).id;
  });
  const runJob = (key: string | undefined, parameters: Record<string, unknown>) =>
    t.request(`/api/v1/jobs/${jobId}/runs`, {
      method: 'POST',
      token: operator,
      json: { deviceIds: [deviceId], parameters },
      ...(key === undefined ? {} : { headers: { 'Idempotency-Key': key } }),
    });
  const runsOfJob = () => t.database.db.prisma.jobRun.count({ where: { jobId } });

  it('answers a retry with the first run, also concurrently and whatever the secret values; another body is 422', async () => {
    const key = randomUUID();
    const before = await runsOfJob();
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => runJob(key, { who: 'world', token: `secret-${i}` })));
    expect(answers.map((a) => a.status)).toEqual(Array(5).fill(201));
    const ids = new Set(await Promise.all(answers.map(async (a) => ((await a.json()) as { id: string }).id)));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(4);
    expect(await runsOfJob()).toBe(before + 1);
    const [id] = [...ids];
    expect(await workflowExists(id!)).toBe(true);
    // The stored request hash is no hash of a secret value: the same hash whatever was given.
    const stored = await t.database.db.prisma.jobRunIdempotencyKey.findFirstOrThrow({ where: { key } });
    expect(JSON.stringify(stored)).not.toContain('secret-');
    const other = await runJob(key, { who: 'somebody else', token: 't' });
    expect(other.status).toBe(422);
    expect(((await other.json()) as { code: string }).code).toBe('idempotency_key_reused');
    expect(await runsOfJob()).toBe(before + 1);
  });

  it('starts the workflow on retry when the first request stopped before starting it', async () => {
    const key = randomUUID();
    await proxy.hang();
    let first: Response;
    try {
      first = await runJob(key, { who: 'never started', token: 't' });
    } finally {
      await proxy.up();
    }
    expect(first.status, await first.clone().text()).toBe(503);
    const kept = await t.database.db.prisma.jobRun.findFirstOrThrow({ where: { jobId }, orderBy: { createdAt: 'desc' } });
    expect(await workflowExists(kept.id)).toBe(false);
    const retry = await runJob(key, { who: 'never started', token: 't' });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(((await retry.json()) as { id: string }).id).toBe(kept.id);
    expect(await workflowExists(kept.id)).toBe(true);
  });

  it('re-runs once per key', async () => {
    const first = (await (await runJob(undefined, { who: 'to rerun', token: 't' })).json()) as { id: string };
    // No worker serves this API's task queue: end the run as a worker would once its device failed.
    await temporal.workflow.getHandle(`job-run/${first.id}`).terminate('test');
    await t.database.db.pool.query(`UPDATE job_run_devices SET status = 'failed', finished_at = now() WHERE job_run_id = $1`, [first.id]);
    await t.database.db.pool.query(`UPDATE job_runs SET status = 'failed', finished_at = now() WHERE id = $1`, [first.id]);
    const key = randomUUID();
    const rerun = () =>
      t.request(`/api/v1/job-runs/${first.id}/rerun`, {
        method: 'POST',
        token: operator,
        json: { secrets: { token: 't' } },
        headers: { 'Idempotency-Key': key },
      });
    const [a, b] = [await rerun(), await rerun()];
    expect([a.status, b.status], await a.clone().text()).toEqual([201, 201]);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(((await b.json()) as { id: string }).id).toBe(((await a.json()) as { id: string }).id);
    expect(await t.database.db.prisma.jobRun.count({ where: { rerunOfId: first.id } })).toBe(1);
  });
});
