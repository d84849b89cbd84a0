/**
 * /approvals — the runs waiting for approval (four-eyes, issue 7), newest first: the job and version, who started
 * the run and when, its devices and values (secrets by name only), when it expires. Operators who did not start a
 * run approve or reject it here with an optional comment; their own runs wait for another operator; viewers read.
 */
import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Link, useActionData, useLoaderData } from '@remix-run/react';
import { z } from 'zod';
import { requireApi, type RouteErrorData } from '~/lib/api.server';
import { decideRun, postedRunId } from '~/lib/approval.server';
import { approvalPhase, approvalRights, isDecision, parameterList, targetCount } from '~/lib/approval';
import { SECRET_MASK, valueText } from '~/lib/job-run';
import { pluralize } from '~/lib/format';
import { useOptionalUser } from '~/lib/user';
import { ApprovalForm } from '~/components/approval';
import { AbsoluteTime, Alert, Card, EmptyState, PageHeader, Pagination, RelativeTime, Table, Td, Th } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Approvals · OpsConductor' }];

const PAGE_SIZE = 50;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const page = z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .catch(1)
    .parse(new URL(request.url).searchParams.get('page') ?? 1);
  // The API lists runs newest first.
  const { items, total } = await api.get('/job-runs', { params: { query: { status: 'awaiting_approval', page, pageSize: PAGE_SIZE } } });
  return { items, total, page, pageSize: PAGE_SIZE };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  const intent = form.get('intent');
  const runId = postedRunId(form);
  if (!isDecision(intent) || !runId) throw data<RouteErrorData>({ title: 'Unknown action' }, { status: 400 });
  return decideRun(request, context, runId, intent, form);
}

type Run = ReturnType<typeof useLoaderData<typeof loader>>['items'][number];

function Parameters({ run }: { run: Run }) {
  const list = parameterList(run);
  if (list.length === 0) return <span className="text-zinc-300">—</span>;
  return (
    <dl className="space-y-0.5 text-xs" data-testid="approval-parameters">
      {list.map((p) => (
        <div key={p.name} className="flex min-w-0 gap-1.5" data-testid="approval-parameter" data-name={p.name}>
          <dt className="shrink-0 font-mono text-zinc-500">{p.name}</dt>
          <dd className={p.secret ? 'text-zinc-500' : 'truncate font-mono text-zinc-900'} title={p.secret ? undefined : String(p.value)}>
            {p.secret || p.value === null ? SECRET_MASK : valueText(p.value)}
          </dd>
        </div>
      ))}
    </dl>
  );
}

export default function Approvals() {
  const { items, total, page, pageSize } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const user = useOptionalUser();
  const now = Date.now();
  const done = result?.ok ? result : undefined;
  // A refusal about a run that has left the list (decided by someone else meanwhile) shows above it.
  const orphan = result && !result.ok && !items.some((r) => r.id === result.runId) ? result : undefined;
  return (
    <>
      <PageHeader
        title="Approvals"
        description={
          total === 0
            ? 'No run waits for approval.'
            : `${pluralize(total, 'run')} ${total === 1 ? 'waits' : 'wait'} for approval by an operator other than the one who started it.`
        }
      />
      {done ? (
        <div className="mb-4" data-testid="approval-result">
          <Alert tone="success">
            {done.intent === 'approve' ? 'Approved' : 'Rejected'} the run{done.run.jobName ? ` of ${done.run.jobName}` : ''}
            {done.intent === 'approve' ? ': it starts now' : ': nothing runs'}.{' '}
            <Link to={`/runs/${done.runId}`} className="font-medium underline">
              See the run
            </Link>
          </Alert>
        </div>
      ) : null}
      {orphan ? (
        <div className="mb-4" data-testid="approval-error">
          <Alert title={orphan.intent === 'approve' ? 'The run was not approved' : 'The run was not rejected'}>
            {orphan.error}{' '}
            <Link to={`/runs/${orphan.runId}`} className="font-medium underline">
              See the run
            </Link>
          </Alert>
        </div>
      ) : null}
      <Card>
        {items.length === 0 ? (
          <EmptyState title="Nothing to approve">
            Runs of jobs that need approval (four-eyes) wait here until another operator approves or rejects them.
          </EmptyState>
        ) : (
          <>
            <Table>
              <thead>
                <tr>
                  <Th>Job</Th>
                  <Th>Started by</Th>
                  <Th>Devices</Th>
                  <Th>Parameters</Th>
                  <Th>Expires</Th>
                  <Th className="w-[22rem]">Decision</Th>
                </tr>
              </thead>
              <tbody>
                {items.map((run) => {
                  const { canDecide, own } = approvalRights(run, user, now);
                  const phase = approvalPhase(run, now);
                  return (
                    <tr key={run.id} data-testid="approval-row" data-run-id={run.id} className="align-top">
                      <Td>
                        <Link to={`/runs/${run.id}`} className="font-medium text-zinc-900 hover:underline" data-testid="approval-job">
                          {run.job?.name ?? run.command}
                          {run.job ? <span className="ml-1.5 text-xs font-normal text-zinc-500">v{run.job.version}</span> : null}
                        </Link>
                        <p className="font-mono text-[11px] text-zinc-400">{run.id.slice(0, 8)}</p>
                      </Td>
                      <Td>
                        <p className="text-zinc-700" data-testid="approval-created-by">
                          {run.createdBy ?? '—'}
                        </p>
                        <p className="text-[11px] text-zinc-500">
                          <RelativeTime iso={run.createdAt} /> · <AbsoluteTime iso={run.createdAt} />
                        </p>
                      </Td>
                      <Td className="tabular-nums">
                        <span data-testid="approval-devices">{pluralize(targetCount(run.counts), 'device')}</span>
                      </Td>
                      <Td className="max-w-xs">
                        <Parameters run={run} />
                      </Td>
                      <Td>
                        {run.approval ? (
                          <span data-testid="approval-expires">
                            {phase === 'expired' ? 'Expired' : <RelativeTime iso={run.approval.expiresAt} />}
                            <AbsoluteTime iso={run.approval.expiresAt} className="block text-[11px] text-zinc-500" />
                          </span>
                        ) : (
                          '—'
                        )}
                      </Td>
                      <Td>
                        {phase === 'starting' ? (
                          <p className="text-xs text-emerald-700" data-testid="approval-decided">
                            Approved by {run.approval?.decidedBy ?? 'someone'}: starting…
                          </p>
                        ) : phase === 'rejected' ? (
                          <p className="text-xs text-zinc-600" data-testid="approval-decided">
                            Rejected by {run.approval?.decidedBy ?? 'someone'}
                          </p>
                        ) : phase === 'expired' ? (
                          <p className="text-xs text-zinc-500" data-testid="approval-decided">
                            Nobody approved it in time.
                          </p>
                        ) : own ? (
                          <p className="text-xs text-amber-700" data-testid="approval-own">
                            Waiting for another operator: you started this run.
                          </p>
                        ) : canDecide ? (
                          <ApprovalForm runId={run.id} withRunId result={result} compact />
                        ) : (
                          <p className="text-xs text-zinc-500" data-testid="approval-read-only">
                            An operator or admin decides.
                          </p>
                        )}
                      </Td>
                    </tr>
                  );
                })}
              </tbody>
            </Table>
            <Pagination page={page} pageSize={pageSize} total={total} noun="run" />
          </>
        )}
      </Card>
    </>
  );
}
