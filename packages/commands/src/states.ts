/**
 * The life of an agent command: queued → delivered → running → one terminal state. The same table is
 * enforced by the database (trigger `agent_commands_state_machine`, migration 20261202010000), so a
 * write that skips this module is refused too. Free of runtime dependencies: workflow code may import it.
 */

export const openCommandStates = ['queued', 'delivered', 'running'] as const;
export const terminalCommandStates = ['succeeded', 'failed', 'timed_out', 'cancelled', 'offline', 'interrupted', 'unsupported'] as const;
export const commandStates = [...openCommandStates, ...terminalCommandStates] as const;

export type OpenCommandState = (typeof openCommandStates)[number];
export type TerminalCommandState = (typeof terminalCommandStates)[number];
export type CommandState = (typeof commandStates)[number];

/**
 * Every legal move. `delivered → delivered` is a redelivery (handed out again because it was never
 * started). Who takes each one:
 * - queued → delivered: a poll; → cancelled / offline / failed: the server before any agent saw it
 *   (cancellation, deadline passed, device retired); → unsupported: a poll by an agent that lacks the kind.
 * - delivered / running → a result state: the agent's report; → timed_out / failed / cancelled: the
 *   server giving up (no result in time, device retired, cancellation the agent never confirmed).
 */
export const commandTransitions: Readonly<Record<CommandState, readonly CommandState[]>> = {
  queued: ['delivered', 'cancelled', 'offline', 'failed', 'unsupported'],
  delivered: ['delivered', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted', 'unsupported'],
  running: ['succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted'],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  offline: [],
  interrupted: [],
  unsupported: [],
};

export function isTerminalCommandState(state: string): state is TerminalCommandState {
  return (terminalCommandStates as readonly string[]).includes(state);
}

export function canTransition(from: CommandState, to: CommandState): boolean {
  return commandTransitions[from].includes(to);
}

/** The states from which a command may reach `to`. */
export function statesLeadingTo(to: CommandState): CommandState[] {
  return commandStates.filter((from) => canTransition(from, to));
}

/** A job-run target's status (`DeviceRunStatus`) for a command that ended in `state`. */
export type JobRunDeviceOutcome = 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'offline';

/** Interrupted and unsupported commands fail their target; their error message says why. */
export function jobRunDeviceOutcomeOf(state: TerminalCommandState): JobRunDeviceOutcome {
  return state === 'interrupted' || state === 'unsupported' ? 'failed' : state;
}
