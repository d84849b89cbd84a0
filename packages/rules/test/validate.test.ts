import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_RULE_DEPTH, MAX_RULE_NODES, rule as ruleSchema, type Rule } from '@opsconductor/contracts/rules';
import { checkRegex, MAX_ERRORS, validateRule } from '../src/index.ts';
import { ctx, GROUP_IDS, validRule } from './arbitraries.ts';

const [G1] = GROUP_IDS;

function errorsOf(input: unknown, context = ctx) {
  const r = validateRule(input, context);
  if (r.ok) throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
  return r.errors;
}

function expectValid(input: unknown, context = ctx): Rule {
  const r = validateRule(input, context);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(input)} to validate: ${JSON.stringify(r.errors)}`);
  return r.rule;
}

const nest = (depth: number, leaf: Rule): Rule => {
  let r: Rule = leaf;
  for (let i = 1; i < depth; i++) r = { not: r };
  return r;
};

describe('validateRule: accepts valid rules', () => {
  // `unknown`: inputs may omit what the contract defaults (e.g. a software condition's `match`).
  it.each<[string, unknown]>([
    ['a string equality', { field: 'hostname', op: 'equals', value: 'web-01' }],
    ['a version comparison on a version field', { field: 'os.version', op: 'version_gte', value: '10.0.22000' }],
    ['a version comparison on a string field', { field: 'os.kernel', op: 'version_lt', value: '6.1' }],
    ['string ops on a version field', { field: 'agent.version', op: 'starts_with', value: '1.' }],
    ['in with numbers', { field: 'hardware.cpuCores', op: 'in', value: [2, 4, 8] }],
    ['a boolean', { field: 'hardware.isVirtual', op: 'equals', value: false }],
    ['exists without a value', { field: 'fqdn', op: 'exists' }],
    ['list contains', { field: 'tags', op: 'contains', value: 'kiosk' }],
    ['an enum value in any case', { field: 'os.family', op: 'equals', value: 'Windows' }],
    ['an open catalog list', { field: 'os.architecture', op: 'equals', value: 'riscv64' }],
    ['a safe regex', { field: 'hostname', op: 'regex', value: '^(\\d{1,3}\\.){3}\\d{1,3}$' }],
    ['a regex that backtracks catastrophically elsewhere (linear on RE2)', { field: 'hostname', op: 'regex', value: '^(a|a)*$' }],
    ['custom text', { field: 'customFields.cost_center', op: 'starts_with', value: 'CC-' }],
    ['custom number', { field: 'customFields.rack_units', op: 'gte', value: 2 }],
    ['custom boolean', { field: 'customFields.kiosk', op: 'equals', value: true }],
    ['custom date (date only)', { field: 'customFields.warranty_end', op: 'lt', value: '2026-01-01' }],
    ['custom date (date-time with offset)', { field: 'customFields.warranty_end', op: 'gte', value: '2025-06-30T12:00:00+02:00' }],
    ['custom enum', { field: 'customFields.ring', op: 'in', value: ['pilot', 'late'] }],
    ['software with version', { software: { name: 'Google Chrome', version: { op: 'version_lt', value: '120' } }, present: true }],
    ['software regex', { software: { name: '^python3(\\.\\d+)?$', match: 'regex' }, present: false }],
    ['group membership', { memberOf: G1 }],
    [
      'a tree',
      {
        all: [
          { any: [{ field: 'os.family', op: 'equals', value: 'linux' }, { not: { memberOf: G1 } }] },
          { field: 'tags', op: 'not_contains', value: 'retired' },
        ],
      },
    ],
    ['maximum depth', nest(MAX_RULE_DEPTH, { field: 'hostname', op: 'exists' })],
  ])('%s', (_name, input) => {
    expectValid(input);
  });

  it('applies the contract defaults (match: equals, present: true)', () => {
    expect(expectValid({ software: { name: 'openssl' } })).toEqual({ software: { name: 'openssl', match: 'equals' }, present: true });
  });

  it('accepts exactly MAX_RULE_NODES nodes', () => {
    // 3 levels: root any of 13 alls of 22 leaves = 1 + 13 + 286 = 300 nodes.
    const leaf: Rule = { field: 'hostname', op: 'exists' };
    const big: Rule = { any: Array.from({ length: 13 }, () => ({ all: Array.from({ length: 22 }, () => leaf) })) };
    expectValid(big);
  });

  it('accepts every generated valid rule', () => {
    fc.assert(
      fc.property(validRule, (r) => void expectValid(r)),
      { numRuns: 500 },
    );
  });
});

describe('validateRule: reports what is wrong, where', () => {
  it.each<[string, unknown, { path: string; message: RegExp }[]]>([
    ['not an object', 42, [{ path: '', message: /expected a rule/ }]],
    ['null', null, [{ path: '', message: /expected a rule/ }]],
    ['an array', [], [{ path: '', message: /expected a rule/ }]],
    ['an empty object', {}, [{ path: '', message: /one of all, any, not, field, software or memberOf/ }]],
    ['mixed node kinds', { all: [{ memberOf: G1 }], field: 'hostname' }, [{ path: '', message: /mixes all and field/ }]],
    ['an empty all', { all: [] }, [{ path: 'all', message: /at least 1 item/ }]],
    ['all is not a list', { any: { field: 'hostname' } }, [{ path: 'any', message: /expected a list, got an object/ }]],
    ['too many children', { all: Array.from({ length: 101 }, () => ({ memberOf: G1 })) }, [{ path: 'all', message: /at most 100 items/ }]],
    ['an extra key on a combinator', { not: { memberOf: G1 }, why: 1 }, [{ path: 'why', message: /unknown property "why"/ }]],
    [
      'a wrong value deep inside',
      { all: [{ memberOf: G1 }, { any: [{ field: 'hardware.cpuCores', op: 'gt', value: 'four' }] }] },
      [{ path: 'all.1.any.0.value', message: /expected a number, got "four"/ }],
    ],
    ['an unknown field', { field: 'os.flavour', op: 'equals', value: 'x' }, [{ path: 'field', message: /unknown field "os.flavour"/ }]],
    ['an unknown custom field', { field: 'customFields.nope', op: 'exists' }, [{ path: 'field', message: /unknown custom field "nope"/ }]],
    ['an empty field name', { field: '', op: 'exists' }, [{ path: 'field', message: /must not be empty/ }]],
    ['an unknown operator', { field: 'hostname', op: 'like', value: 'x' }, [{ path: 'op', message: /unknown operator "like"/ }]],
    [
      'an operator for another type',
      { field: 'hostname', op: 'gt', value: 3 },
      [{ path: 'op', message: /"gt" does not apply to hostname \(a string field\)/ }],
    ],
    [
      'a list operator on a list field it does not support',
      { field: 'tags', op: 'equals', value: 'x' },
      [{ path: 'op', message: /does not apply to tags \(a list field\)/ }],
    ],
    [
      'substring ops on a date',
      { field: 'customFields.warranty_end', op: 'equals', value: '2025-01-01' },
      [{ path: 'op', message: /use one of: gt, gte, lt, lte, exists, not_exists/ }],
    ],
    ['a value for exists', { field: 'fqdn', op: 'not_exists', value: 'x' }, [{ path: 'value', message: /"not_exists" takes no value/ }]],
    ['no value', { field: 'hostname', op: 'contains' }, [{ path: 'value', message: /"contains" needs a value/ }]],
    ['in without a list', { field: 'hostname', op: 'in', value: 'web-01' }, [{ path: 'value', message: /"in" needs a non-empty list/ }]],
    [
      'in with an empty list',
      { field: 'hostname', op: 'not_in', value: [] },
      [{ path: 'value', message: /"not_in" needs a non-empty list/ }],
    ],
    [
      'a list for a scalar operator',
      { field: 'hostname', op: 'equals', value: ['a', 'b'] },
      [{ path: 'value', message: /takes a single value, not a list/ }],
    ],
    [
      'a bad element of in',
      { field: 'hardware.cpuCores', op: 'in', value: [2, '4', 8] },
      [{ path: 'value.1', message: /expected a number, got "4"/ }],
    ],
    [
      'an object as value',
      { field: 'hostname', op: 'equals', value: { a: 1 } },
      [{ path: 'value', message: /expected a string, number, boolean or a list of them, got an object/ }],
    ],
    [
      'an object inside in',
      { field: 'hostname', op: 'in', value: ['a', null] },
      [{ path: 'value.1', message: /expected a string, number or boolean, got null/ }],
    ],
    [
      'a value that is too long',
      { field: 'hostname', op: 'equals', value: 'x'.repeat(1001) },
      [{ path: 'value', message: /at most 1000 characters/ }],
    ],
    [
      'a string for a boolean',
      { field: 'hardware.isVirtual', op: 'equals', value: 'true' },
      [{ path: 'value', message: /expected true or false/ }],
    ],
    [
      'a number for a string',
      { field: 'os.build', op: 'equals', value: 22631 },
      [{ path: 'value', message: /expected a string, got 22631/ }],
    ],
    [
      'a number as a version',
      { field: 'os.version', op: 'version_gte', value: 10.1 },
      [{ path: 'value', message: /a version must be a string/ }],
    ],
    [
      'an unparseable version',
      { field: 'agent.version', op: 'version_eq', value: 'latest' },
      [{ path: 'value', message: /"latest" is not a version/ }],
    ],
    [
      'an invalid date',
      { field: 'customFields.warranty_end', op: 'gt', value: '2024-02-30' },
      [{ path: 'value', message: /expected an ISO 8601 date/ }],
    ],
    [
      'a non-ISO date',
      { field: 'customFields.warranty_end', op: 'gt', value: '03/04/2025' },
      [{ path: 'value', message: /expected an ISO 8601 date/ }],
    ],
    [
      'an unknown built-in enum value',
      { field: 'os.family', op: 'equals', value: 'solaris' },
      [{ path: 'value', message: /"solaris" is not one of: windows, linux, macos, other/ }],
    ],
    [
      'an unknown custom enum value',
      { field: 'customFields.ring', op: 'in', value: ['pilot', 'canary'] },
      [{ path: 'value.1', message: /"canary" is not one of: pilot, broad, Late/ }],
    ],
    [
      'a regex that does not compile',
      { field: 'hostname', op: 'regex', value: '(web' },
      [{ path: 'value', message: /invalid regular expression/ }],
    ],
    [
      'a long regex',
      { field: 'hostname', op: 'regex', value: 'a'.repeat(201) },
      [{ path: 'value', message: /longer than 200 characters/ }],
    ],
    [
      'a lookahead (not RE2)',
      { field: 'hostname', op: 'regex', value: '^(?!web)' },
      [{ path: 'value', message: /invalid regular expression: .*no lookaround or backreferences/ }],
    ],
    [
      'a backreference (not RE2)',
      { software: { name: '(a)\\1', match: 'regex' } },
      [{ path: 'software.name', message: /invalid regular expression/ }],
    ],
    [
      'too many regexes',
      { any: Array.from({ length: 21 }, () => ({ field: 'hostname', op: 'regex', value: '^web' })) },
      [{ path: 'any.20.value', message: /at most 20 regular expressions/ }],
    ],
    [
      'an unknown software match',
      { software: { name: 'x', match: 'like' } },
      [{ path: 'software.match', message: /must be one of: equals, contains, starts_with, regex/ }],
    ],
    [
      'an unparseable software version',
      { software: { name: 'x', version: { op: 'version_gt', value: 'new' } } },
      [{ path: 'software.version.value', message: /"new" is not a version/ }],
    ],
    [
      'a software version operator',
      { software: { name: 'x', version: { op: 'gt', value: '1' } } },
      [{ path: 'software.version.op', message: /unknown operator "gt"; use one of: version_eq, version_neq/ }],
    ],
    [
      'present not boolean',
      { software: { name: 'x' }, present: 'yes' },
      [{ path: 'present', message: /expected a boolean, got a string/ }],
    ],
    ['a software name missing', { software: {} }, [{ path: 'software.name', message: /required/ }]],
    ['memberOf not a UUID', { memberOf: 'servers' }, [{ path: 'memberOf', message: /must be a group ID/ }]],
    ['memberOf an unknown group', { memberOf: '11111111-1111-4111-8111-111111111111' }, [{ path: 'memberOf', message: /unknown group/ }]],
    [
      'too deep',
      nest(MAX_RULE_DEPTH + 1, { field: 'hostname', op: 'exists' }),
      [{ path: `${'not.'.repeat(MAX_RULE_DEPTH).slice(0, -1)}`, message: /at most 12 levels/ }],
    ],
    [
      'several errors at once',
      { any: [{ field: 'nope', op: 'exists' }, { field: 'hostname', op: 'gt', value: 1 }, 7] },
      [
        { path: 'any.0.field', message: /unknown field/ },
        { path: 'any.1.op', message: /does not apply/ },
        { path: 'any.2', message: /expected a rule/ },
      ],
    ],
  ])('%s', (_name, input, expected) => {
    const errors = errorsOf(input);
    expect(errors).toHaveLength(expected.length);
    expected.forEach((e, i) => {
      expect(errors[i]!.path).toBe(e.path);
      expect(errors[i]!.message).toMatch(e.message);
    });
  });

  it('refuses more than MAX_RULE_NODES nodes', () => {
    const leaf: Rule = { field: 'hostname', op: 'exists' };
    const big: Rule = { any: Array.from({ length: 4 }, () => ({ all: Array.from({ length: 100 }, () => leaf) })) };
    expect(errorsOf(big)).toEqual([{ path: '', message: `a rule has at most ${MAX_RULE_NODES} conditions and groups` }]);
  });

  it('does not check memberOf targets without groupIds, but refuses the group itself', () => {
    const other = '11111111-1111-4111-8111-111111111111';
    expectValid({ memberOf: other }, { customFields: ctx.customFields });
    expect(errorsOf({ all: [{ memberOf: G1 }] }, { ...ctx, groupId: G1.toUpperCase() })).toEqual([
      { path: 'all.0.memberOf', message: 'a group cannot be a member of itself' },
    ]);
  });

  it('bounds the number of errors', () => {
    const bad = { any: Array.from({ length: 100 }, () => ({ field: 'nope', op: 'exists' })) };
    expect(errorsOf(bad)).toHaveLength(MAX_ERRORS);
  });
});

describe('validateRule: never throws', () => {
  const rejectUnlessValid = (input: unknown) => {
    const result = validateRule(input, ctx);
    // Whatever it accepts, the contract accepts too (and it returns the contract's parse).
    if (result.ok) expect(result.rule).toEqual(ruleSchema.parse(input));
    else expect(result.errors.length).toBeGreaterThan(0);
  };

  it('on arbitrary JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), rejectUnlessValid), { numRuns: 1000 });
  });

  it('on arbitrary values (prototype-less objects, symbols, functions, sparse arrays…)', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withNullPrototype: true,
          withObjectString: true,
          withSparseArray: true,
          withBoxedValues: true,
          withMap: true,
          withSet: true,
          withBigInt: true,
          withDate: true,
          withTypedArray: true,
        }),
        rejectUnlessValid,
      ),
      { numRuns: 1000 },
    );
  });

  it('on rule-shaped JSON (valid rules with a subtree replaced by junk)', () => {
    const junk = fc.oneof(
      fc.jsonValue(),
      fc.record({ field: fc.string(), op: fc.string(), value: fc.jsonValue() }, { requiredKeys: [] }),
      fc.record({ all: fc.jsonValue(), any: fc.jsonValue(), not: fc.jsonValue() }, { requiredKeys: [] }),
    );
    const mutate = (r: unknown, path: number[], replacement: unknown): unknown => {
      if (path.length === 0 || typeof r !== 'object' || r === null) return replacement;
      const [head, ...rest] = path;
      const obj = r as Record<string, unknown>;
      const key = Object.keys(obj)[head! % Math.max(1, Object.keys(obj).length)];
      if (key === undefined) return replacement;
      const child = obj[key];
      if (Array.isArray(child)) {
        const copy = [...child];
        const i = (rest[0] ?? 0) % Math.max(1, copy.length);
        copy[i] = mutate(copy[i], rest.slice(1), replacement);
        return { ...obj, [key]: copy };
      }
      return { ...obj, [key]: mutate(child, rest, replacement) };
    };
    fc.assert(
      fc.property(validRule, fc.array(fc.nat(5), { maxLength: 6 }), junk, (r, path, replacement) =>
        rejectUnlessValid(mutate(r, path, replacement)),
      ),
      { numRuns: 1000 },
    );
  });

  it('on hostile shapes: very deep, cyclic, throwing getters', () => {
    let deep: unknown = { field: 'hostname', op: 'exists' };
    for (let i = 0; i < 100_000; i++) deep = { not: deep };
    expect(validateRule(deep, ctx)).toMatchObject({ ok: false, errors: [{ message: /at most 12 levels/ }] });

    const cyclic: Record<string, unknown> = {};
    cyclic.all = [cyclic];
    expect(validateRule(cyclic, ctx).ok).toBe(false);

    const getter = Object.defineProperty({}, 'field', {
      enumerable: true,
      get: () => {
        throw new Error('boom');
      },
    });
    expect(validateRule(getter, ctx)).toMatchObject({ ok: false, errors: [{ path: '' }] });

    const proxy = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('no keys');
        },
      },
    );
    expect(validateRule(proxy, ctx).ok).toBe(false);

    const wide = { any: Array.from({ length: 1_000_000 }, () => ({ memberOf: G1 })) };
    expect(validateRule(wide, ctx)).toMatchObject({ ok: false, errors: [{ path: 'any', message: /at most 100 items/ }] });
  });
});

describe('checkRegex: RE2 syntax', () => {
  // Shapes a backtracking engine can blow up on are fine: rules run on RE2 (regex.test.ts times them).
  it.each([
    '(a+)+',
    '(.*)*',
    '(\\w+\\s?)*',
    '(a*)*b',
    '((ab)+)+',
    '(?:x+y?)+$',
    '(a|b+)*',
    '(\\d+\\.){3}',
    '(a{1,}){2}',
    '(x+)+?',
    '(?<n>a+)+',
    '([a-z]+\\d*)*z',
    '^web-\\d+$',
    '(foo|bar)+',
    '(\\d{1,3}\\.){3}\\d{1,3}',
    '[(a+)+]',
    '\\(a+\\)+',
    '(ab)+',
    '(a?)+',
    '^(?:[a-z]{2}-){2}\\d+$',
    '(a+)b+',
    'a{2}{',
    '.*\\.corp\\.example\\.com$',
  ])('allows %j', (re) => {
    expect(checkRegex(re)).toBeNull();
  });

  it.each(['(?=a+)b', '(?!a)', '(?<=a)b', '(a)\\1', '(', '[z-a]'])('refuses %j', (re) => {
    expect(checkRegex(re)).toMatch(/invalid regular expression/);
  });
});
