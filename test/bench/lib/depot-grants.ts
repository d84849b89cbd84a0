/**
 * What lets a device download a depot artifact (apps/api/src/services/depot.ts `artifactForDevice`): one of its open
 * commands (delivered or running) whose stored payload names the artifact in `artifactIds`. For benchmarks and
 * tests of the serving side: one job run, a target per device, a software.install command each, marked delivered
 * at once (as the server does when it hands a command out), through packages/commands' queue.
 */
import { randomUUID } from 'node:crypto';
import { queueCommands, storePayload } from '@opsconductor/commands';
import { softwareInstallCommandPayload } from '@opsconductor/contracts/software';
import type { Database } from '@opsconductor/db';

export async function grantArtifactDownloads(db: Database, artifactId: string, deviceIds: readonly string[]): Promise<void> {
  const deadlineAt = new Date(Date.now() + 24 * 3600_000);
  const run = await db.prisma.jobRun.create({
    data: { workflowId: `bench-depot/${randomUUID()}`, command: 'install', timeoutSeconds: 3600, deadlineAt },
  });
  await db.prisma.jobRunDevice.createMany({ data: deviceIds.map((deviceId) => ({ jobRunId: run.id, deviceId })) });
  const targets = await db.prisma.jobRunDevice.findMany({ where: { jobRunId: run.id }, select: { id: true, deviceId: true } });
  // The stored form of a software command: artifacts by ID (signed per device at delivery, which the download does not need).
  const payload = softwareInstallCommandPayload.parse({
    kind: 'software.install',
    installerType: 'exe',
    timeoutSeconds: 3600,
    package: { versionId: randomUUID(), name: 'Bench artifact', version: '1.0.0' },
    command: '{installer} /S',
    artifactIds: [artifactId],
  });
  const payloadSha256 = await storePayload(db.pool, payload);
  await queueCommands(db.pool, {
    targets: targets.map((t) => ({ deviceId: t.deviceId, owner: { jobRunDeviceId: t.id } })),
    attempt: 1,
    payloadSha256,
    expiresAt: deadlineAt,
  });
  await db.pool.query(`UPDATE agent_commands SET state = 'delivered', delivered_at = now() WHERE job_run_device_id = ANY($1::uuid[])`, [
    targets.map((t) => t.id),
  ]);
}
