/**
 * Deployment logic shared by the API, activities and the rollout workflow: pure functions, no I/O, no clock and no
 * Node built-ins (Temporal's workflow sandbox imports this), time always passed in.
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
