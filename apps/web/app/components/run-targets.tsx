/**
 * Where a run goes, for the job run form: the device list's target picker (checked devices, a group, a tag, or
 * every device matching a filter) as a panel of its own, with a live preview of how many devices (and which) the
 * selection resolves to now, through the resource route `runs.preview.ts`.
 */
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { deviceStatuses, osFamilies, type DeviceStatus } from '@opsconductor/contracts/constants';
import type { TargetSelection, TargetState } from '~/lib/job-run';
import { pluralize } from '~/lib/format';
import { DeviceStatusBadge } from './status';
import { Alert, Button, Input, Select, cx } from './ui';

/** What the preview resource route answers. */
export type TargetPreviewResponse =
  | {
      ok: true;
      total: number;
      maxDevices: number;
      sample: Array<{ id: string; hostname: string; status: DeviceStatus }>;
    }
  | { ok: false; message: string };

export type PickerData = {
  devices: Array<{ id: string; hostname: string; status: DeviceStatus; os: string }>;
  /** All active devices (the list holds the first ones by hostname). */
  devicesTotal: number;
  groups: Array<{ id: string; name: string; memberCount: number }>;
  tags: Array<{ tag: string; deviceCount: number }>;
};

const PREVIEW_DEBOUNCE_MS = 300;
const statusLabels: Record<DeviceStatus, string> = { online: 'Online', stale: 'Stale', offline: 'Offline', never_seen: 'Never seen' };
const osLabels: Record<string, string> = { windows: 'Windows', linux: 'Linux', macos: 'macOS', other: 'Other' };

export type PreviewState = { key: string; loading: boolean; result: TargetPreviewResponse | null };

/** Debounced preview of `selection`; stale answers are dropped. */
export function useTargetPreview(selection: TargetSelection | null): PreviewState {
  const key = selection ? JSON.stringify(selection) : '';
  const [state, setState] = useState<PreviewState>({ key: '', loading: false, result: null });
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    if (!key) {
      setState({ key: '', loading: false, result: null });
      return;
    }
    setState((s) => ({ ...s, loading: true }));
    const controller = new AbortController();
    const timer = setTimeout(() => {
      fetch('/runs/preview', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ selection: JSON.parse(key) as unknown }),
        signal: controller.signal,
      })
        .then(async (res) => {
          const type = res.headers.get('content-type') ?? '';
          if (!type.includes('json'))
            throw new Error(res.status === 401 ? 'Your session has ended — sign in again.' : `Preview failed (HTTP ${res.status})`);
          return (await res.json()) as TargetPreviewResponse;
        })
        .then((result) => {
          if (mine === seq.current) setState({ key, loading: false, result });
        })
        .catch((error: unknown) => {
          if (controller.signal.aborted || mine !== seq.current) return;
          setState({ key, loading: false, result: { ok: false, message: error instanceof Error ? error.message : String(error) } });
        });
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [key]);
  return state;
}

/** The device count the operator sees, when the preview is of the selection as it is now. */
export function previewedCount(preview: PreviewState, selection: TargetSelection | null): number | null {
  if (!selection || preview.loading || preview.key !== JSON.stringify(selection)) return null;
  return preview.result?.ok ? preview.result.total : null;
}

function DeviceChecklist({ data, state, onChange }: { data: PickerData; state: TargetState; onChange: (s: TargetState) => void }) {
  const [search, setSearch] = useState('');
  const checked = useMemo(() => new Set(state.deviceIds), [state.deviceIds]);
  const needle = search.trim().toLowerCase();
  const matches = (d: PickerData['devices'][number]) =>
    !needle || d.hostname.toLowerCase().includes(needle) || d.os.toLowerCase().includes(needle);
  const shown = data.devices.filter(matches);
  const toggle = (id: string, on: boolean) => {
    const next = new Set(checked);
    if (on) next.add(id);
    else next.delete(id);
    onChange({ ...state, target: 'selected', deviceIds: data.devices.filter((d) => next.has(d.id)).map((d) => d.id) });
  };
  if (data.devices.length === 0) return <p className="text-xs text-zinc-500">No devices are enrolled yet.</p>;
  return (
    <div className="space-y-1.5">
      <div className="flex items-center gap-2">
        <Input
          type="search"
          aria-label="Search devices"
          placeholder="Hostname or OS"
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
          // Enter here must not submit the run.
          onKeyDown={(e) => {
            if (e.key === 'Enter') e.preventDefault();
          }}
          className="min-w-0 flex-1"
        />
        <Button
          size="sm"
          variant="ghost"
          onClick={() => {
            const next = new Set(checked);
            shown.forEach((d) => next.add(d.id));
            onChange({ ...state, target: 'selected', deviceIds: data.devices.filter((d) => next.has(d.id)).map((d) => d.id) });
          }}
          disabled={shown.length === 0}
        >
          Select shown
        </Button>
        <Button size="sm" variant="ghost" onClick={() => onChange({ ...state, deviceIds: [] })} disabled={checked.size === 0}>
          Clear
        </Button>
      </div>
      <ul className="max-h-60 divide-y divide-zinc-100 overflow-y-auto rounded-md ring-1 ring-zinc-200" data-testid="run-device-list">
        {data.devices.map((d) => (
          // Filtered out rows stay in the form (hidden), so that a checked device is still posted.
          <li key={d.id} className={cx('flex items-center gap-2 px-2.5 py-1.5', !matches(d) && 'hidden')}>
            <input
              type="checkbox"
              name="deviceIds"
              value={d.id}
              checked={checked.has(d.id)}
              onChange={(e) => toggle(d.id, e.currentTarget.checked)}
              aria-label={`Select ${d.hostname}`}
              className="size-3.5 rounded border-zinc-300 accent-zinc-900"
            />
            <span className="min-w-0 flex-1 truncate text-[13px] text-zinc-900">{d.hostname}</span>
            <span className="hidden max-w-40 truncate text-xs text-zinc-500 sm:inline">{d.os}</span>
            <DeviceStatusBadge status={d.status} />
          </li>
        ))}
      </ul>
      {data.devicesTotal > data.devices.length ? (
        <p className="text-[11px] text-zinc-500">
          The first {data.devices.length.toLocaleString('en-US')} of {pluralize(data.devicesTotal, 'device')} by hostname; use a group, a
          tag or a filter for the others.
        </p>
      ) : null}
    </div>
  );
}

/** The picker's fields (inside the run form): `target`, `deviceIds`, `targetGroupId`, `targetTag`, `filter*`. */
export function RunTargetPicker({
  data,
  state,
  onChange,
  error,
}: {
  data: PickerData;
  state: TargetState;
  onChange: (s: TargetState) => void;
  error?: string | undefined;
}) {
  const radio = (value: TargetState['target'], label: ReactNode) => (
    <label className="flex items-center gap-2 text-[13px] text-zinc-700">
      <input
        type="radio"
        name="target"
        value={value}
        checked={state.target === value}
        onChange={() => onChange({ ...state, target: value })}
        className="accent-zinc-900"
      />
      {label}
    </label>
  );
  const set = (patch: Partial<TargetState>) => onChange({ ...state, ...patch });
  return (
    <fieldset className="space-y-3">
      <legend className="mb-1 text-xs font-medium text-zinc-700">Run on</legend>
      {error ? <Alert>{error}</Alert> : null}
      <div className="space-y-1.5">
        {radio('selected', `Selected devices (${state.deviceIds.length.toLocaleString('en-US')})`)}
        <div className={cx('pl-6', state.target !== 'selected' && 'opacity-60')}>
          <DeviceChecklist data={data} state={state} onChange={onChange} />
        </div>
      </div>
      <div className="flex items-center gap-2">
        {radio('group', 'Group')}
        <Select
          name="targetGroupId"
          aria-label="Target group"
          value={state.targetGroupId}
          className="min-w-0 flex-1"
          onChange={(e) => set({ target: 'group', targetGroupId: e.currentTarget.value })}
        >
          <option value="">Choose…</option>
          {data.groups.map((g) => (
            <option key={g.id} value={g.id}>
              {g.name} ({g.memberCount.toLocaleString('en-US')})
            </option>
          ))}
        </Select>
      </div>
      <div className="flex items-center gap-2">
        {radio('tag', 'Tag')}
        <Select
          name="targetTag"
          aria-label="Target tag"
          value={state.targetTag}
          className="min-w-0 flex-1"
          onChange={(e) => set({ target: 'tag', targetTag: e.currentTarget.value })}
        >
          <option value="">Choose…</option>
          {data.tags.map((t) => (
            <option key={t.tag} value={t.tag}>
              {t.tag} ({t.deviceCount.toLocaleString('en-US')})
            </option>
          ))}
        </Select>
      </div>
      <div className="space-y-1.5">
        {radio('filter', 'Devices matching a filter')}
        <div className="grid gap-2 pl-6 sm:grid-cols-[minmax(0,1fr)_9rem_9rem]">
          <Input
            name="filterSearch"
            aria-label="Filter text"
            placeholder="Hostname, OS or model contains… (empty: every device)"
            value={state.filterSearch}
            onChange={(e) => set({ target: 'filter', filterSearch: e.currentTarget.value })}
            onKeyDown={(e) => {
              if (e.key === 'Enter') e.preventDefault();
            }}
          />
          <Select
            name="filterStatus"
            aria-label="Filter status"
            value={state.filterStatus}
            onChange={(e) => set({ target: 'filter', filterStatus: e.currentTarget.value })}
          >
            <option value="">Any status</option>
            {deviceStatuses.map((s) => (
              <option key={s} value={s}>
                {statusLabels[s] ?? s}
              </option>
            ))}
          </Select>
          <Select
            name="filterOsFamily"
            aria-label="Filter OS family"
            value={state.filterOsFamily}
            onChange={(e) => set({ target: 'filter', filterOsFamily: e.currentTarget.value })}
          >
            <option value="">Any OS</option>
            {osFamilies.map((f) => (
              <option key={f} value={f}>
                {osLabels[f] ?? f}
              </option>
            ))}
          </Select>
        </div>
      </div>
    </fieldset>
  );
}

/** "This selects N devices: a, b, c and 7 more" as the operator changes the selection. */
export function TargetPreview({ preview, selection }: { preview: PreviewState; selection: TargetSelection | null }) {
  const result = preview.result;
  const current = selection !== null && preview.key === JSON.stringify(selection);
  return (
    <div className="rounded-md bg-zinc-50 px-3 py-2 ring-1 ring-zinc-200 ring-inset" data-testid="run-preview" aria-live="polite">
      {!selection ? (
        <p className="text-xs text-zinc-500">Choose devices, a group, a tag or a filter to see how many devices the run targets.</p>
      ) : preview.loading || !current || !result ? (
        <p className="text-xs text-zinc-500">Counting devices…</p>
      ) : !result.ok ? (
        <p className="text-xs text-red-700" data-testid="run-preview-error">
          {result.message}
        </p>
      ) : (
        <div className="space-y-0.5">
          <p className="text-[13px] text-zinc-900">
            Runs on <strong data-testid="run-preview-count">{result.total.toLocaleString('en-US')}</strong>{' '}
            {result.total === 1 ? 'device' : 'devices'}
            {result.sample.length ? ':' : '.'}{' '}
            <span className="font-mono text-xs" data-testid="run-preview-sample">
              {result.sample.map((d) => d.hostname).join(', ')}
            </span>
            {result.total > result.sample.length ? ` and ${(result.total - result.sample.length).toLocaleString('en-US')} more` : ''}
          </p>
          {result.total === 0 ? <p className="text-xs text-amber-800">No devices match: the run cannot start.</p> : null}
          {result.total > result.maxDevices ? (
            <p className="text-xs text-red-700">
              A run can target at most {result.maxDevices.toLocaleString('en-US')} devices: narrow it down.
            </p>
          ) : null}
        </div>
      )}
    </div>
  );
}
