/**
 * /depot — the depot's artifacts: search by file name or SHA-256, size, hash in short, how many package versions use
 * each; operators upload (the dialog) and delete one no version uses (the API's 409 is shown when one does).
 */
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation, useRevalidator, useSearchParams } from '@remix-run/react';
import { useCallback, useState } from 'react';
import { z } from 'zod';
import { uuid } from '@opsconductor/contracts/api';
import { requireApi } from '~/lib/api.server';
import { formatBytes, pluralize } from '~/lib/format';
import { metadataSummary, shortSha } from '~/lib/software';
import { refusal } from '~/lib/software.server';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { UploadDialog } from '~/components/depot-upload';
import { Alert, Button, Card, EmptyState, Input, PageHeader, Pagination, RelativeTime, Table, Td, Th } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Depot · OpsConductor' }];

const PAGE_SIZE = 50;
const pageParam = z.coerce.number().int().min(1).max(100_000).catch(1);
const searchParam = z.string().trim().max(200).catch('');

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const sp = new URL(request.url).searchParams;
  const page = pageParam.parse(sp.get('page') ?? 1);
  const q = searchParam.parse(sp.get('q') ?? '');
  const { items, total } = await api.get('/depot/artifacts', { params: { query: { page, pageSize: PAGE_SIZE, q: q || undefined } } });
  return { items, total, page, q };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const form = await request.formData();
  const id = uuid.safeParse(form.get('artifactId'));
  if (!id.success) return refusal(new Error('no artifact'), 'delete');
  try {
    const artifact = await api.get('/depot/artifacts/{id}', { params: { path: { id: id.data } } });
    await api.delete('/depot/artifacts/{id}', { params: { path: { id: id.data } } });
    return redirect(`/depot?${new URLSearchParams({ deleted: artifact.fileName })}`);
  } catch (error) {
    return refusal(error, 'delete');
  }
}

export default function Depot() {
  const { items, total, page, q } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const [sp] = useSearchParams();
  const deleted = sp.get('deleted');
  const navigation = useNavigation();
  const revalidator = useRevalidator();
  const user = useOptionalUser();
  const canEdit = canRunCommands(user?.role);
  const [uploading, setUploading] = useState(false);
  const onUploaded = useCallback(() => revalidator.revalidate(), [revalidator]);
  const close = useCallback(() => setUploading(false), []);
  return (
    <>
      <PageHeader
        title="Depot"
        description={`${pluralize(total, 'artifact')}${q ? ` matching “${q}”` : ''} · installers and the files next to them, by content`}
        actions={
          canEdit ? (
            <Button variant="primary" onClick={() => setUploading(true)}>
              Upload
            </Button>
          ) : null
        }
      />
      <div className="space-y-4">
        {deleted ? <Alert tone="success">Deleted {deleted} from the depot.</Alert> : null}
        {answer?.formError ? (
          <Alert title="The artifact was not deleted">
            <span data-testid="delete-refusal">{answer.formError}</span>
          </Alert>
        ) : null}
        <Card
          title="Artifacts"
          actions={
            <Form method="get" role="search" className="flex items-center gap-2">
              <Input
                type="search"
                name="q"
                defaultValue={q}
                key={`q:${q}`}
                placeholder="File name or SHA-256…"
                aria-label="Search artifacts"
                className="h-7! w-64 text-xs!"
              />
              <Button type="submit" size="sm">
                Search
              </Button>
            </Form>
          }
        >
          {total === 0 ? (
            <EmptyState title={q ? 'No artifacts match' : 'The depot is empty'}>
              {q ? 'Try another name or hash.' : canEdit ? 'Upload an installer to start.' : 'Operators and admins upload installers.'}
            </EmptyState>
          ) : (
            <>
              <Table>
                <thead>
                  <tr>
                    <Th>File</Th>
                    <Th className="text-right">Size</Th>
                    <Th>SHA-256</Th>
                    <Th>Read from it</Th>
                    <Th className="text-right">Used by</Th>
                    <Th>Added</Th>
                    {canEdit ? <Th /> : null}
                  </tr>
                </thead>
                <tbody>
                  {items.map((a) => (
                    <tr key={a.id} data-testid="artifact-row" data-artifact-id={a.id} className="hover:bg-zinc-50">
                      <Td className="font-medium text-zinc-900">
                        <span data-testid="artifact-file-name">{a.fileName}</span>
                      </Td>
                      <Td className="text-right tabular-nums">{formatBytes(a.size)}</Td>
                      <Td>
                        <code className="text-xs text-zinc-600" title={a.sha256} data-testid="artifact-sha">
                          {shortSha(a.sha256)}
                        </code>
                      </Td>
                      <Td className="max-w-xs truncate text-xs text-zinc-600">
                        {metadataSummary(a.metadata)
                          .filter(([k]) => k !== 'Format')
                          .map(([k, v]) => `${k}: ${v}`)
                          .join(' · ') || <span className="text-zinc-300">—</span>}
                      </Td>
                      <Td className="text-right tabular-nums">
                        <span data-testid="artifact-used-by">{pluralize(a.versions, 'version')}</span>
                      </Td>
                      <Td className="text-zinc-500">
                        <RelativeTime iso={a.createdAt} />
                      </Td>
                      {canEdit ? (
                        <Td className="text-right">
                          <Form method="post">
                            <input type="hidden" name="artifactId" value={a.id} />
                            <Button
                              type="submit"
                              size="sm"
                              variant="ghost"
                              disabled={navigation.state !== 'idle'}
                              onClick={(e) => {
                                if (!window.confirm(`Delete ${a.fileName} from the depot? Its bytes are removed.`)) e.preventDefault();
                              }}
                            >
                              Delete
                            </Button>
                          </Form>
                        </Td>
                      ) : null}
                    </tr>
                  ))}
                </tbody>
              </Table>
              <Pagination page={page} pageSize={PAGE_SIZE} total={total} noun="artifact" />
            </>
          )}
        </Card>
      </div>
      <UploadDialog open={uploading} onClose={close} onUploaded={onUploaded} />
    </>
  );
}
