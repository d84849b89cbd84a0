/**
 * When maintenance windows are open. Pure: every instant comes in as an argument (workflows pass
 * `workflow`'s deterministic clock), and only `Intl` is used, so deployment workflows import this directly.
 *
 * Semantics (docs/operations.md, "Maintenance windows", says the same for operators):
 * - A window opens at `startTime`, wall-clock time in its `timeZone`, on every day (daily) or on each listed
 *   weekday (weekly; 0 = Sunday, the weekday as it is in that zone), and stays open `durationMinutes` of elapsed
 *   time: a 2-hour window over a daylight saving change lasts 2 real hours, whatever the clocks show at its end.
 * - An occurrence is half-open: open from its start (inclusive) to its end (exclusive).
 * - A start time that does not exist that day (clocks set forward over it: 02:30 in Europe/Berlin on the last
 *   Sunday of March) opens as far after the gap as it was into it: 03:30 summer time. A start time that happens
 *   twice (clocks set back) opens at the first one, still in summer time. This is JS Temporal's 'compatible'
 *   disambiguation.
 * - An occurrence belongs to the day it starts on and counts until it ends: a 6-hour window at 22:00 contains
 *   03:00 the next day; a week-long window contains the whole week.
 * - When occurrences overlap (windows longer than their period), "the occurrence" at an instant is the one that
 *   started first; {@link currentWindowEnd} follows overlapping and adjoining occurrences of every window given.
 *
 * Cost: a lookup converts one wall-clock time per calendar day it considers, from `duration + 2` days before the
 * instant to 9 days after it (Intl's formatters are cached per zone): never a minute-by-minute search.
 */
import type { MaintenanceWindowSpec } from '@opsconductor/contracts/maintenance-windows';
import { DAY_MS, instantOfWallClock, MINUTE_MS, wallClockAt } from './zoned-time.ts';

export interface WindowOccurrence {
  start: Date;
  end: Date;
}

/**
 * {@link currentWindowEnd} looks this far ahead at most: windows that together stay open longer (a daily 24-hour
 * window, a weekly window of a week) report `at` plus this, an instant at which they are still open.
 */
export const OPEN_STRETCH_HORIZON_DAYS = 31;

/** A window's occurrence as epoch milliseconds. */
interface Span {
  start: number;
  end: number;
}

const START_TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;

function instant(at: Date): number {
  const t = at.getTime();
  if (!Number.isFinite(t)) throw new RangeError('the instant is an invalid Date');
  return t;
}

function startMinuteOfDay(w: MaintenanceWindowSpec): number {
  const m = START_TIME.exec(w.startTime);
  if (!m) throw new RangeError(`maintenance window "${w.name}": startTime ${JSON.stringify(w.startTime)} is not HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** 0 = Sunday for a day number counted from 1970-01-01, a Thursday. */
const weekday = (dayNumber: number) => (((dayNumber + 4) % 7) + 7) % 7;

/**
 * The occurrences of `w` that start on the calendar days (in its zone) from `daysBefore` days before the one `t`
 * falls on to `daysAfter` days after it, in day order.
 */
function spansAround(w: MaintenanceWindowSpec, t: number, daysBefore: number, daysAfter: number): Span[] {
  const duration = w.durationMinutes * MINUTE_MS;
  if (!(duration > 0)) throw new RangeError(`maintenance window "${w.name}": durationMinutes must be positive`);
  const startOfDay = startMinuteOfDay(w) * MINUTE_MS;
  const days = w.recurrence === 'weekly' ? new Set(w.daysOfWeek ?? []) : undefined;
  const today = Math.floor(wallClockAt(w.timeZone, t) / DAY_MS);
  const spans: Span[] = [];
  for (let day = today - daysBefore; day <= today + daysAfter; day++) {
    if (days && !days.has(weekday(day))) continue;
    const start = instantOfWallClock(w.timeZone, day * DAY_MS + startOfDay);
    spans.push({ start, end: start + duration });
  }
  return spans;
}

/**
 * Days to look back for occurrences still running: the duration in days, one for the start time within its day,
 * and one for offset changes between the start and now.
 */
const daysBack = (w: MaintenanceWindowSpec) => Math.ceil(w.durationMinutes / (24 * 60)) + 2;

/** The occurrences of `w` that contain `t`, in day order. */
function spansContaining(w: MaintenanceWindowSpec, t: number): Span[] {
  // One day ahead too: where clocks go back over midnight, tomorrow's occurrence can start before today ends.
  return spansAround(w, t, daysBack(w), 1).filter((s) => s.start <= t && t < s.end);
}

const earliest = (spans: Span[]): Span | undefined =>
  spans.reduce<Span | undefined>((best, s) => (best === undefined || s.start < best.start ? s : best), undefined);

const toOccurrence = (s: Span): WindowOccurrence => ({ start: new Date(s.start), end: new Date(s.end) });

/** The occurrence of `w` that contains `at` (start <= at < end), or null. */
export function occurrenceAt(w: MaintenanceWindowSpec, at: Date): WindowOccurrence | null {
  const found = earliest(spansContaining(w, instant(at)));
  return found ? toOccurrence(found) : null;
}

/** The first occurrence of `w` whose end is after `at` (the one containing `at`, else the next one to open). */
export function nextOccurrence(w: MaintenanceWindowSpec, at: Date): WindowOccurrence {
  const t = instant(at);
  // Every occurrence lasts as long, so the first to end after `t` is the first to start among those ending after it.
  // Nine days ahead always holds one: a weekly window opens at least once in any seven days.
  const found = earliest(spansAround(w, t, daysBack(w), 9).filter((s) => s.end > t));
  if (!found) throw new RangeError(`maintenance window "${w.name}" never opens: a weekly window needs daysOfWeek`);
  return toOccurrence(found);
}

/** Whether `at` lies inside any of the windows (false for an empty list). */
export function insideAnyWindow(ws: readonly MaintenanceWindowSpec[], at: Date): boolean {
  const t = instant(at);
  return ws.some((w) => spansContaining(w, t).length > 0);
}

/** When a device with these windows may next install: `at` itself if inside one; the earliest next opening otherwise; null for an empty list. */
export function nextOpening(ws: readonly MaintenanceWindowSpec[], at: Date): Date | null {
  if (ws.length === 0) return null;
  const t = instant(at);
  let opening = Number.POSITIVE_INFINITY;
  for (const w of ws) {
    const next = nextOccurrence(w, at).start.getTime();
    if (next <= t) return new Date(t);
    opening = Math.min(opening, next);
  }
  return new Date(opening);
}

/**
 * When the stretch of open time containing `at` closes: the end of the window containing `at`, or later when
 * other occurrences (of any of the windows) overlap or adjoin it, and so on; null if `at` is inside none.
 * Looks {@link OPEN_STRETCH_HORIZON_DAYS} ahead at most: a stretch still open then reports that instant.
 */
export function currentWindowEnd(ws: readonly MaintenanceWindowSpec[], at: Date): Date | null {
  const t = instant(at);
  const horizon = t + OPEN_STRETCH_HORIZON_DAYS * DAY_MS;
  const latestEndAt = (u: number): number | undefined => {
    let latest: number | undefined;
    for (const w of ws) for (const s of spansContaining(w, u)) latest = latest === undefined ? s.end : Math.max(latest, s.end);
    return latest;
  };
  let end = latestEndAt(t);
  if (end === undefined) return null;
  // Occurrences are half-open: one that opens exactly when another closes continues the stretch.
  while (end < horizon) {
    const next = latestEndAt(end);
    if (next === undefined) break;
    end = next; // later than `end`: an occurrence containing `end` ends after it
  }
  return new Date(Math.min(end, horizon));
}
