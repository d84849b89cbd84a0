/**
 * The console refuses forged cross-origin mutations (CSRF), whatever URL form reaches Remix.
 *
 * Every route module in apps/web/app/routes that exports an `action` is found by reading the files, so
 * a new route is covered without touching this test. Each gets POSTs (and PUT/PATCH/DELETE) from another
 * site, from another port of the same host (same-site, so the SameSite=Lax session cookie rides along),
 * with `Origin: null`, and without an Origin header; as a document, `?_data=`, single-fetch `.data`,
 * `?index`, a trailing slash and a percent-encoded path; as a form and as text/plain. All must be
 * refused with 403 before any action runs — against the production server (server.mjs) and the dev
 * server (`remix vite:dev`) — while the console's own requests keep working. Then chromium: a page on
 * another loopback port submits a form to `/users?_data=routes%2Fusers` and no admin appears.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startChild, type Child } from '../../scripts/lib/child.ts';
import { ADMIN, startStack, type Stack } from '../support/stack.ts';
import { launchChromium } from '../support/browser.ts';
import { freePort, repoRoot, waitFor } from '../support/tools.ts';

const REFUSED = 'Forbidden: this request did not come from the console';
const routesDir = join(repoRoot, 'apps/web/app/routes');

interface ActionRoute {
  file: string;
  id: string;
  path: string;
  index: boolean;
}

/** Flat-routes file name → URL path (params get a random UUID) and whether it is an index route. */
function routeOf(file: string): ActionRoute {
  const name = file.replace(/\.(tsx?|jsx?)$/, '');
  const segments = name.match(/(?:\[[^\]]*\]|[^.[])+/g) ?? [];
  const index = segments.at(-1) === '_index';
  const parts: string[] = [];
  for (const raw of segments) {
    if (raw === '_index' || raw.startsWith('_')) continue; // index route, pathless layout
    const seg = raw.replace(/_$/, ''); // `$id_` opts out of the parent layout, same URL segment
    parts.push(seg.startsWith('$') ? randomUUID() : seg.replace(/[[\]]/g, ''));
  }
  return { file, id: `routes/${name}`, path: `/${parts.join('/')}`, index };
}

const actionRoutes = readdirSync(routesDir)
  .filter((f) => /\.(tsx?|jsx?)$/.test(f) && !/\.test\./.test(f))
  .filter((f) =>
    /\bexport\s+(?:async\s+)?function\s+action\b|\bexport\s+(?:const|let)\s+action\b|\bexport\s*\{[^}]*\baction\b/.test(
      readFileSync(join(routesDir, f), 'utf8'),
    ),
  )
  .map(routeOf);

/** Every URL form under which Remix runs the route's action. */
function urlForms(r: ActionRoute): string[] {
  const query = (...extra: string[]) => {
    const q = [r.index ? 'index' : '', ...extra].filter(Boolean).join('&');
    return q ? `?${q}` : '';
  };
  const data = `_data=${encodeURIComponent(r.id)}`;
  const encoded = r.path.replace(/^\/([a-z])/, (_, c: string) => `/%${c.charCodeAt(0).toString(16)}`);
  return [
    r.path + query(),
    r.path + query(data),
    `${r.path === '/' ? '/_root' : r.path}.data${query()}`,
    `${r.path === '/' ? '' : r.path}/${query()}`,
    encoded + query(data),
    `${r.path}?index&${data}`,
    `${r.path}.data?_routes=${encodeURIComponent(r.id)}`,
  ];
}

const ATTACKER = { email: `csrf-admin-${Date.now()}@evil.example`, password: 'attacker chosen password' };
/** A body that would change something for each known route; new routes get the generic one. */
const bodies: Record<string, Record<string, string>> = {
  'routes/users': { intent: 'create', email: ATTACKER.email, name: 'csrf', password: ATTACKER.password, role: 'admin' },
  'routes/login': { email: ADMIN.email, password: ADMIN.password, redirectTo: '/devices' },
  'routes/enrollment': { intent: 'create', name: 'csrf token', maxUses: '100', expiresInHours: '24' },
  'routes/settings.custom-fields': { intent: 'create', key: 'csrf_field', label: 'CSRF', type: 'text' },
  'routes/groups.new': { kind: 'static', name: 'csrf group', description: 'forged' },
};
const genericBody = {
  intent: 'create',
  name: 'csrf',
  command: 'id',
  tags: 'csrf',
  email: ATTACKER.email,
  password: ATTACKER.password,
  role: 'admin',
};

async function signIn(webUrl: string): Promise<string> {
  const res = await fetch(`${webUrl}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: webUrl, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: ADMIN.email, password: ADMIN.password, redirectTo: '/devices' }),
  });
  expect(res.status, await res.text()).toBe(302);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('oc_session='));
  expect(cookie).toBeTruthy();
  return cookie!.split(';')[0]!;
}

/** What a forged request could have changed, read through the API (not the console). */
async function snapshot(stack: Stack) {
  const [users, tokens, fields, groups, audit] = await Promise.all(
    ['/api/v1/users', '/api/v1/enrollment-tokens', '/api/v1/custom-fields', '/api/v1/groups', '/api/v1/audit-logs?pageSize=1'].map((p) =>
      stack.api('GET', p),
    ),
  );
  return {
    users: (users!.body.items as { email: string; role: string; disabled: boolean }[])
      .map((u) => `${u.email}:${u.role}:${u.disabled}`)
      .sort(),
    tokens: tokens!.body.items.length as number,
    fields: fields!.body.items.length as number,
    groups: groups!.body.items.length as number,
    auditEvents: audit!.body.total as number,
  };
}

/** Sends the whole matrix of forged requests to a console and returns the ones that were not refused. */
async function forgeAll(webUrl: string, cookie: string) {
  const { port } = new URL(webUrl);
  const otherPort = String(Number(port) === 65535 ? 1024 : Number(port) + 1);
  const origins: Array<Record<string, string>> = [
    { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    { origin: `http://127.0.0.1:${otherPort}`, 'sec-fetch-site': 'same-site' },
    { origin: `http://localhost:${port}`, 'sec-fetch-site': 'same-site' },
    { origin: 'null', 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'cross-site' },
    {},
  ];
  const failures: string[] = [];
  let sent = 0;
  for (const route of actionRoutes) {
    const form = bodies[route.id] ?? genericBody;
    const encodings = [
      { 'content-type': 'application/x-www-form-urlencoded', body: new URLSearchParams(form).toString() },
      {
        'content-type': 'text/plain',
        body: Object.entries(form)
          .map(([k, v]) => `${k}=${v}`)
          .join('\r\n'),
      },
      { 'content-type': 'application/json', body: JSON.stringify(form) },
    ];
    for (const url of urlForms(route)) {
      for (const headers of origins) {
        for (const [i, enc] of encodings.entries()) {
          // Other methods only in the plain form: the guard does not care about the URL for them either.
          for (const method of i === 0 && url === urlForms(route)[0] ? ['POST', 'PUT', 'PATCH', 'DELETE'] : ['POST']) {
            const res = await fetch(webUrl + url, {
              method,
              redirect: 'manual',
              headers: { ...headers, cookie, 'content-type': enc['content-type'] },
              body: enc.body,
            });
            const text = await res.text();
            sent++;
            if (res.status !== 403 || !text.startsWith(REFUSED) || res.headers.getSetCookie().length > 0) {
              failures.push(`${method} ${url} ${JSON.stringify(headers)} ${enc['content-type']} → ${res.status} ${text.slice(0, 80)}`);
            }
          }
        }
      }
    }
  }
  return { failures, sent };
}

/** The console's own requests (same origin, or no Origin but Sec-Fetch-Site: same-origin) reach every action. */
async function sameOriginReachesActions(webUrl: string, cookie: string) {
  const refused: string[] = [];
  for (const route of actionRoutes.filter((r) => r.id !== 'routes/logout')) {
    const [document, dataRequest] = urlForms(route);
    for (const [url, headers] of [
      [document!, { origin: webUrl }],
      [dataRequest!, { 'sec-fetch-site': 'same-origin' }],
    ] as const) {
      const res = await fetch(webUrl + url, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...headers, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ intent: '__csrf_probe__' }),
      });
      const text = await res.text();
      if (text.startsWith(REFUSED)) refused.push(`${url} → ${res.status}`);
    }
  }
  return refused;
}

let stack: Stack;
let browser: Browser | undefined;
let dev: { child: Child; url: string } | undefined;
let attackerSite: Server | undefined;

/** `remix vite:dev` as scripts/dev.ts starts it, once, against the stack's API. */
async function startDevServer(): Promise<string> {
  if (!dev) {
    const port = await freePort();
    const child = startChild(
      'web-dev',
      join(repoRoot, 'node_modules/.bin/remix'),
      ['vite:dev', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
      {
        cwd: join(repoRoot, 'apps/web'),
        env: {
          API_URL: stack.apiUrl,
          PORT: String(port),
          NODE_ENV: 'development',
          SESSION_SECRET: 'csrf-test-dev-session-secret-0123456789',
        },
        output: (line) => stack.logs.push(`[web-dev] ${line}`),
      },
    );
    dev = { child, url: `http://127.0.0.1:${port}` };
    await waitFor('vite dev server', async () => (await fetch(`${dev!.url}/login`)).ok, 120_000, 500);
  }
  return dev.url;
}

beforeAll(async () => {
  stack = await startStack({ web: true });
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await dev?.child.stop();
  await new Promise((resolve) => (attackerSite ? attackerSite.close(resolve) : resolve(undefined)));
  await stack?.close();
});

it("finds the console's action routes by reading the route files", () => {
  const ids = actionRoutes.map((r) => r.id);
  for (const known of [
    'routes/users',
    'routes/login',
    'routes/logout',
    'routes/groups.preview',
    'routes/devices._index',
    'routes/groups.$id_.edit',
  ]) {
    expect(ids).toContain(known);
  }
  expect(actionRoutes.find((r) => r.id === 'routes/devices._index')).toMatchObject({ path: '/devices', index: true });
  expect(actionRoutes.find((r) => r.id === 'routes/groups.$id_.edit')!.path).toMatch(/^\/groups\/[0-9a-f-]{36}\/edit$/);
});

describe.each([
  ['the production server (server.mjs)', () => stack.webUrl!],
  ['the dev server (remix vite:dev)', startDevServer],
])('%s', (_name, webUrlOf) => {
  it('refuses every forged state-changing request to every action route, and nothing changes', async () => {
    const webUrl = await webUrlOf();
    const cookie = await signIn(webUrl);
    const before = await snapshot(stack);
    const { failures, sent } = await forgeAll(webUrl, cookie);
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(actionRoutes.length * 100);
    expect(await snapshot(stack)).toEqual(before);
    expect(before.users.some((u) => u.startsWith(ATTACKER.email))).toBe(false);
    // The forged logouts did not end the session either.
    const devices = await fetch(`${webUrl}/devices`, { headers: { cookie }, redirect: 'manual' });
    expect(devices.status).toBe(200);
  }, 300_000);

  it("lets the console's own requests through, in every form", async () => {
    const webUrl = await webUrlOf();
    const cookie = await signIn(webUrl);
    expect(await sameOriginReachesActions(webUrl, cookie)).toEqual([]);
    // A real same-origin mutation through `?_data` still works.
    const before = (await snapshot(stack)).tokens;
    const res = await fetch(`${webUrl}/enrollment?_data=routes%2Fenrollment`, {
      method: 'POST',
      headers: { origin: webUrl, cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ intent: 'create', name: 'same origin', maxUses: '1', expiresInHours: '1' }),
    });
    expect(res.status).toBe(200);
    expect((await snapshot(stack)).tokens).toBe(before + 1);
  }, 300_000);
});

it('chromium: a page on another loopback port cannot create an admin through /users?_data=routes%2Fusers', async () => {
  browser = await launchChromium();
  const webUrl = stack.webUrl!;
  const email = `chromium-${ATTACKER.email}`;
  const fields = { intent: 'create', email, name: 'Mallory', password: ATTACKER.password, role: 'admin' };
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`)
    .join('');
  const target = `${webUrl}/users?_data=routes%2Fusers`;
  attackerSite = createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    if (req.url === '/form') res.end(`<form id="f" method="post" action="${target}">${inputs}</form><script>f.submit()</script>`);
    else if (req.url === '/plain')
      res.end(`<form id="f" method="post" enctype="text/plain" action="${target}">${inputs}</form><script>f.submit()</script>`);
    else
      res.end(
        `<script>fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors', credentials: 'include', body: new URLSearchParams(${JSON.stringify(fields)}) }).finally(() => { document.title = 'sent'; });</script>`,
      );
  });
  await new Promise<void>((resolve) => attackerSite!.listen(0, '127.0.0.1', resolve));
  const evil = `http://127.0.0.1:${(attackerSite.address() as AddressInfo).port}`;

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${webUrl}/login`);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/devices/);

  for (const path of ['/form', '/plain']) {
    const refused = page.waitForResponse((r) => r.url() === target && r.request().method() === 'POST');
    await page.goto(evil + path);
    const response = await refused;
    expect(response.status()).toBe(403);
    // The browser did send the session cookie (same site), so only the origin check stopped it.
    expect(await response.request().headerValue('cookie')).toMatch(/oc_session=/);
    expect(await response.request().headerValue('origin')).toBe(evil);
  }
  await page.goto(`${evil}/fetch`);
  await expect.poll(() => page.title()).toBe('sent');

  const users = (await stack.api('GET', '/api/v1/users')).body.items as { email: string }[];
  expect(users.map((u) => u.email)).not.toContain(email);
  // The victim is still signed in.
  await page.goto(`${webUrl}/devices`);
  await expect.poll(() => page.getByTestId('current-user').textContent()).toBeTruthy();
  await context.close();
}, 120_000);
