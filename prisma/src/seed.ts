/** Seeds the first admin account when no user exists yet. Idempotent. */
import { hash } from '@node-rs/argon2';
import { normalizePassword, passwordProblems } from '@opsconductor/passwords';
import type { PrismaClient } from './generated/prisma/client.ts';

/** argon2id with OWASP's recommended minimums (19 MiB, 2 iterations, 1 lane). */
export const ARGON2ID = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Why a first-admin password would be refused (the same policy as every other password); empty when fine. */
export function adminPasswordProblems(admin: { email: string; password: string }): string[] {
  return passwordProblems(admin.password, { email: admin.email.toLowerCase() });
}

export async function seedAdmin(prisma: PrismaClient, admin: { email: string; password: string; name?: string }) {
  if ((await prisma.user.count()) > 0) return { created: false };
  const problems = adminPasswordProblems(admin);
  if (problems.length) throw new Error(`ADMIN_PASSWORD is not acceptable: it ${problems.join('; ')}`);
  await prisma.user.create({
    data: { email: admin.email.toLowerCase(), name: admin.name ?? 'Administrator', role: 'admin', passwordHash: await hash(normalizePassword(admin.password), ARGON2ID) },
  });
  return { created: true };
}

// `tsx prisma/src/seed.ts` with DATABASE_URL, ADMIN_EMAIL and ADMIN_PASSWORD (used by docker/compose.yaml).
if (import.meta.url === `file://${process.argv[1]}`) {
  const { createDatabase } = await import('./index.ts');
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
  const r = await seedAdmin(db.prisma, { email, password });
  console.log(r.created ? `created admin ${email}` : 'users exist; nothing seeded');
  await db.close();
}
