import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useSubmit } from '@remix-run/react';
import { useCallback, useEffect, useRef, useState } from 'react';
import { z } from 'zod';
import { deviceStatus, type Device } from '@opsconductor/contracts/api';
import { requireApi } from '~/lib/api.server';
import { runCommandAction } from '~/lib/run-command.server';
import { canRunCommands, isAdmin, useOptionalUser } from '~/lib/user';
import { pluralize } from '~/lib/format';
import { RunCommandFields } from '~/components/run-command-form';
import { DeviceStatusBadge } from '~/components/status';
import { Button, Card, EmptyState, Input, PageHeader, Pagination, RelativeTime, Select, Table, Td, Th, buttonClass } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Devices · OpsConductor' }];

const PAGE_SIZE = 50;

const listQuery = z.object({
  search: z.string().trim().max(200).optional().catch(undefined),
  status: deviceStatus.optional().catch(undefined),
  page: z.coerce.number().int().min(1).max(100_000).catch(1),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const params = new URL(request.url).searchParams;
  const query = listQuery.parse({
    search: params.get('search') || undefined,
    status: params.get('status') || undefined,
    page: params.get('page') ?? 1,
  });
  const list = await api.listDevices({ ...query, pageSize: PAGE_SIZE });
  return { ...list, page: query.page, pageSize: PAGE_SIZE, search: query.search ?? '', status: query.status ?? '' };
}

export async function action({ request, context }: ActionFunctionArgs) {
  return runCommandAction(request, context, await request.formData());
}

function Ips({ ips }: { ips: string[] }) {
  if (ips.length === 0) return <span className="text-zinc-400">—</span>;
  const shown = ips.slice(0, 2);
  return (
    <span className="font-mono text-xs text-zinc-600" title={ips.join('\n')}>
      {shown.join(', ')}
      {ips.length > shown.length ? <span className="text-zinc-400"> +{ips.length - shown.length}</span> : null}
    </span>
  );
}

function DeviceRow({ device, selectable }: { device: Device; selectable: boolean }) {
  return (
    <tr data-testid="device-row" data-device-id={device.id} className="group hover:bg-zinc-50">
      {selectable ? (
        <Td className="w-8 pr-0">
          <input
            type="checkbox"
            name="deviceIds"
            value={device.id}
            aria-label={`Select ${device.hostname}`}
            className="size-3.5 rounded border-zinc-300 accent-zinc-900"
          />
        </Td>
      ) : null}
      <Td>
        <Link to={`/devices/${device.id}`} className="font-medium text-zinc-900 hover:underline" prefetch="intent">
          {device.hostname}
        </Link>
      </Td>
      <Td>
        <span className="text-zinc-700">{[device.osName, device.osVersion].filter(Boolean).join(' ') || device.osFamily}</span>
        <span className="ml-1.5 text-xs text-zinc-400">{device.architecture}</span>
      </Td>
      <Td>
        <Ips ips={device.ipAddresses} />
      </Td>
      <Td className="font-mono text-xs text-zinc-600">{device.agentVersion}</Td>
      <Td>
        <DeviceStatusBadge status={device.status} />
      </Td>
      <Td className="text-zinc-500">
        <RelativeTime iso={device.lastSeenAt} />
      </Td>
    </tr>
  );
}

export default function Devices() {
  const { items, total, page, pageSize, search, status } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const user = useOptionalUser();
  const canRun = canRunCommands(user?.role);
  const submit = useSubmit();
  const formRef = useRef<HTMLFormElement>(null);
  const [selected, setSelected] = useState(0);
  const filtered = Boolean(search || status);
  const showRunPanel = canRun && (total > 0 || filtered);

  // Count from the DOM: checkboxes are uncontrolled, so clicks before hydration still count.
  const recount = useCallback(() => {
    const boxes = formRef.current?.querySelectorAll<HTMLInputElement>('input[name="deviceIds"]') ?? [];
    setSelected(Array.from(boxes).filter((b) => b.checked).length);
  }, []);
  useEffect(recount, [recount, items]);

  const toggleAll = (checked: boolean) => {
    formRef.current?.querySelectorAll<HTMLInputElement>('input[name="deviceIds"]').forEach((b) => {
      b.checked = checked;
    });
    recount();
  };
  const allSelected = items.length > 0 && selected === items.length;

  return (
    <>
      <PageHeader
        title="Devices"
        description={`${pluralize(total, 'device')}${filtered ? ' match the filter' : ' enrolled'}`}
        actions={
          isAdmin(user?.role) ? (
            <Link to="/enrollment" className={buttonClass('secondary')}>
              Enroll devices
            </Link>
          ) : null
        }
      />

      <Form method="get" className="mb-3 flex flex-wrap items-center gap-2" role="search">
        <Input
          type="search"
          name="search"
          defaultValue={search}
          key={`search:${search}`}
          placeholder="Search hostname, IP, OS…"
          aria-label="Search devices"
          className="w-72"
        />
        <Select
          name="status"
          defaultValue={status}
          key={`status:${status}`}
          aria-label="Status"
          className="w-36"
          onChange={(e) => submit(e.currentTarget.form)}
        >
          <option value="">All statuses</option>
          <option value="online">Online</option>
          <option value="offline">Offline</option>
          <option value="never_seen">Never seen</option>
        </Select>
        <Button type="submit">Search</Button>
        {filtered ? (
          <Link to="/devices" className={buttonClass('ghost')}>
            Clear
          </Link>
        ) : null}
      </Form>

      <Form method="post" ref={formRef} onChange={recount} noValidate className={showRunPanel ? 'grid items-start gap-4 xl:grid-cols-[minmax(0,1fr)_340px]' : undefined}>
        <Card>
          {total === 0 ? (
            filtered ? (
              <EmptyState title="No devices match">
                Try another search or{' '}
                <Link to="/devices" className="font-medium text-zinc-900 underline">
                  clear the filter
                </Link>
                .
              </EmptyState>
            ) : (
              <EmptyState title="No devices yet — create an enrollment token">
                {isAdmin(user?.role) ? (
                  <>
                    Create a token on the{' '}
                    <Link to="/enrollment" className="font-medium text-zinc-900 underline">
                      Enrollment
                    </Link>{' '}
                    page and run the enroll command on a machine.
                  </>
                ) : (
                  'Ask an admin to create an enrollment token and enroll a machine.'
                )}
              </EmptyState>
            )
          ) : (
            <>
              <Table>
                <thead>
                  <tr>
                    {canRun ? (
                      <Th className="w-8 pr-0">
                        <input
                          type="checkbox"
                          aria-label="Select all devices on this page"
                          checked={allSelected}
                          onChange={(e) => toggleAll(e.currentTarget.checked)}
                          className="size-3.5 rounded border-zinc-300 accent-zinc-900"
                        />
                      </Th>
                    ) : null}
                    <Th>Hostname</Th>
                    <Th>OS</Th>
                    <Th>IP addresses</Th>
                    <Th>Agent</Th>
                    <Th>Status</Th>
                    <Th>Last seen</Th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((d) => (
                    <DeviceRow key={d.id} device={d} selectable={canRun} />
                  ))}
                </tbody>
              </Table>
              <Pagination page={page} pageSize={pageSize} total={total} noun="device" />
            </>
          )}
        </Card>

        {showRunPanel ? (
          <Card title="Run command" className="xl:sticky xl:top-16">
            <div className="p-4">
              <RunCommandFields
                result={result}
                summary={
                  <span data-testid="selected-count">
                    {selected === 0 ? 'No devices selected' : `${pluralize(selected, 'device')} selected`}
                  </span>
                }
              />
            </div>
          </Card>
        ) : null}
      </Form>
    </>
  );
}
