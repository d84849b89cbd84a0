/**
 * Regular expressions in rules are written by admins but run against every device on every
 * evaluation, inside the API process: one catastrophically backtracking pattern would stall the event
 * loop. JavaScript has no backtracking limit, so we refuse the shapes that cause exponential (or
 * high-polynomial) blow-up before they are stored.
 *
 * The check is syntactic ("star height"): a repeated group must not contain a repeated element when
 * either repetition is unbounded — `(a+)+`, `(.*)*`, `(\w+\s?)*`, `(\d+\.){3}` are refused;
 * `(\d{1,3}\.){3}\d{1,3}`, `(foo|bar)+`, `^web-\d+$` are fine. It does not catch overlapping
 * alternation (`(a|a)*`); the inputs are short inventory strings (≤ 1,000 characters), which keeps
 * such patterns polynomial.
 */

export const MAX_REGEX_LENGTH = 200;
/** Rules match case-insensitively throughout; regexes too. */
export const REGEX_FLAGS = 'i';

interface Repetition {
  repeating: boolean; // may match its operand more than once
  unbounded: boolean; // without an upper bound
}

/** Returns a reason when `source` nests repetitions dangerously, else null. Assumes the regex compiles. */
export function nestedQuantifier(source: string): string | null {
  const stack: Repetition[] = [{ repeating: false, unbounded: false }];
  let lastGroup: Repetition | null = null; // the group just closed, if the previous atom was a group
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\\') {
      i += 2;
      lastGroup = null;
      continue;
    }
    if (c === '[') {
      i++;
      if (source[i] === '^') i++;
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
      i++;
      lastGroup = null;
      continue;
    }
    if (c === '(') {
      stack.push({ repeating: false, unbounded: false });
      i++;
      lastGroup = null;
      continue;
    }
    if (c === ')') {
      const inner = stack.length > 1 ? stack.pop()! : { repeating: false, unbounded: false };
      const outer = stack[stack.length - 1]!;
      outer.repeating ||= inner.repeating;
      outer.unbounded ||= inner.unbounded;
      lastGroup = inner;
      i++;
      continue;
    }
    const q = quantifierAt(source, i);
    if (q) {
      if (lastGroup && q.repetition.repeating && lastGroup.repeating && (q.repetition.unbounded || lastGroup.unbounded)) {
        return `nested quantifier "${source.slice(0, q.end)}…" can backtrack catastrophically; remove the inner or the outer repetition`;
      }
      const frame = stack[stack.length - 1]!;
      frame.repeating ||= q.repetition.repeating;
      frame.unbounded ||= q.repetition.unbounded;
      i = q.end;
      lastGroup = null;
      continue;
    }
    lastGroup = null;
    i++;
  }
  return null;
}

function quantifierAt(source: string, i: number): { repetition: Repetition; end: number } | null {
  const c = source[i];
  let repetition: Repetition;
  let end = i + 1;
  if (c === '*' || c === '+') repetition = { repeating: true, unbounded: true };
  else if (c === '?') repetition = { repeating: false, unbounded: false };
  else if (c === '{') {
    // Outside unicode mode a `{` that does not form a quantifier is a literal.
    const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i, i + 24));
    if (!m) return null;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    repetition = { repeating: max > 1, unbounded: max === Infinity };
    end = i + m[0].length;
  } else return null;
  if (source[end] === '?') end++; // lazy: backtracks just the same
  return { repetition, end };
}

/** Validates a rule regex: length, syntax, and backtracking safety. Returns an error message or null. */
export function checkRegex(source: string): string | null {
  if (source.length > MAX_REGEX_LENGTH) return `regular expression is longer than ${MAX_REGEX_LENGTH} characters`;
  try {
    new RegExp(source, REGEX_FLAGS);
  } catch (e) {
    return `invalid regular expression: ${e instanceof Error ? e.message : String(e)}`;
  }
  return nestedQuantifier(source);
}

/**
 * Compiles a rule regex; null when it fails checkRegex — an unvalidated rule (say, stored before a
 * stricter check) then matches nothing rather than stalling the process.
 */
export function compileRegex(source: string): RegExp | null {
  if (checkRegex(source) !== null) return null;
  try {
    return new RegExp(source, REGEX_FLAGS);
  } catch {
    return null;
  }
}
