/**
 * Enrolment under concurrency: `maxUses` stays exact however many devices enroll at once with one token, and the
 * token's row is locked only for one statement (see services/enrollment.ts; throughput: npm run bench:enroll).
 */
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
  Promise.all(Array.from({ length: n }, (_, i) => t.enrollDevice(token, `${prefix}-${i}`).then(() => 'enrolled', (e: Error) => e.message)));
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
      json: { enrollmentToken: token, protocolVersion: 1, facts: { hostname: 'ws-facts', osFamily: 'windows', osName: 'Windows 11 Pro', osVersion: '10.0.22631', architecture: 'arm64', ipAddresses: ['10.1.2.3', 'fe80::1'], agentVersion: '9.8.7' } },
    });
    expect(res.status).toBe(201);
    const { deviceId } = (await res.json()) as { deviceId: string };
    const device = await t.database.db.prisma.device.findUniqueOrThrow({ where: { id: deviceId } });
    expect(device).toMatchObject({
      hostname: 'ws-facts', osFamily: 'windows', osName: 'Windows 11 Pro', osVersion: '10.0.22631', architecture: 'arm64',
      ipAddresses: ['10.1.2.3', 'fe80::1'], agentVersion: '9.8.7', protocolVersion: 1, enrollmentTokenId: (await tokenRow(token)).id, retiredAt: null,
    });
    expect(device.lastSeenAt).not.toBeNull();
  });

  it('takes the use and creates the device in one statement, so the token row is never locked across round trips', async () => {
    // Triggers record the statement each write ran in. Two statements in one transaction (the old way) kept the row
    // locked while the API went back and forth with the database: every other enrolment with the token queued.
    const { pool } = t.database.db;
    await pool.query(`CREATE TABLE test_enrol_statements (tbl text, stmt timestamptz, xact bigint)`);
    await pool.query(`CREATE FUNCTION test_record_statement() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO test_enrol_statements VALUES (TG_TABLE_NAME, statement_timestamp(), txid_current()); RETURN NEW; END $$`);
    await pool.query(`CREATE TRIGGER test_token_use AFTER UPDATE ON enrollment_tokens FOR EACH ROW EXECUTE FUNCTION test_record_statement()`);
    await pool.query(`CREATE TRIGGER test_device_insert AFTER INSERT ON devices FOR EACH ROW EXECUTE FUNCTION test_record_statement()`);
    try {
      await t.enrollDevice(await t.createEnrollmentToken(admin), 'one-statement');
      // As text: statement_timestamp() has microseconds, a JavaScript Date only milliseconds.
      const { rows } = await pool.query<{ tbl: string; stmt: string; xact: string }>(`SELECT tbl, stmt::text AS stmt, xact::text AS xact FROM test_enrol_statements ORDER BY tbl`);
      expect(rows.map((r) => r.tbl)).toEqual(['devices', 'enrollment_tokens']);
      expect(rows[0]!.xact).toBe(rows[1]!.xact);
      expect(rows[0]!.stmt).toBe(rows[1]!.stmt);
    } finally {
      await pool.query(`DROP TRIGGER test_token_use ON enrollment_tokens; DROP TRIGGER test_device_insert ON devices; DROP FUNCTION test_record_statement(); DROP TABLE test_enrol_statements`);
    }
  });
});
