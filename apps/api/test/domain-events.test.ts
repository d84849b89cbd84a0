/**
 * Domain events from the API's changes, end to end: each mutation writes its event (with its actor), the
 * presence sweep announces devices going offline and coming back exactly once, and the device-activity
 * consumer, run by a real dispatcher, turns them into the device's activity list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { announcePresence, deviceActivityConsumer } from '@opsconductor/devices';
import { OutboxDispatcher } from '@opsconductor/domain-events';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';
import { queueCommand } from '../../../test/support/commands.ts';
import { fullReport, sampleSections } from '../../../test/support/inventory.ts';

let t: TestApi;
let admin: string;
let dispatcher: OutboxDispatcher;
beforeAll(async () => {
  t = await startTestApi({ pollWaitSeconds: 1 });
  admin = await t.tokenFor('admin');
  dispatcher = new OutboxDispatcher({
    pool: t.database.db.pool,
    databaseUrl: t.database.url,
    consumers: [deviceActivityConsumer(t.database.db)],
    logger: pino({ level: 'silent' }),
    pollIntervalMs: 200,
  });
  await dispatcher.start();
});
afterAll(async () => {
  await dispatcher?.stop();
  await t?.close();
});

const api = async (method: string, path: string, json?: unknown) => {
  const res = await t.request(`/api/v1${path}`, { method, token: admin, ...(json === undefined ? {} : { json }) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
};
const agent = (secret: string, path: string, json: unknown) =>
  t.request(`/agent/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, json });
const eventsOf = async (subjectId: string) =>
  (
    await t.database.db.pool.query<{
      type: string;
      payload: Record<string, unknown>;
      actor_type: string | null;
      actor_name: string | null;
    }>('SELECT type, payload, actor_type, actor_name FROM domain_events WHERE subject_id = $1 ORDER BY transaction_id, id', [subjectId])
  ).rows;
const activityOf = async (deviceId: string) =>
  (
    (await api('GET', `/devices/${deviceId}/activity?pageSize=200`)).body.items as { type: string; details: Record<string, unknown> }[]
  ).reverse();
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(v)}`);
    await sleep(50);
  }
}

describe('events of changes', () => {
  it("follows a device's life: enrolled, inventory, groups, a command, goodbye, retired — each an event, and its activity list", async () => {
    const { deviceId, deviceSecret } = await t.enrollDevice(await t.createEnrollmentToken(admin), 'evented');
    expect((await agent(deviceSecret, '/inventory', fullReport(sampleSections({ hostname: 'evented', virtual: true })))).status).toBe(200);
    const group = (await api('POST', '/groups', { kind: 'static', name: 'evented-group', deviceIds: [deviceId] })).body as { id: string };

    const command = await queueCommand(t.database.db, deviceId);
    const result = {
      status: 'failed',
      exitCode: 4294967295,
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: 7,
    };
    expect((await agent(deviceSecret, `/commands/${command.id}/result`, result)).status).toBe(200);
    expect((await agent(deviceSecret, `/commands/${command.id}/result`, result)).status).toBe(200); // a duplicate is no event
    // Still queued when the device is retired: retirement ends it, and that is a command.finished too.
    const unfinished = await queueCommand(t.database.db, deviceId, { state: 'queued' });
    expect((await agent(deviceSecret, '/goodbye', {})).status).toBe(200);
    expect((await api('POST', `/devices/${deviceId}/retire`)).status).toBe(200);

    const events = await eventsOf(deviceId);
    expect(events.map((e) => e.type)).toEqual(['device.enrolled', 'inventory.changed', 'device.went_offline', 'device.retired']);
    expect(events[0]).toMatchObject({ actor_type: 'device', actor_name: 'evented' });
    expect(events[1]!.payload).toMatchObject({ firstReport: true, changedSections: expect.arrayContaining(['software', 'hardware']) });
    expect(events[2]).toMatchObject({ actor_type: 'device', payload: { reason: 'agent_stopped' } });
    expect(events[3]).toMatchObject({
      actor_type: 'user',
      payload: { hostname: 'evented', removedFromGroupIds: expect.arrayContaining([group.id]) },
    });
    expect(await eventsOf(command.id)).toEqual([
      {
        type: 'command.finished',
        actor_type: 'device',
        actor_name: 'evented',
        payload: {
          commandId: command.id,
          deviceId,
          jobRunId: command.jobRunDevice.jobRunId,
          kind: 'shell',
          attempt: 1,
          status: 'failed',
          exitCode: '4294967295',
          durationMs: 7,
          error: null,
        },
      },
    ]);
    expect(await eventsOf(unfinished.id)).toEqual([
      {
        type: 'command.finished',
        actor_type: 'user',
        actor_name: expect.stringMatching(/^admin-/),
        payload: {
          commandId: unfinished.id,
          deviceId,
          jobRunId: unfinished.jobRunDevice.jobRunId,
          kind: 'shell',
          attempt: 1,
          status: 'failed',
          exitCode: null,
          durationMs: null,
          error: 'The device was retired.',
        },
      },
    ]);
    const membership = (await eventsOf(group.id)).map((e) => e.payload as { added: string[]; removed: string[]; reason: string });
    expect(membership).toEqual([
      { groupId: group.id, added: [deviceId], removed: [], reason: expect.stringMatching(/^changed by admin-/) },
      { groupId: group.id, added: [], removed: [deviceId], reason: 'device retired' },
    ]);

    const activity = await until(
      () => activityOf(deviceId),
      (a) => a.some((x) => x.type === 'retired'),
    );
    expect(activity.map((a) => a.type)).toEqual([
      'enrolled',
      'joined_group',
      'joined_group',
      'inventory_changed', // All Linux on enrollment; Virtual machines with the report
      'joined_group',
      'command_finished',
      'went_offline',
      'command_finished',
      'left_group',
      'left_group',
      'left_group',
      'retired',
    ]);
    expect(activity.find((a) => a.type === 'joined_group' && a.details.groupId === group.id)?.details).toMatchObject({
      groupName: 'evented-group',
    });
    expect(activity.find((a) => a.type === 'command_finished')?.details).toMatchObject({ status: 'failed', exitCode: '4294967295' });
  });

  it('tells that the members of a deleted group left it', async () => {
    const { deviceId } = await t.enrollDevice(await t.createEnrollmentToken(admin), 'member-of-doomed');
    const group = (await api('POST', '/groups', { kind: 'static', name: 'doomed', deviceIds: [deviceId] })).body as { id: string };
    expect((await api('DELETE', `/groups/${group.id}`)).status).toBe(204);
    const membership = (await eventsOf(group.id)).map((e) => e.payload as { added: string[]; removed: string[]; reason: string });
    expect(membership.at(-1)).toEqual({ groupId: group.id, added: [], removed: [deviceId], reason: 'group deleted' });
    const activity = await until(
      () => activityOf(deviceId),
      (a) => a.some((x) => x.type === 'left_group'),
    );
    expect(activity.find((a) => a.type === 'left_group')?.details).toMatchObject({
      groupId: group.id,
      groupName: null,
      reason: 'group deleted',
    });
  });

  it('answers 404 for the activity of a device that does not exist', async () => {
    expect((await api('GET', '/devices/00000000-0000-4000-8000-000000000000/activity')).status).toBe(404);
  });
});

describe('presence', () => {
  const sweep = () => announcePresence(t.database.db, { presence: { onlineWindowSeconds: 90, offlineAfterSeconds: 600 } });

  it('announces a device going offline once the offline threshold passed, and back online at its next check-in — each once', async () => {
    const { deviceId, deviceSecret } = await t.enrollDevice(await t.createEnrollmentToken(admin), 'flaky');
    await sweep();
    expect((await eventsOf(deviceId)).map((e) => e.type)).toEqual(['device.enrolled']); // enrolled means online
    // Stale (missed check-ins for 5 minutes) is not offline yet: nothing to announce.
    await t.database.db.pool.query(`UPDATE devices SET last_seen_at = now() - interval '5 minutes' WHERE id = $1`, [deviceId]);
    expect(await sweep()).toEqual({ cameOnline: 0, wentOffline: 0 });
    await t.database.db.pool.query(`UPDATE devices SET last_seen_at = now() - interval '11 minutes' WHERE id = $1`, [deviceId]);
    // Two sweeps at once (two workers, say) announce it once.
    await Promise.all([sweep(), sweep(), sweep()]);
    await sweep();
    const offline = await eventsOf(deviceId);
    expect(offline.map((e) => e.type)).toEqual(['device.enrolled', 'device.went_offline']);
    expect(offline[1]).toMatchObject({ actor_type: 'system', actor_name: 'schedule device-presence', payload: { reason: 'not_seen' } });

    const facts = {
      hostname: 'flaky',
      osFamily: 'linux',
      osName: 'Debian',
      osVersion: '12',
      architecture: 'x64',
      ipAddresses: [],
      agentVersion: '0.1.0',
    };
    expect((await agent(deviceSecret, '/checkin', { facts })).status).toBe(200);
    expect(await sweep()).toMatchObject({ cameOnline: 1 });
    expect(await sweep()).toEqual({ cameOnline: 0, wentOffline: 0 });
    expect((await eventsOf(deviceId)).map((e) => e.type)).toEqual(['device.enrolled', 'device.went_offline', 'device.came_online']);
  });

  it('never announces retired devices', async () => {
    const { deviceId } = await t.enrollDevice(await t.createEnrollmentToken(admin), 'gone-quiet');
    expect((await api('POST', `/devices/${deviceId}/retire`)).status).toBe(200);
    await t.database.db.pool.query(`UPDATE devices SET last_seen_at = now() - interval '11 minutes' WHERE id = $1`, [deviceId]);
    await sweep();
    expect((await eventsOf(deviceId)).map((e) => e.type)).toEqual(['device.enrolled', 'device.retired']);
  });
});
