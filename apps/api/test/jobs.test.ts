/**
 * The job library through the API: create, versions on save (none for an unchanged one), who saved each, a diff,
 * export and import as code, conflicts, the published schema, roles, and the audit rows in the same transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

let t: TestApi;
let admin: string;
let operator: string;
let viewer: string;
let adminEmail: string;
let operatorEmail: string;
beforeAll(async () => {
  t = await startTestApi();
  adminEmail = (await t.createUser('admin')).email;
  operatorEmail = (await t.createUser('operator')).email;
  admin = await t.login(adminEmail);
  operator = await t.login(operatorEmail);
  viewer = await t.tokenFor('viewer');
});
afterAll(() => t?.close());

const api = async (method: string, path: string, json?: unknown, token = operator) => {
  const res = await t.request(`/api/v1${path}`, { method, token, ...(json === undefined ? {} : { json }) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
};

const definition = (name: string, command = 'systemctl restart "{{ service }}"') => ({
  name,
  description: 'Restarts a service',
  parameters: [{ name: 'service', type: 'string', required: true }],
  steps: [
    { name: 'restart', kind: 'shell', command },
    { name: 'report', kind: 'shell', command: 'echo failed', condition: 'on_failure' },
  ],
});

describe('the job library', () => {
  it('creates a job, adds a version only when the definition changes, and shows who saved each', async () => {
    const created = await api('POST', '/jobs', definition('restart-service'));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ name: 'restart-service', currentVersion: 1, steps: 2, updatedBy: { type: 'user' } });
    expect(created.body.definition.steps[0]).toMatchObject({ timeoutSeconds: 3600, condition: 'on_success' });

    const unchanged = await api('PUT', `/jobs/${id}`, { definition: definition('restart-service'), expectedVersion: 1 }, admin);
    expect(unchanged.body).toMatchObject({ versionCreated: false, job: { currentVersion: 1 } });

    const changed = await api(
      'PUT',
      `/jobs/${id}`,
      { definition: definition('restart-service', 'systemctl reload "{{ service }}"'), expectedVersion: 1 },
      admin,
    );
    expect(changed.body).toMatchObject({ versionCreated: true, job: { currentVersion: 2 } });
    // Someone still editing version 1 does not overwrite version 2.
    const stale = await api('PUT', `/jobs/${id}`, { definition: definition('restart-service', 'true'), expectedVersion: 1 });
    expect(stale.status).toBe(409);

    const versions = await api('GET', `/jobs/${id}/versions`, undefined, viewer);
    expect(versions.body.items.map((v: { version: number; createdBy: { name: string } }) => [v.version, v.createdBy.name])).toEqual([
      [2, adminEmail],
      [1, operatorEmail],
    ]);
    expect((await api('GET', `/jobs/${id}/versions/1`, undefined, viewer)).body.definition.steps[0].command).toBe(
      'systemctl restart "{{ service }}"',
    );
    expect((await api('GET', `/jobs/${id}/diff?from=1&to=2`, undefined, viewer)).body).toEqual({
      from: 1,
      to: 2,
      changes: [
        {
          path: 'steps.0.command',
          kind: 'changed',
          before: 'systemctl restart "{{ service }}"',
          after: 'systemctl reload "{{ service }}"',
        },
      ],
    });
    expect((await api('GET', `/jobs/${id}/versions/3`)).status).toBe(404);

    const audit = await t.database.db.pool.query<{ action: string; actor_name: string }>(
      `SELECT action, actor_name FROM audit_logs WHERE target_type = 'job' AND target_id = $1 ORDER BY created_at`,
      [id],
    );
    expect(audit.rows).toEqual([
      { action: 'job.create', actor_name: operatorEmail },
      { action: 'job.save', actor_name: adminEmail },
    ]);
  });

  it('exports a version as a file and imports it back: unchanged, no new version; changed, the next one', async () => {
    const id = (await api('POST', '/jobs', definition('as-code'))).body.id as string;
    const exported = await api('GET', `/jobs/${id}/export`, undefined, viewer);
    expect(exported.headers.get('content-disposition')).toBe('attachment; filename="as-code.job.json"');
    expect((await api('POST', '/jobs/import', exported.body)).body).toMatchObject({
      versionCreated: false,
      job: { id, currentVersion: 1 },
    });
    const edited = { ...exported.body, description: 'kept in git' };
    expect((await api('POST', '/jobs/import', edited)).body).toMatchObject({ versionCreated: true, job: { id, currentVersion: 2 } });
    expect((await api('GET', `/jobs/${id}/export?version=1`)).body.description).toBe('Restarts a service');
    // A definition for a name the library does not have is a new job.
    const fresh = await api('POST', '/jobs/import', definition('imported-new'));
    expect(fresh.body).toMatchObject({ versionCreated: true, job: { name: 'imported-new', currentVersion: 1 } });
    const listed = await api('GET', '/jobs?search=IMPORTED', undefined, viewer);
    expect(listed.body.items.map((j: { name: string }) => j.name)).toEqual(['imported-new']);
  });

  it('refuses a definition with every problem and its path, a taken name with 409, and edits from viewers', async () => {
    const bad = await api('POST', '/jobs', {
      ...definition('bad'),
      steps: [
        { name: 'a', kind: 'shell', command: "echo '{{ service }}'" },
        { name: 'b', kind: 'shell', command: 'echo {{ missing }}' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(['definition.steps.0.command', 'definition.steps.1.command']);
    const typo = await api('POST', '/jobs', { ...definition('typo'), steps: [{ name: 'a', kind: 'shell', command: 'x', retrys: 3 }] });
    expect(typo.status).toBe(400);

    await api('POST', '/jobs', definition('taken'));
    const again = await api('POST', '/jobs', definition('taken'));
    expect([again.status, again.body.code]).toEqual([409, 'name_taken']);
    const other = (await api('POST', '/jobs', definition('other'))).body.id as string;
    expect((await api('PUT', `/jobs/${other}`, { definition: definition('taken') })).status).toBe(409);

    expect((await api('POST', '/jobs', definition('by-viewer'), viewer)).status).toBe(403);
    expect((await api('PUT', `/jobs/${other}`, { definition: definition('other', 'true') }, viewer)).status).toBe(403);
    expect((await api('GET', `/jobs/${other}?extra=1`)).status).toBe(400);
    expect((await api('GET', '/jobs/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('answers hostile input with 4xx, never 5xx: NUL, unpaired surrogates, numbers past int32 and 2^53, deeply nested bodies', async () => {
    const id = (await api('POST', '/jobs', definition('hostile-target'))).body.id as string;
    const hostileDefinitions: unknown[] = [
      definition('nul\u0000name'),
      definition('lone', 'echo \ud800'),
      { ...definition('key'), parameters: [{ name: 'service', type: 'string', required: true, 'x\u0000': 1 }] },
      { ...definition('big-timeout'), steps: [{ name: 's', kind: 'shell', command: 'x', timeoutSeconds: 2 ** 53 + 2 }] },
      { ...definition('big-retries'), steps: [{ name: 's', kind: 'shell', command: 'x', retries: { count: 2 ** 31 } }] },
      { ...definition('big-default'), parameters: [{ name: 'n', type: 'number', default: 1e400 }] },
      { ...definition('nested'), description: { a: { b: { c: [] } } } },
      [],
      null,
    ];
    for (const hostile of hostileDefinitions) {
      for (const [method, path, json] of [
        ['POST', '/jobs', hostile],
        ['POST', '/jobs/import', hostile],
        ['PUT', `/jobs/${id}`, { definition: hostile }],
      ] as const) {
        const res = await api(method, path, json);
        expect(res.status, `${method} ${path} ${JSON.stringify(hostile).slice(0, 60)}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${method} ${path} ${JSON.stringify(hostile).slice(0, 60)}`).toBeLessThan(500);
      }
    }
    const expected = await api('PUT', `/jobs/${id}`, { definition: definition('hostile-target', 'true'), expectedVersion: 2 ** 31 });
    expect(expected.status).toBe(400);
    for (const path of [
      `/jobs/${id}/versions/2147483648`,
      `/jobs/${id}/versions/99999999999999999999`,
      `/jobs/${id}/versions/1.5`,
      `/jobs/${id}/diff?from=-1&to=1`,
      `/jobs/${id}/diff?from=1&to=9007199254740993`,
      `/jobs/${id}/export?version=%00`,
      `/jobs?search=%00`,
      `/jobs/${id}%00`,
    ]) {
      const res = await api('GET', path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
    }
    // Invalid UTF-8 in a query decodes to U+FFFD: an ordinary search.
    expect((await api('GET', '/jobs?search=%ED%A0%80')).status).toBe(200);
    const raw = (body: string) =>
      t.request('/api/v1/jobs', { method: 'POST', token: operator, headers: { 'content-type': 'application/json' }, body });
    // Deeper than any definition: refused by the schema, not by a stack overflow.
    for (const depth of [5000, 150_000]) {
      const res = await raw(`{"name":"deep","steps":[{"name":"s","kind":"shell","command":${'['.repeat(depth)}${']'.repeat(depth)}}]}`);
      expect(res.status, `depth ${depth}`).toBe(400);
    }
    expect((await raw('{"name": "broken"')).status).toBe(400);
  });

  it('answers hostile input to runs, approvals and schedules of jobs with 4xx, never 5xx', async () => {
    const id = (await api('POST', '/jobs', definition('hostile-runs'))).body.id as string;
    const missing = '00000000-0000-4000-8000-000000000000';
    const hostileValues: unknown[] = [
      { parameters: { service: 'a\u0000b' } },
      { parameters: { service: '\ud800' } },
      { parameters: { 'x\u0000': 1 } },
      { parameters: { service: 'x' }, maxConcurrency: 2 ** 31 },
      { parameters: { service: 'x' }, failureThreshold: { count: 2 ** 53 + 2 } },
      { parameters: { service: 'x' }, deadlineSeconds: 1e400 },
      { parameters: { service: { a: { b: [[[]]] } } } },
      { parameters: { service: 'x' }, deviceIds: ['not-a-uuid'] },
      { parameters: [] },
      [],
      null,
    ];
    const schedule = (extra: object) => ({ name: 's', deviceIds: [missing], spec: { cron: ['0 3 * * *'] }, ...extra });
    for (const hostile of hostileValues) {
      for (const [method, path, json] of [
        ['POST', `/jobs/${id}/runs`, hostile],
        ['POST', `/jobs/${id}/schedules`, hostile],
        ['POST', `/jobs/${id}/schedules`, schedule(hostile && typeof hostile === 'object' && !Array.isArray(hostile) ? hostile : {})],
        ['PUT', `/job-schedules/${missing}`, hostile],
        ['POST', `/job-runs/${missing}/rerun`, { secrets: hostile }],
        ['POST', `/job-runs/${missing}/approve`, { comment: hostile }],
        ['POST', `/job-runs/${missing}/reject`, hostile],
      ] as const) {
        const res = await api(method, path, json);
        const what = `${method} ${path} ${JSON.stringify(json).slice(0, 80)}`;
        expect(res.status, what).toBeGreaterThanOrEqual(400);
        expect(res.status, what).toBeLessThan(500);
      }
    }
    for (const spec of [
      { cron: ['0 3 * * *\u0000'] },
      { cron: [] },
      { intervals: [{ everySeconds: 2 ** 53 }] },
      { timeZone: 'Mars/Olympus' },
    ]) {
      const res = await api('POST', `/jobs/${id}/schedules`, schedule({ spec }));
      expect(res.status, JSON.stringify(spec)).toBe(400);
    }
    for (const [method, path] of [
      ['GET', `/job-runs/${missing}/devices/${missing}/steps`],
      ['POST', `/job-runs/${missing}/devices/${missing}/cancel`],
      ['GET', `/job-runs/${missing}/devices/%00/steps`],
      ['GET', `/job-runs/${missing}/output?step=2147483648`],
      ['GET', `/job-schedules/${missing}`],
      ['GET', '/job-schedules?jobId=%00'],
      ['POST', `/job-schedules/${missing}/pause`],
      ['DELETE', `/job-schedules/${missing}`],
    ] as const) {
      const res = await api(method, path);
      expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
    }
    const deep = await t.request(`/api/v1/jobs/${id}/runs`, {
      method: 'POST',
      token: operator,
      headers: { 'content-type': 'application/json' },
      body: `{"deviceIds":[],"parameters":{"service":${'['.repeat(150_000)}${']'.repeat(150_000)}}}`,
    });
    expect(deep.status).toBe(400);
  });

  it('serves the JSON Schema of a definition', async () => {
    const res = await api('GET', '/jobs/schema', undefined, viewer);
    expect(res.status).toBe(200);
    expect(res.body.$id).toBe('https://opsconductor.dev/schemas/job-definition.schema.json');
    expect(res.body.$defs.JobDefinition.required).toEqual(['name', 'steps']);
  });

  // Last in the file: the server answers before reading the whole body, which leaves the client's socket unusable.
  it('refuses a definition over 1 MiB with 413', async () => {
    const res = await api('POST', '/jobs', definition('huge', 'x'.repeat(1_500_000)));
    expect([res.status, res.body.code]).toEqual([413, 'payload_too_large']);
  });
});
