export { startTemporalDevServer, type DevServer } from '../../scripts/lib/temporal.ts';
