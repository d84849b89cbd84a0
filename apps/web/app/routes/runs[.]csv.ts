/** GET /runs.csv?<the runs page's filters>: the filtered runs as a CSV download. */
import type { LoaderFunctionArgs } from '@remix-run/node';
import { csvDownload } from '~/lib/csv-export.server';
import { RUN_FILTERS, filtersFrom, runListQuery } from '~/lib/list-filters.server';

export function loader({ request, context }: LoaderFunctionArgs) {
  const query = runListQuery(filtersFrom(new URL(request.url), RUN_FILTERS));
  return csvDownload(request, context, (api) => api.stream('/job-runs.csv', 'text/csv', { params: { query } }));
}
