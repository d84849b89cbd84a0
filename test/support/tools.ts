import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../scripts/lib/temporal.ts';

export { repoRoot, temporalCliPath, temporalTestServerPath, freePort, waitFor } from '../../scripts/lib/temporal.ts';

/** The Schemathesis CLI: SCHEMATHESIS, or the virtualenv scripts/ensure-tools.mjs --test installs. */
export function schemathesisPath(): string {
  const path = process.env.SCHEMATHESIS || join(repoRoot, '.tools', 'schemathesis', 'bin', 'schemathesis');
  if (!existsSync(path)) throw new Error(`schemathesis not found at ${path}: run node scripts/ensure-tools.mjs --test or set SCHEMATHESIS`);
  return path;
}
