/**
 * A job definition as a YAML file: written for people and diffs (the schema comment, block literals, a readable
 * key order, quoting that YAML 1.1 tools read the same), read back to the same definition and digest, and what YAML
 * could add to JSON refused with a position: tags, directives, several documents, duplicate keys, control
 * characters, aliases and nesting past the limits.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { jobDefinition, type JobDefinition } from '@opsconductor/contracts/jobs';
import {
  DEFAULT_YAML_LIMITS,
  JOB_DEFINITION_SCHEMA_ID,
  isYamlMediaType,
  jobDefinitionDigest,
  jobDefinitionFileName,
  readYamlDocument,
  renderJobDefinitionYaml,
} from '../src/index.ts';

/** Text a YAML writer easily gets wrong: significant whitespace, look-alikes of other types, indicators, Unicode. */
const trickyTexts = [
  '#!/bin/bash\nset -eu\nif [ -f /etc/x ]; then\n  echo "{{ service }}"\nfi\n',
  'no trailing newline\nsecond line',
  '  leading spaces\nand trailing  \n\n\n',
  'tab\there\n\tindented by a tab',
  'windows\r\nline ends',
  'yes',
  'on',
  'null',
  '~',
  '0777',
  '0x1F',
  '1e3',
  '.inf',
  '- looks like a list\n# and a comment\n',
  'key: value',
  'it\'s "quoted"',
  '{{ service }}',
  '%YAML 1.1',
  '--- not a document',
  'ünïcödé ✓ 日本語 🚀',
  'ends with a backslash \\',
];

const definitionWith = (text: string): JobDefinition =>
  jobDefinition.parse({
    name: 'tricky',
    description: text,
    parameters: [
      { name: 'service', type: 'string', default: text },
      { name: 'level', type: 'enum', values: ['low', text === 'low' ? 'x' : text] },
      { name: 'n', type: 'number', default: -0.5, min: -1e21, max: 1e21 },
    ],
    steps: [
      { name: 'script', kind: 'script', interpreter: 'bash', body: text.includes('{{') ? 'echo' : text },
      { name: 'shell', kind: 'shell', command: text.includes('{{') ? 'true' : `${text}` },
    ],
    chains: { onSuccess: 'next-job' },
    approval: {},
  });

describe('a job definition as a YAML file', () => {
  it('reads back to the same definition and digest, whatever the text in it', () => {
    for (const text of trickyTexts) {
      const def = definitionWith(text);
      const read = readYamlDocument(renderJobDefinitionYaml(def));
      expect(read.ok, JSON.stringify(text)).toBe(true);
      const back = jobDefinition.parse(read.ok ? read.value : undefined);
      expect(back, JSON.stringify(text)).toEqual(def);
      expect(jobDefinitionDigest(back), JSON.stringify(text)).toBe(jobDefinitionDigest(def));
    }
  });

  it('starts with the schema comment for editors, writes scripts as literal blocks and reads in a useful order', () => {
    const def = jobDefinition.parse({
      name: 'restart',
      steps: [{ name: 'script', kind: 'script', interpreter: 'sh', body: 'set -eu\nsystemctl restart nginx\n', timeoutSeconds: 60 }],
    });
    // As a stored definition comes back from jsonb: keys in another order.
    const shuffled = JSON.parse(
      JSON.stringify({ steps: def.steps, chains: def.chains, name: def.name, schemaVersion: 1, description: '', parameters: [] }),
    );
    const text = renderJobDefinitionYaml(shuffled as JobDefinition);
    expect(text.split('\n')[0]).toBe(`# yaml-language-server: $schema=${JOB_DEFINITION_SCHEMA_ID}`);
    expect(text).toContain('    body: |\n      set -eu\n      systemctl restart nginx\n');
    expect([...text.matchAll(/^(\w+):/gm)].map((m) => m[1])).toEqual([
      'schemaVersion',
      'name',
      'description',
      'parameters',
      'steps',
      'chains',
    ]);
    expect(text).toMatch(/^ {2}- name: script\n {4}kind: script\n/m);
  });

  it('quotes what a YAML 1.1 reader would take for a boolean or an octal number', () => {
    const text = renderJobDefinitionYaml(definitionWith('yes'));
    expect(text).toMatch(/^description: "yes"$/m);
    expect(renderJobDefinitionYaml(definitionWith('0777'))).toMatch(/^description: "0777"$/m);
    // …and a standard reader (yaml's YAML 1.1 mode) reads the same strings.
    expect(parseYaml(text, { version: '1.1' }).description).toBe('yes');
  });

  it('names the file after the job, safely', () => {
    expect(jobDefinitionFileName('Restart nginx / prod', 'yaml')).toBe('Restart-nginx-prod.job.yaml');
    expect(jobDefinitionFileName('../..', 'json')).toBe('..-...job.json');
    expect(jobDefinitionFileName('"; rm -rf', 'yaml')).toBe('rm--rf.job.yaml');
    expect(jobDefinitionFileName('日本', 'json')).toBe('job.job.json');
  });

  it('knows the YAML media types, with or without parameters', () => {
    for (const type of ['application/yaml', 'Application/X-YAML; charset=utf-8', 'text/yaml']) expect(isYamlMediaType(type)).toBe(true);
    for (const type of [undefined, '', 'application/json', 'text/plain', 'application/yaml+json'])
      expect(isYamlMediaType(type)).toBe(false);
  });
});

describe('reading YAML', () => {
  const refused = (text: string, limits = DEFAULT_YAML_LIMITS) => {
    const read = readYamlDocument(text, limits);
    if (read.ok) throw new Error(`read ${JSON.stringify(text.slice(0, 60))} as ${JSON.stringify(read.value).slice(0, 60)}`);
    return read;
  };

  it('reads the YAML 1.2 core schema: no YAML 1.1 booleans, octals, merge keys or timestamps', () => {
    const read = readYamlDocument('a: yes\nb: 0o17\nc: 017\nd: 2001-12-14\ne: ~\nf: 0x10\ng:\n  <<: {x: 1}\n');
    expect(read).toEqual({ ok: true, value: { a: 'yes', b: 15, c: 17, d: '2001-12-14', e: null, f: 16, g: { '<<': { x: 1 } } } });
    expect(readYamlDocument('%YAML 1.2\n---\na: 1\n')).toEqual({ ok: true, value: { a: 1 } });
  });

  it('refuses tags, directives and several documents, naming the line and column', () => {
    for (const tag of [
      '!!js/function "function () {}"',
      '!!binary aGVsbG8=',
      '!!set {a, b}',
      '!local x',
      '! x',
      '!<tag:yaml.org,2002:str> x',
    ]) {
      expect(refused(`name: x\nsteps: ${tag}\n`), tag).toMatchObject({
        message: expect.stringMatching(/^The tag .* is not allowed/),
        line: 2,
        column: 8,
      });
    }
    expect(refused('%YAML 1.1\n---\na: yes\n')).toMatchObject({ message: 'The directive %YAML 1.1 is not allowed', line: 1, column: 1 });
    expect(refused('%TAG !e! tag:example.com,2000:\n---\na: 1\n')).toMatchObject({ line: 1, column: 1 });
    expect(refused('a: 1\n---\nb: 2\n')).toMatchObject({ message: expect.stringMatching(/several documents/), line: 2, column: 1 });
    expect(refused('a: 1\n---\n')).toMatchObject({ line: 2 });
  });

  it('refuses duplicate keys and syntax errors where they are', () => {
    expect(refused('name: a\nsteps: []\nname: b\n')).toEqual({ ok: false, message: 'Map keys must be unique', line: 3, column: 1 });
    expect(refused('name: x\nsteps:\n  - name: a\n   kind: shell\n')).toMatchObject({ line: 4, column: 1 });
    expect(refused('a: "unterminated\n')).toMatchObject({ message: expect.stringMatching(/quote/), line: 2 });
    expect(refused('a: *undefined\n').message).toMatch(/Unresolved alias/);
  });

  it('refuses NUL, other control characters and unpaired surrogates in the text', () => {
    expect(refused('name: x\nsteps: "a\u0000b"\n')).toMatchObject({ message: expect.stringMatching(/^U\+0000 /), line: 2, column: 10 });
    expect(refused('a: "\u001b[31m"')).toMatchObject({ message: expect.stringMatching(/^U\+001B /), line: 1, column: 5 });
    expect(refused('a: \ud800')).toMatchObject({ message: expect.stringMatching(/^U\+D800 /) });
    // Escapes are YAML's own: what they make is checked with the value (as NUL in JSON's "\u0000" is).
    expect(readYamlDocument('a: "x\\0y"')).toEqual({ ok: true, value: { a: 'x\u0000y' } });
  });

  it('bounds aliases, size and nesting', () => {
    let laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 1; i < 10; i++) {
      const [name, previous] = [String.fromCharCode(97 + i), String.fromCharCode(96 + i)];
      laughs += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]\n`;
    }
    expect(refused(laughs).message).toMatch(/alias/);
    // Few aliases of one long string: within the alias count, over the expanded size.
    expect(
      refused(`s: &s ${'x'.repeat(2000)}\nl: [${Array(20).fill('*s').join(',')}]\n`, { ...DEFAULT_YAML_LIMITS, maxExpandedSize: 30_000 })
        .message,
    ).toMatch(/aliases expanded/);
    expect(readYamlDocument('r: &r {count: 1}\ns: *r\n')).toEqual({ ok: true, value: { r: { count: 1 }, s: { count: 1 } } });

    expect(refused(`a: ${'['.repeat(33)}${']'.repeat(33)}`).message).toMatch(/nested more than 32 levels/);
    expect(refused(`${'- '.repeat(40)}x`).message).toMatch(/nested more than 32 levels/);
    expect(readYamlDocument(`a: ${'['.repeat(31)}${']'.repeat(31)}`).ok).toBe(true);
    expect(refused('['.repeat(1_000_000)).message).toMatch(/more than 100000 tokens/);
    expect(refused('a: [1, 2, 3, 4, 5]', { ...DEFAULT_YAML_LIMITS, maxTokens: 10 }).message).toMatch(/more than 10 tokens/);
  });
});
