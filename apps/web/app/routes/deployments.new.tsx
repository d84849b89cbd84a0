/**
 * /deployments/new — the create-deployment wizard (operators): the package version and what to do, the targets (with
 * their live count), when, the rollout (pilot group, waves, soak, success criteria, auto-pause, retries), the health
 * analysis, maintenance windows and reboots, the network policy; then "Preview" shows the dry run (devices per wave and
 * in the pilot, those outside their maintenance windows and when those open, those already compliant or failing the
 * version's requirements) and "Start deployment" creates it with the device count the dry run showed.
 * Opened from a package version (`?versionId=`), that version is chosen.
 */
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigate, useNavigation } from '@remix-run/react';
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { pickerData } from '~/lib/schedule-form.server';
import { timeZoneNames } from '~/lib/schedule';
import { defaultDeploymentForm, deploymentWizardAction, wizardVersion, type DeploymentPlan } from '~/lib/deployment-form.server';
import { selectionOf, type TargetState } from '~/lib/job-run';
import { pluralize } from '~/lib/format';
import { FormSection, TargetsSection } from '~/components/run-job-form';
import { useTargetPreview } from '~/components/run-targets';
import {
  AbsoluteTime,
  Alert,
  Breadcrumb,
  Button,
  Card,
  Field,
  Input,
  PageHeader,
  Select,
  Table,
  Td,
  Textarea,
  Th,
  useHydrated,
} from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'New deployment · OpsConductor' }];

const PACKAGE_CHOICES = 200;
const PACKAGE_FORM = 'deployment-package';

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'operator', 'start deployments');
  const chosen = await wizardVersion(request, api);
  const [packages, versions, picker, sources] = await Promise.all([
    api.get('/software/packages', { params: { query: { page: 1, pageSize: PACKAGE_CHOICES } } }),
    chosen.packageId ? api.get('/software/packages/{id}/versions', { params: { path: { id: chosen.packageId } } }) : null,
    pickerData(api),
    api.get('/depot/sources'),
  ]);
  const pkg = packages.items.find((p) => p.id === chosen.packageId) ?? null;
  const versionChoices = (versions?.items ?? []).map((v) => ({ id: v.id, version: v.version, uninstallable: v.uninstallCommand !== null }));
  const versionId = chosen.versionId ?? versionChoices[0]?.id ?? '';
  const version = versionChoices.find((v) => v.id === versionId);
  return {
    packages: packages.items.map((p) => ({ id: p.id, name: p.name })).sort((a, b) => a.name.localeCompare(b.name)),
    packageId: chosen.packageId,
    packageName: pkg?.name ?? null,
    versions: versionChoices,
    initial: defaultDeploymentForm(versionId, pkg && version ? `${pkg.name} ${version.version}` : ''),
    picker,
    sources: sources.items.map((s) => ({ id: s.id, name: s.name, kind: s.kind, enabled: s.enabled })),
    timeZones: timeZoneNames(Intl.supportedValuesOf('timeZone')),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  return deploymentWizardAction(request, context);
}

const checkbox = 'size-3.5 rounded border-zinc-300 accent-zinc-900';

function Check({ name, defaultChecked, label, hint }: { name: string; defaultChecked: boolean; label: ReactNode; hint?: ReactNode }) {
  return (
    <label className="flex items-start gap-2 text-[13px] text-zinc-800">
      <input type="checkbox" name={name} defaultChecked={defaultChecked} className={`${checkbox} mt-0.5`} />
      <span>
        {label}
        {hint ? <span className="block text-xs text-zinc-500">{hint}</span> : null}
      </span>
    </label>
  );
}

function Sample({ items }: { items: Array<{ id: string; hostname: string; note?: ReactNode }> }) {
  if (items.length === 0) return null;
  return (
    <ul className="mt-1 flex flex-wrap gap-x-3 gap-y-0.5 font-mono text-xs text-zinc-600">
      {items.map((d) => (
        <li key={d.id}>
          {d.hostname}
          {d.note ? <span className="font-sans text-zinc-500"> ({d.note})</span> : null}
        </li>
      ))}
    </ul>
  );
}

/** The dry run: waves and pilot, devices outside their windows, already compliant, failing requirements. */
function PlanView({ plan }: { plan: DeploymentPlan }) {
  const tooMany = plan.total > plan.maxDevices;
  return (
    <div className="space-y-3" data-testid="deployment-plan">
      <p className="text-[13px] text-zinc-900">
        Deploys to <strong data-testid="plan-total">{plan.total.toLocaleString('en-US')}</strong> {plan.total === 1 ? 'device' : 'devices'}{' '}
        in {pluralize(plan.waves.length, 'wave')}.
      </p>
      {tooMany ? (
        <Alert>A deployment can target at most {plan.maxDevices.toLocaleString('en-US')} devices: narrow the targets down.</Alert>
      ) : null}
      {plan.needsApproval ? (
        <Alert tone="warning" title="Needs approval">
          This many devices need a second operator: the deployment waits for their approval before it starts.
        </Alert>
      ) : null}
      <Table>
        <thead>
          <tr>
            <Th>Wave</Th>
            <Th className="text-right">Devices</Th>
            <Th>First devices</Th>
          </tr>
        </thead>
        <tbody>
          {plan.waves.map((w) => (
            <tr key={w.index} data-testid="plan-wave" data-label={w.label} data-size={w.size}>
              <Td className="font-medium text-zinc-900">{w.label}</Td>
              <Td className="text-right tabular-nums">{w.size.toLocaleString('en-US')}</Td>
              <Td className="font-mono text-xs text-zinc-600">
                {w.sample.map((d) => d.hostname).join(', ')}
                {w.size > w.sample.length ? <span className="font-sans text-zinc-400"> and {w.size - w.sample.length} more</span> : null}
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
      <div className="grid gap-3 sm:grid-cols-3">
        <div
          className="rounded-md px-3 py-2 ring-1 ring-zinc-200"
          data-testid="plan-outside-windows"
          data-count={plan.outsideWindows.count}
        >
          <p className="text-xs font-medium text-zinc-700">Outside their maintenance windows: {plan.outsideWindows.count}</p>
          <Sample
            items={plan.outsideWindows.sample.map((d) => ({
              id: d.id,
              hostname: d.hostname,
              note: d.windowOpensAt ? (
                <>
                  opens <AbsoluteTime iso={d.windowOpensAt} />
                </>
              ) : (
                'no window opens'
              ),
            }))}
          />
        </div>
        <div className="rounded-md px-3 py-2 ring-1 ring-zinc-200" data-testid="plan-compliant" data-count={plan.alreadyCompliant.count}>
          <p className="text-xs font-medium text-zinc-700">Already compliant: {plan.alreadyCompliant.count}</p>
          <Sample items={plan.alreadyCompliant.sample} />
        </div>
        <div className="rounded-md px-3 py-2 ring-1 ring-zinc-200" data-testid="plan-failing" data-count={plan.failingRequirements.count}>
          <p className="text-xs font-medium text-zinc-700">Failing the requirements: {plan.failingRequirements.count}</p>
          <Sample items={plan.failingRequirements.sample.map((d) => ({ id: d.id, hostname: d.hostname, note: d.reason }))} />
        </div>
      </div>
    </div>
  );
}

export default function NewDeployment() {
  const { packages, packageId, packageName, versions, initial, picker, sources, timeZones } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const navigation = useNavigation();
  const navigate = useNavigate();
  const hydrated = useHydrated();
  const busy = navigation.state === 'submitting' ? String(navigation.formData?.get('intent')) : null;
  const p = answer?.posted ?? initial;
  const f = answer?.fields ?? {};
  const [target, setTarget] = useState<TargetState>(() => ({
    target: p.target,
    deviceIds: p.deviceIds,
    targetGroupId: p.targetGroupId,
    targetTag: p.targetTag,
    filterSearch: p.filterSearch,
    filterStatus: p.filterStatus,
    filterOsFamily: p.filterOsFamily,
  }));
  const selection = useMemo(() => selectionOf(target), [target]);
  const preview = useTargetPreview(selection);
  const [versionId, setVersionId] = useState(p.versionId);
  useEffect(() => setVersionId(initial.versionId), [initial.versionId]);
  const version = versions.find((v) => v.id === versionId);
  const [name, setName] = useState(p.name);
  const [named, setNamed] = useState(Boolean(answer));
  useEffect(() => {
    if (!named && packageName && version) setName(`${packageName} ${version.version}`);
  }, [named, packageName, version]);
  const [zone, setZone] = useState(p.timeZone || 'UTC');
  useEffect(() => {
    if (answer) return;
    const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (timeZones.includes(browserZone)) setZone(browserZone);
    // Once, after hydration: the server renders UTC.
  }, []);
  const [reboot, setReboot] = useState(p.rebootPolicy || 'suppress');
  const [stale, setStale] = useState(false);
  useEffect(() => setStale(false), [answer]);
  const plan = !stale ? answer?.plan : undefined;

  return (
    <>
      <Breadcrumb trail={[{ to: '/deployments', label: 'Deployments' }]} current="New deployment" />
      <PageHeader
        title="New deployment"
        description="A staged rollout of a package version: a pilot, waves, success criteria and auto-pause. Preview it before it starts."
      />
      {/* The package select belongs to this GET form: choosing a package loads its versions. */}
      <Form method="get" id={PACKAGE_FORM} />
      <div className="max-w-4xl">
        <Form method="post" noValidate className="space-y-4" onChange={() => setStale(true)} data-testid="deployment-form">
          {answer?.formError ? <Alert title="Check the deployment">{answer.formError}</Alert> : null}
          {answer?.other?.length ? (
            <Alert title="Other problems">
              <ul className="list-disc pl-4">
                {answer.other.map((o) => (
                  <li key={o}>{o}</li>
                ))}
              </ul>
            </Alert>
          ) : null}

          <FormSection n={1} title="Package and version">
            <div className="grid gap-3 sm:grid-cols-2">
              <Field label="Package">
                {(props) => (
                  <Select
                    {...props}
                    form={PACKAGE_FORM}
                    name="packageId"
                    defaultValue={packageId ?? ''}
                    key={packageId ?? ''}
                    onChange={(e) => {
                      setNamed(false);
                      navigate(`?packageId=${encodeURIComponent(e.currentTarget.value)}`, { preventScrollReset: true });
                    }}
                  >
                    <option value="">Choose…</option>
                    {packages.map((pk) => (
                      <option key={pk.id} value={pk.id}>
                        {pk.name}
                      </option>
                    ))}
                  </Select>
                )}
              </Field>
              <Field label="Version" error={f.versionId}>
                {(props) => (
                  <Select
                    {...props}
                    name="versionId"
                    value={versionId}
                    onChange={(e) => setVersionId(e.currentTarget.value)}
                    disabled={versions.length === 0}
                  >
                    {versions.length === 0 ? <option value="">{packageId ? 'No versions' : 'Choose a package first'}</option> : null}
                    {versions.map((v) => (
                      <option key={v.id} value={v.id}>
                        {v.version}
                      </option>
                    ))}
                  </Select>
                )}
              </Field>
            </div>
            <noscript>
              <button type="submit" form={PACKAGE_FORM} className="text-xs underline">
                Load the package&apos;s versions
              </button>
            </noscript>
            <Field label="Name" error={f.name} hint="Shown in the deployments list and on the timeline">
              {(props) => (
                <Input
                  {...props}
                  name="name"
                  value={name}
                  maxLength={200}
                  onChange={(e) => {
                    setNamed(true);
                    setName(e.currentTarget.value);
                  }}
                />
              )}
            </Field>
            <fieldset className="flex gap-4">
              <legend className="mb-1 text-xs font-medium text-zinc-700">Action</legend>
              <label className="flex items-center gap-2 text-[13px] text-zinc-800">
                <input type="radio" name="action" value="install" defaultChecked={p.action !== 'uninstall'} className="accent-zinc-900" />
                Install
              </label>
              <label className="flex items-center gap-2 text-[13px] text-zinc-800">
                <input
                  type="radio"
                  name="action"
                  value="uninstall"
                  defaultChecked={p.action === 'uninstall'}
                  disabled={version ? !version.uninstallable : false}
                  className="accent-zinc-900"
                />
                Uninstall
                {version && !version.uninstallable ? <span className="text-xs text-zinc-500">(no uninstall command)</span> : null}
              </label>
            </fieldset>
          </FormSection>

          <TargetsSection
            n={2}
            picker={picker}
            state={target}
            onChange={setTarget}
            error={f.target}
            preview={preview}
            selection={selection}
          />

          <FormSection n={3} title="Schedule">
            <div className="grid gap-3 sm:grid-cols-3">
              <Field label="Time zone" hint={hydrated ? 'Start and deadline are read in it' : undefined}>
                {(props) => (
                  <Select {...props} name="timeZone" value={zone} onChange={(e) => setZone(e.currentTarget.value)}>
                    {timeZones.map((z) => (
                      <option key={z} value={z}>
                        {z}
                      </option>
                    ))}
                  </Select>
                )}
              </Field>
              <Field label="Start" error={f.startsAt} hint="Empty: now">
                {(props) => <Input {...props} name="startsAt" type="datetime-local" defaultValue={p.startsAt} />}
              </Field>
              <Field label="Deadline" error={f.deadlineAt} hint="Optional: no device starts after it">
                {(props) => <Input {...props} name="deadlineAt" type="datetime-local" defaultValue={p.deadlineAt} />}
              </Field>
            </div>
          </FormSection>

          <FormSection n={4} title="Rollout">
            <div className="grid gap-3 sm:grid-cols-2">
              <Field label="Pilot group" error={f.pilotGroupId} hint="Its target devices go first and must meet the success criteria">
                {(props) => (
                  <Select {...props} name="pilotGroupId" defaultValue={p.pilotGroupId}>
                    <option value="">No pilot</option>
                    {picker.groups.map((g) => (
                      <option key={g.id} value={g.id}>
                        {g.name} ({g.memberCount.toLocaleString('en-US')})
                      </option>
                    ))}
                  </Select>
                )}
              </Field>
              <Field
                label="Waves"
                error={f.waves}
                hint="Cumulative percentages (10%, 50%, 100%) or device counts (5, 20); the pilot not counted"
              >
                {(props) => <Input {...props} name="waves" defaultValue={p.waves} placeholder="100%" />}
              </Field>
              <Field label="Soak time (minutes)" error={f.soakMinutes} hint="Wait after each wave before the next">
                {(props) => <Input {...props} name="soakMinutes" type="number" min={0} inputMode="numeric" defaultValue={p.soakMinutes} />}
              </Field>
              <Field
                label="Success criteria (%)"
                error={f.successPercent}
                hint="A wave succeeds when at least this share of its devices did"
              >
                {(props) => <Input {...props} name="successPercent" type="number" min={0} max={100} defaultValue={p.successPercent} />}
              </Field>
              <Field label="Max concurrency" error={f.maxConcurrency} hint="Optional: devices installing at once">
                {(props) => (
                  <Input {...props} name="maxConcurrency" type="number" min={1} inputMode="numeric" defaultValue={p.maxConcurrency} />
                )}
              </Field>
            </div>
            <div className="space-y-2 rounded-md bg-zinc-50 p-3 ring-1 ring-zinc-200 ring-inset">
              <Check name="autoPause" defaultChecked={p.autoPause === 'on'} label="Pause automatically when too many fail" />
              <div className="grid gap-3 sm:grid-cols-2">
                <Field label="Failure threshold (%)" error={f.autoPauseFailurePercent}>
                  {(props) => (
                    <Input
                      {...props}
                      name="autoPauseFailurePercent"
                      type="number"
                      min={0}
                      max={100}
                      defaultValue={p.autoPauseFailurePercent}
                    />
                  )}
                </Field>
                <Field label="Minimum results" error={f.autoPauseMinResults} hint="Results a wave needs before the threshold applies">
                  {(props) => <Input {...props} name="autoPauseMinResults" type="number" min={1} defaultValue={p.autoPauseMinResults} />}
                </Field>
              </div>
            </div>
            <div className="grid gap-3 sm:grid-cols-2">
              <Field
                label="Retries"
                error={f.retryCount}
                hint="For devices whose install could not run (offline, download failed, timed out)"
              >
                {(props) => <Input {...props} name="retryCount" type="number" min={0} max={5} defaultValue={p.retryCount} />}
              </Field>
              <Field label="Retry after (s)" error={f.retryBackoffSeconds}>
                {(props) => <Input {...props} name="retryBackoffSeconds" type="number" min={10} defaultValue={p.retryBackoffSeconds} />}
              </Field>
            </div>
          </FormSection>

          <FormSection n={5} title="Health analysis">
            <Check
              name="health"
              defaultChecked={p.health === 'on'}
              label="Watch updated devices during the soak"
              hint="Compares how often updated devices are unhealthy (offline, failing the health script) with devices not yet updated"
            />
            <div className="grid gap-3 sm:grid-cols-2">
              <Field label="Max excess (percentage points)" error={f.healthMaxExcessPercent}>
                {(props) => (
                  <Input {...props} name="healthMaxExcessPercent" type="number" min={0} max={100} defaultValue={p.healthMaxExcessPercent} />
                )}
              </Field>
              <Field label="Minimum devices" error={f.healthMinDevices}>
                {(props) => <Input {...props} name="healthMinDevices" type="number" min={1} defaultValue={p.healthMinDevices} />}
              </Field>
              <Field label="Offline after (minutes)" error={f.healthOfflineMinutes}>
                {(props) => <Input {...props} name="healthOfflineMinutes" type="number" min={1} defaultValue={p.healthOfflineMinutes} />}
              </Field>
              <Field label="On failure">
                {(props) => (
                  <Select {...props} name="healthOnFailure" defaultValue={p.healthOnFailure}>
                    <option value="pause">Pause</option>
                    <option value="rollback">Roll back</option>
                  </Select>
                )}
              </Field>
            </div>
            <Field
              label="Health script"
              error={f.healthScript}
              hint="Optional: run on each updated device during the soak; a non-zero exit counts as unhealthy"
            >
              {(props) => <Textarea {...props} name="healthScript" rows={3} defaultValue={p.healthScript} />}
            </Field>
            <div className="grid gap-3 sm:grid-cols-2">
              <Field label="Shell">
                {(props) => (
                  <Select {...props} name="healthShell" defaultValue={p.healthShell}>
                    {['default', 'sh', 'bash', 'powershell', 'cmd'].map((s) => (
                      <option key={s} value={s}>
                        {s}
                      </option>
                    ))}
                  </Select>
                )}
              </Field>
              <Field label="Script timeout (s)" error={f.healthTimeoutSeconds}>
                {(props) => (
                  <Input {...props} name="healthTimeoutSeconds" type="number" min={1} max={3600} defaultValue={p.healthTimeoutSeconds} />
                )}
              </Field>
            </div>
          </FormSection>

          <FormSection n={6} title="Maintenance windows and reboots">
            <Check
              name="respectWindows"
              defaultChecked={p.respectWindows === 'on'}
              label="Respect maintenance windows"
              hint="Devices install only inside one of their groups' windows. Clear it to override the windows for this deployment."
            />
            <fieldset className="space-y-1.5">
              <legend className="mb-1 text-xs font-medium text-zinc-700">Reboot policy</legend>
              {(
                [
                  ['suppress', 'Suppress: never restart (devices that need it show as reboot pending)'],
                  ['in_window', 'Restart in a maintenance window'],
                  ['force', 'Force a restart, with a notice to the users'],
                ] as const
              ).map(([value, label]) => (
                <label key={value} className="flex items-center gap-2 text-[13px] text-zinc-800">
                  <input
                    type="radio"
                    name="rebootPolicy"
                    value={value}
                    checked={reboot === value}
                    onChange={() => setReboot(value)}
                    className="accent-zinc-900"
                  />
                  {label}
                </label>
              ))}
            </fieldset>
            {reboot === 'force' ? (
              <div className="grid gap-3 sm:grid-cols-[minmax(0,1fr)_10rem]">
                <Field label="Notice" error={f.rebootMessage}>
                  {(props) => (
                    <Input
                      {...props}
                      name="rebootMessage"
                      maxLength={500}
                      defaultValue={p.rebootMessage}
                      placeholder="Your computer restarts in 5 minutes for an update."
                    />
                  )}
                </Field>
                <Field label="Delay (s)" error={f.rebootDelaySeconds}>
                  {(props) => (
                    <Input {...props} name="rebootDelaySeconds" type="number" min={0} max={3600} defaultValue={p.rebootDelaySeconds} />
                  )}
                </Field>
              </div>
            ) : null}
          </FormSection>

          <FormSection n={7} title="Network">
            <div className="grid gap-3 sm:grid-cols-2">
              <Field label="Bandwidth cap (KiB/s)" error={f.maxKilobytesPerSecond} hint="Optional: each agent's download rate">
                {(props) => <Input {...props} name="maxKilobytesPerSecond" type="number" min={16} defaultValue={p.maxKilobytesPerSecond} />}
              </Field>
              <div className="pt-5">
                <Check name="skipMetered" defaultChecked={p.skipMetered === 'on'} label="Skip devices on a metered connection" />
              </div>
            </div>
            <fieldset className="space-y-1.5">
              <legend className="mb-1 text-xs font-medium text-zinc-700">Restrict to sources</legend>
              {f.sourceIds ? <Alert>{f.sourceIds}</Alert> : null}
              {sources.length === 0 ? (
                <p className="text-xs text-zinc-500">No depot sources.</p>
              ) : (
                sources.map((s) => (
                  <label key={s.id} className="flex items-center gap-2 text-[13px] text-zinc-800">
                    <input type="checkbox" name="sourceIds" value={s.id} defaultChecked={p.sourceIds.includes(s.id)} className={checkbox} />
                    {s.name}{' '}
                    <span className="text-xs text-zinc-500">
                      ({s.kind}
                      {s.enabled ? '' : ', disabled'})
                    </span>
                  </label>
                ))
              )}
              <p className="text-xs text-zinc-500">None checked: agents may use every source.</p>
            </fieldset>
          </FormSection>

          <Card title="Preview and start">
            <div className="space-y-3 p-4">
              {plan ? (
                <>
                  <PlanView plan={plan} />
                  <input type="hidden" name="expectedDeviceCount" value={plan.total} />
                </>
              ) : (
                <p className="text-xs text-zinc-500">
                  {answer?.plan
                    ? 'The settings changed: preview again.'
                    : 'The dry run shows the waves and the devices before anything starts.'}
                </p>
              )}
              <div className="flex justify-end gap-2">
                <Button type="submit" name="intent" value="preview" variant={plan ? 'secondary' : 'primary'} disabled={busy !== null}>
                  {busy === 'preview' ? 'Previewing…' : 'Preview'}
                </Button>
                {plan ? (
                  <Button
                    type="submit"
                    name="intent"
                    value="start"
                    variant="primary"
                    disabled={busy !== null || plan.total === 0 || plan.total > plan.maxDevices}
                  >
                    {busy === 'start' ? 'Starting…' : `Start deployment on ${pluralize(plan.total, 'device')}`}
                  </Button>
                ) : null}
              </div>
            </div>
          </Card>
        </Form>
      </div>
    </>
  );
}
