/**
 * Regular expressions in rules are written by users (a viewer can preview a rule) and run against
 * strings that agents choose (an enrolled device sets its own hostname), inside the API process. A
 * backtracking engine lets one pattern such as `^(a|a)*$` stall the event loop for minutes, and no
 * syntactic check catches every such shape. So rule regexes never run on JavaScript's RegExp: they run
 * on RE2JS, a port of RE2, whose matching time is linear in the input (ADR 6).
 *
 * Syntax is RE2's (https://github.com/google/re2/wiki/Syntax): what JavaScript regexes share with it —
 * classes, `\d \w \s \b`, anchors, groups, alternation, bounded and unbounded repetition, `\p{L}` —
 * without lookaround and backreferences, which are refused on save. Matching is case-insensitive.
 *
 * Linear is not free: the cost is pattern size × input length. Both are bounded here (and the number of
 * regex conditions per rule in validate.ts), so one match costs at most a few milliseconds.
 */
import { RE2JS } from 're2js';

export const MAX_REGEX_LENGTH = 200;
/** Only the first this-many characters of a value are matched (inventory strings are shorter anyway). */
export const MAX_REGEX_INPUT_LENGTH = 1024;
/** Regex conditions in one rule. */
export const MAX_REGEX_CONDITIONS = 20;

export interface RuleRegex {
  test(value: string): boolean;
}

function compile(source: string): RE2JS {
  return RE2JS.compile(source, RE2JS.CASE_INSENSITIVE);
}

/** Validates a rule regex: length and RE2 syntax. Returns an error message or null. */
export function checkRegex(source: string): string | null {
  if (source.length > MAX_REGEX_LENGTH) return `regular expression is longer than ${MAX_REGEX_LENGTH} characters`;
  try {
    compile(source);
    return null;
  } catch (e) {
    const message = e instanceof Error ? e.message.replace(/^error parsing regexp: /, '') : String(e);
    return `invalid regular expression: ${message} (RE2 syntax: no lookaround or backreferences)`;
  }
}

/**
 * Compiles a rule regex; null when it fails checkRegex — an unvalidated rule (say, stored before a
 * stricter check) then matches nothing.
 */
export function compileRegex(source: string): RuleRegex | null {
  if (source.length > MAX_REGEX_LENGTH) return null;
  let re: RE2JS;
  try {
    re = compile(source);
  } catch {
    return null;
  }
  return { test: (value) => re.test(value.length > MAX_REGEX_INPUT_LENGTH ? value.slice(0, MAX_REGEX_INPUT_LENGTH) : value) };
}
