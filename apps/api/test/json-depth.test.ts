/** The nesting scan that guards recursive schemas (lib/json-depth.ts). */
import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from '../src/lib/json-depth.ts';

describe('nestsDeeperThan', () => {
  it('counts objects and arrays inside each other, not brackets inside strings', () => {
    expect(nestsDeeperThan('{"a":[{"b":[]}]}', 4)).toBe(false);
    expect(nestsDeeperThan('{"a":[{"b":[[]]}]}', 4)).toBe(true);
    expect(nestsDeeperThan(`{"s":"${'['.repeat(100)}"}`, 2)).toBe(false);
    expect(nestsDeeperThan(`{"s":"\\"${'{'.repeat(100)}"}`, 2)).toBe(false);
    expect(nestsDeeperThan('[[],[],[]]', 2)).toBe(false);
    expect(nestsDeeperThan('['.repeat(65), 64)).toBe(true);
  });
});
