/**
 * Which IP addresses a notification may be sent to: public unicast only. `blockedAddressReason` says why any other
 * address is refused. IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by the IPv4
 * address they carry. Documentation ranges are refused too: nothing legitimate listens there.
 */
import { isIPv4, isIPv6 } from 'node:net';

type Range4 = [network: number, prefix: number, reason: string];

const V4_RANGES: Range4[] = [
  [ip4('0.0.0.0'), 8, 'unspecified address'],
  [ip4('10.0.0.0'), 8, 'private address'],
  [ip4('100.64.0.0'), 10, 'shared (CGNAT) address'],
  [ip4('127.0.0.0'), 8, 'loopback address'],
  [ip4('169.254.0.0'), 16, 'link-local address'], // incl. cloud metadata 169.254.169.254
  [ip4('172.16.0.0'), 12, 'private address'],
  [ip4('192.0.0.0'), 24, 'reserved address'], // IETF protocol assignments
  [ip4('192.0.2.0'), 24, 'documentation address'],
  [ip4('192.88.99.0'), 24, 'reserved address'], // 6to4 relay anycast
  [ip4('192.168.0.0'), 16, 'private address'],
  [ip4('198.18.0.0'), 15, 'benchmarking address'],
  [ip4('198.51.100.0'), 24, 'documentation address'],
  [ip4('203.0.113.0'), 24, 'documentation address'],
  [ip4('224.0.0.0'), 4, 'multicast address'],
  [ip4('240.0.0.0'), 4, 'reserved address'], // incl. the broadcast address 255.255.255.255
];

function ip4(text: string): number {
  const parts = text.split('.').map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

function v4Reason(value: number): string | null {
  for (const [network, prefix, reason] of V4_RANGES) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if ((value & mask) >>> 0 === network) return reason;
  }
  return null;
}

/** The eight 16-bit groups of an IPv6 address (`net.isIPv6` must have accepted it). */
function ip6Groups(text: string): number[] {
  let address = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1];
  if (dotted !== undefined) {
    // A dotted IPv4 tail is the last two groups.
    const v4 = ip4(dotted);
    address = `${address.slice(0, -dotted.length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head = '', rest] = address.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const left = parse(head);
  if (rest === undefined) return left;
  const right = parse(rest);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function embeddedV4(high: number, low: number): number {
  return ((high << 16) | low) >>> 0;
}

function v4Text(value: number): string {
  return [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff].join('.');
}

function v6Reason(groups: number[]): string | null {
  const g = (i: number) => groups[i] ?? 0;
  const zeroUpTo = (n: number) => groups.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) return 'unspecified address';
  if (zeroUpTo(7) && g(7) === 1) return 'loopback address';
  const carried = (prefix: string, value: number) => {
    const reason = v4Reason(value);
    return reason === null ? null : `${reason} ${v4Text(value)} in ${prefix}`;
  };
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), ::ffff:0:a.b.c.d (SIIT translated).
  if (zeroUpTo(5) && g(5) === 0xffff) return carried('an IPv4-mapped address', embeddedV4(g(6), g(7)));
  if (zeroUpTo(6)) return carried('an IPv4-compatible address', embeddedV4(g(6), g(7)));
  if (zeroUpTo(4) && g(4) === 0xffff && g(5) === 0) return carried('an IPv4-translated address', embeddedV4(g(6), g(7)));
  if (g(0) === 0x64 && g(1) === 0xff9b) {
    if (g(2) === 1) return 'local-use NAT64 address'; // 64:ff9b:1::/48
    if (groups.slice(2, 6).every((x) => x === 0)) return carried('a NAT64 address', embeddedV4(g(6), g(7)));
  }
  if (g(0) === 0x2002) return carried('a 6to4 address', embeddedV4(g(1), g(2)));
  if (g(0) === 0x2001 && g(1) === 0) return 'Teredo address'; // its IPv4 parts are obfuscated: refuse the range
  if (g(0) === 0x2001 && g(1) === 0xdb8) return 'documentation address';
  if (g(0) === 0x100 && g(1) === 0 && g(2) === 0 && g(3) === 0) return 'discard-only address';
  if ((g(0) & 0xfe00) === 0xfc00) return 'private (unique local) address';
  if ((g(0) & 0xffc0) === 0xfe80) return 'link-local address';
  if ((g(0) & 0xffc0) === 0xfec0) return 'site-local address';
  if ((g(0) & 0xff00) === 0xff00) return 'multicast address';
  // Global unicast is 2000::/3; the rest of the space is reserved.
  if ((g(0) & 0xe000) !== 0x2000) return 'reserved address';
  return null;
}

/**
 * Why `address` (an IPv4 or IPv6 literal, IPv6 with or without brackets or a zone) may not be a notification's
 * destination — "private address", "loopback address 127.0.0.1 in an IPv4-mapped address" — or null when it may.
 * Anything that is not an IP address is refused too.
 */
export function blockedAddressReason(address: string): string | null {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIPv4(bare)) return v4Reason(ip4(bare));
  if (isIPv6(bare)) return v6Reason(ip6Groups(bare.toLowerCase()));
  return 'not an IP address';
}
