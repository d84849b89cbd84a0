/**
 * Commands' output as agents send it: chunks stored as bytes, idempotently by (command, stream, seq), only
 * while the command is open; each stream keeps its newest OUTPUT_RETENTION_BYTES.
 */
import type pg from 'pg';
import { OUTPUT_RETENTION_BYTES, type OutputRequest } from '@opsconductor/contracts/agent-protocol';
import type { CommandState } from './states.ts';

type OutputStream = OutputRequest['stream'];

export interface OutputChunk {
  deviceId: string;
  commandId: string;
  stream: OutputStream;
  seq: number;
  data: Buffer;
}

export type OutputOutcome =
  /** Stored now. */
  | { kind: 'stored'; command: ChunkCommand }
  /** Stored before (a retried copy). */
  | { kind: 'stored_before'; command: ChunkCommand }
  /** The command has ended (or was never started) and the chunk was not stored before: refused. */
  | { kind: 'after_finish'; command: ChunkCommand };

/** What the caller needs of the chunk's command: whether the agent must stop, and whom to wake. */
export interface ChunkCommand {
  state: CommandState;
  cancelRequestedAt: Date | null;
  jobRunId: string | null;
}

/**
 * Stores the chunks of many commands in one statement (one commit) and answers for each, in order; undefined
 * where the device has no such command. Copies of one chunk in `chunks` are stored once.
 */
export async function appendOutput(pool: pg.Pool, chunks: readonly OutputChunk[]): Promise<(OutputOutcome | undefined)[]> {
  if (chunks.length === 0) return [];
  const { rows } = await pool.query<{
    n: string;
    state: CommandState;
    cancel_requested_at: Date | null;
    job_run_id: string | null;
    inserted: boolean;
    stored_before: boolean;
    stdout_bytes: string | null;
    stderr_bytes: string | null;
  }>(
    `WITH v AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::bytea[]) WITH ORDINALITY AS v(command_id, device_id, stream, seq, data, n)
     ), cmd AS (
       SELECT v.n, ac.id, ac.state, ac.cancel_requested_at,
              (SELECT jrd.job_run_id FROM job_run_devices jrd WHERE jrd.id = ac.job_run_device_id) AS job_run_id
         FROM v JOIN agent_commands ac ON ac.id = v.command_id AND ac.device_id = v.device_id
     ), ins AS (
       INSERT INTO output_chunks (command_id, stream, seq, data, bytes)
       SELECT v.command_id, v.stream, v.seq, v.data, length(v.data) FROM v JOIN cmd ON cmd.n = v.n
        WHERE cmd.state IN ('queued', 'delivered', 'running')
       ON CONFLICT (command_id, stream, seq) DO NOTHING
       RETURNING command_id, stream, seq, bytes
     ), totals_locked AS (
       -- In ID order, as starts and results lock them (channel.ts), so batches of each never deadlock.
       SELECT ac.id FROM agent_commands ac WHERE ac.id IN (SELECT command_id FROM ins) ORDER BY ac.id FOR NO KEY UPDATE OF ac
     ), totals AS (
       UPDATE agent_commands ac
          SET stdout_bytes = ac.stdout_bytes + s.stdout, stderr_bytes = ac.stderr_bytes + s.stderr
         FROM (SELECT command_id, sum(CASE WHEN stream = 'stdout' THEN bytes ELSE 0 END) AS stdout,
                      sum(CASE WHEN stream = 'stderr' THEN bytes ELSE 0 END) AS stderr
                 FROM ins GROUP BY command_id) s, totals_locked l
        WHERE ac.id = s.command_id AND l.id = s.command_id
       RETURNING ac.id, ac.stdout_bytes, ac.stderr_bytes
     )
     SELECT cmd.n::text, cmd.state::text AS state, cmd.cancel_requested_at, cmd.job_run_id,
            EXISTS (SELECT 1 FROM ins WHERE ins.command_id = v.command_id AND ins.stream = v.stream AND ins.seq = v.seq) AS inserted,
            EXISTS (SELECT 1 FROM output_chunks oc WHERE oc.command_id = v.command_id AND oc.stream = v.stream AND oc.seq = v.seq) AS stored_before,
            t.stdout_bytes::text, t.stderr_bytes::text
       FROM v JOIN cmd ON cmd.n = v.n LEFT JOIN totals t ON t.id = v.command_id`,
    [
      chunks.map((c) => c.commandId),
      chunks.map((c) => c.deviceId),
      chunks.map((c) => c.stream),
      chunks.map((c) => c.seq),
      chunks.map((c) => c.data),
    ],
  );
  const byIndex = new Map(rows.map((r) => [Number(r.n) - 1, r]));
  // A chunk this statement stored answers `stored` to its first copy and `stored_before` to the others.
  const storedNow = new Set<string>();
  const overRetention = new Map<string, OutputStream>();
  const outcomes = chunks.map((chunk, i): OutputOutcome | undefined => {
    const r = byIndex.get(i);
    if (!r) return undefined;
    const command: ChunkCommand = { state: r.state, cancelRequestedAt: r.cancel_requested_at, jobRunId: r.job_run_id };
    const key = `${chunk.commandId}/${chunk.stream}/${chunk.seq}`;
    if (r.inserted && !storedNow.has(key)) {
      storedNow.add(key);
      const total = Number((chunk.stream === 'stdout' ? r.stdout_bytes : r.stderr_bytes) ?? 0);
      if (total > OUTPUT_RETENTION_BYTES) overRetention.set(`${chunk.commandId}/${chunk.stream}`, chunk.stream);
      return { kind: 'stored', command };
    }
    return r.inserted || r.stored_before ? { kind: 'stored_before', command } : { kind: 'after_finish', command };
  });
  for (const [key, stream] of overRetention) await trimOutput(pool, key.slice(0, key.indexOf('/')), stream);
  return outcomes;
}

/** Keeps only the newest OUTPUT_RETENTION_BYTES of a stream: whole older chunks go, the boundary one is cut. */
async function trimOutput(pool: pg.Pool, commandId: string, stream: OutputStream): Promise<void> {
  await pool.query(
    `DELETE FROM output_chunks WHERE id IN (
       SELECT id FROM (SELECT id, bytes, sum(bytes) OVER (ORDER BY id DESC) AS upto FROM output_chunks WHERE command_id = $1 AND stream = $2) t
        WHERE t.upto - t.bytes >= $3)`,
    [commandId, stream, OUTPUT_RETENTION_BYTES],
  );
  // The oldest chunk by its bigint id (an `id::text AS id` column would make ORDER BY id sort "10" before "9").
  const { rows } = await pool.query<{ chunk_id: string; data: Buffer; total: string }>(
    `SELECT id::text AS chunk_id, data, (SELECT sum(bytes) FROM output_chunks WHERE command_id = $1 AND stream = $2)::text AS total
       FROM output_chunks WHERE command_id = $1 AND stream = $2 ORDER BY id LIMIT 1`,
    [commandId, stream],
  );
  const first = rows[0];
  const excess = first ? Number(first.total) - OUTPUT_RETENTION_BYTES : 0;
  if (first && excess > 0) {
    let buf = first.data.subarray(excess);
    // Do not start inside a UTF-8 character: skip at most the 3 continuation bytes one can have.
    let skip = 0;
    while (skip < 3 && skip < buf.length && (buf[skip]! & 0xc0) === 0x80) skip++;
    buf = buf.subarray(skip);
    await pool.query('UPDATE output_chunks SET data = $2, bytes = $3 WHERE id = $1', [first.chunk_id, buf, buf.length]);
  }
  await pool.query(`UPDATE agent_commands SET ${stream}_truncated = true WHERE id = $1`, [commandId]);
}
