/** The command state machine and its transitions against a real PostgreSQL (a fresh migrated database). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandResult } from '@opsconductor/contracts/agent-protocol';
import { withTransaction } from '@opsconductor/db';
import { createTestDatabase, type TestDatabase } from '@opsconductor/test/support/database';
import { createJobRunFixture } from '../../../activities/test/support/fixtures.ts';
import {
  appendOutput,
  claimCommands,
  claimCommandsOfDevices,
  commandStates,
  commandTransitions,
  finishCommands,
  isTerminalCommandState,
  queueCommand,
  recordAgentResult,
  recordAgentResults,
  requestCancellation,
  startCommand,
  startCommands,
  storePayload,
  type CommandState,
} from '../src/index.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());

const SHELL = { kind: 'shell', command: 'uptime', shell: 'default', timeoutSeconds: 60 } as const;
const claimOptions = { limit: 20, redeliverAfterSeconds: 60, cancelTtlSeconds: 120 };
const result = (status: CommandResult['status'], over: Partial<CommandResult> = {}): CommandResult => ({
  status,
  exitCode: status === 'succeeded' ? 0 : 1,
  startedAt: new Date().toISOString(),
  finishedAt: new Date().toISOString(),
  durationMs: 5,
  ...over,
});

/** A target with one command in `state` (inserted as such: INSERT is not guarded, UPDATE is). */
async function commandIn(state: CommandState, payload: object = SHELL) {
  const { jobRunId, deviceIds, targetIds } = await createJobRunFixture(t.db, 1);
  const deviceId = deviceIds[0]!;
  const sha = await storePayload(t.db.pool, payload as never);
  const { rows } = await t.db.pool.query<{ id: string }>(
    `INSERT INTO agent_commands (id, device_id, job_run_device_id, attempt, kind, payload_sha256, state, expires_at, delivered_at, finished_at)
     VALUES (gen_random_uuid(), $1, $2, 1, $3, $4, $5::"AgentCommandState", now() + interval '1 hour', CASE WHEN $5::text <> 'queued' THEN now() END, CASE WHEN $6 THEN now() END)
     RETURNING id`,
    [deviceId, targetIds.get(deviceId), (payload as { kind: string }).kind, sha, state, isTerminalCommandState(state)],
  );
  return { id: rows[0]!.id, jobRunId, deviceId, targetId: targetIds.get(deviceId)! };
}

const stateOf = async (id: string) =>
  (await t.db.pool.query<{ state: string }>('SELECT state::text FROM agent_commands WHERE id = $1', [id])).rows[0]!.state;
const target = async (id: string) => t.db.prisma.jobRunDevice.findUniqueOrThrow({ where: { id } });

describe('the state machine in the database', () => {
  it('refuses exactly the transitions the module does not allow, whoever writes', async () => {
    const refused: string[] = [];
    const allowed: string[] = [];
    for (const from of commandStates) {
      const { id } = await commandIn(from);
      for (const to of commandStates) {
        if (to === from) continue;
        const client = await t.db.pool.connect();
        let ok: boolean;
        try {
          await client.query('BEGIN');
          ok = await client
            .query(`UPDATE agent_commands SET state = $2::"AgentCommandState", finished_at = CASE WHEN $3 THEN now() END WHERE id = $1`, [
              id,
              to,
              isTerminalCommandState(to),
            ])
            .then(
              () => true,
              () => false,
            );
        } finally {
          await client.query('ROLLBACK');
          client.release();
        }
        (ok ? allowed : refused).push(`${from}→${to}`);
        expect(ok, `${from} → ${to}`).toBe(commandTransitions[from].includes(to));
      }
    }
    expect(allowed).toContain('queued→delivered');
    expect(refused).toContain('succeeded→failed');
    expect(refused).toContain('queued→running');
  });

  it('never changes a terminal command: state, result, error and finish time stay', async () => {
    const { id } = await commandIn('timed_out');
    for (const set of [
      `result = '{"status":"succeeded"}'`,
      `error_message = 'rewritten'`,
      `finished_at = now() + interval '1 day'`,
      `state = 'succeeded'`,
    ]) {
      await expect(t.db.pool.query(`UPDATE agent_commands SET ${set} WHERE id = $1`, [id]), set).rejects.toThrow(/can no longer change/);
    }
    // Bookkeeping that is not the outcome still works (a late duplicate is counted).
    await t.db.pool.query('UPDATE agent_commands SET result_count = result_count + 1 WHERE id = $1', [id]);
  });
});

describe('finishCommands and agent results', () => {
  it('applies the first result only; a duplicate is counted, a result after the server ended it is late', async () => {
    const c = await commandIn('running');
    const first = await recordAgentResult(t.db.pool, c.deviceId, c.id, result('succeeded'));
    expect(first).toMatchObject({ kind: 'applied', finished: { state: 'succeeded' } });
    expect(await target(c.targetId)).toMatchObject({ status: 'succeeded', exitCode: 0n });

    const again = await recordAgentResult(t.db.pool, c.deviceId, c.id, result('failed', { error: 'other copy' }));
    expect(again?.kind).toBe('duplicate');
    const row = await t.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: c.id } });
    expect(row).toMatchObject({ state: 'succeeded', resultCount: 2, errorMessage: null });
    expect(row.result).toMatchObject({ status: 'succeeded' });
    expect(await target(c.targetId)).toMatchObject({ status: 'succeeded' });

    // The server gave up first (no result in time): the agent's late result is recorded, never applied.
    const d = await commandIn('running');
    await withTransaction(t.db.pool, (client) => finishCommands(client, [d.id], 'timed_out', { error: 'No result arrived in time.' }));
    const late = await recordAgentResult(t.db.pool, d.deviceId, d.id, result('succeeded'));
    expect(late?.kind).toBe('late');
    expect(await t.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: d.id } })).toMatchObject({
      state: 'timed_out',
      result: null,
      resultCount: 1,
      errorMessage: 'No result arrived in time.',
    });
    expect(await target(d.targetId)).toMatchObject({ status: 'timed_out', errorMessage: 'No result arrived in time.' });
  });

  it('refuses an illegal move without touching the row: a queued command has no result, a running one does not go offline', async () => {
    const queued = await commandIn('queued');
    expect(await recordAgentResult(t.db.pool, queued.deviceId, queued.id, result('succeeded'))).toMatchObject({ kind: 'refused' });
    expect(await stateOf(queued.id)).toBe('queued');
    const running = await commandIn('running');
    expect(await withTransaction(t.db.pool, (client) => finishCommands(client, [running.id], 'offline'))).toEqual([]);
    expect(await stateOf(running.id)).toBe('running');
    // A map moves each command by its own state: queued ones go offline, started ones time out.
    const both = await withTransaction(t.db.pool, (client) =>
      finishCommands(client, [queued.id, running.id], { queued: 'offline', running: 'timed_out' }),
    );
    expect(both.map((f) => [f.id, f.state]).sort()).toEqual(
      [
        [queued.id, 'offline'],
        [running.id, 'timed_out'],
      ].sort(),
    );
  });

  it('interrupted and unsupported fail the target, with the reason', async () => {
    const c = await commandIn('running');
    await recordAgentResult(
      t.db.pool,
      c.deviceId,
      c.id,
      result('interrupted', { exitCode: null, error: 'the agent restarted while the command was running' }),
    );
    expect(await target(c.targetId)).toMatchObject({ status: 'failed', errorMessage: 'the agent restarted while the command was running' });
  });

  it('an earlier attempt ending leaves the target to the latest attempt', async () => {
    const { deviceIds, targetIds } = await createJobRunFixture(t.db, 1);
    const deviceId = deviceIds[0]!;
    const owner = { jobRunDeviceId: targetIds.get(deviceId)! };
    const sha = await storePayload(t.db.pool, SHELL);
    const expiresAt = new Date(Date.now() + 60_000);
    const first = await queueCommand(t.db.pool, {
      deviceId,
      owner,
      attempt: 1,
      payloadSha256: sha,
      expiresAt,
    });
    const second = await queueCommand(t.db.pool, {
      deviceId,
      owner,
      attempt: 2,
      payloadSha256: sha,
      expiresAt,
    });
    await withTransaction(t.db.pool, (client) => finishCommands(client, [first!.id], 'offline'));
    expect((await target(owner.jobRunDeviceId)).finishedAt).toBeNull();
    await withTransaction(t.db.pool, (client) => finishCommands(client, [second!.id], 'cancelled'));
    expect((await target(owner.jobRunDeviceId)).status).toBe('cancelled');
  });
});

describe('reports of many devices in one call', () => {
  const device = (id: string) => ({ type: 'device', id, name: `device ${id.slice(0, 8)}` });
  /** How many transactions last wrote these commands (rows written by one transaction share its xmin). */
  const writers = async (ids: string[]) =>
    (
      await t.db.pool.query<{ n: number }>('SELECT count(DISTINCT xmin::text)::int AS n FROM agent_commands WHERE id = ANY($1::uuid[])', [
        ids,
      ])
    ).rows[0]!.n;

  it('record results with the outcome each would have alone, each command.finished by its own device, in one transaction', async () => {
    const running = await Promise.all([commandIn('running'), commandIn('running'), commandIn('delivered')]);
    const ended = await commandIn('running');
    await recordAgentResult(t.db.pool, ended.deviceId, ended.id, result('succeeded'));
    const timedOut = await commandIn('timed_out');
    const queued = await commandIn('queued');
    const [a, b, c] = running;
    const reports = [
      { deviceId: a!.deviceId, commandId: a!.id, result: result('succeeded'), actor: device(a!.deviceId) },
      { deviceId: b!.deviceId, commandId: b!.id, result: result('failed', { exitCode: 3_221_225_477 }), actor: device(b!.deviceId) },
      // The same result twice in one call: applied by the first copy, counted by the second.
      { deviceId: c!.deviceId, commandId: c!.id, result: result('succeeded'), actor: device(c!.deviceId) },
      { deviceId: c!.deviceId, commandId: c!.id, result: result('failed'), actor: device(c!.deviceId) },
      { deviceId: ended.deviceId, commandId: ended.id, result: result('failed') },
      { deviceId: timedOut.deviceId, commandId: timedOut.id, result: result('succeeded') },
      { deviceId: queued.deviceId, commandId: queued.id, result: result('succeeded') },
      // Another device's command is not found.
      { deviceId: a!.deviceId, commandId: b!.id, result: result('succeeded') },
    ];
    const outcomes = await recordAgentResults(t.db.pool, reports);
    expect(await writers([a!.id, b!.id, c!.id, ended.id, timedOut.id])).toBe(1);
    expect(outcomes.map((o) => o?.kind)).toEqual(['applied', 'applied', 'applied', 'duplicate', 'duplicate', 'late', 'refused', undefined]);
    expect(outcomes[1]).toMatchObject({ finished: { state: 'failed', result: { exitCode: 3_221_225_477 } } });
    expect(await target(b!.targetId)).toMatchObject({ status: 'failed', exitCode: 3_221_225_477n });
    expect(await t.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: c!.id } })).toMatchObject({
      state: 'succeeded',
      resultCount: 2,
    });
    expect(await t.db.prisma.agentCommand.findUniqueOrThrow({ where: { id: ended.id } })).toMatchObject({ resultCount: 2 });
    expect(await stateOf(queued.id)).toBe('queued');
    const events = await t.db.pool.query<{ subject_id: string; actor_type: string; actor_id: string }>(
      `SELECT subject_id, actor_type, actor_id FROM domain_events WHERE type = 'command.finished' AND subject_id = ANY($1::text[])`,
      [running.map((r) => r!.id)],
    );
    expect(events.rows.map((e) => [e.subject_id, e.actor_type, e.actor_id]).sort()).toEqual(
      running.map((r) => [r!.id, 'device', r!.deviceId]).sort(),
    );
  });

  it('start commands with the answer each would get alone, in one statement', async () => {
    const [a, b] = await Promise.all([commandIn('delivered'), commandIn('delivered')]);
    const cancelled = await commandIn('cancelled');
    const startedAt = new Date(Date.now() - 5_000);
    const rows = await startCommands(t.db.pool, [
      { deviceId: a!.deviceId, commandId: a!.id, startedAt },
      { deviceId: a!.deviceId, commandId: a!.id, startedAt }, // a retried start
      { deviceId: b!.deviceId, commandId: b!.id, startedAt },
      { deviceId: cancelled.deviceId, commandId: cancelled.id, startedAt },
      { deviceId: b!.deviceId, commandId: a!.id, startedAt }, // another device's command
    ]);
    expect(await writers([a!.id, b!.id])).toBe(1);
    expect(rows.map((r) => r?.state)).toEqual(['running', 'running', 'running', 'cancelled', undefined]);
    expect(rows[0]).toMatchObject({ id: a!.id, startedAt });
    expect(await target(a!.targetId)).toMatchObject({ status: 'running', startedAt });
    expect(await target(b!.targetId)).toMatchObject({ status: 'running' });
  });
  // a < b < c. The results lock in ID order: a, then wait for b (held here). A batch that locks c first (an unordered
  // update visits rows by an index on the device: so c's device sorts first) then waits for a; once b is free the
  // results want c: a deadlock, unless that batch locks in ID order too.
  const lockedAlongsideResults = {
    starts: async (commands: { id: string; deviceId: string }[]) => {
      const rows = await startCommands(
        t.db.pool,
        commands.map((x) => ({ deviceId: x.deviceId, commandId: x.id, startedAt: new Date() })),
      );
      return rows.map((r) => r?.id);
    },
    output: async (commands: { id: string; deviceId: string }[]) => {
      const outcomes = await appendOutput(
        t.db.pool,
        commands.map((x) => ({ deviceId: x.deviceId, commandId: x.id, stream: 'stdout' as const, seq: 0, data: Buffer.from('out') })),
      );
      return outcomes.map((o) => o?.kind);
    },
  };
  it.each(Object.keys(lockedAlongsideResults) as (keyof typeof lockedAlongsideResults)[])(
    "a batch of %s and a batch of the same commands' results wait for each other, never deadlock",
    async (kind) => {
      let trio: Awaited<ReturnType<typeof commandIn>>[] = [];
      while (!(trio.length === 3 && trio[2]!.deviceId < trio[0]!.deviceId))
        trio = (await Promise.all([commandIn('delivered'), commandIn('delivered'), commandIn('delivered')])).sort((x, y) =>
          x.id < y.id ? -1 : 1,
        );
      const [a, b, c] = trio;
      const waitingOnLocks = async (n: number) => {
        for (let i = 0; i < 500; i++) {
          const { rows } = await t.db.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          if (rows[0]!.n >= n) return;
          await new Promise((r) => setTimeout(r, 10));
        }
        throw new Error(`fewer than ${n} statements waiting on a lock`);
      };
      const holder = await t.db.pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT 1 FROM agent_commands WHERE id = $1 FOR UPDATE', [b!.id]);
        const results = recordAgentResults(
          t.db.pool,
          [a!, b!, c!].map((x) => ({ deviceId: x.deviceId, commandId: x.id, result: result('succeeded') })),
        );
        await waitingOnLocks(1);
        const other = lockedAlongsideResults[kind]([c!, a!]);
        await waitingOnLocks(2);
        await holder.query('COMMIT');
        expect((await results).map((o) => o?.kind)).toEqual(['applied', 'applied', 'applied']);
        // Started nothing (a start answers from its statement's snapshot); output taken before the end stays.
        expect(await other).toEqual(kind === 'starts' ? [c!.id, a!.id] : ['stored', 'stored']);
        expect(await Promise.all([a!.id, b!.id, c!.id].map(stateOf))).toEqual(['succeeded', 'succeeded', 'succeeded']);
      } finally {
        holder.release();
      }
    },
  );

  it('claim for the polls of many devices with what each would get alone, in one statement', async () => {
    const [a, b] = await Promise.all([commandIn('queued'), commandIn('queued')]);
    const script = await commandIn('queued', { kind: 'script', interpreter: 'sh', script: 'echo hi', timeoutSeconds: 60 });
    const running = await commandIn('running');
    await withTransaction(t.db.pool, (client) => requestCancellation(client, [{ id: running.id, state: 'running' }], 'cancelled'));
    const claims = await claimCommandsOfDevices(
      t.db.pool,
      [a!.deviceId, b!.deviceId, a!.deviceId, script.deviceId, running.deviceId],
      claimOptions,
    );
    expect(claims.map((c) => c.commands.map((x) => x.id))).toEqual([[a!.id], [b!.id], [], [], []]);
    // The second poll of a device in the batch looks again when what the first was handed falls due for redelivery.
    expect(claims[2]!.recheckAt!.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect(claims[3]!.finished.map((f) => [f.id, f.state])).toEqual([[script.id, 'unsupported']]);
    expect(claims[4]!.cancel).toEqual([running.id]);
    expect(await writers([a!.id, b!.id])).toBe(1);
    expect(await Promise.all([a!.id, b!.id].map(stateOf))).toEqual(['delivered', 'delivered']);
  });

  it('store output chunks with the answer each would get alone, in one statement', async () => {
    const [a, b] = await Promise.all([commandIn('running'), commandIn('delivered')]);
    const ended = await commandIn('succeeded');
    const chunk = (c: { id: string; deviceId: string }, seq: number, text: string, stream: 'stdout' | 'stderr' = 'stdout') => ({
      deviceId: c.deviceId,
      commandId: c.id,
      stream,
      seq,
      data: Buffer.from(text),
    });
    expect((await appendOutput(t.db.pool, [chunk(a!, 0, 'first ')]))[0]?.kind).toBe('stored');
    const outcomes = await appendOutput(t.db.pool, [
      chunk(a!, 0, 'first '), // stored before: a retried copy
      chunk(a!, 1, 'second'),
      chunk(a!, 1, 'second'), // two copies in one call
      chunk(a!, 0, 'err', 'stderr'),
      chunk(b!, 0, 'b out'),
      chunk(ended, 0, 'too late'),
      { ...chunk(b!, 1, 'not yours'), deviceId: a!.deviceId },
    ]);
    expect(outcomes.map((o) => o?.kind)).toEqual([
      'stored_before',
      'stored',
      'stored_before',
      'stored',
      'stored',
      'after_finish',
      undefined,
    ]);
    expect(outcomes[4]?.command).toMatchObject({ state: 'delivered', cancelRequestedAt: null, jobRunId: b!.jobRunId });
    const stored = await t.db.pool.query<{ command_id: string; stream: string; data: Buffer; writers: number }>(
      `SELECT command_id, stream, string_agg(convert_from(data, 'UTF8'), '' ORDER BY seq) AS data FROM output_chunks
        WHERE command_id = ANY($1::uuid[]) GROUP BY command_id, stream ORDER BY command_id, stream`,
      [[a!.id, b!.id, ended.id]],
    );
    expect(stored.rows.map((r) => [r.command_id, r.stream, r.data])).toEqual(
      [
        [a!.id, 'stderr', 'err'],
        [a!.id, 'stdout', 'first second'],
        [b!.id, 'stdout', 'b out'],
      ].sort((x, y) => x[0]!.localeCompare(y[0]!)),
    );
    const totals = await t.db.pool.query<{ id: string; stdout_bytes: string; stderr_bytes: string }>(
      'SELECT id, stdout_bytes::text, stderr_bytes::text FROM agent_commands WHERE id = ANY($1::uuid[])',
      [[a!.id, b!.id]],
    );
    expect(Object.fromEntries(totals.rows.map((r) => [r.id, [r.stdout_bytes, r.stderr_bytes]]))).toEqual({
      [a!.id]: ['12', '3'],
      [b!.id]: ['5', '0'],
    });
    // The chunks and both commands' byte counts were written by one transaction.
    expect(await writers([a!.id, b!.id])).toBe(1);
  });
});

describe('polls', () => {
  it('hands out queued commands once, with their payload, and not to another device', async () => {
    const c = await commandIn('queued');
    const other = await commandIn('queued');
    const claim = await claimCommands(t.db.pool, c.deviceId, claimOptions);
    expect(claim.commands).toEqual([{ id: c.id, attempt: 1, expiresAt: expect.any(Date), payload: SHELL, jobRunId: c.jobRunId }]);
    expect((await claimCommands(t.db.pool, c.deviceId, claimOptions)).commands).toEqual([]);
    expect(await stateOf(c.id)).toBe('delivered');
    expect(await stateOf(other.id)).toBe('queued');
    // Delivered, never started: due again for redelivery after redeliverAfterSeconds.
    expect(claim.recheckAt).toBeNull();
    const next = await claimCommands(t.db.pool, c.deviceId, claimOptions);
    expect(next.recheckAt!.getTime()).toBeGreaterThan(Date.now() + 50_000);
    expect((await claimCommands(t.db.pool, c.deviceId, { ...claimOptions, redeliverAfterSeconds: 0 })).commands.map((x) => x.id)).toEqual([
      c.id,
    ]);
  });

  it('never sends a kind the agent does not announce: the command ends unsupported, its target fails with why', async () => {
    const c = await commandIn('queued', { kind: 'script', interpreter: 'sh', script: 'echo hi', timeoutSeconds: 60 });
    // An agent of protocol 1: shell only.
    const claim = await claimCommands(t.db.pool, c.deviceId, claimOptions);
    expect(claim.commands).toEqual([]);
    expect(claim.finished.map((f) => [f.id, f.state])).toEqual([[c.id, 'unsupported']]);
    expect(await stateOf(c.id)).toBe('unsupported');
    expect(await target(c.targetId)).toMatchObject({
      status: 'failed',
      errorMessage: expect.stringMatching(/cannot run "script" commands/),
    });

    const d = await commandIn('queued', { kind: 'script', interpreter: 'sh', script: 'echo hi', timeoutSeconds: 60 });
    await t.db.pool.query(`UPDATE devices SET command_kinds = ARRAY['shell', 'script'] WHERE id = $1`, [d.deviceId]);
    expect((await claimCommands(t.db.pool, d.deviceId, claimOptions)).commands.map((x) => x.id)).toEqual([d.id]);
  });

  it('lists a cancellation until the agent reports, or until it expires; either way it is cleared by a terminal state', async () => {
    const c = await commandIn('running');
    const { flaggedDevices } = await withTransaction(t.db.pool, async (client) =>
      requestCancellation(client, [{ id: c.id, state: 'running' }], 'cancelled'),
    );
    expect(flaggedDevices).toEqual([c.deviceId]);
    const listed = await claimCommands(t.db.pool, c.deviceId, claimOptions);
    expect(listed.cancel).toEqual([c.id]);
    expect(listed.recheckAt!.getTime()).toBeGreaterThan(Date.now() + 100_000);
    await recordAgentResult(t.db.pool, c.deviceId, c.id, result('cancelled'));
    expect((await claimCommands(t.db.pool, c.deviceId, claimOptions)).cancel).toEqual([]);

    // An agent that lost its journal never reports: after the TTL the cancellation is no longer listed
    // (its device would otherwise poll non-stop) and the command ends cancelled.
    const lost = await commandIn('running');
    await withTransaction(t.db.pool, async (client) => requestCancellation(client, [{ id: lost.id, state: 'running' }], 'cancelled'));
    await t.db.pool.query(`UPDATE agent_commands SET cancel_requested_at = now() - interval '10 minutes' WHERE id = $1`, [lost.id]);
    const expired = await claimCommands(t.db.pool, lost.deviceId, claimOptions);
    expect(expired.cancel).toEqual([]);
    expect(expired.finished.map((f) => [f.id, f.state, f.errorMessage])).toEqual([
      [lost.id, 'cancelled', 'The agent did not confirm the cancellation within 120 s.'],
    ]);
    const after = await claimCommands(t.db.pool, lost.deviceId, claimOptions);
    expect(after).toMatchObject({ cancel: [], finished: [], recheckAt: null });
  });

  it('a queued command is cancelled at once; start of a cancelled or ended command says so', async () => {
    const c = await commandIn('queued');
    const { finished } = await withTransaction(t.db.pool, async (client) =>
      requestCancellation(client, [{ id: c.id, state: 'queued' }], 'The job run was cancelled.'),
    );
    expect(finished.map((f) => f.state)).toEqual(['cancelled']);
    expect(await target(c.targetId)).toMatchObject({ status: 'cancelled', errorMessage: 'The job run was cancelled.' });
    expect(await startCommand(t.db.pool, c.deviceId, c.id, new Date())).toMatchObject({ state: 'cancelled' });

    const d = await commandIn('delivered');
    expect(await startCommand(t.db.pool, d.deviceId, d.id, new Date())).toMatchObject({ state: 'running' });
    expect(await target(d.targetId)).toMatchObject({ status: 'running' });
    expect(await startCommand(t.db.pool, c.deviceId, d.id, new Date())).toBeUndefined(); // another device's command
  });

  it('stores a payload once, named by its content', async () => {
    const script = { kind: 'script', interpreter: 'bash', script: 'x'.repeat(200_000), timeoutSeconds: 60 } as const;
    const [a, b] = [await storePayload(t.db.pool, script), await storePayload(t.db.pool, { ...script })];
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect((await t.db.pool.query('SELECT count(*)::int AS n FROM command_payloads WHERE sha256 = $1', [a])).rows[0].n).toBe(1);
    expect(await storePayload(t.db.pool, { ...script, script: 'y' })).not.toBe(a);
  });
});
