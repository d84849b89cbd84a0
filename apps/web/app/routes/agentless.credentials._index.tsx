/** /agentless/credentials — the logins agentless targets use (admins only, reading included): no secret ever shows. */
import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData, useSearchParams } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { credentialKindLabel } from '~/lib/agentless';
import { pluralize } from '~/lib/format';
import { SecretNote } from '~/components/agentless';
import { Alert, Badge, Card, EmptyState, PageHeader, RelativeTime, Table, Td, Th, buttonClass } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Agentless credentials · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'admin');
  const { items } = await api.get('/agentless-credentials');
  return { items: [...items].sort((a, b) => a.name.localeCompare(b.name)) };
}

export default function AgentlessCredentials() {
  const { items } = useLoaderData<typeof loader>();
  const [sp] = useSearchParams();
  const deleted = sp.get('deleted');
  return (
    <>
      <PageHeader
        title="Credentials"
        description={`${pluralize(items.length, 'credential')} · the accounts agentless targets log in with`}
        actions={
          <Link to="/agentless/credentials/new" className={buttonClass('primary')}>
            Add credential
          </Link>
        }
      >
        <div className="mt-1">
          <SecretNote />
        </div>
      </PageHeader>
      {deleted !== null ? (
        <div className="mb-4">
          <Alert tone="success">Deleted {deleted ? `“${deleted}”` : 'the credential'} and its secret.</Alert>
        </div>
      ) : null}
      <Card>
        {items.length === 0 ? (
          <EmptyState title="No credentials">Add the password or private key an agentless target logs in with.</EmptyState>
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Kind</Th>
                <Th>Username</Th>
                <Th>Targets using it</Th>
                <Th>Secret set</Th>
                <Th>Created by</Th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.id} data-testid="credential-row" data-credential-id={c.id} className="hover:bg-zinc-50">
                  <Td>
                    <Link to={`/agentless/credentials/${c.id}`} className="font-medium text-zinc-900 hover:underline" prefetch="intent">
                      {c.name}
                    </Link>
                    {c.description ? <p className="max-w-xs truncate text-xs text-zinc-500">{c.description}</p> : null}
                  </Td>
                  <Td>
                    <Badge tone="neutral" data-testid="credential-kind" data-status={c.kind}>
                      {credentialKindLabel[c.kind]}
                      {c.hasPassphrase ? ' + passphrase' : ''}
                    </Badge>
                  </Td>
                  <Td className="font-mono text-xs">
                    <span data-testid="credential-username">{c.username}</span>
                  </Td>
                  <Td className="tabular-nums">
                    <span data-testid="credential-targets">{c.targetCount}</span>
                  </Td>
                  <Td className="text-zinc-500">
                    <span data-testid="credential-rotated">
                      <RelativeTime iso={c.rotatedAt} />
                    </span>
                  </Td>
                  <Td className="text-zinc-600">{c.createdBy ?? '—'}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </>
  );
}
