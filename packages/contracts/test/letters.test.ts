/** The generated letter class (src/letters.ts) against this Node's own Unicode tables. */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { BMP_LETTERS_AND_DIGITS } from '../src/letters.ts';

const generatedFor = /Unicode ([\d.]+) tables/.exec(readFileSync(new URL('../src/letters.ts', import.meta.url), 'utf8'))?.[1];

it('holds exactly the BMP letters and digits (\\p{L}, \\p{N}); never a character that is neither', () => {
  const ours = new RegExp(`^[${BMP_LETTERS_AND_DIGITS}]$`); // no flags, as in the OpenAPI document
  const unicode = /^[\p{L}\p{N}]$/u;
  const extra: string[] = [];
  const missing: string[] = [];
  for (let cp = 0; cp <= 0xffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCharCode(cp);
    if (ours.test(ch) && !unicode.test(ch)) extra.push(cp.toString(16));
    if (!ours.test(ch) && unicode.test(ch)) missing.push(cp.toString(16));
  }
  expect(extra).toEqual([]);
  // A newer Node may know letters the generating one did not: regenerate (scripts/generate-letters.ts).
  if (generatedFor === process.versions.unicode) expect(missing).toEqual([]);
  for (const cp of [0xd800, 0xdbff, 0xdc00, 0xdfff]) expect(ours.test(String.fromCharCode(cp))).toBe(false);
});
