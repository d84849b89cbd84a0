/**
 * The command channel's one owner of command state: every write that moves an `agent_commands` row
 * from one state to another is here, as a conditional UPDATE (the row must still be in a state the
 * move may start from), so a late or duplicate report can never change a terminal state. The API
 * (polls, agent reports, cancellations, device retirement) and the activities (dispatch, deadlines,
 * cancellations) call these functions; nothing else writes `state`.
 *
 * Every terminal transition is FINISH_UPDATE, with AFTER_FINISH_CTES in the same statement: what
 * follows a command's end (its owner's outcome, the `command.finished` domain event). finishCommands and
 * recordAgentResults are its two callers.
 */
import type pg from 'pg';
import type { CommandPhase, CommandResult } from '@opsconductor/contracts/agent-protocol';
import type { CommandPayload } from '@opsconductor/contracts/commands';
import { withTransaction } from '@opsconductor/db';
import type { EventActor } from '@opsconductor/domain-events';
import { jobRunDeviceFinishedCte, jobRunDeviceStartedCte, jobRunStepFinishedCte, jobRunStepStartedCte } from './owners.ts';
import {
  canTransition,
  isTerminalCommandState,
  openCommandStates,
  terminalCommandStates,
  type CommandState,
  type OpenCommandState,
  type TerminalCommandState,
} from './states.ts';

type Db = pg.Pool | pg.PoolClient;

/** What dispatched a command. Exactly one owner; each owner kind is a column of its own. */
export interface CommandOwner {
  jobRunDeviceId: string;
}

/** The columns every caller needs to act on a command. */
export interface CommandRow {
  id: string;
  deviceId: string;
  jobRunDeviceId: string | null;
  /** The run of a job-run owner (for wake-ups). */
  jobRunId: string | null;
  attempt: number;
  kind: string;
  state: CommandState;
  cancelRequestedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  errorMessage: string | null;
  result: CommandResult | null;
}

const ROW_COLUMNS = `ac.id, ac.device_id, ac.job_run_device_id, ac.attempt, ac.kind, ac.state::text AS state,
  ac.cancel_requested_at, ac.started_at, ac.finished_at, ac.error_message, ac.result,
  (SELECT jrd.job_run_id FROM job_run_devices jrd WHERE jrd.id = ac.job_run_device_id) AS job_run_id`;

interface RawRow {
  id: string;
  device_id: string;
  job_run_device_id: string | null;
  job_run_id: string | null;
  attempt: number;
  kind: string;
  state: CommandState;
  cancel_requested_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  error_message: string | null;
  result: CommandResult | null;
}

function toRow(r: RawRow): CommandRow {
  return {
    id: r.id,
    deviceId: r.device_id,
    jobRunDeviceId: r.job_run_device_id,
    jobRunId: r.job_run_id,
    attempt: r.attempt,
    kind: r.kind,
    state: r.state,
    cancelRequestedAt: r.cancel_requested_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    errorMessage: r.error_message,
    result: r.result,
  };
}

// --- payloads ----------------------------------------------------------------------------------

/**
 * Stores a payload once and returns its SHA-256 (computed by the database: `command_payload_sha256`, of
 * the canonical jsonb text). Storing the same payload again is a no-op.
 */
export async function storePayload(db: Db, payload: CommandPayload): Promise<string> {
  const { rows } = await db.query<{ sha256: string }>(
    `WITH p AS (SELECT $1::jsonb AS payload),
          stored AS (INSERT INTO command_payloads (sha256, payload, bytes)
                     SELECT command_payload_sha256(payload), payload, octet_length(convert_to(payload::text, 'UTF8')) FROM p
                     ON CONFLICT (sha256) DO NOTHING)
     SELECT command_payload_sha256(payload) AS sha256 FROM p`,
    [JSON.stringify(payload)],
  );
  return rows[0]!.sha256;
}

/** {@link storePayload} for many payloads in one statement: their SHA-256s, in order. */
export async function storePayloads(db: Db, payloads: readonly CommandPayload[]): Promise<string[]> {
  if (payloads.length === 0) return [];
  const { rows } = await db.query<{ sha256: string }>(
    `WITH p AS (SELECT payload, n FROM unnest($1::jsonb[]) WITH ORDINALITY AS p(payload, n)),
          stored AS (INSERT INTO command_payloads (sha256, payload, bytes)
                     SELECT DISTINCT ON (1) command_payload_sha256(payload), payload, octet_length(convert_to(payload::text, 'UTF8')) FROM p
                     ON CONFLICT (sha256) DO NOTHING)
     SELECT command_payload_sha256(payload) AS sha256 FROM p ORDER BY n`,
    [payloads.map((payload) => JSON.stringify(payload))],
  );
  return rows.map((r) => r.sha256);
}

export async function loadPayload(db: Db, sha256: string): Promise<CommandPayload | null> {
  const { rows } = await db.query<{ payload: CommandPayload }>('SELECT payload FROM command_payloads WHERE sha256 = $1', [sha256]);
  return rows[0]?.payload ?? null;
}

// --- queue -------------------------------------------------------------------------------------

/** $1 device IDs, $2 their owners (job-run targets), $3 attempt, $4 payload SHA-256, $5 expiry. */
const INSERT_COMMANDS = `INSERT INTO agent_commands (id, device_id, job_run_device_id, attempt, kind, payload_sha256, file_sha256, expires_at)
     SELECT gen_random_uuid(), t.device_id, t.owner_id, $3, p.payload->>'kind', p.sha256,
            CASE WHEN p.payload->>'kind' = 'file.fetch' THEN p.payload->>'sha256' END, $5
       FROM unnest($1::uuid[], $2::uuid[]) AS t(device_id, owner_id) CROSS JOIN command_payloads p
      WHERE p.sha256 = $4`;

export interface QueueCommandInput {
  deviceId: string;
  owner: CommandOwner;
  attempt: number;
  /** A stored payload (storePayload). */
  payloadSha256: string;
  /** After this the command is no longer started. */
  expiresAt: Date;
}

/**
 * Queues one command (the caller sends the wake-up after commit). One row per owner and attempt: the
 * same attempt again keeps its row. Returns undefined when the payload is not stored.
 */
export async function queueCommand(client: Db, input: QueueCommandInput): Promise<{ id: string; inserted: boolean } | undefined> {
  const { rows } = await client.query<{ id: string; inserted: boolean }>(
    `${INSERT_COMMANDS} ON CONFLICT (job_run_device_id, attempt) WHERE job_run_step_id IS NULL DO UPDATE SET attempt = EXCLUDED.attempt RETURNING id, (xmax = 0) AS inserted`,
    [[input.deviceId], [input.owner.jobRunDeviceId], input.attempt, input.payloadSha256, input.expiresAt],
  );
  return rows[0];
}

export interface QueueCommandsInput {
  /** One command per target: the device and its owner. */
  targets: { deviceId: string; owner: CommandOwner }[];
  attempt: number;
  payloadSha256: string;
  expiresAt: Date;
}

/**
 * Queues the same command for many owners in one statement (a batch of a job run). An owner that already
 * has this attempt keeps its row and is not returned. Returns the devices whose commands were queued now
 * (the caller wakes them after commit). The payload must be stored: for an unknown one nothing is queued.
 */
export async function queueCommands(client: Db, input: QueueCommandsInput): Promise<string[]> {
  if (input.targets.length === 0) return [];
  const { rows } = await client.query<{ device_id: string }>(
    `${INSERT_COMMANDS} ON CONFLICT (job_run_device_id, attempt) WHERE job_run_step_id IS NULL DO NOTHING RETURNING device_id`,
    [
      input.targets.map((t) => t.deviceId),
      input.targets.map((t) => t.owner.jobRunDeviceId),
      input.attempt,
      input.payloadSha256,
      input.expiresAt,
    ],
  );
  return rows.map((r) => r.device_id);
}

/** A command of a step of a job's run on one target: its attempt (1, 2, … per step) and its stored payload. */
export interface StepCommandInput {
  deviceId: string;
  jobRunDeviceId: string;
  jobRunStepId: string;
  attempt: number;
  payloadSha256: string;
  expiresAt: Date;
}

/**
 * Queues step commands, each with its own payload, in one statement. A step's attempt that already has its command
 * keeps it (a retried batch queues nothing twice) and is not returned. Returns the steps whose commands were
 * queued now, with their devices (the caller wakes them after commit).
 */
export async function queueStepCommands(
  client: Db,
  commands: readonly StepCommandInput[],
): Promise<{ deviceId: string; jobRunStepId: string }[]> {
  if (commands.length === 0) return [];
  const { rows } = await client.query<{ device_id: string; job_run_step_id: string }>(
    `INSERT INTO agent_commands (id, device_id, job_run_device_id, job_run_step_id, attempt, kind, payload_sha256, file_sha256, expires_at)
     SELECT gen_random_uuid(), t.device_id, t.owner_id, t.step_id, t.attempt, p.payload->>'kind', p.sha256,
            CASE WHEN p.payload->>'kind' = 'file.fetch' THEN p.payload->>'sha256' END, t.expires_at
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::timestamptz[])
            AS t(device_id, owner_id, step_id, attempt, sha256, expires_at)
       JOIN command_payloads p ON p.sha256 = t.sha256
     ON CONFLICT (job_run_step_id, attempt) WHERE job_run_step_id IS NOT NULL DO NOTHING
     RETURNING device_id, job_run_step_id`,
    [
      commands.map((c) => c.deviceId),
      commands.map((c) => c.jobRunDeviceId),
      commands.map((c) => c.jobRunStepId),
      commands.map((c) => c.attempt),
      commands.map((c) => c.payloadSha256),
      commands.map((c) => c.expiresAt),
    ],
  );
  return rows.map((r) => ({ deviceId: r.device_id, jobRunStepId: r.job_run_step_id }));
}

// --- commands of an owner or a device -----------------------------------------------------------

export type CommandScope = { jobRunId: string } | { jobRunDeviceIds: string[] } | { deviceId: string };

/** The open commands in `scope`, locked (FOR UPDATE) for the caller's transaction. */
export async function lockOpenCommands(client: pg.PoolClient, scope: CommandScope): Promise<CommandRow[]> {
  const [where, value] =
    'jobRunId' in scope
      ? ['ac.job_run_device_id IN (SELECT id FROM job_run_devices WHERE job_run_id = $1)', scope.jobRunId]
      : 'jobRunDeviceIds' in scope
        ? ['ac.job_run_device_id = ANY($1::uuid[])', scope.jobRunDeviceIds]
        : ['ac.device_id = $1', scope.deviceId];
  const { rows } = await client.query<RawRow>(
    `SELECT ${ROW_COLUMNS} FROM agent_commands ac WHERE ${where} AND ac.state IN ('queued', 'delivered', 'running') ORDER BY ac.id FOR UPDATE OF ac`,
    [value],
  );
  return rows.map(toRow);
}

/** One command of one device (another device's command is indistinguishable from a missing one). */
export async function loadDeviceCommand(
  db: Db,
  deviceId: string,
  commandId: string,
  opts: { lock?: boolean } = {},
): Promise<CommandRow | undefined> {
  const { rows } = await db.query<RawRow>(
    `SELECT ${ROW_COLUMNS} FROM agent_commands ac WHERE ac.id = $1 AND ac.device_id = $2${opts.lock ? ' FOR UPDATE OF ac' : ''}`,
    [commandId, deviceId],
  );
  return rows[0] && toRow(rows[0]);
}

/** True when the agent must stop (or not start) the command: it was cancelled, or the server recorded it as over. */
export function mustStop(row: Pick<CommandRow, 'state' | 'cancelRequestedAt'>): boolean {
  return row.cancelRequestedAt !== null || isTerminalCommandState(row.state);
}

/**
 * A heartbeat of a running command: records its phase (when it sent one that differs from the stored one) and
 * returns the command as it is now, or undefined when the device has no such command. Only a `running` command
 * takes a phase: a late heartbeat never touches a command that has ended.
 */
export async function recordHeartbeat(
  db: Db,
  deviceId: string,
  commandId: string,
  phase: CommandPhase | undefined,
): Promise<{ row: CommandRow; phaseChanged: boolean } | undefined> {
  if (phase !== undefined) {
    const { rows } = await db.query<RawRow>(
      `UPDATE agent_commands ac SET phase = $3
        WHERE ac.id = $1 AND ac.device_id = $2 AND ac.state = 'running' AND ac.phase IS DISTINCT FROM $3
        RETURNING ${ROW_COLUMNS}`,
      [commandId, deviceId, phase],
    );
    if (rows[0]) return { row: toRow(rows[0]), phaseChanged: true };
  }
  const row = await loadDeviceCommand(db, deviceId, commandId);
  return row && { row, phaseChanged: false };
}

// --- the agent's side: claim, start, result ------------------------------------------------------

export interface ClaimOptions {
  /** Most commands handed out per poll. */
  limit: number;
  /** A delivered command that was never started is handed out again after this long. */
  redeliverAfterSeconds: number;
  /** A cancellation is listed for the agent this long; unconfirmed after that, the command ends `cancelled`. */
  cancelTtlSeconds: number;
}

export interface ClaimedCommand {
  id: string;
  attempt: number;
  expiresAt: Date;
  payload: CommandPayload;
  /** The job run it is part of (its `secretRefs` name that run's secret parameters). */
  jobRunId: string | null;
}

export interface Claim {
  commands: ClaimedCommand[];
  /** Commands the agent must stop. */
  cancel: string[];
  /** Commands this poll ended: kinds the agent cannot run (`unsupported`), cancellations it never confirmed. */
  finished: FinishedCommand[];
  /** When something may become due for this device without any notification (a redelivery, a cancellation expiring). */
  recheckAt: Date | null;
}

/**
 * One poll's database work, in one statement: hands out the device's queued commands (and delivered
 * ones never started), lists its cancellations, and says when to look again. Commands of kinds the
 * device's agent does not announce are not handed out: they end `unsupported` (in a second statement,
 * only when there are any), as do cancellations the agent did not confirm in time (`cancelled`).
 */
export async function claimCommands(pool: pg.Pool, deviceId: string, opts: ClaimOptions): Promise<Claim> {
  return (await claimCommandsOfDevices(pool, [deviceId], opts))[0]!;
}

/**
 * {@link claimCommands} for the polls of many devices in one statement (a fan-out wakes thousands at once): their
 * claims, in order. A device listed twice gets its commands in the first claim; the later ones hand out none.
 */
export async function claimCommandsOfDevices(pool: pg.Pool, deviceIds: readonly string[], opts: ClaimOptions): Promise<Claim[]> {
  if (deviceIds.length === 0) return [];
  const { rows } = await pool.query<{
    what: string;
    device_id: string;
    id: string | null;
    attempt: number | null;
    expires_at: Date | null;
    payload: CommandPayload | null;
    kind: string | null;
    at: Date | null;
    job_run_id: string | null;
  }>(
    // Locked before they are ranked (FOR UPDATE does not go with window functions); the rows ranked past the
    // limit stay locked only until the statement ends.
    `WITH device AS (
       SELECT id AS device_id, coalesce(command_kinds, ARRAY['shell']) AS kinds FROM devices WHERE id = ANY($1::uuid[])
     ), due AS (
       SELECT ac.id, ac.device_id, ac.kind, ac.created_at FROM agent_commands ac
        WHERE ac.device_id = ANY($1::uuid[]) AND ac.expires_at > now() AND ac.cancel_requested_at IS NULL
          AND (ac.state = 'queued' OR (ac.state = 'delivered' AND ac.delivered_at < now() - make_interval(secs => $2)))
        FOR UPDATE OF ac SKIP LOCKED
     ), candidates AS (
       SELECT ranked.id, ranked.device_id, ranked.kind FROM (
         SELECT due.*, row_number() OVER (PARTITION BY due.device_id ORDER BY due.created_at, due.id) AS rank FROM due
       ) ranked WHERE ranked.rank <= $4
     ), claimed AS (
       UPDATE agent_commands ac SET state = 'delivered', delivered_at = now(), delivery_count = ac.delivery_count + 1
         FROM candidates c JOIN device d ON d.device_id = c.device_id WHERE ac.id = c.id AND c.kind = ANY(d.kinds)
       RETURNING ac.id, ac.device_id, ac.attempt, ac.expires_at, ac.payload_sha256, ac.created_at, ac.job_run_device_id
     ), open AS (
       SELECT ac.id, ac.device_id, ac.state, ac.delivered_at, ac.cancel_requested_at FROM agent_commands ac
        WHERE ac.device_id = ANY($1::uuid[]) AND ac.state IN ('delivered', 'running') AND ac.id NOT IN (SELECT id FROM claimed)
     )
     SELECT 'command' AS what, c.device_id, c.id, c.attempt, c.expires_at, p.payload, NULL::text AS kind, c.created_at AS at,
            (SELECT jrd.job_run_id FROM job_run_devices jrd WHERE jrd.id = c.job_run_device_id) AS job_run_id
       FROM claimed c JOIN command_payloads p ON p.sha256 = c.payload_sha256
     UNION ALL
     SELECT 'unsupported', c.device_id, c.id, NULL, NULL, NULL, c.kind, NULL, NULL FROM candidates c JOIN device d ON d.device_id = c.device_id
      WHERE NOT c.kind = ANY(d.kinds)
     UNION ALL
     SELECT CASE WHEN o.cancel_requested_at > now() - make_interval(secs => $3) THEN 'cancel' ELSE 'unconfirmed' END, o.device_id, o.id,
            NULL, NULL, NULL, NULL, NULL, NULL
       FROM open o WHERE o.cancel_requested_at IS NOT NULL
     UNION ALL
     SELECT 'recheck', o.device_id, NULL, NULL, NULL, NULL, NULL, min(CASE
              WHEN o.cancel_requested_at IS NOT NULL THEN o.cancel_requested_at + make_interval(secs => $3)
              WHEN o.state = 'delivered' THEN o.delivered_at + make_interval(secs => $2)
            END), NULL
       FROM open o GROUP BY o.device_id
     ORDER BY what, at`,
    [deviceIds, opts.redeliverAfterSeconds, opts.cancelTtlSeconds, opts.limit],
  );
  const claims = new Map<string, Claim>(deviceIds.map((id) => [id, { commands: [], cancel: [], finished: [], recheckAt: null }]));
  const unsupported: { id: string; deviceId: string; kind: string }[] = [];
  const unconfirmed: { id: string; deviceId: string }[] = [];
  for (const r of rows) {
    const claim = claims.get(r.device_id)!;
    if (r.what === 'command')
      claim.commands.push({ id: r.id!, attempt: r.attempt!, expiresAt: r.expires_at!, payload: r.payload!, jobRunId: r.job_run_id });
    else if (r.what === 'cancel') claim.cancel.push(r.id!);
    else if (r.what === 'unsupported') unsupported.push({ id: r.id!, deviceId: r.device_id, kind: r.kind! });
    else if (r.what === 'unconfirmed') unconfirmed.push({ id: r.id!, deviceId: r.device_id });
    else if (r.what === 'recheck') claim.recheckAt = r.at;
  }
  if (unsupported.length > 0 || unconfirmed.length > 0) {
    const finished = await withTransaction(pool, (client) =>
      finish(client, [
        ...unsupported.map((u) => ({ ...ENDING, id: u.id, moves: 'unsupported' as const, error: unsupportedMessage(u.kind) })),
        ...unconfirmed.map((u) => ({
          ...ENDING,
          id: u.id,
          moves: 'cancelled' as const,
          error: `The agent did not confirm the cancellation within ${opts.cancelTtlSeconds} s.`,
        })),
      ]),
    );
    for (const f of finished) claims.get(f.deviceId)!.finished.push(f);
  }
  const handedOut = new Set<string>();
  return deviceIds.map((id) => {
    const claim = claims.get(id)!;
    if (!handedOut.has(id)) {
      handedOut.add(id);
      return claim;
    }
    // A second poll of the device in this batch: what the first was handed is delivered now, due again later.
    const redeliverAt = claim.commands.length > 0 ? new Date(Date.now() + opts.redeliverAfterSeconds * 1000) : null;
    const recheckAt = [claim.recheckAt, redeliverAt].filter((d): d is Date => d !== null).sort((x, y) => x.getTime() - y.getTime())[0];
    return { commands: [], cancel: claim.cancel, finished: [], recheckAt: recheckAt ?? null };
  });
}

function unsupportedMessage(kind: string): string {
  return `The agent on this device cannot run "${kind}" commands (it does not announce that capability: upgrade the agent).`;
}

/**
 * The agent is about to run the command: delivered → running. Returns the command as it is now (so the
 * caller can tell the agent to stop one that was cancelled or already ended), or undefined when the
 * device has no such command.
 */
export async function startCommand(pool: pg.Pool, deviceId: string, commandId: string, startedAt: Date): Promise<CommandRow | undefined> {
  return (await startCommands(pool, [{ deviceId, commandId, startedAt }]))[0];
}

export interface CommandStart {
  deviceId: string;
  commandId: string;
  startedAt: Date;
}

/**
 * {@link startCommand} for many devices' starts in one statement (one commit): the answers, in order. A fan-out's
 * starts then cost a round trip and a commit per batch, not per device.
 */
export async function startCommands(pool: pg.Pool, starts: readonly CommandStart[]): Promise<(CommandRow | undefined)[]> {
  if (starts.length === 0) return [];
  const { rows } = await pool.query<RawRow>(
    `WITH v AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS v(id, device_id, started_at)
     ), locked AS (
       -- In ID order, as results lock them: a batch of starts and a batch of the same commands' results, which
       -- agents send together, then wait for each other instead of deadlocking.
       SELECT ac.id FROM agent_commands ac JOIN v ON ac.id = v.id AND ac.device_id = v.device_id
        WHERE ac.state = 'delivered' AND ac.cancel_requested_at IS NULL ORDER BY ac.id FOR NO KEY UPDATE OF ac
     ), started AS (
       UPDATE agent_commands ac SET state = 'running', started_at = coalesce(ac.started_at, v.started_at)
         FROM v, locked l WHERE ac.id = l.id AND ac.id = v.id AND ac.device_id = v.device_id AND ac.state = 'delivered' AND ac.cancel_requested_at IS NULL
       RETURNING ac.*
     ), owner AS (${jobRunDeviceStartedCte()}),
     step_owner AS (${jobRunStepStartedCte()})
     SELECT ${ROW_COLUMNS} FROM started ac
     UNION ALL
     SELECT ${ROW_COLUMNS} FROM agent_commands ac JOIN v ON ac.id = v.id AND ac.device_id = v.device_id
      WHERE ac.id NOT IN (SELECT id FROM started)`,
    [starts.map((s) => s.commandId), starts.map((s) => s.deviceId), starts.map((s) => s.startedAt)],
  );
  // By command: a start sent twice in one batch lists its command once if started, else once per copy (the same row).
  const byId = new Map(rows.map((r) => [r.id, toRow(r)]));
  return starts.map((s) => {
    const row = byId.get(s.commandId);
    return row && row.deviceId === s.deviceId ? row : undefined;
  });
}

export type AgentResultOutcome =
  /** The result ended the command. */
  | { kind: 'applied'; finished: FinishedCommand }
  /** The command had already ended with a result: recorded, not re-applied. */
  | { kind: 'duplicate'; row: CommandRow }
  /** The server had already ended the command (timed out, cancelled, device retired): recorded, not applied. */
  | { kind: 'late'; row: CommandRow }
  /** The command was never delivered, so no agent can have a result for it. */
  | { kind: 'refused'; row: CommandRow };

/** The agent's result: applied once; every later copy (or a result after the server ended it) only counted. `actor`: the reporting device. */
export async function recordAgentResult(
  pool: pg.Pool,
  deviceId: string,
  commandId: string,
  result: CommandResult,
  actor?: EventActor,
): Promise<AgentResultOutcome | undefined> {
  return (await recordAgentResults(pool, [{ deviceId, commandId, result, ...(actor ? { actor } : {}) }]))[0];
}

export interface AgentReport {
  deviceId: string;
  commandId: string;
  result: CommandResult;
  /** The reporting device, for the `command.finished` event. */
  actor?: EventActor;
}

/**
 * {@link recordAgentResult} for many devices' results in one statement (one commit, and row locks held only while
 * it runs, whatever the API's event loop is doing): the outcomes, in order; undefined where the device has no such
 * command. A command reported twice in `reports` is applied by the first copy, as if the copies had come one after
 * the other.
 */
export async function recordAgentResults(pool: pg.Pool, reports: readonly AgentReport[]): Promise<(AgentResultOutcome | undefined)[]> {
  if (reports.length === 0) return [];
  // The first copy of each (command, device) is its ending; the others are only counted.
  const endings = new Map<string, Ending>();
  for (const r of reports) {
    const key = `${r.commandId}/${r.deviceId}`;
    const ending = endings.get(key);
    if (ending) ending.copies++;
    else
      endings.set(key, {
        id: r.commandId,
        deviceId: r.deviceId,
        moves: r.result.status,
        error: r.result.error ?? null,
        result: r.result,
        startedAt: new Date(r.result.startedAt),
        actor: r.actor ?? null,
        copies: 1,
      });
  }
  const { sql, params } = endingsSql([...endings.values()]);
  const { rows } = await pool.query<RawRow & { applied: boolean }>(
    `WITH ${sql},
     locked AS (
       -- In ID order, as starts and output lock them: batches that share commands cannot deadlock. NO KEY UPDATE
       -- lets output of these commands be inserted meanwhile (its foreign key's KEY SHARE lock does not wait).
       SELECT ${ROW_COLUMNS} FROM agent_commands ac JOIN v ON ac.id = v.id AND ac.device_id = v.device_id
        ORDER BY ac.id FOR NO KEY UPDATE OF ac
     ), finished AS (
       -- Through \`locked\`: the rows are locked in ID order before each is updated.
       ${FINISH_UPDATE} FROM v, m, locked l
        WHERE ac.id = v.id AND ac.device_id = v.device_id AND l.id = v.id AND m.key = v.key AND ac.state::text = m.from_state
       RETURNING ac.*, v.n, v.actor_type, v.actor_id, v.actor_name
     ), counted AS (
       -- A result for a command that had already ended is counted on it, once per copy.
       UPDATE agent_commands ac SET result_count = ac.result_count + v.copies, last_result_at = now()
         FROM v, locked l WHERE ac.id = v.id AND ac.device_id = v.device_id AND l.id = v.id AND l.state IN (${sqlList(terminalCommandStates)})
     ), ${AFTER_FINISH_CTES}
     SELECT ${ROW_COLUMNS}, true AS applied FROM finished ac
     UNION ALL
     -- The others as they were when locked (a lock that waited returns the row as the other writer left it).
     SELECT l.*, false FROM locked l WHERE l.id NOT IN (SELECT id FROM finished)`,
    params,
  );
  const byId = new Map(rows.map((r) => [r.id, { row: toRow(r), applied: r.applied }]));
  const firstCopies = new Set<string>();
  return reports.map((r): AgentResultOutcome | undefined => {
    const found = byId.get(r.commandId);
    if (!found || found.row.deviceId !== r.deviceId) return undefined;
    const { row, applied } = found;
    const first = !firstCopies.has(r.commandId);
    firstCopies.add(r.commandId);
    if (applied) return first ? { kind: 'applied', finished: row as FinishedCommand } : { kind: 'duplicate', row };
    if (!isTerminalCommandState(row.state)) return { kind: 'refused', row };
    return row.result ? { kind: 'duplicate', row } : { kind: 'late', row };
  });
}

// --- the server's side: cancel and end --------------------------------------------------------------

/**
 * Cancels commands: those no agent has seen end `cancelled` now; delivered and running ones are flagged
 * for their agent (listed in its polls, answered in heartbeats) until it reports or the request expires.
 * Returns what ended and the devices to wake.
 */
export async function requestCancellation(
  client: pg.PoolClient,
  commands: Pick<CommandRow, 'id' | 'state'>[],
  message: string,
): Promise<{ finished: FinishedCommand[]; flaggedDevices: string[] }> {
  const queued = commands.filter((c) => c.state === 'queued').map((c) => c.id);
  const started = commands.filter((c) => c.state === 'delivered' || c.state === 'running').map((c) => c.id);
  const finished = await finishCommands(client, queued, 'cancelled', { error: message });
  const flagged =
    started.length === 0
      ? { rows: [] }
      : await client.query<{ device_id: string }>(
          `UPDATE agent_commands SET cancel_requested_at = now()
      WHERE id = ANY($1::uuid[]) AND state IN ('delivered', 'running') AND cancel_requested_at IS NULL
  RETURNING device_id`,
          [started],
        );
  return { finished, flaggedDevices: [...new Set([...flagged.rows.map((r) => r.device_id), ...finished.map((f) => f.deviceId)])] };
}

export interface FinishDetails {
  error?: string | null;
  /** The agent's result, when it is what ends the command. */
  result?: CommandResult;
  startedAt?: Date;
  /** Who ended the commands, for the `command.finished` events (the agent reporting; else a system process). */
  actor?: EventActor;
}

/** A command that this call ended, with what its owner and the caller need afterwards. */
export interface FinishedCommand extends CommandRow {
  state: TerminalCommandState;
}

/**
 * Ends commands: THE terminal transition. Each command moves to `to` (or, given a map, to the state for
 * its current state) only if that is a legal move from where it is now; commands already ended, or in a
 * state the move cannot start from, are left alone and not returned. Their owners' outcomes and
 * `command.finished` events are written by the same statement, in the caller's transaction.
 */
export async function finishCommands(
  client: pg.PoolClient,
  ids: string[],
  to: TerminalCommandState | Partial<Record<OpenCommandState, TerminalCommandState>>,
  details: FinishDetails = {},
): Promise<FinishedCommand[]> {
  const { error = null, result = null, startedAt = null, actor = null } = details;
  return finish(
    client,
    ids.map((id) => ({ id, deviceId: null, moves: to, error, result, startedAt, actor, copies: result ? 1 : 0 })),
  );
}

/** How one command is to end: the moves it may take, and what to record. */
interface Ending {
  id: string;
  /** The device the command must be of (an agent's report), or null. */
  deviceId: string | null;
  /** The state to end in, or the state to end in for each state it may be in now. */
  moves: TerminalCommandState | Partial<Record<OpenCommandState, TerminalCommandState>>;
  error: string | null;
  result: CommandResult | null;
  startedAt: Date | null;
  actor: EventActor | null;
  /** Results to count on the command (copies of the agent's report; 0 when no result ends it). */
  copies: number;
}

/** An ending with nothing recorded but its error: filled in per command. */
const ENDING = { deviceId: null, error: null, result: null, startedAt: null, actor: null, copies: 0 };

/**
 * The endings as the CTEs `v` (one row per ending, `n` its position) and `m` (the legal moves: each distinct
 * `moves` is a key into (key, from, to) rows), with their parameters ($1 … $13).
 */
function endingsSql(endings: readonly Ending[]): { sql: string; params: unknown[] } {
  const keys = new Map<string, number>();
  const table: { key: number; from: OpenCommandState; to: TerminalCommandState }[] = [];
  const keyOf = (moves: Ending['moves']): number => {
    const name = JSON.stringify(moves);
    let key = keys.get(name);
    if (key === undefined) {
      keys.set(name, (key = keys.size));
      for (const from of openCommandStates) {
        const dest = typeof moves === 'string' ? moves : moves[from];
        if (dest !== undefined && canTransition(from, dest)) table.push({ key, from, to: dest });
      }
    }
    return key;
  };
  const actors = endings.map((e) => e.actor ?? COMMAND_CHANNEL_ACTOR);
  return {
    sql: `v AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::jsonb[], $6::timestamptz[], $7::int[], $8::text[], $9::text[], $10::text[])
         WITH ORDINALITY AS v(id, device_id, key, error, result, started_at, copies, actor_type, actor_id, actor_name, n)
     ), m AS (
       SELECT * FROM unnest($11::int[], $12::text[], $13::text[]) AS m(key, from_state, to_state)
     )`,
    params: [
      endings.map((e) => e.id),
      endings.map((e) => e.deviceId),
      endings.map((e) => keyOf(e.moves)),
      endings.map((e) => e.error),
      endings.map((e) => (e.result ? JSON.stringify(e.result) : null)),
      endings.map((e) => e.startedAt),
      endings.map((e) => e.copies),
      actors.map((a) => a.type),
      actors.map((a) => a.id),
      actors.map((a) => a.name),
      table.map((m) => m.key),
      table.map((m) => m.from),
      table.map((m) => m.to),
    ],
  };
}

/** THE terminal UPDATE, to be completed with `FROM v, m … WHERE` the row takes a legal move (`m.from_state`). */
const FINISH_UPDATE = `UPDATE agent_commands ac
        SET state = m.to_state::"AgentCommandState", finished_at = now(),
            error_message = coalesce(v.error, ac.error_message),
            result = coalesce(v.result, ac.result),
            result_count = ac.result_count + v.copies,
            last_result_at = CASE WHEN v.result IS NULL THEN ac.last_result_at ELSE now() END,
            started_at = coalesce(ac.started_at, v.started_at)`;

/**
 * What follows every command's end, as CTEs over `finished` (the ended rows with their ending's position `n` and
 * actor), so an end and its effects are one statement: the owner learns its command's outcome (a job-run target
 * takes it, first terminal writer wins), and `command.finished` is written to the outbox (packages/domain-events'
 * catalog defines its payload), once per command whatever ended it.
 */
const AFTER_FINISH_CTES = `owner AS (${jobRunDeviceFinishedCte()}),
     step_owner AS (${jobRunStepFinishedCte()}),
     events AS (
       INSERT INTO domain_events (type, subject_type, subject_id, payload, actor_type, actor_id, actor_name)
       SELECT 'command.finished', 'command', f.id::text,
              jsonb_build_object('commandId', f.id, 'deviceId', f.device_id,
                'jobRunId', (SELECT jrd.job_run_id FROM job_run_devices jrd WHERE jrd.id = f.job_run_device_id),
                'kind', f.kind, 'attempt', f.attempt, 'status', f.state, 'exitCode', f.result->>'exitCode',
                'durationMs', f.result->'durationMs', 'error', coalesce(f.error_message, f.result->>'error')),
              f.actor_type, f.actor_id, f.actor_name
         FROM finished f ORDER BY f.n
     )`;

/** One statement for every ending: each row takes the legal move of its own `moves` from the state it is in now. */
async function finish(client: Db, endings: readonly Ending[]): Promise<FinishedCommand[]> {
  if (endings.length === 0) return [];
  const { sql, params } = endingsSql(endings);
  const { rows } = await client.query<RawRow>(
    `WITH ${sql},
     finished AS (
       ${FINISH_UPDATE} FROM v, m WHERE ac.id = v.id AND m.key = v.key AND ac.state::text = m.from_state
       RETURNING ac.*, v.n, v.actor_type, v.actor_id, v.actor_name
     ), ${AFTER_FINISH_CTES}
     SELECT ${ROW_COLUMNS} FROM finished ac ORDER BY ac.n`,
    params,
  );
  return rows.map(toRow) as FinishedCommand[];
}

const sqlList = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

const COMMAND_CHANNEL_ACTOR: EventActor = { type: 'system', id: null, name: 'command channel' };
