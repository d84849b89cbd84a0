/**
 * Seeds the first admin (ADMIN_EMAIL, default admin@opsconductor.local; ADMIN_PASSWORD) when no user exists.
 *   node prisma/dist/seed.js     (production build)      tsx prisma/src/cli/seed.ts     (sources)
 */
import { createDatabase } from '../index.ts';
import { adminPasswordProblems, seedAdmin } from '../seed.ts';

const { DATABASE_URL: url, ADMIN_EMAIL: email = 'admin@opsconductor.local', ADMIN_PASSWORD: password } = process.env;
if (!url || !password) {
  console.error('DATABASE_URL and ADMIN_PASSWORD are required');
  process.exit(2);
}
const problems = adminPasswordProblems({ email, password });
if (problems.length) {
  console.error(`ADMIN_PASSWORD is not acceptable: it ${problems.join('; ')}`);
  process.exit(2);
}
const db = createDatabase({ url, poolMax: 1 });
try {
  const r = await seedAdmin(db.prisma, { email, password });
  console.log(r.created ? `created admin ${email}` : 'users exist; nothing seeded');
} finally {
  await db.close();
}
