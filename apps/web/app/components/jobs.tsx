/**
 * A job definition shown read-only (whether its runs need approval, parameters, ordered steps, chains), who saved a
 * version, and a version diff.
 */
import { Link } from '@remix-run/react';
import type { ReactNode } from 'react';
import type { Schema } from '~/lib/api.server';
import { formatSeconds } from '~/lib/format';
import { approvalRuleText } from '~/lib/approval';
import {
  DEFAULT_RETRY_BACKOFF_SECONDS,
  DEFAULT_TIMEOUT_SECONDS,
  conditionLabels,
  deviceFieldLabels,
  parameterTypeLabels,
  stepKindLabels,
  type JobDefinitionDraft,
} from '~/lib/job-editor';
import { Alert, Badge, Card, EmptyState, Table, Td, Th, cx } from './ui';

type Actor = Schema<'Actor'>;

/** Who did it: the user's email, a device's hostname, an API key's name, or what kind of actor it was. */
export function actorLabel(actor: Actor): string {
  if (actor.name) return actor.name;
  return actor.type === 'api_key' ? 'an API key' : actor.type;
}

const dash = <span className="text-zinc-300">—</span>;

function ParameterDetails({ p }: { p: NonNullable<JobDefinitionDraft['parameters']>[number] }) {
  switch (p.type) {
    case 'number': {
      const parts = [
        p.integer ? 'whole number' : null,
        p.min !== undefined ? `min ${p.min}` : null,
        p.max !== undefined ? `max ${p.max}` : null,
      ];
      const text = parts.filter(Boolean).join(', ');
      return text ? <>{text}</> : dash;
    }
    case 'enum':
      return (
        <span className="flex flex-wrap gap-1">
          {p.values.map((v) => (
            <code key={v} className="rounded bg-zinc-100 px-1 font-mono text-[11px] text-zinc-700">
              {v}
            </code>
          ))}
        </span>
      );
    case 'device':
      return <>from the device: {deviceFieldLabels[p.field]}</>;
    case 'secret':
      return <>given at run time, never stored</>;
    default:
      return dash;
  }
}

function defaultOf(p: NonNullable<JobDefinitionDraft['parameters']>[number]): ReactNode {
  if (p.type === 'secret' || p.type === 'device' || p.default === undefined) return dash;
  return <code className="font-mono text-xs">{typeof p.default === 'string' ? p.default : JSON.stringify(p.default)}</code>;
}

function StepBody({ step }: { step: JobDefinitionDraft['steps'][number] }) {
  const pre = (text: string) => (
    <pre className="mt-2 max-h-96 overflow-auto rounded-md bg-zinc-950 px-3 py-2 font-mono text-xs leading-5 whitespace-pre-wrap text-zinc-100">
      {text}
    </pre>
  );
  switch (step.kind) {
    case 'shell':
    case 'powershell':
    case 'cmd':
      return pre(step.command);
    case 'script':
      return (
        <>
          <p className="mt-1 text-xs text-zinc-500">
            Interpreter <code className="font-mono">{step.interpreter}</code>
          </p>
          {pre(step.body)}
        </>
      );
    case 'file_copy':
      return (
        <dl className="mt-2 grid grid-cols-[110px_minmax(0,1fr)] gap-x-2 gap-y-0.5 text-xs">
          <dt className="text-zinc-500">File SHA-256</dt>
          <dd className="truncate font-mono">{step.fileSha256}</dd>
          <dt className="text-zinc-500">To</dt>
          <dd className="font-mono">{step.path}</dd>
          <dt className="text-zinc-500">Mode</dt>
          <dd className="font-mono">{step.mode ?? '—'}</dd>
          <dt className="text-zinc-500">Owner</dt>
          <dd className="font-mono">{step.owner ?? '—'}</dd>
        </dl>
      );
    case 'reboot':
      return <p className="mt-1 text-xs text-zinc-500">Restarts the device and waits until its agent is back with a new boot ID.</p>;
    case 'wait':
      return <p className="mt-1 text-xs text-zinc-500">Waits {formatSeconds(step.seconds)}.</p>;
  }
}

/** The definition, readable: its approval rule, parameters table, ordered steps with their settings and text, chains. */
export function JobDefinitionView({ definition }: { definition: JobDefinitionDraft }) {
  const parameters = definition.parameters ?? [];
  const chains = definition.chains ?? {};
  const approval = approvalRuleText(definition.approval);
  return (
    <div className="space-y-4" data-testid="job-definition">
      {approval ? (
        <Alert tone="warning" title="Four-eyes approval">
          <span data-testid="job-approval-rule">{approval}</span>: a run waits until an operator other than the one who started it approves
          it; nothing runs before.
        </Alert>
      ) : null}
      <Card title={`Parameters (${parameters.length})`}>
        {parameters.length === 0 ? (
          <EmptyState title="No parameters" />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Type</Th>
                <Th>Label</Th>
                <Th>Required</Th>
                <Th>Default</Th>
                <Th>Details</Th>
              </tr>
            </thead>
            <tbody>
              {parameters.map((p) => (
                <tr key={p.name} data-testid="job-parameter-row">
                  <Td className="font-mono text-xs text-zinc-900">{p.name}</Td>
                  <Td>{parameterTypeLabels[p.type]}</Td>
                  <Td>
                    {p.label || dash}
                    {p.description ? <p className="text-xs text-zinc-500">{p.description}</p> : null}
                  </Td>
                  <Td>{p.type === 'device' ? dash : (p.required ?? p.type === 'secret') ? 'Yes' : 'No'}</Td>
                  <Td>{defaultOf(p)}</Td>
                  <Td className="text-xs text-zinc-600">
                    <ParameterDetails p={p} />
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>

      <Card title={`Steps (${definition.steps.length})`}>
        <ol className="divide-y divide-zinc-100">
          {definition.steps.map((step, i) => {
            const retries = step.retries?.count ?? 0;
            return (
              <li key={i} className="px-4 py-3" data-testid="job-step-view">
                <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
                  <span className="w-5 text-right text-xs font-semibold text-zinc-400 tabular-nums">{i + 1}</span>
                  <span className="font-medium text-zinc-900" data-testid="job-step-name">
                    {step.name}
                  </span>
                  <Badge tone="neutral">{stepKindLabels[step.kind]}</Badge>
                  <span className="text-xs text-zinc-500">{conditionLabels[step.condition ?? 'on_success']}</span>
                  <span className="text-xs text-zinc-500">timeout {formatSeconds(step.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS)}</span>
                  <span className="text-xs text-zinc-500">
                    {retries === 0
                      ? 'no retries'
                      : `${retries} ${retries === 1 ? 'retry' : 'retries'}, backoff from ${formatSeconds(step.retries?.backoffSeconds ?? DEFAULT_RETRY_BACKOFF_SECONDS)}`}
                  </span>
                  {step.continueOnError ? <Badge tone="amber">continues on error</Badge> : null}
                </div>
                <div className="pl-8">
                  <StepBody step={step} />
                </div>
              </li>
            );
          })}
        </ol>
      </Card>

      {chains.onSuccess || chains.onFailure ? (
        <Card title="Chains">
          <dl className="grid grid-cols-[120px_minmax(0,1fr)] gap-2 px-4 py-3 text-[13px]">
            {(['onSuccess', 'onFailure'] as const).map((k) =>
              chains[k] ? (
                <div key={k} className="contents">
                  <dt className="text-zinc-500">{k === 'onSuccess' ? 'On success' : 'On failure'}</dt>
                  <dd>
                    <Link to={`/jobs?${new URLSearchParams({ search: chains[k] })}`} className="font-medium text-zinc-900 underline">
                      {chains[k]}
                    </Link>
                  </dd>
                </div>
              ) : null,
            )}
          </dl>
        </Card>
      ) : null}
    </div>
  );
}

function Value({ value, tone }: { value: unknown; tone: 'before' | 'after' }) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return (
    <pre
      className={cx(
        'max-h-60 overflow-auto rounded px-2 py-1 font-mono text-xs whitespace-pre-wrap',
        tone === 'before' ? 'bg-red-50 text-red-900' : 'bg-emerald-50 text-emerald-900',
      )}
    >
      {text}
    </pre>
  );
}

const changeTone = { changed: 'amber', added: 'green', removed: 'red' } as const;

/** What changed between two versions, field by field. */
export function JobDiffView({ diff }: { diff: Schema<'JobDiff'> }) {
  if (diff.changes.length === 0) return <EmptyState title="No differences">The two versions are the same.</EmptyState>;
  return (
    <ul className="divide-y divide-zinc-100" data-testid="job-diff">
      {diff.changes.map((c) => (
        <li key={`${c.kind}:${c.path}`} className="px-4 py-2.5" data-testid="job-diff-change" data-kind={c.kind}>
          <div className="flex items-center gap-2">
            <Badge tone={changeTone[c.kind]}>{c.kind}</Badge>
            <code className="font-mono text-xs text-zinc-900" data-testid="job-diff-path">
              {c.path}
            </code>
          </div>
          <div className="mt-1.5 grid gap-2 md:grid-cols-2">
            {c.kind !== 'added' ? (
              <div>
                <p className="mb-0.5 text-[11px] font-medium text-zinc-500">Before (v{diff.from})</p>
                <Value value={c.before} tone="before" />
              </div>
            ) : null}
            {c.kind !== 'removed' ? (
              <div className={c.kind === 'added' ? 'md:col-start-2' : undefined}>
                <p className="mb-0.5 text-[11px] font-medium text-zinc-500">After (v{diff.to})</p>
                <Value value={c.after} tone="after" />
              </div>
            ) : null}
          </div>
        </li>
      ))}
    </ul>
  );
}
