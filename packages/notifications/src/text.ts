/**
 * Length-bounded text: every platform limit is counted in UTF-16 code units (what JavaScript's `length` counts, and
 * never fewer than the code points a platform may count), and a cut never splits a surrogate pair.
 */

export const ELLIPSIS = '…';

/** The longest prefix of `text` of at most `max` code units that does not end inside a surrogate pair. */
export function safePrefix(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let end = max;
  const last = text.charCodeAt(end - 1);
  // A high surrogate as the last kept unit would be cut from its low surrogate.
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/** `text` cut to at most `max` code units, ending in an ellipsis when it was cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= ELLIPSIS.length) return safePrefix(text, max);
  return safePrefix(text, max - ELLIPSIS.length) + ELLIPSIS;
}

/**
 * `escape(raw)` cut so that the escaped result (plus an ellipsis when cut) fits in `max` code units. The raw text is
 * cut, never the escaped one, so no escape sequence (`&amp;`, `\*`) is ever split.
 */
export function truncateEscaped(raw: string, max: number, escape: (text: string) => string): string {
  const whole = escape(raw);
  if (whole.length <= max) return whole;
  const room = max - ELLIPSIS.length;
  if (room <= 0) return '';
  // Binary search for the longest raw prefix whose escaped form fits.
  let low = 0;
  let high = Math.min(raw.length, room);
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (escape(safePrefix(raw, mid)).length <= room) low = mid;
    else high = mid - 1;
  }
  return escape(safePrefix(raw, low)) + ELLIPSIS;
}

// C0 controls except tab and newline, DEL, C1 controls, and the bidirectional overrides/isolates that can make a
// hostname read backwards (CVE-2021-42574 "Trojan Source").
const UNSAFE_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text from an untrusted source made safe to show: well-formed UTF-16, no control or bidi-override characters. */
export function cleanText(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd').replace(/\r\n?/g, '\n').replace(UNSAFE_CHARACTERS, '');
}

/** `cleanText` on one line: newlines and tabs become spaces. */
export function cleanLine(text: string): string {
  return cleanText(text).replace(/[\n\t]+/g, ' ');
}

/** A URL that may be shown as a link: absolute http(s) only (no `javascript:`, `data:`…), normalised; otherwise null. */
export function linkUrl(url: string | undefined): string | null {
  if (url === undefined || url.length > 2000) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}
