/**
 * MD4 (RFC 1320), which NTLM's password hash needs and Node's OpenSSL 3 no longer offers (it sits in the
 * legacy provider). Small inputs only (passwords): the whole message is padded in memory.
 */
const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));
const F = (x: number, y: number, z: number) => (x & y) | (~x & z);
const G = (x: number, y: number, z: number) => (x & y) | (x & z) | (y & z);
const H = (x: number, y: number, z: number) => x ^ y ^ z;

export function md4(message: Buffer): Buffer {
  const bitLength = message.length * 8;
  const padded = Buffer.alloc((((message.length + 8) >> 6) + 1) << 6);
  message.copy(padded);
  padded[message.length] = 0x80;
  padded.writeUInt32LE(bitLength >>> 0, padded.length - 8);
  padded.writeUInt32LE(Math.floor(bitLength / 2 ** 32) >>> 0, padded.length - 4);

  let a = 0x67452301;
  let b = 0xefcdab89;
  let c = 0x98badcfe;
  let d = 0x10325476;
  const X = new Int32Array(16);
  for (let block = 0; block < padded.length; block += 64) {
    for (let k = 0; k < 16; k++) X[k] = padded.readInt32LE(block + k * 4);
    const [aa, bb, cc, dd] = [a, b, c, d];
    const r1 = (p: number, q: number, r: number, s: number, k: number, n: number) => rotl((p + F(q, r, s) + X[k]!) | 0, n);
    const r2 = (p: number, q: number, r: number, s: number, k: number, n: number) => rotl((p + G(q, r, s) + X[k]! + 0x5a827999) | 0, n);
    const r3 = (p: number, q: number, r: number, s: number, k: number, n: number) => rotl((p + H(q, r, s) + X[k]! + 0x6ed9eba1) | 0, n);
    for (const k of [0, 4, 8, 12]) {
      a = r1(a, b, c, d, k, 3);
      d = r1(d, a, b, c, k + 1, 7);
      c = r1(c, d, a, b, k + 2, 11);
      b = r1(b, c, d, a, k + 3, 19);
    }
    for (const k of [0, 1, 2, 3]) {
      a = r2(a, b, c, d, k, 3);
      d = r2(d, a, b, c, k + 4, 5);
      c = r2(c, d, a, b, k + 8, 9);
      b = r2(b, c, d, a, k + 12, 13);
    }
    for (const k of [0, 2, 1, 3]) {
      a = r3(a, b, c, d, k, 3);
      d = r3(d, a, b, c, k + 8, 9);
      c = r3(c, d, a, b, k + 4, 11);
      b = r3(b, c, d, a, k + 12, 15);
    }
    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }
  const out = Buffer.alloc(16);
  out.writeInt32LE(a, 0);
  out.writeInt32LE(b, 4);
  out.writeInt32LE(c, 8);
  out.writeInt32LE(d, 12);
  return out;
}
