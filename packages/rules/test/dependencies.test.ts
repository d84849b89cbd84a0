import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Rule } from '@opsconductor/contracts/rules';
import { orderGroups, referencedGroups, softwareConditions, softwareNameFilter, usesTime } from '../src/index.ts';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const [A, B, C, D] = [1, 2, 3, 4].map(id) as [string, string, string, string];
const member = (g: string): Rule => ({ memberOf: g });
const hostExists: Rule = { field: 'hostname', op: 'exists' };

describe('referencedGroups', () => {
  it('lists memberOf targets anywhere, once, in order of appearance', () => {
    const rule: Rule = { all: [member(B), { any: [{ not: member(A) }, hostExists, member(B)] }, member(C)] };
    expect(referencedGroups(rule)).toEqual([B, A, C]);
    expect(referencedGroups(hostExists)).toEqual([]);
  });
});

describe('orderGroups', () => {
  const positions = (order: string[]) => new Map(order.map((g, i) => [g, i]));

  it('puts referenced groups first', () => {
    const result = orderGroups([
      { id: A, rule: { all: [member(B), member(C)] } },
      { id: B, rule: member(C) },
      { id: C, rule: hostExists },
      { id: D, rule: null }, // static
    ]);
    expect(result).toEqual({ order: [C, B, A, D] });
  });

  it('keeps input order when nothing references anything', () => {
    expect(
      orderGroups([
        { id: C, rule: hostExists },
        { id: A, rule: null },
        { id: B, rule: hostExists },
      ]),
    ).toEqual({ order: [C, A, B] });
  });

  it('ignores references to groups not in the list', () => {
    expect(orderGroups([{ id: A, rule: member(id(99)) }])).toEqual({ order: [A] });
  });

  it('reports a cycle as a closed walk', () => {
    const result = orderGroups([
      { id: D, rule: null },
      { id: A, rule: member(B) },
      { id: B, rule: { any: [member(C), hostExists] } },
      { id: C, rule: { not: member(A) } },
    ]);
    expect(result).toEqual({ cycle: [A, B, C, A] });
  });

  it('reports a self-reference', () => {
    expect(orderGroups([{ id: A, rule: { all: [hostExists, member(A)] } }])).toEqual({ cycle: [A, A] });
  });

  it('handles long chains without recursion limits', () => {
    const n = 20_000;
    const groups = Array.from({ length: n }, (_, i) => ({ id: id(i), rule: i + 1 < n ? member(id(i + 1)) : hostExists }));
    const result = orderGroups(groups);
    expect('order' in result && result.order[0]).toBe(id(n - 1));
    groups[n - 1]!.rule = member(id(0));
    const cyclic = orderGroups(groups);
    expect('cycle' in cyclic && cyclic.cycle.length).toBe(n + 1);
  });

  it('property: on random DAGs every group comes after its references; adding a back edge yields a real cycle', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { maxLength: 30 }),
            fc.shuffledSubarray(
              Array.from({ length: n }, (_, i) => i),
              { minLength: n },
            ),
          ),
        ),
        ([n, edges, perm]) => {
          // Edges i→j with i > j (in the hidden order `perm`) form a DAG.
          const refs = new Map<number, Set<number>>();
          for (const [x, y] of edges) if (x > y) (refs.get(perm[x]!) ?? refs.set(perm[x]!, new Set()).get(perm[x]!)!).add(perm[y]!);
          const groups = Array.from({ length: n }, (_, g) => ({
            id: id(g),
            rule: refs.get(g)?.size ? ({ all: [...refs.get(g)!].map((r) => member(id(r))) } as Rule) : null,
          }));
          const result = orderGroups(groups);
          if (!('order' in result)) throw new Error(`unexpected cycle ${result.cycle}`);
          expect(new Set(result.order).size).toBe(n);
          const pos = positions(result.order);
          for (const [g, rs] of refs) for (const r of rs) expect(pos.get(id(r))!).toBeLessThan(pos.get(id(g))!);

          const [from, to] = [...refs.entries()].flatMap(([g, rs]) => [...rs].map((r) => [r, g] as const))[0] ?? [];
          if (from === undefined || to === undefined) return;
          const withBackEdge = groups.map((g) =>
            g.id === id(from) ? { ...g, rule: { any: [...(g.rule ? [g.rule] : []), member(id(to))] } as Rule } : g,
          );
          const cyc = orderGroups(withBackEdge);
          if (!('cycle' in cyc)) throw new Error('cycle not found');
          expect(cyc.cycle[0]).toBe(cyc.cycle[cyc.cycle.length - 1]);
          const rulesById = new Map(withBackEdge.map((g) => [g.id, g.rule]));
          for (let i = 0; i + 1 < cyc.cycle.length; i++)
            expect(referencedGroups(rulesById.get(cyc.cycle[i]!)!)).toContain(cyc.cycle[i + 1]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('usesTime', () => {
  it.each<[Rule, boolean]>([
    [{ field: 'device.lastSeenAgeDays', op: 'gt', value: 7 }, true],
    [{ any: [hostExists, { not: { field: 'device.status', op: 'equals', value: 'online' } }] }, true],
    [{ field: 'device.enrolledAgeDays', op: 'lt', value: 1 }, true],
    [{ field: 'system.uptimeDays', op: 'gt', value: 30 }, true],
    [{ all: [hostExists, member(A), { software: { name: 'x', match: 'equals' }, present: true }] }, false],
    [{ field: 'customFields.warranty_end', op: 'lt', value: '2026-01-01' }, false],
  ])('%j → %s', (rule, expected) => expect(usesTime(rule)).toBe(expected));
});

describe('softwareConditions', () => {
  const rule: Rule = {
    any: [
      { software: { name: 'Google Chrome', match: 'equals', version: { op: 'version_lt', value: '120' } }, present: true },
      { not: { software: { name: 'google chrome', match: 'equals' }, present: false } },
      { software: { name: 'SSL', match: 'contains' }, present: true },
      { software: { name: '^python3', match: 'regex' }, present: true },
      { software: { name: 'libreoffice', match: 'starts_with' }, present: false },
    ],
  };

  it('lists each name pattern once (equals/contains/starts_with case-insensitively)', () => {
    expect(softwareConditions(rule)).toEqual([
      { name: 'Google Chrome', match: 'equals' },
      { name: 'SSL', match: 'contains' },
      { name: '^python3', match: 'regex' },
      { name: 'libreoffice', match: 'starts_with' },
    ]);
    expect(softwareConditions(hostExists)).toEqual([]);
  });

  it('softwareNameFilter selects the packages the rule can look at', () => {
    const keep = softwareNameFilter(softwareConditions(rule));
    expect(['google chrome', 'openssl', 'Python3.11', 'LibreOffice Calc', 'curl', 'Chrome'].filter(keep)).toEqual([
      'google chrome',
      'openssl',
      'Python3.11',
      'LibreOffice Calc',
    ]);
  });
});
