/**
 * Job definitions: the shape and the checks on save and import, the digest that makes an unchanged import no new
 * version, the diff between versions, the published JSON Schema (read by a standard validator), the values of a
 * run, and parameters that reach a real /bin/sh as data, never as code.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { JobDefinition, JobDefinitionInput } from '@opsconductor/contracts/jobs';
import {
  deviceValues,
  diffJobDefinitions,
  jobDefinitionDigest,
  jobDefinitionJsonSchema,
  parseJobDefinition,
  renderStep,
  resolveRunValues,
  type DefinitionIssue,
} from '../src/index.ts';
import { jobDefinitionSchemaPath, renderJobDefinitionJsonSchema } from '../scripts/json-schema.ts';

const example: JobDefinitionInput = {
  name: 'Restart a service',
  description: 'Stops, cleans up and starts a service',
  parameters: [
    { name: 'service', type: 'string', required: true },
    { name: 'mode', type: 'enum', values: ['soft', 'hard'], default: 'soft' },
    { name: 'retries', type: 'number', integer: true, min: 0, max: 5, default: 1 },
    { name: 'token', type: 'secret' },
    { name: 'host', type: 'device', field: 'hostname' },
  ],
  steps: [
    { name: 'stop', kind: 'shell', command: 'systemctl stop "{{ service }}" && echo {{ mode }}', timeoutSeconds: 60 },
    { name: 'clean', kind: 'shell', command: 'rm -f /run/{{service}}.pid', continueOnError: true },
    { name: 'notify', kind: 'powershell', command: 'Invoke-RestMethod -Headers @{ Authorization = "Bearer {{ token }}" } -Uri x' },
    { name: 'config', kind: 'file_copy', fileSha256: 'a'.repeat(64), path: '/etc/{{ service }}/{{ host }}.conf', mode: '0644' },
    { name: 'cleanup', kind: 'cmd', command: 'del /q C:\\tmp\\{{ service }}.lock', condition: 'on_failure' },
  ],
};

const parse = (input: unknown): JobDefinition => {
  const r = parseJobDefinition(input);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.definition;
};
const issuesOf = (input: unknown): DefinitionIssue[] => {
  const r = parseJobDefinition(input);
  return r.ok ? [] : r.issues;
};
const withStep = (step: Record<string, unknown>, parameters: unknown[] = example.parameters!) => ({
  name: 'j',
  parameters,
  steps: [{ name: 's', ...step }],
});

describe('a job definition', () => {
  it('takes a full definition and fills in the defaults it leaves out', () => {
    const def = parse(example);
    expect(def.schemaVersion).toBe(1);
    expect(def.chains).toEqual({});
    expect(def.steps[1]).toMatchObject({
      timeoutSeconds: 3600,
      retries: { count: 0, backoffSeconds: 10 },
      continueOnError: true,
      condition: 'on_success',
    });
    expect(def.parameters[3]).toMatchObject({ type: 'secret', required: true });
  });

  it('refuses unknown fields (a typo is not silently dropped), NUL, and out-of-range numbers', () => {
    expect(issuesOf({ ...example, steps: [{ name: 's', kind: 'shell', command: 'x', continueOnErorr: true }] })[0]!.path).toBe('steps.0');
    expect(issuesOf({ ...example, colour: 'red' })).toHaveLength(1);
    expect(issuesOf(withStep({ kind: 'shell', command: 'echo \u0000' }))[0]!.path).toBe('steps.0.command');
    expect(issuesOf(withStep({ kind: 'wait', seconds: 2 ** 53 }))[0]!.path).toBe('steps.0.seconds');
    expect(issuesOf({ ...example, steps: [] })[0]!.path).toBe('steps');
    expect(issuesOf({ ...example, parameters: [{ name: '1x', type: 'string' }] })[0]!.path).toBe('parameters.0.name');
    expect(issuesOf({ ...example, parameters: [{ name: 'token', type: 'secret', default: 'hunter2' }] })).toHaveLength(1);
  });

  it('refuses what the schema cannot say: clashing names, defaults that do not fit, references it cannot keep as data', () => {
    const cases: [unknown, string, RegExp][] = [
      [{ ...example, parameters: [...example.parameters!, { name: 'SERVICE', type: 'string' }] }, 'parameters.5.name', /only in case/],
      [{ ...example, parameters: [{ name: 'm', type: 'enum', values: ['a', 'a'] }] }, 'parameters.0.values', /unique/],
      [{ ...example, parameters: [{ name: 'm', type: 'enum', values: ['a'], default: 'b' }] }, 'parameters.0.default', /one of/],
      [{ ...example, parameters: [{ name: 'n', type: 'number', max: 3, default: 4 }] }, 'parameters.0.default', /at most 3/],
      [{ ...example, parameters: [{ name: 'n', type: 'number', integer: true, default: 1.5 }] }, 'parameters.0.default', /whole/],
      [{ ...example, parameters: [{ name: 'n', type: 'number', min: 2, max: 1 }] }, 'parameters.0.min', /above max/],
      [withStep({ kind: 'shell', command: 'echo {{ nope }}' }), 'steps.0.command', /not a parameter/],
      [withStep({ kind: 'shell', command: "echo '{{ service }}'" }), 'steps.0.command', /single quotes/],
      [
        withStep({ kind: 'script', interpreter: 'python', body: 'print("{{ service }}")' }),
        'steps.0.body',
        /os\.environ\["OC_PARAM_SERVICE"\]/,
      ],
      [withStep({ kind: 'file_copy', fileSha256: 'a'.repeat(64), path: '/x/{{ token }}' }), 'steps.0.path', /secret/],
      [{ ...example, steps: [example.steps[0], example.steps[0]] }, 'steps.1.name', /another step/],
      [{ ...example, chains: { onFailure: example.name } }, 'chains', /itself/],
    ];
    for (const [input, path, message] of cases) {
      const issues = issuesOf(input);
      expect(issues.map((i) => i.path)).toContain(path);
      expect(issues.find((i) => i.path === path)!.message).toMatch(message);
    }
    // Double quotes, an escaped quote and text after a closed single-quoted part are fine.
    expect(issuesOf(withStep({ kind: 'shell', command: `echo 'a' "{{ service }}" \\' {{ mode }}` }))).toEqual([]);
  });

  it('has one digest however it was written, and another once anything changes', () => {
    const def = parse(example);
    const reverseKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverseKeys)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverseKeys(x)]),
            )
          : v;
    const reordered = reverseKeys(example);
    expect(Object.keys(reordered as object)[0]).toBe('steps');
    const explicit = { ...example, schemaVersion: 1, chains: {}, steps: example.steps!.map((s) => ({ continueOnError: false, ...s })) };
    expect(jobDefinitionDigest(parse(reordered))).toBe(jobDefinitionDigest(def));
    expect(jobDefinitionDigest(parse(explicit))).toBe(jobDefinitionDigest(def));
    expect(jobDefinitionDigest(parse({ ...example, description: 'changed' }))).not.toBe(jobDefinitionDigest(def));
  });

  it('lists what changed from one version to the next, field by field', () => {
    const before = parse(example);
    const after = parse({
      ...example,
      parameters: [...example.parameters!, { name: 'force', type: 'boolean' }],
      steps: [
        { ...example.steps![0], command: 'systemctl kill "{{ service }}"' },
        ...example.steps!.slice(1),
        { name: 'pause', kind: 'wait', seconds: 5 },
      ],
    });
    expect(diffJobDefinitions(before, after)).toEqual([
      { path: 'parameters.5', kind: 'added', after: { name: 'force', type: 'boolean', required: false } },
      {
        path: 'steps.0.command',
        kind: 'changed',
        before: before.steps[0]!.kind === 'shell' && before.steps[0]!.command,
        after: 'systemctl kill "{{ service }}"',
      },
      { path: 'steps.5', kind: 'added', after: after.steps[5] },
    ]);
    expect(diffJobDefinitions(before, before)).toEqual([]);
    expect(diffJobDefinitions(after, before)[0]).toEqual({ path: 'parameters.5', kind: 'removed', before: after.parameters[5] });
  });
});

describe('the published JSON Schema', () => {
  it('is the file in docs/schemas, and a standard validator reads it as this module does', async () => {
    expect(await readFile(jobDefinitionSchemaPath, 'utf8')).toBe(await renderJobDefinitionJsonSchema()); // npm run generate:job-schema
    const validate = new Ajv2020({ strict: false }).compile(jobDefinitionJsonSchema());
    expect(validate(example)).toBe(true);
    expect(validate({ ...example, colour: 'red' })).toBe(false);
    expect(validate({ ...example, steps: [{ name: 's', kind: 'teleport' }] })).toBe(false);
  });
});

describe('a run of it', () => {
  const def = parse(example);

  it('takes the values given, fills in defaults, and refuses unknown, missing, mistyped or out-of-range ones', () => {
    const ok = resolveRunValues(def, { service: 'nginx', token: 's3cret', retries: 3 });
    expect(ok.ok && Object.fromEntries(ok.values)).toEqual({ service: 'nginx', mode: 'soft', retries: 3, token: 's3cret' });
    const bad = resolveRunValues(def, { mode: 'violent', retries: 2.5, host: 'x', extra: 1, token: 'a'.repeat(4097) });
    expect(bad.ok ? [] : bad.issues).toEqual([
      { path: 'parameters.host', message: 'is taken from each device (hostname)' },
      { path: 'parameters.extra', message: 'is not a parameter of this job' },
      { path: 'parameters.service', message: 'is required' },
      { path: 'parameters.mode', message: 'must be one of "soft", "hard"' },
      { path: 'parameters.retries', message: 'must be a whole number' },
      { path: 'parameters.token', message: 'must be at most 4096 characters' },
    ]);
    expect(resolveRunValues(def, { service: 'a\u0000b', token: 't' }).ok).toBe(false);
    expect(resolveRunValues(def, { service: 7, token: 't' }).ok).toBe(false);
  });

  it('writes references as the variables each shell reads, puts values into paths, and never a secret into any text', () => {
    const run = resolveRunValues(def, { service: 'nginx', token: 's3cret' });
    if (!run.ok) throw new Error('values refused');
    const values = deviceValues(def, run.values, {
      deviceId: 'd1',
      hostname: 'web-1',
      osName: 'Debian',
      osVersion: '12',
      architecture: 'x64',
    });
    const [stop, clean, notify, config, cleanup] = def.steps.map((s) => renderStep(s, values));
    expect(stop!.text).toBe('systemctl stop "${OC_PARAM_SERVICE}" && echo "${OC_PARAM_MODE}"');
    expect(clean!.text).toBe('rm -f /run/"${OC_PARAM_SERVICE}".pid');
    expect(notify!.text).toBe('Invoke-RestMethod -Headers @{ Authorization = "Bearer ${env:OC_PARAM_TOKEN}" } -Uri x');
    expect(cleanup!.text).toBe('del /q C:\\tmp\\!OC_PARAM_SERVICE!.lock');
    expect(config).toEqual({ text: '/etc/nginx/web-1.conf', environment: stop!.environment });
    expect(stop!.environment).toEqual({
      OC_PARAM_SERVICE: 'nginx',
      OC_PARAM_MODE: 'soft',
      OC_PARAM_RETRIES: '1',
      OC_PARAM_TOKEN: 's3cret',
      OC_PARAM_HOST: 'web-1',
    });
    for (const step of [stop, clean, notify, config, cleanup]) expect(step!.text).not.toContain('s3cret');

    const relative = parse(withStep({ kind: 'file_copy', fileSha256: 'a'.repeat(64), path: '{{ service }}/x' }));
    const rendered = renderStep(relative.steps[0]!, new Map([['service', 'etc']]));
    expect(rendered.problem).toMatch(/absolute/);
  });

  it('passes shell metacharacters to /bin/sh as data: the command prints them and runs none of them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oc-jobs-'));
    try {
      const marker = join(dir, 'pwned');
      const hostile = `; touch ${marker} $(touch ${marker}) \`touch ${marker}\` 'single' "double" \\ \n| rm -rf / && * ?`;
      const job = parse({
        name: 'echo',
        parameters: [{ name: 'value', type: 'string', required: true }],
        steps: [
          { name: 'plain', kind: 'shell', command: 'printf "%s|" {{ value }}' },
          { name: 'quoted', kind: 'shell', command: 'printf "<%s>" "prefix {{ value }} suffix"' },
        ],
      });
      const run = resolveRunValues(job, { value: hostile });
      if (!run.ok) throw new Error('values refused');
      const values = deviceValues(job, run.values, { deviceId: 'd', hostname: 'h', osName: null, osVersion: null, architecture: null });
      const outputs: string[] = [];
      for (const step of job.steps) {
        const { text, environment } = renderStep(step, values);
        const { stdout } = await promisify(execFile)('/bin/sh', ['-c', text!], {
          cwd: dir,
          env: { PATH: process.env.PATH, ...environment },
        });
        outputs.push(stdout);
      }
      expect(outputs).toEqual([`${hostile}|`, `<prefix ${hostile} suffix>`]);
      expect(existsSync(marker)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
