/**
 * /alerts/channels/:id — one notification channel (admins): rename it, enable or disable it, replace its
 * configuration (write-only: the secrets are never shown, and nothing changes unless a new one is posted), send a test
 * message and see what the receiver answered, its delivery log (paged), and delete it.
 */
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { requireApi, ApiError, type RouteErrorData } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { idParam, invalid, readChannelConfig, refusal, type FormAnswer } from '~/lib/alert-forms.server';
import { channelTypeLabel } from '~/lib/alerts';
import { ConfirmAction } from '~/components/agentless';
import { ChannelConfigFields } from '~/components/channel-form';
import { DeliveriesTable, DeliveryStatusBadge } from '~/components/alerts';
import { Alert, Breadcrumb, Button, Card, Field, Input, PageHeader, Pagination } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.channel.name ?? 'Channel'} · OpsConductor` }];

const PAGE_SIZE = 25;

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = idParam(params, 'Channel');
  const api = await requireApi(request, context);
  await requireRole(api, 'admin');
  const page = z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .catch(1)
    .parse(new URL(request.url).searchParams.get('page') ?? 1);
  const [channel, deliveries] = await Promise.all([
    api.get('/notification-channels/{id}', { params: { path: { id } } }),
    api.get('/notification-channels/{id}/deliveries', { params: { path: { id }, query: { page, pageSize: PAGE_SIZE } } }),
  ]);
  return { channel, deliveries, page };
}

type TestAnswer = FormAnswer & { test?: { status: string; responseCode: number | null; detail: string | null } };

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = idParam(params, 'Channel');
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = String(form.get('intent') ?? '');
  const path = { path: { id } };
  try {
    switch (intent) {
      case 'save': {
        const name = String(form.get('name') ?? '').trim();
        if (!name) return invalid(intent, { name: 'Enter a name.' });
        await api.patch('/notification-channels/{id}', { params: path, body: { name, enabled: form.get('enabled') === 'on' } });
        return data<TestAnswer>({ intent, ok: true, answer: randomUUID() });
      }
      case 'replace': {
        const channel = await api.get('/notification-channels/{id}', { params: path });
        const config = readChannelConfig(form, channel.type);
        if (!config.ok) return invalid(intent, config.issues);
        await api.patch('/notification-channels/{id}', { params: path, body: { config: config.config } });
        return data<TestAnswer>({ intent, ok: true, answer: randomUUID() });
      }
      case 'test': {
        const test = await api.post('/notification-channels/{id}/test', { params: path });
        return data<TestAnswer>({ intent, ok: test.status === 'delivered', test, answer: randomUUID() });
      }
      case 'delete':
        await api.delete('/notification-channels/{id}', { params: path });
        return redirect('/alerts/channels');
      default:
        throw data<RouteErrorData>({ title: 'Unknown action' }, { status: 400 });
    }
  } catch (error) {
    if (error instanceof ApiError) return refusal(error, intent);
    throw error;
  }
}

function Settings({ settings }: { settings: Record<string, unknown> }) {
  const entries = Object.entries(settings).filter(([, v]) => v !== null && v !== undefined && v !== '');
  if (entries.length === 0) return null;
  return (
    <dl className="divide-y divide-zinc-100 text-[13px]" data-testid="channel-settings">
      {entries.map(([k, v]) => (
        <div key={k} className="grid grid-cols-[140px_minmax(0,1fr)] gap-2 px-4 py-1.5">
          <dt className="text-zinc-500">{k}</dt>
          <dd className="font-mono text-xs text-zinc-800">{Array.isArray(v) ? v.join(', ') : String(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

export default function ChannelPage() {
  const { channel: c, deliveries, page } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as TestAnswer | undefined;
  const navigation = useNavigation();
  const busy = (intent: string) => navigation.state !== 'idle' && navigation.formData?.get('intent') === intent;
  const [sp] = useSearchParams();
  const of = (intent: string) => (result?.intent === intent ? result : undefined);
  const save = of('save');
  const replace = of('replace');
  const test = of('test');
  const del = of('delete');
  return (
    <>
      <Breadcrumb trail={[{ to: '/alerts/channels', label: 'Channels' }]} current={c.name} />
      <PageHeader
        title={c.name}
        description={`${channelTypeLabel[c.type] ?? c.type} · sends to ${c.target}${c.enabled ? '' : ' · disabled'}`}
      />
      <div className="max-w-4xl space-y-4">
        {sp.has('created') ? (
          <Alert tone="success">
            <span data-testid="channel-flash">Added the channel. Its secrets are stored encrypted and are not shown again.</span>
          </Alert>
        ) : null}

        <Card title="Send a test message">
          <div className="space-y-3 p-4">
            <div className="flex flex-wrap items-center justify-between gap-3">
              <p className="text-xs text-zinc-600">Sends a sample alert to this channel now and shows what the receiver answered.</p>
              <Form method="post" preventScrollReset>
                <Button type="submit" name="intent" value="test" variant="primary" disabled={busy('test')}>
                  {busy('test') ? 'Sending…' : 'Send test message'}
                </Button>
              </Form>
            </div>
            {test?.test ? (
              <div data-testid="test-result" data-status={test.test.status}>
                <Alert
                  tone={test.test.status === 'delivered' ? 'success' : 'error'}
                  title={<DeliveryStatusBadge status={test.test.status} />}
                >
                  {test.test.responseCode !== null ? <>HTTP {test.test.responseCode}. </> : null}
                  {test.test.detail ?? ''}
                </Alert>
              </div>
            ) : test?.formError ? (
              <Alert title="The test was not sent">{test.formError}</Alert>
            ) : null}
          </div>
        </Card>

        <Form method="post" key={`save:${c.updatedAt}:${save?.answer ?? ''}`} noValidate data-testid="channel-settings-form">
          <Card title="Details">
            <div className="space-y-4 p-4">
              {save?.formError ? <Alert title="The channel was not saved">{save.formError}</Alert> : null}
              {save?.ok ? <Alert tone="success">Saved.</Alert> : null}
              <Field label="Name" error={save?.issues?.name}>
                {(p) => <Input {...p} name="name" defaultValue={c.name} maxLength={200} />}
              </Field>
              <label className="flex items-center gap-2 text-[13px] text-zinc-700">
                <input type="checkbox" name="enabled" defaultChecked={c.enabled} /> Enabled
              </label>
              <div className="flex justify-end">
                <Button type="submit" name="intent" value="save" variant="primary" disabled={busy('save')}>
                  Save
                </Button>
              </div>
            </div>
            <Settings settings={c.settings} />
          </Card>
        </Form>

        <Form method="post" key={`replace:${replace?.answer ?? ''}`} noValidate data-testid="channel-replace-form">
          <Card title="Replace configuration">
            <div className="space-y-4 p-4">
              <p className="text-xs text-zinc-600">
                The configuration and its secrets are write-only: nothing here is shown, and the channel keeps its current configuration
                unless you replace all of it. The type stays {channelTypeLabel[c.type] ?? c.type}.
              </p>
              {replace?.formError ? <Alert title="The configuration was not replaced">{replace.formError}</Alert> : null}
              {replace?.ok ? <Alert tone="success">Replaced the configuration.</Alert> : null}
              <ChannelConfigFields issues={replace?.issues ?? {}} fixedType={c.type} />
              <div className="flex justify-end">
                <Button type="submit" name="intent" value="replace" disabled={busy('replace')}>
                  Replace configuration
                </Button>
              </div>
            </div>
          </Card>
        </Form>

        <Card title={`Delivery log (${deliveries.total})`}>
          <DeliveriesTable items={deliveries.items} />
          {deliveries.total > PAGE_SIZE ? <Pagination page={page} pageSize={PAGE_SIZE} total={deliveries.total} noun="delivery" /> : null}
        </Card>

        <Card title="Delete">
          <div className="space-y-3 p-4">
            {del?.formError ? (
              <div data-testid="channel-delete-error" data-code={del.code}>
                <Alert title="Could not delete the channel">{del.formError}</Alert>
              </div>
            ) : null}
            <div className="flex flex-wrap items-center justify-between gap-3">
              <p className="text-xs text-zinc-600">Deletes it with its secrets; rules and policies stop sending to it.</p>
              <ConfirmAction intent="delete" label="Delete channel" confirmLabel="Confirm delete" question={`Delete “${c.name}”?`} />
            </div>
          </div>
        </Card>
      </div>
    </>
  );
}
