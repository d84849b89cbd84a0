import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, useActionData, useFetcher, useLoaderData, useNavigation } from '@remix-run/react';
import { useEffect, useRef, useState } from 'react';
import { z } from 'zod';
import { uuid } from '@opsconductor/contracts/api';
import { createCustomFieldRequest } from '@opsconductor/contracts/inventory-api';
import { ApiError, requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { Alert, Badge, Button, Card, EmptyState, Field, Input, PageHeader, RelativeTime, Select, Table, Td, Th } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Custom fields · OpsConductor' }];

// Literal (not the contract's enum) so zod stays out of the browser bundle.
const types = [
  { value: 'text', label: 'Text' },
  { value: 'number', label: 'Number' },
  { value: 'boolean', label: 'Yes / no' },
  { value: 'date', label: 'Date' },
  { value: 'enum', label: 'One of a list' },
] as const;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'admin');
  const { items } = await api.get('/custom-fields');
  return { fields: [...items].sort((a, b) => a.key.localeCompare(b.key)) };
}

type ActionData = { intent: string; ok: boolean; message?: string; formError?: string; fieldErrors?: Record<string, string> };

const createForm = createCustomFieldRequest.extend({
  key: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'Lowercase letters, digits and _, starting with a letter (at most 63)'),
  label: z.string().trim().min(1, 'Enter a label').max(200),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = String(form.get('intent') ?? '');
  try {
    if (intent === 'create') {
      const type = String(form.get('type') ?? 'text');
      const enumValues =
        type === 'enum'
          ? String(form.get('enumValues') ?? '')
              .split(/[,\n]/)
              .map((s) => s.trim())
              .filter(Boolean)
          : [];
      const parsed = createForm.safeParse({ key: String(form.get('key') ?? '').trim(), label: form.get('label') ?? '', type, enumValues });
      const fieldErrors: Record<string, string> = {};
      if (!parsed.success) for (const i of parsed.error.issues) fieldErrors[String(i.path[0])] ??= i.message;
      if (type === 'enum' && enumValues.length === 0) fieldErrors.enumValues = 'List at least one value';
      if (!parsed.success || Object.keys(fieldErrors).length) return data<ActionData>({ intent, ok: false, fieldErrors }, { status: 400 });
      const created = await api.post('/custom-fields', { body: parsed.data });
      return data<ActionData>({ intent, ok: true, message: `Created ${created.label} (${created.key}).` });
    }
    if (intent === 'delete') {
      const id = uuid.safeParse(form.get('id'));
      if (!id.success) return data<ActionData>({ intent, ok: false, formError: 'Unknown field' }, { status: 400 });
      await api.delete('/custom-fields/{id}', { params: { path: { id: id.data } } });
      return data<ActionData>({ intent, ok: true });
    }
    return data<ActionData>({ intent, ok: false, formError: 'Unknown action' }, { status: 400 });
  } catch (error) {
    if (error instanceof ApiError) {
      return data<ActionData>(
        { intent, ok: false, formError: error.detail ?? error.title, fieldErrors: error.fieldErrors() },
        { status: error.status },
      );
    }
    throw error;
  }
}

function DeleteField({ id, label }: { id: string; label: string }) {
  const fetcher = useFetcher<typeof action>();
  const [confirming, setConfirming] = useState(false);
  const busy = fetcher.state !== 'idle';
  const error = fetcher.data && !fetcher.data.ok ? fetcher.data.formError : null;
  return (
    <fetcher.Form method="post" className="flex items-center justify-end gap-2">
      <input type="hidden" name="id" value={id} />
      {error ? (
        <span className="text-xs text-red-700" role="alert">
          {error}
        </span>
      ) : null}
      {confirming ? (
        <>
          <span className="text-xs text-zinc-600">Delete values on every device?</span>
          <Button
            type="submit"
            name="intent"
            value="delete"
            size="sm"
            variant="danger"
            disabled={busy}
            aria-label={`Confirm delete ${label}`}
          >
            Delete
          </Button>
          <Button size="sm" variant="ghost" onClick={() => setConfirming(false)}>
            Cancel
          </Button>
        </>
      ) : (
        <Button size="sm" variant="ghost" onClick={() => setConfirming(true)} aria-label={`Delete ${label}`}>
          Delete
        </Button>
      )}
    </fetcher.Form>
  );
}

export default function CustomFields() {
  const { fields } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting' && navigation.formData?.get('intent') === 'create';
  const [type, setType] = useState('text');
  const formRef = useRef<HTMLFormElement>(null);
  const created = result?.intent === 'create' && result.ok;
  useEffect(() => {
    if (created) {
      formRef.current?.reset();
      setType('text');
    }
  }, [created, result]);
  const errors = result?.intent === 'create' ? (result.fieldErrors ?? {}) : {};

  return (
    <>
      <PageHeader
        title="Custom fields"
        description="Your own per-device attributes (owner, cost centre, location…): set them on devices, filter the device list and build dynamic groups with them."
      />
      <div className="grid items-start gap-4 xl:grid-cols-[minmax(0,1fr)_360px]">
        <Card>
          {fields.length === 0 ? (
            <EmptyState title="No custom fields yet">Create one on the right.</EmptyState>
          ) : (
            <Table>
              <thead>
                <tr>
                  <Th>Label</Th>
                  <Th>Key</Th>
                  <Th>Type</Th>
                  <Th>Values</Th>
                  <Th>Created</Th>
                  <Th className="w-0" />
                </tr>
              </thead>
              <tbody>
                {fields.map((f) => (
                  <tr key={f.id} data-testid="custom-field-row" className="hover:bg-zinc-50">
                    <Td className="font-medium text-zinc-900">{f.label}</Td>
                    <Td className="font-mono text-xs">{f.key}</Td>
                    <Td>
                      <Badge tone="neutral">{types.find((t) => t.value === f.type)?.label ?? f.type}</Badge>
                    </Td>
                    <Td className="max-w-xs text-xs text-zinc-600">
                      {f.type === 'enum' ? f.enumValues.join(', ') : <span className="text-zinc-300">—</span>}
                    </Td>
                    <Td className="text-zinc-500">
                      <RelativeTime iso={f.createdAt} />
                    </Td>
                    <Td>
                      <DeleteField id={f.id} label={f.label} />
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </Card>

        <Card title="New custom field">
          <Form method="post" ref={formRef} className="space-y-3 p-4" noValidate>
            {result?.intent === 'create' && result.formError ? <Alert title="The field was not created">{result.formError}</Alert> : null}
            {created && result.message ? <Alert tone="success">{result.message}</Alert> : null}
            <Field label="Label" error={errors.label}>
              {(p) => <Input {...p} name="label" maxLength={200} placeholder="Cost centre" autoComplete="off" />}
            </Field>
            <Field
              label="Key"
              error={errors.key}
              hint={
                <>
                  Used in rules as <code className="font-mono">customFields.&lt;key&gt;</code>
                </>
              }
            >
              {(p) => (
                <Input
                  {...p}
                  name="key"
                  maxLength={63}
                  placeholder="cost_centre"
                  autoComplete="off"
                  spellCheck={false}
                  className="font-mono"
                />
              )}
            </Field>
            <Field label="Type" error={errors.type}>
              {(p) => (
                <Select {...p} name="type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
                  {types.map((t) => (
                    <option key={t.value} value={t.value}>
                      {t.label}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            {type === 'enum' ? (
              <Field label="Allowed values" error={errors.enumValues} hint="Separate with commas">
                {(p) => <Input {...p} name="enumValues" placeholder="production, staging, lab" autoComplete="off" />}
              </Field>
            ) : null}
            <div className="flex justify-end">
              <Button type="submit" name="intent" value="create" variant="primary" disabled={busy}>
                Create field
              </Button>
            </div>
          </Form>
        </Card>
      </div>
    </>
  );
}
