// encodeBackendParts (src/abi/layouts.ts): the bytes a cold start writes for each IPv4 backend
// from BackendTable's columns must be the bytes the sy_backend codec writes for the same backend.
import { describe, expect, it } from 'vitest';
import { encodeBackendParts, backend } from '../../src/abi/layouts.js';
import { BE_LOCAL } from '../../src/abi/index.js';
import { intToIpv4 } from '../../src/net/ipv4.js';
import { BackendTable } from '../../src/compile/backend-table.js';
import { rng } from '../lib/churn.js';

describe('encodeBackendParts', () => {
  it('writes the codec’s bytes for any address, port and flags, padding zeroed', () => {
    const next = rng(7);
    const edges = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff];
    for (let i = 0; i < 2000; i++) {
      const ip = i < edges.length ? edges[i]! : Math.floor(next() * 2 ** 32);
      const port = i % 3 === 0 ? 0xffff : Math.floor(next() * 0x10000);
      const flags = i % 5 === 0 ? 0xff : Math.floor(next() * 0x100);
      const want = Buffer.alloc(backend.size + 4, 0xaa);
      backend.encode({ addr: intToIpv4(ip), port, flags }, want, 2);
      const got = Buffer.alloc(backend.size + 4, 0xaa);
      encodeBackendParts(ip, port, flags, got, 2);
      expect(got.toString('hex')).toBe(want.toString('hex'));
    }
  });

  it('refuses values a column never holds rather than writing other bytes', () => {
    expect(() => encodeBackendParts(2 ** 32, 80, 0, Buffer.alloc(8), 0)).toThrow(RangeError);
    expect(() => encodeBackendParts(1, 0x10000, 0, Buffer.alloc(8), 0)).toThrow(RangeError);
  });

  it('reads back from a table’s columns: IPv4 only, none for IPv6 or a missing id', () => {
    const t = new BackendTable();
    t.set(3, { addr: '10.244.1.11', port: 8080, flags: BE_LOCAL });
    t.set(4, { addr: 'fd00::1', port: 8080, flags: 0 });
    t.set(2 ** 31, { addr: '10.0.0.1', port: 80, flags: 0 }); // not dense: beside the columns
    expect(t.ipv4At(3)).toBe(0x0af4010b);
    expect(t.portFlagsAt(3)).toBe(8080 | (BE_LOCAL << 16));
    expect([t.ipv4At(4), t.ipv4At(5), t.ipv4At(2 ** 31)]).toEqual([-1, -1, -1]);
    t.delete(3);
    expect(t.ipv4At(3)).toBe(-1);
  });
});
