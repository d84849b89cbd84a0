/**
 * /alerts/:id — one alert: its summary, rule, subject, state and who acknowledged or resolved it; the timeline
 * (opened, notified, escalated, acknowledged, resolved, closed); every delivery attempt to its channels; and a link to
 * its workflow in the Temporal UI. Operators acknowledge (with a comment) or resolve (with a reason) it; the API's
 * refusal (409 `alert_refused`) is shown with its reason.
 */
import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation, type ShouldRevalidateFunction } from '@remix-run/react';
import { useEffect, useState } from 'react';
import { uuid } from '@opsconductor/contracts/api';
import { requireApi, type RouteErrorData } from '~/lib/api.server';
import { decideAlert, isAlertIntent } from '~/lib/alert-actions.server';
import { MAX_NOTE, ruleTypeLabel, type AlertIntent, subjectHref } from '~/lib/alerts';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { AlertStateBadge, DeliveriesTable, SeverityBadge } from '~/components/alerts';
import { AbsoluteTime, Alert, Breadcrumb, Button, Card, EmptyState, PageHeader, RelativeTime, Textarea } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.alert.summary ?? 'Alert'} · Alerts · OpsConductor` }];

function alertId(params: LoaderFunctionArgs['params']): string {
  const parsed = uuid.safeParse(params.id);
  if (!parsed.success) throw data<RouteErrorData>({ title: 'Alert not found' }, { status: 404 });
  return parsed.data;
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = alertId(params);
  const api = await requireApi(request, context);
  const [alert, channels] = await Promise.all([
    api.get('/alerts/{id}', { params: { path: { id } } }),
    // Channel names for the deliveries: admins only, others see the IDs.
    api.get('/notification-channels').then(
      (r) => r.items.map((c) => ({ id: c.id, name: c.name })),
      () => [],
    ),
  ]);
  return { alert, channels, temporalUrl: alert.temporalUrl };
}

/** A refused action (409) means the alert moved on: read it again then too. */
export const shouldRevalidate: ShouldRevalidateFunction = ({ formMethod, defaultShouldRevalidate }) =>
  formMethod?.toUpperCase() === 'POST' ? true : defaultShouldRevalidate;

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = alertId(params);
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = form.get('intent');
  if (!isAlertIntent(intent)) throw data<RouteErrorData>({ title: 'Unknown action' }, { status: 400 });
  return decideAlert(api, id, intent, form);
}

const actionLabel: Record<AlertIntent, string> = { acknowledge: 'Acknowledge', resolve: 'Resolve' };
const eventTone: Record<string, string> = {
  opened: 'bg-red-500',
  notified: 'bg-blue-500',
  escalated: 'bg-amber-500',
  acknowledged: 'bg-amber-400',
  resolved: 'bg-emerald-500',
  closed: 'bg-zinc-400',
};

function Controls({ state, result }: { state: string; result: { intent: AlertIntent; ok: boolean } | undefined }) {
  const [open, setOpen] = useState<AlertIntent | null>(null);
  const navigation = useNavigation();
  const busy = navigation.state !== 'idle' && navigation.formData ? String(navigation.formData.get('intent')) : null;
  useEffect(() => {
    if (result?.ok) setOpen(null);
  }, [result]);
  const actions: AlertIntent[] = state === 'open' ? ['acknowledge', 'resolve'] : state === 'acknowledged' ? ['resolve'] : [];
  if (actions.length === 0) return null;
  return (
    <div className="space-y-2" data-testid="alert-controls">
      <div className="flex justify-end gap-2">
        {actions.map((a) => (
          <Button
            key={a}
            variant={a === 'resolve' ? 'secondary' : 'primary'}
            onClick={() => setOpen(open === a ? null : a)}
            aria-expanded={open === a}
          >
            {actionLabel[a]}
          </Button>
        ))}
      </div>
      {open ? (
        <Form
          method="post"
          preventScrollReset
          className="w-96 space-y-2 rounded-md border border-zinc-200 bg-white p-3 shadow-sm"
          data-testid="alert-action-form"
        >
          <label className="block space-y-1 text-xs font-medium text-zinc-700">
            {open === 'acknowledge' ? 'Comment (optional, shown on the timeline)' : 'Reason (optional, shown on the timeline)'}
            <Textarea
              name={open === 'acknowledge' ? 'comment' : 'reason'}
              rows={2}
              maxLength={MAX_NOTE}
              className="font-sans text-[13px]"
            />
          </label>
          <div className="flex justify-end gap-2">
            <Button variant="ghost" onClick={() => setOpen(null)}>
              Cancel
            </Button>
            <Button type="submit" name="intent" value={open} variant="primary" disabled={busy !== null}>
              {busy === open ? 'Sending…' : `${actionLabel[open]} alert`}
            </Button>
          </div>
        </Form>
      ) : null}
    </div>
  );
}

function Item({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[140px_minmax(0,1fr)] gap-2 px-4 py-1.5">
      <dt className="text-zinc-500">{label}</dt>
      <dd className="min-w-0 text-zinc-800">{children}</dd>
    </div>
  );
}

export default function AlertPage() {
  const { alert: a, channels, temporalUrl } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const canAct = canRunCommands(useOptionalUser()?.role);
  const href = subjectHref(a.subject);
  const channelName = (id: string) => channels.find((c) => c.id === id)?.name ?? id;
  return (
    <>
      <Breadcrumb trail={[{ to: '/alerts', label: 'Alerts' }]} current={a.summary} />
      <PageHeader
        title={
          <span className="flex items-center gap-2.5">
            <span data-testid="alert-summary">{a.summary}</span>
            <SeverityBadge severity={a.severity} />
            <AlertStateBadge state={a.state} />
          </span>
        }
        description={
          <>
            Opened <RelativeTime iso={a.openedAt} /> by the rule{' '}
            <Link to={`/alerts/rules/${a.rule.id}`} className="font-medium text-zinc-700 hover:underline" data-testid="alert-rule">
              {a.rule.name}
            </Link>{' '}
            ({ruleTypeLabel[a.rule.type] ?? a.rule.type})
          </>
        }
        actions={canAct ? <Controls state={a.state} result={result} /> : null}
      />
      {result && !result.ok ? (
        <div className="mb-4" data-testid="alert-action-error">
          <Alert title={result.intent === 'acknowledge' ? 'The alert was not acknowledged' : 'The alert was not resolved'}>
            {result.error}
          </Alert>
        </div>
      ) : null}
      <div className="grid items-start gap-4 xl:grid-cols-[minmax(0,1fr)_400px]">
        <div className="space-y-4">
          <Card title="Timeline">
            {a.timeline.length === 0 ? (
              <EmptyState title="Nothing happened yet" />
            ) : (
              <ol className="divide-y divide-zinc-100" data-testid="alert-timeline">
                {a.timeline.map((e) => (
                  <li key={e.id} className="flex gap-3 px-4 py-2 text-[13px]" data-testid="alert-event" data-type={e.type}>
                    <span className={`mt-1.5 size-2 shrink-0 rounded-full ${eventTone[e.type] ?? 'bg-zinc-300'}`} aria-hidden />
                    <div className="min-w-0">
                      <p className="text-zinc-800">{e.message}</p>
                      <p className="text-[11px] text-zinc-500">
                        <span className="font-medium">{e.type}</span> · <AbsoluteTime iso={e.occurredAt} />
                        {e.actor ? <> · {e.actor}</> : null}
                      </p>
                    </div>
                  </li>
                ))}
              </ol>
            )}
          </Card>
          <Card title="Deliveries">
            <DeliveriesTable items={a.deliveries} channelName={channelName} />
          </Card>
        </div>
        <Card title="Details">
          <dl className="divide-y divide-zinc-100 py-1 text-[13px]">
            <Item label="Subject">
              {href ? (
                <Link to={href} className="text-zinc-900 underline" data-testid="alert-subject">
                  {a.subject.label}
                </Link>
              ) : (
                a.subject.label
              )}{' '}
              <span className="text-xs text-zinc-500">({a.subject.type === 'job_run' ? 'run' : a.subject.type})</span>
            </Item>
            <Item label="Opened">
              <AbsoluteTime iso={a.openedAt} />
            </Item>
            <Item label="Acknowledged">
              <span data-testid="alert-acknowledged">
                {a.acknowledgedAt ? (
                  <>
                    <AbsoluteTime iso={a.acknowledgedAt} /> by {a.acknowledgedBy ?? 'someone'}
                  </>
                ) : (
                  '—'
                )}
              </span>
            </Item>
            <Item label="Resolved">
              <span data-testid="alert-resolved">
                {a.resolvedAt ? (
                  <>
                    <AbsoluteTime iso={a.resolvedAt} /> {a.resolvedBy ? `by ${a.resolvedBy}` : '(cleared by itself)'}
                  </>
                ) : (
                  '—'
                )}
              </span>
            </Item>
            {a.resolution ? <Item label="Resolution">{a.resolution}</Item> : null}
            <Item label="Workflow">
              {temporalUrl ? (
                <a
                  href={temporalUrl}
                  target="_blank"
                  rel="noreferrer"
                  className="font-mono text-xs break-all text-zinc-900 underline"
                  data-testid="alert-workflow"
                >
                  {a.workflowId}
                </a>
              ) : (
                <span className="font-mono text-xs break-all" data-testid="alert-workflow">
                  {a.workflowId}
                </span>
              )}
            </Item>
          </dl>
        </Card>
      </div>
    </>
  );
}
