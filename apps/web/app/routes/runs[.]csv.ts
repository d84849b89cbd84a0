/** GET /runs.csv?<the runs page's filters>: the filtered runs as a CSV download. */
import type { LoaderFunctionArgs } from '@remix-run/node';
import { csvDownload } from '~/lib/csv-export.server';
import { RUN_FILTERS, activeFilters, filtersFrom } from '~/lib/list-filters.server';

export function loader({ request, context }: LoaderFunctionArgs) {
  const filters = activeFilters(filtersFrom(new URL(request.url), RUN_FILTERS));
  return csvDownload(request, context, (api) => api.exportJobRuns(filters));
}
