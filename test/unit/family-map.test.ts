// The per-family map view: each entry lands in the map of its address's family, backend ids are
// one space, and an object without the IPv6 maps drops IPv6 entries with a report, IPv4 intact.
import { describe, expect, it } from 'vitest';
import { layouts, type Backend, type FrontendKey } from '../../src/abi/index.js';

import type { TypedMap } from '../../src/bpf/index.js';
import { FamilyMap, isV6Addr } from '../../src/dataplane/family-map.js';
import { parseCidrPerFamily } from '../../src/agent/config-values.js';

/** An in-memory stand-in with TypedMap's batch semantics (absent deletes skipped). */
function fakeMap<K, V>(name: string): TypedMap<K, V> & { data: Map<string, [K, V]>; deletes: K[][] } {
  const data = new Map<string, [K, V]>();
  /** The keys of each deleteMany call, in order. */
  const deletes: K[][] = [];
  const id = (k: K) => JSON.stringify(k);
  const m = {
    name,
    maxEntries: 100,
    data,
    deletes,
    get: (k: K) => data.get(id(k))?.[1],
    set: (k: K, v: V) => void data.set(id(k), [k, v]),
    delete: (k: K) => data.delete(id(k)),
    setMany: (es: ReadonlyArray<readonly [K, V]>) => es.forEach(([k, v]) => data.set(id(k), [k, v])),
    deleteMany: (ks: readonly K[], absent?: K[]) => {
      deletes.push([...ks]);
      let n = 0;
      for (const k of ks) {
        if (data.delete(id(k))) n++;
        else absent?.push(k);
      }
      return n;
    },
    entries: () => [...data.values()],
  };
  return m as unknown as TypedMap<K, V> & { data: Map<string, [K, V]>; deletes: K[][] };
}

const fe = (addr: string): FrontendKey => ({ addr, port: 80, proto: 6, scope: 0 });
const val = { svcId: 1, setId: 1, affinityTimeout: 0, count: 1, gen: 0, flags: 0 };

describe('FamilyMap', () => {
  it('writes, reads and deletes each frontend in its family map', () => {
    const v4 = fakeMap<FrontendKey, typeof val>('frontends');
    const v6 = fakeMap<FrontendKey, typeof val>('frontends6');
    const m = new FamilyMap(v4, v6, { isV6: (k) => isV6Addr(k.addr) }, () => {
      throw new Error('not missing');
    });
    m.setMany([
      [fe('10.96.0.1'), val],
      [fe('fd00::1'), val],
    ]);
    expect([...v4.data.values()].map(([k]) => k.addr)).toEqual(['10.96.0.1']);
    expect([...v6.data.values()].map(([k]) => k.addr)).toEqual(['fd00::1']);
    expect(m.entries().map(([k]) => k.addr)).toEqual(['10.96.0.1', 'fd00::1']);
    expect(m.get(fe('fd00::1'))).toEqual(val);
    expect(m.deleteMany([fe('fd00::1'), fe('fd00::2')])).toBe(1);
    expect(v6.data.size).toBe(0);
    expect(v4.data.size).toBe(1);
  });

  it('routes backends by value and deletes an id from both maps (one id space)', () => {
    const v4 = fakeMap<number, Backend>('backends');
    const v6 = fakeMap<number, Backend>('backends6');
    const m = new FamilyMap(
      v4,
      v6,
      { isV6: (_, v) => v !== undefined && isV6Addr(v.addr), deleteBoth: true },
      () => {},
    );
    m.setMany([
      [1, { addr: '10.244.1.2', port: 80, flags: 0 }],
      [2, { addr: 'fd10::2', port: 80, flags: 0 }],
    ]);
    expect(m.get(2)).toEqual({ addr: 'fd10::2', port: 80, flags: 0 });
    expect([...v6.data.keys()]).toEqual(['2']);
    expect(m.deleteMany([1, 2])).toBe(2);
    expect(v4.data.size + v6.data.size).toBe(0);
    // The IPv6 map is asked only for what the IPv4 map did not hold: each absent key is a call.
    expect(v6.deletes).toEqual([[2]]);
    m.set(3, { addr: '10.244.1.3', port: 80, flags: 0 });
    expect(m.deleteMany([3])).toBe(1);
    expect(v6.deletes).toEqual([[2]]);
  });

  it('drops IPv6 entries when the object has no IPv6 map, reporting how many, and keeps IPv4', () => {
    const v4 = fakeMap<FrontendKey, typeof val>('frontends');
    const missing: Array<[string, number]> = [];
    const m = new FamilyMap(v4, undefined, { isV6: (k) => isV6Addr(k.addr) }, (map, n) => missing.push([map, n]));
    m.setMany([
      [fe('10.96.0.1'), val],
      [fe('fd00::1'), val],
      [fe('fd00::2'), val],
    ]);
    expect(missing).toEqual([['frontends', 2]]);
    expect(m.entries().map(([k]) => k.addr)).toEqual(['10.96.0.1']);
    expect(m.deleteMany([fe('fd00::1')])).toBe(0);
  });
});

describe('IPv6 codecs', () => {
  it('encode the address as 16 network-order bytes and decode it canonical', () => {
    const buf = Buffer.alloc(layouts.frontend6Key.size);
    layouts.frontend6Key.encode({ addr: 'FD00::A', port: 80, proto: 17, scope: 1 }, buf);
    expect(buf.toString('hex')).toBe(`${'fd00'.padEnd(31, '0')}a00501101`);
    expect(layouts.frontend6Key.decode(buf)).toEqual({ addr: 'fd00::a', port: 80, proto: 17, scope: 1 });
    expect([layouts.frontend6Key.size, layouts.backend6.size, layouts.sourceRange6Key.size]).toEqual([20, 20, 24]);
    expect(layouts.frontend.size).toBe(16); // the value is shared with IPv4
    expect(() => layouts.backend6.encode({ addr: '10.0.0.1', port: 1, flags: 0 }, Buffer.alloc(20))).toThrow(
      /invalid IPv6 address "10.0.0.1"/,
    );
  });
});

describe('--cluster-cidr', () => {
  it('takes one CIDR per family, canonical, and refuses two of one family', () => {
    expect(parseCidrPerFamily('10.244.0.0/16,FD10:0::/56')).toEqual(['10.244.0.0/16', 'fd10::/56']);
    expect(() => parseCidrPerFamily('10.244.0.0/16,10.245.0.0/16')).toThrow(/at most one CIDR per IP family/);
    expect(() => parseCidrPerFamily('fd10::/56,fd11::/56')).toThrow(/at most one CIDR per IP family/);
  });
});
