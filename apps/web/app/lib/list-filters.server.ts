/**
 * Filters of the runs and audit pages: read from the page's URL (so they can be bookmarked and shared),
 * passed to the API as they are (the API validates them), and turned into a message when it refuses one.
 */
import { ApiError, type Query } from './api.server';

const MAX_LENGTH = 320;

/** URL parameters of the runs page = the API's runs-list filters. */
export const RUN_FILTERS = ['status', 'jobId', 'createdBy', 'hostname', 'from', 'to'] as const;
/** URL parameters of the audit page = the API's audit-log filters. */
export const AUDIT_FILTERS = ['actor', 'action', 'targetType', 'targetId', 'from', 'to'] as const;

/** The known filters from the URL, trimmed; absent or over-long ones are empty. */
export function filtersFrom<K extends string>(url: URL, keys: readonly K[]): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const key of keys) {
    const value = (url.searchParams.get(key) ?? '').trim();
    out[key] = value.length <= MAX_LENGTH ? value : '';
  }
  return out;
}

/** The filters that are set, for the API client and for export links. */
export function activeFilters<K extends string>(filters: Record<K, string>): Partial<Record<K, string>> {
  return Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== '')) as Partial<Record<K, string>>;
}

/**
 * The runs page's filters as the API's query. A status goes as the URL has it, typed or not: the API refuses
 * one it does not know (400), which the page shows as a filter error.
 */
export function runListQuery(filters: Record<(typeof RUN_FILTERS)[number], string>): Query<'/job-runs.csv'> {
  return activeFilters(filters) as Query<'/job-runs.csv'>;
}

/** A 400 from the API about the filters, as one line per field; anything else is rethrown. */
export function filterErrorMessage(error: unknown, labels: Record<string, string>): string {
  if (!(error instanceof ApiError) || error.status !== 400) throw error;
  const fields = error.fieldErrors();
  const lines = Object.entries(fields).map(([field, message]) => `${labels[field] ?? field}: ${message}`);
  return lines.length ? lines.join('; ') : (error.detail ?? error.title);
}
