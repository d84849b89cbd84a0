/**
 * Postgres LISTEN/NOTIFY channels that wake waiting requests across processes. NOTIFY takes a global
 * lock at commit, so it is sent on its own, outside write transactions; payloads are IDs only.
 */
import type pg from 'pg';

export const channels = {
  /** payload: device ID — a command for the device was queued or cancelled. */
  agentCommands: 'oc_agent_commands',
  /** payload: job run ID — output, a device outcome or the run's status changed. */
  jobRunEvents: 'oc_job_run_events',
  /**
   * payload: device ID — the device's secret changed, it was retired or deleted. Sent by a trigger on
   * `devices` (migration 20261201020100), so even a row removed by hand reaches every API process.
   */
  deviceCredentials: 'oc_device_credentials',
} as const;
export type Channel = (typeof channels)[keyof typeof channels];

export async function notify(pool: pg.Pool, channel: Channel, payload: string): Promise<void> {
  await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
}

/** One notification per payload, in one statement (e.g. every device of a dispatched batch). */
export async function notifyEach(pool: pg.Pool, channel: Channel, payloads: readonly string[]): Promise<void> {
  if (payloads.length === 0) return;
  await pool.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, payloads]);
}
