/** Commands for a device, queued the way a job run's batch activity queues them, for agent-API tests. */
import { randomUUID } from 'node:crypto';
import { queueCommand as queue, storePayload } from '@opsconductor/commands';
import type { CommandPayload } from '@opsconductor/contracts/commands';
import type { Database } from '@opsconductor/db';

export interface QueueOptions {
  /** The payload (default: `echo hi` in the default shell). */
  payload?: CommandPayload;
  /** `delivered` (default) as if a poll had handed it out, or still `queued`. */
  state?: 'queued' | 'delivered';
}

/** A job run with one target and its command for `deviceId` (no workflow: nothing waits for the outcome). */
export async function queueCommand(db: Database, deviceId: string, options: QueueOptions = {}) {
  const { prisma, pool } = db;
  const payload = options.payload ?? { kind: 'shell', command: 'echo hi', shell: 'default', timeoutSeconds: 30 };
  const run = await prisma.jobRun.create({
    data: {
      workflowId: `job-run/${randomUUID()}`,
      kind: payload.kind,
      command: 'echo hi',
      timeoutSeconds: 30,
      deadlineAt: new Date(Date.now() + 3600_000),
    },
  });
  const target = await prisma.jobRunDevice.create({ data: { jobRunId: run.id, deviceId } });
  const queued = await queue(pool, {
    deviceId,
    owner: { jobRunDeviceId: target.id },
    attempt: 1,
    payloadSha256: await storePayload(pool, payload),
    expiresAt: new Date(Date.now() + 3600_000),
  });
  await pool.query(
    `UPDATE agent_commands SET state = $2::"AgentCommandState", delivered_at = CASE WHEN $2::text = 'delivered' THEN now() END
      WHERE id = $1`,
    [queued!.id, options.state ?? 'delivered'],
  );
  const command = await prisma.agentCommand.findUniqueOrThrow({ where: { id: queued!.id } });
  return { ...command, jobRunDeviceId: target.id, jobRunDevice: target };
}
