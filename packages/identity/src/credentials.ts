/**
 * Passwords and tokens. Passwords: argon2id over their NFKC form, one policy for every password that is
 * set (@opsconductor/passwords). Tokens (sessions, enrollment): random, stored only as their SHA-256.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import { ARGON2ID } from '@opsconductor/db/seed';
import { normalizePassword, passwordProblems } from '@opsconductor/passwords';
import { invalid } from '@opsconductor/unit-of-work';

export function generateToken(bytes = 20): string {
  return encodeBase32LowerCaseNoPadding(randomBytes(bytes));
}
/** SHA-256 of the token's UTF-8, as lowercase hex. Agents' calls hash their secret each time: node's OpenSSL, not JavaScript. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
/** Compare two hex digests without leaking where they differ. */
export function digestsEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/** Passwords are hashed in NFKC form (see @opsconductor/passwords). */
export const hashPassword = (password: string) => hash(normalizePassword(password), ARGON2ID);
// Verified against when the email is unknown, so response time does not reveal which emails exist.
const dummyHash = hashPassword(generateToken());
export async function verifyPassword(passwordHash: string | null, password: string): Promise<boolean> {
  const stored = passwordHash ?? (await dummyHash);
  const check = (candidate: string) => verify(stored, candidate).catch(() => false);
  const normalized = normalizePassword(password);
  // Hashes made before passwords were normalised hold the password as typed: try that form too. The
  // second check depends on the input alone, never on whether the account exists.
  return (await check(normalized)) || (normalized !== password && (await check(password)));
}

/** `weak_password` when a new password breaks the policy; `field` names the request field. */
export function assertPasswordAllowed(password: string, email: string, field: string): void {
  const problems = passwordProblems(password, { email });
  if (problems.length) {
    throw invalid(
      'weak_password',
      `The password ${problems.join('; ')}.`,
      problems.map((p) => ({ path: field, message: `The password ${p}` })),
    );
  }
}
