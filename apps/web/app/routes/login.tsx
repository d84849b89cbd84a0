import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, useActionData, useNavigation, useSearchParams } from '@remix-run/react';
import { loginRequest } from '@opsconductor/contracts/api';
import { ApiContractError, ApiError, ApiUnreachableError, publicApi, safeRedirectTo } from '~/lib/api.server';
import { commitSession, getSessionToken } from '~/lib/session.server';
import { Alert, Button, Field, Input } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Sign in · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const redirectTo = safeRedirectTo(new URL(request.url).searchParams.get('redirectTo'));
  const token = await getSessionToken(request);
  if (token) {
    // Already signed in: go where the user wanted to go.
    const me = await publicApi(request, context, token)
      .get('/auth/me')
      .catch(() => null);
    if (me) throw redirect(redirectTo);
  }
  return null;
}

type ActionData = { formError?: string; fieldErrors?: { email?: string; password?: string } };

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  const redirectTo = safeRedirectTo(form.get('redirectTo'));
  const parsed = loginRequest.safeParse({ email: form.get('email') ?? '', password: form.get('password') ?? '' });
  if (!parsed.success) {
    const fieldErrors: ActionData['fieldErrors'] = {};
    for (const issue of parsed.error.issues) {
      if (issue.path[0] === 'email') fieldErrors.email ??= 'Enter a valid email address';
      if (issue.path[0] === 'password') fieldErrors.password ??= 'Enter your password';
    }
    return data<ActionData>({ fieldErrors }, { status: 400 });
  }
  try {
    const session = await publicApi(request, context).post('/auth/login', { body: parsed.data });
    return redirect(redirectTo, {
      headers: { 'Set-Cookie': await commitSession(request, session.token, session.expiresAt) },
    });
  } catch (error) {
    if (error instanceof ApiUnreachableError) {
      console.error(`[web] login: ${error.message}`);
      return data<ActionData>({ formError: 'The API is unreachable. Try again in a moment.' }, { status: 503 });
    }
    if (error instanceof ApiError) {
      if (error.status === 401 || error.status === 400 || error.status === 403) {
        return data<ActionData>({ formError: 'Invalid email or password.' }, { status: 401 });
      }
      if (error.status === 429) {
        return data<ActionData>({ formError: error.detail ?? 'Too many sign-in attempts. Wait a minute and try again.' }, { status: 429 });
      }
      return data<ActionData>({ formError: error.detail ?? error.title }, { status: error.status >= 500 ? 502 : error.status });
    }
    if (error instanceof ApiContractError) {
      console.error(`[web] login: ${error.message}`);
      return data<ActionData>({ formError: 'Unexpected response from the API.' }, { status: 502 });
    }
    throw error;
  }
}

export default function Login() {
  const actionData = useActionData<typeof action>();
  const [params] = useSearchParams();
  const navigation = useNavigation();
  const busy = navigation.state !== 'idle' && navigation.formAction === '/login';
  return (
    <div className="flex min-h-screen items-center justify-center px-4">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex flex-col items-center gap-3 text-center">
          <img src="/favicon.svg" alt="" className="size-9" />
          <div>
            <h1 className="text-lg font-semibold tracking-tight text-zinc-900">Sign in to OpsConductor</h1>
            <p className="text-[13px] text-zinc-500">Endpoint management console</p>
          </div>
        </div>
        <div className="rounded-lg border border-zinc-200 bg-white p-6 shadow-xs">
          <Form method="post" className="space-y-4" noValidate>
            <input type="hidden" name="redirectTo" value={params.get('redirectTo') ?? ''} />
            {actionData?.formError ? (
              <div data-testid="login-error">
                <Alert>{actionData.formError}</Alert>
              </div>
            ) : null}
            <Field label="Email" error={actionData?.fieldErrors?.email}>
              {(p) => <Input {...p} name="email" type="email" autoComplete="username" required autoFocus />}
            </Field>
            <Field label="Password" error={actionData?.fieldErrors?.password}>
              {(p) => <Input {...p} name="password" type="password" autoComplete="current-password" required />}
            </Field>
            <Button type="submit" variant="primary" className="w-full" disabled={busy}>
              {busy ? 'Signing in…' : 'Sign in'}
            </Button>
          </Form>
        </div>
      </div>
    </div>
  );
}
