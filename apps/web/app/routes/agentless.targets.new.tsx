/** /agentless/targets/new — add a machine reached over SSH or WinRM (admins: it needs a credential, which only they see). */
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { useActionData, useLoaderData } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { createTargetAction, credentialChoices } from '~/lib/agentless-forms.server';
import { newTargetValues } from '~/lib/agentless';
import { TargetForm } from '~/components/agentless';
import { Breadcrumb, PageHeader } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Add agentless target · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'admin');
  return { credentials: await credentialChoices(api) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  return createTargetAction(api, await request.formData());
}

export default function NewAgentlessTarget() {
  const { credentials } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <>
      <Breadcrumb trail={[{ to: '/agentless/targets', label: 'Agentless targets' }]} current="Add" />
      <PageHeader
        title="Add agentless target"
        description="A machine without an agent. It becomes a device: runs, groups and tags take it like any other."
      />
      <div className="max-w-3xl">
        <TargetForm
          // Every answer starts the form again from what was posted, its secret-free values.
          key={result?.answer ?? 'new'}
          mode="create"
          initial={result?.values ?? newTargetValues}
          credentials={credentials}
          issues={result?.issues}
          formError={result?.formError}
          cancelTo="/agentless/targets"
        />
      </div>
    </>
  );
}
