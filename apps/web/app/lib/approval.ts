/**
 * Four-eyes approval of a job's runs (issue 7) as the console shows and asks for it: a job's expiry as the editor's
 * number and unit (exact both ways) and as a text, where a run stands with its approval, who may decide it, and the
 * API's refusals in words.
 *
 * Pure and browser-safe: only *types* and zod-free constants come from the contracts.
 */
import { unapprovedJobRunStatuses } from '@opsconductor/contracts/constants';
import type { components } from '@opsconductor/contracts/openapi-types';

type RunSummary = components['schemas']['JobRunSummary'];
export type RunApproval = NonNullable<RunSummary['approval']>;
export type RunStatus = RunSummary['status'];

/** The format's bounds and default (packages/contracts/src/jobs.ts). */
export const MIN_APPROVAL_SECONDS = 60;
export const MAX_APPROVAL_SECONDS = 30 * 24 * 3600;
export const DEFAULT_APPROVAL_SECONDS = 24 * 3600;
/** The longest comment the API keeps with a decision. */
export const MAX_APPROVAL_COMMENT = 2000;

// ---- the job's expiry -----------------------------------------------------------------------------------

export const expiryUnits = ['minutes', 'hours', 'days', 'seconds'] as const;
export type ExpiryUnit = (typeof expiryUnits)[number];
const unitSeconds: Record<ExpiryUnit, number> = { seconds: 1, minutes: 60, hours: 3600, days: 86_400 };
export const expiryUnitLabels: Record<ExpiryUnit, string> = { minutes: 'minutes', hours: 'hours', days: 'days', seconds: 'seconds' };

/**
 * Seconds as the editor's number and unit: hours unless the number of days is whole and more than one, minutes or
 * seconds when the hours are not whole, so that reading it back gives exactly the seconds.
 */
export function expiryOfSeconds(seconds: number): { value: string; unit: ExpiryUnit } {
  if (!Number.isInteger(seconds) || seconds <= 0) return { value: String(seconds), unit: 'seconds' };
  if (seconds % 86_400 === 0 && seconds > 86_400) return { value: String(seconds / 86_400), unit: 'days' };
  if (seconds % 3600 === 0) return { value: String(seconds / 3600), unit: 'hours' };
  if (seconds % 60 === 0) return { value: String(seconds / 60), unit: 'minutes' };
  return { value: String(seconds), unit: 'seconds' };
}

/**
 * The seconds the editor's number and unit stand for; nothing when the field is empty (the format's default then
 * applies); the text as typed when it is not a number, so that the API's message lands on the field. 1.5 hours is
 * 5400 s; a fraction of a second is left for the API to refuse ("must be an integer").
 */
export function secondsOfExpiry(value: string, unit: ExpiryUnit): number | string | undefined {
  const t = value.trim();
  if (t === '') return undefined;
  const n = Number(t);
  if (!Number.isFinite(n)) return t;
  const seconds = n * unitSeconds[unit];
  const whole = Math.round(seconds);
  // 1.1 h is 3960.0000000000005 in floating point: that is 3960.
  return Math.abs(seconds - whole) < 1e-6 ? whole : seconds;
}

/** "24 h", "90 min", "7 d", "45 s": how long a run of the job may wait for a decision. */
export function expiryText(seconds: number): string {
  if (seconds > 0 && seconds % 86_400 === 0 && seconds > 86_400) return `${seconds / 86_400} d`;
  if (seconds > 0 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** "Runs need approval; expires after 24 h" for a definition with `approval`, null without. */
export function approvalRuleText(approval: { expiresAfterSeconds?: number } | undefined | null): string | null {
  if (!approval) return null;
  return `Runs need approval; expires after ${expiryText(approval.expiresAfterSeconds ?? DEFAULT_APPROVAL_SECONDS)}`;
}

// ---- a run's approval -----------------------------------------------------------------------------------

const UNAPPROVED: ReadonlySet<string> = new Set(unapprovedJobRunStatuses);
/** Rejected and expired runs ended without running: finished, like the final statuses. */
export const isUnapproved = (status: string) => UNAPPROVED.has(status);

/** Where a run stands with its approval (see approvalPhase). */
export type ApprovalPhase = 'waiting' | 'starting' | 'approved' | 'rejected' | 'expired';

/**
 * Where a run stands with its approval: `waiting` for a decision, `starting` (approved, the workflow is about to
 * start it), `approved`, `rejected`, `expired` (by its status, or its time ran out and the workflow has not noticed
 * yet), or null for a run that needs none.
 */
export function approvalPhase(run: Pick<RunSummary, 'status' | 'approval'>, now: number): ApprovalPhase | null {
  const a = run.approval;
  if (!a) return null;
  if (run.status === 'expired') return 'expired';
  if (run.status === 'rejected' || a.decision === 'rejected') return 'rejected';
  if (a.decision === 'approved') return run.status === 'awaiting_approval' ? 'starting' : 'approved';
  if (run.status !== 'awaiting_approval') return null;
  return Date.parse(a.expiresAt) <= now ? 'expired' : 'waiting';
}

const sameEmail = (a: string | null | undefined, b: string | null | undefined) =>
  !!a && !!b && a.trim().toLowerCase() === b.trim().toLowerCase();

/**
 * Whether `user` may approve or reject the run now: an operator or admin who did not start it, while it waits and
 * its time has not run out (the API checks all of this again). `own` says the run is theirs.
 */
export function approvalRights(
  run: Pick<RunSummary, 'status' | 'approval' | 'createdBy'>,
  user: { email: string; role: string } | null | undefined,
  now: number,
): { canDecide: boolean; own: boolean } {
  const own = sameEmail(run.createdBy, user?.email);
  const operator = user?.role === 'admin' || user?.role === 'operator';
  return { canDecide: operator && !own && approvalPhase(run, now) === 'waiting', own };
}

/** How many devices a run targets, from its counts by status. */
export function targetCount(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

export type Decision = 'approve' | 'reject';
export const decisionLabels: Record<Decision, string> = { approve: 'Approve', reject: 'Reject' };
export const isDecision = (intent: unknown): intent is Decision => intent === 'approve' || intent === 'reject';

/** What the pages' actions answer to Approve / Reject: the run as it is now, or why not (with the comment given). */
export type DecisionResult =
  | { ok: true; intent: Decision; runId: string; run: { status: RunStatus; approval: RunApproval | null; jobName: string | null } }
  | { ok: false; intent: Decision; runId: string; error: string; comment: string };

/** Why the API did not take a decision, in words (by its problem code); the API's own text otherwise. */
export function decisionErrorText(code: string | undefined, fallback: string): string {
  switch (code) {
    case 'own_run_approval':
      return 'You started this run: another operator must approve or reject it.';
    case 'approval_decided':
      return 'Someone decided this run already, or it no longer waits for approval.';
    case 'approval_expired':
      return 'The time to approve this run has passed: it was not started.';
    case 'approval_not_needed':
      return 'This run does not wait for approval.';
    case 'forbidden':
      return 'Only operators and admins approve or reject runs.';
    default:
      return fallback;
  }
}

/** Parameter values of a run as the inbox lists them: secrets by name only, never a value. */
export function parameterList(
  run: Pick<RunSummary, 'parameters' | 'secretParameters'>,
): Array<{ name: string; value: string | number | boolean | null; secret: boolean }> {
  const values = run.parameters ?? {};
  const secrets = new Set(run.secretParameters);
  return [
    ...Object.entries(values)
      .filter(([name]) => !secrets.has(name))
      .map(([name, value]) => ({ name, value, secret: false })),
    ...run.secretParameters.map((name) => ({ name, value: null, secret: true })),
  ];
}
