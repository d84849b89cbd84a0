import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareVersions, isValidVersion } from '../src/index.ts';
import { anyVersion, dotted, dpkg, semver, versionSoup } from './arbitraries.ts';

/** Asserts a strictly increasing chain, checking every pair (not just neighbours). */
function expectAscending(chain: string[]) {
  for (let i = 0; i < chain.length; i++) {
    for (let j = i + 1; j < chain.length; j++) {
      expect(compareVersions(chain[i], chain[j]), `${chain[i]} < ${chain[j]}`).toBe(-1);
      expect(compareVersions(chain[j], chain[i]), `${chain[j]} > ${chain[i]}`).toBe(1);
    }
  }
}

describe('compareVersions: edge cases', () => {
  it.each([
    ['dpkg tilde, revision, more components', ['1.0~rc1', '1.0', '1.0-1', '1.0.1']],
    ['Windows builds', ['10.0.17763', '10.0.19045', '10.0.22000', '10.0.22631.2861', '10.0.22631.3007', '10.0.26100']],
    ['epochs win over everything', ['9.9', '1:0.1', '1:9.9', '2:1.0']],
    [
      'semver precedence (spec example)',
      ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0'],
    ],
    ['semver pre-release before release', ['1.2.3-beta.2', '1.2.3', '1.2.4-rc1', '1.2.4']],
    ['dpkg tildes (dpkg test suite)', ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0a']],
    ['Debian/Ubuntu revisions', ['2.30-1ubuntu2', '2.30-1ubuntu10', '2.30-2', '1:2.30-1ubuntu2']],
    ['RPM releases', ['1.2.3-4.el9', '1.2.3-10.el8', '1.2.3-10.el9', '5.14.0-362.8.1.el9_3', '5.14.0-362.13.1.el9_3']],
    ['mixed alphanumerics', ['1.9', '1.10', '1.10a', '1.10b', '1.11']],
    ['numbers of any size', ['1.99999999999999999999', '1.100000000000000000000']],
    ['Java-style underscores', ['1.8.0_292', '1.8.0_301', '11.0.2']],
    ['empty sorts first', ['', '~', '0', '0.1']],
  ])('%s', (_name, chain) => expectAscending(chain));

  it.each([
    ['v1.2.3', '1.2.3'],
    ['V1.2.3', '1.2.3'],
    ['1.2', '1.2.0'],
    ['1.2', '1.2.0.0'],
    ['10.0', '10'],
    ['1.0~rc1', '1~rc1'],
    ['1.0-1', '1-1'],
    ['0:1.0', '1.0'],
    ['1.0-0', '1.0'], // dpkg: an absent revision compares like 0
    ['1.01', '1.1'],
    ['1.0RC1', '1.0rc1'],
    ['  1.2.3  ', '1.2.3'],
    ['', '   '],
    ['0', '0.0'],
  ])('%j = %j', (a, b) => {
    expect(compareVersions(a, b)).toBe(0);
    expect(compareVersions(b, a)).toBe(0);
  });

  it('keeps zeros that matter', () => {
    expect(compareVersions('1.0-alpha', '1.0-alpha.0')).toBe(-1); // trailing zeros only trimmed before the pre-release
    expect(compareVersions('1.0.1', '1.0')).toBe(1);
    expect(compareVersions('0', '')).toBe(1);
  });

  it('never throws, whatever it is given', () => {
    const odd: unknown[] = [
      null,
      undefined,
      12,
      1.5,
      true,
      {},
      [],
      Symbol.for('x').description,
      'v',
      ':',
      '::',
      '-',
      '1:',
      ':1',
      '~~~',
      '\u0000',
      'ü1.0',
      '1.0-',
      '-1',
    ];
    for (const a of odd) for (const b of odd) expect([-1, 0, 1]).toContain(compareVersions(a, b));
    fc.assert(fc.property(fc.anything(), fc.anything(), (a, b) => [-1, 0, 1].includes(compareVersions(a, b))));
  });

  it('treats null/undefined as the empty version', () => {
    expect(compareVersions(null, '')).toBe(0);
    expect(compareVersions(undefined, '0')).toBe(-1);
  });
});

describe('compareVersions: order properties', () => {
  const flavours = { semver, dotted, dpkg, soup: versionSoup, mixed: anyVersion };

  for (const [name, arb] of Object.entries(flavours)) {
    it(`is reflexive and antisymmetric (${name})`, () => {
      fc.assert(
        fc.property(arb, arb, (a, b) => {
          expect(compareVersions(a, a)).toBe(0);
          expect(compareVersions(a, b)).toBe(-compareVersions(b, a) || 0);
        }),
        { numRuns: 500 },
      );
    });

    it(`is transitive (${name})`, () => {
      fc.assert(
        fc.property(arb, arb, arb, (a, b, c) => {
          if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) expect(compareVersions(a, c)).toBeLessThanOrEqual(0);
          if (compareVersions(a, b) < 0 && compareVersions(b, c) <= 0) expect(compareVersions(a, c)).toBe(-1);
          // Equal versions are interchangeable.
          if (compareVersions(a, b) === 0) expect(compareVersions(a, c)).toBe(compareVersions(b, c));
        }),
        { numRuns: 1000 },
      );
    });

    it(`sorts consistently: every pair of a sorted list is ordered (${name})`, () => {
      fc.assert(
        fc.property(fc.array(arb, { maxLength: 25 }), (list) => {
          const sorted = [...list].sort(compareVersions);
          for (let i = 0; i < sorted.length; i++)
            for (let j = i + 1; j < sorted.length; j++) expect(compareVersions(sorted[i], sorted[j])).toBeLessThanOrEqual(0);
        }),
        { numRuns: 200 },
      );
    });
  }

  it('orders semver core versions numerically', () => {
    const core = fc.tuple(fc.nat(50), fc.nat(50), fc.nat(50));
    fc.assert(
      fc.property(core, core, ([a1, a2, a3], [b1, b2, b3]) => {
        const expected = Math.sign(a1 - b1 || a2 - b2 || a3 - b3);
        expect(compareVersions(`${a1}.${a2}.${a3}`, `${b1}.${b2}.${b3}`)).toBe(expected);
      }),
    );
  });

  it('puts a pre-release before its release, and a revision after it', () => {
    fc.assert(
      fc.property(
        semver.filter((v) => !v.includes('-') && !v.includes('+')),
        fc.constantFrom('alpha', 'beta.2', 'rc.1', 'rc1'),
        fc.integer({ min: 1, max: 20 }),
        (v, pre, rev) => {
          expect(compareVersions(`${v}-${pre}`, v)).toBe(-1);
          expect(compareVersions(`${v}-${rev}`, v)).toBe(1);
          expect(compareVersions(`${v}~${pre}`, v)).toBe(-1);
        },
      ),
    );
  });
});

describe('isValidVersion', () => {
  it.each([
    '1',
    '1.2.3',
    'v1.2.3',
    '1.2.3-beta.2+build.5',
    '10.0.22631.3007',
    '1:2.30-1ubuntu2',
    '1.0~rc1',
    '1.2.3-4.el9',
    '1.8.0_292',
    '2024.01',
  ])('accepts %j', (v) => {
    expect(isValidVersion(v)).toBe(true);
  });
  it.each(['', '   ', 'latest', 'v', '>=1.2', '1.2 or later', '1.2/3', 'a:1.0', '1'.repeat(101), '1.0\n'.repeat(2)])('rejects %j', (v) => {
    expect(isValidVersion(v)).toBe(false);
  });
  it('rejects non-strings', () => {
    expect(isValidVersion(10)).toBe(false);
    expect(isValidVersion(null)).toBe(false);
  });
});
