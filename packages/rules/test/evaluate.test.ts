import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Rule } from '@opsconductor/contracts/rules';
import { compileRule, type DeviceFacts } from '../src/index.ts';
import { facts as factsArb, fieldCondition, GROUP_IDS, softwareCondition, validRule } from './arbitraries.ts';
import { makeFacts } from './helpers.ts';

const [G1, G2] = GROUP_IDS;
const run = (rule: Rule, facts: DeviceFacts) => compileRule(rule)(facts);
type Row = [op: string, value: Rule extends never ? never : unknown, expected: boolean];

function table(field: string, facts: DeviceFacts, rows: Row[]) {
  it.each(rows)(`${field} %s %j → %s`, (op, value, expected) => {
    const rule = (value === undefined ? { field, op } : { field, op, value }) as Rule;
    expect(run(rule, facts)).toBe(expected);
  });
}

describe('string fields (case-insensitive)', () => {
  table('hostname', makeFacts({ hostname: 'Web-01.Corp' }), [
    ['equals', 'web-01.corp', true],
    ['equals', 'web-01', false],
    ['not_equals', 'WEB-01.CORP', false],
    ['not_equals', 'db-01', true],
    ['contains', '01.c', true],
    ['contains', 'db', false],
    ['not_contains', 'db', true],
    ['not_contains', 'WEB', false],
    ['starts_with', 'WEB-', true],
    ['starts_with', 'corp', false],
    ['ends_with', '.CORP', true],
    ['ends_with', 'web', false],
    ['regex', '^web-\\d+\\.', true],
    ['regex', '^db', false],
    ['in', ['db-01', 'WEB-01.corp'], true],
    ['in', ['db-01'], false],
    ['not_in', ['db-01', 'web-01.corp'], false],
    ['not_in', ['db-01'], true],
    ['exists', undefined, true],
    ['not_exists', undefined, false],
  ]);

  table('os.kernel', makeFacts({ 'os.kernel': '6.1.0-18-amd64' }), [
    ['version_gte', '6.1', true],
    ['version_lt', '6.1', false],
    ['version_gt', '5.15.0', true],
    ['version_lt', '6.10', true],
    ['version_eq', '6.1.0-18-amd64', true],
    ['version_neq', '6.1.0-18-amd64', false],
  ]);

  table('os.name', makeFacts({ 'os.name': 'Windows 11 Pro' }), [
    ['contains', 'windows 11', true],
    ['regex', 'PRO$', true],
    ['regex', '^Server', false],
  ]);
});

describe('missing values fail everything but the negative operators', () => {
  for (const [label, value] of [
    ['null', null],
    ['empty string', ''],
    ['undefined', undefined],
  ] as const) {
    describe(label, () => {
      table('hostname', makeFacts({ hostname: value as never }), [
        ['equals', 'x', false],
        ['not_equals', 'x', true],
        ['contains', 'x', false],
        ['not_contains', 'x', true],
        ['starts_with', '', false],
        ['ends_with', '', false],
        ['regex', '.*', false],
        ['in', ['x'], false],
        ['not_in', ['x'], true],
        ['exists', undefined, false],
        ['not_exists', undefined, true],
        ['version_eq', '1', false],
        ['version_neq', '1', true],
        ['version_gt', '0', false],
        ['version_lte', '99', false],
      ]);
    });
  }
  table('hardware.cpuCores', makeFacts(), [
    ['gt', -1, false],
    ['lt', 1e9, false],
    ['equals', 0, false],
    ['not_equals', 0, true],
  ]);
  table('hardware.isVirtual', makeFacts(), [
    ['equals', false, false],
    ['not_equals', true, true],
  ]);
  table('tags', makeFacts({ tags: [] }), [
    ['contains', 'x', false],
    ['not_contains', 'x', true],
    ['exists', undefined, false],
    ['not_exists', undefined, true],
  ]);
  table('customFields.unset', makeFacts({ customFields: { other: 1 } }), [
    ['exists', undefined, false],
    ['not_exists', undefined, true],
  ]);
  it('reads no custom field through the prototype chain', () => {
    for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(run({ field: `customFields.${key}`, op: 'exists' }, makeFacts())).toBe(false);
      expect(run({ field: key, op: 'exists' }, makeFacts())).toBe(false);
    }
  });
});

describe('number fields', () => {
  table('hardware.cpuCores', makeFacts({ 'hardware.cpuCores': 8 }), [
    ['equals', 8, true],
    ['equals', 4, false],
    ['not_equals', 4, true],
    ['gt', 4, true],
    ['gt', 8, false],
    ['gte', 8, true],
    ['lt', 8, false],
    ['lt', 8.5, true],
    ['lte', 8, true],
    ['in', [2, 8], true],
    ['in', [2, 4], false],
    ['not_in', [2, 8], false],
    ['exists', undefined, true],
  ]);
  table('device.lastSeenAgeDays', makeFacts({ 'device.lastSeenAgeDays': 7.0001 }), [
    ['gt', 7, true],
    ['lte', 7, false],
  ]);
  describe('numeric strings are coerced', () => {
    table('customFields.rack_units', makeFacts({ customFields: { rack_units: ' 4 ' } }), [
      ['gt', 3, true],
      ['equals', 4, true],
      ['in', [1, 4], true],
    ]);
    table('customFields.rack_units', makeFacts({ customFields: { rack_units: '1e1' } }), [['equals', 10, true]]);
  });
  describe('non-numeric strings count as missing for numeric comparisons', () => {
    table('customFields.rack_units', makeFacts({ customFields: { rack_units: 'n/a' } }), [
      ['gt', 0, false],
      ['lt', 100, false],
      ['equals', 0, false],
      ['not_equals', 5, true],
      ['not_in', [5], true],
    ]);
  });
});

describe('boolean fields', () => {
  table('hardware.isVirtual', makeFacts({ 'hardware.isVirtual': true }), [
    ['equals', true, true],
    ['equals', false, false],
    ['not_equals', false, true],
    ['not_equals', true, false],
    ['exists', undefined, true],
  ]);
  table('hardware.isVirtual', makeFacts({ 'hardware.isVirtual': false }), [
    ['equals', false, true],
    ['exists', undefined, true], // false is a value, not a missing one
  ]);
  table('customFields.kiosk', makeFacts({ customFields: { kiosk: 'TRUE' } }), [['equals', true, true]]);
  table('customFields.kiosk', makeFacts({ customFields: { kiosk: 'yes' } }), [
    ['equals', true, false],
    ['equals', false, false],
    ['not_equals', true, true],
  ]);
});

describe('version fields', () => {
  table('os.version', makeFacts({ 'os.version': '10.0.22631' }), [
    ['version_gte', '10.0.22000', true],
    ['version_gt', '10.0.22631', false],
    ['version_eq', '10.0.22631.0', true],
    ['version_neq', '10.0.22631', false],
    ['version_lt', '10.0.26100', true],
    ['version_lte', '10.0.19045', false],
    ['equals', '10.0.22631', true],
    ['equals', '10.0.22631.0', false], // equals is text equality; version_eq is the version one
    ['contains', '22631', true],
    ['starts_with', '10.', true],
    ['regex', '^10\\.0\\.2\\d{4}$', true],
    ['in', ['10.0.19045', '10.0.22631'], true],
    ['not_in', ['10.0.19045'], true],
  ]);
  table('agent.version', makeFacts({ 'agent.version': '1.4.0-rc.2' }), [
    ['version_lt', '1.4.0', true],
    ['version_gte', '1.3.9', true],
  ]);
});

describe('list fields', () => {
  table('tags', makeFacts({ tags: ['Kiosk', 'Lobby'] }), [
    ['contains', 'kiosk', true],
    ['contains', 'kio', false], // an element equals, not a substring
    ['contains', 'kiosk-old', false],
    ['not_contains', 'retired', true],
    ['not_contains', 'LOBBY', false],
    ['exists', undefined, true],
    ['not_exists', undefined, false],
  ]);
  table('network.ipAddresses', makeFacts({ 'network.ipAddresses': ['10.0.0.5', 'fe80::1'] }), [
    ['contains', '10.0.0.5', true],
    ['contains', 'FE80::1', true],
    ['contains', '10.0.0', false],
  ]);
  table('security.localAdmins', makeFacts({ 'security.localAdmins': ['CORP\\Domain Admins', 'Administrator'] }), [
    ['contains', 'administrator', true],
    ['not_contains', 'corp\\domain admins', false],
  ]);
});

describe('date fields (custom)', () => {
  table('customFields.warranty_end', makeFacts({ customFields: { warranty_end: '2025-06-30' } }), [
    ['lt', '2026-01-01', true],
    ['gt', '2025-06-30T00:00:00Z', false],
    ['gte', '2025-06-30', true],
    ['gte', '2025-06-30T02:00:00+02:00', true], // the same instant
    ['lte', '2025-06-29T23:59:59Z', false],
    ['exists', undefined, true],
  ]);
  table('customFields.warranty_end', makeFacts({ customFields: { warranty_end: '2025-06-30T10:00:00' } }), [
    ['gt', '2025-06-30T09:59:59Z', true], // a zone-less date-time is UTC
    ['lt', '2025-06-30T10:00:01Z', true],
  ]);
  table('customFields.warranty_end', makeFacts({ customFields: { warranty_end: 'not a date' } }), [
    ['gt', '1970-01-01', false],
    ['lt', '2999-01-01', false],
  ]);
});

describe('custom enum and text fields', () => {
  table('customFields.ring', makeFacts({ customFields: { ring: 'Pilot' } }), [
    ['equals', 'pilot', true],
    ['in', ['broad', 'PILOT'], true],
    ['not_in', ['broad'], true],
  ]);
  table('customFields.cost_center', makeFacts({ customFields: { cost_center: 4711 } }), [
    ['equals', '4711', true], // a number stored in a text field compares as its text
    ['starts_with', '47', true],
  ]);
});

describe('software conditions', () => {
  const facts = makeFacts({
    software: [
      { name: 'Google Chrome', version: '120.0.6099.109' },
      { name: 'Google Chrome', version: '100.0.4896.60' },
      { name: 'openssl', version: '3.0.2-0ubuntu1.10' },
      { name: 'python3.11', version: '3.11.4-1' },
    ],
  });
  it.each<[string, Rule, boolean]>([
    ['present by exact name, any case', { software: { name: 'google chrome', match: 'equals' }, present: true }, true],
    ['absent by exact name', { software: { name: 'Firefox', match: 'equals' }, present: true }, false],
    ['present: false negates', { software: { name: 'google chrome', match: 'equals' }, present: false }, false],
    ['present: false on a missing package', { software: { name: 'Firefox', match: 'equals' }, present: false }, true],
    [
      'some installed copy satisfies the version',
      { software: { name: 'Google Chrome', match: 'equals', version: { op: 'version_lt', value: '110' } }, present: true },
      true,
    ],
    [
      'no copy satisfies the version',
      { software: { name: 'Google Chrome', match: 'equals', version: { op: 'version_gt', value: '121' } }, present: true },
      false,
    ],
    [
      '"has no Chrome older than 110"',
      { software: { name: 'Google Chrome', match: 'equals', version: { op: 'version_lt', value: '110' } }, present: false },
      false,
    ],
    ['contains', { software: { name: 'SSL', match: 'contains' }, present: true }, true],
    ['starts_with', { software: { name: 'Python3', match: 'starts_with' }, present: true }, true],
    ['equals is the whole name', { software: { name: 'python3', match: 'equals' }, present: true }, false],
    ['regex (i flag)', { software: { name: '^PYTHON3\\.\\d+$', match: 'regex' }, present: true }, true],
    [
      'dpkg version ordering',
      { software: { name: 'openssl', match: 'equals', version: { op: 'version_gte', value: '3.0.2-0ubuntu1.9' } }, present: true },
      true,
    ],
    [
      'version_eq',
      { software: { name: 'python3.11', match: 'equals', version: { op: 'version_eq', value: '3.11.4-1' } }, present: true },
      true,
    ],
  ])('%s', (_name, rule, expected) => {
    expect(run(rule, facts)).toBe(expected);
  });

  it('treats no software as "nothing installed"', () => {
    expect(run({ software: { name: 'x', match: 'contains' }, present: false }, makeFacts())).toBe(true);
    expect(run({ software: { name: 'x', match: 'equals' }, present: true }, makeFacts())).toBe(false);
  });

  it('sees a changed software list (the name index is per list)', () => {
    const p = compileRule({ software: { name: 'openssl', match: 'equals' }, present: true });
    expect(p(makeFacts({ software: [{ name: 'openssl', version: '3' }] }))).toBe(true);
    expect(p(makeFacts({ software: [{ name: 'curl', version: '8' }] }))).toBe(false);
  });
});

describe('group membership', () => {
  it('checks facts.groups', () => {
    expect(run({ memberOf: G1 }, makeFacts({ groups: [G1] }))).toBe(true);
    expect(run({ memberOf: G2 }, makeFacts({ groups: [G1] }))).toBe(false);
    expect(run({ memberOf: G1.toUpperCase() }, makeFacts({ groups: [G1] }))).toBe(true);
  });
  it('accepts groups as an array (facts rebuilt from JSON)', () => {
    const facts = { ...makeFacts(), groups: [G1] } as unknown as DeviceFacts;
    expect(run({ memberOf: G1 }, facts)).toBe(true);
  });
});

describe('combinators', () => {
  const facts = makeFacts({ 'os.family': 'linux', tags: ['web'] });
  const T: Rule = { field: 'os.family', op: 'equals', value: 'linux' };
  const F: Rule = { field: 'os.family', op: 'equals', value: 'windows' };
  it.each<[string, Rule, boolean]>([
    ['all true', { all: [T, T, T] }, true],
    ['all with one false', { all: [T, F, T] }, false],
    ['any with one true', { any: [F, F, T] }, true],
    ['any all false', { any: [F, F] }, false],
    ['not', { not: F }, true],
    ['nested', { all: [{ any: [F, { not: F }] }, { not: { all: [T, F] } }] }, true],
  ])('%s', (_name, rule, expected) => expect(run(rule, facts)).toBe(expected));
});

describe('properties over generated rules and facts', () => {
  const same = (a: Rule, b: Rule) =>
    fc.property(factsArb, (f) => {
      expect(compileRule(a)(f)).toBe(compileRule(b)(f));
    });

  it('evaluates every valid rule without throwing, deterministically', () => {
    fc.assert(
      fc.property(validRule, fc.array(factsArb, { minLength: 1, maxLength: 5 }), (rule, many) => {
        const p = compileRule(rule);
        for (const f of many) {
          const first = p(f);
          expect(typeof first).toBe('boolean');
          expect(p(f)).toBe(first); // no hidden state (regex lastIndex, caches)
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on facts of the wrong shape', () => {
    fc.assert(
      fc.property(validRule, fc.anything({ withNullPrototype: true, withMap: true, withSet: true }), (rule, junk) => {
        expect(typeof compileRule(rule)(junk as DeviceFacts)).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('not(not r) ≡ r', () => {
    fc.assert(
      fc.property(validRule, (r) => fc.assert(same({ not: { not: r } }, r), { numRuns: 10 })),
      { numRuns: 200 },
    );
  });

  it('De Morgan: not(all[a, b]) ≡ any[not a, not b] and not(any[a, b]) ≡ all[not a, not b]', () => {
    fc.assert(
      fc.property(validRule, validRule, (a, b) => {
        fc.assert(same({ not: { all: [a, b] } }, { any: [{ not: a }, { not: b }] }), { numRuns: 10 });
        fc.assert(same({ not: { any: [a, b] } }, { all: [{ not: a }, { not: b }] }), { numRuns: 10 });
      }),
      { numRuns: 150 },
    );
  });

  it('all[r] ≡ r ≡ any[r]', () => {
    fc.assert(
      fc.property(validRule, (r) => {
        fc.assert(same({ all: [r] }, r), { numRuns: 10 });
        fc.assert(same({ any: [r] }, r), { numRuns: 10 });
      }),
      { numRuns: 200 },
    );
  });

  it('each negative operator is exactly the negation of its positive one', () => {
    const negationOf: Record<string, string> = {
      equals: 'not_equals',
      contains: 'not_contains',
      in: 'not_in',
      exists: 'not_exists',
      version_eq: 'version_neq',
    };
    const positives = fieldCondition.filter((c) => 'op' in c && c.op in negationOf);
    fc.assert(
      fc.property(positives, factsArb, (c, f) => {
        const pos = c as { field: string; op: string; value?: unknown };
        const neg = { ...pos, op: negationOf[pos.op]! } as Rule;
        expect(compileRule(neg)(f)).toBe(!compileRule(c)(f));
      }),
      { numRuns: 2000 },
    );
  });

  it('software present: false is the negation of present: true', () => {
    fc.assert(
      fc.property(softwareCondition, factsArb, (c, f) => {
        const sw = c as { software: object; present: boolean };
        expect(compileRule({ ...sw, present: false } as Rule)(f)).toBe(!compileRule({ ...sw, present: true } as Rule)(f));
      }),
      { numRuns: 1000 },
    );
  });

  it('hits both outcomes (the generators overlap enough to test something)', () => {
    let hits = 0;
    let misses = 0;
    fc.assert(
      fc.property(fieldCondition, factsArb, (c, f) => void (compileRule(c)(f) ? hits++ : misses++)),
      { numRuns: 2000 },
    );
    expect(hits).toBeGreaterThan(200);
    expect(misses).toBeGreaterThan(200);
  });
});

describe('robustness of compileRule on rules that skipped validation', () => {
  it.each<[string, unknown, boolean]>([
    ['an empty object', {}, false],
    ['an empty all', { all: [] }, false],
    ['an unknown operator', { field: 'hostname', op: 'like', value: 'x' }, false],
    ['a negative op without a value', { field: 'hostname', op: 'not_equals' }, true],
    ['an uncompilable regex', { field: 'hostname', op: 'regex', value: '(' }, false],
    ['gt with a word', { field: 'hostname', op: 'gt', value: 'abc' }, false],
    ['an unknown software match', { software: { name: 'x', match: 'fuzzy' }, present: true }, false],
  ])('%s compiles to a total predicate', (_name, rule, expected) => {
    expect(compileRule(rule as Rule)(makeFacts({ hostname: 'web' }))).toBe(expected);
  });

  it('survives a deep or cyclic tree', () => {
    let deep: Rule = { field: 'hostname', op: 'exists' };
    for (let i = 0; i < 100_000; i++) deep = { not: deep };
    expect(compileRule(deep)(makeFacts())).toBe(false);
    const cyclic: { all: Rule[] } = { all: [] };
    cyclic.all.push(cyclic);
    expect(compileRule(cyclic)(makeFacts())).toBe(false);
  });
});
