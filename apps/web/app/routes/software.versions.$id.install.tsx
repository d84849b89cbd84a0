/** /software/versions/:id/install — install (or uninstall) a package version on devices now, as a job run (operators). */
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { useEffect, useMemo, useState } from 'react';
import { uuid } from '@opsconductor/contracts/api';
import { requireApi } from '~/lib/api.server';
import { pluralize } from '~/lib/format';
import { selectionOf, type TargetState } from '~/lib/job-run';
import { newRunFormKey } from '~/lib/run-command.server';
import { requireRole } from '~/lib/roles.server';
import { pickerData } from '~/lib/schedule-form.server';
import { runSoftwareAction, type SoftwareAction } from '~/lib/software-run-form.server';
import { FormSection, RunSubmit, TargetsSection, emptyTarget } from '~/components/run-job-form';
import { previewedCount, useTargetPreview } from '~/components/run-targets';
import { Alert, Breadcrumb, Field, Input, PageHeader } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `Install ${data?.pkg.name ?? 'software'} ${data?.version.version ?? ''} · OpsConductor` },
];

function versionIdParam(params: LoaderFunctionArgs['params']): string {
  const id = uuid.safeParse(params.id);
  if (!id.success) throw new Response('Not found', { status: 404 });
  return id.data;
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'operator', 'install software');
  const version = await api.get('/software/versions/{id}', { params: { path: { id: versionIdParam(params) } } });
  const [pkg, picker] = await Promise.all([
    api.get('/software/packages/{id}', { params: { path: { id: version.packageId } } }),
    pickerData(api),
  ]);
  const uninstall = new URL(request.url).searchParams.get('action') === 'uninstall' && version.uninstallCommand !== null;
  return {
    pkg: { id: pkg.id, name: pkg.name, platform: pkg.platform },
    version: {
      id: version.id,
      version: version.version,
      installerType: version.installerType,
      uninstallable: version.uninstallCommand !== null,
      timeoutSeconds: version.timeoutSeconds,
      reboot: version.reboot,
    },
    initialAction: (uninstall ? 'software.uninstall' : 'software.install') as SoftwareAction,
    picker,
    formKey: newRunFormKey(),
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  return runSoftwareAction(request, context, versionIdParam(params), await request.formData());
}

const rebootText = {
  never: 'never restarts the device',
  if_required: 'restarts the device when the installer asks',
  always: 'restarts the device after installing',
};

export default function InstallVersion() {
  const { pkg, version, initialAction, picker, formKey } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting';
  const [target, setTarget] = useState<TargetState>(() => (answer ? { ...emptyTarget, ...answer.posted } : emptyTarget));
  const [kind, setKind] = useState<SoftwareAction>(answer?.posted.action ?? initialAction);
  const selection = useMemo(() => selectionOf(target), [target]);
  const preview = useTargetPreview(selection);
  const count = previewedCount(preview, selection);
  const tooMany = preview.result?.ok === true && count !== null && count > preview.result.maxDevices;
  const [dismissed, setDismissed] = useState(false);
  useEffect(() => setDismissed(false), [answer]);
  const confirm = dismissed ? undefined : answer?.confirm;
  const verb = kind === 'software.install' ? 'Install' : 'Uninstall';
  return (
    <>
      <Breadcrumb
        trail={[
          { to: '/software', label: 'Software' },
          { to: `/software/${pkg.id}`, label: pkg.name },
        ]}
        current={`${verb} ${version.version}`}
      />
      <PageHeader
        title={`${verb} ${pkg.name} ${version.version}`}
        description={`${version.installerType} · up to ${version.timeoutSeconds.toLocaleString('en-US')} s per device · ${rebootText[version.reboot]}`}
      />
      <div className="max-w-4xl">
        <Form method="post" noValidate className="space-y-4" onChange={() => setDismissed(true)} data-testid="software-run-form">
          <input type="hidden" name="idempotencyKey" value={answer?.idempotencyKey ?? formKey} />
          {answer?.formError ? <Alert title={answer.formErrorTitle ?? 'Nothing was started'}>{answer.formError}</Alert> : null}
          <TargetsSection
            n={1}
            picker={picker}
            state={target}
            onChange={setTarget}
            error={answer?.fields?.target}
            preview={preview}
            selection={selection}
          />
          <FormSection n={2} title="What to do">
            <fieldset className="space-y-2">
              <legend className="sr-only">Action</legend>
              {(['software.install', 'software.uninstall'] as const).map((value) => (
                <label key={value} className="flex items-center gap-2 text-[13px] text-zinc-800">
                  <input
                    type="radio"
                    name="action"
                    value={value}
                    checked={kind === value}
                    disabled={value === 'software.uninstall' && !version.uninstallable}
                    onChange={() => setKind(value)}
                  />
                  {value === 'software.install' ? 'Install' : 'Uninstall'}
                  {value === 'software.uninstall' && !version.uninstallable ? (
                    <span className="text-xs text-zinc-500">(this version has no uninstall command)</span>
                  ) : null}
                </label>
              ))}
            </fieldset>
            <p className="text-xs text-zinc-500">
              Each device checks the version's detection rules first: where it is already{' '}
              {kind === 'software.install' ? 'installed' : 'absent'}, nothing runs.
            </p>
            <Field label="Deadline (s)" error={answer?.fields?.deadlineSeconds} hint="How long to wait for offline devices to pick it up">
              {(p) => (
                <Input
                  {...p}
                  name="deadlineSeconds"
                  type="number"
                  min={10}
                  max={604_800}
                  inputMode="numeric"
                  defaultValue={answer?.posted.deadlineSeconds || 3600}
                />
              )}
            </Field>
          </FormSection>
          <RunSubmit
            confirm={confirm}
            onCancel={() => setDismissed(true)}
            count={count}
            busy={busy}
            tooMany={tooMany}
            summary={(n) => `${verb}s ${pkg.name} ${version.version} on ${pluralize(n, 'device')}.`}
            verb={verb}
            idleLabel={verb}
          />
        </Form>
      </div>
    </>
  );
}
