/** /software/:id/versions/new — add a version to a package (operators): installer, artifacts, detection, requirements. */
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useActionData, useLoaderData } from '@remix-run/react';
import { requireApi, type ApiClient } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { createVersionBody, emptyVersionForm, readVersionForm, type VersionFormValues } from '~/lib/software';
import { commandDefaults, idParam, invalid, refusal } from '~/lib/software.server';
import { VersionEditor, type ArtifactChoice } from '~/components/version-editor';
import { Breadcrumb, PageHeader } from '~/components/ui';
import type { InstallerType } from '@opsconductor/contracts/constants';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `New version of ${data?.pkg.name ?? 'package'} · OpsConductor` }];

const defaultType: Record<string, InstallerType> = { windows: 'msi', linux: 'deb', macos: 'sh' };

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = idParam(params, 'Package');
  const api = await requireApi(request, context);
  await requireRole(api, 'operator', 'change the software catalog');
  const [pkg, { items: versions }, { items: packages }] = await Promise.all([
    api.get('/software/packages/{id}', { params: { path: { id } } }),
    api.get('/software/packages/{id}/versions', { params: { path: { id } } }),
    api.get('/software/packages', { params: { query: { pageSize: 200 } } }),
  ]);
  return {
    pkg,
    versions: versions.map((v) => ({ id: v.id, version: v.version })),
    packages: packages.filter((p) => p.id !== id).map((p) => ({ id: p.id, name: p.name })),
    defaults: commandDefaults(),
  };
}

/** The chosen artifacts again, to show them after a refused save. */
async function artifactChoices(api: ApiClient, ids: string[]): Promise<ArtifactChoice[]> {
  const found = await Promise.allSettled(ids.map((id) => api.get('/depot/artifacts/{id}', { params: { path: { id } } })));
  return found.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
}

type Posted = VersionFormValues & { artifacts: ArtifactChoice[] };

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = idParam(params, 'Package');
  const api = await requireApi(request, context);
  const form = await request.formData();
  const values = readVersionForm(
    (n) => form.get(n),
    (n) => form.getAll(n),
  );
  const parsed = createVersionBody(values);
  const issues = parsed.ok ? {} : { ...parsed.issues };
  if (form.get('detectionIncomplete')) issues.detection = 'Complete the detection rules, or remove the incomplete ones.';
  if (!parsed.ok || Object.keys(issues).length) {
    return invalid<Posted>('save', issues, { ...values, artifacts: await artifactChoices(api, values.artifactIds) });
  }
  try {
    const version = await api.post('/software/packages/{id}/versions', { params: { path: { id } }, body: parsed.body });
    return redirect(`/software/${id}?${new URLSearchParams({ createdVersion: version.version })}#version-${version.id}`);
  } catch (error) {
    return refusal<Posted>(error, 'save', { ...values, artifacts: await artifactChoices(api, values.artifactIds) });
  }
}

export default function NewVersion() {
  const { pkg, versions, packages, defaults } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const windows = pkg.platform === 'windows';
  const initial = answer?.values ?? {
    ...emptyVersionForm(defaultType[pkg.platform] ?? 'msi'),
    // Hooks run where the package does.
    preHookInterpreter: windows ? 'powershell' : 'sh',
    postHookInterpreter: windows ? 'powershell' : 'sh',
    platforms: [pkg.platform],
  };
  const detectionErrors = (answer?.errors ?? []).filter((e) => /^(body[./])?detection([./[]|$)/.test(e.path));
  return (
    <>
      <Breadcrumb
        trail={[
          { to: '/software', label: 'Software' },
          { to: `/software/${pkg.id}`, label: pkg.name },
        ]}
        current="New version"
      />
      <PageHeader
        title={`New version of ${pkg.name}`}
        description="Left empty, the commands and exit codes are the installer type's defaults."
      />
      <VersionEditor
        key={answer?.answer}
        initial={initial}
        initialArtifacts={answer?.values?.artifacts ?? []}
        defaults={defaults}
        packages={packages}
        versions={versions}
        issues={answer?.issues}
        formError={answer?.formError}
        detectionErrors={detectionErrors}
        cancelTo={`/software/${pkg.id}`}
      />
    </>
  );
}
