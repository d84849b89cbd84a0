import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareDpkg, compareMsi, comparePacman, compareRpm, describeConstraints, rpmvercmp, satisfies } from '../src/index.ts';
import { dpkgOracle, hasDpkg, hasRpmLua, rpmOracle } from './oracles.ts';

type Pair = readonly [string, string];

const token = fc.constantFrom('0', '00', '1', '01', '2', '9', '10', '100', '007', 'a', 'b', 'z', 'A', 'Z', 'rc', 'beta', 'alpha', 'git');
const sep = fc.constantFrom('.', '.', '.', '+', '~', '~~', '_');

/** Valid dpkg versions built from the characters that make ordering tricky: `~`, `+`, letters, zero runs. */
const dpkgVersion = fc
  .tuple(
    fc.option(fc.constantFrom('0', '1', '2', '10'), { nil: undefined }),
    fc.constantFrom('0', '1', '1', '2', '10'),
    fc.array(fc.tuple(fc.option(sep, { nil: '' }), token), { maxLength: 4 }),
    fc.option(fc.array(fc.tuple(fc.option(fc.constantFrom('.', '+', '~'), { nil: '' }), token), { minLength: 1, maxLength: 3 }), {
      nil: undefined,
    }),
  )
  .map(([epoch, first, rest, revision]) => {
    const upstream = first + rest.map(([s, t]) => s + t).join('');
    const rev = revision ? '-' + revision.map(([s, t], i) => (i === 0 ? t : s + t)).join('') : '';
    return (epoch === undefined ? '' : `${epoch}:`) + upstream + rev;
  });

/** rpm EVRs, including `^` (post-release snapshots) and `~` (pre-releases). */
const rpmVersion = fc
  .tuple(
    fc.option(fc.constantFrom('0', '1', '2'), { nil: undefined }),
    fc.array(fc.tuple(fc.constantFrom('', '.', '.', '_', '+', '~', '^', '^~', '..'), token), { minLength: 1, maxLength: 4 }),
    fc.option(fc.array(fc.tuple(fc.constantFrom('', '.', '~', '^'), token), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  )
  .map(([epoch, parts, release]) => {
    const version = parts.map(([s, t], i) => (i === 0 ? t : s + t)).join('');
    const rel = release ? '-' + release.map(([s, t], i) => (i === 0 ? t : s + t)).join('') : '';
    return (epoch === undefined ? '' : `${epoch}:`) + version + rel;
  });

/** Pairs that are likely to be close (same prefix), where ordering bugs live. */
function pairs(arb: fc.Arbitrary<string>, seed: number, n: number): Pair[] {
  const independent = fc.sample(fc.tuple(arb, arb), { seed, numRuns: n / 2 });
  const close = fc
    .sample(fc.tuple(arb, fc.constantFrom('', '~', '~rc1', '.0', '0', 'a', '+b1', '^1', '-1', '.1', '~~')), {
      seed: seed + 1,
      numRuns: n / 2,
    })
    .map(([v, suffix]) => [v, v + suffix] as const);
  return [...independent, ...close];
}

function expectAgreement(compare: (a: string, b: string) => number, oracle: (p: readonly Pair[]) => number[], corpus: readonly Pair[]) {
  const expected = oracle(corpus);
  expect(expected).toHaveLength(corpus.length);
  const mismatches = corpus.map(([a, b], i) => ({ a, b, ours: compare(a, b), theirs: expected[i] })).filter((r) => r.ours !== r.theirs);
  expect(mismatches).toEqual([]);
}

describe('compareDpkg', () => {
  it.each<[string, string, number]>([
    ['1.0~rc1', '1.0', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0~', '1.0', -1],
    ['1.0', '1.0a', -1],
    ['1.0a', '1.0+', -1], // letters before non-letters
    ['1.0', '1.0-0', 0], // an absent revision is an empty one, and digits compare as 0
    ['1:0.1', '9.9', 1],
    ['1.2', '1.2.0', -1], // unlike the generic order, dpkg's 1.2 < 1.2.0
    ['1.0A', '1.0a', -1], // case-sensitive
    ['2.30-1ubuntu2', '2.30-1ubuntu10', -1],
    ['1.00', '1.0', 0],
  ])('%s vs %s → %d', (a, b, want) => {
    expect(compareDpkg(a, b)).toBe(want);
    expect(compareDpkg(b, a)).toBe(-want || 0);
  });

  it.runIf(hasDpkg)('agrees with dpkg --compare-versions over a generated corpus', () => {
    expectAgreement(compareDpkg, dpkgOracle, pairs(dpkgVersion, 42, 600));
  });

  it('is antisymmetric and transitive on the corpus', () => {
    fc.assert(
      fc.property(dpkgVersion, dpkgVersion, dpkgVersion, (a, b, c) => {
        expect(compareDpkg(a, b)).toBe(-compareDpkg(b, a) || 0);
        if (compareDpkg(a, b) <= 0 && compareDpkg(b, c) <= 0) expect(compareDpkg(a, c)).toBeLessThanOrEqual(0);
      }),
    );
  });
});

describe('compareRpm', () => {
  // From rpm's tests/rpmvercmp.at.
  it.each<[string, string, number]>([
    ['1.0', '1.0', 0],
    ['1.0', '2.0', -1],
    ['2.0.1', '2.0', 1],
    ['2.0.1a', '2.0.1', 1],
    ['5.5p1', '5.5p10', -1],
    ['10xyz', '10.1xyz', -1],
    ['xyz10', 'xyz10.1', -1],
    ['xyz.4', '8', -1],
    ['1b.fc17', '1.fc17', -1],
    ['1.0~rc1', '1.0', -1],
    ['1.0~rc1', '1.0~rc1~git123', 1],
    ['1.0^', '1.0', 1],
    ['1.0^git1', '1.0^git1~pre', 1],
    ['1.0^git1', '1.01', -1],
    ['1.0^20160101', '1.0.1', -1],
    ['1.0^20160101^git1', '1.0^20160101', 1],
    ['1.0~rc1^git1', '1.0~rc1', 1],
    ['1.0~rc1^git1', '1.0', -1],
    ['1.0', '1.0^', -1],
    ['2_0', '2_0', 0],
    ['2.0', '2_0', 0],
    ['a+', 'a_', 0],
    ['+', '_', 0],
  ])('rpmvercmp(%s, %s) → %d', (a, b, want) => {
    expect(rpmvercmp(a, b)).toBe(want);
    expect(rpmvercmp(b, a)).toBe(-want || 0);
  });

  it('compares epoch, version and release; a missing release sorts first', () => {
    expect(compareRpm('1:1.0', '2.0')).toBe(1);
    expect(compareRpm('1.2.3-4.el9', '1.2.3-10.el9')).toBe(-1);
    expect(compareRpm('1.0', '1.0-1')).toBe(-1);
    expect(compareRpm('0:1.0-1', '1.0-1')).toBe(0);
  });

  it.runIf(hasRpmLua)("agrees with rpm's rpm.vercmp over a generated corpus", () => {
    expectAgreement(compareRpm, rpmOracle, pairs(rpmVersion, 7, 800));
  });
});

describe('comparePacman', () => {
  // From pacman's test/util/vercmptest.sh.
  it.each<[string, string, number]>([
    ['1.5.0', '1.5.0', 0],
    ['1.5.1', '1.5.0', 1],
    ['1.5.1', '1.5', 1],
    ['1.5.0-1', '1.5.0-2', -1],
    ['1.5-1', '1.5.1-1', -1],
    ['1.5', '1.5-1', 0],
    ['1.1-1', '1.1', 0],
    ['1.0-1', '1.1', -1],
    ['1.5b-1', '1.5-1', -1],
    ['1.5b', '1.5', -1],
    ['1.5b', '1.5.1', -1],
    ['1.0a', '1.0alpha', -1],
    ['1.0alpha', '1.0b', -1],
    ['1.0b', '1.0beta', -1],
    ['1.0beta', '1.0rc', -1],
    ['1.0rc', '1.0', -1],
    ['1.5.a', '1.5', 1],
    ['1.5.b', '1.5.a', 1],
    ['1.5.1', '1.5.b', 1],
    ['1.5.b-1', '1.5.b', 0],
    ['1.5-1', '1.5.b', -1],
    ['2.0', '2_0', 0],
    ['2.0_a', '2_0.a', 0],
    ['2.0a', '2.0.a', -1],
    ['2___a', '2_a', 1],
    ['0:1.0', '0:1.0', 0],
    ['1:1.0', '0:1.1', 1],
    ['1:1.0', '2:1.1', -1],
    ['1:1.0', '0:1.0-1', 1],
    ['0:1.0', '1.0', 0],
    ['1:1.1', '1.1', 1],
  ])('vercmp %s %s → %d', (a, b, want) => {
    expect(comparePacman(a, b)).toBe(want);
    expect(comparePacman(b, a)).toBe(-want || 0);
  });

  it('differs from rpm where libalpm does', () => {
    expect(comparePacman('1.0a', '1.0')).toBe(-1);
    expect(compareRpm('1.0a', '1.0')).toBe(1);
  });
});

describe('compareMsi', () => {
  it.each<[string, string, number]>([
    ['1.2.3', '1.2.3', 0],
    ['1.2.3.4', '1.2.3.9', 0], // Windows Installer ignores the 4th field
    ['1.2', '1.2.0', 0],
    ['1.10.0', '1.9.0', 1],
    ['10.0.19045', '10.0.22000', -1],
    ['2.0.1', '2.0.0.99', 1],
    ['1.2.3 beta', '1.2.4', -1], // not an MSI version: generic order
  ])('%s vs %s → %d', (a, b, want) => {
    expect(compareMsi(a, b)).toBe(want);
    expect(compareMsi(b, a)).toBe(-want || 0);
  });
});

describe('satisfies', () => {
  it('requires every constraint (a range)', () => {
    const range = [
      { op: 'gte', value: '2.0' },
      { op: 'lt', value: '3.0' },
    ] as const;
    expect(satisfies('2.5', range, 'generic')).toBe(true);
    expect(satisfies('3.0', range, 'generic')).toBe(false);
    expect(satisfies('1.9', range, 'generic')).toBe(false);
  });

  it.each([
    ['eq', '1.0', true],
    ['neq', '1.0', false],
    ['gt', '0.9', true],
    ['gte', '1.0', true],
    ['lt', '1.0', false],
    ['lte', '1.0', true],
  ] as const)('%s %s on 1.0 → %s', (op, value, want) => {
    expect(satisfies('1.0', [{ op, value }], 'dpkg')).toBe(want);
  });

  it('compares the scheme’s way', () => {
    expect(satisfies('1.0~rc1', [{ op: 'lt', value: '1.0' }], 'dpkg')).toBe(true);
    expect(satisfies('1.2', [{ op: 'eq', value: '1.2.0' }], 'dpkg')).toBe(false);
    expect(satisfies('1.2', [{ op: 'eq', value: '1.2.0' }], 'generic')).toBe(true);
    expect(satisfies('1.2.3.4', [{ op: 'eq', value: '1.2.3.5' }], 'msi')).toBe(true);
  });

  it('ignores the installed rpm release when the constraint has none, as rpm dependencies do', () => {
    expect(satisfies('1.0-3.el9', [{ op: 'eq', value: '1.0' }], 'rpm')).toBe(true);
    expect(satisfies('1.0-3.el9', [{ op: 'eq', value: '1.0-4.el9' }], 'rpm')).toBe(false);
    expect(satisfies('1:1.0-3', [{ op: 'gt', value: '1.0' }], 'rpm')).toBe(true);
  });

  it('describes constraints for traces', () => {
    expect(
      describeConstraints([
        { op: 'gte', value: '2.0' },
        { op: 'lt', value: '3' },
      ]),
    ).toBe('≥ 2.0, < 3');
  });
});
