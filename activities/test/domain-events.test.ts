/** Events and audit rows activities write: a finished run (workflow jobRun) and presence changes (schedule). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createTestDatabase, type TestDatabase } from '@opsconductor/test/support/database';
import { createActivities, type JobActivities } from '../src/index.ts';
import { createJobRunFixture } from './support/fixtures.ts';

let testDb: TestDatabase;
let activities: JobActivities;
beforeAll(async () => {
  testDb = await createTestDatabase();
  activities = createActivities({ db: testDb.db });
});
afterAll(() => testDb?.drop());

const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) =>
  new MockActivityEnvironment().run(fn, ...args) as Promise<R>;
const rows = async <T extends object>(sql: string, params: unknown[]) => (await testDb.db.pool.query<T>(sql, params)).rows;

describe('finalizeJobRun', () => {
  it("writes job_run.finished and an audit row by the workflow, with the run's end, once", async () => {
    const { jobRunId, deviceIds } = await createJobRunFixture(testDb.db, 2);
    await testDb.db.prisma.jobRunDevice.updateMany({
      where: { jobRunId, deviceId: deviceIds[0] },
      data: { status: 'succeeded', finishedAt: new Date() },
    });
    await run(activities.finalizeJobRun, { jobRunId, cancelled: false });
    await run(activities.finalizeJobRun, { jobRunId, cancelled: false }); // a retried activity changes nothing
    const events = await rows<{ type: string; payload: object; actor_type: string; actor_name: string }>(
      'SELECT type, payload, actor_type, actor_name FROM domain_events WHERE subject_id = $1',
      [jobRunId],
    );
    expect(events).toEqual([
      {
        type: 'job_run.finished',
        actor_type: 'system',
        actor_name: 'workflow jobRun',
        payload: {
          jobRunId,
          status: 'partially_succeeded',
          cancelled: false,
          total: 2,
          counts: expect.objectContaining({ succeeded: 1, failed: 1 }),
        },
      },
    ]);
    const audit = await rows<{ actor_type: string; actor_name: string; details: { status: string } }>(
      `SELECT actor_type, actor_name, details FROM audit_logs WHERE action = 'job_run.finish' AND target_id = $1`,
      [jobRunId],
    );
    expect(audit).toEqual([
      {
        actor_type: 'system',
        actor_name: 'workflow jobRun',
        details: expect.objectContaining({ status: 'partially_succeeded', swept: 1 }),
      },
    ]);
  });
});

describe('announceDevicePresence', () => {
  it('announces devices that went offline, by the schedule, once', async () => {
    const { deviceIds } = await createJobRunFixture(testDb.db, 1);
    await testDb.db.pool.query(`UPDATE devices SET last_seen_at = now() - interval '1 hour', announced_online = true WHERE id = $1`, [
      deviceIds[0],
    ]);
    expect(await run(activities.announceDevicePresence)).toMatchObject({ wentOffline: 1 });
    expect(await run(activities.announceDevicePresence)).toEqual({ cameOnline: 0, wentOffline: 0 });
    const events = await rows<{ type: string; actor_name: string }>('SELECT type, actor_name FROM domain_events WHERE subject_id = $1', [
      deviceIds[0],
    ]);
    expect(events).toEqual([{ type: 'device.went_offline', actor_name: 'schedule device-presence' }]);
  });
});
