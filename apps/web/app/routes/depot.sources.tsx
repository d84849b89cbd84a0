/**
 * /depot/sources — where agents download artifacts from: the built-in depot, HTTP(S) mirrors and SMB shares, by
 * priority, with the subnets they serve first and their last health check. Operators check one now; admins add,
 * change and remove mirrors and shares (the API's role checks; the controls are hidden from everyone else).
 */
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react';
import { useState } from 'react';
import { uuid } from '@opsconductor/contracts/api';
import { requireApi } from '~/lib/api.server';
import {
  createSourceBody,
  readSourceForm,
  sourceFormValues,
  sourceKindLabels,
  updateSourceBody,
  type DepotSource,
  type SourceFormValues,
} from '~/lib/depot-sources';
import { formatBytes } from '~/lib/format';
import { invalid, refusal } from '~/lib/software.server';
import { canRunCommands, isAdmin, useOptionalUser } from '~/lib/user';
import { Alert, Badge, Button, Card, Field, Input, PageHeader, RelativeTime, Table, Td, Th, buttonClass } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Depot sources · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const { items } = await api.get('/depot/sources');
  return { items: [...items].sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name)) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = String(form.get('intent') ?? '');
  const id = uuid.safeParse(form.get('id'));
  try {
    if (intent === 'check' && id.success) {
      const source = await api.post('/depot/sources/{id}/check', { params: { path: { id: id.data } } });
      return redirect(`/depot/sources?${new URLSearchParams({ checked: source.name })}`);
    }
    if (intent === 'delete' && id.success) {
      const { items } = await api.get('/depot/sources');
      const name = items.find((s) => s.id === id.data)?.name ?? 'the source';
      await api.delete('/depot/sources/{id}', { params: { path: { id: id.data } } });
      return redirect(`/depot/sources?${new URLSearchParams({ deleted: name })}`);
    }
  } catch (error) {
    return refusal(error, intent);
  }
  const values = readSourceForm((n) => form.get(n));
  if (intent === 'create') {
    const body = createSourceBody(values);
    if (!body.ok) return invalid<SourceFormValues>(intent, body.issues, values);
    try {
      const created = await api.post('/depot/sources', { body: body.body });
      return redirect(`/depot/sources?${new URLSearchParams({ saved: created.name })}`);
    } catch (error) {
      return refusal(error, intent, values);
    }
  }
  if (intent === 'update' && id.success) {
    const { items } = await api.get('/depot/sources');
    const current = items.find((s) => s.id === id.data);
    if (!current) return refusal(new Error('source not found'), intent);
    const body = updateSourceBody(current, values);
    if (!body.ok) return invalid<SourceFormValues>(intent, body.issues, { ...values, kind: current.kind });
    try {
      const saved = await api.patch('/depot/sources/{id}', { params: { path: { id: id.data } }, body: body.body });
      return redirect(`/depot/sources?${new URLSearchParams({ saved: saved.name })}`);
    } catch (error) {
      return refusal(error, intent, { ...values, kind: current.kind });
    }
  }
  return refusal(new Error(`unknown intent ${intent}`), intent);
}

const emptySource: SourceFormValues = {
  kind: 'http',
  name: '',
  priority: '100',
  enabled: true,
  subnets: '',
  baseUrl: '',
  uncPath: '',
  mountPath: '',
};

export default function DepotSources() {
  const { items } = useLoaderData<typeof loader>();
  const answer = useActionData<typeof action>();
  const [sp] = useSearchParams();
  const navigation = useNavigation();
  const busy = navigation.state !== 'idle';
  const user = useOptionalUser();
  const admin = isAdmin(user?.role);
  const canCheck = canRunCommands(user?.role);
  const editId = sp.get('edit');
  const editing = items.find((s) => s.id === editId) ?? null;
  const adding = sp.has('new');
  const formAnswer = answer && (answer.intent === 'create' || answer.intent === 'update') ? answer : null;
  const notice = sp.get('checked')
    ? `Checked ${sp.get('checked')}.`
    : sp.get('saved')
      ? `Saved ${sp.get('saved')}.`
      : sp.get('deleted')
        ? `Removed ${sp.get('deleted')}.`
        : null;
  return (
    <>
      <PageHeader
        title="Depot sources"
        description="Agents try the sources for their subnet first, then the rest, lower priority first; they accept only bytes whose SHA-256 the signed manifest names."
        actions={
          admin && !adding && !editing ? (
            <Link to="?new" className={buttonClass('primary')}>
              Add source
            </Link>
          ) : null
        }
      />
      <div className="space-y-4">
        {notice ? <Alert tone="success">{notice}</Alert> : null}
        {answer?.formError && !formAnswer ? (
          <Alert title={answer.intent === 'check' ? 'The check failed' : 'The source was not removed'}>
            <span data-testid="source-refusal">{answer.formError}</span>
          </Alert>
        ) : null}
        {admin && (adding || editing || formAnswer) ? (
          <SourceForm
            key={`${editing?.id ?? 'new'}:${formAnswer?.answer ?? ''}`}
            source={editing}
            initial={formAnswer?.values ?? (editing ? sourceFormValues(editing) : emptySource)}
            issues={formAnswer?.issues}
            formError={formAnswer?.formError}
          />
        ) : null}
        <Card title="Sources">
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Kind</Th>
                <Th className="text-right">Priority</Th>
                <Th>Subnets</Th>
                <Th>Where</Th>
                <Th>Health</Th>
                <Th className="text-right">Artifacts</Th>
                {canCheck ? <Th /> : null}
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id} data-testid="source-row" data-source-id={s.id} className="align-top hover:bg-zinc-50">
                  <Td className="font-medium text-zinc-900">
                    {s.name}
                    {s.enabled ? null : (
                      <span className="ml-2">
                        <Badge tone="gray">Disabled</Badge>
                      </span>
                    )}
                  </Td>
                  <Td className="text-zinc-600">{sourceKindLabels[s.kind]}</Td>
                  <Td className="text-right tabular-nums">{s.priority}</Td>
                  <Td className="font-mono text-xs text-zinc-600">
                    {s.subnets.length ? s.subnets.join(', ') : <span className="font-sans text-zinc-400">All devices</span>}
                  </Td>
                  <Td className="max-w-xs font-mono text-xs break-all text-zinc-600">
                    <SourceWhere source={s} />
                  </Td>
                  <Td>
                    <Health source={s} />
                  </Td>
                  <Td className="text-right tabular-nums">{s.artifacts}</Td>
                  {canCheck ? (
                    <Td className="text-right whitespace-nowrap">
                      <Form method="post" className="inline-flex gap-1">
                        <input type="hidden" name="id" value={s.id} />
                        <Button type="submit" size="sm" name="intent" value="check" disabled={busy}>
                          Check now
                        </Button>
                        {admin ? (
                          <>
                            <Link to={`?edit=${s.id}`} className={buttonClass('ghost', 'sm')}>
                              Edit
                            </Link>
                            {s.kind === 'depot' ? null : (
                              <Button
                                type="submit"
                                size="sm"
                                variant="ghost"
                                name="intent"
                                value="delete"
                                disabled={busy}
                                onClick={(e) => {
                                  if (!window.confirm(`Remove ${s.name}? Agents stop downloading from it.`)) e.preventDefault();
                                }}
                              >
                                Remove
                              </Button>
                            )}
                          </>
                        ) : null}
                      </Form>
                    </Td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </Table>
        </Card>
      </div>
    </>
  );
}

function SourceWhere({ source }: { source: DepotSource }) {
  const s = source.settings as { baseUrl?: string; uncPath?: string; mountPath?: string };
  if (source.kind === 'depot') return <span className="font-sans text-zinc-500">The server (DEPOT_DIR)</span>;
  return <>{[s.baseUrl, s.uncPath, s.mountPath].filter(Boolean).join(' · ')}</>;
}

function Health({ source }: { source: DepotSource }) {
  const h = source.health;
  if (!h.checkedAt)
    return (
      <span className="text-xs text-zinc-400" data-testid="source-health">
        Not checked yet
      </span>
    );
  return (
    <div
      className="space-y-0.5 text-xs"
      data-testid="source-health"
      data-reachable={h.reachable === null ? 'unknown' : String(h.reachable)}
    >
      {h.reachable === null ? (
        <Badge tone="amber">Unknown</Badge>
      ) : h.reachable ? (
        <Badge tone="green">Reachable</Badge>
      ) : (
        <Badge tone="red">Unreachable</Badge>
      )}
      {h.freeBytes !== null ? (
        <p className="text-zinc-600" data-testid="source-free">
          {formatBytes(h.freeBytes)} free
        </p>
      ) : null}
      {h.error ? <p className="max-w-xs text-red-700">{h.error}</p> : null}
      <p className="text-zinc-400">
        checked <RelativeTime iso={h.checkedAt} />
      </p>
    </div>
  );
}

function SourceForm({
  source,
  initial,
  issues = {},
  formError,
}: {
  source: DepotSource | null;
  initial: SourceFormValues;
  issues?: Record<string, string>;
  formError?: string | undefined;
}) {
  const [kind, setKind] = useState(source?.kind ?? initial.kind);
  const navigation = useNavigation();
  return (
    <Card title={source ? `Edit ${source.name}` : 'Add a source'}>
      <Form method="post" className="space-y-4 p-4" data-testid="source-form" noValidate>
        <input type="hidden" name="intent" value={source ? 'update' : 'create'} />
        {source ? <input type="hidden" name="id" value={source.id} /> : null}
        {formError ? <Alert title="The source was not saved">{formError}</Alert> : null}
        {source ? null : (
          <fieldset>
            <legend className="mb-1 text-xs font-medium text-zinc-700">Kind</legend>
            <div className="flex gap-4 text-[13px]">
              {(['http', 'share'] as const).map((k) => (
                <label key={k} className="flex items-center gap-1.5">
                  <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} />
                  {sourceKindLabels[k]}
                </label>
              ))}
            </div>
          </fieldset>
        )}
        <div className="grid gap-4 sm:grid-cols-3">
          <Field label="Name" error={issues.name}>
            {(p) => <Input {...p} name="name" defaultValue={initial.name} />}
          </Field>
          <Field label="Priority" error={issues.priority} hint="Lower first (0–10000)">
            {(p) => <Input {...p} name="priority" inputMode="numeric" defaultValue={initial.priority} />}
          </Field>
          <Field label="Subnets" error={issues.subnets} hint="CIDRs served first; empty: every device">
            {(p) => <Input {...p} name="subnets" defaultValue={initial.subnets} placeholder="10.1.0.0/16, 10.2.0.0/16" />}
          </Field>
          {kind === 'http' ? (
            <Field label="Base URL" error={issues.baseUrl} hint="Artifacts at <base>/<aa>/<sha256>" className="sm:col-span-3">
              {(p) => <Input {...p} name="baseUrl" defaultValue={initial.baseUrl} placeholder="https://mirror.example.com/depot" />}
            </Field>
          ) : null}
          {kind === 'share' ? (
            <>
              <Field label="UNC path" error={issues.uncPath} hint="Windows agents read it" className="sm:col-span-2">
                {(p) => <Input {...p} name="uncPath" defaultValue={initial.uncPath} placeholder="\\fileserver\depot" />}
              </Field>
              <Field label="Mount path" error={issues.mountPath} hint="Where Linux agents (and the server) mount it">
                {(p) => <Input {...p} name="mountPath" defaultValue={initial.mountPath} placeholder="/mnt/depot" />}
              </Field>
            </>
          ) : null}
        </div>
        <label className="flex items-center gap-2 text-[13px]">
          <input type="checkbox" name="enabled" defaultChecked={initial.enabled} disabled={source?.kind === 'depot'} />
          Agents use it
          {source?.kind === 'depot' ? <input type="hidden" name="enabled" value="on" /> : null}
        </label>
        <div className="flex gap-2">
          <Button type="submit" variant="primary" disabled={navigation.state !== 'idle'}>
            {source ? 'Save source' : 'Add source'}
          </Button>
          <Link to="/depot/sources" className={buttonClass('secondary')}>
            Cancel
          </Link>
        </div>
      </Form>
    </Card>
  );
}
