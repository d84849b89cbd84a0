/** /software/new — add a package to the catalog (operators). */
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useActionData } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { createPackageBody, readPackageForm, type PackageFormValues } from '~/lib/software';
import { invalid, refusal } from '~/lib/software.server';
import { PackageForm } from '~/components/software';
import { Breadcrumb, PageHeader } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'New package · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'operator', 'change the software catalog');
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const form = await request.formData();
  const values = readPackageForm((n) => form.get(n));
  const body = createPackageBody(values);
  if (!body.ok) return invalid<PackageFormValues>('save', body.issues, values);
  try {
    const created = await api.post('/software/packages', { body: body.body });
    return redirect(`/software/${created.id}?created`);
  } catch (error) {
    return refusal(error, 'save', values);
  }
}

export default function NewPackage() {
  const answer = useActionData<typeof action>();
  const initial = answer?.values ?? { name: '', vendor: '', description: '', category: '', platform: 'windows' };
  return (
    <>
      <Breadcrumb trail={[{ to: '/software', label: 'Software' }]} current="New package" />
      <PageHeader title="New package" description="A product in the catalog; its versions carry the installers and detection rules." />
      <PackageForm
        key={answer?.answer}
        mode="create"
        initial={initial}
        issues={answer?.issues}
        formError={answer?.formError}
        cancelTo="/software"
      />
    </>
  );
}
