/** Rows a job run needs: devices, the run, one pending target per device (what the API inserts before starting). */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Database } from '@opsconductor/db';

export interface JobRunFixture {
  jobRunId: string;
  deviceIds: string[];
  /** job_run_devices.id per device ID. */
  targetIds: Map<string, string>;
}

export async function createJobRunFixture(db: Database, deviceCount: number): Promise<JobRunFixture> {
  const deviceIds: string[] = [];
  for (let i = 0; i < deviceCount; i++) {
    const device = await db.prisma.device.create({
      data: {
        hostname: `host-${i}`,
        osFamily: 'linux',
        osName: 'Debian',
        osVersion: '12',
        architecture: 'x86_64',
        ipAddresses: ['10.0.0.1'],
        agentVersion: '0.1.0',
        secretHash: randomBytes(32).toString('hex'),
      },
    });
    deviceIds.push(device.id);
  }
  const jobRunId = randomUUID();
  await db.prisma.jobRun.create({
    data: {
      id: jobRunId,
      workflowId: `job-run/${jobRunId}`,
      command: 'uptime',
      timeoutSeconds: 60,
      deadlineAt: new Date(Date.now() + 10 * 60_000),
      targets: { create: deviceIds.map((deviceId) => ({ deviceId })) },
    },
  });
  const targets = await db.prisma.jobRunDevice.findMany({ where: { jobRunId } });
  return { jobRunId, deviceIds, targetIds: new Map(targets.map((t) => [t.deviceId, t.id])) };
}

/** Collects NOTIFY payloads on the given channels until `stop()`. */
export async function listen(db: Database, channels: string[]) {
  const client = await db.pool.connect();
  const received: { channel: string; payload: string }[] = [];
  client.on('notification', (n) => received.push({ channel: n.channel, payload: n.payload ?? '' }));
  for (const channel of channels) await client.query(`LISTEN ${channel}`);
  return {
    received,
    /** Waits until a notification matching `predicate` arrived. */
    async waitFor(predicate: (n: { channel: string; payload: string }) => boolean, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (!received.some(predicate)) {
        if (Date.now() > until) throw new Error(`no matching notification; got ${JSON.stringify(received)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop() {
      await client.query('UNLISTEN *');
      client.release();
    },
  };
}
