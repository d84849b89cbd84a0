/**
 * The deployments touching a device (with the device's own status in each) or a group (those targeting it), as
 * badges linking to /deployments/<id>. Loaded from the /fleet/deployments resource route, so a page only renders it.
 */
import { Link, useFetcher } from '@remix-run/react';
import { useEffect } from 'react';
import type { loader } from '~/routes/fleet.deployments';
import { Badge, Card, EmptyState, type Tone } from './ui';

const deploymentTones: Record<string, Tone> = {
  pending_approval: 'amber',
  rejected: 'gray',
  scheduled: 'gray',
  running: 'blue',
  paused: 'amber',
  completed: 'green',
  failed: 'red',
  aborted: 'gray',
  rolling_back: 'amber',
  rolled_back: 'gray',
};
const deviceTones: Record<string, Tone> = {
  planned: 'gray',
  waiting_for_window: 'amber',
  queued: 'blue',
  downloading: 'blue',
  installing: 'blue',
  succeeded: 'green',
  already_installed: 'green',
  failed: 'red',
  reboot_pending: 'amber',
  skipped: 'gray',
  cancelled: 'gray',
};
export const statusText = (s: string) => s.replaceAll('_', ' ').replace(/^./, (c) => c.toUpperCase());

export function DeploymentBadges({ scope }: { scope: { deviceId: string } | { groupId: string } }) {
  const fetcher = useFetcher<typeof loader>();
  const { load } = fetcher;
  const q = new URLSearchParams(scope as Record<string, string>).toString();
  useEffect(() => {
    load(`/fleet/deployments?${q}`);
  }, [load, q]);
  const forDevice = 'deviceId' in scope;
  const items = fetcher.data?.items;
  return (
    <Card
      title="Deployments"
      actions={
        fetcher.data && fetcher.data.total > fetcher.data.items.length ? (
          <span className="text-xs text-zinc-500">
            the newest {fetcher.data.items.length} of {fetcher.data.total}
          </span>
        ) : null
      }
    >
      <div data-testid="deployment-badges">
        {!items ? (
          <p className="px-4 py-3 text-xs text-zinc-500">Loading…</p>
        ) : items.length === 0 ? (
          <EmptyState title={forDevice ? 'Not part of any deployment' : 'No deployment targets this group'} />
        ) : (
          <ul className="divide-y divide-zinc-100">
            {items.map((d) => (
              <li
                key={d.id}
                className="flex flex-wrap items-center gap-2 px-4 py-2 text-[13px]"
                data-testid="deployment-badge"
                data-deployment-id={d.id}
              >
                <Link to={`/deployments/${d.id}`} className="min-w-0 flex-1 truncate font-medium text-zinc-900 hover:underline">
                  {d.name}
                </Link>
                <span className="text-xs text-zinc-500">
                  {d.package} {d.version}
                </span>
                {d.deviceStatus ? (
                  <Badge tone={deviceTones[d.deviceStatus] ?? 'neutral'} data-testid="deployment-device-status" title="This device">
                    {statusText(d.deviceStatus)}
                  </Badge>
                ) : null}
                <Badge tone={deploymentTones[d.status] ?? 'neutral'} data-testid="deployment-status" title="The deployment">
                  {statusText(d.status)}
                </Badge>
              </li>
            ))}
          </ul>
        )}
      </div>
    </Card>
  );
}
