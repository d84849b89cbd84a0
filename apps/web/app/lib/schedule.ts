/**
 * Schedules of jobs (issue 7) as the console shows and asks for them: a spec in words ("cron 0 3 * * *
 * (Europe/Berlin)", "every 15 min"), times in a schedule's time zone and back (the form's start and end are wall
 * times of that zone), the overlap policies explained, where the API's issues belong on the schedule form, and a
 * schedule's targets as the run form's picker state.
 *
 * Pure and browser-safe: only *types* come from the contracts.
 */
import type { components } from '@opsconductor/contracts/openapi-types';
import { runFormIssues, type RunFormIssues, type TargetSelection, type TargetState } from './job-run';

export type ScheduleSpec = components['schemas']['JobScheduleSpec'];
export type OverlapPolicy = NonNullable<components['schemas']['JobScheduleBody']['overlap']>;
export type ScheduleInterval = NonNullable<ScheduleSpec['intervals']>[number];

// ---- durations --------------------------------------------------------------------------------------------

export type TimeUnit = 's' | 'min' | 'h' | 'd';
export const timeUnits: ReadonlyArray<{ unit: TimeUnit; seconds: number; label: string }> = [
  { unit: 's', seconds: 1, label: 'seconds' },
  { unit: 'min', seconds: 60, label: 'minutes' },
  { unit: 'h', seconds: 3600, label: 'hours' },
  { unit: 'd', seconds: 86_400, label: 'days' },
];
const unitSeconds = (unit: string): number | null => timeUnits.find((u) => u.unit === unit)?.seconds ?? null;

/** Seconds in their largest whole unit: 900 → { value: 15, unit: 'min' }, 90 → { value: 90, unit: 's' }. */
export function splitSeconds(seconds: number): { value: number; unit: TimeUnit } {
  for (const u of [...timeUnits].reverse()) {
    if (seconds !== 0 && seconds % u.seconds === 0) return { value: seconds / u.seconds, unit: u.unit };
  }
  return { value: seconds, unit: 's' };
}

/** "15 min", "1 h", "2 d", "90 s" (the largest whole unit). */
export function durationText(seconds: number): string {
  const { value, unit } = splitSeconds(seconds);
  return `${value.toLocaleString('en-US')} ${unit}`;
}

/**
 * A number typed in a unit, as whole seconds: null when the field is empty, an error when it is not a number, not
 * whole seconds or below `min`.
 */
export function secondsOf(text: string, unit: string, min: number): { ok: true; value: number | null } | { ok: false; message: string } {
  const t = text.trim();
  if (t === '') return { ok: true, value: null };
  const n = Number(t);
  const per = unitSeconds(unit) ?? 1;
  if (!Number.isFinite(n)) return { ok: false, message: 'must be a number' };
  const seconds = Math.round(n * per * 1000) / 1000;
  if (!Number.isInteger(seconds)) return { ok: false, message: 'must be whole seconds' };
  if (seconds < min) return { ok: false, message: min === 0 ? 'must not be negative' : `must be at least ${durationText(min)}` };
  return { ok: true, value: seconds };
}

// ---- a spec in words ----------------------------------------------------------------------------------------

/** "every 15 min", "every 1 d, offset 3 h". */
export function intervalText(interval: ScheduleInterval): string {
  const offset = interval.offsetSeconds ?? 0;
  return `every ${durationText(interval.everySeconds)}${offset ? `, offset ${durationText(offset)}` : ''}`;
}

/** "cron 0 3 * * * (Europe/Berlin); every 15 min": each cron expression with its time zone, each interval. */
export function specText(spec: ScheduleSpec): string {
  const zone = spec.timeZone || 'UTC';
  const parts = [...(spec.cron ?? []).map((c) => `cron ${c} (${zone})`), ...(spec.intervals ?? []).map(intervalText)];
  return parts.length ? parts.join('; ') : 'never (no cron expression or interval)';
}

const dayNames = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const num = (field: string, max: number): number | null => {
  if (!/^\d{1,2}$/.test(field)) return null;
  const n = Number(field);
  return n <= max ? n : null;
};
const pad2 = (n: number) => String(n).padStart(2, '0');
const ordinal = (n: number) => {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s}`;
};

/** "Monday to Friday", "every Monday", "on Mondays and Thursdays"; null for anything else. */
function daysOfWeek(field: string): string | null {
  if (field === '1-5') return 'Monday to Friday';
  if (field === '0,6' || field === '6,0') return 'on Saturdays and Sundays';
  const days = field.split(',').map((d) => num(d, 7));
  if (days.some((d) => d === null)) return null;
  const names = days.map((d) => dayNames[d! % 7]!);
  if (names.length === 1) return `every ${names[0]!}`;
  return `on ${names
    .slice(0, -1)
    .map((n) => `${n}s`)
    .join(', ')} and ${names.at(-1)!}s`;
}

/**
 * Common cron expressions in words ("every day at 03:00", "Monday to Friday at 06:30", "every 10 min"); null for
 * anything else (the expression itself says it best).
 */
export function cronInWords(expression: string): string | null {
  const macros: Record<string, string> = {
    '@yearly': 'every year on 1 January at 00:00',
    '@annually': 'every year on 1 January at 00:00',
    '@monthly': 'on the 1st of every month at 00:00',
    '@weekly': 'every Sunday at 00:00',
    '@daily': 'every day at 00:00',
    '@midnight': 'every day at 00:00',
    '@hourly': 'every hour at :00',
  };
  const e = expression.trim();
  if (e in macros) return macros[e]!;
  const fields = e.split(/\s+/);
  if (fields.length !== 5) return null;
  const [min = '', hour = '', dom = '', month = '', dow = ''] = fields;
  if (month !== '*') return null;
  if (hour === '*' && dom === '*' && dow === '*') {
    if (min === '*') return 'every minute';
    const step = /^\*\/(\d{1,2})$/.exec(min);
    if (step) return Number(step[1]) === 1 ? 'every minute' : `every ${Number(step[1])} min`;
    const m = num(min, 59);
    return m === null ? null : `every hour at :${pad2(m)}`;
  }
  const m = num(min, 59);
  const h = num(hour, 23);
  if (m === null || h === null) return null;
  const at = `at ${pad2(h)}:${pad2(m)}`;
  if (dom === '*' && dow === '*') return `every day ${at}`;
  if (dom === '*') {
    const days = daysOfWeek(dow);
    return days ? `${days} ${at}` : null;
  }
  const d = num(dom, 31);
  if (dow === '*' && d !== null && d >= 1) return `on the ${ordinal(d)} of every month ${at}`;
  return null;
}

// ---- overlap ------------------------------------------------------------------------------------------------

export const overlapPolicies: readonly OverlapPolicy[] = [
  'skip',
  'buffer_one',
  'buffer_all',
  'cancel_other',
  'terminate_other',
  'allow_all',
];
export const overlapTexts: Record<OverlapPolicy, { label: string; description: string }> = {
  skip: { label: 'Skip', description: 'Do not start while the last run is still going; that time is missed (the default).' },
  buffer_one: {
    label: 'Buffer one',
    description: 'Start once more as soon as the last run ends; any further times meanwhile are missed.',
  },
  buffer_all: { label: 'Buffer all', description: 'Keep every time that came meanwhile and run them one after another.' },
  cancel_other: { label: 'Cancel the other', description: 'Cancel the run still going (it stops its devices), then start.' },
  terminate_other: {
    label: 'Terminate the other',
    description: 'End the run still going at once, without cancelling its devices cleanly, then start.',
  },
  allow_all: { label: 'Allow all', description: 'Start every time, even while earlier runs are still going.' },
};

// ---- time zones -------------------------------------------------------------------------------------------

/** The time zones to offer: UTC first, then every IANA zone the runtime knows (and `extra`, when it is not one of them). */
export function timeZoneNames(supported: readonly string[], extra?: string): string[] {
  const names = ['UTC', ...supported.filter((z) => z !== 'UTC')];
  if (extra && !names.includes(extra)) names.splice(1, 0, extra);
  return names;
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    formatters.set(zone, f);
  }
  return f;
}

type WallParts = { year: number; month: number; day: number; hour: number; minute: number; second: number; weekday: string };
function wallParts(t: number, zone: string): WallParts {
  const parts: Record<string, string> = {};
  for (const p of wallClock(zone).formatToParts(new Date(t))) parts[p.type] = p.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: parts.weekday ?? '',
  };
}

/** How far the zone's wall clock is ahead of UTC at instant `t`, in ms. */
export function zoneOffsetMs(t: number, zone: string): number {
  const p = wallParts(t, zone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(t / 1000) * 1000;
}

/** "+01:00", "-05:30", "Z" is never used (an offset is always written out). */
function offsetText(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/** An instant as the wall time in `zone`: "Tue 2025-03-04 03:00" (with `seconds`, "…03:00:00"). */
export function zonedTime(iso: string, zone: string, seconds = false): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t) || !isTimeZone(zone)) return '—';
  const p = wallParts(t, zone);
  return `${p.weekday} ${p.year}-${pad2(p.month)}-${pad2(p.day)} ${pad2(p.hour)}:${pad2(p.minute)}${seconds ? `:${pad2(p.second)}` : ''}`;
}

/** The zone's offset at that instant, as "UTC+01:00". */
export function zoneOffsetLabel(iso: string, zone: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t) || !isTimeZone(zone)) return '';
  const ms = zoneOffsetMs(t, zone);
  return ms === 0 ? 'UTC' : `UTC${offsetText(ms)}`;
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * A `datetime-local` value read as a wall time in `zone`, as an ISO time with that zone's offset
 * ("2025-03-30T02:30" in Europe/Berlin, a time the clocks skip, is taken as 03:30+02:00). Null if it is not one.
 */
export function wallTimeToIso(local: string, zone: string): string | null {
  const m = LOCAL.exec(local.trim());
  if (!m || !isTimeZone(zone)) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || (Number.isFinite(s) && s > 59)) return null;
  const wall = Date.UTC(y, mo - 1, d, h, mi, Number.isFinite(s) ? s : 0);
  const check = new Date(wall);
  if (check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) return null;
  // The offset at the guessed instant, then at the instant that gives: they differ only around a change of offset.
  let t = wall - zoneOffsetMs(wall, zone);
  const second = zoneOffsetMs(t, zone);
  t = wall - second;
  const offset = zoneOffsetMs(t, zone);
  const p = wallParts(t, zone);
  const date = `${p.year}-${pad2(p.month)}-${pad2(p.day)}T${pad2(p.hour)}:${pad2(p.minute)}:${pad2(p.second)}`;
  return `${date}${offsetText(offset)}`;
}

/** An ISO time as the `datetime-local` value of its wall time in `zone` ("2025-03-04T03:00"); '' if it is not one. */
export function isoToWallTime(iso: string | null | undefined, zone: string): string {
  const t = iso ? Date.parse(iso) : NaN;
  if (!Number.isFinite(t) || !isTimeZone(zone)) return '';
  const p = wallParts(t, zone);
  return `${p.year}-${pad2(p.month)}-${pad2(p.day)}T${pad2(p.hour)}:${pad2(p.minute)}${p.second ? `:${pad2(p.second)}` : ''}`;
}

// ---- the form's issues ----------------------------------------------------------------------------------

export type ScheduleFormField = 'name' | 'description' | 'spec' | 'cron' | 'timeZone' | 'startAt' | 'endAt' | 'jitterSeconds' | 'overlap';
export type ScheduleFormIssues = RunFormIssues & {
  schedule: Partial<Record<ScheduleFormField, string>>;
  /** By the interval's row. */
  intervals: Record<number, string>;
};

export const emptyScheduleIssues = (): ScheduleFormIssues => ({ parameters: {}, fields: {}, other: [], schedule: {}, intervals: {} });

const SPEC_FIELDS: Record<string, ScheduleFormField> = {
  timeZone: 'timeZone',
  startAt: 'startAt',
  endAt: 'endAt',
  jitterSeconds: 'jitterSeconds',
};
const join = (current: string | undefined, message: string) => (current ? `${current}; ${message}` : message);

/**
 * Where each of the API's issues belongs on the schedule form: `name`, `spec` (Temporal's refusal of the whole spec),
 * `spec.cron.1` (the second cron line), `spec.intervals.0.everySeconds` (the first interval's row), `spec.timeZone`…;
 * what the run form also has (targets, `parameters.<name>`, limits) goes where it goes there.
 */
export function scheduleFormIssues(errors: ReadonlyArray<{ path: string; message: string }>): ScheduleFormIssues {
  const issues = emptyScheduleIssues();
  const rest: Array<{ path: string; message: string }> = [];
  for (const { path: given, message } of errors) {
    const path = given.replace(/^body[./]/, '');
    const [head = '', second, third] = path.split('.');
    if (head === 'name' || head === 'description' || head === 'overlap') {
      issues.schedule[head] = join(issues.schedule[head], message);
    } else if (head === 'spec' && second === undefined) {
      issues.schedule.spec = join(issues.schedule.spec, message);
    } else if (head === 'spec' && second === 'cron') {
      const line = third !== undefined && /^\d+$/.test(third) ? `line ${Number(third) + 1}: ` : '';
      issues.schedule.cron = join(issues.schedule.cron, `${line}${message}`);
    } else if (head === 'spec' && second === 'intervals' && third !== undefined && /^\d+$/.test(third)) {
      const row = Number(third);
      issues.intervals[row] = join(issues.intervals[row], message);
    } else if (head === 'spec' && second !== undefined && SPEC_FIELDS[second]) {
      const field = SPEC_FIELDS[second];
      issues.schedule[field] = join(issues.schedule[field], message);
    } else if (head === 'spec') {
      issues.schedule.spec = join(issues.schedule.spec, `${path.slice(5)}: ${message}`);
    } else {
      rest.push({ path, message });
    }
  }
  const run = runFormIssues(rest);
  return { ...issues, parameters: run.parameters, fields: run.fields, other: run.other };
}

export const scheduleIssueCount = (i: ScheduleFormIssues) =>
  Object.keys(i.parameters).length +
  Object.keys(i.fields).length +
  i.other.length +
  Object.keys(i.schedule).length +
  Object.keys(i.intervals).length;

// ---- targets ------------------------------------------------------------------------------------------------

const emptyTarget: TargetState = {
  target: 'selected',
  deviceIds: [],
  targetGroupId: '',
  targetTag: '',
  filterSearch: '',
  filterStatus: '',
  filterOsFamily: '',
};

/**
 * A schedule's target selection as the picker's state. `partial` says the picker cannot show all of it (several
 * groups or tags, a filter by group, tag or custom field, devices together with a group): saving the form replaces it
 * with what the picker shows.
 */
export function targetStateOf(given: (TargetSelection & { filter?: Record<string, unknown> }) | null): {
  state: TargetState;
  partial: boolean;
} {
  const selection = given ?? {};
  const kinds = [selection.deviceIds?.length, selection.groupIds?.length, selection.tags?.length, selection.filter ? 1 : 0].filter(
    (n) => n,
  ).length;
  let partial = kinds > 1;
  if (selection.deviceIds?.length) return { state: { ...emptyTarget, deviceIds: [...selection.deviceIds] }, partial };
  if (selection.groupIds?.length) {
    partial ||= selection.groupIds.length > 1;
    return { state: { ...emptyTarget, target: 'group', targetGroupId: selection.groupIds[0]! }, partial };
  }
  if (selection.tags?.length) {
    partial ||= selection.tags.length > 1;
    return { state: { ...emptyTarget, target: 'tag', targetTag: selection.tags[0]! }, partial };
  }
  if (selection.filter) {
    const { search, status, osFamily, ...other } = selection.filter;
    partial ||= Object.keys(other).length > 0;
    return {
      state: {
        ...emptyTarget,
        target: 'filter',
        filterSearch: typeof search === 'string' ? search : '',
        filterStatus: typeof status === 'string' ? status : '',
        filterOsFamily: typeof osFamily === 'string' ? osFamily : '',
      },
      partial,
    };
  }
  return { state: emptyTarget, partial };
}

/** A target selection in words, with group names where known: "2 devices", "group Web servers", "tag prod", "every device". */
export function selectionText(
  given: (TargetSelection & { filter?: Record<string, unknown> }) | null,
  groupNames: Readonly<Record<string, string>> = {},
): string {
  const selection = given ?? {};
  const parts: string[] = [];
  if (selection.deviceIds?.length) parts.push(`${selection.deviceIds.length} ${selection.deviceIds.length === 1 ? 'device' : 'devices'}`);
  for (const g of selection.groupIds ?? []) parts.push(`group ${groupNames[g] ?? g}`);
  for (const t of selection.tags ?? []) parts.push(`tag ${t}`);
  if (selection.filter) {
    const f = Object.entries(selection.filter).filter(([, v]) => v !== undefined && v !== '');
    parts.push(
      f.length
        ? `devices matching ${f.map(([k, v]) => (k === 'groupId' ? `group ${groupNames[String(v)] ?? String(v)}` : `${k} ${String(v)}`)).join(', ')}`
        : 'every device',
    );
  }
  return parts.join(' + ') || 'no devices';
}
