/**
 * /alerts — the alerts, newest first: filter by state (or active/closed), severity, rule and device (in the URL);
 * severity and state, the subject (device, run or deployment) linking to its page, when it opened and who
 * acknowledged it. Operators select rows and acknowledge or resolve them at once; the refused ones are listed with
 * the API's reason. Viewers read.
 */
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { useEffect, useRef, useState } from 'react';
import { z } from 'zod';
import { data } from '@remix-run/node';
import { requireApi, type Query, type RouteErrorData } from '~/lib/api.server';
import { decideAlerts, isAlertIntent } from '~/lib/alert-actions.server';
import { filterErrorMessage, filtersFrom } from '~/lib/list-filters.server';
import { MAX_NOTE, alertSeverities, alertStates, severityLabel, stateLabel, subjectHref } from '~/lib/alerts';
import { pluralize } from '~/lib/format';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { FilterField } from '~/components/list-filters';
import { AlertStateBadge, SeverityBadge } from '~/components/alerts';
import {
  AbsoluteTime,
  Alert,
  Button,
  Card,
  EmptyState,
  Input,
  PageHeader,
  Pagination,
  RelativeTime,
  Select,
  Table,
  Td,
  Th,
  buttonClass,
} from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Alerts · OpsConductor' }];

const PAGE_SIZE = 50;
const FILTERS = ['state', 'active', 'severity', 'ruleId', 'deviceId'] as const;
const LABELS: Record<string, string> = { state: 'State', active: 'Show', severity: 'Severity', ruleId: 'Rule', deviceId: 'Device' };

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const url = new URL(request.url);
  const page = z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .catch(1)
    .parse(url.searchParams.get('page') ?? 1);
  // No filter in the URL: the active alerts (what needs someone).
  const filters = filtersFrom(url, FILTERS);
  if (![...url.searchParams.keys()].some((k) => (FILTERS as readonly string[]).includes(k))) filters.active = 'true';
  const rules = (await api.get('/alert-rules')).items.map((r) => ({ id: r.id, name: r.name }));
  const base = { page, pageSize: PAGE_SIZE, filters, rules, filterError: null as string | null };
  // The filters go as the URL has them: the API refuses what it does not know (shown as a filter error).
  const query = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== '')) as Query<'/alerts'>;
  try {
    return { ...base, ...(await api.get('/alerts', { params: { query: { ...query, page, pageSize: PAGE_SIZE } } })) };
  } catch (error) {
    return { ...base, items: [], total: 0, filterError: filterErrorMessage(error, LABELS) };
  }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = form.get('intent');
  if (!isAlertIntent(intent)) throw data<RouteErrorData>({ title: 'Unknown action' }, { status: 400 });
  return decideAlerts(api, intent, form);
}

type Row = ReturnType<typeof useLoaderData<typeof loader>>['items'][number];

function Subject({ subject }: { subject: Row['subject'] }) {
  const href = subjectHref(subject);
  const kind = subject.type === 'job_run' ? 'run' : subject.type;
  return (
    <span className="flex flex-col leading-tight">
      {href ? (
        <Link to={href} className="text-zinc-900 hover:underline" data-testid="alert-subject">
          {subject.label}
        </Link>
      ) : (
        <span data-testid="alert-subject">{subject.label}</span>
      )}
      <span className="text-[11px] text-zinc-400">{kind}</span>
    </span>
  );
}

export default function Alerts() {
  const { items, total, page, pageSize, filters, rules, filterError } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const pending = navigation.state === 'submitting' ? String(navigation.formData?.get('intent') ?? '') : '';
  const canAct = canRunCommands(useOptionalUser()?.role);
  const filtered = Object.entries(filters).some(([k, v]) => v && !(k === 'active' && v === 'true'));
  const byId = new Map(items.map((a) => [a.id, a]));
  const formRef = useRef<HTMLFormElement>(null);
  const [selected, setSelected] = useState(0);
  // Count from the DOM: checkboxes are uncontrolled, so clicks before hydration still count.
  const recount = () => setSelected(formRef.current?.querySelectorAll<HTMLInputElement>('input[name="ids"]:checked').length ?? 0);
  useEffect(() => {
    if (result?.done?.length) formRef.current?.querySelectorAll<HTMLInputElement>('input[name="ids"]').forEach((c) => (c.checked = false));
    recount();
  }, [result, items]);
  const toggleAll = (checked: boolean) => {
    formRef.current?.querySelectorAll<HTMLInputElement>('input[name="ids"]').forEach((c) => (c.checked = checked));
    recount();
  };
  return (
    <>
      <PageHeader
        title="Alerts"
        description={`${pluralize(total, 'alert')}${filters.active === 'true' && !filters.state ? ' active' : ''}${filtered ? ' matching the filter' : ''}`}
      />
      <div className="mb-3 space-y-2">
        <Form method="get" role="search" aria-label="Filter alerts" className="flex flex-wrap items-end gap-2">
          <FilterField label="Show">
            <Select name="active" defaultValue={filters.active} key={`active:${filters.active}`} className="w-36">
              <option value="">All</option>
              <option value="true">Active</option>
              <option value="false">Resolved</option>
            </Select>
          </FilterField>
          <FilterField label="State">
            <Select name="state" defaultValue={filters.state} key={`state:${filters.state}`} className="w-40">
              <option value="">Any state</option>
              {alertStates.map((s) => (
                <option key={s} value={s}>
                  {stateLabel[s]}
                </option>
              ))}
            </Select>
          </FilterField>
          <FilterField label="Severity">
            <Select name="severity" defaultValue={filters.severity} key={`sev:${filters.severity}`} className="w-36">
              <option value="">Any severity</option>
              {alertSeverities.map((s) => (
                <option key={s} value={s}>
                  {severityLabel[s]}
                </option>
              ))}
            </Select>
          </FilterField>
          <FilterField label="Rule">
            <Select name="ruleId" defaultValue={filters.ruleId} key={`rule:${filters.ruleId}`} className="w-52">
              <option value="">Any rule</option>
              {rules.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name}
                </option>
              ))}
            </Select>
          </FilterField>
          <FilterField label="Device ID">
            <Input name="deviceId" type="search" defaultValue={filters.deviceId} key={`dev:${filters.deviceId}`} className="w-72" />
          </FilterField>
          <Button type="submit">Filter</Button>
          {filtered ? (
            <Link to="?" className={buttonClass('ghost')}>
              Clear
            </Link>
          ) : null}
        </Form>
        {filterError ? (
          <div data-testid="filter-error">
            <Alert title="Check the filters">{filterError}</Alert>
          </div>
        ) : null}
        {result?.error ? (
          <div data-testid="bulk-error">
            <Alert title={result.intent === 'acknowledge' ? 'Nothing was acknowledged' : 'Nothing was resolved'}>{result.error}</Alert>
          </div>
        ) : null}
        {result?.done?.length ? (
          <div data-testid="bulk-result">
            <Alert tone="success">
              {result.intent === 'acknowledge' ? 'Acknowledged' : 'Resolved'} {pluralize(result.done.length, 'alert')}.
            </Alert>
          </div>
        ) : null}
        {result?.refused?.length ? (
          <div data-testid="bulk-refused">
            <Alert tone="warning" title={`${pluralize(result.refused.length, 'alert')} refused`}>
              <ul className="list-disc pl-4">
                {result.refused.map((r) => (
                  <li key={r.id} data-testid="bulk-refused-item">
                    {byId.get(r.id)?.summary ?? r.id}: {r.reason}
                  </li>
                ))}
              </ul>
            </Alert>
          </div>
        ) : null}
      </div>
      <Form method="post" ref={formRef} onChange={recount}>
        <Card
          title={canAct && total > 0 ? `${selected === 0 ? 'No alerts selected' : `${pluralize(selected, 'alert')} selected`}` : undefined}
          actions={
            canAct && total > 0 ? (
              <div className="flex items-center gap-2" data-testid="bulk-actions">
                <Input
                  name="comment"
                  maxLength={MAX_NOTE}
                  placeholder="Comment (optional)"
                  aria-label="Comment"
                  className="h-7! w-64 text-xs!"
                />
                <Button type="submit" name="intent" value="acknowledge" size="sm" disabled={selected === 0 || pending !== ''}>
                  {pending === 'acknowledge' ? 'Acknowledging…' : 'Acknowledge'}
                </Button>
                <Button type="submit" name="intent" value="resolve" size="sm" disabled={selected === 0 || pending !== ''}>
                  {pending === 'resolve' ? 'Resolving…' : 'Resolve'}
                </Button>
              </div>
            ) : undefined
          }
        >
          {total === 0 ? (
            <EmptyState title={filtered ? 'No alerts match' : filters.active === 'true' ? 'No active alerts' : 'No alerts yet'}>
              {filters.active === 'true' && !filtered ? (
                <>
                  Alerts open when a{' '}
                  <Link to="/alerts/rules" className="font-medium text-zinc-900 underline">
                    rule
                  </Link>{' '}
                  matches.{' '}
                  <Link to="?active=" className="font-medium text-zinc-900 underline">
                    Show all
                  </Link>
                </>
              ) : null}
            </EmptyState>
          ) : (
            <>
              <Table>
                <thead>
                  <tr>
                    {canAct ? (
                      <Th className="w-8">
                        <input
                          type="checkbox"
                          aria-label="Select all alerts"
                          checked={selected > 0 && selected === items.length}
                          onChange={(e) => toggleAll(e.currentTarget.checked)}
                        />
                      </Th>
                    ) : null}
                    <Th>Alert</Th>
                    <Th>Severity</Th>
                    <Th>State</Th>
                    <Th>Subject</Th>
                    <Th>Rule</Th>
                    <Th>Opened</Th>
                    <Th>Acknowledged</Th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((a) => (
                    <tr key={a.id} data-testid="alert-row" data-alert-id={a.id} data-state={a.state} className="align-top hover:bg-zinc-50">
                      {canAct ? (
                        <Td>
                          <input
                            type="checkbox"
                            name="ids"
                            value={a.id}
                            aria-label={`Select ${a.summary}`}
                            disabled={a.state === 'resolved'}
                          />
                        </Td>
                      ) : null}
                      <Td className="max-w-[28rem]">
                        <Link to={`/alerts/${a.id}`} prefetch="intent" className="font-medium text-zinc-900 hover:underline">
                          {a.summary}
                        </Link>
                      </Td>
                      <Td>
                        <SeverityBadge severity={a.severity} />
                      </Td>
                      <Td>
                        <AlertStateBadge state={a.state} />
                      </Td>
                      <Td>
                        <Subject subject={a.subject} />
                      </Td>
                      <Td className="text-zinc-600">
                        <Link to={`/alerts/rules/${a.rule.id}`} className="hover:underline">
                          {a.rule.name}
                        </Link>
                      </Td>
                      <Td className="text-zinc-500">
                        <span className="flex flex-col leading-tight">
                          <RelativeTime iso={a.openedAt} />
                          <AbsoluteTime iso={a.openedAt} className="text-[11px] text-zinc-400" />
                        </span>
                      </Td>
                      <Td className="text-zinc-500">
                        {a.acknowledgedAt ? (
                          <span className="flex flex-col leading-tight">
                            <RelativeTime iso={a.acknowledgedAt} />
                            <span className="text-[11px] text-zinc-400">{a.acknowledgedBy ?? ''}</span>
                          </span>
                        ) : (
                          '—'
                        )}
                      </Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
              <Pagination page={page} pageSize={pageSize} total={total} noun="alert" />
            </>
          )}
        </Card>
      </Form>
    </>
  );
}
