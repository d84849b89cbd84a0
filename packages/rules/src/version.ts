/**
 * Version ordering for the `version_*` operators and software version conditions.
 *
 * Inventory versions come from many worlds at once — semver (`1.2.3-beta.2`), Windows (`10.0.22631.3007`),
 * dpkg (`1:2.30-1ubuntu2`, `1.0~rc1`), RPM (`1.2.3-4.el9`), vendors (`1.10a`, `v2.4`, `1.8.0_292`) —
 * and no single upstream algorithm orders all of them. We use dpkg's algorithm (the best-specified
 * general one) with two additions, so one total order serves every source:
 *
 * 1. Canonicalise: trim, lowercase (so `1.0RC1` = `1.0rc1`), drop a leading `v` before a digit.
 *    An empty/blank version sorts before every other version. Non-string input is stringified
 *    (null/undefined → empty). Nothing throws.
 * 2. Split `[epoch:]upstream[-revision]` as dpkg does: the epoch is a leading run of digits before `:`
 *    (absent = 0); the revision is what follows the last `-` — but only when that `-` is followed by a
 *    digit (`-1ubuntu2`, `-4.el9`). A `-` followed by a letter starts a semver pre-release
 *    (`-beta.2`, `-rc1`) and is read as dpkg's `~`, so `1.2.3-beta.2 < 1.2.3`.
 *    (Deviation: a numeric semver pre-release such as `1.0.0-0.3.7` reads as a revision, i.e. newer.)
 * 3. Trailing zero components of the release part are insignificant: `1.2` = `1.2.0` = `1.2.0.0`,
 *    and `1.0~rc1` = `1~rc1`. dpkg itself orders `1.2 < 1.2.0`; admins writing `version_eq 1.2` expect
 *    a match on `1.2.0`. Only the part before the first `~` is trimmed (semver: `1.0-alpha < 1.0-alpha.0`).
 * 4. Compare epoch numerically, then upstream, then revision, each with dpkg's `verrevcmp`: alternate
 *    non-digit runs (compared character by character: `~` < end of run < letters < everything else)
 *    and digit runs (compared numerically, any length, leading zeros ignored).
 *
 * Resulting examples: `1.0~rc1 < 1.0 < 1.0-1 < 1.0.1`, `10.0.19045 < 10.0.22000`, `2:1.0 > 1:9.9`,
 * `1.10a < 1.10b < 1.11`, `1.2.3-4.el9 < 1.2.3-10.el9`. Semver build metadata (`+build.5`) is not
 * ignored as semver would (dpkg upstreams use `+` meaningfully, e.g. `1.2+dfsg`): `1.0+b1 > 1.0`.
 *
 * Because step 1–3 map a string to a canonical form and step 4 is a total preorder on canonical
 * forms, the result is reflexive, antisymmetric and transitive (property-tested).
 */

export type VersionOrder = -1 | 0 | 1;

interface Parsed {
  readonly empty: boolean;
  readonly epoch: string; // digits, leading zeros stripped
  readonly upstream: string;
  readonly revision: string;
}

const CODE_0 = 48;
const CODE_9 = 57;
const CODE_A = 97; // input is lowercased
const CODE_Z = 122;
const CODE_TILDE = 126;

const isDigit = (c: number): boolean => c >= CODE_0 && c <= CODE_9;

/** dpkg's `order()`: weight of one character inside a non-digit run. `NaN` (end of string) acts as 0. */
function order(c: number): number {
  if (Number.isNaN(c) || isDigit(c)) return 0;
  if (c >= CODE_A && c <= CODE_Z) return c;
  if (c === CODE_TILDE) return -1;
  return c + 256;
}

function stripZeros(digits: string): string {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === CODE_0) i++;
  return digits.slice(i);
}

/** Compares two digit strings of any length numerically. */
function compareDigits(a: string, b: string): number {
  return compareDigitRuns(a, 0, a.length, b, 0, b.length);
}

/**
 * Compares the digit runs a[ai, ae) and b[bi, be) numerically, in place (no slices: this is the hot
 * loop of every version comparison). An empty run counts as 0.
 */
function compareDigitRuns(a: string, ai: number, ae: number, b: string, bi: number, be: number): number {
  while (ai < ae && a.charCodeAt(ai) === CODE_0) ai++;
  while (bi < be && b.charCodeAt(bi) === CODE_0) bi++;
  if (ae - ai !== be - bi) return ae - ai < be - bi ? -1 : 1;
  for (; ai < ae; ai++, bi++) {
    const d = a.charCodeAt(ai) - b.charCodeAt(bi);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** dpkg's `verrevcmp`, on lowercased strings. */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit run: character by character with dpkg's weights.
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a.charCodeAt(i)); // charCodeAt past the end is NaN → 0
      const bc = order(b.charCodeAt(j));
      if (ac !== bc) return ac - bc;
      if (i < a.length && !isDigit(a.charCodeAt(i))) i++;
      if (j < b.length && !isDigit(b.charCodeAt(j))) j++;
    }
    // Digit run: numeric comparison (an absent run counts as 0).
    const si = i;
    while (i < a.length && isDigit(a.charCodeAt(i))) i++;
    const sj = j;
    while (j < b.length && isDigit(b.charCodeAt(j))) j++;
    const d = compareDigitRuns(a, si, i, b, sj, j);
    if (d !== 0) return d;
  }
  return 0;
}

/** `-` + letter starts a semver pre-release: read it as `~` (sorts before the release). */
const PRERELEASE_DASH = /-(?=[a-z])/g;
/** Zero components right before the end or the first `~`: `1.2.0.0` → `1.2`, `1.0~rc1` → `1~rc1`. */
const TRAILING_ZEROS = /(?:\.0+)+$/;

function trimTrailingZeros(upstream: string): string {
  const tilde = upstream.indexOf('~');
  const release = tilde < 0 ? upstream : upstream.slice(0, tilde);
  const rest = tilde < 0 ? '' : upstream.slice(tilde);
  const trimmed = release.replace(TRAILING_ZEROS, '');
  // Keep "0" itself (and ".0" alone) meaningful: never trim a release down to nothing.
  return (trimmed === '' ? release : trimmed) + rest;
}

const cache = new Map<string, Parsed>();
/** Enough for the distinct versions of a large fleet's prefetched packages; cleared when full. */
const CACHE_LIMIT = 50_000;

function stringify(input: unknown): string {
  if (typeof input === 'string') return input;
  if (input === null || input === undefined) return '';
  try {
    return String(input);
  } catch {
    return ''; // e.g. an object without a prototype: nothing to compare
  }
}

function parse(input: unknown): Parsed {
  const raw = stringify(input);
  const hit = cache.get(raw);
  if (hit) return hit;
  let s = raw.trim().toLowerCase();
  if (s.length > 1 && s.charCodeAt(0) === 118 /* v */ && isDigit(s.charCodeAt(1))) s = s.slice(1);
  let epoch = '0';
  const colon = s.indexOf(':');
  if (colon > 0 && /^\d+$/.test(s.slice(0, colon))) {
    epoch = stripZeros(s.slice(0, colon));
    s = s.slice(colon + 1);
  }
  let upstream = s;
  let revision = '';
  const dash = s.lastIndexOf('-');
  if (dash >= 0 && isDigit(s.charCodeAt(dash + 1))) {
    upstream = s.slice(0, dash);
    revision = s.slice(dash + 1);
  }
  upstream = trimTrailingZeros(upstream.replace(PRERELEASE_DASH, '~'));
  const parsed: Parsed = { empty: raw.trim() === '', epoch, upstream, revision };
  // A bounded memo: evaluating one rule over 10,000 devices compares the same few strings repeatedly.
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(raw, parsed);
  return parsed;
}

/** Orders two versions (see the module comment). Never throws. */
export function compareVersions(a: unknown, b: unknown): VersionOrder {
  return compareParsed(parse(a), parse(b));
}

/**
 * `(v) => compareVersions(v, wanted)` with `wanted` parsed once: what compiled rules use, since the
 * right-hand side is fixed for the life of a rule.
 */
export function versionComparator(wanted: unknown): (version: unknown) => VersionOrder {
  const y = parse(wanted);
  return (version) => compareParsed(parse(version), y);
}

function compareParsed(x: Parsed, y: Parsed): VersionOrder {
  if (x.empty || y.empty) return x.empty === y.empty ? 0 : x.empty ? -1 : 1;
  const r = compareDigits(x.epoch, y.epoch) || verrevcmp(x.upstream, y.upstream) || verrevcmp(x.revision, y.revision);
  return r < 0 ? -1 : r > 0 ? 1 : 0;
}

/**
 * What the validator accepts as a version in a rule: at most 100 characters of `[0-9a-z.+~:_-]`
 * (optionally a leading `v`), containing at least one digit, with a numeric epoch if a `:` is present.
 * compareVersions orders anything; this only keeps typos (`>=1.2`, `1.2 or later`) out of rules.
 */
export function isValidVersion(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const s = value.trim();
  if (s.length === 0 || s.length > 100) return false;
  return /^[vV]?(?:\d+:)?[0-9A-Za-z.+~_-]*\d[0-9A-Za-z.+~_-]*$/.test(s);
}
