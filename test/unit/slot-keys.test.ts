// SlotKeys: a set of slotKeyNumbers kept per set and generation as a count when the slots run
// 1..n, as a Set otherwise; it must behave as a Set<number> either way.
import { describe, expect, it } from 'vitest';
import { slotKeyNumber } from '../../src/dataplane/plan.js';
import { SlotKeys } from '../../src/dataplane/slot-keys.js';
import { rng } from '../lib/churn.js';

describe('SlotKeys', () => {
  it('behaves as a Set<number> under random adds and deletes, runs and holes alike', () => {
    const r = rng(7);
    const keys = new SlotKeys();
    const ref = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      const n = slotKeyNumber({
        setId: 1 + Math.floor(r() * 4),
        gen: r() < 0.5 ? 0 : 1,
        slot: 1 + Math.floor(r() * 12),
      });
      if (r() < 0.55) {
        keys.add(n);
        ref.add(n);
      } else {
        expect(keys.delete(n)).toBe(ref.delete(n));
      }
      expect(keys.size).toBe(ref.size);
      expect(keys.has(n)).toBe(ref.has(n));
    }
    expect([...keys].sort((a, b) => a - b)).toEqual([...ref].sort((a, b) => a - b));
  });

  it('keeps a run 1..n added in order and trimmed from the top as a count', () => {
    const keys = new SlotKeys();
    const k = (slot: number) => slotKeyNumber({ setId: 70_000, gen: 1, slot });
    for (let slot = 1; slot <= 10; slot++) keys.add(k(slot));
    for (let slot = 10; slot > 4; slot--) keys.delete(k(slot));
    expect([...keys]).toEqual([1, 2, 3, 4].map(k));
    expect((keys as unknown as { bySetGen: Map<number, unknown> }).bySetGen.get(140_001)).toBe(4);
  });

  it('adds the slots 1..n of a set at once, as a count or into what the set already holds', () => {
    const keys = new SlotKeys();
    const k = (gen: number, slot: number) => slotKeyNumber({ setId: 5, gen, slot });
    keys.addSlots(k(0, 1), 3);
    keys.add(k(1, 2));
    keys.addSlots(k(1, 1), 3);
    keys.addSlots(slotKeyNumber({ setId: 6, gen: 0, slot: 1 }), 0);
    expect([...keys]).toEqual([k(0, 1), k(0, 2), k(0, 3), k(1, 2), k(1, 1), k(1, 3)]);
    expect(keys.size).toBe(6);
    expect((keys as unknown as { bySetGen: Map<number, unknown> }).bySetGen.get(10)).toBe(3);
  });
});
