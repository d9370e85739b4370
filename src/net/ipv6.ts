// IPv6 addresses as the map codecs (src/bpf/codec.ts) and the packet builder (src/net/packet.ts) need
// them: text ↔ the 16 network-order bytes, and the canonical text form of RFC 5952 (lower case, the
// longest run of two or more zero groups as ::, the first such run on a tie), which is what
// `inspect` and the metrics print. Pure, no imports beyond node:net, so every layer may use it.
import { isIPv6 } from 'node:net';

/** Text → 16 bytes written into buf at off; false (buf untouched) unless a valid IPv6 address.
 *  Accepts every form node:net accepts, including an embedded dotted quad (::ffff:10.0.0.1). */
export function writeIpv6(s: string, buf: Buffer, off: number): boolean {
  if (typeof s !== 'string' || !isIPv6(s) || s.includes('%')) return false;
  let text = s;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const q = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((q[0] << 8) | q[1]).toString(16)}:${((q[2] << 8) | q[3]).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const hs = head ? head.split(':') : [];
  const ts = rest === undefined ? [] : rest ? rest.split(':') : [];
  const groups = rest === undefined ? hs : [...hs, ...new Array(8 - hs.length - ts.length).fill('0'), ...ts];
  for (let i = 0; i < 8; i++) buf.writeUInt16BE(Number.parseInt(groups[i], 16), off + 2 * i);
  return true;
}

/** Text → a new 16-byte Buffer; throws naming the text when it is not an IPv6 address. */
export function ipv6Bytes(s: string): Buffer {
  const b = Buffer.alloc(16);
  if (!writeIpv6(s, b, 0)) throw new RangeError(`invalid IPv6 address ${JSON.stringify(s)}`);
  return b;
}

/** 16 bytes at off → canonical text (RFC 5952 section 4). */
export function formatIpv6(buf: Buffer, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(buf.readUInt16BE(off + 2 * i));
  let best = -1,
    bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Any IPv6 text → its canonical form; undefined when not an IPv6 address. */
export function canonicalIpv6(s: string): string | undefined {
  const b = Buffer.alloc(16);
  return writeIpv6(s, b, 0) ? formatIpv6(b) : undefined;
}

/** "addr:port" with the brackets IPv6 needs: [2001:db8::1]:80, and 10.0.0.1:80 unchanged. */
export const hostPort = (addr: string, port: number) => (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);
