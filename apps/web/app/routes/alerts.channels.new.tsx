/** /alerts/channels/new — a notification channel (admins): its secrets go in once and never come back. */
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useNavigation } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { invalid, readChannelConfig, refusal } from '~/lib/alert-forms.server';
import { ChannelConfigFields } from '~/components/channel-form';
import { Alert, Breadcrumb, Button, Card, Field, Input, PageHeader, buttonClass } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'New channel · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'admin');
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const form = await request.formData();
  const name = String(form.get('name') ?? '').trim();
  const config = readChannelConfig(form, String(form.get('type') ?? ''));
  if (!name || !config.ok) return invalid('create', { ...(config.ok ? {} : config.issues), ...(name ? {} : { name: 'Enter a name.' }) });
  try {
    const channel = await api.post('/notification-channels', {
      body: { name, enabled: form.get('enabled') === 'on', config: config.config },
    });
    return redirect(`/alerts/channels/${channel.id}?created`);
  } catch (error) {
    return refusal(error, 'create');
  }
}

export default function NewChannel() {
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === 'submitting';
  const issues = result?.issues ?? {};
  return (
    <>
      <Breadcrumb trail={[{ to: '/alerts/channels', label: 'Channels' }]} current="New" />
      <PageHeader
        title="New notification channel"
        description="Where alerts are sent. Secrets are stored encrypted and never shown again."
      />
      <div className="max-w-2xl">
        <Form method="post" noValidate data-testid="channel-form">
          <Card>
            <div className="space-y-4 p-4">
              {result?.formError ? <Alert title="The channel was not saved">{result.formError}</Alert> : null}
              <Field label="Name" error={issues.name}>
                {(p) => <Input {...p} name="name" maxLength={200} />}
              </Field>
              <ChannelConfigFields issues={issues} />
              <label className="flex items-center gap-2 text-[13px] text-zinc-700">
                <input type="checkbox" name="enabled" defaultChecked /> Enabled
              </label>
              <div className="flex justify-end gap-2">
                <Link to="/alerts/channels" className={buttonClass('ghost')}>
                  Cancel
                </Link>
                <Button type="submit" variant="primary" disabled={busy}>
                  {busy ? 'Saving…' : 'Add channel'}
                </Button>
              </div>
            </div>
          </Card>
        </Form>
      </div>
    </>
  );
}
