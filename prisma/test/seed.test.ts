import { verify } from '@node-rs/argon2';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedAdmin } from '../src/seed.ts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

it('seeds the first admin only with a password that passes the policy, hashed in NFKC form', async () => {
  for (const weak of ['password1234', ' '.repeat(16), 'admin-admin-admin', 'short']) {
    await expect(seedAdmin(db.db.prisma, { email: 'admin@example.com', password: weak }), weak).rejects.toThrow(/ADMIN_PASSWORD/);
  }
  expect(await db.db.prisma.user.count()).toBe(0);
  const decomposed = 'cafe\u0301-Window-Tz4q-9';
  expect(await seedAdmin(db.db.prisma, { email: 'Admin@Example.com', password: decomposed })).toEqual({ created: true });
  const admin = await db.db.prisma.user.findUniqueOrThrow({ where: { email: 'admin@example.com' } });
  expect(await verify(admin.passwordHash, decomposed.normalize('NFKC'))).toBe(true);
  // Users exist: nothing is checked or seeded any more.
  expect(await seedAdmin(db.db.prisma, { email: 'x@example.com', password: 'weak' })).toEqual({ created: false });
});
