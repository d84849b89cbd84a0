/**
 * Deployment logic shared by the API, activities and the rollout workflow (ADR 24): pure functions, no I/O, no clock
 * and no Node built-ins (Temporal's workflow sandbox imports this), time always passed in — maintenance windows,
 * wave planning, the rollout's verdicts, and the SQL that derives each device's status.
 */
export {
  currentWindowEnd,
  insideAnyWindow,
  nextOccurrence,
  nextOpening,
  occurrenceAt,
  OPEN_STRETCH_HORIZON_DAYS,
  type WindowOccurrence,
} from './maintenance-windows.ts';
export { planWaves, rolloutOrder, type WaveSize } from './waves.ts';
export * from './criteria.ts';
export * from './device-status-sql.ts';
