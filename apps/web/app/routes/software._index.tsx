/** /software — the package catalog: search by name or vendor, filter by platform and category. */
import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, Link, useLoaderData } from '@remix-run/react';
import { z } from 'zod';
import { packagePlatforms } from '@opsconductor/contracts/constants';
import { requireApi } from '~/lib/api.server';
import { pluralize } from '~/lib/format';
import { platformLabels } from '~/lib/software';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { Alert, Badge, Button, Card, EmptyState, Input, PageHeader, Pagination, Select, Table, Td, Th, buttonClass } from '~/components/ui';
import { PackageIcon } from '~/components/software';

export const meta: MetaFunction = () => [{ title: 'Software · OpsConductor' }];

const PAGE_SIZE = 50;
const pageParam = z.coerce.number().int().min(1).max(100_000).catch(1);
const textParam = z.string().trim().max(100).catch('');
const platformParam = z.enum(packagePlatforms).or(z.literal('')).catch('');

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const sp = new URL(request.url).searchParams;
  const page = pageParam.parse(sp.get('page') ?? 1);
  const q = textParam.parse(sp.get('q') ?? '');
  const category = textParam.parse(sp.get('category') ?? '');
  const platform = platformParam.parse(sp.get('platform') ?? '');
  const { items, total } = await api.get('/software/packages', {
    params: { query: { page, pageSize: PAGE_SIZE, q: q || undefined, category: category || undefined, platform: platform || undefined } },
  });
  return { items, total, page, q, category, platform, deleted: sp.get('deleted') };
}

export default function SoftwareCatalog() {
  const { items, total, page, q, category, platform, deleted } = useLoaderData<typeof loader>();
  const user = useOptionalUser();
  const canEdit = canRunCommands(user?.role);
  const filtered = Boolean(q || category || platform);
  const categories = [...new Set(items.map((p) => p.category).filter(Boolean))].sort();
  return (
    <>
      <PageHeader
        title="Software catalog"
        description={`${pluralize(total, 'package')}${filtered ? ' matching the filters' : ''} · each with its versions, installers and detection rules`}
        actions={
          canEdit ? (
            <Link to="/software/new" className={buttonClass('primary')}>
              New package
            </Link>
          ) : null
        }
      />
      {deleted ? (
        <div className="mb-4">
          <Alert tone="success">Deleted “{deleted}” and its versions; their artifacts stay in the depot.</Alert>
        </div>
      ) : null}
      <Card
        title="Packages"
        actions={
          <Form method="get" role="search" className="flex items-center gap-2">
            <Input
              type="search"
              name="q"
              defaultValue={q}
              key={`q:${q}`}
              placeholder="Name or vendor…"
              aria-label="Search packages"
              className="h-7! w-56 text-xs!"
            />
            <Select name="platform" defaultValue={platform} key={`p:${platform}`} aria-label="Platform" className="h-7! w-32 text-xs!">
              <option value="">All platforms</option>
              {packagePlatforms.map((p) => (
                <option key={p} value={p}>
                  {platformLabels[p]}
                </option>
              ))}
            </Select>
            <Input
              name="category"
              defaultValue={category}
              key={`c:${category}`}
              placeholder="Category"
              aria-label="Category"
              list="software-categories"
              className="h-7! w-36 text-xs!"
            />
            <datalist id="software-categories">
              {categories.map((c) => (
                <option key={c} value={c} />
              ))}
            </datalist>
            <Button type="submit" size="sm">
              Search
            </Button>
          </Form>
        }
      >
        {total === 0 ? (
          <EmptyState title={filtered ? 'No packages match' : 'No packages yet'}>
            {filtered
              ? 'Try another name, platform or category.'
              : canEdit
                ? 'Add a package, then upload its installer to the depot as a version.'
                : 'Operators and admins can add packages.'}
          </EmptyState>
        ) : (
          <>
            <Table>
              <thead>
                <tr>
                  <Th>Name</Th>
                  <Th>Vendor</Th>
                  <Th>Platform</Th>
                  <Th>Category</Th>
                  <Th>Latest version</Th>
                  <Th className="text-right">Versions</Th>
                </tr>
              </thead>
              <tbody>
                {items.map((p) => (
                  <tr key={p.id} data-testid="package-row" data-package-id={p.id} className="hover:bg-zinc-50">
                    <Td>
                      <span className="flex items-center gap-2">
                        <PackageIcon pkg={p} />
                        <Link to={`/software/${p.id}`} className="font-medium text-zinc-900 hover:underline" prefetch="intent">
                          {p.name}
                        </Link>
                      </span>
                    </Td>
                    <Td className="text-zinc-600">{p.vendor || <span className="text-zinc-300">—</span>}</Td>
                    <Td>
                      <Badge tone="gray">{platformLabels[p.platform]}</Badge>
                    </Td>
                    <Td className="text-zinc-600">{p.category || <span className="text-zinc-300">—</span>}</Td>
                    <Td className="font-mono text-xs">
                      <span data-testid="package-latest">
                        {p.latestVersion ?? <span className="font-sans text-zinc-400">No versions</span>}
                      </span>
                    </Td>
                    <Td className="text-right tabular-nums">{p.versionCount}</Td>
                  </tr>
                ))}
              </tbody>
            </Table>
            <Pagination page={page} pageSize={PAGE_SIZE} total={total} noun="package" />
          </>
        )}
      </Card>
    </>
  );
}
