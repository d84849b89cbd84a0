import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { useEffect, useRef } from 'react';
import { z } from 'zod';
import { uuid, type CreatedEnrollmentToken, type EnrollmentToken } from '@opsconductor/contracts/api';
import { ApiError, getServerConfig, requireApi } from '~/lib/api.server';
import { env } from '~/lib/env.server';
import {
  Alert,
  Badge,
  Button,
  Card,
  CopyButton,
  EmptyState,
  Field,
  Input,
  PageHeader,
  RelativeTime,
  Table,
  Td,
  Th,
  type Tone,
} from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Enrollment · OpsConductor' }];

type TokenStatus = 'active' | 'revoked' | 'expired' | 'used_up';

function tokenStatus(t: EnrollmentToken, now: number): TokenStatus {
  if (t.revokedAt) return 'revoked';
  if (Date.parse(t.expiresAt) <= now) return 'expired';
  if (t.usedCount >= t.maxUses) return 'used_up';
  return 'active';
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const [list, config] = await Promise.all([
    api.get('/enrollment-tokens'),
    // The enroll command needs the API's public URL; fall back to API_URL if the API can't say.
    getServerConfig(api).catch((error: unknown) => {
      if (error instanceof Response && error.status >= 300 && error.status < 400) throw error;
      return null;
    }),
  ]);
  const now = Date.now();
  return {
    tokens: list.items.map((t) => ({ ...t, status: tokenStatus(t, now) })),
    apiPublicUrl: config?.apiPublicUrl ?? env.apiUrl,
  };
}

const createForm = z.object({
  name: z.string().trim().min(1, 'Give the token a name').max(200, 'At most 200 characters'),
  maxUses: z.coerce.number({ error: 'Enter a number' }).int('Whole numbers only').min(1, 'At least 1').max(100_000, 'At most 100,000'),
  expiresInHours: z.coerce
    .number({ error: 'Enter a number' })
    .int('Whole hours only')
    .min(1, 'At least 1 hour')
    .max(24 * 365, 'At most 8760 hours (one year)'),
});

type ActionData =
  | { intent: 'create'; created: CreatedEnrollmentToken; fieldErrors?: undefined; formError?: undefined }
  | { intent: 'create'; created?: undefined; fieldErrors?: Record<string, string>; formError?: string }
  | { intent: 'revoke'; revoked?: string; formError?: string; created?: undefined; fieldErrors?: undefined };

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = form.get('intent');
  try {
    if (intent === 'revoke') {
      const id = uuid.safeParse(form.get('id'));
      if (!id.success) return data<ActionData>({ intent: 'revoke', formError: 'Unknown token' }, { status: 400 });
      await api.delete('/enrollment-tokens/{id}', { params: { path: { id: id.data } } });
      return data<ActionData>({ intent: 'revoke', revoked: id.data });
    }
    const parsed = createForm.safeParse({
      name: form.get('name') ?? '',
      maxUses: form.get('maxUses') || 1,
      expiresInHours: form.get('expiresInHours') || 24,
    });
    if (!parsed.success) {
      const fieldErrors: Record<string, string> = {};
      for (const issue of parsed.error.issues) fieldErrors[String(issue.path[0])] ??= issue.message;
      return data<ActionData>({ intent: 'create', fieldErrors }, { status: 400 });
    }
    const created = await api.post('/enrollment-tokens', { body: parsed.data });
    // The secret is in this response only: never cache it.
    return data<ActionData>({ intent: 'create', created }, { headers: { 'Cache-Control': 'no-store' } });
  } catch (error) {
    if (error instanceof ApiError) {
      const body: ActionData =
        intent === 'revoke'
          ? { intent: 'revoke', formError: error.detail ?? error.title }
          : { intent: 'create', formError: error.detail ?? error.title, fieldErrors: error.fieldErrors() };
      return data<ActionData>(body, { status: error.status });
    }
    throw error;
  }
}

const statusBadge: Record<TokenStatus, { tone: Tone; label: string }> = {
  active: { tone: 'green', label: 'Active' },
  revoked: { tone: 'gray', label: 'Revoked' },
  expired: { tone: 'amber', label: 'Expired' },
  used_up: { tone: 'neutral', label: 'Used up' },
};

/** Quotes a value for a POSIX shell / PowerShell command line only when it needs it. */
function shellArg(value: string): string {
  return /^[A-Za-z0-9_\-.:/=+@%,]+$/.test(value) ? value : `'${value.replace(/'/g, `'"'"'`)}'`;
}

function CreatedToken({ token, apiPublicUrl }: { token: CreatedEnrollmentToken; apiPublicUrl: string }) {
  const enroll = `npm run agent -- enroll --server ${shellArg(apiPublicUrl)} --token ${shellArg(token.token)}`;
  const run = 'npm run agent -- run';
  return (
    <Card className="border-emerald-200 ring-1 ring-emerald-100" title={`Token “${token.name}” created`}>
      <div className="space-y-4 p-4">
        <Alert tone="warning">Copy the token now. It is shown only once and cannot be retrieved later.</Alert>
        <div>
          <div className="mb-1 flex items-center justify-between">
            <span className="text-xs font-medium text-zinc-700">Enrollment token</span>
            <CopyButton text={token.token} />
          </div>
          <code data-testid="enrollment-token" className="block rounded-md bg-zinc-100 px-3 py-2 font-mono text-xs break-all text-zinc-900">
            {token.token}
          </code>
        </div>
        <div>
          <div className="mb-1 flex items-center justify-between">
            <span className="text-xs font-medium text-zinc-700">On the machine to enroll (from the OpsConductor checkout)</span>
            <CopyButton text={`${enroll}\n${run}`} label="Copy commands" />
          </div>
          <pre
            data-testid="enroll-command"
            className="overflow-x-auto rounded-md bg-zinc-950 px-3 py-2 font-mono text-xs leading-5 text-zinc-100"
          >
            {enroll}
            {'\n'}
            {run}
          </pre>
          <p className="mt-1.5 text-xs text-zinc-500">
            The first command registers the device (valid for {token.maxUses === 1 ? 'one device' : `${token.maxUses} devices`}); the second
            starts the agent.
          </p>
        </div>
      </div>
    </Card>
  );
}

export default function Enrollment() {
  const { tokens, apiPublicUrl } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const creating = navigation.state === 'submitting' && navigation.formData?.get('intent') === 'create';
  const formRef = useRef<HTMLFormElement>(null);
  const created = result?.intent === 'create' ? result.created : undefined;
  const createErrors = result?.intent === 'create' ? result : undefined;

  useEffect(() => {
    if (created) formRef.current?.reset();
  }, [created]);

  return (
    <>
      <PageHeader title="Enrollment" description="Tokens that let new devices register with this server." />
      <div className="grid items-start gap-4 xl:grid-cols-[340px_minmax(0,1fr)]">
        <Card title="Create token">
          <Form method="post" ref={formRef} className="space-y-3 p-4">
            {createErrors?.formError ? <Alert>{createErrors.formError}</Alert> : null}
            <Field label="Name" error={createErrors?.fieldErrors?.name} hint="e.g. “Berlin office laptops”">
              {(p) => <Input {...p} name="name" required maxLength={200} />}
            </Field>
            <div className="grid grid-cols-2 gap-3">
              <Field label="Max uses" error={createErrors?.fieldErrors?.maxUses}>
                {(p) => <Input {...p} name="maxUses" type="number" min={1} max={100000} defaultValue={1} inputMode="numeric" />}
              </Field>
              <Field label="Expires in (hours)" error={createErrors?.fieldErrors?.expiresInHours}>
                {(p) => <Input {...p} name="expiresInHours" type="number" min={1} max={8760} defaultValue={24} inputMode="numeric" />}
              </Field>
            </div>
            <div className="flex justify-end">
              <Button type="submit" name="intent" value="create" variant="primary" disabled={creating}>
                Create token
              </Button>
            </div>
          </Form>
        </Card>

        <div className="space-y-4">
          {created ? <CreatedToken token={created} apiPublicUrl={apiPublicUrl} /> : null}
          {result?.intent === 'revoke' && result.formError ? <Alert title="Could not revoke the token">{result.formError}</Alert> : null}
          <Card title="Tokens">
            {tokens.length === 0 ? (
              <EmptyState title="No enrollment tokens yet">Create one to enroll your first device.</EmptyState>
            ) : (
              <Table>
                <thead>
                  <tr>
                    <Th>Name</Th>
                    <Th>Token</Th>
                    <Th>Uses</Th>
                    <Th>Expires</Th>
                    <Th>Status</Th>
                    <Th>Created by</Th>
                    <Th>Created</Th>
                    <Th>
                      <span className="sr-only">Actions</span>
                    </Th>
                  </tr>
                </thead>
                <tbody>
                  {tokens.map((t) => (
                    <tr key={t.id} data-testid="token-row" className="hover:bg-zinc-50">
                      <Td className="font-medium text-zinc-900">{t.name}</Td>
                      <Td className="font-mono text-xs text-zinc-600">{t.tokenPrefix}…</Td>
                      <Td className="tabular-nums">
                        {t.usedCount} / {t.maxUses}
                      </Td>
                      <Td className="text-zinc-500">
                        <RelativeTime iso={t.expiresAt} />
                      </Td>
                      <Td>
                        <Badge tone={statusBadge[t.status].tone} data-testid="token-status">
                          {statusBadge[t.status].label}
                        </Badge>
                      </Td>
                      <Td className="text-zinc-600">{t.createdBy ?? '—'}</Td>
                      <Td className="text-zinc-500">
                        <RelativeTime iso={t.createdAt} />
                      </Td>
                      <Td className="text-right">
                        {t.status === 'active' ? (
                          <Form method="post">
                            <input type="hidden" name="id" value={t.id} />
                            <Button type="submit" name="intent" value="revoke" variant="danger" size="sm" aria-label={`Revoke ${t.name}`}>
                              Revoke
                            </Button>
                          </Form>
                        ) : null}
                      </Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            )}
          </Card>
        </div>
      </div>
    </>
  );
}
