/** Every signed-in user changes their own password here: the current one, the new one twice. */
import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, useActionData, useNavigation } from '@remix-run/react';
import { useEffect, useRef } from 'react';
import { ApiError, requireApi } from '~/lib/api.server';
import { Alert, Button, Card, Field, Input, PageHeader } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Change password · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requireApi(request, context); // signed in, or off to /login
  return null;
}

type ActionData = {
  ok: boolean;
  formError?: string;
  fieldErrors?: Partial<Record<'currentPassword' | 'newPassword' | 'confirmPassword', string>>;
};

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const form = await request.formData();
  const currentPassword = String(form.get('currentPassword') ?? '');
  const newPassword = String(form.get('newPassword') ?? '');
  const confirmPassword = String(form.get('confirmPassword') ?? '');
  const fieldErrors: ActionData['fieldErrors'] = {};
  if (!currentPassword) fieldErrors.currentPassword = 'Enter your current password';
  if (!newPassword) fieldErrors.newPassword = 'Enter a new password';
  else if (newPassword !== confirmPassword) fieldErrors.confirmPassword = 'The two new passwords differ';
  if (Object.keys(fieldErrors).length) return data<ActionData>({ ok: false, fieldErrors }, { status: 400 });
  try {
    await api.post('/auth/password', { body: { currentPassword, newPassword } });
    return data<ActionData>({ ok: true });
  } catch (error) {
    if (error instanceof ApiError && (error.status === 400 || error.status === 429)) {
      const f = error.fieldErrors();
      return data<ActionData>(
        {
          ok: false,
          formError: error.status === 429 ? (error.detail ?? 'Too many wrong attempts; wait and try again.') : undefined,
          fieldErrors: { currentPassword: f.currentPassword, newPassword: f.newPassword },
        },
        { status: error.status },
      );
    }
    throw error;
  }
}

export default function ChangePassword() {
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (result?.ok) formRef.current?.reset();
  }, [result]);
  return (
    <>
      <PageHeader title="Change password" description="Your other sessions are signed out; this one stays signed in." />
      <Card className="max-w-md">
        <Form method="post" ref={formRef} className="space-y-3 p-4" noValidate>
          {result?.ok ? (
            <div data-testid="password-changed">
              <Alert tone="success">Your password was changed.</Alert>
            </div>
          ) : null}
          {result?.formError ? <Alert>{result.formError}</Alert> : null}
          <Field label="Current password" error={result?.fieldErrors?.currentPassword}>
            {(p) => <Input {...p} name="currentPassword" type="password" autoComplete="current-password" required />}
          </Field>
          <Field
            label="New password"
            error={result?.fieldErrors?.newPassword}
            hint="At least 12 characters. Common and breached passwords are refused; a few unrelated words make a good one."
          >
            {(p) => <Input {...p} name="newPassword" type="password" autoComplete="new-password" required minLength={12} />}
          </Field>
          <Field label="Repeat the new password" error={result?.fieldErrors?.confirmPassword}>
            {(p) => <Input {...p} name="confirmPassword" type="password" autoComplete="new-password" required />}
          </Field>
          <div className="flex justify-end">
            <Button type="submit" variant="primary" disabled={navigation.state === 'submitting'}>
              Change password
            </Button>
          </div>
        </Form>
      </Card>
    </>
  );
}
