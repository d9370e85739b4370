// IPv6 text and arithmetic, and what both families share: text <-> the 16 network-order bytes
// (the map codecs in src/bpf/codec.ts, the packet builder), the canonical text of RFC 5952 (lower
// case, the longest run of two or more zero groups as ::, the first such run on a tie; an
// IPv4-mapped address ends in a dotted quad, section 5), "addr:port" text ("[2001:db8::1]:80"),
// the family of an address, numeric order and CIDR containment. Pure, no imports beyond node:net
// and ipv4.ts, so every layer may use it. node:net validates (isIPv6); parsing to bytes is done
// here because node has no public inet_pton.
import { isIPv4, isIPv6 } from 'node:net';
import { ipv4ToInt } from './ipv4.js';

export type IpFamily = 'IPv4' | 'IPv6';

/** 'IPv4', 'IPv6', or undefined when the text is neither. */
export function ipFamily(addr: string): IpFamily | undefined {
  if (isIPv4(addr)) return 'IPv4';
  if (isIPv6(addr)) return 'IPv6';
  return undefined;
}

/** IPv6 text → its 16 network-order bytes; undefined unless node:net accepts it as IPv6. A zone
 *  ("%eth0") is not an address a Service can hold and is refused. */
export function ipv6ToBytes(s: string): Uint8Array | undefined {
  if (!isIPv6(s) || s.includes('%')) return undefined;
  let text = s;
  // An embedded dotted quad (::ffff:10.0.0.1) is the last two groups.
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) > 0) {
    const v = ipv4ToInt(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  if (all.length !== 8) return undefined;
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** 16 bytes → RFC 5952 text: lowercase, no leading zeros, the longest run (first on a tie) of two
 *  or more zero groups as "::"; IPv4-mapped addresses end in a dotted quad (section 5). */
export function bytesToIpv6(b: Uint8Array): string {
  const g = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  let best = -1,
    bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Any IPv6 text → its canonical form; undefined when not IPv6. */
export function canonicalIpv6(s: string): string | undefined {
  const b = ipv6ToBytes(s);
  return b && bytesToIpv6(b);
}

/** An address of either family in canonical text (IPv4 unchanged); undefined when neither. */
export function canonicalIp(s: string): string | undefined {
  return isIPv4(s) ? s : canonicalIpv6(s);
}

/** "10.0.0.1:80" or "[2001:db8::1]:80" (RFC 5952 section 6). */
export function addrPort(addr: string, port: number | string): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** Numeric order over both families, IPv4 first: for sorted output that reads naturally. */
export function compareIp(a: string, b: string): number {
  const a6 = a.includes(':'),
    b6 = b.includes(':');
  if (a6 !== b6) return a6 ? 1 : -1;
  if (!a6) return ipv4ToInt(a) - ipv4ToInt(b);
  const x = ipv6ToBytes(a) ?? new Uint8Array(16),
    y = ipv6ToBytes(b) ?? new Uint8Array(16);
  for (let i = 0; i < 16; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** "fd00::/8" → its network bytes (host bits cleared) and prefix length; undefined unless an IPv6
 *  address with a length 0..128. */
export function ipv6Network(cidr: string): { bytes: Uint8Array; len: number } | undefined {
  const [addr, lenText, extra] = cidr.split('/');
  const len = Number(lenText);
  if (extra !== undefined || lenText === undefined || !/^\d{1,3}$/.test(lenText) || len > 128) return undefined;
  const bytes = ipv6ToBytes(addr ?? '');
  if (!bytes) return undefined;
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, len - 8 * i));
    bytes[i]! &= (0xff00 >> keep) & 0xff;
  }
  return { bytes, len };
}

/** A prefix length 0..128 → its mask's 16 bytes (56 → ffff:ffff:ffff:ff00::). */
export function ipv6PrefixMask(len: number): Uint8Array {
  return Uint8Array.from({ length: 16 }, (_, i) => (0xff00 >> Math.max(0, Math.min(8, len - 8 * i))) & 0xff);
}

/** Whether @addr (either family) lies in @cidr; a family mismatch or bad text is false. */
export function cidrContains(cidr: string, addr: string): boolean {
  const [net, lenText] = cidr.split('/');
  if (net === undefined || lenText === undefined) return false;
  if (isIPv4(net)) {
    const len = Number(lenText);
    if (!isIPv4(addr) || !/^\d{1,2}$/.test(lenText) || len > 32) return false;
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    return (ipv4ToInt(addr) & mask) >>> 0 === (ipv4ToInt(net) & mask) >>> 0;
  }
  const n = ipv6Network(cidr);
  const a = n && isIPv6(addr) ? ipv6Network(`${addr}/${n.len}`) : undefined;
  return a !== undefined && n !== undefined && a.bytes.every((x, i) => x === n.bytes[i]);
}

/** Text → 16 bytes written into buf at off; false (buf untouched) unless a valid IPv6 address.
 *  Accepts every form node:net accepts, including an embedded dotted quad (::ffff:10.0.0.1). */
export function writeIpv6(s: string, buf: Buffer, off: number): boolean {
  const b = typeof s === 'string' ? ipv6ToBytes(s) : undefined;
  if (!b) return false;
  buf.set(b, off);
  return true;
}

/** Text → a new 16-byte Buffer; throws naming the text when it is not an IPv6 address. */
export function ipv6Bytes(s: string): Buffer {
  const b = Buffer.alloc(16);
  if (!writeIpv6(s, b, 0)) throw new RangeError(`invalid IPv6 address ${JSON.stringify(s)}`);
  return b;
}

/** 16 bytes at off → canonical text (the codecs' decoder). */
export const formatIpv6 = (buf: Uint8Array, off = 0) => bytesToIpv6(buf.subarray(off, off + 16));

/** The data path's name for addrPort (src/net/packet.ts and its tests use it). */
export const hostPort = (addr: string, port: number) => addrPort(addr, port);
