import { describe, expect, it } from 'vitest';
import { customFieldValue, parseTags } from './bulk-actions.server';

describe('bulk action input', () => {
  it('splits, trims and deduplicates tags, and names the first invalid one', () => {
    expect(parseTags(' prod, web ,,prod')).toEqual({ ok: true, tags: ['prod', 'web'] });
    expect(parseTags(' , ')).toMatchObject({ ok: false });
    expect(parseTags('ok, <script>')).toMatchObject({ ok: false, error: expect.stringContaining('“<script>”') });
  });

  it('converts custom field values by type; empty clears', () => {
    const def = (type: 'text' | 'number' | 'boolean' | 'date' | 'enum') => ({ key: 'k', label: 'K', type, enumValues: ['a', 'b'] });
    expect(customFieldValue(def('number'), ' 42 ')).toEqual({ ok: true, value: 42 });
    expect(customFieldValue(def('number'), 'x')).toMatchObject({ ok: false });
    expect(customFieldValue(def('boolean'), 'false')).toEqual({ ok: true, value: false });
    expect(customFieldValue(def('date'), '2025-02-30x')).toMatchObject({ ok: false });
    expect(customFieldValue(def('date'), '2025-02-03')).toEqual({ ok: true, value: '2025-02-03' });
    expect(customFieldValue(def('enum'), 'c')).toMatchObject({ ok: false });
    expect(customFieldValue(def('text'), '  keep spaces ')).toEqual({ ok: true, value: '  keep spaces ' });
    expect(customFieldValue(def('text'), '   ')).toEqual({ ok: true, value: null });
  });
});
