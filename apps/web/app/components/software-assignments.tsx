/**
 * Software assignments in the console: the panel of a package, device or group (its assignments with compliance,
 * remove with "uninstall too", Install for available ones, and a form to add one), and the bulk dialog of the device
 * and group lists. Everything goes through the /assignments resource route, so a page only renders the panel.
 */
import { Link, useFetcher } from '@remix-run/react';
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import type { Schema } from '~/lib/api.server';
import { pluralize } from '~/lib/format';
import type { AssignmentAnswer, loader as assignmentsLoader } from '~/routes/assignments';
import { Alert, Badge, Button, Card, EmptyState, Input, Select, Table, Td, Th, buttonClass, type Tone } from './ui';

type Assignment = Schema<'SoftwareAssignment'>;
export type AssignmentScope = { deviceId: string } | { groupId: string } | { packageId: string };

type Options = {
  packages: { id: string; name: string; latestVersion: string | null }[];
  groups: { id: string; name: string; memberCount: number }[];
  versions: { id: string; version: string }[] | null;
};

const intentTones: Record<Assignment['intent'], Tone> = { required: 'blue', available: 'gray', uninstall: 'amber' };
const intentLabels: Record<Assignment['intent'], string> = { required: 'Required', available: 'Available', uninstall: 'Uninstall' };

const query = (scope: AssignmentScope) => new URLSearchParams(scope as Record<string, string>).toString();

/** What the API answered, shown where the form is; the conflict (409 assignment_conflict) in its own words. */
export function AssignmentResult({ answer }: { answer: AssignmentAnswer | undefined }) {
  if (!answer) return null;
  if (answer.ok)
    return (
      <Alert tone="success">
        <span data-testid="assignment-result">{answer.message}</span>
        {answer.jobRunId ? (
          <>
            {' '}
            <Link to={`/runs/${answer.jobRunId}`} className="font-medium underline">
              See the run
            </Link>
          </>
        ) : null}
      </Alert>
    );
  return (
    <Alert title={answer.code === 'assignment_conflict' ? 'Conflicting assignment' : 'Not assigned'}>
      <span data-testid="assignment-error" data-code={answer.code}>
        {answer.error}
      </span>
    </Alert>
  );
}

/** The options of the assign form (packages, groups) and the versions of the chosen package. */
function useAssignOptions(packageId: string): Options | undefined {
  const fetcher = useFetcher<typeof assignmentsLoader>();
  const { load } = fetcher;
  useEffect(() => {
    load(`/assignments?options=1${packageId ? `&packageId=${packageId}` : ''}`);
  }, [load, packageId]);
  const d = fetcher.data;
  return d && 'packages' in d ? (d as Options) : undefined;
}

/**
 * The assign form. `fixed` holds what the page already decides (its package, device or group); the rest is chosen:
 * a package, its version or the latest, the intent, and (the package page) a group or a device by hostname.
 */
export function AssignForm({
  fixed,
  bulk,
  submitLabel = 'Assign',
}: {
  fixed: { packageId?: string; deviceId?: string; groupId?: string };
  /** The bulk dialog: the selected IDs, read when submitting. */
  bulk?: { field: 'deviceIds' | 'groupIds'; selected: () => string[] };
  submitLabel?: string;
}) {
  const fetcher = useFetcher<AssignmentAnswer>();
  const [packageId, setPackageId] = useState(fixed.packageId ?? '');
  const [targetType, setTargetType] = useState<'group' | 'device'>('group');
  const [intent, setIntent] = useState<Assignment['intent']>('required');
  const options = useAssignOptions(packageId);
  const id = useId();
  const busy = fetcher.state !== 'idle';
  const forGroups = Boolean(fixed.groupId) || bulk?.field === 'groupIds' || (!fixed.deviceId && !bulk && targetType === 'group');
  const chooseTarget = !fixed.deviceId && !fixed.groupId && !bulk;
  return (
    <fetcher.Form
      method="post"
      action="/assignments"
      className="space-y-3"
      data-testid="assign-form"
      onSubmit={(e) => {
        if (!bulk) return;
        e.preventDefault();
        const fd = new FormData(e.currentTarget);
        for (const v of bulk.selected()) fd.append(bulk.field, v);
        fetcher.submit(fd, { method: 'post', action: '/assignments' });
      }}
    >
      <input type="hidden" name="intent" value="assign" />
      {fixed.deviceId ? <input type="hidden" name="deviceIds" value={fixed.deviceId} /> : null}
      {fixed.groupId ? <input type="hidden" name="groupIds" value={fixed.groupId} /> : null}
      {fixed.packageId ? (
        <input type="hidden" name="packageId" value={fixed.packageId} />
      ) : (
        <div className="space-y-1">
          <label htmlFor={`${id}-package`} className="block text-xs font-medium text-zinc-700">
            Package
          </label>
          <Select id={`${id}-package`} name="packageId" value={packageId} onChange={(e) => setPackageId(e.currentTarget.value)}>
            <option value="">{options ? (options.packages.length ? 'Choose a package…' : 'No packages yet') : 'Loading…'}</option>
            {options?.packages.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </Select>
        </div>
      )}
      <div className="space-y-1">
        <label htmlFor={`${id}-version`} className="block text-xs font-medium text-zinc-700">
          Version
        </label>
        <Select id={`${id}-version`} name="versionId" defaultValue="" key={packageId}>
          <option value="">Latest (follows new versions)</option>
          {options?.versions?.map((v) => (
            <option key={v.id} value={v.id}>
              {v.version}
            </option>
          ))}
        </Select>
      </div>
      {chooseTarget ? (
        <fieldset className="space-y-1.5">
          <legend className="mb-1 text-xs font-medium text-zinc-700">Assign to</legend>
          <div className="flex items-center gap-2">
            <label className="flex items-center gap-2 text-[13px] text-zinc-700">
              <input type="radio" checked={targetType === 'group'} onChange={() => setTargetType('group')} className="accent-zinc-900" />
              Group
            </label>
            <Select
              name={targetType === 'group' ? 'groupIds' : undefined}
              aria-label="Target group"
              defaultValue=""
              className="min-w-0 flex-1"
              disabled={targetType !== 'group'}
            >
              <option value="">Choose…</option>
              {options?.groups.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name} ({g.memberCount.toLocaleString('en-US')})
                </option>
              ))}
            </Select>
          </div>
          <div className="flex items-center gap-2">
            <label className="flex items-center gap-2 text-[13px] text-zinc-700">
              <input type="radio" checked={targetType === 'device'} onChange={() => setTargetType('device')} className="accent-zinc-900" />
              Device
            </label>
            <Input
              name={targetType === 'device' ? 'hostname' : undefined}
              aria-label="Target device hostname"
              placeholder="Hostname"
              autoComplete="off"
              className="min-w-0 flex-1"
              disabled={targetType !== 'device'}
            />
          </div>
        </fieldset>
      ) : null}
      <div className="space-y-1">
        <label htmlFor={`${id}-intent`} className="block text-xs font-medium text-zinc-700">
          Intent
        </label>
        <Select
          id={`${id}-intent`}
          name="assignIntent"
          value={intent}
          onChange={(e) => setIntent(e.currentTarget.value as Assignment['intent'])}
        >
          <option value="required">Required — installed, and kept installed</option>
          <option value="available">Available — installed on request</option>
          <option value="uninstall">Uninstall — removed, and kept removed</option>
        </Select>
      </div>
      {forGroups && intent !== 'uninstall' ? (
        <label className="flex items-center gap-2 text-[13px] text-zinc-700">
          <input type="checkbox" name="uninstallOnLeave" className="size-3.5 accent-zinc-900" />
          Uninstall from devices that leave the group
        </label>
      ) : null}
      <AssignmentResult answer={fetcher.data} />
      <Button type="submit" variant="primary" size="sm" disabled={busy || (!fixed.packageId && !packageId)}>
        {busy ? 'Assigning…' : submitLabel}
      </Button>
    </fetcher.Form>
  );
}

function RemoveAssignment({ a }: { a: Assignment }) {
  const fetcher = useFetcher<AssignmentAnswer>();
  const [confirming, setConfirming] = useState(false);
  if (!confirming)
    return (
      <Button size="sm" variant="ghost" onClick={() => setConfirming(true)}>
        Remove
      </Button>
    );
  return (
    <fetcher.Form method="post" action="/assignments" className="flex flex-wrap items-center gap-2" aria-label={`Remove ${a.package.name}`}>
      <input type="hidden" name="intent" value="remove" />
      <input type="hidden" name="assignmentId" value={a.id} />
      {a.intent !== 'uninstall' ? (
        <label className="flex items-center gap-1.5 text-xs text-zinc-700">
          <input type="checkbox" name="uninstall" className="size-3.5 accent-zinc-900" />
          Uninstall too
        </label>
      ) : null}
      <Button type="submit" size="sm" variant="danger" disabled={fetcher.state !== 'idle'}>
        Confirm remove
      </Button>
      <Button size="sm" variant="ghost" onClick={() => setConfirming(false)}>
        Cancel
      </Button>
      {fetcher.data && !fetcher.data.ok ? <span className="text-xs text-red-700">{fetcher.data.error}</span> : null}
    </fetcher.Form>
  );
}

function InstallAvailable({ a, deviceId }: { a: Assignment; deviceId: string }) {
  const fetcher = useFetcher<AssignmentAnswer>();
  return (
    <fetcher.Form method="post" action="/assignments" className="inline-flex items-center gap-2">
      <input type="hidden" name="intent" value="install" />
      <input type="hidden" name="assignmentId" value={a.id} />
      <input type="hidden" name="deviceId" value={deviceId} />
      <Button type="submit" size="sm" variant="primary" disabled={fetcher.state !== 'idle'}>
        Install
      </Button>
      {fetcher.data?.ok && fetcher.data.jobRunId ? (
        <Link to={`/runs/${fetcher.data.jobRunId}`} className="text-xs underline" data-testid="install-run">
          Installing…
        </Link>
      ) : fetcher.data && !fetcher.data.ok ? (
        <span className="text-xs text-red-700">{fetcher.data.error}</span>
      ) : null}
    </fetcher.Form>
  );
}

function Compliance({ a }: { a: Assignment }) {
  const c = a.compliance;
  if (c.devices === 0) return <span className="text-zinc-400">No devices</span>;
  return (
    <Link
      to={`/devices?assignmentId=${a.id}`}
      className="text-zinc-700 tabular-nums hover:underline"
      title={`${c.compliant} compliant, ${c.failed} failed, ${c.unknown} not known yet`}
    >
      {c.compliant.toLocaleString('en-US')}/{c.devices.toLocaleString('en-US')} {a.intent === 'uninstall' ? 'removed' : 'installed'}
      {c.failed ? <span className="ml-1 text-red-700">· {c.failed.toLocaleString('en-US')} failed</span> : null}
    </Link>
  );
}

/** A package's, device's or group's assignments, and (operators) the form to add one. */
export function AssignmentsPanel({
  scope,
  canEdit,
  title = 'Software assignments',
}: {
  scope: AssignmentScope;
  canEdit: boolean;
  title?: ReactNode;
}) {
  const fetcher = useFetcher<typeof assignmentsLoader>();
  const { load } = fetcher;
  const q = query(scope);
  useEffect(() => {
    load(`/assignments?${q}`);
  }, [load, q]);
  const [adding, setAdding] = useState(false);
  const items = fetcher.data && 'items' in fetcher.data ? (fetcher.data.items as Assignment[]) : null;
  const deviceId = 'deviceId' in scope ? scope.deviceId : null;
  return (
    <Card
      title={title}
      actions={
        canEdit ? (
          <Button size="sm" onClick={() => setAdding((v) => !v)} aria-expanded={adding}>
            {adding ? 'Close' : 'Assign package…'}
          </Button>
        ) : null
      }
    >
      <div data-testid="assignments-panel">
        {adding ? (
          <div className="border-b border-zinc-200 p-4">
            {/* After it assigns, Remix reloads this panel's fetcher (fetchers revalidate after actions). */}
            <AssignForm fixed={scope} />
          </div>
        ) : null}
        {items === null ? (
          <p className="px-4 py-3 text-xs text-zinc-500">Loading…</p>
        ) : items.length === 0 ? (
          <EmptyState title="No software assigned">
            {canEdit ? 'Assign a package: required ones are installed and kept installed.' : 'Operators assign packages.'}
          </EmptyState>
        ) : (
          <Table>
            <thead>
              <tr>
                {'packageId' in scope ? null : <Th>Package</Th>}
                <Th>Version</Th>
                <Th>Intent</Th>
                {'packageId' in scope || deviceId ? <Th>Target</Th> : null}
                <Th>Compliance</Th>
                {canEdit ? <Th className="text-right">Actions</Th> : null}
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.id} data-testid="assignment-row" data-assignment-id={a.id} data-package={a.package.name}>
                  {'packageId' in scope ? null : (
                    <Td>
                      <Link to={`/software/${a.package.id}`} className="font-medium text-zinc-900 hover:underline">
                        {a.package.name}
                      </Link>
                    </Td>
                  )}
                  <Td className="font-mono text-xs">
                    {a.version ? a.version.version : <span className="font-sans text-zinc-500">latest</span>}
                  </Td>
                  <Td>
                    <Badge tone={intentTones[a.intent]} data-testid="assignment-intent">
                      {intentLabels[a.intent]}
                    </Badge>
                    {a.uninstallOnLeave ? <span className="ml-1.5 text-[11px] text-zinc-500">uninstall on leave</span> : null}
                  </Td>
                  {'packageId' in scope || deviceId ? (
                    <Td>
                      <Link
                        to={a.target.type === 'group' ? `/groups/${a.target.id}` : `/devices/${a.target.id}`}
                        className="text-zinc-800 hover:underline"
                        data-testid="assignment-target"
                      >
                        {a.target.type === 'group' ? `Group ${a.target.name}` : a.target.name}
                      </Link>
                      {deviceId && a.target.type === 'group' ? <span className="ml-1.5 text-[11px] text-zinc-500">inherited</span> : null}
                    </Td>
                  ) : null}
                  <Td>
                    <Compliance a={a} />
                  </Td>
                  {canEdit ? (
                    <Td className="text-right">
                      <span className="inline-flex items-center gap-1">
                        {deviceId && a.intent === 'available' ? <InstallAvailable a={a} deviceId={deviceId} /> : null}
                        {/* An inherited assignment is removed from its group's page, not from one device. */}
                        {deviceId && a.target.type === 'group' ? (
                          <Link to={`/groups/${a.target.id}`} className={buttonClass('ghost', 'sm')}>
                            Group…
                          </Link>
                        ) : (
                          <RemoveAssignment a={a} />
                        )}
                      </span>
                    </Td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </div>
    </Card>
  );
}

/**
 * "Assign software…" on a list with checkboxes: a dialog assigning one package to every selected device or group.
 * `selected` reads the checked boxes when it opens and when it submits.
 */
export function BulkAssignDialog({ field, selected }: { field: 'deviceIds' | 'groupIds'; selected: () => string[] }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [count, setCount] = useState(0);
  const [open, setOpen] = useState(false);
  const noun = field === 'deviceIds' ? 'device' : 'group';
  return (
    <>
      <Button
        size="sm"
        onClick={() => {
          setCount(selected().length);
          setOpen(true);
          ref.current?.showModal();
        }}
      >
        Assign software…
      </Button>
      <dialog
        ref={ref}
        aria-label="Assign software to the selection"
        onClose={() => setOpen(false)}
        className="m-auto w-[420px] max-w-[95vw] rounded-lg border border-zinc-200 bg-white p-0 shadow-lg backdrop:bg-zinc-900/30"
      >
        <header className="flex items-center justify-between border-b border-zinc-200 px-4 py-2.5">
          <h2 className="text-[13px] font-semibold text-zinc-900">Assign software to {pluralize(count, noun)}</h2>
          <Button size="sm" variant="ghost" onClick={() => ref.current?.close()}>
            Close
          </Button>
        </header>
        <div className="p-4">
          {count === 0 ? (
            <p className="text-[13px] text-zinc-600">Select {noun}s in the list first.</p>
          ) : open ? (
            <AssignForm fixed={{}} bulk={{ field, selected }} submitLabel={`Assign to ${pluralize(count, noun)}`} />
          ) : null}
        </div>
      </dialog>
    </>
  );
}
