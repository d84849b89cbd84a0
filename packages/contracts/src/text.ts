/**
 * Strings PostgreSQL can store. Its `text` refuses NUL (U+0000) and `jsonb` refuses NUL and unpaired
 * UTF-16 surrogates (which are not Unicode scalar values, so they have no UTF-8 form either). Data from
 * agents is sanitized at the edge with {@link agentText} (command output, hostnames, inventory: a stray
 * NUL must not cost the whole report); user input that holds them is refused (see {@link isStorableText}).
 */
import { z } from 'zod';

/** An unpaired high or low surrogate (the regex works on UTF-16 code units: no `u` flag on purpose). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE = new RegExp(`\\u0000|${LONE_SURROGATE.source}`, 'g');

export const UNSTORABLE_TEXT_MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

/** True when the string has neither NUL nor an unpaired surrogate. */
export function isStorableText(s: string): boolean {
  UNSTORABLE.lastIndex = 0;
  return !UNSTORABLE.test(s);
}

/** Replaces NUL and unpaired surrogates by U+FFFD. One code unit becomes one, so length bounds still hold. */
export function sanitizeText(s: string): string {
  return isStorableText(s) ? s : s.replace(UNSTORABLE, '\uFFFD');
}

/** A string from an agent, at most `max` UTF-16 code units, with NUL and unpaired surrogates replaced by U+FFFD. */
export const agentText = (max: number) => z.string().max(max).overwrite(sanitizeText);

/**
 * The first path (object keys and array indexes) in a JSON-like value where a string or an object key
 * cannot be stored, or undefined when there is none. Used to refuse such user input with a 400.
 */
export function findUnstorableText(value: unknown, path: (string | number)[] = []): (string | number)[] | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableText(value[i], [...path, i]);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (!isStorableText(key)) return [...path, key];
      const found = findUnstorableText(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * An instant as ISO 8601 with `Z` or an offset, between the years 1000 and 9999: PostgreSQL's
 * timestamptz takes no year 0000, and nothing an agent or a user means is outside that range.
 */
export const isoTimestamp = z.iso.datetime({ offset: true }).refine((s) => {
  const t = Date.parse(s);
  return t >= Date.UTC(1000, 0, 1) && t <= Date.UTC(9999, 11, 31, 23, 59, 59, 999);
}, 'must be between the years 1000 and 9999');
