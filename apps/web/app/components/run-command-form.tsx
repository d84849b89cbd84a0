import { useNavigation } from '@remix-run/react';
import type { ReactNode } from 'react';
import type { CreateJobRunRequest } from '@opsconductor/contracts/api';
import type { RunCommandActionData } from '~/lib/run-command.server';
import { Alert, Button, Field, Input, Select, Textarea } from './ui';

const shells = [
  { value: 'default', label: 'Agent default (sh / cmd)' },
  { value: 'sh', label: 'sh' },
  { value: 'bash', label: 'bash' },
  { value: 'powershell', label: 'PowerShell' },
  { value: 'cmd', label: 'cmd' },
] as const satisfies ReadonlyArray<{ value: CreateJobRunRequest['shell']; label: string }>;

/**
 * The command fields and the "Run" button, without the <form>: the device list puts its row
 * checkboxes (name="deviceIds") in the same form.
 */
export function RunCommandFields({
  result,
  summary,
  intent = 'run',
}: {
  result: RunCommandActionData | undefined;
  summary?: ReactNode;
  intent?: string;
}) {
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting' && navigation.formData?.get('intent') === intent;
  const errors = result?.fieldErrors ?? {};
  return (
    <div className="space-y-3">
      {result?.formError ? <Alert title="The run was not created">{result.formError}</Alert> : null}
      {errors.deviceIds ? <Alert>{errors.deviceIds}</Alert> : null}
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
      <div className="flex items-center justify-between gap-3 pt-1">
        <span className="text-xs text-zinc-500">{summary}</span>
        <Button type="submit" name="intent" value={intent} variant="primary" disabled={busy}>
          Run
        </Button>
      </div>
    </div>
  );
}
