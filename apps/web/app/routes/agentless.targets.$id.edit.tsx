/** /agentless/targets/:id/edit — change a target, forget its pinned host key, remove it (admins). */
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { credentialChoices, idParam, targetAction } from '~/lib/agentless-forms.server';
import { hostPort, targetValues } from '~/lib/agentless';
import { ConfirmAction, ConnectionState, HostKey, ProtocolBadge, TargetForm } from '~/components/agentless';
import { Alert, Breadcrumb, Card, PageHeader } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Edit ${data?.target.name ?? 'target'} · OpsConductor` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = idParam(params, 'Target');
  const api = await requireApi(request, context);
  await requireRole(api, 'admin');
  const [target, credentials] = await Promise.all([
    api.get('/agentless-targets/{id}', { params: { path: { id } } }),
    credentialChoices(api),
  ]);
  return { target, credentials };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = idParam(params, 'Target');
  const api = await requireApi(request, context);
  return targetAction(api, id, await request.formData());
}

const flashes: Record<string, string> = {
  saved: 'Saved the target.',
  unchanged: 'Nothing changed.',
  forgotten: 'Forgot the pinned host key: the next connection pins the key it sees.',
};

export default function EditAgentlessTarget() {
  const { target, credentials } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [sp] = useSearchParams();
  const flash = Object.keys(flashes).find((k) => sp.has(k));
  const saveResult = result?.intent === 'save' ? result : undefined;
  const otherResult = result && result.intent !== 'save' ? result : undefined;
  return (
    <>
      <Breadcrumb
        trail={[
          { to: '/agentless/targets', label: 'Agentless targets' },
          { to: `/devices/${target.id}`, label: target.name },
        ]}
        current="Edit"
      />
      <PageHeader
        title={`Edit ${target.name}`}
        description={
          <span className="inline-flex items-center gap-2">
            <ProtocolBadge protocol={target.protocol} />
            <span className="font-mono text-xs">{target.winrm?.endpoint ?? hostPort(target.host, target.port)}</span>
            <Link to={`/devices/${target.id}`} className="text-xs hover:underline">
              Device page
            </Link>
          </span>
        }
      />
      <div className="max-w-3xl space-y-4">
        {flash ? (
          <Alert tone="success">
            <span data-testid="target-flash">{flashes[flash]}</span>
          </Alert>
        ) : null}
        {otherResult?.formError ? (
          <Alert title={otherResult.intent === 'remove' ? 'Could not remove the target' : 'Could not forget the host key'}>
            {otherResult.formError}
          </Alert>
        ) : null}
        <Card title="Last connection">
          <div className="p-4">
            <ConnectionState lastConnectedAt={target.lastConnectedAt} lastError={target.lastError} lastErrorAt={target.lastErrorAt} />
          </div>
        </Card>
        {target.ssh ? (
          <Card title="Pinned host key">
            <div className="flex flex-wrap items-center justify-between gap-3 p-4">
              <HostKey fingerprint={target.ssh.hostKey} pinnedAt={target.ssh.hostKeyPinnedAt} />
              {target.ssh.hostKey ? (
                <ConfirmAction
                  intent="forget-host-key"
                  label="Forget pinned host key"
                  confirmLabel="Confirm forget"
                  question="The next connection trusts whatever key it is shown. Check the key on the machine first."
                  variant="secondary"
                />
              ) : null}
            </div>
          </Card>
        ) : null}
        <TargetForm
          key={`${target.updatedAt}:${saveResult?.answer ?? ''}`}
          mode="edit"
          initial={saveResult?.values ?? targetValues(target)}
          credentials={credentials}
          issues={saveResult?.issues}
          formError={saveResult?.formError}
          pinnedHostKey={target.ssh?.hostKey ?? null}
          hasCa={target.winrm?.hasCa ?? false}
          cancelTo="/agentless/targets"
        />
        <Card title="Remove">
          <div className="flex flex-wrap items-center justify-between gap-3 p-4">
            <p className="text-xs text-zinc-600">Its device is retired; its runs stay in the history.</p>
            <ConfirmAction intent="remove" label="Remove target" confirmLabel="Confirm remove" question={`Remove “${target.name}”?`} />
          </div>
        </Card>
      </div>
    </>
  );
}
