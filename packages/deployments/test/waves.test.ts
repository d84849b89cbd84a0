/** Rollout waves: exact partitions, cumulative percentages, stable pseudo-random order, and the hash behind it. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { planWaves, rolloutOrder, type WaveSize } from '../src/index.ts';
import { FNV_OFFSET_BASIS, fnv1a64Update, mix64, type Hash64 } from '../src/waves.ts';

const devices = (n: number, prefix = 'device-') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
const sizesOf = (waves: string[][]) => waves.map((w) => w.length);
const hex = (h: Hash64) => h.hi.toString(16).padStart(8, '0') + h.lo.toString(16).padStart(8, '0');

/** FNV-1a 64 the textbook way, with BigInt over bytes: the oracle for the 32-bit-halves version. */
function fnvReference(bytes: Iterable<number>): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & ((1n << 64n) - 1n);
  return h;
}
const utf8 = (s: string) => new TextEncoder().encode(s);
function fmix64Reference(x: bigint): bigint {
  const m = (1n << 64n) - 1n;
  let k = x ^ (x >> 33n);
  k = (k * 0xff51afd7ed558ccdn) & m;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & m;
  return k ^ (k >> 33n);
}
const toBig = (h: Hash64) => (BigInt(h.hi) << 32n) | BigInt(h.lo);

describe('hash', () => {
  it('is FNV-1a 64 over UTF-8 (published test vectors)', () => {
    expect(hex(fnv1a64Update(FNV_OFFSET_BASIS, ''))).toBe('cbf29ce484222325');
    expect(hex(fnv1a64Update(FNV_OFFSET_BASIS, 'a'))).toBe('af63dc4c8601ec8c');
    expect(hex(fnv1a64Update(FNV_OFFSET_BASIS, 'foobar'))).toBe('85944171f73967e8');
  });

  it('matches a BigInt reference for any string, and continues from a prefix state', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(toBig(fnv1a64Update(FNV_OFFSET_BASIS, a))).toBe(fnvReference(utf8(a)));
        expect(toBig(fnv1a64Update(fnv1a64Update(FNV_OFFSET_BASIS, a), b))).toBe(fnvReference(utf8(a + b)));
      }),
    );
  });

  it('hashes a lone surrogate as its 3-byte form (TextEncoder would make it U+FFFD, colliding with a real one)', () => {
    expect(toBig(fnv1a64Update(FNV_OFFSET_BASIS, 'x\uD800'))).toBe(fnvReference([0x78, 0xed, 0xa0, 0x80]));
    expect(toBig(fnv1a64Update(FNV_OFFSET_BASIS, '\uDC00y'))).toBe(fnvReference([0xed, 0xb0, 0x80, 0x79]));
    expect(toBig(fnv1a64Update(FNV_OFFSET_BASIS, '\uD83D\uDE00'))).toBe(fnvReference([0xf0, 0x9f, 0x98, 0x80]));
  });

  it('the finalizer is MurmurHash3 fmix64, exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (x) => {
        expect(toBig(mix64({ hi: Number(x >> 32n), lo: Number(x & 0xffffffffn) }))).toBe(fmix64Reference(x));
      }),
    );
    expect(toBig(mix64({ hi: 0xffffffff, lo: 0xffffffff }))).toBe(fmix64Reference((1n << 64n) - 1n));
  });
});

describe('planWaves', () => {
  it('5 → 25 → 100 percent of 100 devices: 5, 20, 75', () => {
    const waves = planWaves(devices(100), [{ percent: 5 }, { percent: 25 }, { percent: 100 }], 'deployment-1');
    expect(sizesOf(waves)).toEqual([5, 20, 75]);
  });

  it('percentages round up, cumulatively: 10% and 50% of 7 devices are 1 and 4 in all', () => {
    expect(sizesOf(planWaves(devices(7), [{ percent: 10 }, { percent: 50 }, { percent: 100 }], 's'))).toEqual([1, 3, 3]);
    // 7% of 100 is 7, not 8 (floating point: 100 * 7 / 100).
    expect(sizesOf(planWaves(devices(100), [{ percent: 7 }, { percent: 100 }], 's'))).toEqual([7, 93]);
    expect(sizesOf(planWaves(devices(1000), [{ percent: 0.7 }, { percent: 14.1 }, { percent: 100 }], 's'))).toEqual([7, 134, 859]);
  });

  it('counts are devices per wave; the last wave takes the rest whatever its size says', () => {
    expect(sizesOf(planWaves(devices(50), [{ count: 1 }, { count: 10 }, { count: 5 }], 's'))).toEqual([1, 10, 39]);
    expect(sizesOf(planWaves(devices(50), [{ count: 10 }, { percent: 50 }, { count: 1 }], 's'))).toEqual([10, 15, 25]);
    expect(sizesOf(planWaves(devices(50), [{ percent: 10 }], 's'))).toEqual([50]);
  });

  it('every wave gets a device while devices remain, then empty waves keep their index', () => {
    expect(sizesOf(planWaves(devices(3), [{ percent: 1 }, { percent: 2 }, { count: 0 }, { percent: 100 }], 's'))).toEqual([1, 1, 1, 0]);
    expect(sizesOf(planWaves(devices(2), [{ percent: 1 }, { percent: 2 }, { percent: 3 }, { percent: 100 }], 's'))).toEqual([1, 1, 0, 0]);
    expect(sizesOf(planWaves(devices(10), [{ percent: 50 }, { percent: 20 }, { percent: 100 }], 's'))).toEqual([5, 1, 4]);
    expect(planWaves([], [{ percent: 5 }, { percent: 100 }], 's')).toEqual([[], []]);
    expect(sizesOf(planWaves(devices(5), [{ count: 100 }, { count: 1 }], 's'))).toEqual([5, 0]);
  });

  it('plans a device given twice once', () => {
    const waves = planWaves(['a', 'b', 'a', 'c', 'b'], [{ count: 1 }, { count: 1 }], 's');
    expect(waves.flat().sort()).toEqual(['a', 'b', 'c']);
    expect(sizesOf(waves)).toEqual([1, 2]);
  });

  it('refuses no waves and sizes that mean nothing', () => {
    expect(() => planWaves(devices(3), [], 's')).toThrow(RangeError);
    for (const bad of [
      { percent: -1 },
      { percent: 101 },
      { percent: Number.NaN },
      { count: -1 },
      { count: 1.5 },
      { count: Number.POSITIVE_INFINITY },
    ]) {
      expect(() => planWaves(devices(3), [bad, { percent: 100 }], 's'), JSON.stringify(bad)).toThrow(RangeError);
    }
  });

  it('does not pick devices in ID order, and another seed picks others', () => {
    const ids = devices(1000);
    const [first = []] = planWaves(ids, [{ percent: 10 }, { percent: 100 }], 'deployment-1');
    expect(first).not.toEqual(ids.slice(0, 100));
    // About half of the first wave comes from each half of the IDs (binomial(100, 0.5): 30..70 is ~5 sigma).
    const fromLowerHalf = first.filter((id) => id < 'device-00500').length;
    expect(fromLowerHalf).toBeGreaterThan(30);
    expect(fromLowerHalf).toBeLessThan(70);
    const [other = []] = planWaves(ids, [{ percent: 10 }, { percent: 100 }], 'deployment-2');
    const shared = first.filter((id) => other.includes(id)).length;
    expect(shared).toBeLessThan(30); // 10 expected by chance
  });

  it('is pinned: the same seed splits the same way in every release (workflow replays depend on it)', () => {
    expect(rolloutOrder(['alpha', 'bravo', 'charlie', 'delta', 'echo'], 'deployment-42')).toEqual([
      'charlie',
      'delta',
      'echo',
      'bravo',
      'alpha',
    ]);
  });

  it('orders devices by fmix64(FNV-1a 64(seed, NUL, device ID)), ties by ID', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ unit: 'grapheme', maxLength: 10 }), { maxLength: 50 }),
        fc.string({ unit: 'grapheme' }),
        (deviceIds, seed) => {
          const key = (id: string) => fmix64Reference(fnvReference(utf8(`${seed}\u0000${id}`)));
          const expected = [...deviceIds].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : x < y ? -1 : 1));
          expect(rolloutOrder(deviceIds, seed)).toEqual(expected);
        },
      ),
    );
  });
});

const waveSize: fc.Arbitrary<WaveSize> = fc.oneof(
  fc.integer({ min: 0, max: 100 }).map((percent) => ({ percent })),
  fc.integer({ min: 0, max: 40 }).map((count) => ({ count })),
);
const ids = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 300 });

describe('planWaves, properties', () => {
  it('partitions the devices exactly: every device in one wave, none lost, none added', () => {
    fc.assert(
      fc.property(ids, fc.array(waveSize, { minLength: 1, maxLength: 8 }), fc.string(), (deviceIds, sizes, seed) => {
        const waves = planWaves(deviceIds, sizes, seed);
        expect(waves).toHaveLength(sizes.length);
        const all = waves.flat();
        expect(new Set(all).size).toBe(all.length);
        expect([...all].sort()).toEqual([...deviceIds].sort());
      }),
    );
  });

  it('is deterministic and ignores the order the devices come in', () => {
    fc.assert(
      fc.property(ids, fc.array(waveSize, { minLength: 1, maxLength: 6 }), fc.string(), fc.integer(), (deviceIds, sizes, seed, shift) => {
        const waves = planWaves(deviceIds, sizes, seed);
        expect(planWaves(deviceIds, sizes, seed)).toEqual(waves);
        const k = deviceIds.length === 0 ? 0 : Math.abs(shift) % deviceIds.length;
        const reordered = [...deviceIds.slice(k), ...deviceIds.slice(0, k)].reverse();
        expect(planWaves(reordered, sizes, seed)).toEqual(waves);
      }),
    );
  });

  it('cumulative sizes: ⌈total × p / 100⌉ for percentages, previous + n for counts, at least one more while any remain, all at the end', () => {
    fc.assert(
      fc.property(ids, fc.array(waveSize, { minLength: 1, maxLength: 8 }), fc.string(), (deviceIds, sizes, seed) => {
        const total = deviceIds.length;
        const cumulative: number[] = [];
        for (const wave of planWaves(deviceIds, sizes, seed)) cumulative.push((cumulative.at(-1) ?? 0) + wave.length);
        let previous = 0;
        sizes.forEach((size, k) => {
          const wanted =
            k === sizes.length - 1 ? total : 'percent' in size ? Math.ceil((total * size.percent) / 100) : previous + size.count;
          const expected = Math.min(total, Math.max(wanted, previous + 1));
          expect(cumulative[k], `wave ${k + 1} of ${JSON.stringify(sizes)}, ${total} devices`).toBe(expected);
          previous = expected;
        });
      }),
    );
  });

  it('with rising percentages and enough devices, each wave ends exactly at its share', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 99 }), { minLength: 1, maxLength: 5 }).map((ps) => ps.sort((a, b) => a - b)),
        fc.integer({ min: 100, max: 2000 }),
        (percents, total) => {
          const waves = planWaves(devices(total), [...percents.map((percent) => ({ percent })), { percent: 100 }], 'seed');
          let sum = 0;
          percents.forEach((p, k) => {
            sum += waves[k]?.length ?? 0;
            expect(sum).toBe(Math.ceil((total * p) / 100));
          });
          expect(sum + (waves.at(-1)?.length ?? 0)).toBe(total);
        },
      ),
    );
  });
});
