import { Form, Link } from '@remix-run/react';
import type { ReactNode } from 'react';
import { Alert, Button, Input, buttonClass } from './ui';

/**
 * The filter bar of a list page: a GET form (the filters live in the URL), Filter / Clear, and a CSV
 * download of the filtered list. Inputs are the children; their names are the URL parameters.
 */
export function FilterBar({
  label,
  filtered,
  exportHref,
  error,
  children,
}: {
  label: string;
  filtered: boolean;
  exportHref: string;
  error?: string | null;
  children: ReactNode;
}) {
  return (
    <div className="mb-3 space-y-2">
      <Form method="get" role="search" aria-label={label} className="flex flex-wrap items-end gap-2">
        {children}
        <Button type="submit">Filter</Button>
        {filtered ? (
          <Link to="?" className={buttonClass('ghost')}>
            Clear
          </Link>
        ) : null}
        <a href={exportHref} className={buttonClass('secondary')} download>
          Export CSV
        </a>
      </Form>
      {error ? (
        <div data-testid="filter-error">
          <Alert title="Check the filters">{error}</Alert>
        </div>
      ) : null}
    </div>
  );
}

/** A labelled filter input; `label` is also its accessible name. */
export function FilterField({ label, children }: { label: string; children: ReactNode }) {
  return (
    <label className="flex flex-col gap-1 text-xs font-medium text-zinc-700">
      {label}
      {children}
    </label>
  );
}

/** From / To date inputs (URL parameters `from` and `to`); keyed so a new URL resets them. */
export function DateRangeFields({ from, to }: { from?: string; to?: string }) {
  return (
    <>
      <FilterField label="From">
        <Input name="from" type="date" defaultValue={from} key={`from:${from}`} className="w-36" />
      </FilterField>
      <FilterField label="To">
        <Input name="to" type="date" defaultValue={to} key={`to:${to}`} className="w-36" />
      </FilterField>
    </>
  );
}

/** `?a=1&b=2` of the filters that are set ('' when none). */
export function queryOf(filters: Record<string, string>): string {
  const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== '')).toString();
  return q ? `?${q}` : '';
}
