import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData } from '@remix-run/react';
import type { ReactNode } from 'react';
import { uuid } from '@opsconductor/contracts/api';
import { requireApi, type RouteErrorData } from '~/lib/api.server';
import { runCommandAction } from '~/lib/run-command.server';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { oneLine } from '~/lib/format';
import { RunCommandFields } from '~/components/run-command-form';
import { DeviceStatusBadge, RunStatusBadge } from '~/components/status';
import { AbsoluteTime, Card, EmptyState, PageHeader, RelativeTime, Table, Td, Th } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.device.hostname ?? 'Device'} · OpsConductor` },
];

function deviceId(params: LoaderFunctionArgs['params']): string {
  const parsed = uuid.safeParse(params.id);
  if (!parsed.success) throw data<RouteErrorData>({ title: 'Device not found' }, { status: 404 });
  return parsed.data;
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = deviceId(params);
  const api = await requireApi(request, context);
  const [device, runs] = await Promise.all([api.getDevice(id), api.listJobRuns({ deviceId: id, pageSize: 10 })]);
  return { device, runs };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = deviceId(params);
  const form = await request.formData();
  // This page runs on its own device only, whatever the form says.
  form.delete('deviceIds');
  form.append('deviceIds', id);
  return runCommandAction(request, context, form);
}

function Detail({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-[140px_minmax(0,1fr)] gap-2 px-4 py-2 text-[13px]">
      <dt className="text-zinc-500">{label}</dt>
      <dd className="min-w-0 break-words text-zinc-900">{children}</dd>
    </div>
  );
}

export default function DevicePage() {
  const { device, runs } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const user = useOptionalUser();
  const canRun = canRunCommands(user?.role);
  return (
    <>
      <nav className="mb-2 text-xs text-zinc-500">
        <Link to="/devices" className="hover:text-zinc-900">
          Devices
        </Link>{' '}
        / <span className="text-zinc-700">{device.hostname}</span>
      </nav>
      <PageHeader
        title={
          <span className="flex items-center gap-2.5">
            <span data-testid="device-hostname">{device.hostname}</span>
            <DeviceStatusBadge status={device.status} />
          </span>
        }
        description={[device.osName, device.osVersion, device.architecture].filter(Boolean).join(' · ')}
      />
      <div className="grid items-start gap-4 xl:grid-cols-[minmax(0,1fr)_380px]">
        <div className="space-y-4">
          <Card title="Details">
            <dl className="divide-y divide-zinc-100 py-1">
              <Detail label="Hostname">{device.hostname}</Detail>
              <Detail label="Status">
                <DeviceStatusBadge status={device.status} />
              </Detail>
              <Detail label="Last seen">
                <RelativeTime iso={device.lastSeenAt} />
                {device.lastSeenAt ? (
                  <span className="ml-2 text-zinc-400">
                    (<AbsoluteTime iso={device.lastSeenAt} />)
                  </span>
                ) : null}
              </Detail>
              <Detail label="Operating system">
                {device.osName} {device.osVersion} <span className="text-zinc-500">({device.osFamily})</span>
              </Detail>
              <Detail label="Architecture">{device.architecture}</Detail>
              <Detail label="IP addresses">
                {device.ipAddresses.length ? (
                  <span className="font-mono text-xs">{device.ipAddresses.join(', ')}</span>
                ) : (
                  <span className="text-zinc-400">—</span>
                )}
              </Detail>
              <Detail label="Agent version">
                <span className="font-mono text-xs">{device.agentVersion}</span>
              </Detail>
              <Detail label="Enrolled">
                <AbsoluteTime iso={device.enrolledAt} />
              </Detail>
              <Detail label="Device ID">
                <span className="font-mono text-xs text-zinc-600">{device.id}</span>
              </Detail>
            </dl>
          </Card>

          <Card
            title="Recent runs"
            actions={
              runs.total > runs.items.length ? <span className="text-xs text-zinc-500">{runs.total} in total</span> : null
            }
          >
            {runs.items.length === 0 ? (
              <EmptyState title="No runs on this device yet" />
            ) : (
              <Table>
                <thead>
                  <tr>
                    <Th>Command</Th>
                    <Th>Status</Th>
                    <Th>Created by</Th>
                    <Th>Created</Th>
                  </tr>
                </thead>
                <tbody>
                  {runs.items.map((run) => (
                    <tr key={run.id} className="hover:bg-zinc-50">
                      <Td className="max-w-md">
                        <Link to={`/runs/${run.id}`} className="block truncate font-mono text-xs text-zinc-900 hover:underline">
                          {oneLine(run.command)}
                        </Link>
                      </Td>
                      <Td>
                        <RunStatusBadge status={run.status} />
                      </Td>
                      <Td className="text-zinc-600">{run.createdBy ?? '—'}</Td>
                      <Td className="text-zinc-500">
                        <RelativeTime iso={run.createdAt} />
                      </Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            )}
          </Card>
        </div>

        {canRun ? (
          <Card title="Run command on this device">
            <Form method="post" className="p-4" noValidate>
              <RunCommandFields
                result={result}
                summary={device.status === 'online' ? 'Runs now' : 'Runs when the device comes online'}
              />
            </Form>
          </Card>
        ) : null}
      </div>
    </>
  );
}
