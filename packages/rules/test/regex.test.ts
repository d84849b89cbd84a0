import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Rule } from '@opsconductor/contracts/rules';
import { checkRegex, compileRule, MAX_REGEX_INPUT_LENGTH, softwareNameFilter } from '../src/index.ts';
import { compileRegex } from '../src/regex.ts';
import { makeFacts } from './helpers.ts';

// Patterns that take exponential time on a backtracking engine (JavaScript's RegExp) against the
// inputs beside them: `^(a|a)*$` on 'a'×30 + '!' ran for 130 s in the API before rules used RE2.
const catastrophic: [pattern: string, input: string][] = [
  ['^(a|a)*$', `${'a'.repeat(30)}!`],
  ['^(a+)+$', `${'a'.repeat(40)}!`],
  ['(.*)*x', 'y'.repeat(40)],
  ['^(x+x+)+y$', 'x'.repeat(40)],
  ['^(\\w+\\s?)*$', `${'word '.repeat(12)}!`],
  ['^(a|aa)+$', `${'a'.repeat(60)}!`],
];

describe('rule regexes run on a linear-time engine', () => {
  it.each(catastrophic)(
    '%s is accepted and evaluates at once against its worst input',
    (pattern, input) => {
      expect(checkRegex(pattern)).toBeNull();
      const started = performance.now();
      expect(compileRule({ field: 'hostname', op: 'regex', value: pattern })(makeFacts({ hostname: input }))).toBe(false);
      expect(softwareNameFilter([{ name: pattern, match: 'regex' }])(input)).toBe(false);
      // Backtracking takes minutes here; RE2 takes microseconds. The bound only catches a regression.
      expect(performance.now() - started).toBeLessThan(2_000);
    },
    10_000,
  );

  it('stays linear on the longest inputs it reads', () => {
    const input = `${'a'.repeat(MAX_REGEX_INPUT_LENGTH - 1)}!`;
    const test = compileRule({ any: catastrophic.map(([value]) => ({ field: 'hostname', op: 'regex', value })) } as Rule);
    const started = performance.now();
    expect(test(makeFacts({ hostname: input }))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
  }, 10_000);

  it('matches only the first MAX_REGEX_INPUT_LENGTH characters of a value', () => {
    const rule: Rule = { field: 'hostname', op: 'regex', value: 'tail$' };
    expect(compileRule(rule)(makeFacts({ hostname: `${'x'.repeat(10)}tail` }))).toBe(true);
    expect(compileRule(rule)(makeFacts({ hostname: `${'x'.repeat(MAX_REGEX_INPUT_LENGTH)}tail` }))).toBe(false);
  });

  it('refuses what RE2 does not support, with the reason', () => {
    expect(checkRegex('^(?=web)')).toMatch(/invalid regular expression: .*\(\?=/);
    expect(checkRegex('(a)\\1')).toMatch(/invalid regular expression: .*\\1/);
    expect(checkRegex('a{1001}')).toMatch(/invalid repeat count/);
  });

  it('matches like JavaScript (case-insensitively) on the patterns both engines accept', () => {
    const patterns = [
      '^web-\\d+$',
      'server',
      '^(win|lin)',
      '\\.corp\\.example\\.com$',
      '^10\\.',
      '(\\d{1,3}\\.){3}\\d{1,3}',
      '[a-z]+-0[1-9]',
      'Pro$',
      '',
      '^\\w+\\s\\w+$',
      'é+',
    ];
    const alphabet = fc.constantFrom(...'aAbwWeEiInNlLsSrRvV-01239.é ÉcCoOpPxXmM'.split(''));
    fc.assert(
      fc.property(
        fc.constantFrom(...patterns),
        fc.array(alphabet, { maxLength: 30 }).map((cs) => cs.join('')),
        (pattern, input) => {
          expect(compileRegex(pattern)!.test(input)).toBe(new RegExp(pattern, 'iu').test(input));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
