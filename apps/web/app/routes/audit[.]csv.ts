/** GET /audit.csv?<the audit page's filters>: the filtered audit log as a CSV download (admin). */
import type { LoaderFunctionArgs } from '@remix-run/node';
import { csvDownload } from '~/lib/csv-export.server';
import { AUDIT_FILTERS, activeFilters, filtersFrom } from '~/lib/list-filters.server';

export function loader({ request, context }: LoaderFunctionArgs) {
  const filters = activeFilters(filtersFrom(new URL(request.url), AUDIT_FILTERS));
  return csvDownload(request, context, (api) => api.stream('/audit-logs.csv', 'text/csv', { params: { query: filters } }));
}
