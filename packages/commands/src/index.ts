/**
 * The agent command channel: the command state machine (states.ts, guarded by the database too) and
 * the only code that moves a command from state to state (channel.ts), used by the API and the
 * activities alike.
 */
export * from './states.ts';
export * from './channel.ts';
export * from './output.ts';
export { closeStepsSql } from './owners.ts';
