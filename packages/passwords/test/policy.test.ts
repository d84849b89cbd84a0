import { describe, expect, it } from 'vitest';
import { normalizePassword, passwordProblems } from '../src/index.ts';

const ok = (password: string, email?: string) => expect(passwordProblems(password, { email }), password).toEqual([]);
const refused = (password: string, pattern: RegExp, email?: string) =>
  expect(passwordProblems(password, { email }).join('; '), password).toMatch(pattern);

describe('password policy', () => {
  it('accepts long, uncommon passwords and passphrases', () => {
    ok('Vq7-hT2p-Lm9x-Rc4w');
    ok('purple tractor sings quietly');
    ok('ünïcödé pässwörd wörks');
    ok('x'.repeat(3) + 'Yz9!kq#Lm2@pW');
  });

  it('refuses blank, short and over-long passwords, counting after NFKC with spaces collapsed', () => {
    refused(' '.repeat(12), /blank/);
    refused('\u3000'.repeat(12), /blank/); // ideographic spaces
    refused('short', /at least 12/);
    refused('a           b', /at least 12/);
    refused('   elevenchar   ', /at least 12/);
    refused('x'.repeat(257) + 'Yz9', /at most 256/);
    // Full-width letters become ASCII under NFKC: one repeated character.
    refused('ａａａａａａａａａａａａ', /repeated/);
  });

  it('refuses repeats, short repeated patterns and sequences', () => {
    refused('aaaaaaaaaaaa', /repeated/);
    refused('abababababab', /repeated/);
    refused('123123123123', /repeated/);
    refused('1234567890123', /sequence/);
    refused('abcdefghijklm', /sequence/);
    refused('qwertyuiopasdf', /sequence/);
    refused('zyxwvutsrqpon', /sequence/);
  });

  it('refuses common and breached passwords and their trivial variants, case-insensitively', () => {
    refused('password1234', /too common/);
    refused('Password1234!', /too common/);
    refused('PASSWORD1234', /too common/);
    refused('!!Dragon2024!!', /too common/);
    refused('P@ssw0rd2024#', /too common/);
    refused('monkeymonkey', /too common/);
    refused('correct horse battery staple', /too common/);
    refused('OpsConductor2026!', /too common/);
  });

  it("refuses a password containing the email's name part", () => {
    refused('jane.doe-is-great-77', /email/, 'jane.doe@example.com');
    refused('JaneDoe-is-great-77', /email/, 'jane.doe@example.com');
    ok('Vq7-hT2p-Lm9x-Rc4w', 'jane.doe@example.com');
    ok('Vq7-hT2p-Lm9x-Rc4w', 'jo@example.com'); // too short a name to test for
  });

  it('refuses control characters and lone surrogates', () => {
    refused('Vq7-hT2p-Lm9x\u0000Rc4w', /control/);
    refused('Vq7-hT2p-Lm9x\ud800Rc4w', /control|Unicode/);
  });

  it('normalises to NFKC so composed and decomposed forms are one password', () => {
    expect(normalizePassword('caf\u0065\u0301-blue-window')).toBe(normalizePassword('caf\u00e9-blue-window'));
  });
});
