// Packet toolkit: build Ethernet + IPv4 (+ TCP/UDP/ICMP) frames with correct checksums, and parse
// frames back (checking every checksum). Pure TS over node Buffers. Used by the data-path tests
// (test/lib/packet.ts re-exports it) and by `switchyard trace`, which crafts and decodes packets.

export interface PacketSpec {
  eth?: { src?: string; dst?: string };
  ip: { src: string; dst: string; ttl?: number; id?: number };
  /** flags: letters S A F R P U, e.g. 'S', 'SA', 'PA'. */
  tcp?: { sport: number; dport: number; flags?: string; seq?: number; ack?: number; window?: number };
  udp?: { sport: number; dport: number };
  /** rest: the 4 bytes after the checksum (id/sequence for echo, unused/MTU for errors). */
  icmp?: { type: number; code: number; rest?: number; body?: Buffer };
  payload?: Buffer;
}

export interface ParsedPacket {
  eth: { src: string; dst: string; type: number };
  ip: { src: string; dst: string; proto: number; ttl: number; totalLength: number; checksumOk: boolean };
  tcp?: { sport: number; dport: number; flags: string; seq: number; ack: number; checksumOk: boolean };
  udp?: { sport: number; dport: number; checksumOk: boolean };
  icmp?: {
    type: number;
    code: number;
    checksumOk: boolean;
    /** For ICMP errors (unreachable, time exceeded, parameter problem): the quoted packet's header. */
    inner?: { src: string; dst: string; proto: number; sport?: number; dport?: number };
  };
  payload: Buffer;
}

export const PROTO_ICMP = 1,
  PROTO_TCP = 6,
  PROTO_UDP = 17;
export const DEFAULT_SRC_MAC = '02:00:00:00:00:01';
export const DEFAULT_DST_MAC = '02:00:00:00:00:02';

// Canonical order for parsed flags: 'S', 'SA', 'FA', 'RA', 'PA', 'FPA'...
const TCP_FLAGS: Array<[string, number]> = [
  ['S', 0x02],
  ['F', 0x01],
  ['R', 0x04],
  ['P', 0x08],
  ['A', 0x10],
  ['U', 0x20],
];

function macBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-f]{2}$/i.test(p))) throw new Error(`bad MAC address '${mac}'`);
  return Buffer.from(parts.join(''), 'hex');
}
const macString = (b: Buffer, off: number) =>
  [...b.subarray(off, off + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

function ipBytes(ip: string): Buffer {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255))
    throw new Error(`bad IPv4 address '${ip}'`);
  return Buffer.from(parts.map(Number));
}
const ipString = (b: Buffer, off: number) => `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;

/** RFC 1071 one's-complement sum of the buffers, folded and inverted. */
export function inetChecksum(...bufs: Buffer[]): number {
  let sum = 0;
  for (const buf of bufs) {
    // Each buffer is summed as if it started on an even byte (callers pass even-length parts first).
    for (let i = 0; i + 1 < buf.length; i += 2) sum += (buf[i] << 8) | buf[i + 1];
    if (buf.length % 2) sum += buf[buf.length - 1] << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pseudoHeader(src: Buffer, dst: Buffer, proto: number, len: number): Buffer {
  const p = Buffer.alloc(12);
  src.copy(p, 0);
  dst.copy(p, 4);
  p[9] = proto;
  p.writeUInt16BE(len, 10);
  return p;
}

function tcpFlagBits(flags: string): number {
  let bits = 0;
  for (const c of flags.toUpperCase()) {
    const f = TCP_FLAGS.find(([l]) => l === c);
    if (!f) throw new Error(`bad TCP flag '${c}' in '${flags}' (use S A F R P U)`);
    bits |= f[1];
  }
  return bits;
}

export function tcpFlagString(bits: number): string {
  return TCP_FLAGS.filter(([, b]) => bits & b)
    .map(([l]) => l)
    .join('');
}

export function buildPacket(spec: PacketSpec): Buffer {
  const l4count = Number(!!spec.tcp) + Number(!!spec.udp) + Number(!!spec.icmp);
  if (l4count > 1) throw new Error('buildPacket: give at most one of tcp, udp, icmp');
  const payload = spec.payload ?? Buffer.alloc(0);
  const src = ipBytes(spec.ip.src),
    dst = ipBytes(spec.ip.dst);
  let l4: Buffer;
  let proto: number;
  if (spec.tcp) {
    proto = PROTO_TCP;
    const t = spec.tcp;
    l4 = Buffer.alloc(20 + payload.length);
    l4.writeUInt16BE(t.sport, 0);
    l4.writeUInt16BE(t.dport, 2);
    l4.writeUInt32BE((t.seq ?? 1) >>> 0, 4);
    l4.writeUInt32BE((t.ack ?? 0) >>> 0, 8);
    l4[12] = 5 << 4;
    l4[13] = tcpFlagBits(t.flags ?? 'S');
    l4.writeUInt16BE(t.window ?? 65535, 14);
    payload.copy(l4, 20);
    l4.writeUInt16BE(inetChecksum(pseudoHeader(src, dst, proto, l4.length), l4), 16);
  } else if (spec.udp) {
    proto = PROTO_UDP;
    l4 = Buffer.alloc(8 + payload.length);
    l4.writeUInt16BE(spec.udp.sport, 0);
    l4.writeUInt16BE(spec.udp.dport, 2);
    l4.writeUInt16BE(l4.length, 4);
    payload.copy(l4, 8);
    l4.writeUInt16BE(inetChecksum(pseudoHeader(src, dst, proto, l4.length), l4) || 0xffff, 6);
  } else if (spec.icmp) {
    proto = PROTO_ICMP;
    const body = Buffer.concat([spec.icmp.body ?? Buffer.alloc(0), payload]);
    l4 = Buffer.alloc(8 + body.length);
    l4[0] = spec.icmp.type;
    l4[1] = spec.icmp.code;
    l4.writeUInt32BE((spec.icmp.rest ?? 0) >>> 0, 4);
    body.copy(l4, 8);
    l4.writeUInt16BE(inetChecksum(l4), 2);
  } else {
    proto = 253; // experimental: a bare IP packet carrying the payload
    l4 = Buffer.from(payload);
  }
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + l4.length, 2);
  ip.writeUInt16BE(spec.ip.id ?? 0, 4);
  ip.writeUInt16BE(0x4000, 6); // DF
  ip[8] = spec.ip.ttl ?? 64;
  ip[9] = proto;
  src.copy(ip, 12);
  dst.copy(ip, 16);
  ip.writeUInt16BE(inetChecksum(ip), 10);
  const eth = Buffer.alloc(14);
  macBytes(spec.eth?.dst ?? DEFAULT_DST_MAC).copy(eth, 0);
  macBytes(spec.eth?.src ?? DEFAULT_SRC_MAC).copy(eth, 6);
  eth.writeUInt16BE(0x0800, 12);
  return Buffer.concat([eth, ip, l4]);
}

function ports(b: Buffer, off: number, proto: number, end: number): { sport?: number; dport?: number } {
  if ((proto === PROTO_TCP || proto === PROTO_UDP) && off + 4 <= end)
    return { sport: b.readUInt16BE(off), dport: b.readUInt16BE(off + 2) };
  return {};
}

export function parsePacket(frame: Buffer): ParsedPacket {
  if (frame.length < 34)
    throw new Error(`parsePacket: frame of ${frame.length} bytes is too short for Ethernet + IPv4`);
  const type = frame.readUInt16BE(12);
  const eth = { src: macString(frame, 6), dst: macString(frame, 0), type };
  if (type !== 0x0800) throw new Error(`parsePacket: ethertype 0x${type.toString(16)} is not IPv4`);
  const ihl = (frame[14] & 0x0f) * 4;
  if (frame[14] >> 4 !== 4 || ihl < 20) throw new Error('parsePacket: not an IPv4 header');
  const totalLength = frame.readUInt16BE(16);
  const l3 = 14,
    l4 = 14 + ihl,
    end = Math.min(frame.length, 14 + totalLength);
  const proto = frame[l3 + 9];
  const ip = {
    src: ipString(frame, l3 + 12),
    dst: ipString(frame, l3 + 16),
    proto,
    ttl: frame[l3 + 8],
    totalLength,
    checksumOk: inetChecksum(frame.subarray(l3, l4)) === 0,
  };
  const seg = frame.subarray(l4, end);
  const pseudo = pseudoHeader(frame.subarray(l3 + 12, l3 + 16), frame.subarray(l3 + 16, l3 + 20), proto, seg.length);
  const out: ParsedPacket = { eth, ip, payload: Buffer.alloc(0) };
  if (proto === PROTO_TCP && seg.length >= 20) {
    const doff = (seg[12] >> 4) * 4;
    out.tcp = {
      sport: seg.readUInt16BE(0),
      dport: seg.readUInt16BE(2),
      flags: tcpFlagString(seg[13]),
      seq: seg.readUInt32BE(4),
      ack: seg.readUInt32BE(8),
      checksumOk: inetChecksum(pseudo, seg) === 0,
    };
    out.payload = Buffer.from(seg.subarray(doff));
  } else if (proto === PROTO_UDP && seg.length >= 8) {
    const sum = seg.readUInt16BE(6);
    out.udp = {
      sport: seg.readUInt16BE(0),
      dport: seg.readUInt16BE(2),
      checksumOk: sum === 0 || inetChecksum(pseudo, seg) === 0,
    };
    out.payload = Buffer.from(seg.subarray(8));
  } else if (proto === PROTO_ICMP && seg.length >= 8) {
    const t = seg[0];
    out.icmp = { type: t, code: seg[1], checksumOk: inetChecksum(seg) === 0 };
    const body = seg.subarray(8);
    if ((t === 3 || t === 11 || t === 12) && body.length >= 20 && body[0] >> 4 === 4) {
      const iihl = (body[0] & 0x0f) * 4;
      out.icmp.inner = {
        src: ipString(body, 12),
        dst: ipString(body, 16),
        proto: body[9],
        ...ports(body, iihl, body[9], body.length),
      };
    }
    out.payload = Buffer.from(body);
  } else {
    out.payload = Buffer.from(seg);
  }
  return out;
}
