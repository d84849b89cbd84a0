/**
 * Seeds the first admin (ADMIN_EMAIL, default admin@opsconductor.local; ADMIN_PASSWORD) when no user exists.
 *   node prisma/dist/seed.js     (production build)      tsx prisma/src/cli/seed.ts     (sources)
 */
import { createDatabase } from '../index.ts';
import { seedAdmin } from '../seed.ts';

const { DATABASE_URL: url, ADMIN_EMAIL: email = 'admin@opsconductor.local', ADMIN_PASSWORD: password } = process.env;
if (!url || !password || password.length < 12) {
  console.error('DATABASE_URL and ADMIN_PASSWORD (at least 12 characters) are required');
  process.exit(2);
}
const db = createDatabase({ url, poolMax: 1 });
try {
  const r = await seedAdmin(db.prisma, { email, password });
  console.log(r.created ? `created admin ${email}` : 'users exist; nothing seeded');
} finally {
  await db.close();
}
