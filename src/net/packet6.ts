// The IPv6 half of the packet toolkit (src/net/packet.ts is IPv4): build Ethernet + IPv6 frames, with
// optional extension headers before TCP, UDP or ICMPv6, every checksum over the IPv6 pseudo-header
// (RFC 8200 8.1). Used by the data-path tests to write byte-exact expectations.
import { ipv6Bytes } from './ipv6.js';
import { DEFAULT_DST_MAC, DEFAULT_SRC_MAC, inetChecksum, PROTO_TCP, PROTO_UDP } from './packet.js';

export const PROTO_ICMPV6 = 58;
/** Extension headers the data path skips (next-header values). */
export const EXT_HOP_BY_HOP = 0,
  EXT_ROUTING = 43,
  EXT_DEST_OPTS = 60;
/** The fragment header's next-header value (built by fragment6, not by `ext`). */
export const EXT_FRAGMENT = 44;

export interface Packet6Spec {
  eth?: { src?: string; dst?: string };
  ip: { src: string; dst: string; hopLimit?: number };
  /** Extension headers in order, each `units` 8-byte units long (default 1), filled with PadN. */
  ext?: Array<{ type: number; units?: number }>;
  tcp?: { sport: number; dport: number; flags?: string; seq?: number; ack?: number; window?: number };
  udp?: { sport: number; dport: number };
  /** rest: the 4 bytes after the checksum. */
  icmp6?: { type: number; code: number; rest?: number; body?: Buffer };
  payload?: Buffer;
}

const TCP_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20 };

function macBytes(mac: string): Buffer {
  const b = Buffer.from(mac.split(':').join(''), 'hex');
  if (b.length !== 6) throw new Error(`bad MAC address '${mac}'`);
  return b;
}

/** The IPv6 pseudo-header: source, destination, upper-layer length (32 bits), next header. */
export function pseudoHeader6(src: Buffer, dst: Buffer, proto: number, len: number): Buffer {
  const p = Buffer.alloc(40);
  src.copy(p, 0);
  dst.copy(p, 16);
  p.writeUInt32BE(len, 32);
  p[39] = proto;
  return p;
}

function upperLayer(spec: Packet6Spec, src: Buffer, dst: Buffer): { proto: number; l4: Buffer } {
  const payload = spec.payload ?? Buffer.alloc(0);
  let proto: number, l4: Buffer, csumOff: number;
  if (spec.tcp) {
    const t = spec.tcp;
    proto = PROTO_TCP;
    l4 = Buffer.alloc(20 + payload.length);
    l4.writeUInt16BE(t.sport, 0);
    l4.writeUInt16BE(t.dport, 2);
    l4.writeUInt32BE((t.seq ?? 1) >>> 0, 4);
    l4.writeUInt32BE((t.ack ?? 0) >>> 0, 8);
    l4[12] = 5 << 4;
    l4[13] = [...(t.flags ?? 'S')].reduce((a, c) => a | (TCP_BITS[c] ?? 0), 0);
    l4.writeUInt16BE(t.window ?? 65535, 14);
    payload.copy(l4, 20);
    csumOff = 16;
  } else if (spec.udp) {
    proto = PROTO_UDP;
    l4 = Buffer.alloc(8 + payload.length);
    l4.writeUInt16BE(spec.udp.sport, 0);
    l4.writeUInt16BE(spec.udp.dport, 2);
    l4.writeUInt16BE(l4.length, 4);
    payload.copy(l4, 8);
    csumOff = 6;
  } else if (spec.icmp6) {
    proto = PROTO_ICMPV6;
    const body = Buffer.concat([spec.icmp6.body ?? Buffer.alloc(0), payload]);
    l4 = Buffer.alloc(8 + body.length);
    l4[0] = spec.icmp6.type;
    l4[1] = spec.icmp6.code;
    l4.writeUInt32BE((spec.icmp6.rest ?? 0) >>> 0, 4);
    body.copy(l4, 8);
    csumOff = 2;
  } else {
    throw new Error('buildPacket6: give one of tcp, udp, icmp6');
  }
  // A computed 0 is sent as 0xffff (UDP: 0 would mean "no checksum", which IPv6 forbids).
  l4.writeUInt16BE(inetChecksum(pseudoHeader6(src, dst, proto, l4.length), l4) || 0xffff, csumOff);
  return { proto, l4 };
}

/** Extension headers chained to @last: each next header, its length, then PadN over the rest. */
function extHeaders(ext: NonNullable<Packet6Spec['ext']>, last: number): Buffer {
  return Buffer.concat(
    ext.map((e, i) => {
      const units = e.units ?? 1;
      const h = Buffer.alloc(8 * units);
      h[0] = i + 1 < ext.length ? ext[i + 1].type : last;
      h[1] = units - 1;
      h[2] = 1; // PadN option covering the remaining bytes
      h[3] = h.length - 4;
      return h;
    }),
  );
}

export function buildPacket6(spec: Packet6Spec): Buffer {
  const src = ipv6Bytes(spec.ip.src),
    dst = ipv6Bytes(spec.ip.dst);
  const { proto, l4 } = upperLayer(spec, src, dst);
  const ext = spec.ext?.length ? extHeaders(spec.ext, proto) : Buffer.alloc(0);
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x60000000, 0);
  ip.writeUInt16BE(ext.length + l4.length, 4);
  ip[6] = spec.ext?.length ? spec.ext[0].type : proto;
  ip[7] = spec.ip.hopLimit ?? 64;
  src.copy(ip, 8);
  dst.copy(ip, 24);
  const eth = Buffer.alloc(14);
  macBytes(spec.eth?.dst ?? DEFAULT_DST_MAC).copy(eth, 0);
  macBytes(spec.eth?.src ?? DEFAULT_SRC_MAC).copy(eth, 6);
  eth.writeUInt16BE(0x86dd, 12);
  return Buffer.concat([eth, ip, ext, l4]);
}

/**
 * Splits @frame (Ethernet + IPv6 without extension headers + the upper layer) into two fragments
 * as a sending host would (RFC 8200 4.5): the first carries @at bytes of the upper layer (a
 * multiple of 8) with the more-fragments bit, the second the rest at offset @at; both carry a
 * fragment header with identification @id.
 */
export function fragment6(frame: Buffer, at: number, id: number): [Buffer, Buffer] {
  if (at % 8 !== 0) throw new Error('fragment6: the split must be a multiple of 8 bytes');
  const head = frame.subarray(0, 14 + 40),
    body = frame.subarray(14 + 40);
  const piece = (data: Buffer, offset: number, more: boolean) => {
    const h = Buffer.from(head);
    h.writeUInt16BE(8 + data.length, 14 + 4);
    h[14 + 6] = EXT_FRAGMENT;
    const fh = Buffer.alloc(8);
    fh[0] = head[14 + 6];
    fh.writeUInt16BE(offset | (more ? 1 : 0), 2);
    fh.writeUInt32BE(id >>> 0, 4);
    return Buffer.concat([h, fh, data]);
  };
  return [piece(body.subarray(0, at), 0, true), piece(body.subarray(at), at, false)];
}
