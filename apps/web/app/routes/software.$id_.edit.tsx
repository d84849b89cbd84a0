/** /software/:id/edit — a package's name, vendor, category and description, and its icon (operators). */
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, useActionData, useLoaderData } from '@remix-run/react';
import { MAX_PACKAGE_ICON_BYTES, packageIconTypes } from '@opsconductor/contracts/api';
import { ApiError, requireApi, type ApiClient } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { readPackageForm, updatePackageBody, type PackageFormValues } from '~/lib/software';
import { idParam, invalid, refusal } from '~/lib/software.server';
import { PackageForm, PackageIcon } from '~/components/software';
import { Alert, Breadcrumb, Button, Card, PageHeader } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Edit ${data?.pkg.name ?? 'package'} · OpsConductor` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = idParam(params, 'Package');
  const api = await requireApi(request, context);
  await requireRole(api, 'operator', 'change the software catalog');
  return { pkg: await api.get('/software/packages/{id}', { params: { path: { id } } }) };
}

/** The icon form's largest post (the icon plus the form's other fields); the API takes icons up to MAX_PACKAGE_ICON_BYTES. */
const ICON_POST_MAX_BYTES = MAX_PACKAGE_ICON_BYTES + 64 * 1024;

async function iconAction(api: ApiClient, id: string, form: FormData) {
  if (form.get('intent') === 'icon-delete') {
    await api.delete('/software/packages/{id}/icon', { params: { path: { id } } });
    return redirect(`/software/${id}/edit?saved`);
  }
  const file = form.get('icon');
  if (!(file instanceof File) || file.size === 0) return data<IconAnswer>({ iconError: 'Choose an image.' }, { status: 400 });
  if (file.size > MAX_PACKAGE_ICON_BYTES)
    return data<IconAnswer>({ iconError: `An icon may be at most ${MAX_PACKAGE_ICON_BYTES / 1024} KiB.` }, { status: 413 });
  await api.put('/software/packages/{id}/icon', {
    params: { path: { id } },
    // The image as it is (the API reads its type from its bytes).
    body: new Uint8Array(await file.arrayBuffer()) as never,
    bodySerializer: (body: unknown) => body as Uint8Array,
    headers: { 'Content-Type': (packageIconTypes as readonly string[]).includes(file.type) ? file.type : 'image/png' },
  });
  return redirect(`/software/${id}/edit?saved`);
}

type IconAnswer = { iconError: string };

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = idParam(params, 'Package');
  const api = await requireApi(request, context);
  if (Number(request.headers.get('Content-Length') ?? 0) > ICON_POST_MAX_BYTES) {
    await request.body?.cancel();
    return data<IconAnswer>({ iconError: `An icon may be at most ${MAX_PACKAGE_ICON_BYTES / 1024} KiB.` }, { status: 413 });
  }
  const form = await request.formData();
  const intent = form.get('intent');
  if (intent === 'icon' || intent === 'icon-delete') {
    try {
      return await iconAction(api, id, form);
    } catch (error) {
      if (error instanceof ApiError) return data<IconAnswer>({ iconError: error.detail ?? error.title }, { status: error.status });
      throw error;
    }
  }
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
  const answered = useActionData<typeof action>();
  const iconError = answered && 'iconError' in answered ? answered.iconError : undefined;
  const answer = answered && !('iconError' in answered) ? answered : undefined;
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
      <div className="mt-4 max-w-3xl">
        <Card title="Icon">
          <div className="flex flex-wrap items-center gap-4 p-4">
            {pkg.hasIcon ? <PackageIcon pkg={pkg} size={48} /> : <span className="text-[13px] text-zinc-500">No icon yet.</span>}
            <Form method="post" encType="multipart/form-data" className="flex flex-wrap items-center gap-2" data-testid="icon-form">
              <input type="file" name="icon" accept={packageIconTypes.join(',')} aria-label="Icon image" className="text-[13px]" />
              <Button type="submit" name="intent" value="icon" size="sm">
                Upload icon
              </Button>
            </Form>
            {pkg.hasIcon ? (
              <Form method="post">
                <Button type="submit" name="intent" value="icon-delete" size="sm" variant="ghost">
                  Remove icon
                </Button>
              </Form>
            ) : null}
          </div>
          <p className="px-4 pb-3 text-xs text-zinc-500">A PNG, JPEG or WebP image of at most {MAX_PACKAGE_ICON_BYTES / 1024} KiB.</p>
          {iconError ? (
            <div className="px-4 pb-3">
              <Alert title="The icon was not changed">{iconError}</Alert>
            </div>
          ) : null}
        </Card>
      </div>
    </>
  );
}
