/**
 * The schedule form of a job (/jobs/:id/schedule, /schedules/:id/edit): the run form's targets, version, parameters
 * and limits (job-run-form.server.ts reads those), plus the schedule's name, spec (cron lines and/or intervals, time
 * zone, start and end as wall times of that zone, jitter), overlap policy and pause state; then POST
 * /jobs/{id}/schedules or PUT /job-schedules/{id} with the whole body.
 *
 * Secret values go to the API and nowhere else: an answer that shows the form again carries every posted value but
 * theirs, and a schedule being edited never has its secrets in the form (one left empty keeps its stored value).
 */
import { data, redirect, type AppLoadContext, type LoaderFunctionArgs } from '@remix-run/node';
import { uuid, type JobRunTargetSelection } from '@opsconductor/contracts/api';
import { ApiError, requireApi, type ApiClient, type RouteErrorData, type Schema } from './api.server';
import { versionParam } from './job-pages.server';
import { parseJobRunTarget, parseRunOptions, postedForm, type PostedJobRunForm } from './job-run-form.server';
import { parameterValues, type RunParameter } from './job-run';
import { osLabel } from './format';
import {
  emptyScheduleIssues,
  isTimeZone,
  isoToWallTime,
  overlapPolicies,
  scheduleFormIssues,
  scheduleIssueCount,
  secondsOf,
  splitSeconds,
  targetStateOf,
  timeZoneNames,
  wallTimeToIso,
  type OverlapPolicy,
  type ScheduleFormIssues,
  type ScheduleSpec,
} from './schedule';

/** The version a schedule's runs use: pinned, or the job's current one when each run starts. */
export type VersionChoice = number | 'current';

export type PostedInterval = { every: string; everyUnit: string; offset: string; offsetUnit: string };

/** What was posted (or what the schedule being edited holds), secrets left out: the form shows it. */
export type PostedScheduleForm = PostedJobRunForm & {
  name: string;
  description: string;
  /** Cron expressions, one a line. */
  cron: string;
  intervals: PostedInterval[];
  timeZone: string;
  /** `datetime-local` values: wall times in `timeZone`. */
  startAt: string;
  endAt: string;
  jitterSeconds: string;
  overlap: OverlapPolicy;
  paused: boolean;
};

export type ScheduleFormData = {
  formError?: string;
  formErrorTitle?: string;
  issues?: ScheduleFormIssues;
  /** The version the answer is about (the form shows that version's parameters). */
  version: VersionChoice;
  posted: PostedScheduleForm;
  /** The version has secret parameters: their fields are empty again and say so. */
  secretsAgain: boolean;
};

const text = (form: FormData, name: string, max = 4096): string => {
  const v = form.get(name);
  return typeof v === 'string' ? v.slice(0, max) : '';
};
const texts = (form: FormData, name: string, max = 40): string[] =>
  form
    .getAll(name)
    .slice(0, 20)
    .map((v) => (typeof v === 'string' ? v.slice(0, max) : ''));

/** The schedule's ID from the URL (`/schedules/:id`), or a 404 page. */
export function scheduleIdParam(params: LoaderFunctionArgs['params']): string {
  const parsed = uuid.safeParse(params.id);
  if (!parsed.success) throw data<RouteErrorData>({ title: 'Schedule not found' }, { status: 404 });
  return parsed.data;
}

/** `?version=` of the schedule pages and the form's `version`: a number, `current`, or null for neither. */
export function versionChoiceParam(value: string | null | undefined): VersionChoice | null {
  if (value === 'current') return 'current';
  return versionParam(value);
}

/** The posted intervals, row by row (the four fields repeat once a row). */
function postedIntervals(form: FormData): PostedInterval[] {
  const every = texts(form, 'intervalEvery');
  const everyUnit = texts(form, 'intervalEveryUnit');
  const offset = texts(form, 'intervalOffset');
  const offsetUnit = texts(form, 'intervalOffsetUnit');
  return every.map((e, i) => ({ every: e, everyUnit: everyUnit[i] ?? 's', offset: offset[i] ?? '', offsetUnit: offsetUnit[i] ?? 's' }));
}

/** The posted form without its secrets, for showing it again. */
export function postedScheduleForm(form: FormData, parameters: readonly RunParameter[]): PostedScheduleForm {
  const overlap = text(form, 'overlap', 20) as OverlapPolicy;
  return {
    ...postedForm(form, parameters),
    name: text(form, 'name', 200),
    description: text(form, 'description', 2000),
    cron: text(form, 'cron', 2500),
    intervals: postedIntervals(form),
    timeZone: text(form, 'timeZone', 64),
    startAt: text(form, 'startAt', 30),
    endAt: text(form, 'endAt', 30),
    jitterSeconds: text(form, 'jitterSeconds', 20),
    overlap: overlapPolicies.includes(overlap) ? overlap : 'skip',
    paused: form.get('paused') === 'true' || form.get('paused') === 'on',
  };
}

type ScheduleFields = {
  name: string;
  description: string;
  spec: Required<Pick<ScheduleSpec, 'cron' | 'intervals' | 'timeZone' | 'jitterSeconds'>> & Pick<ScheduleSpec, 'startAt' | 'endAt'>;
  overlap: OverlapPolicy;
  paused: boolean;
};

/** The cron lines of the textarea: trimmed, empty ones left out. */
export const cronLines = (value: string): string[] =>
  value
    .split(/\r?\n/)
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter(Boolean);

/**
 * The schedule's own fields as the API takes them, or a message per field for what the console can tell is not right
 * (a name missing, an interval that is no number, a start that is no date). The rest is the API's to check.
 */
export function parseScheduleFields(
  form: FormData,
): { ok: true; value: ScheduleFields } | { ok: false; issues: Pick<ScheduleFormIssues, 'schedule' | 'intervals'> } {
  const issues: Pick<ScheduleFormIssues, 'schedule' | 'intervals'> = { schedule: {}, intervals: {} };
  const name = text(form, 'name', 200).trim();
  if (!name) issues.schedule.name = 'Give the schedule a name';

  const intervals: ScheduleFields['spec']['intervals'] = [];
  postedIntervals(form).forEach((row, i) => {
    if (row.every.trim() === '' && row.offset.trim() === '') return;
    const every = secondsOf(row.every, row.everyUnit, 1);
    const offset = secondsOf(row.offset, row.offsetUnit, 0);
    if (!every.ok) issues.intervals[i] = `Every: ${every.message}`;
    else if (every.value === null) issues.intervals[i] = 'Every: say how often';
    else if (!offset.ok) issues.intervals[i] = `Offset: ${offset.message}`;
    else intervals.push({ everySeconds: every.value, offsetSeconds: offset.value ?? 0 });
  });

  const zone = text(form, 'timeZone', 64).trim() || 'UTC';
  if (!isTimeZone(zone)) issues.schedule.timeZone = 'must be an IANA time zone such as Europe/Berlin';
  const when = (field: 'startAt' | 'endAt'): string | undefined => {
    const local = text(form, field, 30).trim();
    if (!local || issues.schedule.timeZone) return undefined;
    const iso = wallTimeToIso(local, zone);
    if (!iso) issues.schedule[field] = 'is not a date and time';
    return iso ?? undefined;
  };
  const startAt = when('startAt');
  const endAt = when('endAt');
  const jitter = secondsOf(text(form, 'jitterSeconds', 20), 's', 0);
  if (!jitter.ok) issues.schedule.jitterSeconds = jitter.message;
  const overlap = text(form, 'overlap', 20) as OverlapPolicy;

  if (Object.keys(issues.schedule).length || Object.keys(issues.intervals).length) return { ok: false, issues };
  return {
    ok: true,
    value: {
      name,
      description: text(form, 'description', 2000),
      spec: {
        cron: cronLines(text(form, 'cron', 2500)),
        intervals,
        timeZone: zone,
        ...(startAt ? { startAt } : {}),
        ...(endAt ? { endAt } : {}),
        jitterSeconds: jitter.ok ? (jitter.value ?? 0) : 0,
      },
      overlap: overlapPolicies.includes(overlap) ? overlap : 'skip',
      paused: form.get('paused') === 'true' || form.get('paused') === 'on',
    },
  };
}

// ---- the pages' data -------------------------------------------------------------------------------------

/** Devices listed to check one by one (the API's largest page); the others are reached by group, tag or filter. */
const DEVICE_LIST_SIZE = 200;

/** The target picker's lists, as the run form has them. */
export async function pickerData(api: ApiClient) {
  const [devices, groups, tags] = await Promise.all([
    api.get('/devices', { params: { query: { pageSize: DEVICE_LIST_SIZE, sort: 'hostname', order: 'asc' } } }),
    api.get('/groups'),
    api.get('/tags'),
  ]);
  return {
    devices: devices.items.map((d) => ({
      id: d.id,
      hostname: d.hostname,
      status: d.status,
      os: osLabel(d.osName, d.osVersion) || d.osFamily,
    })),
    devicesTotal: devices.total,
    groups: groups.items.map((g) => ({ id: g.id, name: g.name, memberCount: g.memberCount })).sort((a, b) => a.name.localeCompare(b.name)),
    tags: tags.items.map((t) => ({ tag: t.tag, deviceCount: t.deviceCount })),
  };
}

const emptyPosted: PostedScheduleForm = {
  target: 'selected',
  deviceIds: [],
  targetGroupId: '',
  targetTag: '',
  filterSearch: '',
  filterStatus: '',
  filterOsFamily: '',
  values: {},
  maxConcurrency: '',
  thresholdCount: '',
  thresholdPercent: '',
  deadlineSeconds: '3600',
  name: '',
  description: '',
  cron: '',
  intervals: [],
  timeZone: 'UTC',
  startAt: '',
  endAt: '',
  jitterSeconds: '',
  overlap: 'skip',
  paused: false,
};

const valueTexts = (values: Record<string, string | number | boolean>): Record<string, string> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? 'true' : '') : String(v)]));

/** A schedule as the form's first values (its secrets are never among them). */
export function scheduleFormValues(s: Schema<'JobScheduleDetail'> | Schema<'JobSchedule'>): {
  posted: PostedScheduleForm;
  partialTargets: boolean;
} {
  const { state, partial } = targetStateOf(s.targetSelection);
  const zone = s.spec.timeZone || 'UTC';
  const unitText = (seconds: number) => {
    const { value, unit } = splitSeconds(seconds);
    return { value: String(value), unit };
  };
  const temporal = 'temporal' in s ? s.temporal : null;
  return {
    partialTargets: partial,
    posted: {
      ...emptyPosted,
      ...state,
      values: valueTexts(s.parameters),
      maxConcurrency: s.maxConcurrency === null ? '' : String(s.maxConcurrency),
      thresholdCount: s.failureThreshold?.count == null ? '' : String(s.failureThreshold.count),
      thresholdPercent: s.failureThreshold?.percent == null ? '' : String(s.failureThreshold.percent),
      deadlineSeconds: String(s.deadlineSeconds),
      name: s.name,
      description: s.description,
      cron: (s.spec.cron ?? []).join('\n'),
      intervals: (s.spec.intervals ?? []).map((i) => {
        const every = unitText(i.everySeconds);
        const offset = i.offsetSeconds ? unitText(i.offsetSeconds) : { value: '', unit: every.unit };
        return { every: every.value, everyUnit: every.unit, offset: offset.value, offsetUnit: offset.unit };
      }),
      timeZone: zone,
      startAt: isoToWallTime(s.spec.startAt, zone),
      endAt: isoToWallTime(s.spec.endAt, zone),
      jitterSeconds: s.spec.jitterSeconds ? String(s.spec.jitterSeconds) : '',
      overlap: s.overlap,
      paused: temporal?.paused ?? s.paused,
    },
  };
}

/**
 * What the form pages load: the job and its versions, the version the form is for (`?version=`, else the schedule's
 * pin, else the current one) and its parameters, the picker's lists and the time zones.
 */
export async function scheduleFormLoader(api: ApiClient, request: Request, jobId: string, schedule?: Schema<'JobScheduleDetail'>) {
  const [job, versions, picker] = await Promise.all([
    api.get('/jobs/{id}', { params: { path: { id: jobId } } }),
    api.get('/jobs/{id}/versions', { params: { path: { id: jobId } } }),
    pickerData(api),
  ]);
  const wanted = versionChoiceParam(new URL(request.url).searchParams.get('version'));
  const version: VersionChoice = wanted ?? schedule?.version ?? 'current';
  const definition =
    version === 'current' || version === job.currentVersion
      ? job.definition
      : (await api.get('/jobs/{id}/versions/{version}', { params: { path: { id: jobId, version } } })).definition;
  const initial = schedule ? scheduleFormValues(schedule) : { posted: emptyPosted, partialTargets: false };
  return {
    job: { id: job.id, name: job.name, currentVersion: job.currentVersion },
    versions: versions.items.map((v) => ({ version: v.version, createdAt: v.createdAt })),
    version,
    parameters: definition.parameters ?? [],
    picker,
    timeZones: timeZoneNames(Intl.supportedValuesOf('timeZone'), initial.posted.timeZone),
    initial: initial.posted,
    partialTargets: initial.partialTargets,
    /** The secrets the schedule keeps now (never their values). */
    secretNames: schedule?.secretParameters ?? [],
  };
}

// ---- the post ------------------------------------------------------------------------------------------------

/**
 * The schedule form's post: checks what the console can, then creates the schedule of `jobId` (or replaces the whole
 * of `scheduleId`) and redirects to it. Anything else answers with the form's data (status 4xx/5xx).
 */
export async function scheduleAction(
  request: Request,
  context: AppLoadContext,
  where: { jobId: string; scheduleId?: string },
  form: FormData,
) {
  const api = await requireApi(request, context);
  const version = versionChoiceParam(text(form, 'version', 12)) ?? 'current';
  const job = await api.get('/jobs/{id}', { params: { path: { id: where.jobId } } });
  const definition =
    version === 'current' || version === job.currentVersion
      ? job.definition
      : (await api.get('/jobs/{id}/versions/{version}', { params: { path: { id: where.jobId, version } } })).definition;
  const parameters = definition.parameters ?? [];
  const secretsAgain = parameters.some((p) => p.type === 'secret');
  const base = { version, posted: postedScheduleForm(form, parameters), secretsAgain };
  const answer = (body: Omit<ScheduleFormData, keyof typeof base>, status = 400) =>
    data<ScheduleFormData>({ ...base, ...body }, { status });

  const fields = parseScheduleFields(form);
  const target = parseJobRunTarget(form);
  const options = parseRunOptions(form);
  if (!fields.ok || !target.ok || !options.ok) {
    const issues = emptyScheduleIssues();
    if (!fields.ok) Object.assign(issues, fields.issues);
    issues.fields = { ...(options.ok ? {} : options.fields), ...(target.ok ? {} : { target: target.message }) };
    return answer({ formError: 'Check the highlighted fields.', issues });
  }
  const selection: JobRunTargetSelection = target.value;
  const body = {
    ...selection,
    ...fields.value,
    ...(version === 'current' ? {} : { version }),
    parameters: parameterValues(parameters, (field) => {
      const v = form.get(field);
      return typeof v === 'string' ? v : null;
    }),
    ...options.value,
  };
  try {
    const saved = where.scheduleId
      ? await api.put('/job-schedules/{id}', { params: { path: { id: where.scheduleId } }, body })
      : await api.post('/jobs/{id}/schedules', { params: { path: { id: where.jobId } }, body });
    return redirect(`/schedules/${saved.id}?${where.scheduleId ? 'saved' : 'created'}`);
  } catch (error) {
    // 401, 403, 404 and 5xx became a redirect or an error page in requireApi's client already.
    if (!(error instanceof ApiError)) throw error;
    if (error.code === 'secrets_unavailable') {
      return answer({ formErrorTitle: 'Secrets cannot be kept', formError: error.detail ?? error.title }, error.status);
    }
    const issues = scheduleFormIssues(error.errors);
    const n = scheduleIssueCount(issues);
    return answer(
      {
        formError:
          n === 0
            ? (error.detail ?? error.title)
            : n === 1
              ? error.detail
                ? `${error.detail.replace(/\.?$/, '.')} See the field below.`
                : 'One value is not right: see the field below.'
              : `${n} values are not right: see below.`,
        issues,
      },
      error.status,
    );
  }
}
