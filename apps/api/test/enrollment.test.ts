/**
 * Enrolment under concurrency: `maxUses` stays exact however many devices enroll at once with one token, and the
 * token's row is locked only for one statement (see services/enrollment.ts; throughput: npm run bench:enroll). A
 * retried enrolment (same `enrollmentId`) gets the device its first attempt created, not a second one.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

let t: TestApi;
let admin: string;
beforeAll(async () => {
  t = await startTestApi();
  admin = await t.tokenFor('admin');
});
afterAll(() => t?.close());

const enrollAll = (token: string, n: number, prefix: string) =>
  Promise.all(
    Array.from({ length: n }, (_, i) =>
      t.enrollDevice(token, `${prefix}-${i}`).then(
        () => 'enrolled',
        (e: Error) => e.message,
      ),
    ),
  );
const tokenRow = (token: string) => t.database.db.prisma.enrollmentToken.findFirstOrThrow({ where: { tokenPrefix: token.slice(0, 10) } });

describe('enrolment with one token from many devices at once', () => {
  it('lets exactly one of 20 parallel enrolments through a single-use token', async () => {
    const token = await t.createEnrollmentToken(admin, { maxUses: 1 });
    const outcomes = await enrollAll(token, 20, 'single');
    expect(outcomes.filter((o) => o === 'enrolled')).toHaveLength(1);
    expect(outcomes.filter((o) => o !== 'enrolled').every((o) => /401.*enrollment_token_invalid/.test(o))).toBe(true);
    expect((await tokenRow(token)).usedCount).toBe(1);
    expect(await t.database.db.prisma.device.count({ where: { hostname: { startsWith: 'single-' } } })).toBe(1);
  });

  it('enrolls exactly maxUses devices when more try at once, and counts every use', async () => {
    const token = await t.createEnrollmentToken(admin, { maxUses: 25 });
    const outcomes = await enrollAll(token, 40, 'multi');
    expect(outcomes.filter((o) => o === 'enrolled')).toHaveLength(25);
    const row = await tokenRow(token);
    expect(row.usedCount).toBe(25);
    expect(await t.database.db.prisma.device.count({ where: { enrollmentTokenId: row.id } })).toBe(25);
  });

  it('stores every fact the agent sent, with the token it used', async () => {
    const token = await t.createEnrollmentToken(admin);
    const res = await t.request('/agent/v1/enroll', {
      method: 'POST',
      json: {
        enrollmentToken: token,
        protocolVersion: 1,
        facts: {
          hostname: 'ws-facts',
          osFamily: 'windows',
          osName: 'Windows 11 Pro',
          osVersion: '10.0.22631',
          architecture: 'arm64',
          ipAddresses: ['10.1.2.3', 'fe80::1'],
          agentVersion: '9.8.7',
        },
      },
    });
    expect(res.status).toBe(201);
    const { deviceId } = (await res.json()) as { deviceId: string };
    const device = await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: deviceId } });
    expect(device).toMatchObject({
      hostname: 'ws-facts',
      osFamily: 'windows',
      osName: 'Windows 11 Pro',
      osVersion: '10.0.22631',
      architecture: 'arm64',
      ipAddresses: ['10.1.2.3', 'fe80::1'],
      agentVersion: '9.8.7',
      protocolVersion: 1,
      enrollmentTokenId: (await tokenRow(token)).id,
      retiredAt: null,
    });
    expect(device.lastSeenAt).not.toBeNull();
  });

  it('takes the use at commit, so the token row is never locked across a round trip of the API', async () => {
    // Triggers record the statement each write ran in. Taking the use first (the first way) kept the row locked while
    // the API went back and forth with the database for the device, its groups, audit row and event; taking it in the
    // last statement (the second) still kept it locked until the API's COMMIT arrived, which under load waits for its
    // event loop, and every other enrolment with the token queued. Now the COMMIT itself takes it.
    const { pool } = t.database.db;
    const token = await t.createEnrollmentToken(admin);
    await pool.query(`CREATE TABLE test_enrol_statements (tbl text, stmt timestamptz, xact bigint, query text)`);
    await pool.query(`CREATE FUNCTION test_record_statement() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO test_enrol_statements VALUES (TG_TABLE_NAME, statement_timestamp(), txid_current(), current_query()); RETURN NEW; END $$`);
    await pool.query(
      `CREATE TRIGGER test_token_use AFTER UPDATE ON enrollment_tokens FOR EACH ROW EXECUTE FUNCTION test_record_statement()`,
    );
    await pool.query(`CREATE TRIGGER test_device_insert AFTER INSERT ON devices FOR EACH ROW EXECUTE FUNCTION test_record_statement()`);
    await pool.query(`CREATE TRIGGER test_audit_insert AFTER INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION test_record_statement()`);
    await pool.query(
      `CREATE TRIGGER test_event_insert AFTER INSERT ON domain_events FOR EACH ROW EXECUTE FUNCTION test_record_statement()`,
    );
    try {
      await t.enrollDevice(token, 'one-statement');
      // As text: statement_timestamp() has microseconds, a JavaScript Date only milliseconds.
      const { rows } = await pool.query<{ tbl: string; stmt: string; xact: string; query: string }>(
        `SELECT tbl, stmt::text AS stmt, xact::text AS xact, query FROM test_enrol_statements ORDER BY tbl`,
      );
      // The audit row and device.enrolled too: a device never exists without them.
      expect([...new Set(rows.map((r) => r.tbl))].sort()).toEqual(['audit_logs', 'devices', 'domain_events', 'enrollment_tokens']);
      expect(new Set(rows.map((r) => r.xact)).size).toBe(1);
      const use = rows.filter((r) => r.tbl === 'enrollment_tokens');
      expect(use).toHaveLength(1);
      expect(use[0]!.query).toBe('COMMIT');
      // Microsecond timestamps as text of one format sort as times.
      for (const r of rows.filter((x) => x.tbl !== 'enrollment_tokens')) expect(r.stmt < use[0]!.stmt).toBe(true);
    } finally {
      await pool.query(
        `DROP TRIGGER test_token_use ON enrollment_tokens; DROP TRIGGER test_device_insert ON devices; DROP TRIGGER test_audit_insert ON audit_logs; DROP TRIGGER test_event_insert ON domain_events; DROP FUNCTION test_record_statement(); DROP TABLE test_enrol_statements`,
      );
    }
  });
});

describe('a retried enrolment (the same enrollmentId)', () => {
  const enroll = (token: string, enrollmentId: string | undefined, hostname = 'retrying') =>
    t.request('/agent/v1/enroll', {
      method: 'POST',
      json: {
        enrollmentToken: token,
        ...(enrollmentId ? { enrollmentId } : {}),
        facts: {
          hostname,
          osFamily: 'linux',
          osName: 'Debian',
          osVersion: '12',
          architecture: 'x64',
          ipAddresses: [],
          agentVersion: '0.1.0',
        },
      },
    });
  const polls = async (secret: string) =>
    (await t.request('/agent/v1/commands?wait=0', { headers: { authorization: `Bearer ${secret}` } })).status;

  it('gets the same device with a new secret, uses the token once and audits both', async () => {
    const token = await t.createEnrollmentToken(admin, { maxUses: 1 });
    const enrollmentId = randomUUID();
    const first = (await (await enroll(token, enrollmentId)).json()) as { deviceId: string; deviceSecret: string };
    const again = await enroll(token, enrollmentId);
    expect(again.status).toBe(201);
    const second = (await again.json()) as { deviceId: string; deviceSecret: string };
    expect(second.deviceId).toBe(first.deviceId);
    expect(second.deviceSecret).not.toBe(first.deviceSecret);
    expect(await polls(second.deviceSecret)).toBe(200);
    expect(await polls(first.deviceSecret)).toBe(401);
    expect((await tokenRow(token)).usedCount).toBe(1);
    const actions = await t.database.db.prisma.auditLog.findMany({
      where: { targetId: first.deviceId },
      orderBy: { id: 'asc' },
      select: { action: true },
    });
    expect(actions.map((a) => a.action)).toEqual(['device.enroll', 'device.enroll_repeated']);
  });

  it('gives concurrent attempts of one enrolment one device', async () => {
    const token = await t.createEnrollmentToken(admin, { maxUses: 1 });
    const enrollmentId = randomUUID();
    const answers = await Promise.all(Array.from({ length: 10 }, () => enroll(token, enrollmentId, 'racing')));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    const bodies = await Promise.all(answers.map((a) => a.json() as Promise<{ deviceId: string; deviceSecret: string }>));
    expect(new Set(bodies.map((b) => b.deviceId)).size).toBe(1);
    expect(await t.database.db.prisma.device.count({ where: { hostname: 'racing' } })).toBe(1);
    expect((await tokenRow(token)).usedCount).toBe(1);
    // The secret that was stored last is the one that works.
    const working = (await Promise.all(bodies.map((b) => polls(b.deviceSecret)))).filter((s) => s === 200);
    expect(working).toHaveLength(1);
  });

  it('refuses the ID with another token, for a retired device and after an hour; without an ID each attempt is a device', async () => {
    const token = await t.createEnrollmentToken(admin, { maxUses: 10 });
    const enrollmentId = randomUUID();
    const { deviceId } = (await (await enroll(token, enrollmentId)).json()) as { deviceId: string };
    const other = await t.createEnrollmentToken(admin, { maxUses: 10 });
    const conflict = await enroll(other, enrollmentId);
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { code: string }).code).toBe('conflict');
    expect((await tokenRow(other)).usedCount).toBe(0);

    await t.database.db.prisma.device.update({ where: { id: deviceId }, data: { enrolledAt: new Date(Date.now() - 2 * 3600_000) } });
    expect((await enroll(token, enrollmentId)).status).toBe(409);
    await t.database.db.prisma.device.update({ where: { id: deviceId }, data: { enrolledAt: new Date(), retiredAt: new Date() } });
    expect((await enroll(token, enrollmentId)).status).toBe(409);
    expect((await tokenRow(token)).usedCount).toBe(1);

    expect((await enroll(token, undefined, 'no-id')).status).toBe(201);
    expect((await enroll(token, undefined, 'no-id')).status).toBe(201);
    expect(await t.database.db.prisma.device.count({ where: { hostname: 'no-id' } })).toBe(2);
  });
});
