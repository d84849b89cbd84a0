/**
 * The console's client of the admin API (`/api/v1`). Its types are the API's own: the OpenAPI document
 * the API serves is turned into TypeScript (@opsconductor/contracts/openapi-types, generated with
 * `npm run generate:openapi`; a test fails when it no longer matches the running API), and openapi-fetch
 * makes calls typed by path and method: `api.get('/devices/{id}', { params: { path: { id } } })` resolves
 * to the device, `api.post('/job-runs', { body })` takes exactly the body the API documents.
 *
 * `createApiClient` takes all of its configuration as arguments. `requireApi` binds it to an incoming
 * request: session token from the cookie, the browser's IP and User-Agent for the audit log, and
 * API failures turned into what a route should do (redirect to /login, a 403/404/503 error page).
 */
import { data, redirect, type AppLoadContext } from '@remix-run/node';
import createClient, { type FetchResponse, type MaybeOptionalInit } from 'openapi-fetch';
import type { HttpMethod, MediaType, PathsWithMethod, RequiredKeysOf } from 'openapi-typescript-helpers';
import { z } from 'zod';
import type { components, paths } from '@opsconductor/contracts/openapi-types';
import { isProblemCode, type ProblemCode } from '@opsconductor/contracts/problem-codes';
import { env } from './env.server';
import { destroySession, getSessionToken } from './session.server';

// ---- the API's types ------------------------------------------------------------------------

/** The admin API's operations by path relative to /api/v1 (`/devices/{id}`), as the API documents them. */
export type AdminPaths = { [P in keyof paths as P extends `/api/v1${infer Rest}` ? Rest : never]: paths[P] };
/** A schema of the API's document by its component name: `Schema<'DeviceDetail'>`. */
export type Schema<Name extends keyof components['schemas']> = components['schemas'][Name];
/** The query parameters of a GET: `Query<'/devices'>`. */
export type Query<P extends PathsWithMethod<AdminPaths, 'get'>> = NonNullable<NonNullable<AdminPaths[P]['get']>['parameters']['query']>;

type Init<P extends keyof AdminPaths, M extends HttpMethod> = MaybeOptionalInit<AdminPaths[P], M>;
type Args<I> = RequiredKeysOf<I> extends never ? [init?: I] : [init: I];
type Success<P extends keyof AdminPaths, M extends HttpMethod, I> = Exclude<
  FetchResponse<NonNullable<AdminPaths[P][M]>, I, MediaType>['data'],
  undefined
>;
/** A call of one method: it resolves to the response's data (nothing for a 204) and throws on every failure. */
type Call<M extends HttpMethod> = <P extends PathsWithMethod<AdminPaths, M>, I extends Init<P, M>>(
  path: P,
  ...init: Args<I>
) => Promise<[Success<P, M, I>] extends [never] ? void : Success<P, M, I>>;

// ---- errors -----------------------------------------------------------------------------------

export type FieldError = { path: string; message: string };

/** What an error body may hold: problem+json from the API, or anything else from a proxy in between. */
const problemDetails = z.object({
  title: z.string().optional(),
  code: z.string().optional(),
  detail: z.string().optional(),
  errors: z
    .array(
      z.object({
        path: z.union([z.string(), z.array(z.union([z.string(), z.number()]))]),
        message: z.string(),
      }),
    )
    .optional(),
});

/** The API answered with an error (RFC 9457 problem+json, or at least an HTTP error status). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    /** The problem's code, to branch on; `http_<status>` when the answer carried none this console knows. */
    readonly code: ProblemCode | `http_${number}`,
    readonly title: string,
    readonly detail: string | undefined,
    readonly errors: FieldError[],
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }

  /** First message per top-level field (`command`, `deviceIds`, …), for showing next to inputs. */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.errors) {
      const field = e.path.replace(/^(body|query|params)[./]/, '').split(/[./[]/)[0] || '_form';
      out[field] ??= e.message;
    }
    return out;
  }
}

/** The API could not be reached (connection refused, DNS, timeout). */
export class ApiUnreachableError extends Error {
  override readonly name = 'ApiUnreachableError';
}

/** The API answered 2xx with a body that is not what it documents (not JSON at all). */
export class ApiContractError extends Error {
  override readonly name = 'ApiContractError';
}

function problemFrom(response: Response, body: unknown): ApiError {
  const parsed = problemDetails.safeParse(body);
  const problem = parsed.success ? parsed.data : {};
  const errors = (problem.errors ?? []).map((e) => ({ path: Array.isArray(e.path) ? e.path.join('.') : e.path, message: e.message }));
  return new ApiError(
    response.status,
    isProblemCode(problem.code) ? problem.code : `http_${response.status}`,
    problem.title ?? (response.statusText || `HTTP ${response.status}`),
    problem.detail,
    errors,
  );
}

// ---- client -----------------------------------------------------------------------------------

export type ApiClientOptions = {
  baseUrl: string;
  token?: string | null;
  /** The browser's IP, sent as X-Forwarded-For (the API writes it into the audit log). */
  forwardedFor?: string | null;
  userAgent?: string | null;
  /** Aborts API calls when the browser's request goes away. */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Called with every failure before it is thrown; may throw something else instead (a Response). */
  onError?: (error: ApiError | ApiUnreachableError | ApiContractError) => Promise<void> | void;
  fetch?: typeof fetch;
};

/** Only the parameters that are set go on the URL (an empty form field is no filter). */
function queryString(query: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  return params.toString();
}

export function createApiClient(options: ApiClientOptions) {
  const doFetch = options.fetch ?? fetch;
  const client = createClient<AdminPaths>({
    baseUrl: `${options.baseUrl.replace(/\/+$/, '')}/api/v1`,
    headers: {
      Authorization: options.token ? `Bearer ${options.token}` : undefined,
      'X-Forwarded-For': options.forwardedFor || undefined,
      'User-Agent': options.userAgent?.slice(0, 512) || undefined,
    },
    redirect: 'manual',
    querySerializer: queryString,
    fetch: async (request) => {
      try {
        return await doFetch(request);
      } catch (error) {
        // The browser went away: nothing to report, let the abort propagate.
        if (options.signal?.aborted) throw error;
        const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
        throw new ApiUnreachableError(`${request.method} ${new URL(request.url).pathname}: ${reason}`, { cause: error });
      }
    },
  });

  async function fail(error: ApiError | ApiUnreachableError | ApiContractError): Promise<never> {
    // The browser went away while the answer was read (a cut-off body looks like a contract break):
    // there is no one to report to, so end the way an aborted fetch does.
    if (options.signal?.aborted) throw options.signal.reason;
    await options.onError?.(error);
    throw error;
  }

  /** Streams stay open as long as the browser listens; only plain calls get a deadline. */
  function signal(deadline: boolean): AbortSignal | undefined {
    const signals = [options.signal, deadline ? AbortSignal.timeout(options.timeoutMs ?? 15_000) : undefined].filter(
      (s) => s !== undefined,
    );
    return signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  }

  async function send(
    method: HttpMethod,
    path: string,
    init: object | undefined,
    accept: string | null,
  ): Promise<{ data: unknown; response: Response }> {
    let result: { data?: unknown; error?: unknown; response: Response };
    try {
      result = await client.request(
        method,
        path as never,
        {
          ...init,
          // A call's own headers (a YAML body's Content-Type) stay; Accept is decided here.
          headers: {
            ...(init as { headers?: Record<string, string> } | undefined)?.headers,
            Accept: accept ?? 'application/json, application/problem+json',
          },
          signal: signal(accept === null),
          parseAs: accept === null ? 'json' : 'stream',
        } as never,
      );
    } catch (error) {
      if (error instanceof ApiUnreachableError) return fail(error);
      if (options.signal?.aborted) throw options.signal.reason;
      // openapi-fetch parses a 2xx body as JSON; one that is not JSON breaks the contract.
      if (error instanceof SyntaxError)
        return fail(new ApiContractError(`${method.toUpperCase()} ${path}: the response is not JSON (${error.message})`));
      throw error;
    }
    if (!result.response.ok) return fail(problemFrom(result.response, result.error));
    return { data: result.data, response: result.response };
  }

  const call = <M extends HttpMethod>(method: M): Call<M> =>
    ((path: string, init?: object) => send(method, path, init, null).then((r) => r.data)) as Call<M>;

  return {
    get: call('get'),
    post: call('post'),
    put: call('put'),
    patch: call('patch'),
    delete: call('delete'),
    /**
     * A streamed GET (a CSV export, a YAML file, a run's server-sent events): the raw response, for the caller to
     * pass its body on. No deadline: it lasts as long as the browser listens.
     */
    stream: <P extends PathsWithMethod<AdminPaths, 'get'>, I extends Init<P, 'get'>>(
      path: P,
      accept: 'text/csv' | 'text/event-stream' | 'application/yaml',
      ...init: Args<I>
    ) => send('get', path, init[0], accept).then((r) => r.response),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;

// ---- binding to a request -----------------------------------------------------------------------

/** What route error boundaries receive in `error.data` for API failures. */
export type RouteErrorData = { title: string; detail?: string; code?: string };

/** The browser's address: set by server.mjs in the load context (absent under `vite dev`). */
function clientIp(context: AppLoadContext | undefined): string | null {
  const ip = context?.clientIp;
  return typeof ip === 'string' && ip ? ip.replace(/^::ffff:/, '') : null;
}

/** Where to come back to after signing in: the page the browser was on (never another origin). */
export function loginUrl(request: Request): string {
  const url = new URL(request.url);
  url.searchParams.delete('index');
  url.searchParams.delete('_data');
  const back = `${url.pathname}${url.search}`;
  if (back === '/' || url.pathname === '/login' || url.pathname.endsWith('/events')) return '/login';
  return `/login?${new URLSearchParams({ redirectTo: back })}`;
}

export function safeRedirectTo(value: FormDataEntryValue | string | null | undefined, fallback = '/devices'): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) {
    return fallback;
  }
  return value;
}

function routeError(status: number, body: RouteErrorData): never {
  throw data(body, { status });
}

/** Turns API failures a route cannot handle into redirects / error responses. */
async function toRouteError(request: Request, error: ApiError | ApiUnreachableError | ApiContractError): Promise<void> {
  if (error instanceof ApiUnreachableError) {
    console.error(`[web] API unreachable at ${env.apiUrl}: ${error.message}`);
    routeError(503, {
      title: 'API unreachable',
      detail: 'The console could not reach the OpsConductor API. Check that it is running and try again.',
      code: 'api_unreachable',
    });
  }
  if (error instanceof ApiContractError) {
    console.error(`[web] ${error.message}`);
    routeError(502, { title: 'Unexpected response from the API', detail: error.message, code: 'contract_mismatch' });
  }
  if (error.status === 401) {
    throw redirect(loginUrl(request), { headers: { 'Set-Cookie': await destroySession(request) } });
  }
  if (error.status === 403) {
    routeError(403, {
      title: "You don't have permission",
      detail: error.detail ?? 'Your role does not allow this. Ask an admin if you need access.',
      code: error.code,
    });
  }
  if (error.status === 404) routeError(404, { title: 'Not found', detail: error.detail, code: error.code });
  if (error.status >= 500) {
    routeError(502, { title: 'The API failed', detail: error.detail ?? error.title, code: error.code });
  }
  // 400/409/422/429…: the route decides (forms show the field errors).
}

function bind(
  request: Request,
  context: AppLoadContext | undefined,
  token: string | null,
  onError?: ApiClientOptions['onError'],
): ApiClient {
  return createApiClient({
    baseUrl: env.apiUrl,
    token,
    forwardedFor: clientIp(context),
    userAgent: request.headers.get('User-Agent'),
    signal: request.signal,
    timeoutMs: env.apiTimeoutMs,
    onError,
  });
}

/**
 * The API client for a signed-in request. Without a session cookie it redirects to
 * /login?redirectTo=…; a 401 from the API does the same (and clears the cookie).
 */
export async function requireApi(request: Request, context?: AppLoadContext): Promise<ApiClient> {
  const token = await getSessionToken(request);
  if (!token) throw redirect(loginUrl(request));
  return bind(request, context, token, (error) => toRouteError(request, error));
}

/** The client for routes that work without a session (login); failures are left to the caller. */
export function publicApi(request: Request, context?: AppLoadContext, token: string | null = null): ApiClient {
  return bind(request, context, token);
}

export type ServerConfig = Schema<'ServerConfig'>;
let configCache: { value: ServerConfig; at: number } | null = null;

/** GET /api/v1/config, cached for a minute (it changes only when the API is reconfigured). */
export async function getServerConfig(api: ApiClient): Promise<ServerConfig> {
  if (configCache && Date.now() - configCache.at < 60_000) return configCache.value;
  const value = await api.get('/config');
  configCache = { value, at: Date.now() };
  return value;
}
