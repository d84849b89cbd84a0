/**
 * fast-check arbitraries shared by the rules tests: versions of every flavour, valid rules over the
 * whole field catalog (plus a fixed set of custom fields and groups), and device facts that overlap
 * with the rules' values often enough for the equivalence properties to exercise both outcomes.
 */
import fc from 'fast-check';
import { operatorsByType, ruleFields, type FieldType, type Rule } from '@opsconductor/contracts/rules';
import { builtInFieldTypes, isValidVersion, type CustomFieldDef, type DeviceFacts, type ValidationContext } from '../src/index.ts';

// ---- versions ----------------------------------------------------------------------------------

const num = fc.integer({ min: 0, max: 30 }).map(String);
const bigNum = fc.oneof(num, fc.integer({ min: 0, max: 99999 }).map(String), fc.constantFrom('007', '00', '18446744073709551617'));
const word = fc.constantFrom('alpha', 'beta', 'rc', 'a', 'b', 'dev', 'ubuntu', 'el9', 'deb12u1', 'dfsg', 'git', 'pre');

export const semver = fc
  .tuple(
    num,
    num,
    num,
    fc.option(fc.array(fc.oneof(word, num), { minLength: 1, maxLength: 3 }), { nil: undefined }),
    fc.option(fc.array(fc.oneof(word, num), { minLength: 1, maxLength: 2 }), { nil: undefined }),
    fc.boolean(),
  )
  .map(([a, b, c, pre, build, v]) => `${v ? 'v' : ''}${a}.${b}.${c}${pre ? `-${pre.join('.')}` : ''}${build ? `+${build.join('.')}` : ''}`);

export const dotted = fc.array(bigNum, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.'));

export const dpkg = fc
  .tuple(
    fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    fc.array(fc.oneof(num, word), { minLength: 1, maxLength: 4 }),
    fc.array(fc.constantFrom('.', '+', '~', '_', ''), { minLength: 4, maxLength: 4 }),
    fc.option(fc.tuple(num, fc.option(word, { nil: undefined }), fc.option(num, { nil: undefined })), { nil: undefined }),
  )
  .map(([epoch, parts, seps, rev]) => {
    let upstream = parts[0]!;
    for (let i = 1; i < parts.length; i++) upstream += (seps[i - 1] ?? '.') + parts[i];
    const revision = rev ? `-${rev[0]}${rev[1] ?? ''}${rev[2] ?? ''}` : '';
    return `${epoch === undefined ? '' : `${epoch}:`}${upstream}${revision}`;
  });

/** Strings over a tiny alphabet: the near-collisions where ordering bugs hide. */
export const versionSoup = fc.string({
  unit: fc.constantFrom('0', '1', '2', '9', '.', '-', '~', '+', ':', 'a', 'b', 'v', '_', 'A'),
  maxLength: 10,
});

export const anyVersion = fc.oneof(semver, dotted, dpkg, versionSoup);
export const validVersion = fc.oneof(semver, dotted, dpkg).filter(isValidVersion);

// ---- the validation context ----------------------------------------------------------------------

export const GROUP_IDS = [
  '6f1c2a4e-8d2b-4c1a-9e7f-0a1b2c3d4e5f',
  'a3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
  '0d9e8f7a-6b5c-4d3e-a2f1-0e9d8c7b6a59',
] as const;

export const customFieldDefs = new Map<string, CustomFieldDef>([
  ['cost_center', { type: 'text', enumValues: [] }],
  ['rack_units', { type: 'number', enumValues: [] }],
  ['kiosk', { type: 'boolean', enumValues: [] }],
  ['warranty_end', { type: 'date', enumValues: [] }],
  ['ring', { type: 'enum', enumValues: ['pilot', 'broad', 'Late'] }],
]);

export const ctx: ValidationContext = { customFields: customFieldDefs, groupIds: new Set(GROUP_IDS) };

interface FieldSpec {
  key: string;
  type: FieldType;
  values?: readonly string[];
}

/** Every field a rule may name in `ctx`, typed, with the closed value sets validation enforces. */
export const fieldSpecs: FieldSpec[] = [
  ...ruleFields.map((f) => ({ key: f.key, type: f.type, ...(f.values && f.key !== 'os.architecture' ? { values: f.values } : {}) })),
  { key: 'customFields.cost_center', type: 'string' },
  { key: 'customFields.rack_units', type: 'number' },
  { key: 'customFields.kiosk', type: 'boolean' },
  { key: 'customFields.warranty_end', type: 'date' },
  { key: 'customFields.ring', type: 'string', values: ['pilot', 'broad', 'Late'] },
];

// ---- values shared by rules and facts (so they collide) -----------------------------------------

export const vocabulary = [
  'windows',
  'linux',
  'Windows 11 Pro',
  'Windows Server 2022',
  'Debian GNU/Linux 12',
  'web-01',
  'WEB',
  'x64',
  'server',
  'laptop',
  'kvm',
  'physical',
  'ad',
  'corp.example.com',
  'kiosk',
  '10.0.0.5',
  'fe80::1',
  'Administrator',
  'root',
  'UTC',
  'pilot',
  'broad',
  '12',
  '3.5',
  '',
];
const text = fc.oneof(fc.constantFrom(...vocabulary), fc.string({ maxLength: 12 }));
const smallNumber = fc.oneof(
  fc.integer({ min: -3, max: 120 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 7, 10, 0.5),
);
const isoDate = fc
  .date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2040-12-31T00:00:00Z'), noInvalidDate: true })
  .chain((d) => fc.constantFrom(d.toISOString(), d.toISOString().slice(0, 10), d.toISOString().replace('Z', '+02:00')));
/** Regexes that pass the safety check. */
const safeRegex = fc.constantFrom(
  '^web-\\d+$',
  'server',
  '^(win|lin)',
  '\\.corp\\.example\\.com$',
  '^10\\.',
  '(\\d{1,3}\\.){3}\\d{1,3}',
  '[a-z]+-0[1-9]',
  'Pro$',
  '',
);

function valueFor(spec: FieldSpec, op: string): fc.Arbitrary<string | number | boolean> {
  if (op.startsWith('version_')) return validVersion;
  if (op === 'regex') return safeRegex;
  switch (spec.type) {
    case 'number':
      return smallNumber;
    case 'boolean':
      return fc.boolean();
    case 'date':
      return isoDate;
    default:
      if (spec.values && ['equals', 'not_equals', 'in', 'not_in'].includes(op)) return fc.constantFrom(...spec.values);
      return text;
  }
}

export const fieldCondition: fc.Arbitrary<Rule> = fc
  .constantFrom(...fieldSpecs.flatMap((spec) => operatorsByType[spec.type].map((op) => ({ spec, op }))))
  .chain(({ spec, op }) => {
    if (op === 'exists' || op === 'not_exists') return fc.constant<Rule>({ field: spec.key, op });
    if (op === 'in' || op === 'not_in')
      return fc.array(valueFor(spec, op), { minLength: 1, maxLength: 4 }).map((value): Rule => ({ field: spec.key, op, value }));
    return valueFor(spec, op).map((value): Rule => ({ field: spec.key, op, value }));
  });

const softwareNames = ['Google Chrome', 'openssl', 'Mozilla Firefox', 'python3', 'libssl3', '7-Zip'];

export const softwareCondition: fc.Arbitrary<Rule> = fc
  .record({
    match: fc.constantFrom('equals', 'contains', 'starts_with', 'regex') as fc.Arbitrary<'equals' | 'contains' | 'starts_with' | 'regex'>,
    name: fc.constantFrom(...softwareNames, 'chrome', 'ssl', 'Mozilla', '^python\\d?$'),
    version: fc.option(
      fc.record({
        op: fc.constantFrom(
          'version_eq',
          'version_neq',
          'version_gt',
          'version_gte',
          'version_lt',
          'version_lte',
        ) as fc.Arbitrary<'version_eq'>,
        value: fc.oneof(fc.constantFrom('1.0', '120.0.6099.109', '3.0.2-0ubuntu1.10', '3.11'), validVersion),
      }),
      { nil: undefined },
    ),
    present: fc.boolean(),
  })
  .map(({ match, name, version, present }): Rule => ({ software: { name, match, ...(version ? { version } : {}) }, present }));

export const groupCondition: fc.Arbitrary<Rule> = fc.constantFrom(...GROUP_IDS).map((memberOf): Rule => ({ memberOf }));

export const leaf: fc.Arbitrary<Rule> = fc.oneof(
  { weight: 6, arbitrary: fieldCondition },
  { weight: 2, arbitrary: softwareCondition },
  { weight: 1, arbitrary: groupCondition },
);

/** Valid rules: depth ≤ 5, ≤ 3 children per combinator (≤ 121 nodes, inside the contract's limits). */
export const validRule: fc.Arbitrary<Rule> = fc.letrec<{ rule: Rule }>((tie) => ({
  rule: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'rule' },
    leaf,
    fc.array(tie('rule'), { minLength: 1, maxLength: 3, depthIdentifier: 'rule' }).map((all): Rule => ({ all })),
    fc.array(tie('rule'), { minLength: 1, maxLength: 3, depthIdentifier: 'rule' }).map((any): Rule => ({ any })),
    tie('rule').map((not): Rule => ({ not })),
  ),
})).rule;

// ---- facts ---------------------------------------------------------------------------------------

const nullish = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 4 });
const list = fc.array(fc.oneof(fc.constantFrom(...vocabulary), fc.string({ maxLength: 6 })), { maxLength: 4 });

function factFor(type: FieldType): fc.Arbitrary<DeviceFacts[keyof typeof builtInFieldTypes]> {
  switch (type) {
    case 'number':
      return nullish(smallNumber);
    case 'boolean':
      return nullish(fc.boolean());
    case 'list':
      return nullish(list);
    case 'version':
      return nullish(fc.oneof(anyVersion, fc.constantFrom('10.0.22631', '10.0.19045', '12', '1.0')));
    default:
      return nullish(text);
  }
}

const builtInFactArbs = Object.fromEntries(Object.entries(builtInFieldTypes).map(([key, type]) => [key, factFor(type)])) as {
  [K in keyof typeof builtInFieldTypes]: fc.Arbitrary<DeviceFacts[K]>;
};

export const facts: fc.Arbitrary<DeviceFacts> = fc
  .record({
    builtIn: fc.record(builtInFactArbs),
    customFields: fc.record(
      {
        cost_center: nullish(fc.oneof(text, smallNumber)),
        rack_units: nullish(fc.oneof(smallNumber, fc.constantFrom('4', ' 7 ', 'n/a', '1e1'))),
        kiosk: nullish(fc.oneof(fc.boolean(), fc.constantFrom('true', 'FALSE', 'yes'))),
        warranty_end: nullish(fc.oneof(isoDate, fc.constantFrom('not a date', '2024-02-30'))),
        ring: nullish(fc.constantFrom('pilot', 'broad', 'late', 'PILOT', 'other')),
      },
      { requiredKeys: [] },
    ),
    groups: fc.subarray([...GROUP_IDS]),
    software: fc.array(fc.record({ name: fc.constantFrom(...softwareNames, 'Chromium', 'python3.11'), version: anyVersion }), {
      maxLength: 5,
    }),
  })
  .map(({ builtIn, customFields, groups, software }) => ({
    ...builtIn,
    customFields: customFields as DeviceFacts['customFields'],
    groups: new Set(groups),
    software,
  }));
