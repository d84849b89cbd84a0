/**
 * The HTTP contract as a client sees it: the OpenAPI document documents every status with the problem
 * schema, unsupported methods are 405 with Allow, and input PostgreSQL cannot store is a 400, not a 500.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

let t: TestApi;
let admin: string;
beforeAll(async () => {
  t = await startTestApi();
  admin = await t.tokenFor('admin');
});
afterAll(() => t?.close());

interface Operation { security?: unknown[]; requestBody?: unknown; responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> }
interface Document { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, { required?: string[] }> } }

/** fetch refuses TRACE, so raw HTTP. */
function raw(method: string, path: string): Promise<{ status: number; allow: string | undefined; contentType: string | undefined; body: string }> {
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
  it('documents every error status with the problem schema, and what every kind of operation can answer', async () => {
    const doc = (await (await t.request('/api/openapi.json')).json()) as Document;
    expect(doc.components.schemas.Problem?.required).toEqual(['type', 'title', 'status', 'code']);
    const problems: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`;
        const needed = ['400', '500', ...(op.security?.length ? ['401'] : []), ...(op.requestBody ? ['413', '415'] : [])];
        for (const status of needed) if (!op.responses[status]) problems.push(`${where}: ${status} undocumented`);
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) < 400) continue;
          const schema = response.content?.['application/problem+json']?.schema;
          if (schema?.$ref !== '#/components/schemas/Problem') problems.push(`${where}: ${status} has no problem schema`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('documents a static group\'s rule as null', async () => {
    const doc = (await (await t.request('/api/openapi.json')).json()) as Document;
    const schema = doc.paths['/api/v1/groups/{id}']!.get!.responses['200']!.content!['application/json']!.schema as { properties: { rule: unknown }; required: string[] };
    expect(schema.properties.rule).toEqual({ anyOf: [{ $ref: '#/components/schemas/Rule' }, { type: 'null' }] });
    const created = await t.request('/api/v1/groups', { method: 'POST', token: admin, json: { kind: 'static', name: 'static-rule-null' } });
    expect(((await created.json()) as { rule: unknown }).rule).toBeNull();
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
    await refused(await post('/api/v1/groups', { kind: 'dynamic', name: 'rule', rule: { all: [{ field: 'hostname', op: 'equals', value: 'x\uD800' }] } }), 'rule.all.0.value');
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
    expect((await t.request(`/api/v1/groups/${created.id}`, { method: 'PATCH', token: admin, json: { description: 'd' } })).status).toBe(200);
  });

  it('the events of a deleted group are a 404, not an empty page', async () => {
    const created = (await (await post('/api/v1/groups', { kind: 'static', name: 'short-lived' })).json()) as { id: string };
    expect((await t.request(`/api/v1/groups/${created.id}/events`, { token: admin })).status).toBe(200);
    expect((await t.request(`/api/v1/groups/${created.id}`, { method: 'DELETE', token: admin })).status).toBe(204);
    expect((await t.request(`/api/v1/groups/${created.id}/events`, { token: admin })).status).toBe(404);
  });
});
