/** Commands for a device, queued the way the dispatchToAgent activity queues them, for agent-API tests. */
import { randomUUID } from 'node:crypto';
import type { Database } from '@opsconductor/db';

/**
 * A job run with one target and its command for `deviceId`. The task token is not a real one, so the
 * command counts as one whose activity is already closed: results are stored without completing anything
 * in Temporal.
 */
export async function queueCommand(db: Database, deviceId: string) {
  const { prisma } = db;
  const run = await prisma.jobRun.create({ data: { workflowId: `job-run/${randomUUID()}`, command: 'echo hi', timeoutSeconds: 30, deadlineAt: new Date(Date.now() + 3600_000) } });
  const target = await prisma.jobRunDevice.create({ data: { jobRunId: run.id, deviceId } });
  return prisma.agentCommand.create({
    data: {
      deviceId, jobRunDeviceId: target.id, attempt: 1, kind: 'shell', payload: { kind: 'shell', command: 'echo hi', shell: 'default', timeoutSeconds: 30 },
      taskToken: Buffer.from('not-a-real-token'), expiresAt: new Date(Date.now() + 3600_000), activityClosedAt: new Date(),
    },
    include: { jobRunDevice: true },
  });
}
