/** /jobs/:id/run — run a saved job (operators): targets, the version (`?version=N`, default the current one) and its parameters, limits. */
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { useActionData, useLoaderData } from '@remix-run/react';
import { uuid } from '@opsconductor/contracts/api';
import type { DeviceStatus } from '@opsconductor/contracts/constants';
import { requireApi } from '~/lib/api.server';
import { jobIdParam, versionParam } from '~/lib/job-pages.server';
import { runJobAction } from '~/lib/job-run-form.server';
import { newRunFormKey } from '~/lib/run-command.server';
import { requireRole } from '~/lib/roles.server';
import { osLabel } from '~/lib/format';
import { approvalRuleText } from '~/lib/approval';
import { RunJobForm } from '~/components/run-job-form';
import { Alert, Breadcrumb, PageHeader } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Run ${data?.job.name ?? 'job'} · OpsConductor` }];

/** Devices listed to check one by one (the API's largest page); the others are reached by group, tag or filter. */
const DEVICE_LIST_SIZE = 200;
const MAX_PRESELECTED = 20;

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = jobIdParam(params);
  const api = await requireApi(request, context);
  await requireRole(api, 'operator', 'run jobs');
  const [job, versions, devices, groups, tags] = await Promise.all([
    api.get('/jobs/{id}', { params: { path: { id } } }),
    api.get('/jobs/{id}/versions', { params: { path: { id } } }),
    api.get('/devices', { params: { query: { pageSize: DEVICE_LIST_SIZE, sort: 'hostname', order: 'asc' } } }),
    api.get('/groups'),
    api.get('/tags'),
  ]);
  const url = new URL(request.url);
  const wanted = versionParam(url.searchParams.get('version'));
  // `?deviceId=…` (from a device, or an agentless target): those devices are checked when the form opens.
  const listed = new Set(devices.items.map((d) => d.id));
  const preselected = [...new Set(url.searchParams.getAll('deviceId'))]
    .filter((id) => uuid.safeParse(id).success)
    .slice(0, MAX_PRESELECTED);
  const extra = await Promise.all(
    preselected.filter((id) => !listed.has(id)).map((id) => api.get('/devices/{id}', { params: { path: { id } } }).catch(() => null)),
  );
  const pick = (d: { id: string; hostname: string; status: DeviceStatus; osName: string; osVersion: string; osFamily: string }) => ({
    id: d.id,
    hostname: d.hostname,
    status: d.status,
    os: osLabel(d.osName, d.osVersion) || d.osFamily,
  });
  const pickable = [...devices.items.map(pick), ...extra.flatMap((d) => (d && !d.retiredAt ? [pick(d)] : []))];
  const version = wanted ?? job.currentVersion;
  const definition =
    version === job.currentVersion
      ? job.definition
      : (await api.get('/jobs/{id}/versions/{version}', { params: { path: { id, version } } })).definition;
  return {
    job: { id: job.id, name: job.name, currentVersion: job.currentVersion, description: job.description },
    versions: versions.items.map((v) => ({ version: v.version, createdAt: v.createdAt })),
    version,
    parameters: definition.parameters ?? [],
    steps: definition.steps.length,
    approval: approvalRuleText(definition.approval),
    formKey: newRunFormKey(),
    preselected: preselected.filter((id) => pickable.some((d) => d.id === id)),
    picker: {
      devices: pickable,
      devicesTotal: devices.total,
      groups: groups.items
        .map((g) => ({ id: g.id, name: g.name, memberCount: g.memberCount }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      tags: tags.items.map((t) => ({ tag: t.tag, deviceCount: t.deviceCount })),
    },
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  return runJobAction(request, context, jobIdParam(params), await request.formData());
}

export default function RunJob() {
  const { job, versions, version, parameters, steps, approval, picker, formKey, preselected } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <>
      <Breadcrumb
        trail={[
          { to: '/jobs', label: 'Jobs' },
          { to: `/jobs/${job.id}`, label: job.name },
        ]}
        current="Run"
      />
      <PageHeader
        title={`Run ${job.name}`}
        description={`Version ${version} · ${steps} ${steps === 1 ? 'step' : 'steps'}${job.description ? ` · ${job.description}` : ''}`}
      />
      <div className="max-w-4xl">
        {approval ? (
          <div className="mb-4" data-testid="run-approval-note">
            <Alert tone="warning" title="This run will wait for approval">
              {approval}: another operator must approve it on the Approvals page before anything runs.
            </Alert>
          </div>
        ) : null}
        <RunJobForm
          job={job}
          versions={versions}
          version={version}
          parameters={parameters}
          picker={picker}
          result={result}
          formKey={formKey}
          preselected={preselected}
        />
      </div>
    </>
  );
}
