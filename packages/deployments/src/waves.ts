/**
 * Rollout waves: which devices a staged deployment installs on first, second, … Pure and deterministic (the
 * deployment workflow calls it, and must get the same split on every replay): no Node built-ins, no randomness
 * but a hash of the deployment's seed and each device's ID.
 */

export type WaveSize = { percent: number } | { count: number };

/**
 * Splits devices (pilot already removed) into waves. Percentages are CUMULATIVE shares of all devices (5 → 25 → 100 means wave 1 has 5%, wave 2 brings it to 25%, wave 3 takes the rest); counts are devices in that wave. Every wave but possibly trailing ones gets at least 1 device while devices remain (round up: ceil); the last wave always takes every remaining device, whatever its size says. Waves that would be empty (no devices left) are returned empty, so indexes stay stable.
 * Order: deterministic pseudo-random by a hash of seed + deviceId (a pure JS hash such as FNV-1a 64 or a simple murmur; no node:crypto), so the same deployment always splits the same way and devices are not picked by ID order.
 *
 * Details: a device ID given twice is planned once. A percentage (0 to 100) puts the first ⌈total × p / 100⌉
 * devices, counted from the first wave, into the waves so far (a product that is a whole number within floating
 * point error counts as that number, so 7% of 100 is 7). A wave whose size would add no device (a 0 count, a
 * percentage no larger than an earlier one, a share that rounds to what earlier waves hold) still gets one while
 * devices remain. There must be at least one wave.
 */
export function planWaves(deviceIds: readonly string[], sizes: readonly WaveSize[], seed: string): string[][] {
  if (sizes.length === 0) throw new RangeError('a rollout needs at least one wave');
  for (const [i, size] of sizes.entries()) {
    if ('percent' in size) {
      if (!(size.percent >= 0 && size.percent <= 100)) throw new RangeError(`wave ${i + 1}: percent must be between 0 and 100`);
    } else if (!(Number.isSafeInteger(size.count) && size.count >= 0)) {
      throw new RangeError(`wave ${i + 1}: count must be a whole number of devices, 0 or more`);
    }
  }
  const ordered = rolloutOrder(deviceIds, seed);
  const total = ordered.length;
  let taken = 0;
  return sizes.map((size, i) => {
    const wanted = i === sizes.length - 1 ? total : 'percent' in size ? cumulativeShare(total, size.percent) : taken + size.count;
    const upTo = Math.min(total, Math.max(wanted, taken + 1));
    const wave = ordered.slice(taken, upTo);
    taken = upTo;
    return wave;
  });
}

/** ⌈total × percent / 100⌉, where a product within rounding error of a whole number is that number. */
function cumulativeShare(total: number, percent: number): number {
  const exact = (total * percent) / 100;
  const nearest = Math.round(exact);
  return Math.abs(exact - nearest) < 1e-9 ? nearest : Math.ceil(exact);
}

/** The distinct device IDs in the order a deployment seeded with `seed` reaches them. */
export function rolloutOrder(deviceIds: readonly string[], seed: string): string[] {
  // The seed's hash state is computed once and every ID continues from it: the hash of seed, NUL, ID.
  const prefix = fnv1a64Update(FNV_OFFSET_BASIS, seed + '\u0000');
  const keyed = [...new Set(deviceIds)].map((id) => ({ id, key: mix64(fnv1a64Update(prefix, id)) }));
  keyed.sort((a, b) => a.key.hi - b.key.hi || a.key.lo - b.key.lo || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return keyed.map((k) => k.id);
}

/** A 64-bit value as two unsigned 32-bit halves (Numbers: far cheaper than BigInt). */
export interface Hash64 {
  hi: number;
  lo: number;
}

export const FNV_OFFSET_BASIS: Hash64 = { hi: 0xcbf29ce4, lo: 0x84222325 };
const TWO_32 = 2 ** 32;
const TWO_16 = 2 ** 16;

/** FNV-1a 64 of `text`'s UTF-8 bytes (a lone surrogate as its 3-byte form), continuing from `state`. */
export function fnv1a64Update(state: Hash64, text: string): Hash64 {
  let { hi, lo } = state;
  const byte = (b: number) => {
    lo = (lo ^ b) >>> 0;
    // × the FNV prime 2^40 + 0x1b3, modulo 2^64: each partial product stays below 2^53, so Numbers hold it exactly.
    const low = lo * 0x1b3;
    hi = (hi * 0x1b3 + Math.floor(low / TWO_32) + ((lo << 8) >>> 0)) >>> 0;
    lo = low >>> 0;
  };
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp < 0x80) {
      byte(cp);
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      }
    }
    if (cp < 0x800) {
      byte(0xc0 | (cp >> 6));
    } else if (cp < 0x10000) {
      byte(0xe0 | (cp >> 12));
      byte(0x80 | ((cp >> 6) & 0x3f));
    } else {
      byte(0xf0 | (cp >> 18));
      byte(0x80 | ((cp >> 12) & 0x3f));
      byte(0x80 | ((cp >> 6) & 0x3f));
    }
    byte(0x80 | (cp & 0x3f));
  }
  return { hi, lo };
}

/** a × b modulo 2^64, exactly, in 32-bit halves (the low halves' product in 16-bit pieces, each below 2^53). */
function mul64(a: Hash64, b: Hash64): Hash64 {
  const p0 = (a.lo % TWO_16) * b.lo;
  const p1 = Math.floor(a.lo / TWO_16) * b.lo;
  const low = p0 + (p1 % TWO_16) * TWO_16;
  const carry = Math.floor(low / TWO_32) + Math.floor(p1 / TWO_16);
  return { hi: (carry + Math.imul(a.hi, b.lo) + Math.imul(a.lo, b.hi)) >>> 0, lo: low >>> 0 };
}

/** k ^ (k >>> 33) on 64 bits. */
const xorShift33 = (k: Hash64): Hash64 => ({ hi: k.hi, lo: (k.lo ^ (k.hi >>> 1)) >>> 0 });

const FMIX_C1: Hash64 = { hi: 0xff51afd7, lo: 0xed558ccd };
const FMIX_C2: Hash64 = { hi: 0xc4ceb9fe, lo: 0x1a85ec53 };

/**
 * MurmurHash3's 64-bit finalizer: FNV's last multiplication moves a change in the last byte only into some high
 * bits, so IDs that differ at the end (`pc-001`, `pc-002`) would keep a pattern; this spreads every bit.
 */
export function mix64(h: Hash64): Hash64 {
  return xorShift33(mul64(xorShift33(mul64(xorShift33(h), FMIX_C1)), FMIX_C2));
}
