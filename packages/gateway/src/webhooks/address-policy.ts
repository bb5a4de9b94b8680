/**
 * Which resolved addresses a webhook may never be sent to (SSRF, OWASP API7): anything that reaches the
 * gateway's own host, its private networks or cloud metadata services rather than the public Internet.
 * Refused, for IPv4 (RFC 6890 special-purpose registry): 0.0.0.0/8 "this network", 10/8, 172.16/12,
 * 192.168/16 (RFC 1918), 100.64/10 (CGNAT, RFC 6598), 127/8 loopback, 169.254/16 link-local (with
 * 169.254.169.254, the metadata service), 192.0.0/24 (IETF protocol assignments), 192.0.2/24,
 * 198.51.100/24, 203.0.113/24 (documentation, RFC 5737), 192.88.99/24 (6to4 relay anycast, RFC 7526:
 * it would relay into IPv6 space we cannot vet), 198.18/15 (benchmarking), 224/4 multicast, 240/4
 * reserved and 255.255.255.255 broadcast.
 * For IPv6: ::/128, ::1, fc00::/7 unique-local, fe80::/10 link-local, fec0::/10 (deprecated site-local),
 * ff00::/8 multicast, 2001:db8::/32 and 3fff::/20 documentation (RFC 3849, RFC 9637), 2001::/23 IETF
 * protocol assignments (Teredo 2001::/32, which tunnels to an IPv4 address, benchmarking 2001:2::/48,
 * ORCHID 2001:10::/28 and ORCHIDv2 2001:20::/28 — no webhook receiver lives there), 2002::/16 (6to4),
 * 5f00::/16 (SRv6 SIDs, RFC 9602), 100::/64 discard, the rest of 64:ff9b::/32 and 64:ff9b:1::/48
 * (NAT64, local use, RFC 8215) unless declared, ::ffff:0:0:0/96 (SIIT "IPv4-translated", RFC 2765, e.g.
 * ::ffff:0:7f00:1), the deprecated IPv4-compatible ::/96, and IPv4-mapped ::ffff:0:0/96 addresses of a
 * refused IPv4 address.
 *
 * NAT64 (RFC 6052): an address inside a NAT64 /96 prefix reaches the IPv4 address in its last 32 bits,
 * so it is judged as that IPv4 address — 64:ff9b::a00:1 is 10.0.0.1 and refused, 64:ff9b::808:808 is
 * 8.8.8.8 and allowed (an IPv6-only site behind DNS64 can still deliver). The well-known prefix
 * 64:ff9b::/96 always is such a prefix; a site's own NAT64 prefix is declared in `webhooks.nat64Prefixes`
 * (parseNat64Prefix), and only /96 prefixes are supported (the other RFC 6052 lengths split the IPv4
 * address around the u octet). Declaring a prefix trusts that NAT64 to translate, nothing else: an
 * address under it is refused or allowed exactly as its IPv4 address.
 * Unparseable input counts as internal: the check fails closed.
 */
import { isIP } from 'node:net';

type V4Range = readonly [number, number]; // [network as uint32, prefix length]

const V4_REFUSED: readonly V4Range[] = [
  [ip4('0.0.0.0'), 8],
  [ip4('10.0.0.0'), 8],
  [ip4('100.64.0.0'), 10],
  [ip4('127.0.0.0'), 8],
  [ip4('169.254.0.0'), 16],
  [ip4('172.16.0.0'), 12],
  [ip4('192.0.0.0'), 24],
  [ip4('192.0.2.0'), 24],
  [ip4('192.88.99.0'), 24],
  [ip4('192.168.0.0'), 16],
  [ip4('198.18.0.0'), 15],
  [ip4('198.51.100.0'), 24],
  [ip4('203.0.113.0'), 24],
  [ip4('224.0.0.0'), 4],
  [ip4('240.0.0.0'), 4],
];

function ip4(text: string): number {
  const parts = text.split('.').map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

function v4Internal(value: number): boolean {
  return V4_REFUSED.some(([net, bits]) => {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return (value & mask) >>> 0 === net;
  });
}

/** The 16 bytes of an IPv6 address (already validated by isIP), with an embedded dotted IPv4 tail. */
function ip6Bytes(text: string): Uint8Array {
  let address = text.split('%')[0] ?? '';
  const out = new Uint8Array(16);
  const dotted = address.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted?.[1] !== undefined) {
    const v4 = ip4(dotted[1]);
    address = `${address.slice(0, -dotted[1].length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = address.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  all.forEach((g, i) => {
    out[i * 2] = (g >> 8) & 0xff;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const bit = 7 - (i & 7);
    if ((((bytes[byte] ?? 0) >> bit) & 1) !== (((prefix[byte] ?? 0) >> bit) & 1)) return false;
  }
  return true;
}

/** A NAT64 /96 prefix: its first 12 octets. */
export type Nat64Prefix = Uint8Array;

/** The well-known NAT64 prefix 64:ff9b::/96 (RFC 6052 §2.1), always judged by its embedded IPv4. */
export const WELL_KNOWN_NAT64 = '64:ff9b::/96';

/**
 * Parses `<IPv6 address>/96` (the address's last 32 bits zero) into a NAT64 prefix, or null. ::/96 and
 * ::ffff:0:0/96 are refused: they are the IPv4-compatible and IPv4-mapped forms, never a NAT64 prefix.
 */
export function parseNat64Prefix(text: string): Nat64Prefix | null {
  if (typeof text !== 'string' || text.length > 64) return null;
  const m = /^([0-9a-fA-F:.]+)\/96$/.exec(text);
  if (m?.[1] === undefined || isIP(m[1]) !== 6) return null;
  const bytes = ip6Bytes(m[1]);
  if (bytes.subarray(12).some((b) => b !== 0)) return null;
  const prefix = bytes.slice(0, 12);
  const head = prefix.subarray(0, 10).every((b) => b === 0);
  if (head && prefix[10] === 0 && prefix[11] === 0) return null; // ::/96
  if (head && prefix[10] === 0xff && prefix[11] === 0xff) return null; // ::ffff:0:0/96
  return prefix;
}

const DEFAULT_NAT64: readonly Nat64Prefix[] = [parseNat64Prefix(WELL_KNOWN_NAT64) as Nat64Prefix];

const V6_REFUSED: readonly (readonly [readonly number[], number])[] = [
  [[0xfc], 7],
  [[0xfe, 0x80], 10],
  [[0xfe, 0xc0], 10],
  [[0xff], 8],
  [[0x20, 0x01, 0x0d, 0xb8], 32],
  [[0x3f, 0xff], 20],
  [[0x20, 0x01, 0x00], 23], // 2001::/23: Teredo, benchmarking, ORCHID(v2), AMT, …
  [[0x00, 0x64, 0xff, 0x9b], 32], // NAT64 outside the /96 judged above, and 64:ff9b:1::/48
  [[0x20, 0x02], 16],
  [[0x5f, 0x00], 16],
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64],
  [[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0], 96], // ::ffff:0:0:0/96, SIIT IPv4-translated
];

function v6Internal(bytes: Uint8Array, nat64: readonly Nat64Prefix[]): boolean {
  const zeros = (n: number) => bytes.subarray(0, n).every((b) => b === 0);
  const v4Tail = () =>
    (((bytes[12] ?? 0) << 24) | ((bytes[13] ?? 0) << 16) | ((bytes[14] ?? 0) << 8) | (bytes[15] ?? 0)) >>> 0;
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, including :: and ::1): judged as IPv4.
  if (zeros(10) && bytes[10] === 0xff && bytes[11] === 0xff) return v4Internal(v4Tail());
  if (zeros(12)) return true; // ::, ::1 and the deprecated IPv4-compatible form: never a public peer
  // NAT64: the IPv4 address it reaches decides.
  if (nat64.some((prefix) => startsWith(bytes, [...prefix], 96))) return v4Internal(v4Tail());
  return V6_REFUSED.some(([prefix, bits]) => startsWith(bytes, prefix, bits));
}

/**
 * True when `address` (an IP literal as dns.lookup returns it) must never be a webhook target.
 * `nat64Prefixes`: the site's own NAT64 /96 prefixes (parseNat64Prefix); 64:ff9b::/96 always counts.
 */
export function isInternalAddress(address: string, nat64Prefixes: readonly Nat64Prefix[] = []): boolean {
  const family = isIP(address.split('%')[0] ?? '');
  if (family === 4) return v4Internal(ip4(address));
  if (family === 6) return v6Internal(ip6Bytes(address), [...DEFAULT_NAT64, ...nat64Prefixes]);
  return true;
}
