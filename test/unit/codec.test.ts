import { describe, expect, it } from 'vitest';
import { bytes, CodecError, struct, u32, u64 } from '../../src/bpf/codec.js';
import * as layouts from '../../src/abi/layouts.js';

describe('struct codec', () => {
  it('round-trips a frontend key in network byte order', () => {
    const k = { addr: '10.96.0.10', port: 443, proto: 6, scope: 1 };
    const buf = Buffer.alloc(layouts.frontendKey.size);
    layouts.frontendKey.encode(k, buf);
    expect(buf.toString('hex')).toBe('0a60000a' + '01bb' + '06' + '01');
    expect(layouts.frontendKey.decode(buf)).toEqual(k);
  });

  it('round-trips every layout, at an offset, and zeroes padding', () => {
    const samples: Array<[keyof typeof layouts.allStructs, unknown]> = [
      ['frontend', { svcId: 7, setId: 9, affinityTimeout: 10800, count: 3, gen: 1, flags: 5 }],
      ['slotKey', { setId: 9, slot: 65535, gen: 1 }],
      ['backend', { addr: '10.1.2.3', port: 8080, flags: 1 }],
      ['ctKey', { saddr: '10.0.0.1', daddr: '10.96.0.1', sport: 40000, dport: 53, proto: 17, dir: 1 }],
      [
        'ctEntry',
        {
          lastSeenNs: 123456789012345n,
          nat: { saddr: '0.0.0.0', daddr: '10.1.2.3', sport: 0, dport: 8080 },
          backendId: 4,
          svcId: 7,
          flags: 3,
        },
      ],
      ['affinityKey', { setId: 1, clientAddr: '192.168.1.1' }],
      ['affinity', { lastUsedNs: 2n ** 63n, backendId: 11 }],
      ['stats', { packets: 1n, bytes: 2n, newFlows: 3n, noBackend: 2n ** 64n - 1n }],
    ];
    for (const [name, v] of samples) {
      const c = layouts.allStructs[name] as {
        size: number;
        encode(v: unknown, b: Buffer, o?: number): void;
        decode(b: Buffer, o?: number): unknown;
      };
      const buf = Buffer.alloc(c.size + 3, 0xee);
      c.encode(v, buf, 3);
      expect(buf.subarray(0, 3).toString('hex')).toBe('eeeeee');
      expect(c.decode(buf, 3), name).toEqual(v);
    }
    const sk = Buffer.alloc(8, 0xff);
    layouts.slotKey.encode({ setId: 1, slot: 2, gen: 0 }, sk);
    expect(sk[7]).toBe(0); // the pad byte: hash keys compare raw bytes
  });

  it('computes C sizes and offsets, including nested structs and tail padding', () => {
    expect(layouts.frontendKey.size).toBe(8);
    expect(layouts.frontend.size).toBe(16);
    expect(layouts.ctKey.size).toBe(16);
    expect(layouts.ctEntry.size).toBe(40);
    expect(layouts.ctEntry.fields.map((f) => [f.cName, f.offset, f.size])).toEqual([
      ['last_seen_ns', 0, 8],
      ['nat', 8, 12],
      ['backend_id', 20, 4],
      ['svc_id', 24, 4],
      ['flags', 28, 1],
      ['pad', 29, 7],
    ]);
    const s = struct<{ a: number; b: bigint }>('t', [
      ['a', 'u8'],
      ['b', 'u64'],
    ]);
    expect([s.size, s.fields[1].offset]).toEqual([16, 8]);
  });

  it('rejects values that do not fit, naming struct and field', () => {
    const buf = Buffer.alloc(16);
    expect(() => layouts.frontendKey.encode({ addr: '10.0.0.256', port: 1, proto: 6, scope: 0 }, buf)).toThrow(
      /sy_frontend_key.addr: invalid IPv4 address/,
    );
    expect(() => layouts.frontendKey.encode({ addr: '10.0.0.1', port: 70000, proto: 6, scope: 0 }, buf)).toThrow(
      /sy_frontend_key.port: expected an integer 0..65535/,
    );
    expect(() => layouts.frontend.encode({ svcId: -1 } as never, buf)).toThrow(/sy_frontend.svc_id/);
    expect(() =>
      layouts.stats.encode({ packets: 1n, bytes: 2n, newFlows: 3n } as never, buf.subarray(0, 32) as Buffer),
    ).toThrow(CodecError);
    expect(() => u64.encode(-1n, buf)).toThrow(/__u64/);
  });

  it('parses IPv4 strictly', () => {
    for (const good of ['0.0.0.0', '255.255.255.255', '10.96.0.1', '1.02.3.4']) {
      layouts.affinityKey.encode({ setId: 0, clientAddr: good }, Buffer.alloc(8));
    }
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '1..2.3',
      '1.2.3.',
      '.1.2.3',
      '256.1.1.1',
      '1.2.3.1000',
      ' 1.2.3.4',
      '1.2.3.x',
      16909060,
    ]) {
      expect(
        () => layouts.backend.encode({ addr: bad as string, port: 1, flags: 0 }, Buffer.alloc(8)),
        String(bad),
      ).toThrow(/sy_backend.addr: invalid IPv4 address/);
    }
    const nb = Buffer.alloc(12);
    layouts.nat.encode({ saddr: '192.168.255.1', daddr: '0.0.0.0', sport: 0, dport: 0 }, nb);
    expect(nb.subarray(0, 4).toString('hex')).toBe('c0a8ff01');
  });

  it('rejects buffers that are too small', () => {
    expect(() =>
      layouts.frontend.encode({ svcId: 1, setId: 1, affinityTimeout: 0, count: 0, gen: 0, flags: 0 }, Buffer.alloc(8)),
    ).toThrow(/sy_frontend: encode needs 16 bytes at offset 0, buffer has 8/);
    expect(() => layouts.ctEntry.decode(Buffer.alloc(40), 1)).toThrow(/sy_ct_entry: decode needs 40 bytes at offset 1/);
    expect(() => u32.decode(Buffer.alloc(3))).toThrow(CodecError);
  });

  it('scalar and bytes codecs', () => {
    const b = Buffer.alloc(4);
    u32.encode(0xdeadbeef, b);
    expect(b.toString('hex')).toBe('efbeadde');
    expect(u32.decode(b)).toBe(0xdeadbeef);
    const raw = bytes(3);
    raw.encode(Buffer.from([1, 2, 3]), b, 1);
    expect(raw.decode(b, 1)).toEqual(Buffer.from([1, 2, 3]));
    expect(() => raw.encode(Buffer.from([1]), b)).toThrow(/expected a Buffer of 3 bytes/);
  });
});
