// IdMap (src/compile/id-map.ts) answers as a Map<number, V> does, in ascending id order with the
// ids it cannot index (a pinned map read back may hold any u32) after the dense ones.
import { describe, expect, it } from 'vitest';
import { IdMap } from '../../src/compile/index.js';
import { rng } from '../lib/churn.js';

describe('IdMap', () => {
  it('matches a Map through random sets and deletes; keys, values and entries agree', () => {
    const random = rng(11);
    const ids = new IdMap<string>();
    const map = new Map<number, string>();
    for (let step = 0; step < 4000; step++) {
      const id = random() < 0.05 ? 2 ** 31 + Math.floor(random() * 5) : Math.floor(random() * 200);
      if (random() < 0.35) expect(ids.delete(id)).toBe(map.delete(id));
      else {
        ids.set(id, `v${step}`);
        map.set(id, `v${step}`);
      }
      expect(ids.size).toBe(map.size);
      expect(ids.get(id)).toBe(map.get(id));
    }
    const dense = [...map].filter(([k]) => k < 2 ** 31).sort(([a], [b]) => a - b);
    const other = [...map].filter(([k]) => k >= 2 ** 31);
    const want = [...dense, ...other];
    expect([...ids]).toEqual(want);
    expect([...ids.keys()]).toEqual(want.map(([k]) => k));
    expect([...ids.values()]).toEqual(want.map(([, v]) => v));
    expect(other.length).toBeGreaterThan(0);
  });
});
