/**
 * Four-eyes approval of a job's run (issue 7): where the run stands (waiting — who must decide and until when —,
 * approved, rejected, expired) and the form an operator who did not start it approves or rejects it with. Used by the
 * approvals inbox and the run page.
 */
import { Form, useNavigation } from '@remix-run/react';
import { useId } from 'react';
import { MAX_APPROVAL_COMMENT, approvalPhase, decisionLabels, type DecisionResult, type RunApproval, type RunStatus } from '~/lib/approval';
import { AbsoluteTime, Alert, Button, RelativeTime, Textarea, cx } from './ui';

type ApprovalRun = { id: string; status: RunStatus; approval: RunApproval | null; createdBy: string | null };

/** Who decided and when, with the comment: "Approved by bob@example.com at 2026-12-02 12:00:00 (change 42)". */
function Decided({ verb, approval }: { verb: string; approval: RunApproval }) {
  return (
    <>
      {verb} by <span className="font-medium">{approval.decidedBy ?? 'someone'}</span>
      {approval.decidedAt ? (
        <>
          {' '}
          at <AbsoluteTime iso={approval.decidedAt} />
        </>
      ) : null}
      {approval.comment ? (
        <>
          {' '}
          (<span data-testid="approval-comment">{approval.comment}</span>)
        </>
      ) : null}
    </>
  );
}

/**
 * The run's approval as a banner: waiting (who must decide, until when; for its creator "Waiting for another
 * operator"), or the decision. Nothing for a run that needs no approval.
 */
export function ApprovalBanner({ run, own, now }: { run: ApprovalRun; own: boolean; now: number }) {
  const a = run.approval;
  const phase = approvalPhase(run, now);
  if (!a || !phase) return null;
  switch (phase) {
    case 'waiting':
      return (
        <div data-testid="approval-banner" data-phase={phase}>
          <Alert tone="warning" title={own ? 'Waiting for another operator' : 'This run waits for approval'}>
            {own ? (
              'You started this run: another operator must approve or reject it'
            ) : (
              <>
                An operator other than <span className="font-medium">{run.createdBy ?? 'the one who started it'}</span> must approve or
                reject it
              </>
            )}{' '}
            by <AbsoluteTime iso={a.expiresAt} /> (<RelativeTime iso={a.expiresAt} />
            ). Nothing runs until it is approved; if nobody decides by then, it expires.
          </Alert>
        </div>
      );
    case 'starting':
    case 'approved':
      return (
        <div data-testid="approval-banner" data-phase={phase}>
          <Alert tone="success">
            <span data-testid="approval-decision" data-decision="approved">
              <Decided verb="Approved" approval={a} />
            </span>
            {phase === 'starting' ? ' — starting…' : null}
          </Alert>
        </div>
      );
    case 'rejected':
      return (
        <div data-testid="approval-banner" data-phase={phase}>
          <Alert tone="info" title="Rejected: nothing ran">
            <span data-testid="approval-decision" data-decision="rejected">
              <Decided verb="Rejected" approval={a} />
            </span>
          </Alert>
        </div>
      );
    case 'expired':
      return (
        <div data-testid="approval-banner" data-phase={phase}>
          <Alert tone="info" title="Expired: nothing ran">
            <span data-testid="approval-decision" data-decision="expired">
              Expired: nobody approved it by <AbsoluteTime iso={a.expiresAt} />.
            </span>
          </Alert>
        </div>
      );
  }
}

/**
 * Approve / Reject with an optional comment, for an operator who did not start the run. `withRunId` posts the run's ID
 * (the inbox, one form per row); on the run page the URL names the run. `result` is the action's last answer: its
 * error (and the comment given) shows at the form of the run it was about.
 */
export function ApprovalForm({
  runId,
  withRunId,
  result,
  compact = false,
}: {
  runId: string;
  withRunId: boolean;
  result: DecisionResult | undefined;
  compact?: boolean;
}) {
  const navigation = useNavigation();
  const id = useId();
  const mine = (field: FormData | undefined) => !!field && (!withRunId || field.get('runId') === runId);
  const busy = navigation.state !== 'idle' && mine(navigation.formData) ? String(navigation.formData?.get('intent')) : null;
  const failure = result && !result.ok && result.runId === runId ? result : undefined;
  return (
    <Form method="post" preventScrollReset className={cx('space-y-2', !compact && 'p-4')} data-testid="approval-form">
      {withRunId ? <input type="hidden" name="runId" value={runId} /> : null}
      {failure ? (
        <div data-testid="approval-error">
          <Alert title={failure.intent === 'approve' ? 'The run was not approved' : 'The run was not rejected'}>{failure.error}</Alert>
        </div>
      ) : null}
      <div className="space-y-1">
        <label htmlFor={`${id}-comment`} className="block text-xs font-medium text-zinc-700">
          Comment
        </label>
        <Textarea
          // A new answer resets the field to what it carries (the comment of a refused decision).
          key={failure ? `${failure.intent}:${failure.comment}` : 'comment'}
          id={`${id}-comment`}
          name="comment"
          defaultValue={failure?.comment ?? ''}
          maxLength={MAX_APPROVAL_COMMENT}
          rows={compact ? 1 : 2}
          placeholder="Optional: why (kept with the decision and in the audit log)"
          className="font-sans text-[13px]"
        />
      </div>
      <div className="flex items-center justify-end gap-2">
        <Button type="submit" name="intent" value="reject" variant="danger" size={compact ? 'sm' : 'md'} disabled={busy !== null}>
          {busy === 'reject' ? 'Rejecting…' : decisionLabels.reject}
        </Button>
        <Button type="submit" name="intent" value="approve" variant="primary" size={compact ? 'sm' : 'md'} disabled={busy !== null}>
          {busy === 'approve' ? 'Approving…' : decisionLabels.approve}
        </Button>
      </div>
    </Form>
  );
}
