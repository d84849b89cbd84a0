/**
 * The Devices table of a large run pages through GET /job-runs/{id}/targets (via the runs.$id.targets resource route)
 * instead of holding every target: what it shows (a status, a hostname search, the pages so far) and how live
 * target updates reach the rows on screen.
 */
import type { DeviceRunStatus, JobRunTarget } from '@opsconductor/contracts/api';

/** Rows per page of a large run's Devices table. */
export const TARGETS_PAGE_SIZE = 100;
/** Runs with more targets than this page their Devices table; smaller ones hold (and filter) every target. */
export const PAGED_TARGETS_THRESHOLD = 500;

export interface TargetsView {
  status: DeviceRunStatus | null;
  search: string;
  /** The `after` cursor of each page before the current one and of the current one: empty on the first page. */
  trail: string[];
}
export const firstView: TargetsView = { status: null, search: '', trail: [] };
export const isFirstView = (v: TargetsView) => v.status === null && v.search === '' && v.trail.length === 0;

/** The resource route's URL for a view's page. */
export function targetsPageUrl(runId: string, view: TargetsView): string {
  const q = new URLSearchParams();
  if (view.status) q.set('status', view.status);
  if (view.search.trim()) q.set('search', view.search.trim());
  const after = view.trail.at(-1);
  if (after) q.set('after', after);
  const query = q.toString();
  return `/runs/${runId}/targets${query ? `?${query}` : ''}`;
}

/** One page of targets on screen, and what it was read for. */
export interface TargetPageState {
  view: TargetsView;
  items: JobRunTarget[];
  next: string | null;
  /** Targets matching the view's filters. */
  total: number;
}

/**
 * A live target update: the row changes where it is on screen; a target on another page is left to that page (its
 * status reaches the header through the run's counts).
 */
export function updateRow(items: JobRunTarget[], target: JobRunTarget): JobRunTarget[] {
  const i = items.findIndex((t) => t.deviceId === target.deviceId);
  if (i === -1) return items;
  const next = items.slice();
  next[i] = target;
  return next;
}

/** "101–200 of 1,234" for the rows of the view's page. */
export function pageRange(page: Pick<TargetPageState, 'view' | 'items' | 'total'>): string {
  if (page.items.length === 0) return `0 of ${page.total.toLocaleString('en-US')}`;
  const from = page.view.trail.length * TARGETS_PAGE_SIZE + 1;
  return `${from.toLocaleString('en-US')}–${(from + page.items.length - 1).toLocaleString('en-US')} of ${page.total.toLocaleString('en-US')}`;
}
