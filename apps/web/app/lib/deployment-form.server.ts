/**
 * The create-deployment wizard (/deployments/new): the posted form as the API's CreateDeploymentRequest, the dry run
 * (POST /deployments/preview) the operator checks first, and the start (POST /deployments with the device count the
 * dry run showed). The console checks only what it must to build the request (a target, the waves' syntax, times in a
 * zone); numbers go as typed, so the API's own message lands on their field.
 */
import { data, redirect, type AppLoadContext } from '@remix-run/node';
import { z } from 'zod';
import { uuid } from '@opsconductor/contracts/api';
import { ApiError, requireApi, type Schema } from './api.server';
import { parseJobRunTarget } from './job-run-form.server';
import { deploymentFormIssues, parseWaves, type DeploymentFormField } from './deployments';
import { isTimeZone, wallTimeToIso } from './schedule';
import type { TargetState } from './job-run';

export type CreateDeploymentBody = Schema<'CreateDeploymentRequest'>;
export type DeploymentPlan = Schema<'DeploymentPlan'>;

/** Every text field of the wizard as posted (checkboxes: 'on' or ''), to show the form again. */
export type PostedDeploymentForm = TargetState & {
  name: string;
  versionId: string;
  action: string;
  timeZone: string;
  startsAt: string;
  deadlineAt: string;
  pilotGroupId: string;
  waves: string;
  soakMinutes: string;
  successPercent: string;
  autoPause: string;
  autoPauseFailurePercent: string;
  autoPauseMinResults: string;
  health: string;
  healthMaxExcessPercent: string;
  healthMinDevices: string;
  healthOfflineMinutes: string;
  healthOnFailure: string;
  healthScript: string;
  healthShell: string;
  healthTimeoutSeconds: string;
  respectWindows: string;
  rebootPolicy: string;
  rebootMessage: string;
  rebootDelaySeconds: string;
  maxKilobytesPerSecond: string;
  skipMetered: string;
  sourceIds: string[];
  retryCount: string;
  retryBackoffSeconds: string;
  maxConcurrency: string;
};

export type DeploymentFormData = {
  posted: PostedDeploymentForm;
  formError?: string;
  fields?: Partial<Record<DeploymentFormField, string>>;
  other?: string[];
  /** The dry run of what was posted: shown with "Start deployment". */
  plan?: DeploymentPlan;
};

export const defaultDeploymentForm = (versionId: string, name: string): PostedDeploymentForm => ({
  target: 'selected',
  deviceIds: [],
  targetGroupId: '',
  targetTag: '',
  filterSearch: '',
  filterStatus: '',
  filterOsFamily: '',
  name,
  versionId,
  action: 'install',
  timeZone: 'UTC',
  startsAt: '',
  deadlineAt: '',
  pilotGroupId: '',
  waves: '10%, 50%, 100%',
  soakMinutes: '0',
  successPercent: '95',
  autoPause: 'on',
  autoPauseFailurePercent: '10',
  autoPauseMinResults: '10',
  health: '',
  healthMaxExcessPercent: '10',
  healthMinDevices: '5',
  healthOfflineMinutes: '5',
  healthOnFailure: 'pause',
  healthScript: '',
  healthShell: 'default',
  healthTimeoutSeconds: '60',
  respectWindows: 'on',
  rebootPolicy: 'suppress',
  rebootMessage: '',
  rebootDelaySeconds: '300',
  maxKilobytesPerSecond: '',
  skipMetered: '',
  sourceIds: [],
  retryCount: '2',
  retryBackoffSeconds: '300',
  maxConcurrency: '',
});

const text = (form: FormData, name: string, max = 200): string => {
  const v = form.get(name);
  return typeof v === 'string' ? v.slice(0, max) : '';
};
const RUN_TARGETS = ['selected', 'filter', 'group', 'tag'] as const;

export function postedDeploymentForm(form: FormData): PostedDeploymentForm {
  const target = text(form, 'target', 20);
  const strings = (name: string, max: number) =>
    form
      .getAll(name)
      .filter((v): v is string => typeof v === 'string')
      .slice(0, max);
  return {
    target: (RUN_TARGETS as readonly string[]).includes(target) ? (target as TargetState['target']) : 'selected',
    deviceIds: strings('deviceIds', 10_000),
    targetGroupId: text(form, 'targetGroupId', 64),
    targetTag: text(form, 'targetTag', 100),
    filterSearch: text(form, 'filterSearch', 300),
    filterStatus: text(form, 'filterStatus', 20),
    filterOsFamily: text(form, 'filterOsFamily', 20),
    name: text(form, 'name', 300),
    versionId: text(form, 'versionId', 64),
    action: text(form, 'action', 20),
    timeZone: text(form, 'timeZone', 64),
    startsAt: text(form, 'startsAt', 30),
    deadlineAt: text(form, 'deadlineAt', 30),
    pilotGroupId: text(form, 'pilotGroupId', 64),
    waves: text(form, 'waves', 300),
    soakMinutes: text(form, 'soakMinutes', 20),
    successPercent: text(form, 'successPercent', 20),
    autoPause: text(form, 'autoPause', 5),
    autoPauseFailurePercent: text(form, 'autoPauseFailurePercent', 20),
    autoPauseMinResults: text(form, 'autoPauseMinResults', 20),
    health: text(form, 'health', 5),
    healthMaxExcessPercent: text(form, 'healthMaxExcessPercent', 20),
    healthMinDevices: text(form, 'healthMinDevices', 20),
    healthOfflineMinutes: text(form, 'healthOfflineMinutes', 20),
    healthOnFailure: text(form, 'healthOnFailure', 20),
    healthScript: text(form, 'healthScript', 20_000),
    healthShell: text(form, 'healthShell', 20),
    healthTimeoutSeconds: text(form, 'healthTimeoutSeconds', 20),
    respectWindows: text(form, 'respectWindows', 5),
    rebootPolicy: text(form, 'rebootPolicy', 20),
    rebootMessage: text(form, 'rebootMessage', 1000),
    rebootDelaySeconds: text(form, 'rebootDelaySeconds', 20),
    maxKilobytesPerSecond: text(form, 'maxKilobytesPerSecond', 20),
    skipMetered: text(form, 'skipMetered', 5),
    sourceIds: strings('sourceIds', 32),
    retryCount: text(form, 'retryCount', 20),
    retryBackoffSeconds: text(form, 'retryBackoffSeconds', 20),
    maxConcurrency: text(form, 'maxConcurrency', 20),
  };
}

/** A number field: nothing when empty, the number, or the text as typed (the API says what is wrong with it). */
function num(value: string, scale = 1): number | undefined {
  const t = value.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return (Number.isFinite(n) ? Math.round(n * scale * 1000) / 1000 : t) as number;
}

const on = (v: string) => v === 'on' || v === 'true';

/** The posted wizard as the API's request, or the fields the console refuses itself. */
export function deploymentRequest(
  p: PostedDeploymentForm,
  form: FormData,
): { ok: true; body: CreateDeploymentBody } | { ok: false; fields: Partial<Record<DeploymentFormField, string>> } {
  const fields: Partial<Record<DeploymentFormField, string>> = {};
  const target = parseJobRunTarget(form);
  if (!target.ok) fields.target = target.message;
  const waves = parseWaves(p.waves);
  if (!waves.ok) fields.waves = waves.message;
  const zone = p.timeZone.trim() || 'UTC';
  const when = (field: 'startsAt' | 'deadlineAt'): string | undefined => {
    const local = p[field].trim();
    if (!local) return undefined;
    if (!isTimeZone(zone)) {
      fields[field] = 'the time zone is not one this server knows';
      return undefined;
    }
    const iso = wallTimeToIso(local, zone);
    if (!iso) fields[field] = 'is not a date and time';
    return iso ?? undefined;
  };
  const startsAt = when('startsAt');
  const deadlineAt = when('deadlineAt');
  if (!uuid.safeParse(p.versionId).success) fields.versionId = 'Choose a package version';
  const pilot = p.pilotGroupId.trim();
  if (pilot && !uuid.safeParse(pilot).success) fields.pilotGroupId = 'Choose a group';
  if (!target.ok || !waves.ok || Object.keys(fields).length) return { ok: false, fields };

  const rebootPolicy = (['suppress', 'in_window', 'force'] as const).find((r) => r === p.rebootPolicy) ?? 'suppress';
  const healthScript = p.healthScript.trim();
  const kilobytes = num(p.maxKilobytesPerSecond);
  const sourceIds = p.sourceIds.filter((id) => uuid.safeParse(id).success);
  const strategy: CreateDeploymentBody['strategy'] = {
    ...(pilot ? { pilotGroupId: pilot } : {}),
    ...(waves.waves ? { waves: waves.waves } : {}),
    soakSeconds: num(p.soakMinutes, 60) ?? 0,
    successPercent: num(p.successPercent) ?? 95,
    autoPause: on(p.autoPause)
      ? { failurePercent: num(p.autoPauseFailurePercent) ?? 10, minResults: num(p.autoPauseMinResults) ?? 10 }
      : null,
    health: on(p.health)
      ? {
          maxExcessPercent: num(p.healthMaxExcessPercent) ?? 10,
          minDevices: num(p.healthMinDevices) ?? 5,
          offlineAfterSeconds: num(p.healthOfflineMinutes, 60) ?? 300,
          onFailure: p.healthOnFailure === 'rollback' ? 'rollback' : 'pause',
          ...(healthScript
            ? {
                script: {
                  command: healthScript,
                  shell: (['default', 'sh', 'bash', 'powershell', 'cmd'] as const).find((s) => s === p.healthShell) ?? 'default',
                  timeoutSeconds: num(p.healthTimeoutSeconds) ?? 60,
                },
              }
            : {}),
        }
      : null,
    respectMaintenanceWindows: on(p.respectWindows),
    rebootPolicy,
    ...(rebootPolicy === 'force' && p.rebootMessage.trim()
      ? { rebootNotice: { message: p.rebootMessage.trim(), delaySeconds: num(p.rebootDelaySeconds) ?? 300 } }
      : {}),
    network: {
      skipMetered: on(p.skipMetered),
      ...(kilobytes !== undefined ? { maxBytesPerSecond: typeof kilobytes === 'number' ? Math.round(kilobytes * 1024) : kilobytes } : {}),
      ...(sourceIds.length ? { sourceIds } : {}),
    },
    retries: { count: num(p.retryCount) ?? 2, backoffSeconds: num(p.retryBackoffSeconds) ?? 300 },
    ...(num(p.maxConcurrency) !== undefined ? { maxConcurrency: num(p.maxConcurrency) } : {}),
  };
  return {
    ok: true,
    body: {
      name: p.name,
      versionId: p.versionId,
      action: p.action === 'uninstall' ? 'uninstall' : 'install',
      targets: target.value,
      ...(startsAt ? { startsAt } : {}),
      ...(deadlineAt ? { deadlineAt } : {}),
      strategy,
    },
  };
}

const confirmedCount = z.coerce.number().int().min(0).max(1_000_000);

/** The wizard's post: `intent=preview` answers with the dry run; `intent=start` creates the deployment and opens it. */
export async function deploymentWizardAction(request: Request, context: AppLoadContext) {
  const api = await requireApi(request, context);
  const form = await request.formData();
  const posted = postedDeploymentForm(form);
  const answer = (body: Omit<DeploymentFormData, 'posted'>, status = 400) => data<DeploymentFormData>({ posted, ...body }, { status });
  const built = deploymentRequest(posted, form);
  if (!built.ok) return answer({ formError: 'Check the highlighted fields.', fields: built.fields });
  const start = form.get('intent') === 'start';
  const expected = confirmedCount.safeParse(form.get('expectedDeviceCount'));
  try {
    if (!start || !expected.success) {
      const plan = await api.post('/deployments/preview', { body: built.body });
      return answer({ plan }, 200);
    }
    try {
      const created = await api.post('/deployments', { body: { ...built.body, expectedDeviceCount: expected.data } });
      return redirect(`/deployments/${created.id}`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
      const plan = await api.post('/deployments/preview', { body: built.body });
      return answer({ plan, formError: `${error.detail ?? error.title} Check the new dry run and start again.` }, 409);
    }
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const issues = deploymentFormIssues(error.errors);
    return answer(
      {
        formError: error.errors.length ? 'The API refused some settings: check the highlighted fields.' : (error.detail ?? error.title),
        fields: issues.fields,
        other: issues.other,
      },
      error.status,
    );
  }
}

/** Where a wizard opened from a package version (`?versionId=`) starts. */
export async function wizardVersion(request: Request, api: Awaited<ReturnType<typeof requireApi>>) {
  const sp = new URL(request.url).searchParams;
  const versionId = uuid.safeParse(sp.get('versionId'));
  const packageId = uuid.safeParse(sp.get('packageId'));
  if (versionId.success) {
    const version = await api.get('/software/versions/{id}', { params: { path: { id: versionId.data } } });
    return { packageId: version.packageId, versionId: version.id };
  }
  return { packageId: packageId.success ? packageId.data : null, versionId: null };
}
