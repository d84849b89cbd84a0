import { describe, expect, it } from 'vitest';
import {
  approvalPhase,
  approvalRights,
  approvalRuleText,
  decisionErrorText,
  expiryOfSeconds,
  expiryText,
  isUnapproved,
  parameterList,
  secondsOfExpiry,
  targetCount,
  type RunApproval,
  type RunStatus,
} from './approval';

const now = Date.parse('2026-12-02T12:00:00Z');
const waiting: RunApproval = { expiresAt: '2026-12-03T12:00:00Z', decision: null, decidedBy: null, decidedAt: null, comment: null };
const run = (status: RunStatus, approval: RunApproval | null = waiting, createdBy: string | null = 'ann@example.com') => ({
  status,
  approval,
  createdBy,
});

describe('the expiry of a job’s approval', () => {
  it('is shown in the largest unit that keeps it exact, and read back to the same seconds', () => {
    const cases: Array<[number, string, string]> = [
      [60, '1', 'minutes'],
      [61, '61', 'seconds'],
      [5400, '90', 'minutes'],
      [3600, '1', 'hours'],
      [86_400, '24', 'hours'],
      [90_000, '25', 'hours'],
      [172_800, '2', 'days'],
      [2_592_000, '30', 'days'],
    ];
    for (const [seconds, value, unit] of cases) {
      expect(expiryOfSeconds(seconds)).toEqual({ value, unit });
      expect(secondsOfExpiry(value, unit as never)).toBe(seconds);
    }
    expect(expiryOfSeconds(-5)).toEqual({ value: '-5', unit: 'seconds' });
  });

  it('reads what was typed: nothing when empty, the text when not a number, floating point noise rounded away', () => {
    expect(secondsOfExpiry('', 'hours')).toBeUndefined();
    expect(secondsOfExpiry(' 2 ', 'hours')).toBe(7200);
    expect(secondsOfExpiry('1.1', 'hours')).toBe(3960);
    expect(secondsOfExpiry('0.5', 'seconds')).toBe(0.5);
    expect(secondsOfExpiry('two', 'hours')).toBe('two');
  });

  it('says how long a run may wait', () => {
    expect(expiryText(86_400)).toBe('24 h');
    expect(expiryText(604_800)).toBe('7 d');
    expect(expiryText(5400)).toBe('90 min');
    expect(expiryText(61)).toBe('61 s');
    expect(approvalRuleText({ expiresAfterSeconds: 86_400 })).toBe('Runs need approval; expires after 24 h');
    expect(approvalRuleText({})).toBe('Runs need approval; expires after 24 h');
    expect(approvalRuleText(undefined)).toBeNull();
  });
});

describe('a run’s approval', () => {
  it('knows where the run stands', () => {
    expect(approvalPhase(run('queued', null), now)).toBeNull();
    expect(approvalPhase(run('awaiting_approval'), now)).toBe('waiting');
    expect(approvalPhase(run('awaiting_approval', { ...waiting, expiresAt: '2026-12-02T11:59:00Z' }), now)).toBe('expired');
    expect(approvalPhase(run('expired'), now)).toBe('expired');
    const approved = { ...waiting, decision: 'approved' as const, decidedBy: 'bob@example.com', decidedAt: '2026-12-02T11:00:00Z' };
    expect(approvalPhase(run('awaiting_approval', approved), now)).toBe('starting');
    expect(approvalPhase(run('running', approved), now)).toBe('approved');
    expect(approvalPhase(run('succeeded', approved), now)).toBe('approved');
    expect(approvalPhase(run('awaiting_approval', { ...approved, decision: 'rejected' }), now)).toBe('rejected');
    expect(approvalPhase(run('rejected', { ...approved, decision: 'rejected' }), now)).toBe('rejected');
    // Cancelled while it waited: no decision to show.
    expect(approvalPhase(run('cancelled'), now)).toBeNull();
    expect(isUnapproved('rejected') && isUnapproved('expired') && !isUnapproved('cancelled')).toBe(true);
  });

  it('lets an operator other than the run’s creator decide, while the run waits', () => {
    const bob = { email: 'bob@example.com', role: 'operator' };
    expect(approvalRights(run('awaiting_approval'), bob, now)).toEqual({ canDecide: true, own: false });
    expect(approvalRights(run('awaiting_approval'), { ...bob, role: 'admin' }, now).canDecide).toBe(true);
    expect(approvalRights(run('awaiting_approval'), { ...bob, role: 'viewer' }, now).canDecide).toBe(false);
    expect(approvalRights(run('awaiting_approval'), { email: 'Ann@Example.com', role: 'admin' }, now)).toEqual({
      canDecide: false,
      own: true,
    });
    expect(approvalRights(run('queued'), bob, now).canDecide).toBe(false);
    expect(approvalRights(run('awaiting_approval', { ...waiting, decision: 'approved' }), bob, now).canDecide).toBe(false);
    expect(approvalRights(run('awaiting_approval', { ...waiting, expiresAt: '2026-12-02T11:00:00Z' }), bob, now).canDecide).toBe(false);
    expect(approvalRights(run('awaiting_approval', waiting, null), bob, now)).toEqual({ canDecide: true, own: false });
    expect(approvalRights(run('awaiting_approval'), null, now)).toEqual({ canDecide: false, own: false });
  });

  it('counts a run’s devices and lists its values with secrets by name only', () => {
    expect(targetCount({ pending: 3, cancelled: 1 })).toBe(4);
    expect(targetCount({})).toBe(0);
    expect(parameterList({ parameters: { who: 'world', days: 7, force: true }, secretParameters: ['token'] })).toEqual([
      { name: 'who', value: 'world', secret: false },
      { name: 'days', value: 7, secret: false },
      { name: 'force', value: true, secret: false },
      { name: 'token', value: null, secret: true },
    ]);
    expect(parameterList({ parameters: { token: 'leaked?' }, secretParameters: ['token'] })).toEqual([
      { name: 'token', value: null, secret: true },
    ]);
    expect(parameterList({ parameters: null, secretParameters: [] })).toEqual([]);
  });

  it('puts the API’s refusals in words', () => {
    expect(decisionErrorText('own_run_approval', 'x')).toMatch(/another operator/);
    expect(decisionErrorText('approval_expired', 'x')).toMatch(/passed/);
    expect(decisionErrorText(undefined, 'The API is busy')).toBe('The API is busy');
  });
});
