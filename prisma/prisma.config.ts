// Used by Prisma's CLI (generate; and migrate deploy/diff for users with internet access).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: './schema.prisma',
  migrations: { path: './migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/opsconductor' },
});
