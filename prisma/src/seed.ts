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
    data: {
      email: admin.email.toLowerCase(),
      name: admin.name ?? 'Administrator',
      role: 'admin',
      passwordHash: await hash(normalizePassword(admin.password), ARGON2ID),
    },
  });
  return { created: true };
}
