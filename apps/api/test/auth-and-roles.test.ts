import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, TEST_PASSWORD, type TestApi } from '../../../test/support/api.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t?.close());

async function problem(res: Response) {
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  return (await res.json()) as { code: string; status: number; title: string; errors?: { path: string; message: string }[] };
}

describe('authentication', () => {
  it('signs in with the right password, returns the user, and signs out', async () => {
    const { email } = await t.createUser('operator');
    const res = await t.request('/api/v1/auth/login', { method: 'POST', json: { email, password: TEST_PASSWORD } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; user: { email: string; role: string } };
    expect(body.user).toMatchObject({ email, role: 'operator' });
    expect(res.headers.get('set-cookie')).toMatch(/oc_session=.*HttpOnly.*SameSite=Lax/i);

    const me = await t.request('/api/v1/auth/me', { token: body.token });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { email: string }).email).toBe(email);

    expect((await t.request('/api/v1/auth/logout', { method: 'POST', token: body.token })).status).toBe(204);
    const after = await t.request('/api/v1/auth/me', { token: body.token });
    expect(after.status).toBe(401);
    expect((await problem(after)).code).toBe('unauthenticated');
  });

  it('refuses a wrong password with a stable code and stores only a hash of the session token', async () => {
    const { email } = await t.createUser('viewer');
    const res = await t.request('/api/v1/auth/login', { method: 'POST', json: { email, password: 'wrong password!' } });
    expect(res.status).toBe(401);
    expect((await problem(res)).code).toBe('invalid_credentials');
    const unknown = await t.request('/api/v1/auth/login', { method: 'POST', json: { email: 'nobody@example.com', password: 'x' } });
    expect((await problem(unknown)).code).toBe('invalid_credentials');

    const token = await t.login(email);
    const sessions = await t.database.db.prisma.session.findMany();
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions.some((s) => s.id === token)).toBe(false);
    const user = await t.database.db.prisma.user.findUniqueOrThrow({ where: { email } });
    expect(user.passwordHash).toMatch(/^\$argon2id\$/);
  });

  it('rejects a disabled user and ends their sessions', async () => {
    const admin = await t.tokenFor('admin');
    const { id, email } = await t.createUser('operator');
    const token = await t.login(email);
    const res = await t.request(`/api/v1/users/${id}`, { method: 'PATCH', token: admin, json: { disabled: true } });
    expect(res.status).toBe(200);
    expect((await t.request('/api/v1/auth/me', { token })).status).toBe(401);
    const again = await t.request('/api/v1/auth/login', { method: 'POST', json: { email, password: TEST_PASSWORD } });
    expect((await problem(again)).code).toBe('invalid_credentials');
  });

  it('accepts cookie sessions for mutations only from an allowed origin (CSRF)', async () => {
    const admin = await t.tokenFor('admin');
    const cookie = `oc_session=${admin}`;
    const body = JSON.stringify({ name: 'csrf', maxUses: 1, expiresInHours: 1 });
    const headers = { cookie, 'content-type': 'application/json' };
    const noOrigin = await t.request('/api/v1/enrollment-tokens', { method: 'POST', headers, body });
    expect(noOrigin.status).toBe(403);
    expect((await problem(noOrigin)).code).toBe('csrf_rejected');
    const evil = await t.request('/api/v1/enrollment-tokens', {
      method: 'POST',
      headers: { ...headers, origin: 'https://evil.example' },
      body,
    });
    expect(evil.status).toBe(403);
    const good = await t.request('/api/v1/enrollment-tokens', {
      method: 'POST',
      headers: { ...headers, origin: 'http://localhost:3000' },
      body,
    });
    expect(good.status).toBe(201);
    // Reads with the cookie need no origin.
    expect((await t.request('/api/v1/devices', { headers: { cookie } })).status).toBe(200);
  });
});

describe('roles', () => {
  /** Every state-changing admin API operation, read from the OpenAPI document so new routes are covered. */
  async function mutations() {
    const doc = (await (await t.request('/api/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const ops: { method: string; path: string }[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      if (!path.startsWith('/api/v1/') || path.startsWith('/api/v1/auth/')) continue;
      for (const method of Object.keys(item)) if (method !== 'get') ops.push({ method: method.toUpperCase(), path });
    }
    return ops;
  }
  const concrete = (path: string) => path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');
  /** POSTs that change nothing (they only evaluate their body), open to every role. Keep this list short. */
  const readOnlyPosts = ['POST /api/v1/groups/preview'];

  it('refuses a viewer every mutation', async () => {
    const viewer = await t.tokenFor('viewer');
    const all = await mutations();
    expect(all.map((o) => `${o.method} ${o.path}`)).toEqual(expect.arrayContaining(readOnlyPosts));
    const ops = all.filter((o) => !readOnlyPosts.includes(`${o.method} ${o.path}`));
    expect(ops.length).toBeGreaterThanOrEqual(12);
    for (const op of ops) {
      const res = await t.request(concrete(op.path), { method: op.method, token: viewer, json: {} });
      expect.soft(res.status, `${op.method} ${op.path}`).toBe(403);
      if (res.status === 403) expect((await problem(res)).code).toBe('forbidden');
    }
  });

  it('lets a viewer read devices, runs and groups, and preview a rule', async () => {
    const viewer = await t.tokenFor('viewer');
    for (const path of ['/api/v1/devices', '/api/v1/job-runs', '/api/v1/groups', '/api/v1/tags', '/api/v1/custom-fields']) {
      expect((await t.request(path, { token: viewer })).status, path).toBe(200);
    }
    const preview = await t.request('/api/v1/groups/preview', {
      method: 'POST',
      token: viewer,
      json: { rule: { field: 'os.family', op: 'equals', value: 'linux' } },
    });
    expect(preview.status).toBe(200);
  });

  it('keeps users, enrollment tokens and the audit log to admins', async () => {
    const operator = await t.tokenFor('operator');
    for (const path of ['/api/v1/users', '/api/v1/enrollment-tokens', '/api/v1/audit-logs']) {
      expect((await t.request(path, { token: operator })).status, path).toBe(403);
    }
    const create = await t.request('/api/v1/users', {
      method: 'POST',
      token: operator,
      json: { email: 'x@example.com', name: 'x', password: 'long enough password', role: 'admin' },
    });
    expect(create.status).toBe(403);
    const admin = await t.tokenFor('admin');
    const ok = await t.request('/api/v1/users', {
      method: 'POST',
      token: admin,
      json: { email: 'new-op@example.com', name: 'New', password: 'long enough password', role: 'operator' },
    });
    expect(ok.status).toBe(201);
    expect(
      (
        await t.request('/api/v1/users', {
          method: 'POST',
          token: admin,
          json: { email: 'new-op@example.com', name: 'New', password: 'long enough password', role: 'operator' },
        })
      ).status,
    ).toBe(409);
  });

  it('writes an audit row for every mutation with who, what and from where', async () => {
    const admin = await t.tokenFor('admin');
    await t.createEnrollmentToken(admin);
    const res = await t.request('/api/v1/audit-logs?pageSize=5', { token: admin, headers: { 'user-agent': 'audit-test' } });
    const { items } = (await res.json()) as {
      items: { action: string; actorType: string; actorName: string | null; ipAddress: string | null }[];
    };
    const entry = items.find((i) => i.action === 'enrollment_token.create');
    expect(entry).toMatchObject({ actorType: 'user' });
    expect(entry?.actorName).toMatch(/@example\.com$/);
    expect(entry?.ipAddress).toMatch(/127\.0\.0\.1/);
  });
});

describe('validation', () => {
  it('answers malformed JSON and invalid fields with problem+json', async () => {
    const admin = await t.tokenFor('admin');
    const bad = await t.request('/api/v1/enrollment-tokens', {
      method: 'POST',
      token: admin,
      headers: { 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(bad.status).toBe(400);
    expect((await problem(bad)).code).toBe('malformed_json');
    const invalid = await t.request('/api/v1/enrollment-tokens', { method: 'POST', token: admin, json: { name: '', maxUses: -1 } });
    expect(invalid.status).toBe(400);
    const p = await problem(invalid);
    expect(p.code).toBe('validation_failed');
    expect(p.errors?.map((e) => e.path)).toEqual(expect.arrayContaining(['name', 'maxUses']));
    const run = await t.request('/api/v1/job-runs', {
      method: 'POST',
      token: admin,
      json: { deviceIds: ['00000000-0000-4000-8000-000000000000'], command: 'true' },
    });
    expect((await problem(run)).code).toBe('unknown_devices');
  });

  it('serves the OpenAPI 3.1 document, docs, health, readiness and metrics', async () => {
    const doc = (await (await t.request('/api/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/job-runs', '/agent/v1/commands', '/agent/v1/enroll']));
    expect((await t.request('/api/docs')).status).toBe(200);
    expect((await t.request('/healthz')).status).toBe(200);
    // No worker polls this API's task queue (test/e2e/availability.e2e.test.ts runs one).
    const ready = await t.request('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBe('5');
    expect(await ready.json()).toEqual({
      status: 'unavailable',
      checks: {
        database: 'ok',
        temporal: 'ok',
        worker: expect.stringMatching(/^no worker polled task queue "test-api-[^"]+" for workflow or activity tasks in the last 90 s$/),
      },
    });
    // Without METRICS_TOKEN the API port serves no metrics (the metrics listener does: see availability tests).
    const metrics = await t.request('/metrics');
    expect(metrics.status).toBe(404);
    expect(await metrics.text()).not.toContain('opsconductor_api_http_requests_total');
  });

  it('tells only signed-in users the server settings', async () => {
    const anonymous = await t.request('/api/v1/config');
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain('localhost:4000');
    const viewer = await t.tokenFor('viewer');
    const config = await t.request('/api/v1/config', { token: viewer });
    expect(config.status).toBe(200);
    expect(await config.json()).toEqual({ apiPublicUrl: 'http://localhost:4000', temporalUiUrl: 'http://localhost:8233' });
  });

  // Last in the file: the server answers before reading the whole body, which leaves the client's socket unusable.
  it('refuses bodies over 1 MiB', async () => {
    const admin = await t.tokenFor('admin');
    const huge = await t.request('/api/v1/enrollment-tokens', {
      method: 'POST',
      token: admin,
      json: { name: 'x'.repeat(2 * 1024 * 1024) },
    });
    expect(huge.status).toBe(413);
    expect((await problem(huge)).code).toBe('payload_too_large');
  });
});
