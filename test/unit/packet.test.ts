import { describe, expect, it } from 'vitest';
import { buildPacket, inetChecksum, parsePacket } from '../lib/packet.js';

describe('packet toolkit', () => {
  it('builds a TCP SYN that parses back with valid checksums', () => {
    const f = buildPacket({
      eth: { src: '02:aa:bb:cc:dd:01', dst: '02:aa:bb:cc:dd:02' },
      ip: { src: '10.0.0.1', dst: '10.96.0.10', ttl: 33, id: 7 },
      tcp: { sport: 40000, dport: 80, flags: 'S', seq: 123456, window: 1000 },
      payload: Buffer.from('hello'),
    });
    expect(f.length).toBe(14 + 20 + 20 + 5);
    const p = parsePacket(f);
    expect(p.eth).toEqual({ src: '02:aa:bb:cc:dd:01', dst: '02:aa:bb:cc:dd:02', type: 0x0800 });
    expect(p.ip).toEqual({ src: '10.0.0.1', dst: '10.96.0.10', proto: 6, ttl: 33, totalLength: 45, checksumOk: true });
    expect(p.tcp).toEqual({ sport: 40000, dport: 80, flags: 'S', seq: 123456, ack: 0, checksumOk: true });
    expect(p.payload.toString()).toBe('hello');
  });

  it('matches a known-good IPv4 header checksum (RFC 1071 example header)', () => {
    const hdr = Buffer.from('450000730000400040110000c0a80001c0a800c7', 'hex');
    expect(inetChecksum(hdr)).toBe(0xb861);
  });

  it('detects a corrupted checksum after rewriting an address', () => {
    const f = buildPacket({
      ip: { src: '10.0.0.1', dst: '10.0.0.2' },
      udp: { sport: 1, dport: 53 },
      payload: Buffer.from('q'),
    });
    expect(parsePacket(f).udp?.checksumOk).toBe(true);
    f[14 + 16 + 3] = 9; // dst 10.0.0.9 without fixing checksums
    const p = parsePacket(f);
    expect(p.ip.dst).toBe('10.0.0.9');
    expect(p.ip.checksumOk).toBe(false);
    expect(p.udp?.checksumOk).toBe(false);
  });

  it('keeps flag letters in a canonical order', () => {
    for (const [given, parsed] of [
      ['AS', 'SA'],
      ['PA', 'PA'],
      ['FA', 'FA'],
      ['R', 'R'],
      ['APF', 'FPA'],
    ]) {
      const f = buildPacket({
        ip: { src: '1.1.1.1', dst: '2.2.2.2' },
        tcp: { sport: 1, dport: 2, flags: given, ack: 9 },
      });
      expect(parsePacket(f).tcp?.flags).toBe(parsed);
    }
    expect(() =>
      buildPacket({ ip: { src: '1.1.1.1', dst: '2.2.2.2' }, tcp: { sport: 1, dport: 2, flags: 'X' } }),
    ).toThrow(/bad TCP flag/);
  });

  it('builds an ICMP port unreachable quoting a UDP packet, and parses the inner header', () => {
    const orig = buildPacket({ ip: { src: '10.0.0.1', dst: '10.96.0.10' }, udp: { sport: 5000, dport: 53 } });
    const f = buildPacket({
      ip: { src: '10.96.0.10', dst: '10.0.0.1' },
      icmp: { type: 3, code: 3, body: orig.subarray(14, 14 + 28) },
    });
    const p = parsePacket(f);
    expect(p.icmp).toEqual({
      type: 3,
      code: 3,
      checksumOk: true,
      inner: { src: '10.0.0.1', dst: '10.96.0.10', proto: 17, sport: 5000, dport: 53 },
    });
  });

  it('builds an echo request', () => {
    const p = parsePacket(
      buildPacket({
        ip: { src: '10.0.0.1', dst: '10.0.0.2' },
        icmp: { type: 8, code: 0, rest: 0x00010002 },
        payload: Buffer.from('ping!'),
      }),
    );
    expect(p.icmp).toEqual({ type: 8, code: 0, checksumOk: true });
    expect(p.payload.toString()).toBe('ping!');
  });

  it('rejects bad input clearly', () => {
    expect(() => buildPacket({ ip: { src: '10.0.0', dst: '10.0.0.2' } })).toThrow(/bad IPv4 address '10.0.0'/);
    expect(() => buildPacket({ eth: { src: 'zz' }, ip: { src: '10.0.0.1', dst: '10.0.0.2' } })).toThrow(/bad MAC/);
    expect(() => parsePacket(Buffer.alloc(10))).toThrow(/too short/);
  });
});
