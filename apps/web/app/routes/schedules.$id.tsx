/**
 * /schedules/:id — a schedule: when in words, its Temporal Schedule (ID, link to the Temporal UI), paused and the note,
 * the next times in the schedule's time zone and the browser's, recent firings and runs, the last error; for
 * operators Pause (with a note) / Unpause, Run now, Edit and Delete. Kept current while a run of it is under way.
 */
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation, useRevalidator, useSearchParams } from '@remix-run/react';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { JobRunSummary } from '@opsconductor/contracts/api';
import { ApiError, publicApi, requireApi } from '~/lib/api.server';
import { getSessionToken } from '~/lib/session.server';
import { scheduleIdParam } from '~/lib/schedule-form.server';
import { SECRET_MASK, thresholdText, valueText } from '~/lib/job-run';
import { cronInWords, durationText, overlapTexts, selectionText, specText, zoneOffsetLabel, zonedTime } from '~/lib/schedule';
import { formatSeconds, pluralize } from '~/lib/format';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { RunStatusBadge } from '~/components/status';
import { SchedulePausedBadge } from '~/components/schedules';
import {
  AbsoluteTime,
  Alert,
  Breadcrumb,
  Button,
  Card,
  Input,
  PageHeader,
  RelativeTime,
  Table,
  Td,
  Th,
  buttonClass,
  useHydrated,
} from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.schedule.name ?? 'Schedule'} · OpsConductor` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = scheduleIdParam(params);
  const api = await requireApi(request, context);
  const schedule = await api.get('/job-schedules/{id}', { params: { path: { id } } });
  const sel = schedule.targetSelection ?? {};
  const groupIds = [...(sel.groupIds ?? []), ...(sel.filter?.groupId ? [sel.filter.groupId] : [])];
  // The targets as they resolve now, and group names: for reading only, so failures are left out rather than shown.
  const quiet = publicApi(request, context, await getSessionToken(request));
  const [preview, groups] = await Promise.all([
    quiet
      .post('/job-runs/preview', { body: { ...sel, sampleSize: 5 } })
      .then((p) => ({ total: p.total, sample: p.sample.map((d) => d.hostname) }))
      .catch(() => null),
    groupIds.length
      ? quiet
          .get('/groups')
          .then((g) => Object.fromEntries(g.items.map((x) => [x.id, x.name])))
          .catch(() => ({}))
      : Promise.resolve({}),
  ]);
  return { schedule, targets: { text: selectionText(sel, groups), now: preview } };
}

type ActionData = { ok: true; intent: string; message: string } | { ok: false; formError: string };

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = scheduleIdParam(params);
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = String(form.get('intent') ?? '');
  const path = { params: { path: { id } } };
  try {
    if (intent === 'pause') {
      const note = String(form.get('note') ?? '')
        .trim()
        .slice(0, 500);
      await api.post('/job-schedules/{id}/pause', { ...path, body: note ? { note } : {} });
      return data<ActionData>({ ok: true, intent, message: 'Paused: no runs start until it is unpaused.' });
    }
    if (intent === 'unpause') {
      await api.post('/job-schedules/{id}/unpause', { ...path, body: {} });
      return data<ActionData>({ ok: true, intent, message: 'Unpaused: runs start at their times again.' });
    }
    if (intent === 'trigger') {
      await api.post('/job-schedules/{id}/trigger', path);
      return data<ActionData>({ ok: true, intent, message: 'Started a run now: it shows under Recent runs in a moment.' });
    }
    if (intent === 'delete') {
      await api.delete('/job-schedules/{id}', path);
      const name = String(form.get('name') ?? '').slice(0, 200);
      return redirect(`/schedules?${new URLSearchParams({ deleted: name })}`);
    }
    return data<ActionData>({ ok: false, formError: 'Unknown action' }, { status: 400 });
  } catch (error) {
    if (error instanceof ApiError) return data<ActionData>({ ok: false, formError: error.detail ?? error.title }, { status: error.status });
    throw error;
  }
}

function PauseControl() {
  const [open, setOpen] = useState(false);
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting' && navigation.formData?.get('intent') === 'pause';
  useEffect(() => {
    if (!busy) return;
    return () => setOpen(false);
  }, [busy]);
  if (!open) return <Button onClick={() => setOpen(true)}>Pause</Button>;
  return (
    <Form method="post" className="flex items-center gap-2" aria-label="Pause the schedule">
      <Input name="note" aria-label="Pause note" placeholder="Why (optional)" maxLength={500} className="w-56" autoFocus />
      <Button type="submit" name="intent" value="pause" variant="primary" disabled={busy}>
        Pause schedule
      </Button>
      <Button variant="ghost" onClick={() => setOpen(false)}>
        Cancel
      </Button>
    </Form>
  );
}

function DeleteControl({ name }: { name: string }) {
  const [confirming, setConfirming] = useState(false);
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting' && navigation.formData?.get('intent') === 'delete';
  if (!confirming) {
    return (
      <Button variant="danger" onClick={() => setConfirming(true)}>
        Delete schedule
      </Button>
    );
  }
  return (
    <Form method="post" className="flex items-center gap-2" role="alertdialog" aria-label={`Delete ${name}`}>
      <input type="hidden" name="name" value={name} />
      <span className="text-xs text-zinc-600">Delete “{name}”? Runs it started stay.</span>
      <Button type="submit" name="intent" value="delete" variant="danger" disabled={busy}>
        Confirm delete
      </Button>
      <Button variant="ghost" onClick={() => setConfirming(false)}>
        Cancel
      </Button>
    </Form>
  );
}

const POLL_MS = 3000;
/** After "Run now", how long the page looks for the run it started. */
const TRIGGER_WATCH_MS = 60_000;

/** Reloads the page every few seconds while one of its runs is under way, and for a while after "Run now". */
function useKeepCurrent(underway: boolean, triggeredAt: number | null) {
  const revalidator = useRevalidator();
  const revalidate = useRef(revalidator.revalidate);
  revalidate.current = revalidator.revalidate;
  const state = useRef(revalidator.state);
  state.current = revalidator.state;
  const watching = triggeredAt !== null;
  useEffect(() => {
    if (!underway && !watching) return;
    const timer = setInterval(() => {
      if (!underway && triggeredAt !== null && Date.now() - triggeredAt > TRIGGER_WATCH_MS) return;
      if (state.current === 'idle' && document.visibilityState === 'visible') void revalidate.current();
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [underway, watching, triggeredAt]);
}

function Row({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div className="grid grid-cols-[130px_minmax(0,1fr)] gap-2 px-4 py-1.5">
      <dt className="text-zinc-500">{label}</dt>
      <dd className="min-w-0 break-words text-zinc-800" data-testid={testId}>
        {children}
      </dd>
    </div>
  );
}

export default function SchedulePage() {
  const { schedule: s, targets } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const user = useOptionalUser();
  const canManage = canRunCommands(user?.role);
  const [sp] = useSearchParams();
  const hydrated = useHydrated();
  const browserZone = hydrated ? Intl.DateTimeFormat().resolvedOptions().timeZone : null;
  const zone = s.spec.timeZone || 'UTC';
  const paused = s.temporal?.paused ?? s.paused;
  const navigation = useNavigation();
  const busy = (intent: string) => navigation.state === 'submitting' && navigation.formData?.get('intent') === intent;

  const [triggeredAt, setTriggeredAt] = useState<number | null>(null);
  useEffect(() => {
    if (result?.ok && result.intent === 'trigger') setTriggeredAt(Date.now());
  }, [result]);
  const underway = s.recentRuns.some((r) => r.finishedAt === null);
  useKeepCurrent(underway, triggeredAt);

  const flash = sp.has('created') ? 'Created the schedule.' : sp.has('saved') ? 'Saved the schedule.' : null;
  const cron = s.spec.cron ?? [];
  const words = cron.map((c) => cronInWords(c)).filter((w): w is string => w !== null);
  const parameterNames = [...Object.keys(s.parameters), ...s.secretParameters].sort();

  return (
    <>
      <Breadcrumb trail={[{ to: '/schedules', label: 'Schedules' }]} current={s.name} />
      <PageHeader
        title={
          <span className="flex items-center gap-2">
            <span data-testid="schedule-name">{s.name}</span>
            <SchedulePausedBadge paused={paused} />
          </span>
        }
        description={
          <>
            Runs{' '}
            <Link to={`/jobs/${s.job.id}`} className="font-medium text-zinc-700 hover:underline" data-testid="schedule-job">
              {s.job.name}
            </Link>{' '}
            <span data-testid="schedule-version">{s.version === null ? '(its current version at each run)' : `version ${s.version}`}</span>
            {s.description ? <> · {s.description}</> : null}
          </>
        }
        actions={
          canManage ? (
            <>
              <Form method="post">
                <Button type="submit" name="intent" value="trigger" disabled={busy('trigger')}>
                  {busy('trigger') ? 'Starting…' : 'Run now'}
                </Button>
              </Form>
              {paused ? (
                <Form method="post">
                  <Button type="submit" name="intent" value="unpause" disabled={busy('unpause')}>
                    Unpause
                  </Button>
                </Form>
              ) : (
                <PauseControl />
              )}
              <Link to={`/schedules/${s.id}/edit`} className={buttonClass('secondary')}>
                Edit
              </Link>
              <DeleteControl name={s.name} />
            </>
          ) : null
        }
      />

      <div className="mb-4 space-y-2 empty:hidden">
        {flash && !result ? <Alert tone="success">{flash}</Alert> : null}
        {result?.ok ? (
          <Alert tone="success">
            <span data-testid="schedule-flash">{result.message}</span>
          </Alert>
        ) : null}
        {result && !result.ok ? <Alert>{result.formError}</Alert> : null}
        {s.lastError ? (
          <Alert title="The last firing recorded no run">
            <span data-testid="schedule-last-error">{s.lastError}</span>
          </Alert>
        ) : null}
        {s.temporal === null ? (
          <Alert tone="warning" title="Temporal could not be asked">
            The next times, the recent firings and the pause note are not shown; the rest is the console&apos;s record.
          </Alert>
        ) : null}
      </div>

      <div className="grid items-start gap-4 xl:grid-cols-[minmax(0,1fr)_420px]">
        <div className="space-y-4">
          <Card title="When">
            <dl className="divide-y divide-zinc-100 py-1 text-[13px]">
              <Row label="Times" testId="schedule-spec">
                {specText(s.spec)}
              </Row>
              {words.length ? (
                <Row label="In words" testId="schedule-spec-words">
                  {words.join('; ')}
                </Row>
              ) : null}
              <Row label="Time zone">{zone}</Row>
              {s.spec.startAt ? (
                <Row label="Not before">
                  {zonedTime(s.spec.startAt, zone)} ({zone})
                </Row>
              ) : null}
              {s.spec.endAt ? (
                <Row label="Not after">
                  {zonedTime(s.spec.endAt, zone)} ({zone})
                </Row>
              ) : null}
              {s.spec.jitterSeconds ? <Row label="Jitter">up to {durationText(s.spec.jitterSeconds)} later, at random</Row> : null}
              <Row label="If still going" testId="schedule-overlap">
                <span className="font-medium">{overlapTexts[s.overlap].label}</span> — {overlapTexts[s.overlap].description}
              </Row>
              <Row label="State">
                <span data-testid="schedule-state">{paused ? 'Paused' : 'Active'}</span>
                {s.temporal?.note ? (
                  <span className="text-zinc-500">
                    {' '}
                    — <span data-testid="schedule-note">{s.temporal.note}</span>
                  </span>
                ) : null}
              </Row>
            </dl>
          </Card>

          <Card title="Next runs">
            {s.temporal?.upcoming.length ? (
              <ul className="divide-y divide-zinc-100 text-[13px]" data-testid="schedule-upcoming-list">
                {s.temporal.upcoming.map((iso) => (
                  <li key={iso} className="flex flex-wrap items-baseline gap-x-3 px-4 py-1.5" data-testid="schedule-upcoming" data-at={iso}>
                    <span className="tabular-nums">
                      <span data-testid="schedule-upcoming-zoned">{zonedTime(iso, zone)}</span>{' '}
                      <span className="text-xs text-zinc-500">
                        {zone} ({zoneOffsetLabel(iso, zone)})
                      </span>
                    </span>
                    {browserZone && browserZone !== zone ? (
                      <span className="text-xs text-zinc-500 tabular-nums" data-testid="schedule-upcoming-local">
                        {zonedTime(iso, browserZone)} your time ({browserZone})
                      </span>
                    ) : null}
                    <RelativeTime iso={iso} className="ml-auto text-xs text-zinc-500" />
                  </li>
                ))}
              </ul>
            ) : (
              <p className="px-4 py-3 text-[13px] text-zinc-500">
                {s.temporal === null ? 'Not known now.' : paused ? 'None while it is paused.' : 'None: the schedule has ended.'}
              </p>
            )}
          </Card>

          <Card title="Recent runs">
            {s.recentRuns.length ? (
              <Table>
                <thead>
                  <tr>
                    <Th>Run</Th>
                    <Th>Status</Th>
                    <Th>Finished</Th>
                  </tr>
                </thead>
                <tbody>
                  {s.recentRuns.map((r) => (
                    <tr key={r.id} data-testid="schedule-run-row" data-run-id={r.id}>
                      <Td>
                        <Link to={`/runs/${r.id}`} className="font-medium text-zinc-900 hover:underline">
                          <AbsoluteTime iso={r.createdAt} />
                        </Link>
                      </Td>
                      <Td>
                        <RunStatusBadge status={r.status as JobRunSummary['status']} testId="schedule-run-status" />
                      </Td>
                      <Td className="text-zinc-500">{r.finishedAt ? <RelativeTime iso={r.finishedAt} /> : '—'}</Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            ) : (
              <p className="px-4 py-3 text-[13px] text-zinc-500">No runs yet.</p>
            )}
          </Card>

          <Card title="Recent firings">
            {s.temporal?.recentActions.length ? (
              <Table>
                <thead>
                  <tr>
                    <Th>Due</Th>
                    <Th>Started</Th>
                    <Th>Workflow</Th>
                  </tr>
                </thead>
                <tbody>
                  {s.temporal.recentActions.map((a) => (
                    <tr key={`${a.workflowId}:${a.takenAt}`} data-testid="schedule-action-row">
                      <Td className="tabular-nums">{zonedTime(a.scheduledAt, zone, true)}</Td>
                      <Td className="tabular-nums">{zonedTime(a.takenAt, zone, true)}</Td>
                      <Td className="font-mono text-xs break-all text-zinc-600">{a.workflowId}</Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            ) : (
              <p className="px-4 py-3 text-[13px] text-zinc-500">
                {s.temporal === null ? 'Not known now.' : 'It has not fired yet.'} A firing that could not record a run sets the last error.
              </p>
            )}
          </Card>
        </div>

        <div className="space-y-4">
          <Card title="Temporal">
            <dl className="divide-y divide-zinc-100 py-1 text-[13px]">
              <Row label="Schedule ID">
                <code className="font-mono text-xs" data-testid="schedule-id">
                  {s.scheduleId}
                </code>
              </Row>
              {s.temporalUrl ? (
                <Row label="Temporal UI">
                  <a
                    href={s.temporalUrl}
                    target="_blank"
                    rel="noreferrer"
                    className="text-zinc-900 underline"
                    data-testid="schedule-temporal-link"
                  >
                    Open the schedule
                  </a>
                </Row>
              ) : null}
            </dl>
          </Card>

          <Card title="Each run">
            <dl className="divide-y divide-zinc-100 py-1 text-[13px]">
              <Row label="Targets" testId="schedule-targets">
                {targets.text}
                {targets.now ? (
                  <span className="block text-xs text-zinc-500">
                    now {pluralize(targets.now.total, 'device')}
                    {targets.now.sample.length ? `: ${targets.now.sample.join(', ')}` : ''}
                    {targets.now.total > targets.now.sample.length ? ' …' : ''}
                  </span>
                ) : null}
              </Row>
              <Row label="Parameters">
                {parameterNames.length ? (
                  <ul data-testid="schedule-parameters">
                    {parameterNames.map((name) => (
                      <li key={name} data-testid="schedule-parameter-row" data-name={name}>
                        <code className="font-mono text-xs text-zinc-500">{name}</code>{' '}
                        {s.secretParameters.includes(name) ? SECRET_MASK : valueText(s.parameters[name]!)}
                      </li>
                    ))}
                  </ul>
                ) : (
                  <span className="text-zinc-400">none given</span>
                )}
              </Row>
              <Row label="Max concurrency">{s.maxConcurrency === null ? 'no limit' : pluralize(s.maxConcurrency, 'device')}</Row>
              <Row label="Stops after">{thresholdText(s.failureThreshold) ?? 'never stops early'}</Row>
              <Row label="Deadline">{formatSeconds(s.deadlineSeconds)}</Row>
            </dl>
          </Card>

          <Card title="Details">
            <dl className="divide-y divide-zinc-100 py-1 text-[13px]">
              <Row label="Created">
                <AbsoluteTime iso={s.createdAt} />
                {s.createdBy ? ` by ${s.createdBy}` : ''}
              </Row>
              <Row label="Updated">
                <AbsoluteTime iso={s.updatedAt} />
              </Row>
            </dl>
          </Card>
        </div>
      </div>
    </>
  );
}
