/**
 * The password policy, one for every place a password is set: creating a user, an admin's reset, a
 * user's own change, the seeded first admin. Following NIST SP 800-63B: length over composition rules,
 * and a check against passwords known from breaches (a list shipped in known-passwords.ts, never downloaded).
 *
 * Passwords are compared and hashed in NFKC form, so the same password typed on another keyboard or
 * operating system (composed or decomposed accents, full-width digits) is the same password.
 */
import { COMMON_PASSWORDS, EXTRA_PASSWORDS } from './known-passwords.ts';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

export interface PasswordContext {
  /** The account's email: its local part must not appear in the password. */
  email?: string;
}

let known: Set<string> | undefined;
/** The shipped lists, loaded on first use (about 50,000 entries). */
function knownPasswords(): Set<string> {
  if (!known) {
    known = new Set([...COMMON_PASSWORDS.split('\n'), ...EXTRA_PASSWORDS.split('\n')].filter(Boolean));
  }
  return known;
}

// Runs a password might be typed along: the alphabet, the digits (wrapping 9 → 0), keyboard rows.
const SEQUENCES = [
  'abcdefghijklmnopqrstuvwxyz',
  '01234567890123456789012345678901234567890',
  'qwertyuiopasdfghjklzxcvbnm',
  'qwertzuiopasdfghjklyxcvbnm',
  'azertyuiopqsdfghjklmwxcvbn',
  '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p',
].flatMap((s) => [s, [...s].reverse().join('')]);

const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '8': 'b',
  '9': 'g',
  '@': 'a',
  $: 's',
  '!': 'i',
  '|': 'l',
  '+': 't',
};
const deleet = (s: string) => s.replace(/[01345789@$!|+]/g, (ch) => LEET[ch] ?? ch);
const compact = (s: string) => s.replace(/[\s._\-]+/gu, '');
/** A word dressed up with digits and symbols at either end ("!Password1234") is that word. */
const core = (s: string) => s.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');

/** The shortest unit the string is a repetition of ("abcabcabc" → "abc"), or the string itself. */
function repeatedUnit(s: string): string {
  const chars = [...s];
  for (let n = 1; n <= chars.length / 2; n++) {
    if (chars.length % n !== 0) continue;
    const unit = chars.slice(0, n).join('');
    if (unit.repeat(chars.length / n) === s) return unit;
  }
  return s;
}

/** Variants of a password that count as the same for the breached-list check. */
function variants(lower: string): Set<string> {
  const out = new Set<string>();
  for (const form of [lower, compact(lower)]) {
    out.add(form);
    out.add(deleet(form));
    const c = core(form);
    if ([...c].length >= 4) {
      out.add(c);
      out.add(deleet(c));
    }
  }
  for (const v of [...out]) {
    const unit = repeatedUnit(v);
    if (unit !== v) out.add(unit);
  }
  return out;
}

/**
 * What is wrong with a new password, as messages for the `password` field; empty when it is acceptable.
 * Length counts characters (code points) after NFKC, with runs of white space counting once and white
 * space at either end not at all, so padding with spaces does not make a password long.
 */
export function passwordProblems(password: string, context: PasswordContext = {}): string[] {
  // Lone surrogates (not valid Unicode) and control characters: never typed, only injected.
  if (/[\p{Cc}\p{Cs}]/u.test(password)) return ['must not contain control characters or invalid Unicode'];
  const normalized = normalizePassword(password);
  if (normalized.trim() === '') return ['must not be blank'];
  const effective = [...normalized.trim().replace(/\s+/gu, ' ')];
  if (effective.length < PASSWORD_MIN_LENGTH) {
    return [`must be at least ${PASSWORD_MIN_LENGTH} characters long (not counting spaces at either end or repeated spaces)`];
  }
  if ([...normalized].length > PASSWORD_MAX_LENGTH) return [`must be at most ${PASSWORD_MAX_LENGTH} characters long`];

  const problems: string[] = [];
  const lower = normalized.toLowerCase();
  const flat = compact(lower);
  if ([...repeatedUnit(flat)].length <= 3) problems.push('must not be one character or a short pattern repeated');
  else if (flat.length >= 6 && SEQUENCES.some((s) => s.includes(flat))) problems.push('must not be a sequence such as 123456… or qwerty…');
  const local = context.email?.split('@')[0]?.toLowerCase() ?? '';
  if ([...local].length >= 3 && (lower.includes(local) || flat.includes(compact(local))))
    problems.push('must not contain the name part of your email address');
  const list = knownPasswords();
  if ([...variants(lower)].some((v) => list.has(v))) problems.push('is too common: it appears in lists of breached passwords');
  return problems;
}
