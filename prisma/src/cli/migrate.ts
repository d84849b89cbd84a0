/**
 * The migration job: applies prisma/migrations to DATABASE_URL and prints what it applied as JSON.
 *   node prisma/dist/migrate.js     (production build)      tsx prisma/src/cli/migrate.ts     (sources)
 * A separate entry point: the library module (../migrate.ts) is also inlined into other bundles, where a
 * "am I the main module?" check would compare against their entry point.
 */
import { migrate } from '../migrate.ts';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is required');
  process.exit(2);
}
console.log(JSON.stringify(await migrate(url)));
