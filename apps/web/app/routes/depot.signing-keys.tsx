/**
 * /depot/signing-keys — the keys the depot signs artifact manifests with (admins; ADR 23): a rotation starts with a
 * new pending key (published to agents, signing nothing), which is activated once the fleet has checked in (the
 * active one becomes previous, still published), and a previous or pending key is retired (no longer published).
 */
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react';
import { z } from 'zod';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { refusal } from '~/lib/software.server';
import { Alert, Badge, Button, Card, EmptyState, PageHeader, RelativeTime, Table, Td, Th, type Tone } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Depot signing keys · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'admin');
  const { items } = await api.get('/depot/signing-keys');
  return { items };
}

const keyId = z.string().uuid();

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = String(form.get('intent') ?? '');
  try {
    if (intent === 'create') {
      const key = await api.post('/depot/signing-keys');
      return redirect(`/depot/signing-keys?${new URLSearchParams({ done: `Created a pending key ${key.keyId.slice(0, 8)}.` })}`);
    }
    const id = keyId.safeParse(form.get('keyId'));
    if (id.success && (intent === 'activate' || intent === 'retire')) {
      const path = intent === 'activate' ? '/depot/signing-keys/{keyId}/activate' : '/depot/signing-keys/{keyId}/retire';
      const key = await api.post(path, { params: { path: { keyId: id.data } } });
      return redirect(`/depot/signing-keys?${new URLSearchParams({ done: `Key ${key.keyId.slice(0, 8)} is ${key.state} now.` })}`);
    }
  } catch (error) {
    return refusal(error, intent);
  }
  return refusal(new Error(`unknown intent ${intent}`), intent);
}

const stateTones: Record<string, Tone> = { pending: 'amber', active: 'green', previous: 'blue', retired: 'gray' };

export default function SigningKeys() {
  const { items } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const [sp] = useSearchParams();
  const busy = useNavigation().state !== 'idle';
  return (
    <>
      <PageHeader
        title="Depot signing keys"
        description="Agents accept an artifact only with a manifest signed by a key they were given at check-in. Activate a new key once the fleet has checked in since it was created."
        actions={
          <Form method="post">
            <Button type="submit" variant="primary" name="intent" value="create" disabled={busy}>
              Start a rotation
            </Button>
          </Form>
        }
      />
      <div className="space-y-4">
        {sp.get('done') ? <Alert tone="success">{sp.get('done')}</Alert> : null}
        {answer?.formError ? (
          <Alert title="The key was not changed">
            <span data-testid="signing-key-refusal">{answer.formError}</span>
          </Alert>
        ) : null}
        <Card title="Keys">
          {items.length === 0 ? (
            <EmptyState title="No signing keys">
              The depot makes its first key when it first signs; without SECRETS_MASTER_KEYS it cannot keep one.
            </EmptyState>
          ) : (
            <Table>
              <thead>
                <tr>
                  <Th>Key</Th>
                  <Th>State</Th>
                  <Th>Public key</Th>
                  <Th>Created</Th>
                  <Th>Activated</Th>
                  <Th>Retired</Th>
                  <Th />
                </tr>
              </thead>
              <tbody>
                {items.map((k) => (
                  <tr key={k.keyId} data-testid="signing-key-row" data-key-id={k.keyId}>
                    <Td>
                      <code className="text-xs" title={k.keyId}>
                        {k.keyId.slice(0, 8)}
                      </code>
                    </Td>
                    <Td>
                      <Badge tone={stateTones[k.state] ?? 'gray'} data-testid="signing-key-state">
                        {k.state}
                      </Badge>
                    </Td>
                    <Td>
                      <code className="text-xs break-all text-zinc-600">{k.publicKey}</code>
                    </Td>
                    <Td className="text-zinc-500">
                      <RelativeTime iso={k.createdAt} />
                    </Td>
                    <Td className="text-zinc-500">
                      <RelativeTime iso={k.activatedAt} />
                    </Td>
                    <Td className="text-zinc-500">{k.retiredAt ? <RelativeTime iso={k.retiredAt} /> : '—'}</Td>
                    <Td className="text-right whitespace-nowrap">
                      <Form method="post" className="inline-flex gap-1">
                        <input type="hidden" name="keyId" value={k.keyId} />
                        {k.state === 'pending' ? (
                          <Button
                            type="submit"
                            size="sm"
                            name="intent"
                            value="activate"
                            disabled={busy}
                            onClick={(e) => {
                              if (
                                !window.confirm(
                                  'Sign with this key from now on? Agents that have not checked in since it was created will refuse what it signs.',
                                )
                              )
                                e.preventDefault();
                            }}
                          >
                            Activate
                          </Button>
                        ) : null}
                        {k.state === 'pending' || k.state === 'previous' ? (
                          <Button
                            type="submit"
                            size="sm"
                            variant="ghost"
                            name="intent"
                            value="retire"
                            disabled={busy}
                            onClick={(e) => {
                              if (!window.confirm('Retire this key? Agents stop trusting it; manifests it signed no longer verify.'))
                                e.preventDefault();
                            }}
                          >
                            Retire
                          </Button>
                        ) : null}
                      </Form>
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </Card>
      </div>
    </>
  );
}
