/**
 * Activities of the `deploymentRollout` workflow (ADR 24). Every install, retry, health check, reboot and rollback of a
 * deployment is an ordinary job run (linked by `job_runs.deployment_id`) that the workflow starts as a child `jobRun`:
 * dispatch, deadlines, cancellation, software reports and maintenance windows are the job runs' machinery. These
 * activities create those runs (idempotently: a run's ID is derived from its purpose, so a retried activity finds the
 * run it created), read the wave's standing (DEPLOYMENT_DEVICE_STATES_SQL: statuses are derived, never copied), hold a
 * paused wave's run, analyze the health of updated devices and record the deployment's state with its timeline and
 * domain events.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { storePayload } from '@opsconductor/commands';
import type { DeploymentStrategy } from '@opsconductor/contracts/deployments';
import type { CommandKind } from '@opsconductor/contracts/commands';
import type { Database } from '@opsconductor/db';
import { channels } from '@opsconductor/db/notify';
import { DEPLOYMENT_DEVICE_STATES_SQL, emptyTally, type HealthSample, type WaveTally } from '@opsconductor/deployments';
import { domainEvent } from '@opsconductor/domain-events';
import { systemActor, withUnitOfWork } from '@opsconductor/unit-of-work';
import type pg from 'pg';
import type { Logger } from 'pino';
import { UUID, wake } from './batches.ts';
import type {
  HealthInput,
  RecordRolloutInput,
  RolloutPlan,
  RolloutRun,
  RolloutWave,
  WaveAttemptInput,
  WaveProgress,
} from './deployment-types.ts';

export interface DeploymentActivityDeps {
  db: Database;
  logger: Logger;
}

const invalid = (message: string) => ApplicationFailure.nonRetryable(message, 'InvalidActivityInput');

interface DeploymentRow {
  id: string;
  name: string;
  status: RolloutPlan['status'];
  action: 'install' | 'uninstall';
  package_id: string;
  version_id: string;
  options: DeploymentStrategy;
  payload_sha256: string;
  rollback_payload_sha256: string | null;
  starts_at: Date;
  deadline_at: Date | null;
}

/** Which run of a deployment: its ID is derived from this, so creating it twice finds the first. */
type RunPurpose = `wave:${number}:${number}` | `health:${number}` | `reboot:${number}` | 'rollback' | `reinstall:${string}`;

export function createDeploymentActivities({ db, logger }: DeploymentActivityDeps) {
  const { pool } = db;

  async function loadDeployment(sql: pg.Pool | pg.PoolClient, deploymentId: string, lock = false): Promise<DeploymentRow> {
    if (typeof deploymentId !== 'string' || !UUID.test(deploymentId)) throw invalid('deploymentId must be a deployment ID');
    const { rows } = await sql.query<DeploymentRow>(
      `SELECT id, name, status, action, package_id, version_id, options, payload_sha256, rollback_payload_sha256, starts_at, deadline_at
         FROM deployments WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [deploymentId],
    );
    if (!rows[0]) throw ApplicationFailure.nonRetryable(`deployment ${deploymentId} not found`, 'DeploymentNotFound');
    return rows[0];
  }

  /**
   * Creates a job run of the deployment for these devices (unless the run for this purpose exists: then it is
   * returned as it was created) and links its devices to it through `column` of deployment_devices.
   */
  async function createRun(
    dep: DeploymentRow,
    purpose: RunPurpose,
    payloadSha256: string,
    pickDevices: (client: pg.PoolClient) => Promise<string[]>,
    link: { column: 'job_run_id' | 'reboot_job_run_id' | 'rollback_job_run_id' | 'reinstall_job_run_id' | null; countAttempt?: boolean },
    opts: { maintenanceWindows: boolean; deadlineAt: Date },
  ): Promise<RolloutRun | null> {
    const strategy = dep.options;
    return withUnitOfWork(db, { actor: systemActor('workflow deploymentRollout') }, async ({ sql: client }) => {
      const { rows: ids } = await client.query<{ id: string }>(`SELECT md5($1 || '/' || $2)::uuid::text AS id`, [dep.id, purpose]);
      const jobRunId = ids[0]!.id;
      const payload = await client.query<{ kind: CommandKind; timeout: number; description: string }>(
        `SELECT payload->>'kind' AS kind, (payload->>'timeoutSeconds')::int AS timeout,
                concat_ws(' ', CASE payload->>'kind' WHEN 'software.install' THEN 'install' WHEN 'software.uninstall' THEN 'uninstall'
                                                     ELSE payload->>'kind' END,
                          payload->'package'->>'name', payload->'package'->>'version', payload->>'command') AS description
           FROM command_payloads WHERE sha256 = $1`,
        [payloadSha256],
      );
      const command = payload.rows[0];
      if (!command) throw invalid(`no stored command payload ${payloadSha256}`);
      const existing = await client.query<{ deadline_at: Date }>('SELECT deadline_at FROM job_runs WHERE id = $1', [jobRunId]);
      let deviceIds: string[];
      let deadlineAt: Date;
      if (existing.rows[0]) {
        deadlineAt = existing.rows[0].deadline_at;
        const targets = await client.query<{ device_id: string }>(
          'SELECT device_id FROM job_run_devices WHERE job_run_id = $1 ORDER BY hostname, device_id',
          [jobRunId],
        );
        deviceIds = targets.rows.map((r) => r.device_id);
      } else {
        deviceIds = await pickDevices(client);
        if (deviceIds.length === 0) return null;
        deadlineAt = opts.deadlineAt;
        await client.query(
          `INSERT INTO job_runs (id, workflow_id, kind, payload_sha256, command, shell, timeout_seconds, deadline_at, deployment_id,
                                 maintenance_windows, max_concurrency, target_selection)
           VALUES ($1::uuid, 'job-run/' || $1::text, $2, $3, left($4, 4000), 'default', $5, $6, $7, $8, $9, $10)`,
          [
            jobRunId,
            command.kind,
            payloadSha256,
            `${command.description} (deployment ${dep.name}, ${purpose.split(':')[0]})`,
            command.timeout,
            deadlineAt,
            dep.id,
            opts.maintenanceWindows,
            strategy.maxConcurrency ?? null,
            JSON.stringify({ deviceIds: deviceIds.length <= 100 ? deviceIds : undefined, deploymentId: dep.id }),
          ],
        );
        await client.query(
          `INSERT INTO job_run_devices (id, job_run_id, device_id, hostname)
           SELECT gen_random_uuid(), $1, dd.device_id, dd.hostname
             FROM deployment_devices dd WHERE dd.deployment_id = $2 AND dd.device_id = ANY($3::uuid[])`,
          [jobRunId, dep.id, deviceIds],
        );
        if (link.column) {
          await client.query(
            `UPDATE deployment_devices SET ${link.column} = $3${link.countAttempt ? ', attempts = attempts + 1' : ''}
              WHERE deployment_id = $1 AND device_id = ANY($2::uuid[])`,
            [dep.id, deviceIds, jobRunId],
          );
        }
      }
      return {
        jobRunId,
        deviceIds,
        command: { kind: command.kind, payloadSha256, timeoutSeconds: command.timeout },
        deadlineAt: deadlineAt.toISOString(),
        ...(strategy.maxConcurrency ? { maxConcurrency: strategy.maxConcurrency } : {}),
      };
    });
  }

  /** Devices of the deployment by their derived status (`where` filters DEPLOYMENT_DEVICE_STATES_SQL's columns). */
  async function devicesWhere(sql: pg.Pool | pg.PoolClient, deploymentId: string, where: string, params: unknown[]): Promise<string[]> {
    const { rows } = await sql.query<{ device_id: string }>(
      `SELECT device_id FROM (${DEPLOYMENT_DEVICE_STATES_SQL}) s WHERE ${where} ORDER BY hostname, device_id`,
      [deploymentId, ...params],
    );
    return rows.map((r) => r.device_id);
  }

  /** A wave attempt's deadline: the wave's own, capped by the deployment's. */
  function waveDeadline(dep: DeploymentRow): Date {
    const own = Date.now() + dep.options.waveDeadlineSeconds * 1000;
    return new Date(dep.deadline_at ? Math.min(own, dep.deadline_at.getTime()) : own);
  }

  return {
    /** The deployment as the workflow drives it. */
    async loadRollout({ deploymentId }: { deploymentId: string }): Promise<RolloutPlan> {
      const dep = await loadDeployment(pool, deploymentId);
      const waves = await pool.query<RolloutWave>(
        'SELECT index, label, size, state FROM deployment_waves WHERE deployment_id = $1 ORDER BY index',
        [deploymentId],
      );
      const s = dep.options;
      return {
        deploymentId,
        name: dep.name,
        status: dep.status,
        action: dep.action,
        startsAt: dep.starts_at.toISOString(),
        deadlineAt: dep.deadline_at?.toISOString() ?? null,
        waves: waves.rows,
        soakSeconds: s.soakSeconds,
        successPercent: s.successPercent,
        autoPause: s.autoPause,
        health: s.health
          ? {
              maxExcessPercent: s.health.maxExcessPercent,
              minDevices: s.health.minDevices,
              onFailure: s.health.onFailure,
              script: !!s.health.script,
              offlineAfterSeconds: s.health.offlineAfterSeconds,
            }
          : null,
        rebootPolicy: s.rebootPolicy,
        retries: s.retries,
        canRollBack: dep.action === 'install' && dep.rollback_payload_sha256 !== null,
      };
    },

    /**
     * Records a state change: the deployment's status, wave and pause reason, a wave's state, the timeline entry, and
     * the domain event (deployment.started / paused / finished) in the same transaction. Idempotent enough for a
     * retry: a repeated timeline entry is the only trace.
     */
    async recordRollout(input: RecordRolloutInput): Promise<void> {
      const { deploymentId, status, event } = input;
      const finished = status && ['rejected', 'completed', 'failed', 'aborted', 'rolled_back'].includes(status);
      await withUnitOfWork(db, { actor: systemActor('workflow deploymentRollout') }, async ({ sql: client, emit }) => {
        const dep = await loadDeployment(client, deploymentId, true);
        await client.query(
          `UPDATE deployments
              SET status = coalesce($2, status),
                  current_wave = CASE WHEN $3 THEN $4 ELSE current_wave END,
                  paused_reason = CASE WHEN $2 IS NULL THEN paused_reason WHEN $2 = 'paused' THEN $5 ELSE NULL END,
                  started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
                  finished_at = CASE WHEN $2 = 'rolling_back' THEN NULL WHEN $6 THEN coalesce(finished_at, now()) ELSE finished_at END,
                  updated_at = now()
            WHERE id = $1`,
          [
            deploymentId,
            status ?? null,
            input.currentWave !== undefined,
            input.currentWave ?? null,
            input.pausedReason ?? null,
            !!finished,
          ],
        );
        if (input.wave) {
          const { index, state, soakUntil } = input.wave;
          await client.query(
            `UPDATE deployment_waves
                SET state = $3,
                    started_at = CASE WHEN $3 = 'installing' THEN coalesce(started_at, now()) ELSE started_at END,
                    soak_until = coalesce($4::timestamptz, soak_until),
                    finished_at = CASE WHEN $3 IN ('completed', 'cancelled') THEN coalesce(finished_at, now()) ELSE finished_at END
              WHERE deployment_id = $1 AND index = $2`,
            [deploymentId, index, state, soakUntil ?? null],
          );
        }
        if (input.cancelOpenWaves) {
          await client.query(
            `UPDATE deployment_waves SET state = 'cancelled', finished_at = coalesce(finished_at, now())
              WHERE deployment_id = $1 AND state NOT IN ('completed', 'cancelled')`,
            [deploymentId],
          );
        }
        await client.query(
          `INSERT INTO deployment_events (deployment_id, type, message, actor, details) VALUES ($1, $2, left($3, 2000), $4, $5)`,
          [deploymentId, event.type, event.message, event.actor ?? null, event.details ? JSON.stringify(event.details) : null],
        );
        if (event.type === 'started') {
          const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM deployment_devices WHERE deployment_id = $1', [
            deploymentId,
          ]);
          await emit(
            domainEvent('deployment.started', {
              deploymentId,
              name: dep.name,
              packageId: dep.package_id,
              versionId: dep.version_id,
              devices: rows[0]!.n,
            }),
          );
        } else if (status === 'paused') {
          const wave = input.currentWave ?? null;
          await emit(
            domainEvent('deployment.paused', {
              deploymentId,
              name: dep.name,
              wave,
              reason: input.pausedReason ?? event.message,
              automatic: !!input.automatic,
              by: event.actor ?? null,
            }),
          );
        } else if (finished) {
          const { rows } = await client.query<{ status: string; n: number }>(
            `SELECT status, count(*)::int AS n FROM (${DEPLOYMENT_DEVICE_STATES_SQL}) s GROUP BY status`,
            [deploymentId],
          );
          await emit(
            domainEvent('deployment.finished', {
              deploymentId,
              name: dep.name,
              status: status!,
              counts: Object.fromEntries(rows.map((r) => [r.status, r.n])),
            }),
          );
        }
      });
      logger.info({ activity: 'recordRollout', deploymentId, status, event: event.type }, event.message);
    },

    /**
     * The job run of a wave's attempt: attempt 1 takes every device of the wave, later attempts the devices whose
     * failure a retry may help (offline, timed out, download failed) or whose install was deferred (deferred_metered),
     * with attempts left. Null when no device needs it.
     */
    async startWaveAttempt({ deploymentId, wave, attempt }: WaveAttemptInput): Promise<RolloutRun | null> {
      if (!Number.isInteger(wave) || wave < 0 || !Number.isInteger(attempt) || attempt < 1)
        throw invalid('wave and attempt must be integers');
      const dep = await loadDeployment(pool, deploymentId);
      return createRun(
        dep,
        `wave:${wave}:${attempt}`,
        dep.payload_sha256,
        (client) =>
          attempt === 1
            ? devicesWhere(client, deploymentId, 'wave = $2 AND job_run_id IS NULL', [wave])
            : devicesWhere(client, deploymentId, 'wave = $2 AND retrying', [wave]),
        { column: 'job_run_id', countAttempt: true },
        { maintenanceWindows: dep.options.respectMaintenanceWindows, deadlineAt: waveDeadline(dep) },
      );
    },

    /** Where a wave's devices stand, and whether the run of its current attempt has ended. */
    async waveProgress({
      deploymentId,
      wave,
      jobRunId,
    }: {
      deploymentId: string;
      wave: number;
      jobRunId: string | null;
    }): Promise<WaveProgress> {
      // Whether the run has ended first, then the tally: read the other way round, a run ending in between would pair
      // an older tally (devices still pending) with "finished", and the success criteria would judge the wave on it.
      let runFinished = true;
      if (jobRunId) {
        const run = await pool.query<{ finished: boolean }>('SELECT finished_at IS NOT NULL AS finished FROM job_runs WHERE id = $1', [
          jobRunId,
        ]);
        runFinished = run.rows[0]?.finished ?? true;
      }
      const { rows } = await pool.query<{ status: string; retrying: boolean; n: number }>(
        `SELECT status, retrying, count(*)::int AS n FROM (${DEPLOYMENT_DEVICE_STATES_SQL}) s WHERE wave = $2 GROUP BY status, retrying`,
        [deploymentId, wave],
      );
      const tally: WaveTally = emptyTally();
      for (const r of rows) {
        tally.total += r.n;
        // Retrying first: a deferred install (deferred_metered) shows as queued, and waits for the next attempt too.
        if (r.retrying) tally.retrying += r.n;
        else if (r.status === 'succeeded' || r.status === 'already_installed' || r.status === 'reboot_pending') tally.succeeded += r.n;
        else if (r.status === 'failed') tally.failed += r.n;
        else if (r.status === 'skipped') tally.skipped += r.n;
        else if (r.status === 'cancelled') tally.cancelled += r.n;
        else tally.pending += r.n;
      }
      return { ...tally, runFinished };
    },

    /** Whether every one of these job runs has ended. */
    async runsFinished({ jobRunIds }: { jobRunIds: string[] }): Promise<boolean> {
      if (jobRunIds.length === 0) return true;
      const { rows } = await pool.query<{ open: number }>(
        'SELECT count(*)::int AS open FROM job_runs WHERE id = ANY($1::uuid[]) AND finished_at IS NULL',
        [jobRunIds],
      );
      return rows[0]!.open === 0;
    },

    /** Holds (or releases) a run: while held, no new device of it starts; commands under way go on. */
    async holdRun({ jobRunId, held }: { jobRunId: string; held: boolean }): Promise<void> {
      await pool.query('UPDATE job_runs SET held = $2 WHERE id = $1', [jobRunId, held]);
      await wake(pool, channels.jobRunEvents, [jobRunId], logger);
    },

    /** The health-script run of a wave's soak, on the devices the wave updated (none configured: null). */
    async startHealthCheck({ deploymentId, wave }: { deploymentId: string; wave: number }): Promise<RolloutRun | null> {
      const dep = await loadDeployment(pool, deploymentId);
      const script = dep.options.health?.script;
      if (!script) return null;
      const payloadSha256 = await storePayload(pool, {
        kind: 'shell',
        command: script.command,
        shell: script.shell,
        timeoutSeconds: script.timeoutSeconds,
      });
      return createRun(
        dep,
        `health:${wave}`,
        payloadSha256,
        (client) =>
          devicesWhere(
            client,
            deploymentId,
            `wave = $2 AND status IN ('succeeded', 'reboot_pending') AND outcome IS DISTINCT FROM 'already_installed'`,
            [wave],
          ),
        { column: null },
        { maintenanceWindows: false, deadlineAt: new Date(Date.now() + Math.max(60, dep.options.soakSeconds) * 1000) },
      );
    },

    /**
     * Post-install health: the devices the wave updated are watched — each must have checked in within
     * `offlineAfterSeconds` and pass the health script, if any — against a baseline of the deployment's devices not
     * yet updated (same check-in rule). Records the sample on the wave and the reason on each unhealthy device.
     */
    async analyzeWaveHealth({ deploymentId, wave, healthRunId }: HealthInput): Promise<HealthSample> {
      const dep = await loadDeployment(pool, deploymentId);
      const offlineAfter = dep.options.health?.offlineAfterSeconds ?? 300;
      return withUnitOfWork(db, { actor: systemActor('workflow deploymentRollout') }, async ({ sql: client }) => {
        const { rows } = await client.query<{ device_id: string; updated: boolean; failure: string | null }>(
          `WITH s AS (${DEPLOYMENT_DEVICE_STATES_SQL})
           SELECT s.device_id, s.wave = $2 AS updated,
                  CASE WHEN d.id IS NULL OR d.retired_at IS NOT NULL THEN NULL
                       WHEN d.last_seen_at IS NULL OR d.last_seen_at < now() - make_interval(secs => $3)
                         THEN 'not heard from since ' || coalesce(to_char(d.last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC', 'ever')
                       WHEN s.wave = $2 AND h.finished_at IS NOT NULL AND h.status <> 'succeeded'
                         THEN 'health script ' || h.status::text || coalesce(' (exit code ' || h.exit_code || ')', '')
                  END AS failure
             FROM s
             LEFT JOIN devices d ON d.id = s.device_id
             LEFT JOIN job_run_devices h ON h.job_run_id = $4 AND h.device_id = s.device_id
            WHERE (s.wave = $2 AND s.status IN ('succeeded', 'reboot_pending') AND s.outcome IS DISTINCT FROM 'already_installed')
               OR (s.wave > $2 AND s.job_run_id IS NULL)`,
          [deploymentId, wave, offlineAfter, healthRunId],
        );
        const sample: HealthSample = { watched: 0, unhealthy: 0, baselineWatched: 0, baselineUnhealthy: 0 };
        const failures: { id: string; failure: string | null }[] = [];
        for (const r of rows) {
          if (r.updated) {
            sample.watched++;
            if (r.failure) sample.unhealthy++;
            failures.push({ id: r.device_id, failure: r.failure });
          } else {
            sample.baselineWatched++;
            if (r.failure) sample.baselineUnhealthy++;
          }
        }
        await client.query(
          `UPDATE deployment_devices dd SET health_failure = f.failure
             FROM unnest($2::uuid[], $3::text[]) AS f(device_id, failure)
            WHERE dd.deployment_id = $1 AND dd.device_id = f.device_id AND dd.health_failure IS DISTINCT FROM f.failure`,
          [deploymentId, failures.map((f) => f.id), failures.map((f) => f.failure)],
        );
        await client.query('UPDATE deployment_waves SET health = $3 WHERE deployment_id = $1 AND index = $2', [
          deploymentId,
          wave,
          JSON.stringify(sample),
        ]);
        return sample;
      });
    },

    /** Reboot policy in_window: restarts the wave's devices whose install needs it, inside their maintenance windows. */
    async startRebootRun({ deploymentId, wave }: { deploymentId: string; wave: number }): Promise<RolloutRun | null> {
      const dep = await loadDeployment(pool, deploymentId);
      const payloadSha256 = await storePayload(pool, { kind: 'reboot', timeoutSeconds: 900 });
      return createRun(
        dep,
        `reboot:${wave}`,
        payloadSha256,
        (client) => devicesWhere(client, deploymentId, `wave = $2 AND status = 'reboot_pending'`, [wave]),
        { column: 'reboot_job_run_id' },
        // A window may be a week away: the run waits for it, up to the deployment's deadline.
        { maintenanceWindows: true, deadlineAt: dep.deadline_at ?? new Date(Date.now() + 8 * 24 * 3600 * 1000) },
      );
    },

    /**
     * Rollback, step 1: uninstalls the version from every device the deployment touched (installed, or tried to and
     * failed, possibly half-way). Null when none was touched.
     */
    async startRollbackUninstall({ deploymentId }: { deploymentId: string }): Promise<RolloutRun | null> {
      const dep = await loadDeployment(pool, deploymentId);
      if (!dep.rollback_payload_sha256) throw invalid('this deployment cannot be rolled back: its version has no uninstall command');
      return createRun(
        dep,
        'rollback',
        dep.rollback_payload_sha256,
        (client) =>
          devicesWhere(
            client,
            deploymentId,
            `status IN ('succeeded', 'reboot_pending', 'failed') AND outcome IS DISTINCT FROM 'already_installed'`,
            [],
          ),
        { column: 'rollback_job_run_id' },
        { maintenanceWindows: false, deadlineAt: new Date(Date.now() + dep.options.waveDeadlineSeconds * 1000) },
      );
    },

    /**
     * Rollback, step 2: where the deployment replaced an older version of the package, that version is installed
     * again, one run per previous version (on the devices whose uninstall succeeded).
     */
    async startRollbackReinstall({ deploymentId }: { deploymentId: string }): Promise<RolloutRun[]> {
      const dep = await loadDeployment(pool, deploymentId);
      const previous = await pool.query<{ sha: string }>(
        `SELECT DISTINCT dd.previous_payload_sha256 AS sha FROM deployment_devices dd
           JOIN job_run_devices rb ON rb.job_run_id = dd.rollback_job_run_id AND rb.device_id = dd.device_id AND rb.status = 'succeeded'
          WHERE dd.deployment_id = $1 AND dd.previous_payload_sha256 IS NOT NULL ORDER BY 1`,
        [deploymentId],
      );
      const runs: RolloutRun[] = [];
      for (const { sha } of previous.rows) {
        const run = await createRun(
          dep,
          `reinstall:${sha}`,
          sha,
          async (client) => {
            const { rows } = await client.query<{ device_id: string }>(
              `SELECT dd.device_id FROM deployment_devices dd
                 JOIN job_run_devices rb ON rb.job_run_id = dd.rollback_job_run_id AND rb.device_id = dd.device_id AND rb.status = 'succeeded'
                WHERE dd.deployment_id = $1 AND dd.previous_payload_sha256 = $2 ORDER BY dd.hostname, dd.device_id`,
              [deploymentId, sha],
            );
            return rows.map((r) => r.device_id);
          },
          { column: 'reinstall_job_run_id' },
          { maintenanceWindows: false, deadlineAt: new Date(Date.now() + dep.options.waveDeadlineSeconds * 1000) },
        );
        if (run) runs.push(run);
      }
      return runs;
    },

    /** The approval decision recorded by the API (pending until a second operator decides). */
    async approvalState({ deploymentId }: { deploymentId: string }): Promise<'pending' | 'approved' | 'rejected'> {
      const dep = await loadDeployment(pool, deploymentId);
      if (dep.status === 'pending_approval') return 'pending';
      return dep.status === 'rejected' ? 'rejected' : 'approved';
    },
  };
}
