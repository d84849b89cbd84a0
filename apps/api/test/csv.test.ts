import { describe, expect, it } from 'vitest';
import { csvCell, csvRow } from '../src/lib/csv.ts';
import { parseCsv } from '../../../test/support/csv.ts';

describe('csvCell', () => {
  it('quotes what RFC 4180 requires and doubles quotes', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\rhere')).toBe('"cr\rhere"');
    expect(csvCell('')).toBe('');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
  });

  it('defuses text a spreadsheet would run as a formula', () => {
    for (const formula of ['=1+2', '+SUM(A1:A9)', '-2+3', '@SUM(1)', '\tTAB', '\rCR', '=HYPERLINK("http://evil.example","x")']) {
      const cell = csvCell(formula);
      const parsed = parseCsv(`${cell}\r\n`)[0]?.[0];
      expect(parsed, JSON.stringify(formula)).toBe(`'${formula}`);
    }
    // Only at the start, and numbers stay numbers.
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell(12n)).toBe('12');
  });

  it('writes dates as ISO 8601, booleans as words and replaces lone surrogates', () => {
    expect(csvCell(new Date('2026-12-01T10:00:00.000Z'))).toBe('2026-12-01T10:00:00.000Z');
    expect(csvCell(true)).toBe('true');
    expect(csvCell('a\uD800b')).toBe('a\uFFFDb');
    expect(csvCell('emoji 😀')).toBe('emoji 😀');
  });

  it('round-trips a row through a CSV parser', () => {
    const values = ['id-1', 'echo "a, b"\necho c', "=cmd|' /C calc'!A0", '', 'üñí'];
    expect(parseCsv(csvRow(values) + csvRow(['x']))).toEqual([['id-1', 'echo "a, b"\necho c', "'=cmd|' /C calc'!A0", '', 'üñí'], ['x']]);
  });
});
