/**
 * The HTTP contract as a client sees it: the OpenAPI document is complete (every operation named, every
 * body and response with a named schema, every error status with the problem schema) and passes Redocly's
 * linter, the typed clients' types match it, unknown query parameters are refused, unsupported methods
 * are 405 with Allow, input PostgreSQL cannot store is a 400, not a 500, and /api/docs needs no internet.
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { lintFromString, loadConfig } from '@redocly/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';
import { OPENAPI_TYPES_FILE, renderOpenApiTypes } from '../scripts/openapi-types.ts';

let t: TestApi;
let admin: string;
let doc: Document;
beforeAll(async () => {
  t = await startTestApi();
  admin = await t.tokenFor('admin');
  doc = (await (await t.request('/api/openapi.json')).json()) as Document;
});
afterAll(() => t?.close());

interface Schema {
  $ref?: string;
}
interface Operation {
  operationId?: string;
  security?: unknown[];
  parameters?: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { required?: string[] }> };
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ path, method, op, where: `${method.toUpperCase()} ${path}` })),
  );

/** fetch refuses TRACE, so raw HTTP. */
function raw(
  method: string,
  path: string,
): Promise<{ status: number; allow: string | undefined; contentType: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${t.url}${path}`, { method, headers: { authorization: `Bearer ${admin}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, allow: res.headers.allow, contentType: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the OpenAPI document', () => {
  it('documents every error status with the problem schema, and what every kind of operation can answer', () => {
    expect(doc.components.schemas.Problem?.required).toEqual(['type', 'title', 'status', 'code']);
    const problems: string[] = [];
    for (const { where, op } of operations()) {
      const needed = ['400', '500', ...(op.security?.length ? ['401'] : []), ...(op.requestBody ? ['413', '415'] : [])];
      for (const status of needed) if (!op.responses[status]) problems.push(`${where}: ${status} undocumented`);
      for (const [status, response] of Object.entries(op.responses)) {
        // Not ready is a 503 with the readiness body: load balancers read the status, operators the checks.
        if (Number(status) < 400 || (where === 'GET /readyz' && status === '503')) continue;
        const schema = response.content?.['application/problem+json']?.schema;
        if (schema?.$ref !== '#/components/schemas/Problem') problems.push(`${where}: ${status} has no problem schema`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('names every operation (a unique camelCase operationId) and every body and JSON response (a component)', () => {
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const { where, op } of operations()) {
      if (!op.operationId || !/^[a-z][a-zA-Z0-9]*$/.test(op.operationId))
        problems.push(`${where}: operationId ${op.operationId ?? 'missing'}`);
      else if (seen.has(op.operationId)) problems.push(`${where}: operationId ${op.operationId} taken`);
      else seen.add(op.operationId);
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {}))
        if (!media.schema?.$ref) problems.push(`${where}: ${type} body has no named schema`);
      for (const [status, response] of Object.entries(op.responses)) {
        if (status === '204') continue;
        if (!response.content) problems.push(`${where}: ${status} has no content`);
        for (const [type, media] of Object.entries(response.content ?? {})) {
          if (!media.schema) problems.push(`${where}: ${status} ${type} has no schema`);
          else if (/json/.test(type) && !media.schema.$ref) problems.push(`${where}: ${status} ${type} has no named schema`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("passes Redocly's linter with apps/api/redocly.yaml, warnings included", async () => {
    const config = await loadConfig({ configPath: fileURLToPath(new URL('../redocly.yaml', import.meta.url)) });
    const found = await lintFromString({ source: JSON.stringify(doc), absoluteRef: `${t.url}/api/openapi.json`, config });
    expect(found.map((p) => `${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`)).toEqual([]);
  });

  it('is what the typed clients were generated from (packages/contracts/src/openapi-types.ts; run `npm run generate:openapi`)', async () => {
    expect(await readFile(OPENAPI_TYPES_FILE, 'utf8')).toBe(await renderOpenApiTypes(doc));
  });

  it("documents a static group's rule as null", async () => {
    expect(doc.paths['/api/v1/groups/{id}']!.get!.responses['200']!.content!['application/json']!.schema).toEqual({
      $ref: '#/components/schemas/Group',
    });
    const schema = doc.components.schemas.Group as { properties: { rule: unknown } };
    expect(schema.properties.rule).toEqual({ anyOf: [{ $ref: '#/components/schemas/Rule' }, { type: 'null' }] });
    const created = await t.request('/api/v1/groups', { method: 'POST', token: admin, json: { kind: 'static', name: 'static-rule-null' } });
    expect(((await created.json()) as { rule: unknown }).rule).toBeNull();
  });

  it("documents a package version's detection as null when it has no rules (Schemathesis found it missing)", async () => {
    const schema = doc.components.schemas.PackageVersion as { properties: { detection: { anyOf?: unknown[] } } };
    expect(schema.properties.detection.anyOf).toContainEqual({ type: 'null' });
    const pkg = await t.request('/api/v1/software/packages', {
      method: 'POST',
      token: admin,
      json: { name: 'no-detection', platform: 'linux' },
    });
    const { id } = (await pkg.json()) as { id: string };
    const version = await t.request(`/api/v1/software/packages/${id}/versions`, {
      method: 'POST',
      token: admin,
      json: { version: '1.0', installerType: 'apt', packageName: 'tool' },
    });
    expect(version.status).toBe(201);
    expect(((await version.json()) as { detection: unknown }).detection).toBeNull();
  });
});

describe('unknown query parameters', () => {
  it('are refused with 400 naming them, on every operation, before it runs', async () => {
    const device = await t.enrollDevice(await t.createEnrollmentToken(admin));
    const problems: string[] = [];
    for (const { path, method, where } of operations()) {
      // Every path parameter is an ID; the request must be refused before anything looks it up.
      const url = `${path.replaceAll(/\{[^}]+\}/g, '9b2c7c7e-2d5a-4a52-8d1e-7c0d8f4a9b11')}?pageSise=10`;
      const token = path.startsWith('/agent/') ? device.deviceSecret : admin;
      const res = await t.request(url, { method: method.toUpperCase(), token });
      const body = (await res.json().catch(() => null)) as { code?: string; errors?: { path: string; message: string }[] } | null;
      const named = body?.errors?.some((e) => e.path === 'pageSise' && e.message === 'unknown query parameter');
      if (res.status !== 400 || body?.code !== 'validation_failed' || !named)
        problems.push(`${where}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    }
    expect(problems).toEqual([]);
  });

  it("and unknown conditions of a run's device filter, which would otherwise select every device", async () => {
    const res = await t.request('/api/v1/job-runs/preview', { method: 'POST', token: admin, json: { filter: { hostnme: 'web-01' } } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'filter.hostnme', message: 'unknown field' }] });
  });

  it('while the declared ones keep working', async () => {
    expect((await t.request('/api/v1/devices?pageSize=10&sort=hostname', { token: admin })).status).toBe(200);
    expect((await t.request('/healthz')).status).toBe(200);
  });
});

describe('/api/docs', () => {
  it('loads its viewer from this server only, and the viewer is served', async () => {
    const page = await t.request('/api/docs');
    expect(page.status).toBe(200);
    const html = await page.text();
    const sources = [...html.matchAll(/<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
    expect(sources).toEqual(['/api/docs/scalar.js']);
    const script = await t.request(sources[0]!);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).toContain('createApiReference');
  });
});

describe('methods', () => {
  it('answers 405 with Allow for a method a path does not support, 404 only for paths that do not exist', async () => {
    const cases: [string, string, string][] = [
      ['TRACE', '/api/v1/groups', 'GET, HEAD, POST'],
      ['TRACE', '/api/v1/groups/9b2c7c7e-2d5a-4a52-8d1e-7c0d8f4a9b11', 'GET, HEAD, PATCH, DELETE'],
      ['PUT', '/api/v1/users', 'GET, HEAD, POST'],
      ['OPTIONS', '/api/v1/devices/tags', 'POST'],
      // A literal path wins over /devices/{id}: not a lookup of a device called "tags".
      ['GET', '/api/v1/devices/tags', 'POST'],
      ['GET', '/api/v1/groups/preview', 'POST'],
      ['TRACE', '/agent/v1/checkin', 'POST'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await raw(method, path);
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.allow, `${method} ${path}`).toBe(allow);
      expect(res.contentType).toContain('application/problem+json');
      expect(JSON.parse(res.body)).toMatchObject({ status: 405, code: 'method_not_allowed' });
    }
    expect((await raw('TRACE', '/api/v1/nothing-here')).status).toBe(404);
    expect((await raw('GET', '/api/v1/devices/not-a-uuid')).status).toBe(400);
    expect((await raw('HEAD', '/api/v1/groups')).status).toBe(200);
  });
});

describe('input PostgreSQL cannot store', () => {
  const post = (path: string, json: unknown) => t.request(path, { method: 'POST', token: admin, json });
  async function refused(res: Response, path: string) {
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; errors: { path: string; message: string }[] };
    expect(body.code).toBe('validation_failed');
    expect(body.errors).toEqual([{ path, message: expect.stringContaining('NUL') }]);
  }

  it('is a 400 naming the field, in bodies, rules and queries', async () => {
    await refused(await post('/api/v1/groups', { kind: 'static', name: 'nul\0name' }), 'name');
    await refused(
      await post('/api/v1/groups', {
        kind: 'dynamic',
        name: 'rule',
        rule: { all: [{ field: 'hostname', op: 'equals', value: 'x\uD800' }] },
      }),
      'rule.all.0.value',
    );
    await refused(await post('/api/v1/custom-fields', { key: 'owner', label: 'Owner\uDC00', type: 'text' }), 'label');
    await refused(await post('/api/v1/enrollment-tokens', { name: '\0' }), 'name');
    await refused(await post('/api/v1/job-runs', { deviceIds: ['9b2c7c7e-2d5a-4a52-8d1e-7c0d8f4a9b11'], command: 'echo \0' }), 'command');
    await refused(await post('/api/v1/groups/preview', { rule: { software: { name: 'a\0b' } } }), 'rule.software.name');
    await refused(await t.request('/api/v1/devices?search=%00', { token: admin }), 'search');
    await refused(await t.request('/api/v1/devices?tag=a%00', { token: admin }), 'tag');
    expect((await t.request('/api/v1/devices?search=%E2%82%AC', { token: admin })).status).toBe(200);
  });

  it('a PATCH without a JSON body is a 400, not a successful no-op', async () => {
    const created = (await (await post('/api/v1/groups', { kind: 'static', name: 'patch-me' })).json()) as { id: string };
    const res = await t.request(`/api/v1/groups/${created.id}`, { method: 'PATCH', token: admin });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('validation_failed');
    expect((await t.request(`/api/v1/groups/${created.id}`, { method: 'PATCH', token: admin, json: { description: 'd' } })).status).toBe(
      200,
    );
  });

  it('the events of a deleted group are a 404, not an empty page', async () => {
    const created = (await (await post('/api/v1/groups', { kind: 'static', name: 'short-lived' })).json()) as { id: string };
    expect((await t.request(`/api/v1/groups/${created.id}/events`, { token: admin })).status).toBe(200);
    expect((await t.request(`/api/v1/groups/${created.id}`, { method: 'DELETE', token: admin })).status).toBe(204);
    expect((await t.request(`/api/v1/groups/${created.id}/events`, { token: admin })).status).toBe(404);
  });
});
