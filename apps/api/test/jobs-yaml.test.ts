/**
 * Jobs as code in YAML through the API: export as a YAML file and import it back (unchanged: no version; edited:
 * the next one), checked exactly as JSON is, and hostile YAML (alias bombs, tags, duplicate keys, deep nesting,
 * several documents, NUL, bad UTF-8, syntax errors, too large) answered with a 4xx, never a 5xx.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

let t: TestApi;
let operator: string;
let viewer: string;
beforeAll(async () => {
  t = await startTestApi();
  operator = await t.tokenFor('operator');
  viewer = await t.tokenFor('viewer');
});
afterAll(() => t?.close());

const api = async (method: string, path: string, json?: unknown, token = operator) => {
  const res = await t.request(`/api/v1${path}`, { method, token, ...(json === undefined ? {} : { json }) });
  const text = await res.text();
  return {
    status: res.status,
    text,
    body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null,
    headers: res.headers,
  };
};
const importYaml = async (body: string | Uint8Array, type = 'application/yaml', token = operator) => {
  const res = await t.request('/api/v1/jobs/import', { method: 'POST', token, headers: { 'content-type': type }, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
};

const definition = (name: string) => ({
  name,
  description: 'Restarts a service and reports',
  parameters: [{ name: 'service', type: 'string', required: true }],
  steps: [
    {
      name: 'restart',
      kind: 'script',
      interpreter: 'bash',
      body: 'set -eu\nsystemctl restart "{{ service }}"\nsystemctl is-active "{{ service }}"\n',
    },
    { name: 'report', kind: 'shell', command: 'echo failed', condition: 'on_failure' },
  ],
});

describe('jobs as code in YAML', () => {
  it('exports a YAML file that imports back with no new version, and an edited one as the next version', async () => {
    const id = (await api('POST', '/jobs', definition('yaml/as code'))).body.id as string;
    const exported = await api('GET', `/jobs/${id}/export?format=yaml`, undefined, viewer);
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toBe('application/yaml; charset=utf-8');
    expect(exported.headers.get('content-disposition')).toBe('attachment; filename="yaml-as-code.job.yaml"');
    expect(exported.text.split('\n')[0]).toBe(
      '# yaml-language-server: $schema=https://opsconductor.dev/schemas/job-definition.schema.json',
    );
    expect(exported.text).toContain('    body: |\n      set -eu\n      systemctl restart "{{ service }}"\n');
    const asJson = await api('GET', `/jobs/${id}/export`, undefined, viewer);
    expect(asJson.headers.get('content-disposition')).toBe('attachment; filename="yaml-as-code.job.json"');
    expect(parseYaml(exported.text)).toEqual(asJson.body);
    expect((await api('GET', `/jobs/${id}/export?format=xml`)).status).toBe(400);

    for (const type of ['application/yaml', 'application/x-yaml', 'text/yaml; charset=utf-8']) {
      const again = await importYaml(exported.text, type);
      expect(again, type).toMatchObject({ status: 200, body: { versionCreated: false, job: { id, currentVersion: 1 } } });
    }
    // A byte-order mark, as some Windows editors save files, changes nothing.
    expect((await importYaml(`\ufeff${exported.text}`)).body).toMatchObject({ versionCreated: false });

    const edited = exported.text.replace('description: Restarts a service and reports', 'description: Kept in git, edited there');
    expect(edited).not.toBe(exported.text);
    expect((await importYaml(edited)).body).toMatchObject({ versionCreated: true, job: { id, currentVersion: 2 } });
    expect((await api('GET', `/jobs/${id}/export?version=2`)).body.description).toBe('Kept in git, edited there');
    expect((await api('GET', `/jobs/${id}/export?version=1&format=yaml`)).text).toContain('description: Restarts a service and reports');
    const versions = (await api('GET', `/jobs/${id}/versions`)).body.items as { version: number }[];
    expect(versions.map((v) => v.version)).toEqual([2, 1]);

    // Hand-written YAML, defaults left out, anchors used: a new job.
    const written = await importYaml(
      [
        'name: written-by-hand',
        'steps:',
        '  - name: first',
        '    kind: shell',
        '    command: echo one',
        '    retries: &retry {count: 2, backoffSeconds: 5}',
        '  - name: second',
        '    kind: shell',
        '    command: echo two',
        '    retries: *retry',
      ].join('\n'),
    );
    expect(written.body).toMatchObject({ versionCreated: true, job: { name: 'written-by-hand', currentVersion: 1 } });
    expect(written.body.job.definition.steps[1].retries).toEqual({ count: 2, backoffSeconds: 5 });
  });

  it('checks YAML exactly as JSON: the same problems with the same paths', async () => {
    const bad = { ...definition('bad'), steps: [{ name: 'a', kind: 'shell', command: 'echo {{ missing }}', retrys: 3 }] };
    const asJson = await api('POST', '/jobs/import', bad);
    const asYaml = await importYaml(JSON.stringify(bad)); // JSON is YAML
    expect(asJson.status).toBe(400);
    expect(asYaml).toEqual({ status: asJson.status, body: asJson.body });
    const unknownStep = await importYaml('name: x\nsteps:\n  - name: a\n    kind: telnet\n');
    expect([unknownStep.status, unknownStep.body.code]).toEqual([400, 'validation_failed']);
    // Escapes make NUL and lone surrogates in YAML as in JSON: refused the same way.
    for (const escaped of ['"a\\0b"', '"\\ud800"']) {
      const res = await importYaml(`name: ${escaped}\nsteps: [{name: a, kind: shell, command: x}]\n`);
      expect([res.status, res.body.code, res.body.errors?.[0]?.path], escaped).toEqual([400, 'validation_failed', 'name']);
    }
  });

  it('refuses hostile YAML with a 4xx, and says where a syntax error is', async () => {
    let laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 1; i < 10; i++) {
      const [name, previous] = [String.fromCharCode(97 + i), String.fromCharCode(96 + i)];
      laughs += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]\n`;
    }
    const bytes = (...b: number[]) => new Uint8Array(b);
    const cases: [string, string | Uint8Array, RegExp][] = [
      ['billion laughs', laughs, /alias/],
      ['one long string aliased many times', `s: &s ${'x'.repeat(300_000)}\nl: [${Array(50).fill('*s').join(',')}]\n`, /aliases expanded/],
      ['a !!js/function tag', 'name: !!js/function "function () { return 1 }"\nsteps: []\n', /^Line 1, column 7: The tag !!js\/function/],
      ['a !!binary tag', 'name: x\nsteps: !!binary aGVsbG8=\n', /tag !!binary/],
      ['a local tag', '!job\nname: x\n', /tag !job/],
      ['a %TAG directive', '%TAG !e! tag:example.com,2000:\n---\nname: !e!x y\n', /directive %TAG/],
      ['a %YAML 1.1 directive', '%YAML 1.1\n---\nname: x\n', /directive %YAML 1.1/],
      ['duplicate keys', 'name: a\nsteps: []\nname: b\n', /^Line 3, column 1: Map keys must be unique\.$/],
      ['flow nesting 5,000 deep', `name: x\nsteps: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, /nested more than/],
      ['flow nesting 150,000 deep', `name: x\nsteps: ${'['.repeat(150_000)}${']'.repeat(150_000)}\n`, /tokens/],
      ['block nesting', `name: x\nsteps:\n${'- '.repeat(5000)}x\n`, /nested more than/],
      ['mappings nested on one line each', Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n'), /nested more than/],
      ['several documents', 'name: a\nsteps: []\n---\nname: b\nsteps: []\n', /^Line 3, column 1: A YAML stream of several documents/],
      ['NUL', 'name: "x\u0000"\nsteps: []\n', /^Line 1, column 9: U\+0000/],
      ['an escape character', 'name: x\u001b[2J\n', /U\+001B/],
      ['invalid UTF-8', bytes(0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe), /UTF-8/],
      ['an encoded surrogate (CESU-8)', bytes(0x6e, 0x3a, 0x20, 0xed, 0xa0, 0x80), /UTF-8/],
      ['a syntax error', 'name: x\nsteps:\n  - name: a\n   kind: shell\n', /^Line 4, column 1: /],
      ['an unclosed flow sequence', 'name: x\nsteps: [\n', /^Line \d+, column \d+: /],
      ['an alias of nothing', 'name: *nowhere\n', /Unresolved alias/],
    ];
    for (const [what, body, detail] of cases) {
      const res = await importYaml(body);
      expect([res.status, res.body.code], what).toEqual([400, 'malformed_yaml']);
      expect(res.body.detail, what).toMatch(detail);
    }
    // Read as JSON values, then refused by the schema.
    for (const body of [
      '',
      '# only a comment\n',
      '~',
      '- a list',
      'just a string',
      '__proto__: {name: x}\nsteps: []\n',
      'name: x\nsteps: .inf\n',
    ]) {
      const res = await importYaml(body);
      expect([res.status, res.body.code], JSON.stringify(body)).toEqual([400, 'validation_failed']);
    }
    expect((await importYaml('name: x', 'application/yaml; charset=utf-16')).status).toBe(415);
    const plain = await importYaml('name: x', 'text/plain');
    expect([plain.status, plain.body.code]).toEqual([415, 'unsupported_media_type']);
    // Who may import is decided before the YAML is read.
    expect((await importYaml(laughs, 'application/yaml', viewer)).status).toBe(403);
    const anonymous = await t.request('/api/v1/jobs/import', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: laughs,
    });
    expect(anonymous.status).toBe(401);
    // And the API still answers.
    expect((await api('GET', '/jobs')).status).toBe(200);
  });

  // Last in the file: the server answers before reading the whole body, which leaves the client's socket unusable.
  it('refuses YAML over the body limit of JSON (1 MiB) with 413, with or without a Content-Length', async () => {
    const huge = `name: huge\nsteps:\n  - name: a\n    kind: shell\n    command: ${'x'.repeat(1_100_000)}\n`;
    const res = await importYaml(huge);
    expect([res.status, res.body.code]).toEqual([413, 'payload_too_large']);
    const chunks = new TextEncoder().encode(huge);
    const streamed = await t.request('/api/v1/jobs/import', {
      method: 'POST',
      token: operator,
      headers: { 'content-type': 'application/yaml' },
      body: new ReadableStream({
        start(controller) {
          for (let at = 0; at < chunks.length; at += 64 * 1024) controller.enqueue(chunks.slice(at, at + 64 * 1024));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });
});
