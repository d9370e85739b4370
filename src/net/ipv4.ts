// IPv4 arithmetic on dotted quads, shared by the map codecs (src/bpf/codec.ts), the compiler's
// address ordering and the CIDR handling of source ranges and node addresses. Pure, no imports
// beyond node:net, so every layer may use it.
import { isIPv4 } from 'node:net';

/** Dotted quad → unsigned 32-bit integer (the value of its network-order bytes); -1 when
 *  malformed. The map codecs call it per entry: a hand-rolled loop, no regex or allocation. */
export function ipv4ToInt(s: string): number {
  let v = 0,
    part = 0,
    digits = 0,
    dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      v = v * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255) return -1;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? v * 256 + part : -1;
}

/** Unsigned 32-bit integer → dotted quad. */
export const intToIpv4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** "10.1.2.3/8" → its network (host bits cleared) and mask as unsigned 32-bit numbers, and the
 *  prefix length; undefined unless an IPv4 address with a length 0..32. */
export function ipv4Network(cidr: string): { net: number; mask: number; len: number } | undefined {
  const [addr, lenText] = cidr.split('/');
  const len = Number(lenText);
  if (!isIPv4(addr) || lenText === undefined || !Number.isInteger(len) || len < 0 || len > 32) return undefined;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { net: (ipv4ToInt(addr) & mask) >>> 0, mask, len };
}
