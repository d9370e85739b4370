// BackendTable (src/compile/backend-table.ts) answers as a Map<number, Backend> does, whatever
// the sequence of writes: the desired and current backends are one, and the plan diffs them.
import { describe, expect, it } from 'vitest';
import { BackendTable, sameBackendAt } from '../../src/compile/index.js';
import type { Backend } from '../../src/abi/index.js';
import { rng } from '../lib/churn.js';

describe('BackendTable', () => {
  it('matches a Map through random sets, deletes and reads, in ascending id order', () => {
    const random = rng(7);
    const table = new BackendTable();
    const map = new Map<number, Backend>();
    for (let step = 0; step < 5000; step++) {
      const id = Math.floor(random() * 300);
      if (random() < 0.35) {
        expect(table.delete(id)).toBe(map.delete(id));
      } else {
        const host = Math.floor(random() * 4);
        const addr = random() < 0.2 ? `fd00::${id % 7}:${host}` : `${128 + (id % 7)}.0.0.${host}`; // u32 > 2^31 too
        const be = { addr, port: 80 + (id % 3), flags: id % 2 };
        table.set(id, be);
        map.set(id, be);
      }
      expect(table.size).toBe(map.size);
      expect(table.get(id)).toEqual(map.get(id));
      expect(table.has(id)).toBe(map.has(id));
    }
    const sorted = [...map].sort(([a], [b]) => a - b);
    expect([...table]).toEqual(sorted);
    expect([...table.keys()]).toEqual(sorted.map(([k]) => k));
    expect([...table.values()]).toEqual(sorted.map(([, v]) => v));
    const copy = table.clone();
    expect([...copy]).toEqual(sorted);
    for (const [id] of sorted) expect(copy.sameAt(id, table)).toBe(true);
    copy.delete(sorted[0]![0]);
    expect(table.size).toBe(map.size); // the clone's columns are its own
  });

  it('holds() compares without a lookup object, for dense ids and the rest alike', () => {
    const table = new BackendTable([
      [5, { addr: '10.1.0.5', port: 8080, flags: 1 }],
      [2 ** 31, { addr: '10.1.0.6', port: 53, flags: 0 }], // beyond the dense range: a pinned id
    ]);
    expect(table.holds(5, { addr: '10.1.0.5', port: 8080, flags: 1 })).toBe(true);
    expect(table.holds(5, { addr: '10.1.0.5', port: 8080, flags: 0 })).toBe(false);
    expect(table.holds(5, { addr: '10.1.0.5', port: 8081, flags: 1 })).toBe(false);
    expect(table.holds(5, { addr: '10.1.0.7', port: 8080, flags: 1 })).toBe(false);
    expect(table.holds(6, { addr: '10.1.0.5', port: 8080, flags: 1 })).toBe(false);
    expect(table.holds(2 ** 31, { addr: '10.1.0.6', port: 53, flags: 0 })).toBe(true);
    expect(sameBackendAt(new Map([[5, { addr: '10.1.0.5', port: 8080, flags: 1 }]]), table, 5)).toBe(true);
    expect(sameBackendAt(new BackendTable([[5, { addr: '10.1.0.5', port: 8080, flags: 1 }]]), table, 5)).toBe(true);
    expect(sameBackendAt(new BackendTable([[5, { addr: '10.1.0.5', port: 8080, flags: 0 }]]), table, 5)).toBe(false);
    expect(sameBackendAt(new BackendTable(), table, 5)).toBe(false);
    expect(sameBackendAt(new BackendTable(), table, 9)).toBe(true);
    expect([...table.keys()]).toEqual([5, 2 ** 31]);
  });

  it('keeps a value the columns cannot hold as it was given, rather than truncating it', () => {
    const table = new BackendTable();
    table.set(3, { addr: '10.1.0.3', port: 80, flags: 0 });
    table.set(3, { addr: '10.1.0.3', port: 70000, flags: 0x100 });
    expect(table.get(3)).toEqual({ addr: '10.1.0.3', port: 70000, flags: 0x100 });
    expect(table.size).toBe(1);
    table.set(3, { addr: '10.1.0.3', port: 81, flags: 0 });
    expect(table.get(3)).toEqual({ addr: '10.1.0.3', port: 81, flags: 0 });
    expect(table.size).toBe(1);
    expect(table.delete(3)).toBe(true);
    expect(table.size).toBe(0);
  });
});
