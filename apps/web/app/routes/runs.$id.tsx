import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation, useRevalidator, useSearchParams } from '@remix-run/react';
import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState, type ReactNode } from 'react';
import { finalJobRunStatuses, unapprovedJobRunStatuses } from '@opsconductor/contracts/constants';
import {
  uuid,
  type DeviceRunStatus,
  type JobRun,
  type JobRunSummary,
  type JobRunTarget,
  type OutputChunk,
} from '@opsconductor/contracts/api';
import { ApiError, requireApi, type ApiClient, type RouteErrorData } from '~/lib/api.server';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { durationBetween, formatDuration, oneLine, pluralize, softwareOutcomeText } from '~/lib/format';
import { runFormIssues, stepProgress, thresholdText } from '~/lib/job-run';
import {
  PAGED_TARGETS_THRESHOLD,
  TARGETS_PAGE_SIZE,
  firstView,
  isFirstView,
  pageRange,
  targetsPageUrl,
  updateRow,
  type TargetPageState,
  type TargetsView,
} from '~/lib/run-targets';
import { approvalRights, isDecision, isUnapproved, type DecisionResult } from '~/lib/approval';
import { decideRun } from '~/lib/approval.server';
import {
  appendChunks,
  byStep,
  compareChunkIds,
  deviceStepOutput,
  type DeviceOutput,
  type RunOutput,
  type StreamText,
} from '~/lib/run-output';
import { RunStatusBadge, TargetStatusBadge, targetStatusLabel, targetStatusOrder } from '~/components/status';
import { RunCounts } from '~/components/run-counts';
import { DeviceStepsTable, RerunForm, RunParameters, RunRelations, type DeviceSteps } from '~/components/job-run';
import { ApprovalBanner, ApprovalForm } from '~/components/approval';
import {
  AbsoluteTime,
  Alert,
  Breadcrumb,
  Button,
  Card,
  CopyButton,
  EmptyState,
  Input,
  Select,
  Table,
  Td,
  Th,
  buttonClass,
  cx,
} from '~/components/ui';
import type { DeviceStepsResponse } from './runs.$id.steps';
import type { TargetPageResponse } from './runs.$id.targets';

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data ? (data.run.job ? data.run.job.name : oneLine(data.run.command, 60)) : 'Run'} · Runs · OpsConductor` },
];

/** Runs with at most this many devices show every device's output; larger ones show one at a time. */
const MAX_OUTPUT_PANELS = 20;
/** Pages of GET /output read by the loader; the live stream delivers whatever is left. */
const MAX_OUTPUT_PAGES = 20;
const TARGET_ROWS_STEP = 200;
/** How long before its reads the loader asks the live stream for target changes from: re-sent rather than lost. */
const TARGETS_SINCE_OVERLAP_MS = 5000;
/** Typing in the hostname search reads a page after this pause. */
const SEARCH_DEBOUNCE_MS = 300;
/** Largest bigint chunk id (the API accepts up to 19 digits). */
const NO_OUTPUT_CURSOR = '9223372036854775807';

/** Runs that have ended: the final statuses, and those of runs that ended without running (rejected, expired). */
const TERMINAL_RUN: ReadonlySet<JobRunSummary['status']> = new Set([...finalJobRunStatuses, ...unapprovedJobRunStatuses]);
const ACTIVE_TARGET: ReadonlySet<JobRunTarget['status']> = new Set(['pending', 'running']);
/** How often the steps of a device under way are read again (retries and waits change steps, not the device). */
const STEP_POLL_MS = 4000;
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const SECRET_PREFIX = 'secret.';

/** What the page knows of the job a run runs: its steps' names, and its parameters' labels. */
type JobInfo = { steps: Array<{ name: string }>; labels: Record<string, string> };

function runId(params: LoaderFunctionArgs['params']): string {
  const parsed = uuid.safeParse(params.id);
  if (!parsed.success) throw data<RouteErrorData>({ title: 'Run not found' }, { status: 404 });
  return parsed.data;
}

/** Output so far, folded per device (and step, in a job's run); `cursor` is the last chunk id, where the live stream resumes. */
async function loadOutput(api: ApiClient, id: string, deviceId: string | undefined, perStep: boolean) {
  let output: RunOutput = {};
  let cursor: string | undefined;
  for (let page = 0; page < MAX_OUTPUT_PAGES; page++) {
    const result = await api.get('/job-runs/{id}/output', { params: { path: { id }, query: { deviceId, after: cursor, limit: 5000 } } });
    output = appendChunks(output, result.items, perStep ? byStep : undefined);
    const last = result.items.at(-1);
    if (last) cursor = last.id;
    if (!result.nextCursor || result.items.length === 0) break;
  }
  return { output, cursor: cursor ?? null };
}

/**
 * The run and its targets. A small run brings every target (the Devices table filters them here); a large one
 * (over PAGED_TARGETS_THRESHOLD) brings the first page of the table and the focused device only, and its table
 * pages through the API.
 */
async function loadRunTargets(api: ApiClient, id: string, requested: string | undefined) {
  const [summary, first, focused] = await Promise.all([
    api.get('/job-runs/{id}', { params: { path: { id }, query: { targets: 'none' } } }),
    api.get('/job-runs/{id}/targets', { params: { path: { id }, query: { limit: TARGETS_PAGE_SIZE } } }),
    requested
      ? api.get('/job-runs/{id}/targets', { params: { path: { id }, query: { deviceId: requested, limit: 1 } } })
      : Promise.resolve(null),
  ]);
  if (summary.targetsTotal > PAGED_TARGETS_THRESHOLD) {
    const page: TargetPageState = { view: firstView, items: first.items, next: first.next, total: first.total };
    return { run: summary, page, focusTarget: focused?.items[0] ?? null };
  }
  const targets = first.next
    ? (await api.get('/job-runs/{id}/targets', { params: { path: { id }, query: { limit: PAGED_TARGETS_THRESHOLD } } })).items
    : first.items;
  return {
    run: { ...summary, targets, targetsTruncated: false },
    page: null,
    focusTarget: targets.find((t) => t.deviceId === requested) ?? null,
  };
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = runId(params);
  const api = await requireApi(request, context);
  const requested = uuid.safeParse(new URL(request.url).searchParams.get('device'));
  // Target changes from shortly before these reads reach the page over the live stream (a large run's page asks for those only).
  const targetsSince = new Date(Date.now() - TARGETS_SINCE_OVERLAP_MS).toISOString();
  const { run, page, focusTarget } = await loadRunTargets(api, id, requested.success ? requested.data : undefined);
  const allPanels = run.targetsTotal <= MAX_OUTPUT_PANELS;
  // With many devices, output is shown for the one picked in the table (?device=…).
  const focus = allPanels ? null : (focusTarget?.deviceId ?? null);
  const ref = run.job;
  // A job's run: its steps' names for the table and the output, and the steps of every device shown.
  const shown = allPanels ? run.targets.map((t) => t.deviceId) : focus ? [focus] : [];
  const [job, steps] = ref
    ? await Promise.all([
        api
          .get('/jobs/{id}/versions/{version}', { params: { path: { id: ref.id, version: ref.version } } })
          .then(({ definition }): JobInfo => ({
            steps: definition.steps.map((s) => ({ name: s.name })),
            labels: Object.fromEntries((definition.parameters ?? []).map((p) => [p.name, p.label ?? ''])),
          })),
        Promise.all(
          shown.map((deviceId) =>
            api.get('/job-runs/{id}/devices/{deviceId}/steps', { params: { path: { id, deviceId } } }).then((s) => [deviceId, s] as const),
          ),
        ).then((entries): Record<string, DeviceSteps> => Object.fromEntries(entries)),
      ])
    : [null, {} as Record<string, DeviceSteps>];
  if (!allPanels && !focus) {
    // No output on screen: start the live stream after the largest possible chunk id, so it carries
    // only device and run updates.
    return { run, output: {} as RunOutput, cursor: NO_OUTPUT_CURSOR, allPanels, focus, focusTarget, page, targetsSince, job, steps };
  }
  const { output, cursor } = await loadOutput(api, id, focus ?? undefined, job !== null);
  return { run, output, cursor, allPanels, focus, focusTarget, page, targetsSince, job, steps };
}

type Intent = 'cancel' | 'cancel-device' | 'rerun';
const INTENTS: readonly string[] = ['cancel', 'cancel-device', 'rerun'] satisfies Intent[];
/** What the action answered to Approve / Reject (the approval form shows it). */
const decisionOf = (result: unknown): DecisionResult | undefined =>
  result && typeof result === 'object' && 'intent' in result && isDecision(result.intent) ? (result as DecisionResult) : undefined;

/** The secrets posted with a re-run (`secret.<name>` fields): given again, since a run keeps them only while it may use them. */
function postedSecrets(form: FormData): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const [key, value] of form) {
    const name = key.slice(SECRET_PREFIX.length);
    if (key.startsWith(SECRET_PREFIX) && typeof value === 'string' && value !== '' && PARAMETER_NAME.test(name)) secrets[name] = value;
  }
  return secrets;
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = runId(params);
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = String(form.get('intent') ?? '');
  // Approve / Reject (four-eyes): refusals, also the 403 of one's own run, show at the form.
  if (isDecision(intent)) return decideRun(request, context, id, intent, form);
  if (!INTENTS.includes(intent)) throw data<RouteErrorData>({ title: 'Unknown action' }, { status: 400 });
  const done = { ok: true as const, intent: intent as Intent, error: null, secretErrors: {} as Record<string, string> };
  try {
    if (intent === 'cancel') {
      await api.post('/job-runs/{id}/cancel', { params: { path: { id } } });
      return done;
    }
    if (intent === 'cancel-device') {
      const deviceId = uuid.safeParse(form.get('deviceId'));
      if (!deviceId.success) return data({ ...done, ok: false as const, error: 'Which device? Reload the page.' }, { status: 400 });
      await api.post('/job-runs/{id}/devices/{deviceId}/cancel', { params: { path: { id, deviceId: deviceId.data } } });
      return done;
    }
    const rerun = await api.post('/job-runs/{id}/rerun', { params: { path: { id } }, body: { secrets: postedSecrets(form) } });
    return redirect(`/runs/${rerun.id}`);
  } catch (error) {
    if (error instanceof ApiError) {
      // Errors name parameters as `parameters.<name>`: a secret that is missing or does not fit shows at its field.
      return data(
        { ...done, ok: false as const, error: error.detail ?? error.title, secretErrors: runFormIssues(error.errors).parameters },
        { status: error.status },
      );
    }
    throw error;
  }
}

// ---- live state -----------------------------------------------------------------------------------

type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;
/**
 * A small run holds every target in `targets`; a large one only the Devices table's page (`page`) and the focused
 * device (`focusTarget`): live updates change those rows, and the run's counts tell the rest.
 */
type LiveState = {
  run: JobRunSummary;
  targets: JobRunTarget[];
  page: TargetPageState | null;
  focusTarget: JobRunTarget | null;
  output: RunOutput;
  perStep: boolean;
};
type LiveAction =
  | { type: 'reset'; data: LoaderData }
  | { type: 'chunks'; chunks: OutputChunk[] }
  | { type: 'target'; target: JobRunTarget }
  | { type: 'page'; page: TargetPageState }
  | { type: 'run'; run: JobRunSummary };

function fromLoader(d: LoaderData, before?: LiveState): LiveState {
  const { targets, ...run } = d.run as JobRun;
  // The loader reads the table's first page: a reader on another page or filter stays there (the table reads it again).
  const page = d.page && before?.page && !isFirstView(before.page.view) ? before.page : d.page;
  return { run, targets, page, focusTarget: d.focusTarget, output: d.output, perStep: d.job !== null };
}

function reduce(state: LiveState, action: LiveAction): LiveState {
  switch (action.type) {
    case 'reset':
      return fromLoader(action.data, state);
    case 'chunks':
      return { ...state, output: appendChunks(state.output, action.chunks, state.perStep ? byStep : undefined) };
    case 'page':
      return { ...state, page: action.page };
    case 'target': {
      if (state.page) {
        const focusTarget = state.focusTarget?.deviceId === action.target.deviceId ? action.target : state.focusTarget;
        return { ...state, focusTarget, page: { ...state.page, items: updateRow(state.page.items, action.target) } };
      }
      const i = state.targets.findIndex((t) => t.deviceId === action.target.deviceId);
      if (i === -1) return { ...state, targets: [...state.targets, action.target] };
      const targets = state.targets.slice();
      targets[i] = action.target;
      return { ...state, targets };
    }
    case 'run':
      return { ...state, run: { ...state.run, ...action.run } };
  }
}

function parseEvent<T>(event: Event): T | null {
  try {
    return JSON.parse((event as MessageEvent<string>).data) as T;
  } catch {
    return null;
  }
}

/**
 * Follows the run over server-sent events (proxied by runs.$id.events) from the loader's cursor.
 * Every loader revalidation resets the state and resumes from the loader's new cursor, so output is
 * never shown twice; on `end` the page revalidates once more for the final state.
 */
function useLiveRun(loaderData: LoaderData): LiveState & { live: boolean; showPage: (page: TargetPageState) => void } {
  const [state, dispatch] = useReducer(reduce, loaderData, (d) => fromLoader(d));
  const [live, setLive] = useState(false);
  const revalidator = useRevalidator();
  const revalidateRef = useRef(revalidator.revalidate);
  revalidateRef.current = revalidator.revalidate;
  // Set once `end` arrived: if the reloaded run still looks unfinished, reconnect after a pause.
  const endedRef = useRef(false);

  useEffect(() => dispatch({ type: 'reset', data: loaderData }), [loaderData]);

  const runIdValue = loaderData.run.id;
  const finished = TERMINAL_RUN.has(loaderData.run.status);
  const focus = loaderData.focus;
  const showsOutput = loaderData.allPanels || focus !== null;
  const paged = loaderData.page !== null;
  useEffect(() => {
    if (finished) return;
    let cursor = loaderData.cursor;
    // A large run's stream sends only targets changed since the loader read them (else every target first); after a
    // reconnect, those changed since the last connection opened.
    let targetsSince: string | null = paged ? loaderData.targetsSince : null;
    const seen = new Set<string>();
    let source: EventSource | null = null;
    let stopped = false;
    let failures = 0;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let pending: OutputChunk[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | undefined;

    const flush = () => {
      flushTimer = undefined;
      const chunks = pending;
      pending = [];
      if (chunks.length) dispatch({ type: 'chunks', chunks });
    };

    const connect = () => {
      const query = new URLSearchParams({ ...(cursor ? { after: cursor } : {}), ...(targetsSince ? { targetsSince } : {}) }).toString();
      const es = new EventSource(`/runs/${runIdValue}/events${query ? `?${query}` : ''}`);
      source = es;
      es.onopen = () => {
        failures = 0;
        if (paged) targetsSince = new Date(Date.now() - TARGETS_SINCE_OVERLAP_MS).toISOString();
        setLive(true);
      };
      es.addEventListener('output', (event) => {
        const chunk = parseEvent<OutputChunk>(event);
        if (!chunk || seen.has(chunk.id)) return;
        seen.add(chunk.id);
        if (!cursor || compareChunkIds(chunk.id, cursor) > 0) cursor = chunk.id;
        if (!showsOutput || (focus && chunk.deviceId !== focus)) return;
        pending.push(chunk);
        // Batch bursts of output into one render.
        flushTimer ??= setTimeout(flush, 50);
      });
      es.addEventListener('target', (event) => {
        const target = parseEvent<JobRunTarget>(event);
        if (target) dispatch({ type: 'target', target });
      });
      es.addEventListener('run', (event) => {
        const run = parseEvent<JobRunSummary>(event);
        if (run) dispatch({ type: 'run', run });
      });
      es.addEventListener('end', () => {
        stopped = true;
        endedRef.current = true;
        es.close();
        flush();
        setLive(false);
        revalidateRef.current();
      });
      es.onerror = () => {
        // EventSource retries by itself with the original URL; reconnect ourselves from the cursor.
        es.close();
        setLive(false);
        if (stopped) return;
        failures += 1;
        // Repeated failures may mean the session expired or the run is gone: let the loader decide.
        if (failures % 3 === 0) revalidateRef.current();
        retryTimer = setTimeout(connect, Math.min(1000 * 2 ** Math.min(failures, 4), 15_000));
      };
    };

    if (endedRef.current) retryTimer = setTimeout(connect, 2000);
    else connect();
    return () => {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(flushTimer);
      source?.close();
      setLive(false);
    };
  }, [runIdValue, finished, focus, showsOutput, paged, loaderData]);

  const showPage = useCallback((page: TargetPageState) => dispatch({ type: 'page', page }), []);
  return { ...state, live, showPage };
}

/**
 * The steps of the devices on screen in a job's run, kept current while the run goes on: read again when a device
 * changes (status, step) and every few seconds while it is under way. Answers older than the loader's data are dropped.
 */
function useDeviceSteps(runIdValue: string, initial: Record<string, DeviceSteps>, targets: JobRunTarget[], enabled: boolean) {
  const [steps, setSteps] = useState(initial);
  const generation = useRef(0);
  useEffect(() => {
    generation.current += 1;
    setSteps(initial);
  }, [initial]);
  const refresh = useCallback(
    (deviceId: string) => {
      const mine = generation.current;
      fetch(`/runs/${runIdValue}/steps?device=${encodeURIComponent(deviceId)}`, { headers: { Accept: 'application/json' } })
        .then((res) => res.json() as Promise<DeviceStepsResponse>)
        .then((body) => {
          if (body.ok && mine === generation.current) setSteps((s) => ({ ...s, [deviceId]: body.steps }));
        })
        // A failed refresh leaves the steps as they were; the next change or poll tries again.
        .catch(() => undefined);
    },
    [runIdValue],
  );
  const signatures = useRef(new Map<string, string>());
  useEffect(() => {
    if (!enabled) return;
    for (const t of targets) {
      if (!(t.deviceId in initial)) continue;
      const signature = `${t.status}|${t.currentStep}|${t.finishedAt}`;
      const before = signatures.current.get(t.deviceId);
      signatures.current.set(t.deviceId, signature);
      if (before !== undefined && before !== signature) refresh(t.deviceId);
    }
  }, [targets, initial, enabled, refresh]);
  const targetsRef = useRef(targets);
  targetsRef.current = targets;
  useEffect(() => {
    if (!enabled) return;
    const timer = setInterval(() => {
      for (const t of targetsRef.current) if (t.deviceId in initial && ACTIVE_TARGET.has(t.status)) refresh(t.deviceId);
    }, STEP_POLL_MS);
    return () => clearInterval(timer);
  }, [initial, enabled, refresh]);
  return steps;
}

/**
 * Reads the page again once the run stops waiting for approval (the live stream brings the new status): approved, it
 * has steps and output to follow from now on.
 */
function useLeftApprovalWait(status: JobRunSummary['status']) {
  const revalidator = useRevalidator();
  const revalidateRef = useRef(revalidator.revalidate);
  revalidateRef.current = revalidator.revalidate;
  const before = useRef(status);
  useEffect(() => {
    if (before.current === 'awaiting_approval' && status !== 'awaiting_approval') revalidateRef.current();
    before.current = status;
  }, [status]);
}

// ---- components ---------------------------------------------------------------------------------------

const useIsoLayoutEffect = typeof window === 'undefined' ? useEffect : useLayoutEffect;

function OutputPane({
  label,
  stream,
  truncated,
  waiting,
  testId,
  downloadHref,
}: {
  label: string;
  stream: StreamText;
  truncated: boolean;
  /** The device has not finished: output may still come. */
  waiting: boolean;
  testId: string;
  /** Where the whole stream (as the API keeps it) downloads as a file. */
  downloadHref: string;
}) {
  const ref = useRef<HTMLPreElement>(null);
  // Follow the output as it grows, unless the reader scrolled up or paused it.
  const [follow, setFollow] = useState(true);
  const followRef = useRef(follow);
  followRef.current = follow;
  useIsoLayoutEffect(() => {
    const el = ref.current;
    if (el && follow) el.scrollTop = el.scrollHeight;
  }, [stream.text, follow]);
  const empty = stream.text.length === 0;
  return (
    <div className="min-w-0">
      <div className="flex items-center justify-between gap-2 px-3 py-1.5">
        <span className={cx('text-[11px] font-medium tracking-wide uppercase', label === 'stderr' ? 'text-red-600' : 'text-zinc-500')}>
          {label}
        </span>
        {!empty ? (
          <span className="flex items-center gap-1">
            {waiting ? (
              <Button
                size="sm"
                variant="ghost"
                aria-pressed={follow}
                onClick={() => setFollow((f) => !f)}
                title="Scroll along as output comes"
              >
                {follow ? 'Following' : 'Paused'}
              </Button>
            ) : null}
            <a href={downloadHref} download className={buttonClass('ghost', 'sm')}>
              Download
            </a>
            <CopyButton text={stream.text} />
          </span>
        ) : null}
      </div>
      {truncated || stream.trimmed ? (
        <p className="mx-3 mb-1.5 rounded bg-amber-50 px-2 py-1 text-[11px] text-amber-800" data-testid={`${testId}-truncated`}>
          Output truncated: showing the last 1 MiB
        </p>
      ) : null}
      <pre
        ref={ref}
        data-testid={testId}
        onScroll={(e) => {
          const el = e.currentTarget;
          const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          if (atEnd !== followRef.current) setFollow(atEnd);
        }}
        className={cx(
          'max-h-96 min-h-16 overflow-auto bg-zinc-950 px-3 py-2 font-mono text-xs leading-5 break-all whitespace-pre-wrap',
          label === 'stderr' ? 'text-red-200' : 'text-zinc-100',
          empty && 'hidden',
        )}
      >
        {stream.text}
      </pre>
      {empty ? (
        <p
          data-testid={`${testId}-empty`}
          className="mx-3 mb-2 rounded border border-dashed border-zinc-200 px-2 py-1.5 text-xs text-zinc-400"
        >
          {waiting ? 'No output yet' : 'No output'}
        </p>
      ) : null}
    </div>
  );
}

const noOutput: DeviceOutput = { stdout: { text: '', trimmed: false }, stderr: { text: '', trimmed: false } };

function OutputPanel({
  runId: id,
  target,
  output,
  job,
  steps,
}: {
  runId: string;
  target: JobRunTarget;
  output: RunOutput;
  /** A job's run: its steps, and this device's progress through them. */
  job: JobInfo | null;
  steps: DeviceSteps | undefined;
}) {
  const [step, setStep] = useState<number | 'all'>('all');
  const o = (job ? deviceStepOutput(output, target.deviceId, job.steps, step) : output[target.deviceId]) ?? noOutput;
  const waiting = ACTIVE_TARGET.has(target.status);
  const progress = job ? stepProgress(target.currentStep, job.steps) : null;
  const download = (stream: 'stdout' | 'stderr') =>
    `/runs/${id}/output?${new URLSearchParams({ device: target.deviceId, stream, ...(step !== 'all' ? { step: String(step) } : {}) })}`;
  return (
    <section
      id={`output-${target.deviceId}`}
      data-testid="output-panel"
      data-device-id={target.deviceId}
      className="overflow-hidden rounded-lg border border-zinc-200 bg-white shadow-xs"
      aria-label={`Output of ${target.hostname}`}
    >
      <header className="flex flex-wrap items-center gap-x-3 gap-y-1 border-b border-zinc-200 px-3 py-2">
        <Link to={`/devices/${target.deviceId}`} className="text-[13px] font-semibold text-zinc-900 hover:underline">
          {target.hostname}
        </Link>
        <TargetStatusBadge status={target.status} />
        {progress ? <span className="text-xs text-zinc-600">{progress}</span> : null}
        {target.exitCode !== null ? <span className="font-mono text-xs text-zinc-500">exit {target.exitCode}</span> : null}
        {target.software ? <span className="text-xs text-zinc-700">{softwareOutcomeText(target.software)}</span> : null}
        {target.errorMessage ? <span className="text-xs text-red-700">{target.errorMessage}</span> : null}
        {job ? (
          <label className="ml-auto flex items-center gap-1.5 text-xs text-zinc-500">
            Output of
            <Select
              aria-label={`Output of step on ${target.hostname}`}
              value={String(step)}
              onChange={(e) => setStep(e.currentTarget.value === 'all' ? 'all' : Number(e.currentTarget.value))}
              className="h-7 w-56 text-xs"
              data-testid="output-step-filter"
            >
              <option value="all">All steps</option>
              {job.steps.map((s, i) => (
                <option key={i} value={i}>
                  Step {i + 1}: {s.name}
                </option>
              ))}
            </Select>
          </label>
        ) : null}
      </header>
      {job ? (
        <div className="border-b border-zinc-200" data-testid="device-steps">
          <DeviceStepsTable steps={steps} selected={step} onSelect={setStep} />
        </div>
      ) : null}
      <div className="divide-y divide-zinc-200">
        <OutputPane
          label="stdout"
          stream={o.stdout}
          truncated={target.stdoutTruncated}
          waiting={waiting}
          testId="output-stdout"
          downloadHref={download('stdout')}
        />
        <OutputPane
          label="stderr"
          stream={o.stderr}
          truncated={target.stderrTruncated}
          waiting={waiting}
          testId="output-stderr"
          downloadHref={download('stderr')}
        />
      </div>
    </section>
  );
}

function targetDuration(t: JobRunTarget): number | null {
  return t.durationMs ?? durationBetween(t.startedAt, t.finishedAt);
}

function CancelDevice({ target }: { target: JobRunTarget }) {
  const navigation = useNavigation();
  const busy =
    navigation.state !== 'idle' &&
    navigation.formData?.get('intent') === 'cancel-device' &&
    navigation.formData.get('deviceId') === target.deviceId;
  return (
    <Form method="post" preventScrollReset className="inline">
      <input type="hidden" name="deviceId" value={target.deviceId} />
      <Button
        type="submit"
        name="intent"
        value="cancel-device"
        size="sm"
        variant="danger"
        disabled={busy}
        title={`Cancel ${target.hostname} only`}
      >
        {busy ? 'Cancelling…' : 'Cancel device'}
      </Button>
    </Form>
  );
}

interface TargetRowOptions {
  allPanels: boolean;
  focus: string | null;
  job: JobInfo | null;
  /** Devices under way get "Cancel device" (an operator, a job's run still going). */
  canCancel: boolean;
  /** Links to each device's output (not while the run waits for approval, nor when it ended without running). */
  showOutput: boolean;
}

function TargetRows({ rows, allPanels, focus, job, canCancel, showOutput }: TargetRowOptions & { rows: JobRunTarget[] }) {
  return (
    <Table className={rows.length > 12 ? 'max-h-[440px] overflow-y-auto' : undefined}>
      <thead>
        <tr>
          <Th>Hostname</Th>
          <Th>Status</Th>
          {job ? <Th>Step</Th> : null}
          <Th>Exit code</Th>
          <Th>Duration</Th>
          <Th>Started</Th>
          {showOutput ? <Th className="text-right">Output</Th> : null}
        </tr>
      </thead>
      <tbody>
        {rows.map((t) => (
          <tr
            key={t.deviceId}
            data-testid="target-row"
            data-device-id={t.deviceId}
            className={cx('hover:bg-zinc-50', focus === t.deviceId && 'bg-zinc-50')}
          >
            <Td>
              <Link to={`/devices/${t.deviceId}`} className="font-medium text-zinc-900 hover:underline">
                {t.hostname}
              </Link>
            </Td>
            <Td>
              <span className="flex items-center gap-2">
                <TargetStatusBadge status={t.status} />
                {t.software ? (
                  <span className="text-xs text-zinc-700" data-testid="target-software-outcome">
                    {softwareOutcomeText(t.software)}
                  </span>
                ) : null}
                {t.errorMessage ? (
                  <span className="max-w-xs truncate text-xs text-red-700" title={t.errorMessage}>
                    {t.errorMessage}
                  </span>
                ) : null}
              </span>
            </Td>
            {job ? (
              <Td className="max-w-56 truncate text-xs text-zinc-600">
                <span data-testid="target-step">{stepProgress(t.currentStep, job.steps) ?? '—'}</span>
              </Td>
            ) : null}
            <Td className="font-mono text-xs">
              <span data-testid="target-exit-code" className={t.exitCode ? 'text-red-700' : 'text-zinc-700'}>
                {t.exitCode ?? '—'}
              </span>
            </Td>
            <Td className="text-zinc-600 tabular-nums">
              {t.status === 'running' && t.startedAt ? <span className="text-blue-700">running</span> : formatDuration(targetDuration(t))}
            </Td>
            <Td className="text-zinc-500">{t.startedAt ? <AbsoluteTime iso={t.startedAt} /> : '—'}</Td>
            {showOutput ? (
              <Td className="text-right whitespace-nowrap">
                <span className="inline-flex items-center gap-2">
                  {canCancel && ACTIVE_TARGET.has(t.status) ? <CancelDevice target={t} /> : null}
                  {allPanels ? (
                    <a href={`#output-${t.deviceId}`} className="text-xs font-medium text-zinc-600 hover:text-zinc-900">
                      View
                    </a>
                  ) : (
                    <Link
                      to={`?device=${t.deviceId}#output`}
                      preventScrollReset
                      className="text-xs font-medium text-zinc-600 hover:text-zinc-900"
                    >
                      {focus === t.deviceId ? 'Showing' : 'View'}
                    </Link>
                  )}
                </span>
              </Td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

/** A small run's Devices table: every target is on the page, filtered and shown in steps here. */
function TargetsTable({ targets, ...options }: TargetRowOptions & { targets: JobRunTarget[] }) {
  const [filter, setFilter] = useState<string>('all');
  const [limit, setLimit] = useState(TARGET_ROWS_STEP);
  const present = useMemo(() => {
    const s = new Set(targets.map((t) => t.status));
    return targetStatusOrder.filter((x) => s.has(x));
  }, [targets]);
  const rows = filter === 'all' ? targets : targets.filter((t) => t.status === filter);
  const shown = rows.slice(0, limit);
  return (
    <Card
      title={`Devices (${targets.length.toLocaleString('en-US')})`}
      actions={
        present.length > 1 ? (
          <div className="flex flex-wrap gap-1" role="group" aria-label="Filter devices by status">
            {['all', ...present].map((s) => (
              <button
                key={s}
                type="button"
                onClick={() => setFilter(s)}
                aria-pressed={filter === s}
                className={cx('rounded px-2 py-0.5 text-xs', filter === s ? 'bg-zinc-900 text-white' : 'text-zinc-600 hover:bg-zinc-100')}
              >
                {s === 'all' ? 'All' : targetStatusLabel(s)}
              </button>
            ))}
          </div>
        ) : null
      }
    >
      {targets.length === 0 ? <EmptyState title="No devices in this run" /> : <TargetRows rows={shown} {...options} />}
      {rows.length > shown.length ? (
        <div className="flex items-center justify-between px-3 py-2 text-xs text-zinc-500">
          <span>
            Showing {shown.length.toLocaleString('en-US')} of {rows.length.toLocaleString('en-US')}
          </span>
          <Button size="sm" onClick={() => setLimit((l) => l + TARGET_ROWS_STEP)}>
            Show more
          </Button>
        </div>
      ) : null}
    </Card>
  );
}

/**
 * A large run's Devices table: one page of targets at a time from the API (status chips with the run's counts, a
 * hostname search, previous and next page). Live updates change the rows on screen; the loader's data changing
 * (a revalidation) reads the page shown again.
 */
function PagedTargetsTable({
  runId: id,
  counts,
  page,
  onPage,
  loaderData,
  ...options
}: TargetRowOptions & {
  runId: string;
  counts: Record<string, number>;
  page: TargetPageState;
  onPage: (page: TargetPageState) => void;
  loaderData: LoaderData;
}) {
  const [wanted, setWanted] = useState<TargetsView>(page.view);
  const [search, setSearch] = useState(page.view.search);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const generation = useRef(0);
  const load = useCallback(
    (view: TargetsView) => {
      const mine = ++generation.current;
      setWanted(view);
      setLoading(true);
      fetch(targetsPageUrl(id, view), { headers: { Accept: 'application/json' } })
        .then((res) => res.json() as Promise<TargetPageResponse>)
        .then((body) => {
          if (mine !== generation.current) return;
          if (body.ok) {
            setError(null);
            onPage({ view, items: body.page.items, next: body.page.next, total: body.page.total });
          } else setError(body.message);
        })
        .catch(() => mine === generation.current && setError('The devices could not be read. Try again.'))
        .finally(() => mine === generation.current && setLoading(false));
    },
    [id, onPage],
  );
  // A revalidation brought the first page: a reader elsewhere gets the page they are on read again.
  const viewRef = useRef(page.view);
  viewRef.current = page.view;
  const firstLoad = useRef(true);
  useEffect(() => {
    if (firstLoad.current) {
      firstLoad.current = false;
      return;
    }
    if (!isFirstView(viewRef.current)) load(viewRef.current);
  }, [loaderData, load]);
  // Typing searches after a pause, from the first page.
  const wantedRef = useRef(wanted);
  wantedRef.current = wanted;
  useEffect(() => {
    if (search.trim() === wantedRef.current.search.trim()) return;
    const timer = setTimeout(() => load({ ...wantedRef.current, search, trail: [] }), SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [search, load]);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const present = targetStatusOrder.filter((st) => (counts[st] ?? 0) > 0);
  const chip = (status: DeviceRunStatus | null, label: string, n: number) => (
    <button
      key={status ?? 'all'}
      type="button"
      onClick={() => load({ ...wanted, status, trail: [] })}
      aria-pressed={wanted.status === status}
      className={cx('rounded px-2 py-0.5 text-xs', wanted.status === status ? 'bg-zinc-900 text-white' : 'text-zinc-600 hover:bg-zinc-100')}
    >
      {label} <span className="tabular-nums opacity-75">{n.toLocaleString('en-US')}</span>
    </button>
  );
  const filtered = page.view.status !== null || page.view.search.trim() !== '';
  return (
    <Card
      title={`Devices (${total.toLocaleString('en-US')})`}
      actions={
        <div className="flex flex-wrap items-center gap-2">
          <div className="flex flex-wrap gap-1" role="group" aria-label="Filter devices by status">
            {chip(null, 'All', total)}
            {present.map((st) => chip(st, targetStatusLabel(st), counts[st] ?? 0))}
          </div>
          <Input
            type="search"
            aria-label="Search hostnames"
            placeholder="Search hostnames"
            value={search}
            maxLength={200}
            onChange={(e) => setSearch(e.currentTarget.value)}
            className="h-7 w-48 text-xs"
            data-testid="targets-search"
          />
        </div>
      }
    >
      {error ? (
        <div className="px-3 pt-2">
          <Alert title="Could not read the devices">{error}</Alert>
        </div>
      ) : null}
      {page.items.length === 0 ? (
        <EmptyState title={filtered ? 'No devices match' : 'No devices in this run'} />
      ) : (
        <div className={cx(loading && 'opacity-60')} aria-busy={loading}>
          <TargetRows rows={page.items} {...options} />
        </div>
      )}
      <div className="flex items-center justify-between px-3 py-2 text-xs text-zinc-500">
        <span data-testid="targets-range">{pageRange(page)}</span>
        <span className="flex items-center gap-2">
          {loading ? <span>Loading…</span> : null}
          <Button
            size="sm"
            disabled={page.view.trail.length === 0}
            onClick={() => load({ ...page.view, trail: page.view.trail.slice(0, -1) })}
          >
            Previous page
          </Button>
          <Button
            size="sm"
            disabled={!page.next}
            onClick={() => page.next && load({ ...page.view, trail: [...page.view.trail, page.next] })}
          >
            Next page
          </Button>
        </span>
      </div>
    </Card>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-[11px] font-medium text-zinc-500">{label}</dt>
      <dd className="mt-0.5 truncate text-[13px] text-zinc-900">{children}</dd>
    </div>
  );
}

function safeHttpUrl(url: string | null): string | null {
  return url && /^https?:\/\//i.test(url) ? url : null;
}

const actionTitles: Record<Intent, string> = {
  cancel: 'Could not cancel the run',
  'cancel-device': 'Could not cancel the device',
  rerun: 'Could not re-run the failed devices',
};

export default function RunPage() {
  const loaderData = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const user = useOptionalUser();
  const [params] = useSearchParams();
  const { run, targets, page, focusTarget: pagedFocus, output, live, showPage } = useLiveRun(loaderData);
  const { allPanels, focus, job } = loaderData;
  const active = !TERMINAL_RUN.has(run.status);
  // Waiting for approval, or ended without it: nothing runs, so no device to cancel, no steps or output to follow.
  const awaiting = run.status === 'awaiting_approval';
  const neverRan = awaiting || isUnapproved(run.status);
  const focusTarget = page ? (pagedFocus ?? undefined) : focus ? targets.find((t) => t.deviceId === focus) : undefined;
  // The devices whose steps are on screen: every one (a small run), or the focused one.
  const stepTargets = useMemo(() => (page ? (focusTarget ? [focusTarget] : []) : targets), [page, focusTarget, targets]);
  const steps = useDeviceSteps(run.id, loaderData.steps, stepTargets, job !== null && active && !awaiting);
  const cancelling = navigation.state !== 'idle' && navigation.formData?.get('intent') === 'cancel';
  const temporalUrl = safeHttpUrl(run.temporalUrl);
  // A large run holds one page of targets: what is true of all of them comes from the run's counts.
  const targetCount = Object.values(run.counts).reduce((a, b) => a + b, 0);
  const anyActive = [...ACTIVE_TARGET].some((st) => (run.counts[st] ?? 0) > 0);
  const operator = canRunCommands(user?.role);
  const notSucceeded = targetCount - (run.counts.succeeded ?? 0);
  const decision = decisionOf(actionData);
  const failure = actionData && !decision && !actionData.ok ? (actionData as Exclude<typeof actionData, DecisionResult>) : undefined;
  const threshold = thresholdText(run.failureThreshold);
  const now = Date.now();
  const { canDecide, own } = approvalRights(run, user, now);
  useLeftApprovalWait(run.status);

  return (
    <>
      <Breadcrumb trail={[{ to: '/runs', label: 'Runs' }]} current={run.id.slice(0, 8)} mono />

      <div className="mb-4 flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0 flex-1">
          <div className="flex items-center gap-2.5">
            <RunStatusBadge status={run.status} testId="run-status" />
            <span title="Devices by outcome">
              <RunCounts counts={run.counts} />
            </span>
            {run.cancelRequested && active ? <span className="text-xs text-zinc-500">Cancellation requested…</span> : null}
            {live ? (
              <span className="inline-flex items-center gap-1 text-[11px] text-zinc-500" title="Receiving live updates">
                <span className="size-1.5 animate-pulse rounded-full bg-emerald-500" aria-hidden /> Live
              </span>
            ) : null}
          </div>
          {run.job ? (
            <h1 className="mt-2 truncate text-base font-semibold text-zinc-900" data-testid="run-job">
              <Link to={`/jobs/${run.job.id}`} className="hover:underline">
                {run.job.name}
              </Link>{' '}
              <Link to={`/jobs/${run.job.id}/versions/${run.job.version}`} className="text-zinc-400 hover:text-zinc-700 hover:underline">
                · version {run.job.version}
              </Link>
            </h1>
          ) : (
            <h1 className="mt-2 truncate font-mono text-base font-semibold text-zinc-900" title={run.command} data-testid="run-command">
              {oneLine(run.command, 200)}
            </h1>
          )}
        </div>
        <div className="flex items-center gap-2">
          {temporalUrl ? (
            <a href={temporalUrl} target="_blank" rel="noopener noreferrer" className={buttonClass('secondary')}>
              Open in Temporal UI ↗
            </a>
          ) : null}
          {active && operator ? (
            <Form method="post">
              <Button type="submit" name="intent" value="cancel" variant="danger" disabled={cancelling || run.cancelRequested}>
                {run.cancelRequested ? 'Cancelling…' : 'Cancel run'}
              </Button>
            </Form>
          ) : null}
        </div>
      </div>

      {failure && failure.intent !== 'rerun' ? (
        <div className="mb-4">
          <Alert title={actionTitles[failure.intent]}>{failure.error}</Alert>
        </div>
      ) : null}

      {run.job ? <RunRelations run={run} /> : null}

      {run.approval ? (
        <div className="mb-4 space-y-2">
          <ApprovalBanner run={run} own={own} now={now} />
          {canDecide ? (
            <Card title="Approve or reject">
              <ApprovalForm runId={run.id} withRunId={false} result={decision} />
            </Card>
          ) : decision && !decision.ok ? (
            <div data-testid="approval-error">
              <Alert title={decision.intent === 'approve' ? 'The run was not approved' : 'The run was not rejected'}>
                {decision.error}
              </Alert>
            </div>
          ) : null}
        </div>
      ) : null}

      <Card className="mb-4">
        <dl className="grid grid-cols-2 gap-x-6 gap-y-3 p-4 sm:grid-cols-3 lg:grid-cols-6">
          <Fact label="Created by">{run.createdBy ?? '—'}</Fact>
          <Fact label="Created">
            <AbsoluteTime iso={run.createdAt} />
          </Fact>
          <Fact label="Started">
            <AbsoluteTime iso={run.startedAt} />
          </Fact>
          <Fact label="Finished">
            {run.finishedAt ? (
              <AbsoluteTime iso={run.finishedAt} />
            ) : awaiting ? (
              <span className="text-zinc-400">waiting for approval</span>
            ) : active ? (
              <span className="text-zinc-400">in progress</span>
            ) : (
              '—'
            )}
          </Fact>
          <Fact label="Duration">{neverRan ? '—' : formatDuration(durationBetween(run.startedAt ?? run.createdAt, run.finishedAt))}</Fact>
          {run.job && job ? (
            <>
              <Fact label="Steps">{job.steps.length}</Fact>
              <Fact label="Max concurrency">
                <span data-testid="run-max-concurrency">{run.maxConcurrency ? pluralize(run.maxConcurrency, 'device') : 'No limit'}</span>
              </Fact>
              <Fact label="Failure threshold">
                <span data-testid="run-failure-threshold" title={threshold ?? undefined}>
                  {threshold ?? 'None'}
                </span>
              </Fact>
            </>
          ) : (
            <>
              <Fact label="Shell">
                <span className="font-mono text-xs">{run.shell}</span>
              </Fact>
              <Fact label="Timeout">{formatDuration(run.timeoutSeconds * 1000)}</Fact>
            </>
          )}
          <Fact label={run.job ? 'Deadline' : 'Offline deadline'}>
            {/* Approving starts the run: its deadline counts from then. */}
            {awaiting ? (
              <span className="text-zinc-400" title="The deadline counts from the approval">
                from the approval
              </span>
            ) : neverRan ? (
              '—'
            ) : (
              <AbsoluteTime iso={run.deadlineAt} />
            )}
          </Fact>
          <Fact label="Workflow">
            <span className="font-mono text-xs text-zinc-600" title={run.workflowId}>
              {run.workflowId}
            </span>
          </Fact>
        </dl>
        {run.job ? null : (
          <div className="border-t border-zinc-200">
            <div className="flex items-center justify-between px-4 pt-2">
              <span className="text-[11px] font-medium text-zinc-500">Command</span>
              <CopyButton text={run.command} />
            </div>
            <pre className="max-h-48 overflow-auto px-4 pb-3 font-mono text-xs leading-5 whitespace-pre-wrap text-zinc-800">
              {run.command}
            </pre>
          </div>
        )}
      </Card>

      {run.job && job ? <RunParameters run={run} labels={job.labels} /> : null}

      {run.job && job && operator && !active && !neverRan && notSucceeded > 0 ? (
        <RerunForm
          run={run}
          labels={job.labels}
          devices={notSucceeded}
          result={failure && failure.intent === 'rerun' ? { error: failure.error, secretErrors: failure.secretErrors } : undefined}
        />
      ) : null}

      <div className="mb-4">
        {page ? (
          <PagedTargetsTable
            runId={run.id}
            counts={run.counts}
            page={page}
            onPage={showPage}
            loaderData={loaderData}
            allPanels={allPanels}
            focus={focus}
            job={job}
            canCancel={operator && active && !awaiting && job !== null}
            showOutput={!neverRan}
          />
        ) : (
          <TargetsTable
            targets={targets}
            allPanels={allPanels}
            focus={focus}
            job={job}
            canCancel={operator && active && !awaiting && job !== null}
            showOutput={!neverRan}
          />
        )}
      </div>

      {neverRan ? null : (
        <section id="output" aria-label="Output" className="space-y-3">
          <h2 className="text-[13px] font-semibold text-zinc-900">Output</h2>
          {allPanels ? (
            targets.length === 0 ? null : (
              targets.map((t) => (
                <OutputPanel key={t.deviceId} runId={run.id} target={t} output={output} job={job} steps={steps[t.deviceId]} />
              ))
            )
          ) : focusTarget ? (
            <OutputPanel
              key={focusTarget.deviceId}
              runId={run.id}
              target={focusTarget}
              output={output}
              job={job}
              steps={steps[focusTarget.deviceId]}
            />
          ) : (
            <Card>
              <EmptyState title="Pick a device to see its output">
                This run has {targetCount.toLocaleString('en-US')} devices; choose <strong>View</strong> in the table above.
                {params.get('device') ? ' The requested device is not part of this run.' : null}
              </EmptyState>
            </Card>
          )}
          {active && !anyActive && targetCount > 0 ? <p className="text-xs text-zinc-500">Waiting for the workflow to finish…</p> : null}
        </section>
      )}
    </>
  );
}
