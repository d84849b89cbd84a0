/**
 * /software/:id — a package: its fields, its versions (installer, artifacts, detection rules in words, requirements,
 * dependencies), where it is installed; operators delete a version or the package behind a confirm, and the API's
 * refusals (409: other packages depend on it) are shown.
 */
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react';
import { uuid } from '@opsconductor/contracts/api';
import { requireApi } from '~/lib/api.server';
import { formatBytes, pluralize } from '~/lib/format';
import { installerTypeLabels, platformLabels, rebootLabels, shortSha } from '~/lib/software';
import { describeDetection, idParam, refusal } from '~/lib/software.server';
import { softwareOutcomeText } from '~/lib/format';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { DetectionView, PackageIcon } from '~/components/software';
import { AssignmentsPanel } from '~/components/software-assignments';
import {
  Alert,
  Badge,
  Breadcrumb,
  Button,
  Card,
  EmptyState,
  PageHeader,
  RelativeTime,
  Table,
  Td,
  Th,
  buttonClass,
  type Tone,
} from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.pkg.name ?? 'Package'} · OpsConductor` }];

/** Devices shown under "Where it is installed" (the API's largest page), by hostname. */
const INSTALLATIONS_SHOWN = 200;

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = idParam(params, 'Package');
  const api = await requireApi(request, context);
  const [pkg, { items: versions }, installations] = await Promise.all([
    api.get('/software/packages/{id}', { params: { path: { id } } }),
    api.get('/software/packages/{id}/versions', { params: { path: { id } } }),
    api.get('/software/packages/{id}/installations', { params: { path: { id }, query: { pageSize: INSTALLATIONS_SHOWN } } }),
  ]);
  // The artifacts and dependency packages the versions name, each looked up once.
  const artifactIds = [...new Set(versions.flatMap((v) => v.artifactIds))];
  const dependencyIds = [...new Set(versions.flatMap((v) => v.dependencies.map((d) => d.packageId)))];
  const [artifacts, dependencies] = await Promise.all([
    Promise.all(artifactIds.map((a) => api.get('/depot/artifacts/{id}', { params: { path: { id: a } } }))),
    Promise.all(dependencyIds.map((p) => api.get('/software/packages/{id}', { params: { path: { id: p } } }))),
  ]);
  const sp = new URL(request.url).searchParams;
  return {
    pkg,
    versions: versions.map((v) => ({ ...v, detectionLines: describeDetection(v.detection) })),
    artifacts: Object.fromEntries(artifacts.map((a) => [a.id, { fileName: a.fileName, size: a.size, sha256: a.sha256 }])),
    packageNames: Object.fromEntries(dependencies.map((p) => [p.id, p.name])),
    installations,
    created: sp.has('created'),
    saved: sp.has('saved'),
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = idParam(params, 'Package');
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = String(form.get('intent') ?? '');
  try {
    if (intent === 'delete-version') {
      const versionId = uuid.parse(form.get('versionId'));
      const version = await api.get('/software/versions/{id}', { params: { path: { id: versionId } } });
      await api.delete('/software/versions/{id}', { params: { path: { id: versionId } } });
      return redirect(`/software/${id}?${new URLSearchParams({ deletedVersion: version.version })}`);
    }
    if (intent === 'delete-package') {
      const pkg = await api.get('/software/packages/{id}', { params: { path: { id } } });
      await api.delete('/software/packages/{id}', { params: { path: { id } } });
      return redirect(`/software?${new URLSearchParams({ deleted: pkg.name })}`);
    }
  } catch (error) {
    return refusal(error, intent);
  }
  return refusal(new Error(`unknown intent ${intent}`), intent);
}

type InstallationState = 'installed' | 'not_installed' | 'failed';
const stateTones: Record<InstallationState, Tone> = { installed: 'green', not_installed: 'gray', failed: 'red' };
const stateLabels: Record<InstallationState, string> = { installed: 'Installed', not_installed: 'Not installed', failed: 'Failed' };

export default function PackagePage() {
  const { pkg, versions, artifacts, packageNames, installations, created, saved } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const [sp] = useSearchParams();
  const deletedVersion = sp.get('deletedVersion');
  const createdVersion = sp.get('createdVersion');
  const navigation = useNavigation();
  const busy = navigation.state !== 'idle';
  const user = useOptionalUser();
  const canEdit = canRunCommands(user?.role);
  return (
    <>
      <Breadcrumb trail={[{ to: '/software', label: 'Software' }]} current={pkg.name} />
      <PageHeader
        title={
          <span className="flex items-center gap-2">
            <PackageIcon pkg={pkg} size={28} />
            {pkg.name}
          </span>
        }
        description={[pkg.vendor, platformLabels[pkg.platform], pkg.category].filter(Boolean).join(' · ')}
        actions={
          canEdit ? (
            <>
              <Link to={`/software/${pkg.id}/versions/new`} className={buttonClass('primary')}>
                New version
              </Link>
              <Link to={`/software/${pkg.id}/edit`} className={buttonClass('secondary')}>
                Edit
              </Link>
              <Form method="post" className="contents">
                <Button
                  type="submit"
                  name="intent"
                  value="delete-package"
                  disabled={busy}
                  onClick={(e) => {
                    if (
                      !window.confirm(
                        `Delete "${pkg.name}" and its ${pluralize(versions.length, 'version')}? Their artifacts stay in the depot.`,
                      )
                    )
                      e.preventDefault();
                  }}
                >
                  Delete
                </Button>
              </Form>
            </>
          ) : null
        }
      />
      <div className="space-y-4">
        {created ? <Alert tone="success">Created the package. Add a version with its installer next.</Alert> : null}
        {saved ? <Alert tone="success">Saved the package.</Alert> : null}
        {createdVersion ? <Alert tone="success">Added version {createdVersion}.</Alert> : null}
        {deletedVersion ? <Alert tone="success">Deleted version {deletedVersion}; its artifacts stay in the depot.</Alert> : null}
        {answer?.formError ? (
          <Alert title={answer.intent === 'delete-package' ? 'The package was not deleted' : 'The version was not deleted'}>
            <span data-testid="delete-refusal">{answer.formError}</span>
          </Alert>
        ) : null}
        {pkg.description ? (
          <Card title="About">
            <p className="px-4 py-3 text-[13px] whitespace-pre-line text-zinc-700">{pkg.description}</p>
          </Card>
        ) : null}

        <Card title={`Versions (${versions.length})`}>
          {versions.length === 0 ? (
            <EmptyState title="No versions yet">
              {canEdit ? 'Add a version: upload its installer, and say how to tell it is installed.' : 'Operators add versions.'}
            </EmptyState>
          ) : (
            <div className="divide-y divide-zinc-200">
              {versions.map((v) => (
                <section key={v.id} id={`version-${v.id}`} data-testid="version" data-version-id={v.id} className="space-y-3 px-4 py-3">
                  <header className="flex flex-wrap items-center gap-2">
                    <h3 className="font-mono text-sm font-semibold text-zinc-900" data-testid="version-number">
                      {v.version}
                    </h3>
                    <Badge tone="blue">{installerTypeLabels[v.installerType]}</Badge>
                    <span className="text-xs text-zinc-500">
                      added <RelativeTime iso={v.createdAt} />
                    </span>
                    {canEdit ? (
                      <span className="ml-auto flex gap-2">
                        <Link to={`/deployments/new?versionId=${v.id}`} className={buttonClass('secondary', 'sm')}>
                          Deploy…
                        </Link>
                        <Link to={`/software/versions/${v.id}/install`} className={buttonClass('primary', 'sm')}>
                          Install…
                        </Link>
                        {v.uninstallCommand !== null ? (
                          <Link to={`/software/versions/${v.id}/install?action=uninstall`} className={buttonClass('secondary', 'sm')}>
                            Uninstall…
                          </Link>
                        ) : null}
                      </span>
                    ) : null}
                    {canEdit ? (
                      <Form method="post">
                        <input type="hidden" name="versionId" value={v.id} />
                        <Button
                          type="submit"
                          size="sm"
                          name="intent"
                          value="delete-version"
                          disabled={busy}
                          onClick={(e) => {
                            if (!window.confirm(`Delete version ${v.version} of "${pkg.name}"? Its artifacts stay in the depot.`))
                              e.preventDefault();
                          }}
                        >
                          Delete version
                        </Button>
                      </Form>
                    ) : null}
                  </header>
                  <dl className="grid gap-x-6 gap-y-2 text-[13px] md:grid-cols-2">
                    <Item label="Artifacts">
                      {v.artifactIds.length === 0 ? (
                        <span className="text-zinc-400">None (installed by name{v.packageName ? `: ${v.packageName}` : ''})</span>
                      ) : (
                        <ol className="space-y-0.5">
                          {v.artifactIds.map((a) => {
                            const art = artifacts[a];
                            return (
                              <li key={a} data-testid="version-artifact" className="flex flex-wrap gap-x-2">
                                <span className="font-medium">{art?.fileName ?? a}</span>
                                {art ? (
                                  <>
                                    <span className="text-zinc-500 tabular-nums">{formatBytes(art.size)}</span>
                                    <code className="text-xs text-zinc-500" title={art.sha256}>
                                      {shortSha(art.sha256)}
                                    </code>
                                  </>
                                ) : null}
                              </li>
                            );
                          })}
                        </ol>
                      )}
                    </Item>
                    <Item label="Install">
                      <code className="text-xs break-all">{v.installCommand}</code>
                    </Item>
                    <Item label="Uninstall">
                      {v.uninstallCommand ? (
                        <code className="text-xs break-all">{v.uninstallCommand}</code>
                      ) : (
                        <span className="text-zinc-400">Not known: cannot be uninstalled</span>
                      )}
                    </Item>
                    <Item label="Exit codes">
                      success {v.successExitCodes.join(', ') || '—'}
                      {v.rebootExitCodes.length ? ` · restart needed ${v.rebootExitCodes.join(', ')}` : ''} · restart:{' '}
                      {rebootLabels[v.reboot].toLowerCase()} · timeout {v.timeoutSeconds}s
                    </Item>
                    {v.productCode || v.packageName ? (
                      <Item label="Identity">
                        {v.productCode ? <code className="text-xs">{v.productCode}</code> : null}
                        {v.productCode && v.packageName ? ' · ' : null}
                        {v.packageName ? <code className="text-xs">{v.packageName}</code> : null}
                      </Item>
                    ) : null}
                    <Item label="Detection">
                      {v.detectionLines ? (
                        <div data-testid="version-detection">
                          <DetectionView line={v.detectionLines} />
                        </div>
                      ) : (
                        <span className="text-zinc-400">No rules: success is the installer&apos;s exit code alone</span>
                      )}
                    </Item>
                    <Item label="Requirements">
                      <Requirements r={v.requirements} />
                    </Item>
                    <Item label="Dependencies">
                      {v.dependencies.length === 0 ? (
                        <span className="text-zinc-400">None</span>
                      ) : (
                        <ul>
                          {v.dependencies.map((d) => (
                            <li key={d.packageId}>
                              <Link to={`/software/${d.packageId}`} className="hover:underline">
                                {packageNames[d.packageId] ?? d.packageId}
                              </Link>
                              {d.version ? (
                                <span className="text-zinc-500"> {d.version.map((c) => `${c.op} ${c.value}`).join(', ')}</span>
                              ) : null}
                            </li>
                          ))}
                        </ul>
                      )}
                    </Item>
                    {v.supersedesId ? (
                      <Item label="Supersedes">{versions.find((o) => o.id === v.supersedesId)?.version ?? v.supersedesId}</Item>
                    ) : null}
                    {v.preHook || v.postHook ? (
                      <Item label="Hooks">
                        {[v.preHook ? `before: ${v.preHook.interpreter}` : null, v.postHook ? `after: ${v.postHook.interpreter}` : null]
                          .filter(Boolean)
                          .join(' · ')}
                      </Item>
                    ) : null}
                    {v.notes ? <Item label="Notes">{v.notes}</Item> : null}
                  </dl>
                </section>
              ))}
            </div>
          )}
        </Card>

        <AssignmentsPanel scope={{ packageId: pkg.id }} canEdit={canEdit && versions.length > 0} title="Assignments" />

        <Card title="Where it is installed">
          {installations.items.length === 0 ? (
            <EmptyState title="Not installed anywhere yet">
              Devices report here when a version is installed or uninstalled on them (Install… above, or a rollout).
            </EmptyState>
          ) : (
            <Table>
              <thead>
                <tr>
                  <Th>Device</Th>
                  <Th>Version</Th>
                  <Th>State</Th>
                  <Th>Outcome</Th>
                  <Th>Checked</Th>
                </tr>
              </thead>
              <tbody>
                {installations.items.map((i) => (
                  <tr key={`${i.deviceId}:${i.versionId}`} data-testid="installation-row">
                    <Td>
                      <Link to={`/devices/${i.deviceId}`} className="font-medium hover:underline">
                        {i.hostname}
                      </Link>
                    </Td>
                    <Td className="font-mono text-xs">{i.version}</Td>
                    <Td>
                      <Badge tone={stateTones[i.state]}>{stateLabels[i.state]}</Badge>
                    </Td>
                    <Td className="text-zinc-600">
                      <span title={i.detail ?? undefined}>{softwareOutcomeText(i)}</span>
                    </Td>
                    <Td className="text-zinc-500">
                      <RelativeTime iso={i.checkedAt} />
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
          {installations.total > installations.items.length ? (
            <p className="border-t border-zinc-200 px-4 py-2 text-xs text-zinc-500">
              The first {installations.items.length.toLocaleString('en-US')} of {installations.total.toLocaleString('en-US')} devices, by
              hostname.
            </p>
          ) : null}
        </Card>
      </div>
    </>
  );
}

function Item({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium text-zinc-500">{label}</dt>
      <dd className="mt-0.5 text-zinc-800">{children}</dd>
    </div>
  );
}

function Requirements({
  r,
}: {
  r: { platforms?: string[]; minOsVersion?: string; architectures?: string[]; minFreeDiskMb?: number; minRamMb?: number };
}) {
  const parts = [
    r.platforms?.length ? r.platforms.map((p) => platformLabels[p as keyof typeof platformLabels] ?? p).join(' or ') : null,
    r.minOsVersion ? `OS ${r.minOsVersion} or later` : null,
    r.architectures?.length ? r.architectures.join('/') : null,
    r.minFreeDiskMb ? `${formatBytes(r.minFreeDiskMb * 1024 * 1024)} free disk` : null,
    r.minRamMb ? `${formatBytes(r.minRamMb * 1024 * 1024)} RAM` : null,
  ].filter(Boolean);
  return parts.length ? <span data-testid="version-requirements">{parts.join(' · ')}</span> : <span className="text-zinc-400">None</span>;
}
