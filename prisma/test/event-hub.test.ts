/** The event hub against a real PostgreSQL: keyed and channel-wide wake-ups, across processes, and resync after a lost LISTEN. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@opsconductor/test/support/database';
import { waitFor } from '@opsconductor/test/support/tools';
import { EventHub, armWake } from '../src/event-hub.ts';
import { channels } from '../src/notify.ts';

let t: TestDatabase;
let here: EventHub;
let elsewhere: EventHub;
const quiet = { warn: () => {} };

beforeAll(async () => {
  t = await createTestDatabase();
  here = new EventHub(t.db.pool, t.url, quiet);
  elsewhere = new EventHub(t.db.pool, t.url, quiet);
  await Promise.all([here.start(), elsewhere.start()]);
});
afterAll(async () => {
  await Promise.all([here?.stop(), elsewhere?.stop()]);
  await t?.drop();
});

describe('EventHub', () => {
  it('wakes the subscribers of a key, here at once and in another process by NOTIFY, and no one after they unsubscribe', async () => {
    const calls: string[] = [];
    const offA = here.subscribe(channels.agentCommands, 'device-a', () => calls.push('a'));
    const offA2 = here.subscribe(channels.agentCommands, 'device-a', () => calls.push('a2'));
    const offB = here.subscribe(channels.agentCommands, 'device-b', () => calls.push('b'));
    const payloads: (string | null)[] = [];
    const offAll = elsewhere.subscribeChannel(channels.agentCommands, (p) => payloads.push(p));

    here.publish(channels.agentCommands, 'device-a');
    expect(calls).toEqual(['a', 'a2']); // synchronously: the in-process fast path
    await waitFor('the NOTIFY in the other process', async () => payloads.includes('device-a'), 5_000);

    // The NOTIFY comes back to the publishing process too: a second wake-up, which waiters take as "look again".
    elsewhere.publish(channels.agentCommands, 'device-b');
    await waitFor('the NOTIFY from the other process', async () => calls.includes('b'), 5_000);
    expect(new Set(calls)).toEqual(new Set(['a', 'a2', 'b']));

    await new Promise((r) => setTimeout(r, 300));
    offA();
    offB();
    const before = calls.length;
    here.publish(channels.agentCommands, 'device-a');
    expect(calls.slice(before)).toEqual(['a2']);
    offA2();
    offAll();
    const heardElsewhere = payloads.length;
    here.publish(channels.agentCommands, 'device-a');
    here.publish(channels.agentCommands, 'device-b');
    await new Promise((r) => setTimeout(r, 300));
    expect(calls.slice(before)).toEqual(['a2']);
    expect(payloads).toHaveLength(heardElsewhere);
  });

  it('wakes every subscriber (a resync) once its LISTEN connection is back after being cut', async () => {
    const keyed: string[] = [];
    const offKeyed = here.subscribe(channels.jobRunEvents, 'run-1', () => keyed.push('run-1'));
    const wake = armWake(here, channels.agentCommands, 'device-c');
    const woken = wake.wait(30_000);
    const channelWide: (string | null)[] = [];
    const offChannel = here.subscribeChannel(channels.deviceCredentials, (p) => channelWide.push(p));
    // Cut the hub's LISTEN connection from the server side.
    await t.db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`,
    );
    await waitFor('the resync', async () => keyed.length > 0 && channelWide.length > 0, 15_000);
    expect(await woken).toBe(true);
    expect(channelWide).toEqual([null]);
    expect(here.listening).toBe(true);
    wake.dispose();
    offKeyed();
    offChannel();
  });
});
