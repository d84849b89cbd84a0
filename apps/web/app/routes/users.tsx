import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, useActionData, useFetcher, useLoaderData, useNavigation } from '@remix-run/react';
import { useEffect, useRef } from 'react';
import { z } from 'zod';
import { createUserRequest, role, uuid, type User } from '@opsconductor/contracts/api';
import { roles } from '@opsconductor/contracts/constants';
import { ApiError, requireApi } from '~/lib/api.server';
import { useOptionalUser } from '~/lib/user';
import { Alert, Badge, Button, Card, EmptyState, Field, Input, PageHeader, RelativeTime, Select, Table, Td, Th } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Users · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const { items } = await api.get('/users');
  return { users: items };
}

type ActionData = { intent: string; ok: boolean; message?: string; formError?: string; fieldErrors?: Record<string, string> };

const createForm = createUserRequest.extend({
  email: z.string().trim().toLowerCase().email('Enter a valid email address').max(320),
  name: z.string().trim().min(1, 'Enter a name').max(200),
  password: z.string().min(12, 'At least 12 characters').max(1024),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = String(form.get('intent') ?? '');
  try {
    if (intent === 'create') {
      const parsed = createForm.safeParse({
        email: form.get('email') ?? '',
        name: form.get('name') ?? '',
        password: form.get('password') ?? '',
        role: form.get('role') ?? 'viewer',
      });
      if (!parsed.success) {
        const fieldErrors: Record<string, string> = {};
        for (const issue of parsed.error.issues) fieldErrors[String(issue.path[0])] ??= issue.message;
        return data<ActionData>({ intent, ok: false, fieldErrors }, { status: 400 });
      }
      const user = await api.post('/users', { body: parsed.data });
      return data<ActionData>({ intent, ok: true, message: `${user.email} can now sign in as ${user.role}.` });
    }
    const id = uuid.safeParse(form.get('id'));
    if (!id.success) return data<ActionData>({ intent, ok: false, formError: 'Unknown user' }, { status: 400 });
    if (intent === 'role') {
      const newRole = role.safeParse(form.get('role'));
      if (!newRole.success) return data<ActionData>({ intent, ok: false, formError: 'Unknown role' }, { status: 400 });
      await api.patch('/users/{id}', { params: { path: { id: id.data } }, body: { role: newRole.data } });
      return data<ActionData>({ intent, ok: true });
    }
    if (intent === 'password') {
      // An admin sets another user's password (the API refuses one's own here: that needs the current one).
      const password = String(form.get('password') ?? '');
      if (!password) return data<ActionData>({ intent, ok: false, fieldErrors: { password: 'Enter a new password' } }, { status: 400 });
      const user = await api.patch('/users/{id}', { params: { path: { id: id.data } }, body: { password } });
      return data<ActionData>({ intent, ok: true, message: `New password set for ${user.email}; their sessions were ended.` });
    }
    if (intent === 'disable' || intent === 'enable') {
      await api.patch('/users/{id}', { params: { path: { id: id.data } }, body: { disabled: intent === 'disable' } });
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

function UserRow({ user, isSelf }: { user: User; isSelf: boolean }) {
  const fetcher = useFetcher<typeof action>();
  const busy = fetcher.state !== 'idle';
  const pendingRole = fetcher.formData?.get('intent') === 'role' ? String(fetcher.formData.get('role')) : null;
  const pendingDisabled =
    fetcher.formData?.get('intent') === 'disable' ? true : fetcher.formData?.get('intent') === 'enable' ? false : null;
  const disabled = pendingDisabled ?? user.disabled;
  return (
    <tr data-testid="user-row" className="hover:bg-zinc-50">
      <Td>
        <span className="font-medium text-zinc-900">{user.name}</span>
        {isSelf ? <span className="ml-1.5 text-xs text-zinc-400">(you)</span> : null}
      </Td>
      <Td className="text-zinc-600">{user.email}</Td>
      <Td>
        {isSelf ? (
          <span className="capitalize">{user.role}</span>
        ) : (
          <fetcher.Form method="post" className="flex items-center gap-1.5">
            <input type="hidden" name="id" value={user.id} />
            <input type="hidden" name="intent" value="role" />
            <Select
              name="role"
              aria-label={`Role for ${user.email}`}
              value={pendingRole ?? user.role}
              disabled={busy}
              onChange={(e) => fetcher.submit(e.currentTarget.form)}
              className="h-7 w-28 text-xs capitalize"
            >
              {roles.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </Select>
            <noscript>
              <Button type="submit" size="sm">
                Save
              </Button>
            </noscript>
          </fetcher.Form>
        )}
      </Td>
      <Td>
        {disabled ? (
          <Badge tone="gray" data-testid="user-status">
            Disabled
          </Badge>
        ) : (
          <Badge tone="green" data-testid="user-status">
            Active
          </Badge>
        )}
      </Td>
      <Td className="text-zinc-500">
        <RelativeTime iso={user.createdAt} />
      </Td>
      <Td className="text-right">
        {fetcher.data && !fetcher.data.ok && fetcher.data.formError ? (
          <span className="mr-2 text-xs text-red-700" role="alert">
            {fetcher.data.formError}
          </span>
        ) : null}
        {isSelf ? null : <ResetPassword user={user} />}
        {isSelf ? null : (
          <fetcher.Form method="post" className="inline">
            <input type="hidden" name="id" value={user.id} />
            <Button
              type="submit"
              name="intent"
              value={disabled ? 'enable' : 'disable'}
              size="sm"
              variant={disabled ? 'secondary' : 'danger'}
              disabled={busy}
              aria-label={`${disabled ? 'Enable' : 'Disable'} ${user.email}`}
            >
              {disabled ? 'Enable' : 'Disable'}
            </Button>
          </fetcher.Form>
        )}
      </Td>
    </tr>
  );
}

function ResetPassword({ user }: { user: User }) {
  const fetcher = useFetcher<typeof action>();
  const result = fetcher.data?.intent === 'password' ? fetcher.data : undefined;
  const inputRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (result?.ok && inputRef.current) inputRef.current.value = '';
  }, [result]);
  return (
    <details className="mr-2 inline-block text-left align-middle">
      <summary className="cursor-pointer text-xs text-zinc-600 hover:text-zinc-900">Reset password</summary>
      <fetcher.Form method="post" className="mt-1.5 flex items-center gap-1.5">
        <input type="hidden" name="id" value={user.id} />
        <Input
          ref={inputRef}
          name="password"
          type="password"
          autoComplete="new-password"
          aria-label={`New password for ${user.email}`}
          className="h-7! w-48 text-xs!"
        />
        <Button
          type="submit"
          name="intent"
          value="password"
          size="sm"
          disabled={fetcher.state !== 'idle'}
          aria-label={`Set the new password for ${user.email}`}
        >
          Set
        </Button>
      </fetcher.Form>
      {result?.ok ? (
        <p className="mt-1 text-xs text-emerald-700" role="status">
          {result.message}
        </p>
      ) : result?.fieldErrors?.password || result?.formError ? (
        <p className="mt-1 max-w-64 text-xs text-red-700" role="alert">
          {result.fieldErrors?.password ?? result.formError}
        </p>
      ) : null}
    </details>
  );
}

export default function Users() {
  const { users } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const me = useOptionalUser();
  const navigation = useNavigation();
  const creating = navigation.state === 'submitting' && navigation.formData?.get('intent') === 'create';
  const formRef = useRef<HTMLFormElement>(null);
  const created = result?.intent === 'create' && result.ok;

  useEffect(() => {
    if (created) formRef.current?.reset();
  }, [created, result]);

  return (
    <>
      <PageHeader title="Users" description="Who can sign in to the console, and what they may do." />
      <div className="grid items-start gap-4 xl:grid-cols-[340px_minmax(0,1fr)]">
        <Card title="Add user">
          <Form method="post" ref={formRef} className="space-y-3 p-4" noValidate>
            {result?.intent === 'create' && result.ok ? <Alert tone="success">{result.message}</Alert> : null}
            {result?.intent === 'create' && result.formError ? <Alert>{result.formError}</Alert> : null}
            <Field label="Name" error={result?.intent === 'create' ? result.fieldErrors?.name : undefined}>
              {(p) => <Input {...p} name="name" autoComplete="off" required />}
            </Field>
            <Field label="Email" error={result?.intent === 'create' ? result.fieldErrors?.email : undefined}>
              {(p) => <Input {...p} name="email" type="email" autoComplete="off" required />}
            </Field>
            <Field
              label="Password"
              error={result?.intent === 'create' ? result.fieldErrors?.password : undefined}
              hint="At least 12 characters, not a common or breached password; share it with the user securely."
            >
              {(p) => <Input {...p} name="password" type="password" autoComplete="new-password" required minLength={12} />}
            </Field>
            <Field label="Role" error={result?.intent === 'create' ? result.fieldErrors?.role : undefined}>
              {(p) => (
                <Select {...p} name="role" defaultValue="viewer" className="capitalize">
                  {roles.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </Select>
              )}
            </Field>
            <dl className="space-y-1 rounded-md bg-zinc-50 p-2.5 text-xs text-zinc-600">
              <div>
                <dt className="inline font-medium text-zinc-800">Admin</dt> — everything, including users, tokens and the audit log.
              </div>
              <div>
                <dt className="inline font-medium text-zinc-800">Operator</dt> — runs and cancels commands; reads devices and runs.
              </div>
              <div>
                <dt className="inline font-medium text-zinc-800">Viewer</dt> — read only.
              </div>
            </dl>
            <div className="flex justify-end">
              <Button type="submit" name="intent" value="create" variant="primary" disabled={creating}>
                Add user
              </Button>
            </div>
          </Form>
        </Card>

        <Card title={`Users (${users.length})`}>
          {users.length === 0 ? (
            <EmptyState title="No users" />
          ) : (
            <Table>
              <thead>
                <tr>
                  <Th>Name</Th>
                  <Th>Email</Th>
                  <Th>Role</Th>
                  <Th>Status</Th>
                  <Th>Created</Th>
                  <Th>
                    <span className="sr-only">Actions</span>
                  </Th>
                </tr>
              </thead>
              <tbody>
                {users.map((u) => (
                  <UserRow key={u.id} user={u} isSelf={u.id === me?.id} />
                ))}
              </tbody>
            </Table>
          )}
        </Card>
      </div>
    </>
  );
}
