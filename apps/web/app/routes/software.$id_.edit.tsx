/** /software/:id/edit — a package's name, vendor, category and description (operators). */
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useActionData, useLoaderData } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { readPackageForm, updatePackageBody, type PackageFormValues } from '~/lib/software';
import { idParam, invalid, refusal } from '~/lib/software.server';
import { PackageForm } from '~/components/software';
import { Breadcrumb, PageHeader } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Edit ${data?.pkg.name ?? 'package'} · OpsConductor` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = idParam(params, 'Package');
  const api = await requireApi(request, context);
  await requireRole(api, 'operator', 'change the software catalog');
  return { pkg: await api.get('/software/packages/{id}', { params: { path: { id } } }) };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = idParam(params, 'Package');
  const api = await requireApi(request, context);
  const form = await request.formData();
  const current = await api.get('/software/packages/{id}', { params: { path: { id } } });
  const values = { ...readPackageForm((n) => form.get(n)), platform: current.platform };
  const body = updatePackageBody(current, values);
  if (!body.ok) return invalid<PackageFormValues>('save', body.issues, values);
  if (Object.keys(body.body).length === 0) return redirect(`/software/${id}`);
  try {
    await api.patch('/software/packages/{id}', { params: { path: { id } }, body: body.body });
    return redirect(`/software/${id}?saved`);
  } catch (error) {
    return refusal(error, 'save', values);
  }
}

export default function EditPackage() {
  const { pkg } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  return (
    <>
      <Breadcrumb
        trail={[
          { to: '/software', label: 'Software' },
          { to: `/software/${pkg.id}`, label: pkg.name },
        ]}
        current="Edit"
      />
      <PageHeader title={`Edit ${pkg.name}`} />
      <PackageForm
        key={answer?.answer}
        mode="edit"
        initial={answer?.values ?? pkg}
        issues={answer?.issues}
        formError={answer?.formError}
        cancelTo={`/software/${pkg.id}`}
      />
    </>
  );
}
