/**
 * The service layer through the API: a change, its audit row and its domain events commit together (or not
 * at all); names that must be unique answer 409 `name_taken` also to the loser of a race; an inventory report
 * and the memberships it implies stay consistent when ingest crashes midway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestApi, TEST_PASSWORD, type TestApi } from '../../../test/support/api.ts';
import { fullReport, sampleSections } from '../../../test/support/inventory.ts';

let t: TestApi;
let admin: string;
let failNextIngest = false;
beforeAll(async () => {
  t = await startTestApi(
    {},
    {
      inventoryHooks: {
        async afterReportStored() {
          if (!failNextIngest) return;
          failNextIngest = false;
          throw new Error('injected crash after the report was stored');
        },
      },
    },
  );
  admin = await t.tokenFor('admin');
});
afterAll(() => t?.close());

const api = async (method: string, path: string, json?: unknown, token = admin) => {
  const res = await t.request(`/api/v1${path}`, { method, token, ...(json === undefined ? {} : { json }) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
};
const sql = <T extends object = Record<string, unknown>>(text: string, params: unknown[] = []) =>
  t.database.db.pool.query<T>(text, params).then((r) => r.rows);
let n = 0;
const unique = (prefix: string) => `${prefix}-${++n}-${Date.now()}`;

/** Makes inserting audit rows of `action` fail, to show the change they record rolls back with them. */
async function withAuditFailing<T>(action: string, fn: () => Promise<T>): Promise<T> {
  await sql(`ALTER TABLE audit_logs ADD CONSTRAINT test_refuse_audit CHECK (action <> '${action}') NOT VALID`);
  try {
    return await fn();
  } finally {
    await sql('ALTER TABLE audit_logs DROP CONSTRAINT test_refuse_audit');
  }
}

describe('audit rows in the transaction of the change', () => {
  const cases: { action: string; create: (name: string) => Promise<{ status: number }>; exists: (name: string) => Promise<boolean> }[] = [
    {
      action: 'group.create',
      create: (name) => api('POST', '/groups', { kind: 'static', name }),
      exists: async (name) => (await sql('SELECT 1 FROM device_groups WHERE name = $1', [name])).length > 0,
    },
    {
      action: 'custom_field.create',
      create: (key) => api('POST', '/custom-fields', { key: key.replaceAll('-', '_'), label: 'x', type: 'text' }),
      exists: async (key) => (await sql('SELECT 1 FROM custom_field_definitions WHERE key = $1', [key.replaceAll('-', '_')])).length > 0,
    },
    {
      action: 'user.create',
      create: (name) => api('POST', '/users', { email: `${name}@example.com`, name, role: 'viewer', password: TEST_PASSWORD }),
      exists: async (name) => (await sql('SELECT 1 FROM users WHERE email = $1', [`${name}@example.com`])).length > 0,
    },
    {
      action: 'enrollment_token.create',
      create: (name) => api('POST', '/enrollment-tokens', { name }),
      exists: async (name) => (await sql('SELECT 1 FROM enrollment_tokens WHERE name = $1', [name])).length > 0,
    },
  ];
  it.each(cases)('$action: no audit row, no change', async ({ action, create, exists }) => {
    const name = unique('k');
    const res = await withAuditFailing(action, () => create(name));
    expect(res.status).toBe(500);
    expect(await exists(name)).toBe(false);
    // And with the audit row, the change and its row are both there, naming the user and the client.
    const ok = unique('k');
    expect((await create(ok)).status).toBe(201);
    expect(await exists(ok)).toBe(true);
    const [row] = await sql<{ actor_type: string; actor_name: string; ip_address: string | null }>(
      'SELECT actor_type, actor_name, ip_address FROM audit_logs WHERE action = $1 ORDER BY id DESC LIMIT 1',
      [action],
    );
    expect(row).toMatchObject({ actor_type: 'user', ip_address: '127.0.0.1' });
    expect(row!.actor_name).toMatch(/^admin-.*@example\.com$/);
  });

  it('a retire whose audit row fails leaves the device managed, in its groups, without a device.retired event', async () => {
    const { deviceId } = await t.enrollDevice(await t.createEnrollmentToken(admin), unique('retire'));
    const groupsBefore = await sql('SELECT group_id FROM device_group_members WHERE device_id = $1', [deviceId]);
    expect(groupsBefore.length).toBeGreaterThan(0); // All Linux
    const res = await withAuditFailing('device.retire', () => api('POST', `/devices/${deviceId}/retire`));
    expect(res.status).toBe(500);
    expect(await sql('SELECT 1 FROM devices WHERE id = $1 AND retired_at IS NULL', [deviceId])).toHaveLength(1);
    expect(await sql('SELECT group_id FROM device_group_members WHERE device_id = $1', [deviceId])).toEqual(groupsBefore);
    expect(await sql(`SELECT 1 FROM domain_events WHERE type = 'device.retired' AND subject_id = $1`, [deviceId])).toHaveLength(0);
  });

  it('refuses an actor type that is not user, api_key, device or system', async () => {
    await expect(sql(`INSERT INTO audit_logs (actor_type, action) VALUES ('robot', 'x')`)).rejects.toThrow(/audit_logs_actor_type_check/);
  });
});

describe('domain events in the transaction of the change', () => {
  it('an enrollment whose event cannot be written enrolls nothing and keeps the token use', async () => {
    const token = await t.createEnrollmentToken(admin);
    await sql(`ALTER TABLE domain_events ADD CONSTRAINT test_refuse_event CHECK (type <> 'device.enrolled') NOT VALID`);
    try {
      await expect(t.enrollDevice(token, 'no-event-host')).rejects.toThrow(/500/);
    } finally {
      await sql('ALTER TABLE domain_events DROP CONSTRAINT test_refuse_event');
    }
    expect(await sql(`SELECT 1 FROM devices WHERE hostname = 'no-event-host'`)).toHaveLength(0);
    expect(await sql(`SELECT 1 FROM audit_logs WHERE action = 'device.enroll' AND details->>'hostname' = 'no-event-host'`)).toHaveLength(0);
    // The use was not consumed: the single-use token still enrolls.
    const { deviceId } = await t.enrollDevice(token, 'no-event-host');
    const [event] = await sql<{ actor_type: string; actor_id: string; payload: { hostname: string } }>(
      `SELECT actor_type, actor_id, payload FROM domain_events WHERE type = 'device.enrolled' AND subject_id = $1`,
      [deviceId],
    );
    expect(event).toMatchObject({ actor_type: 'device', actor_id: deviceId, payload: { hostname: 'no-event-host' } });
  });
});

describe('unique names', () => {
  /** Holds an uncommitted row with the name, lets the request reach the unique index behind it, then commits. */
  async function loseTheRace(
    insertHolder: string,
    params: unknown[],
    request: () => Promise<{ status: number; body: { code: string; errors?: { path: string }[] } }>,
    blockedOn: string,
  ) {
    const holder = await t.database.db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(insertHolder, params);
      const pending = request();
      for (let i = 0; ; i++) {
        const waiting = await sql(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [
          `%INSERT INTO ${blockedOn}%`,
        ]);
        if (waiting.length) break;
        if (i > 400) throw new Error('the request never reached the unique index');
        await sleep(10);
      }
      await holder.query('COMMIT');
      return await pending;
    } finally {
      holder.release();
    }
  }

  it('the loser of a race for a group name gets 409 name_taken, never 500', async () => {
    const name = unique('race-group');
    const res = await loseTheRace(
      `INSERT INTO device_groups (id, name, kind, updated_at) VALUES (gen_random_uuid(), $1, 'static', now())`,
      [name],
      () => api('POST', '/groups', { kind: 'static', name }),
      'device_groups',
    );
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'name_taken', errors: [{ path: 'name' }] });
  });

  it('the loser of a race for a custom field key gets 409 name_taken', async () => {
    const key = unique('race_field').replaceAll('-', '_');
    const res = await loseTheRace(
      `INSERT INTO custom_field_definitions (id, key, label, type) VALUES (gen_random_uuid(), $1, 'x', 'text')`,
      [key],
      () => api('POST', '/custom-fields', { key, label: 'y', type: 'text' }),
      'custom_field_definitions',
    );
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'name_taken', errors: [{ path: 'key' }] });
  });

  it('the loser of a race for a user email gets 409 name_taken', async () => {
    const email = `${unique('race-user')}@example.com`;
    const res = await loseTheRace(
      `INSERT INTO users (id, email, name, role, password_hash, updated_at) VALUES (gen_random_uuid(), $1, 'x', 'viewer', 'x', now())`,
      [email],
      () => api('POST', '/users', { email, name: 'y', role: 'viewer', password: TEST_PASSWORD }),
      'users',
    );
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'name_taken', errors: [{ path: 'email' }] });
  });

  it('parallel creates of one name: exactly one 201, the rest 409 (groups, custom fields, users)', async () => {
    const name = unique('burst');
    const key = name.replaceAll('-', '_');
    const bursts = {
      group: () => api('POST', '/groups', { kind: 'static', name }),
      field: () => api('POST', '/custom-fields', { key, label: 'x', type: 'text' }),
      user: () => api('POST', '/users', { email: `${name}@example.com`, name, role: 'viewer', password: TEST_PASSWORD }),
    };
    for (const [what, create] of Object.entries(bursts)) {
      const results = await Promise.all(Array.from({ length: 8 }, create));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses, what).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
      expect(
        results.filter((r) => r.status === 409).every((r) => r.body.code === 'name_taken'),
        what,
      ).toBe(true);
    }
  });

  it('renaming two groups to the same name at once: one wins, the other gets 409', async () => {
    const a = (await api('POST', '/groups', { kind: 'static', name: unique('a') })).body.id as string;
    const b = (await api('POST', '/groups', { kind: 'static', name: unique('b') })).body.id as string;
    const name = unique('same');
    const results = await Promise.all([api('PATCH', `/groups/${a}`, { name }), api('PATCH', `/groups/${b}`, { name })]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
  });

  it('parallel tag changes on the same devices all succeed (tags are idempotent), in any device order', async () => {
    const token = await t.createEnrollmentToken(admin, { maxUses: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await t.enrollDevice(token, unique('tagged'))).deviceId);
    const tag = unique('ring');
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        api('POST', '/devices/tags', { deviceIds: i % 2 ? ids : [...ids].reverse(), add: [tag, `${tag}-x`] }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(await sql('SELECT 1 FROM device_tags WHERE tag = $1', [tag])).toHaveLength(3);
  });
});

describe('inventory and the memberships it implies', () => {
  it('stay consistent when ingest crashes after storing the report: neither is kept, and the resent report stores both', async () => {
    const hostname = unique('crashy');
    const token = await t.createEnrollmentToken(admin);
    const { deviceId, deviceSecret } = await t.enrollDevice(token, hostname);
    const report = (virtual: boolean) =>
      t.request('/agent/v1/inventory', {
        method: 'POST',
        headers: { authorization: `Bearer ${deviceSecret}` },
        json: fullReport(sampleSections({ hostname, virtual })),
      });
    const vmGroup = (await sql<{ id: string }>(`SELECT id FROM device_groups WHERE built_in_key = 'virtual-machines'`))[0]!.id;
    const isMember = async () =>
      (await sql('SELECT 1 FROM device_group_members WHERE group_id = $1 AND device_id = $2', [vmGroup, deviceId])).length > 0;
    const storedVirtual = async () =>
      (
        await sql<{ v: boolean | null }>(`SELECT (rule_facts->'facts'->>'hardware.isVirtual')::boolean AS v FROM devices WHERE id = $1`, [
          deviceId,
        ])
      )[0]!.v;

    expect((await report(false)).status).toBe(200);
    expect(await storedVirtual()).toBe(false);
    expect(await isMember()).toBe(false);

    failNextIngest = true;
    expect((await report(true)).status).toBe(500);
    // The crash came after the report was stored: it is not stored, and the memberships match what is.
    expect(await storedVirtual()).toBe(false);
    expect(await isMember()).toBe(false);
    expect(await sql(`SELECT 1 FROM domain_events WHERE type = 'inventory.changed' AND subject_id = $1`, [deviceId])).toHaveLength(1);

    // The agent resends; now the report and the membership it implies are both there.
    expect((await report(true)).status).toBe(200);
    expect(await storedVirtual()).toBe(true);
    expect(await isMember()).toBe(true);
    const events = await sql<{ type: string; payload: { added?: string[]; reason?: string } }>(
      `SELECT type, payload FROM domain_events WHERE (type = 'inventory.changed' AND subject_id = $1) OR (type = 'group.membership_changed' AND subject_id = $2) ORDER BY id`,
      [deviceId, vmGroup],
    );
    expect(events.at(-1)).toMatchObject({ type: 'inventory.changed' });
    expect(events.find((e) => e.type === 'group.membership_changed' && e.payload.added?.includes(deviceId))?.payload.reason).toBe(
      'inventory changed',
    );
  });
});
