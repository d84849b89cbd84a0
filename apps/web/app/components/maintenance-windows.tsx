/**
 * A group's maintenance windows on its page: each window (daily or on weekdays, a wall-clock start in its IANA zone,
 * a duration) with whether it is open and when it next opens; operators add and delete them. Deployments that respect
 * maintenance windows start a device only inside one of its groups' windows. Posts to groups.$id.maintenance-windows.
 */
import { useFetcher } from '@remix-run/react';
import { useEffect, useRef, useState } from 'react';
import type { components } from '@opsconductor/contracts/openapi-types';
import { minutesText, weekdayLabels, windowText } from '~/lib/deployments';
import type { WindowActionData } from '~/routes/groups.$id.maintenance-windows';
import { AbsoluteTime, Alert, Badge, Button, Card, EmptyState, Field, Input, Select, useHydrated } from './ui';

type MaintenanceWindow = components['schemas']['MaintenanceWindow'];

function DeleteWindow({ groupId, window: w }: { groupId: string; window: MaintenanceWindow }) {
  const fetcher = useFetcher<WindowActionData>();
  const busy = fetcher.state !== 'idle';
  return (
    <fetcher.Form method="post" action={`/groups/${groupId}/maintenance-windows`}>
      <input type="hidden" name="windowId" value={w.id} />
      <Button
        type="submit"
        size="sm"
        variant="ghost"
        name="intent"
        value="delete"
        disabled={busy}
        aria-label={`Delete window ${w.name}`}
        onClick={(e) => {
          if (!window.confirm(`Delete the maintenance window “${w.name}”?`)) e.preventDefault();
        }}
      >
        {busy ? 'Deleting…' : 'Delete'}
      </Button>
      {fetcher.data && !fetcher.data.ok ? <p className="text-xs text-red-600">{fetcher.data.error}</p> : null}
    </fetcher.Form>
  );
}

function AddWindow({ groupId }: { groupId: string }) {
  const fetcher = useFetcher<WindowActionData>();
  const hydrated = useHydrated();
  const [recurrence, setRecurrence] = useState<'daily' | 'weekly'>('daily');
  const [zone, setZone] = useState('UTC');
  const formRef = useRef<HTMLFormElement>(null);
  const result = fetcher.data;
  const f = result && !result.ok ? (result.fields ?? {}) : {};
  useEffect(() => {
    if (result?.ok && result.created) {
      formRef.current?.reset();
      setRecurrence('daily');
    }
  }, [result]);
  const zones = hydrated ? Intl.supportedValuesOf('timeZone') : [];
  const browserZone = hydrated ? Intl.DateTimeFormat().resolvedOptions().timeZone : null;
  return (
    <fetcher.Form
      ref={formRef}
      method="post"
      action={`/groups/${groupId}/maintenance-windows`}
      className="space-y-3 border-t border-zinc-200 p-4"
      noValidate
      data-testid="add-window-form"
    >
      <p className="text-xs font-medium text-zinc-700">Add a window</p>
      {result && !result.ok && result.intent === 'create' ? <Alert title="The window was not added">{result.error}</Alert> : null}
      <Field label="Window name" error={f.name}>
        {(p) => <Input {...p} name="name" maxLength={120} placeholder="Nightly patching" />}
      </Field>
      <Field
        label="Time zone"
        error={f.timeZone}
        hint={
          browserZone && browserZone !== zone ? (
            <button type="button" className="underline" onClick={() => setZone(browserZone)}>
              Use {browserZone}
            </button>
          ) : (
            'An IANA zone: the window follows its daylight saving time'
          )
        }
      >
        {(p) => (
          <>
            <Input
              {...p}
              name="timeZone"
              value={zone}
              onChange={(e) => setZone(e.currentTarget.value)}
              list="window-time-zones"
              autoComplete="off"
            />
            <datalist id="window-time-zones">
              {zones.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
          </>
        )}
      </Field>
      <div className="grid grid-cols-3 gap-2">
        <Field label="Repeats">
          {(p) => (
            <Select
              {...p}
              name="recurrence"
              value={recurrence}
              onChange={(e) => setRecurrence(e.currentTarget.value === 'weekly' ? 'weekly' : 'daily')}
            >
              <option value="daily">Daily</option>
              <option value="weekly">Weekly</option>
            </Select>
          )}
        </Field>
        <Field label="Start" error={f.startTime}>
          {(p) => <Input {...p} name="startTime" type="time" defaultValue="02:00" required />}
        </Field>
        <Field label="Duration (min)" error={f.durationMinutes}>
          {(p) => <Input {...p} name="durationMinutes" type="number" min={1} max={10080} defaultValue={120} inputMode="numeric" />}
        </Field>
      </div>
      {recurrence === 'weekly' ? (
        <fieldset>
          <legend className="mb-1 text-xs font-medium text-zinc-700">On</legend>
          <div className="flex flex-wrap gap-3">
            {weekdayLabels.map((label, day) => (
              <label key={label} className="flex items-center gap-1 text-[13px] text-zinc-800">
                <input type="checkbox" name="daysOfWeek" value={day} className="size-3.5 accent-zinc-900" />
                {label}
              </label>
            ))}
          </div>
          {f.daysOfWeek ? <p className="mt-1 text-xs text-red-600">{f.daysOfWeek}</p> : null}
        </fieldset>
      ) : null}
      <div className="flex justify-end">
        <Button type="submit" name="intent" value="create" variant="primary" size="sm" disabled={fetcher.state !== 'idle'}>
          {fetcher.state !== 'idle' ? 'Adding…' : 'Add window'}
        </Button>
      </div>
    </fetcher.Form>
  );
}

export function MaintenanceWindowsCard({ groupId, windows, canEdit }: { groupId: string; windows: MaintenanceWindow[]; canEdit: boolean }) {
  return (
    <Card title="Maintenance windows">
      {windows.length === 0 ? (
        <EmptyState title="No maintenance windows">Deployments that respect windows install on these devices at any time.</EmptyState>
      ) : (
        <ul className="divide-y divide-zinc-100" data-testid="maintenance-windows">
          {windows.map((w) => (
            <li key={w.id} className="flex items-start gap-2 px-4 py-2 text-[13px]" data-testid="maintenance-window" data-window-id={w.id}>
              <div className="min-w-0 flex-1">
                <p className="flex items-center gap-2">
                  <span className="font-medium text-zinc-900" data-testid="window-name">
                    {w.name}
                  </span>
                  {w.openNow ? <Badge tone="green">Open now</Badge> : null}
                </p>
                <p className="text-xs text-zinc-600" data-testid="window-schedule">
                  {windowText(w)} · {w.timeZone}
                </p>
                <p className="text-[11px] text-zinc-500">
                  {w.openNow ? (
                    <>
                      closes <AbsoluteTime iso={w.nextClosesAt} />
                    </>
                  ) : (
                    <>
                      next opens <AbsoluteTime iso={w.nextOpensAt} /> for {minutesText(w.durationMinutes)}
                    </>
                  )}
                </p>
              </div>
              {canEdit ? <DeleteWindow groupId={groupId} window={w} /> : null}
            </li>
          ))}
        </ul>
      )}
      {canEdit ? <AddWindow groupId={groupId} /> : null}
    </Card>
  );
}
