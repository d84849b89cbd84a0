/** /agentless/credentials/new — a login for agentless targets (admins): its secret goes in once and never comes back. */
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useNavigation } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { createCredentialAction } from '~/lib/agentless-forms.server';
import { CredentialFields, CredentialSecretFields, SecretNote } from '~/components/agentless';
import { Alert, Breadcrumb, Button, Card, PageHeader, buttonClass } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Add credential · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'admin');
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  return createCredentialAction(api, await request.formData());
}

export default function NewCredential() {
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting';
  const issues = result?.issues ?? {};
  return (
    <>
      <Breadcrumb trail={[{ to: '/agentless/credentials', label: 'Credentials' }]} current="Add" />
      <PageHeader title="Add credential" description="The account an agentless target logs in with, and its password or private key." />
      <div className="max-w-2xl">
        <Form method="post" data-testid="credential-form" noValidate key={result?.answer ?? 'new'}>
          <Card>
            <div className="space-y-4 p-4">
              {result?.formError ? <Alert title="The credential was not saved">{result.formError}</Alert> : null}
              <CredentialFields values={result?.values} issues={issues} />
              <CredentialSecretFields initialKind={result?.values?.kind ?? 'password'} issues={issues} legend="Secret" />
              <SecretNote />
              {result?.values ? <p className="text-xs text-amber-700">The secret was not kept: enter it again.</p> : null}
              <div className="flex justify-end gap-2">
                <Link to="/agentless/credentials" className={buttonClass('ghost')}>
                  Cancel
                </Link>
                <Button type="submit" variant="primary" disabled={busy}>
                  {busy ? 'Saving…' : 'Add credential'}
                </Button>
              </div>
            </div>
          </Card>
        </Form>
      </div>
    </>
  );
}
