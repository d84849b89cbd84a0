/**
 * The parts of the run page that only a saved job's run has (ADR 20): the parameters it ran with (secrets masked),
 * where it came from (a re-run, a chain) and what became of its chain, a device's steps, and the re-run form.
 */
import { Form, Link, useNavigation } from '@remix-run/react';
import { useEffect, useId, useState } from 'react';
import type { JobRunSummary } from '@opsconductor/contracts/api';
import type { components } from '@opsconductor/contracts/openapi-types';
import { SECRET_MASK, secretField, valueText } from '~/lib/job-run';
import { formatDuration, pluralize } from '~/lib/format';
import { StepStatusBadge } from './status';
import { AbsoluteTime, Alert, Badge, Button, Card, Input, Table, Td, Th, cx } from './ui';

export type DeviceSteps = components['schemas']['JobRunDeviceSteps'];
type Step = DeviceSteps['steps'][number];

/** The run's parameter values; a secret's value is never known to the console, only its name. */
export function RunParameters({ run, labels }: { run: JobRunSummary; labels: Record<string, string> }) {
  const values = Object.entries(run.parameters ?? {});
  const secrets = run.secretParameters.filter((name) => !(name in (run.parameters ?? {})));
  if (values.length === 0 && secrets.length === 0) return null;
  const label = (name: string) => (labels[name] && labels[name] !== name ? labels[name] : null);
  return (
    <Card title="Parameters" className="mb-4">
      <dl className="divide-y divide-zinc-100 text-[13px]" data-testid="run-parameters">
        {values.map(([name, value]) => (
          <div
            key={name}
            className="grid grid-cols-[200px_minmax(0,1fr)] gap-2 px-4 py-1.5"
            data-testid="run-parameter-row"
            data-name={name}
          >
            <dt className="truncate text-zinc-500">
              <code className="font-mono text-xs text-zinc-700">{name}</code>
              {label(name) ? <span className="ml-1.5 text-xs">{label(name)}</span> : null}
            </dt>
            <dd className="font-mono text-xs break-all whitespace-pre-wrap text-zinc-900">{valueText(value)}</dd>
          </div>
        ))}
        {secrets.map((name) => (
          <div
            key={name}
            className="grid grid-cols-[200px_minmax(0,1fr)] gap-2 px-4 py-1.5"
            data-testid="run-parameter-row"
            data-name={name}
          >
            <dt className="truncate text-zinc-500">
              <code className="font-mono text-xs text-zinc-700">{name}</code>
              {label(name) ? <span className="ml-1.5 text-xs">{label(name)}</span> : null}
            </dt>
            <dd className="text-xs text-zinc-500">{SECRET_MASK}</dd>
          </div>
        ))}
      </dl>
    </Card>
  );
}

/** A re-run, a chained run, the chain's note, and the failure threshold once it stopped new devices. */
export function RunRelations({ run }: { run: JobRunSummary }) {
  if (!run.rerunOfId && !run.chainedFromId && !run.chainNote && !run.thresholdReachedAt) return null;
  return (
    <div className="mb-4 space-y-2" data-testid="run-relations">
      {run.thresholdReachedAt ? (
        <Alert tone="warning" title="The failure threshold was reached">
          <span data-testid="threshold-reached">
            At <AbsoluteTime iso={run.thresholdReachedAt} />: no new devices were started after that.
          </span>
        </Alert>
      ) : null}
      {run.rerunOfId || run.chainedFromId ? (
        <p className="text-[13px] text-zinc-700">
          {run.rerunOfId ? (
            <>
              Runs the devices that did not succeed in run{' '}
              <Link to={`/runs/${run.rerunOfId}`} className="font-mono font-medium text-zinc-900 underline" data-testid="rerun-of">
                {run.rerunOfId.slice(0, 8)}
              </Link>{' '}
              again.
            </>
          ) : null}
          {run.rerunOfId && run.chainedFromId ? ' ' : null}
          {run.chainedFromId ? (
            <>
              Started by the chain of run{' '}
              <Link to={`/runs/${run.chainedFromId}`} className="font-mono font-medium text-zinc-900 underline" data-testid="chained-from">
                {run.chainedFromId.slice(0, 8)}
              </Link>
              .
            </>
          ) : null}
        </p>
      ) : null}
      {run.chainNote ? (
        <Alert tone="info" title="Chain">
          <span data-testid="chain-note">{run.chainNote}</span>
        </Alert>
      ) : null}
    </div>
  );
}

const kindLabels: Record<string, string> = {
  shell: 'Shell',
  powershell: 'PowerShell',
  cmd: 'cmd',
  script: 'Script',
  file_copy: 'File copy',
  reboot: 'Reboot',
  wait: 'Wait',
};
const conditionLabels: Record<string, string> = { always: 'always', on_failure: 'on failure' };

function nextText(step: Step): string | null {
  if (!step.nextAt) return null;
  return step.status === 'pending' && step.attempts > 0 ? 'retry at' : 'until';
}

/** A device's steps: status, attempts, exit code, duration, error, the next retry; each can filter the output. */
export function DeviceStepsTable({
  steps,
  selected,
  onSelect,
}: {
  steps: DeviceSteps | undefined;
  selected: number | 'all';
  onSelect: (step: number | 'all') => void;
}) {
  if (!steps) return <p className="px-3 py-2 text-xs text-zinc-500">Loading the steps…</p>;
  return (
    <Table>
      <thead>
        <tr>
          <Th className="w-8">#</Th>
          <Th>Step</Th>
          <Th>Status</Th>
          <Th>Attempts</Th>
          <Th>Exit code</Th>
          <Th>Duration</Th>
          <Th>Started</Th>
          <Th className="text-right">Output</Th>
        </tr>
      </thead>
      <tbody>
        {steps.steps.map((s) => (
          <tr
            key={s.index}
            data-testid="step-row"
            data-index={s.index}
            data-status={s.status}
            className={cx(selected === s.index && 'bg-zinc-50', s.status === 'not_reached' && 'text-zinc-400')}
          >
            <Td className="text-xs text-zinc-400 tabular-nums">{s.index + 1}</Td>
            <Td>
              <span className="flex flex-wrap items-center gap-x-2 gap-y-0.5">
                <span className="font-medium text-zinc-900" data-testid="step-name">
                  {s.name}
                </span>
                <span className="text-[11px] text-zinc-500">{kindLabels[s.kind] ?? s.kind}</span>
                {conditionLabels[s.condition] ? (
                  <span className="text-[11px] text-zinc-500">runs {conditionLabels[s.condition]}</span>
                ) : null}
                {s.continueOnError ? <Badge tone="amber">continues on error</Badge> : null}
              </span>
              {s.errorMessage ? (
                <p className="mt-0.5 text-xs text-red-700" data-testid="step-error">
                  {s.errorMessage}
                </p>
              ) : null}
              {nextText(s) ? (
                <p className="mt-0.5 text-xs text-zinc-500" data-testid="step-next">
                  {nextText(s)} <AbsoluteTime iso={s.nextAt} />
                </p>
              ) : null}
            </Td>
            <Td>
              <StepStatusBadge status={s.status} />
            </Td>
            <Td className="text-xs tabular-nums">
              <span data-testid="step-attempts">{s.attempts || '—'}</span>
            </Td>
            <Td className="font-mono text-xs">
              <span data-testid="step-exit-code" className={s.exitCode ? 'text-red-700' : undefined}>
                {s.exitCode ?? '—'}
              </span>
            </Td>
            <Td className="text-xs text-zinc-600 tabular-nums">
              {s.status === 'running' ? <span className="text-blue-700">running</span> : formatDuration(s.durationMs)}
            </Td>
            <Td className="text-xs text-zinc-500">{s.startedAt ? <AbsoluteTime iso={s.startedAt} /> : '—'}</Td>
            <Td className="text-right">
              {s.status !== 'not_reached' && s.status !== 'skipped' ? (
                <Button
                  size="sm"
                  variant="ghost"
                  aria-pressed={selected === s.index}
                  aria-label={`Output of step ${s.index + 1}`}
                  onClick={() => onSelect(selected === s.index ? 'all' : s.index)}
                >
                  {selected === s.index ? 'Shown' : 'Show'}
                </Button>
              ) : null}
            </Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

/**
 * "Re-run failed devices": a new run of the same version and values on the devices that did not succeed. The run's
 * secrets are not kept past it, so their fields ask for them again (and are empty after every answer).
 */
export function RerunForm({
  run,
  labels,
  devices,
  result,
}: {
  run: JobRunSummary;
  labels: Record<string, string>;
  /** Devices that did not succeed. */
  devices: number;
  /** The last attempt's failure: a message, and messages by secret name. */
  result: { error: string; secretErrors: Record<string, string> } | undefined;
}) {
  const navigation = useNavigation();
  const busy = navigation.state !== 'idle' && navigation.formData?.get('intent') === 'rerun';
  const id = useId();
  const [answers, setAnswers] = useState(0);
  useEffect(() => {
    if (result) setAnswers((n) => n + 1);
  }, [result]);
  return (
    <Card title="Re-run failed devices" className="mb-4">
      <Form method="post" className="space-y-3 p-4" noValidate data-testid="rerun-form">
        <p className="text-[13px] text-zinc-700">
          Runs version {run.job?.version} again with the same values and limits on the {pluralize(devices, 'device')} that did not succeed.
        </p>
        {result ? <Alert title="The run was not started">{result.error}</Alert> : null}
        {run.secretParameters.length ? (
          <div key={answers} className="grid gap-3 sm:grid-cols-2">
            {run.secretParameters.map((name) => {
              const error = result?.secretErrors[name];
              return (
                <div key={name} className="space-y-1">
                  <label htmlFor={`${id}-${name}`} className="block text-xs font-medium text-zinc-700">
                    {labels[name] || name} <code className="font-mono text-[11px] text-zinc-400">{name}</code>
                  </label>
                  <Input
                    id={`${id}-${name}`}
                    type="password"
                    name={secretField(name)}
                    autoComplete="off"
                    aria-invalid={error ? true : undefined}
                    aria-describedby={`${id}-${name}-hint`}
                  />
                  <p id={`${id}-${name}-hint`} className={cx('text-xs', error ? 'text-red-600' : 'text-zinc-500')}>
                    {error ?? 'Secrets are not kept after a run: give it again.'}
                  </p>
                </div>
              );
            })}
          </div>
        ) : null}
        <div className="flex justify-end">
          <Button type="submit" name="intent" value="rerun" variant="primary" disabled={busy}>
            {busy ? 'Starting…' : 'Re-run failed devices'}
          </Button>
        </div>
      </Form>
    </Card>
  );
}
