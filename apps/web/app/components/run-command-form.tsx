import { useNavigation } from '@remix-run/react';
import { useEffect, useState, type ReactNode } from 'react';
import { shells as shellNames, type Shell } from '@opsconductor/contracts/constants';
import type { RunCommandActionData, RunConfirmation } from '~/lib/run-command.server';
import { pluralize } from '~/lib/format';
import { Alert, Button, Field, Input, Select, Textarea } from './ui';

const shellLabels: Record<Shell, string> = {
  default: 'Agent default (sh / cmd)',
  sh: 'sh',
  bash: 'bash',
  powershell: 'PowerShell',
  cmd: 'cmd',
};
const shells = shellNames.map((value) => ({ value, label: shellLabels[value] }));

/**
 * "This will run on N devices": shown instead of the Run button until the operator confirms. The
 * confirmed count goes with the run; the API refuses it if the selection changed meanwhile.
 */
export function ConfirmRun({ confirm, onCancel }: { confirm: RunConfirmation; onCancel: () => void }) {
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting' && navigation.formData?.get('intent') === 'run-confirm';
  const more = confirm.total - confirm.sample.length;
  return (
    <div
      role="alertdialog"
      aria-label="Confirm run"
      data-testid="run-confirm"
      className="space-y-2 rounded-md bg-amber-50 p-3 ring-1 ring-amber-600/25 ring-inset"
    >
      {confirm.notice ? <p className="text-xs font-medium text-amber-900">{confirm.notice}</p> : null}
      <p className="text-[13px] text-amber-950">
        This will run on <strong data-testid="run-confirm-count">{confirm.total.toLocaleString('en-US')}</strong>{' '}
        {confirm.total === 1 ? 'device' : 'devices'}:{' '}
        <span className="font-mono text-xs" data-testid="run-confirm-sample">
          {confirm.sample.join(', ')}
        </span>
        {more > 0 ? ` and ${more.toLocaleString('en-US')} more` : ''}.
      </p>
      <input type="hidden" name="expectedDeviceCount" value={confirm.total} />
      <div className="flex gap-2">
        <Button type="submit" name="intent" value="run-confirm" variant="danger" disabled={busy}>
          Run on {pluralize(confirm.total, 'device')}
        </Button>
        <Button type="button" variant="ghost" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </div>
  );
}

/**
 * The command fields and the "Run" button, without the <form>: the device list puts its row
 * checkboxes (name="deviceIds") and its target picker (`target`) in the same form.
 */
export function RunCommandFields({
  result,
  formKey,
  summary,
  target,
  intent = 'run',
}: {
  result: RunCommandActionData | undefined;
  /** The page's idempotency key for this form (newRunFormKey in its loader); answers may hand on another. */
  formKey: string;
  summary?: ReactNode;
  /** Where to run (the device list's picker), above the command. */
  target?: ReactNode;
  intent?: string;
}) {
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting' && navigation.formData?.get('intent') === intent;
  const errors = result?.fieldErrors ?? {};
  // A new answer from the server shows its confirmation again; Cancel hides it.
  const [dismissed, setDismissed] = useState(false);
  useEffect(() => setDismissed(false), [result]);
  const confirm = dismissed ? undefined : result?.confirm;
  return (
    // Any change to the target or the command withdraws a confirmation: Run previews again.
    <div className="space-y-3" onChange={() => setDismissed(true)}>
      <input type="hidden" name="idempotencyKey" value={result?.idempotencyKey ?? formKey} />
      {result?.formError ? <Alert title={result.formErrorTitle ?? 'The run was not created'}>{result.formError}</Alert> : null}
      {errors.deviceIds ? <Alert>{errors.deviceIds}</Alert> : null}
      {errors.target ? <Alert>{errors.target}</Alert> : null}
      {target}
      <Field label="Command" error={errors.command}>
        {(p) => (
          <Textarea
            {...p}
            name="command"
            rows={5}
            placeholder={'uname -a\ndf -h'}
            spellCheck={false}
            autoCapitalize="off"
            autoCorrect="off"
            maxLength={64 * 1024}
          />
        )}
      </Field>
      <Field label="Shell" error={errors.shell}>
        {(p) => (
          <Select {...p} name="shell" defaultValue="default">
            {shells.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </Select>
        )}
      </Field>
      <div className="grid grid-cols-2 gap-3">
        <Field label="Timeout (s)" error={errors.timeoutSeconds} hint="Kill after this long">
          {(p) => <Input {...p} name="timeoutSeconds" type="number" min={1} max={86400} defaultValue={300} inputMode="numeric" />}
        </Field>
        <Field label="Offline deadline (s)" error={errors.deadlineSeconds} hint="Wait for offline devices">
          {(p) => <Input {...p} name="deadlineSeconds" type="number" min={10} max={604800} defaultValue={3600} inputMode="numeric" />}
        </Field>
      </div>
      {confirm ? (
        <ConfirmRun confirm={confirm} onCancel={() => setDismissed(true)} />
      ) : (
        <div className="flex items-center justify-between gap-3 pt-1">
          <span className="text-xs text-zinc-500">{summary}</span>
          <Button type="submit" name="intent" value={intent} variant="primary" disabled={busy}>
            Run
          </Button>
        </div>
      )}
    </div>
  );
}
