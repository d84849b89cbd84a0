/**
 * Typed client of the OpsConductor admin API (`/api/v1`). One function per endpoint; every response
 * is parsed with the contract's zod schema, so drift between API and console fails loudly here.
 *
 * `createApiClient` takes all of its configuration as arguments. `requireApi` binds it to an incoming
 * request: session token from the cookie, the browser's IP and User-Agent for the audit log, and
 * API failures turned into what a route should do (redirect to /login, a 403/404/503 error page).
 */
import { data, redirect, type AppLoadContext } from '@remix-run/node';
import { z } from 'zod';
import {
  auditLogList,
  createdEnrollmentToken,
  enrollmentToken,
  enrollmentTokenList,
  jobRun,
  jobRunList,
  jobRunTargetPreview,
  loginResponse,
  outputPage,
  rotatedDeviceSecret,
  user,
  userList,
  type createEnrollmentTokenRequest,
  type createJobRunRequest,
  type changePasswordRequest,
  type jobRunTargetPreviewRequest,
  type createUserRequest,
  type deviceStatus,
  type updateUserRequest,
} from '@opsconductor/contracts/api';
import {
  customFieldDefinition,
  customFieldList,
  deviceDetail,
  deviceServiceList,
  deviceSoftwareList,
  deviceSummaryList,
  deviceTimeline,
  deviceActivityList,
  group,
  groupList,
  membershipEventList,
  rulePreview,
  tagList,
  type bulkTagsRequest,
  type createCustomFieldRequest,
  type createGroupRequest,
  type deviceSortKeys,
  type groupMembersRequest,
  type inventoryEventKinds,
  type setCustomFieldValuesRequest,
  type updateGroupRequest,
} from '@opsconductor/contracts/inventory-api';
import type { Rule } from '@opsconductor/contracts/rules';
import { env } from './env.server';
import { destroySession, getSessionToken } from './session.server';

// ---- errors -----------------------------------------------------------------------------------

export type FieldError = { path: string; message: string };

const problemDetails = z.object({
  type: z.string().optional(),
  title: z.string().optional(),
  status: z.number().optional(),
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
    readonly code: string,
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

/** The API answered 2xx with a body that does not match the contract. */
export class ApiContractError extends Error {
  override readonly name = 'ApiContractError';
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

type Query = Record<string, string | number | undefined | null>;
type CallOptions<T> = { query?: Query; body?: unknown; schema?: z.ZodType<T>; accept?: string; timeout?: boolean; headers?: Record<string, string> };

export type DeviceListQuery = {
  search?: string;
  status?: z.infer<typeof deviceStatus>;
  osFamily?: 'windows' | 'linux' | 'macos' | 'other';
  groupId?: string;
  tag?: string;
  /** `key:value`: devices whose custom field `key` equals `value`. */
  customField?: string;
  sort?: (typeof deviceSortKeys)[number];
  order?: 'asc' | 'desc';
  /** Default: active devices only. */
  lifecycle?: 'active' | 'retired' | 'all';
  page?: number;
  pageSize?: number;
};
export type Page = { page?: number; pageSize?: number };
/** The runs list's filters as the API takes them (dates as YYYY-MM-DD or ISO date-times). */
export type JobRunListQuery = { createdBy?: string; status?: string; deviceId?: string; hostname?: string; from?: string; to?: string };
/** The audit log's filters as the API takes them. */
export type AuditLogQuery = { actor?: string; actorType?: string; action?: string; targetType?: string; targetId?: string; from?: string; to?: string };
export type ServerConfig = z.infer<typeof serverConfig>;

const serverConfig = z.object({ apiPublicUrl: z.string(), temporalUiUrl: z.string().nullable() });

function queryString(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

async function problemFrom(response: Response): Promise<ApiError> {
  let body: unknown = null;
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) body = await response.json().catch(() => null);
  else await response.body?.cancel().catch(() => undefined);
  const p = problemDetails.safeParse(body);
  const problem = p.success ? p.data : {};
  const errors = (problem.errors ?? []).map((e) => ({
    path: Array.isArray(e.path) ? e.path.join('.') : e.path,
    message: e.message,
  }));
  return new ApiError(
    response.status,
    problem.code ?? `http_${response.status}`,
    problem.title ?? (response.statusText || `HTTP ${response.status}`),
    problem.detail,
    errors,
  );
}

export function createApiClient(options: ApiClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;

  function headers(accept: string, hasBody: boolean, extra: Record<string, string> = {}): Headers {
    const h = new Headers({ ...extra, Accept: accept });
    if (hasBody) h.set('Content-Type', 'application/json');
    if (options.token) h.set('Authorization', `Bearer ${options.token}`);
    if (options.forwardedFor) h.set('X-Forwarded-For', options.forwardedFor);
    if (options.userAgent) h.set('User-Agent', options.userAgent.slice(0, 512));
    return h;
  }

  async function fail(error: ApiError | ApiUnreachableError | ApiContractError): Promise<never> {
    // The browser went away while the answer was read (a cut-off body looks like a contract break):
    // there is no one to report to, so end the way an aborted fetch does.
    if (options.signal?.aborted) throw options.signal.reason;
    await options.onError?.(error);
    throw error;
  }

  async function send(method: string, path: string, opts: CallOptions<unknown>): Promise<Response> {
    const url = `${baseUrl}/api/v1${path}${queryString(opts.query)}`;
    const signals: AbortSignal[] = [];
    if (options.signal) signals.push(options.signal);
    // Streams stay open as long as the browser listens; only plain calls get a deadline.
    if (opts.timeout !== false) signals.push(AbortSignal.timeout(options.timeoutMs ?? 15_000));
    let response: Response;
    try {
      response = await doFetch(url, {
        method,
        headers: headers(opts.accept ?? 'application/json, application/problem+json', opts.body !== undefined, opts.headers),
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: signals.length === 1 ? signals[0] : AbortSignal.any(signals),
        redirect: 'manual',
      });
    } catch (error) {
      // The browser went away: nothing to report, let the abort propagate.
      if (options.signal?.aborted) throw error;
      const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      return fail(new ApiUnreachableError(`${method} ${path}: ${reason}`, { cause: error }));
    }
    if (!response.ok) return fail(await problemFrom(response));
    return response;
  }

  async function call<T>(method: string, path: string, opts: CallOptions<T> = {}): Promise<T> {
    const response = await send(method, path, opts);
    if (!opts.schema) {
      await response.body?.cancel().catch(() => undefined);
      return undefined as T;
    }
    const body: unknown = await response.json().catch(() => undefined);
    const parsed = opts.schema.safeParse(body);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
        .join('; ');
      return fail(new ApiContractError(`${method} ${path}: response does not match the contract (${issues})`));
    }
    return parsed.data;
  }

  const id = (value: string) => encodeURIComponent(value);

  return {
    // auth
    login: (body: { email: string; password: string }) => call('POST', '/auth/login', { body, schema: loginResponse }),
    logout: () => call<void>('POST', '/auth/logout', { body: {} }),
    me: () => call('GET', '/auth/me', { schema: user }),
    changePassword: (body: z.input<typeof changePasswordRequest>) => call<void>('POST', '/auth/password', { body }),
    getConfig: () => call('GET', '/config', { schema: serverConfig }),

    // users (admin)
    listUsers: () => call('GET', '/users', { schema: userList }),
    createUser: (body: z.input<typeof createUserRequest>) => call('POST', '/users', { body, schema: user }),
    updateUser: (userId: string, body: z.input<typeof updateUserRequest>) =>
      call('PATCH', `/users/${id(userId)}`, { body, schema: user }),

    // enrollment tokens (admin)
    listEnrollmentTokens: () => call('GET', '/enrollment-tokens', { schema: enrollmentTokenList }),
    createEnrollmentToken: (body: z.input<typeof createEnrollmentTokenRequest>) =>
      call('POST', '/enrollment-tokens', { body, schema: createdEnrollmentToken }),
    revokeEnrollmentToken: (tokenId: string) =>
      call('DELETE', `/enrollment-tokens/${id(tokenId)}`, { schema: enrollmentToken.or(z.undefined()) }),

    // devices
    listDevices: (query: DeviceListQuery = {}) => call('GET', '/devices', { query, schema: deviceSummaryList }),
    getDevice: (deviceId: string) => call('GET', `/devices/${id(deviceId)}`, { schema: deviceDetail }),
    retireDevice: (deviceId: string) => call<void>('POST', `/devices/${id(deviceId)}/retire`, { body: {} }),
    deleteDevice: (deviceId: string, confirmHostname: string) =>
      call<void>('DELETE', `/devices/${id(deviceId)}`, { query: { confirm: confirmHostname } }),
    rotateDeviceSecret: (deviceId: string) =>
      call('POST', `/devices/${id(deviceId)}/rotate-secret`, { body: {}, schema: rotatedDeviceSecret }),
    listDeviceSoftware: (deviceId: string, query: Page & { search?: string } = {}) =>
      call('GET', `/devices/${id(deviceId)}/software`, { query, schema: deviceSoftwareList }),
    listDeviceServices: (deviceId: string) => call('GET', `/devices/${id(deviceId)}/services`, { schema: deviceServiceList }),
    getDeviceTimeline: (deviceId: string, query: Page & { kind?: (typeof inventoryEventKinds)[number] } = {}) =>
      call('GET', `/devices/${id(deviceId)}/timeline`, { query, schema: deviceTimeline }),
    getDeviceActivity: (deviceId: string, query: Page = {}) => call('GET', `/devices/${id(deviceId)}/activity`, { query, schema: deviceActivityList }),

    // tags (bulk: operator)
    listTags: () => call('GET', '/tags', { schema: tagList }),
    updateDeviceTags: (body: z.input<typeof bulkTagsRequest>) => call<void>('POST', '/devices/tags', { body }),

    // custom fields (definitions: admin; values: operator)
    listCustomFields: () => call('GET', '/custom-fields', { schema: customFieldList }),
    createCustomField: (body: z.input<typeof createCustomFieldRequest>) =>
      call('POST', '/custom-fields', { body, schema: customFieldDefinition }),
    deleteCustomField: (fieldId: string) => call<void>('DELETE', `/custom-fields/${id(fieldId)}`),
    setDeviceCustomFields: (body: z.input<typeof setCustomFieldValuesRequest>) =>
      call<void>('POST', '/devices/custom-fields', { body }),

    // groups (changes: operator; preview: anyone signed in)
    listGroups: () => call('GET', '/groups', { schema: groupList }),
    createGroup: (body: z.input<typeof createGroupRequest>) => call('POST', '/groups', { body, schema: group }),
    getGroup: (groupId: string) => call('GET', `/groups/${id(groupId)}`, { schema: group }),
    updateGroup: (groupId: string, body: z.input<typeof updateGroupRequest>) =>
      call('PATCH', `/groups/${id(groupId)}`, { body, schema: group }),
    deleteGroup: (groupId: string) => call<void>('DELETE', `/groups/${id(groupId)}`),
    listGroupMembers: (groupId: string, query: Page & { search?: string } = {}) =>
      call('GET', `/groups/${id(groupId)}/members`, { query, schema: deviceSummaryList }),
    updateGroupMembers: (groupId: string, body: z.input<typeof groupMembersRequest>) =>
      call<void>('POST', `/groups/${id(groupId)}/members`, { body }),
    listGroupEvents: (groupId: string, query: Page = {}) =>
      call('GET', `/groups/${id(groupId)}/events`, { query, schema: membershipEventList }),
    previewRule: (body: { rule: Rule; limit?: number }) => call('POST', '/groups/preview', { body, schema: rulePreview }),

    // job runs
    /** With an idempotency key, sending the same request again returns the run the first one created. */
    createJobRun: (body: z.input<typeof createJobRunRequest>, opts: { idempotencyKey?: string } = {}) =>
      call('POST', '/job-runs', { body, schema: jobRun, ...(opts.idempotencyKey ? { headers: { 'Idempotency-Key': opts.idempotencyKey } } : {}) }),
    previewJobRunTargets: (body: z.input<typeof jobRunTargetPreviewRequest>) =>
      call('POST', '/job-runs/preview', { body, schema: jobRunTargetPreview }),
    listJobRuns: (query: Page & JobRunListQuery = {}) => call('GET', '/job-runs', { query, schema: jobRunList }),
    /** The raw text/csv response (streamed on by the caller). */
    exportJobRuns: (query: JobRunListQuery = {}) => send('GET', '/job-runs.csv', { query, accept: 'text/csv', timeout: false }),
    getJobRun: (runId: string) => call('GET', `/job-runs/${id(runId)}`, { schema: jobRun }),
    cancelJobRun: (runId: string) => call('POST', `/job-runs/${id(runId)}/cancel`, { body: {}, schema: jobRun }),
    getJobRunOutput: (runId: string, query: { deviceId?: string; after?: string; limit?: number } = {}) =>
      call('GET', `/job-runs/${id(runId)}/output`, { query, schema: outputPage }),
    /** The raw text/event-stream response; the caller streams its body on. */
    openJobRunEvents: (runId: string, query: { after?: string } = {}) =>
      send('GET', `/job-runs/${id(runId)}/events`, { query, accept: 'text/event-stream', timeout: false }),

    // audit (admin)
    listAuditLogs: (query: Page & AuditLogQuery = {}) => call('GET', '/audit-logs', { query, schema: auditLogList }),
    exportAuditLogs: (query: AuditLogQuery = {}) => send('GET', '/audit-logs.csv', { query, accept: 'text/csv', timeout: false }),
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
async function toRouteError(
  request: Request,
  error: ApiError | ApiUnreachableError | ApiContractError,
): Promise<void> {
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

function bind(request: Request, context: AppLoadContext | undefined, token: string | null): ApiClient {
  return createApiClient({
    baseUrl: env.apiUrl,
    token,
    forwardedFor: clientIp(context),
    userAgent: request.headers.get('User-Agent'),
    signal: request.signal,
    timeoutMs: env.apiTimeoutMs,
    onError: (error) => toRouteError(request, error),
  });
}

/**
 * The API client for a signed-in request. Without a session cookie it redirects to
 * /login?redirectTo=…; a 401 from the API does the same (and clears the cookie).
 */
export async function requireApi(request: Request, context?: AppLoadContext): Promise<ApiClient> {
  const token = await getSessionToken(request);
  if (!token) throw redirect(loginUrl(request));
  return bind(request, context, token);
}

/** The client for routes that work without a session (login); failures are left to the caller. */
export function publicApi(request: Request, context?: AppLoadContext, token: string | null = null): ApiClient {
  return createApiClient({
    baseUrl: env.apiUrl,
    token,
    forwardedFor: clientIp(context),
    userAgent: request.headers.get('User-Agent'),
    signal: request.signal,
    timeoutMs: env.apiTimeoutMs,
  });
}

let configCache: { value: ServerConfig; at: number } | null = null;

/** GET /api/v1/config, cached for a minute (it changes only when the API is reconfigured). */
export async function getServerConfig(api: ApiClient): Promise<ServerConfig> {
  if (configCache && Date.now() - configCache.at < 60_000) return configCache.value;
  const value = await api.getConfig();
  configCache = { value, at: Date.now() };
  return value;
}
