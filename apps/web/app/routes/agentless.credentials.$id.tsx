/**
 * /agentless/credentials/:id — one credential (admins): its name, description and username to change, its secret to
 * rotate (never shown), the targets that log in with it, and delete (refused while targets use it: `credential_in_use`).
 */
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { credentialAction, idParam } from '~/lib/agentless-forms.server';
import { credentialKindLabel, hostPort } from '~/lib/agentless';
import { pluralize } from '~/lib/format';
import { ConfirmAction, CredentialFields, CredentialSecretFields, ProtocolBadge, SecretNote } from '~/components/agentless';
import { AbsoluteTime, Alert, Breadcrumb, Button, Card, EmptyState, PageHeader, RelativeTime, Table, Td, Th } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.credential.name ?? 'Credential'} · OpsConductor` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = idParam(params, 'Credential');
  const api = await requireApi(request, context);
  await requireRole(api, 'admin');
  const [credential, targets] = await Promise.all([
    api.get('/agentless-credentials/{id}', { params: { path: { id } } }),
    api.get('/agentless-targets'),
  ]);
  return {
    credential,
    targets: targets.items
      .filter((t) => t.credential.id === id)
      .map((t) => ({ id: t.id, name: t.name, protocol: t.protocol, address: hostPort(t.host, t.port) })),
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = idParam(params, 'Credential');
  const api = await requireApi(request, context);
  return credentialAction(api, id, await request.formData());
}

const flashes: Record<string, string> = {
  created: 'Added the credential. Its secret is stored encrypted and is not shown again.',
  saved: 'Saved the credential.',
  rotated: 'Rotated the secret: the old one is gone, and the next command on each of its targets logs in with the new one.',
};

export default function CredentialPage() {
  const { credential: c, targets } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = (intent: string) => navigation.state === 'submitting' && navigation.formData?.get('intent') === intent;
  const [sp] = useSearchParams();
  const flash = Object.keys(flashes).find((k) => sp.has(k));
  const saveResult = result?.intent === 'save' ? result : undefined;
  const rotateResult = result?.intent === 'rotate' ? result : undefined;
  const deleteResult = result?.intent === 'delete' ? result : undefined;
  return (
    <>
      <Breadcrumb trail={[{ to: '/agentless/credentials', label: 'Credentials' }]} current={c.name} />
      <PageHeader
        title={c.name}
        description={`${credentialKindLabel[c.kind]}${c.hasPassphrase ? ' with a passphrase' : ''} for ${c.username} · used by ${pluralize(c.targetCount, 'target')}`}
      />
      <div className="max-w-3xl space-y-4">
        {flash ? (
          <Alert tone="success">
            <span data-testid="credential-flash">{flashes[flash]}</span>
          </Alert>
        ) : null}

        <Form method="post" key={`${c.updatedAt}:${saveResult?.answer ?? ''}`} noValidate data-testid="credential-form">
          <Card title="Details">
            <div className="space-y-4 p-4">
              {saveResult?.formError ? <Alert title="The credential was not saved">{saveResult.formError}</Alert> : null}
              <CredentialFields values={saveResult?.values ?? c} issues={saveResult?.issues ?? {}} />
              <div className="flex justify-end">
                <Button type="submit" name="intent" value="save" variant="primary" disabled={busy('save')}>
                  Save credential
                </Button>
              </div>
            </div>
          </Card>
        </Form>

        <Form method="post" key={`rotate:${c.rotatedAt}:${rotateResult?.answer ?? ''}`} noValidate data-testid="rotate-form">
          <Card title="Rotate secret">
            <div className="space-y-4 p-4">
              <p className="text-xs text-zinc-600" data-testid="credential-rotated-at">
                {credentialKindLabel[c.kind]} set <RelativeTime iso={c.rotatedAt} /> (<AbsoluteTime iso={c.rotatedAt} />
                ).
              </p>
              <SecretNote />
              {rotateResult?.formError ? <Alert title="The secret was not rotated">{rotateResult.formError}</Alert> : null}
              <CredentialSecretFields initialKind={c.kind} issues={rotateResult?.issues ?? {}} legend="New secret" />
              <div className="flex justify-end">
                <Button type="submit" name="intent" value="rotate" variant="primary" disabled={busy('rotate')}>
                  Rotate secret
                </Button>
              </div>
            </div>
          </Card>
        </Form>

        <Card title={`Targets using it (${targets.length})`}>
          {targets.length === 0 ? (
            <EmptyState title="No target logs in with it" />
          ) : (
            <Table>
              <thead>
                <tr>
                  <Th>Target</Th>
                  <Th>Protocol</Th>
                  <Th>Address</Th>
                </tr>
              </thead>
              <tbody>
                {targets.map((t) => (
                  <tr key={t.id} data-testid="credential-target-row" className="hover:bg-zinc-50">
                    <Td>
                      <Link to={`/agentless/targets/${t.id}/edit`} className="font-medium text-zinc-900 hover:underline">
                        {t.name}
                      </Link>
                    </Td>
                    <Td>
                      <ProtocolBadge protocol={t.protocol} />
                    </Td>
                    <Td className="font-mono text-xs">{t.address}</Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </Card>

        <Card title="Delete">
          <div className="space-y-3 p-4">
            {deleteResult?.formError ? (
              <div data-testid="credential-delete-error" data-code={deleteResult.code}>
                <Alert title="Could not delete the credential">{deleteResult.formError}</Alert>
              </div>
            ) : null}
            <div className="flex flex-wrap items-center justify-between gap-3">
              <p className="text-xs text-zinc-600">
                {c.targetCount > 0
                  ? `${pluralize(c.targetCount, 'target')} log in with it: give them another credential first.`
                  : 'Deletes it with its secret.'}
              </p>
              <ConfirmAction
                intent="delete"
                label="Delete credential"
                confirmLabel="Confirm delete"
                question={`Delete “${c.name}” and its secret?`}
              />
            </div>
          </div>
        </Card>
      </div>
    </>
  );
}
