export { repoRoot, temporalCliPath, temporalTestServerPath, freePort, waitFor } from '../../scripts/lib/temporal.ts';
