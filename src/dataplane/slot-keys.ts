// The keys a slots-shaped map (slots, maglev) holds, as the reconciler believes: slotKeyNumber
// values, kept per set and generation as the count n when they are slots 1..n (what every plan
// leaves) and as a Set of slot numbers otherwise (a torn map read back). At 10,000 Services that
// is one small number per set instead of a Set entry, and a boxed number, per slot (100,000).

/** set id × 2 + generation, and the slot, of a slotKeyNumber. */
const setGen = (n: number) => Math.floor(n / 0x10000);
const slotOf = (n: number) => n % 0x10000;

export class SlotKeys implements Iterable<number> {
  private readonly bySetGen = new Map<number, number | Set<number>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(n: number): boolean {
    const slot = slotOf(n);
    const v = this.bySetGen.get(setGen(n));
    if (v === undefined) return false;
    return typeof v === 'number' ? slot >= 1 && slot <= v : v.has(slot);
  }

  add(n: number): this {
    if (this.has(n)) return this;
    const sg = setGen(n);
    const slot = slotOf(n);
    const v = this.bySetGen.get(sg) ?? 0;
    if (typeof v === 'number' && slot === v + 1) this.bySetGen.set(sg, slot);
    else this.slotsOf(sg, v).add(slot);
    this.count++;
    return this;
  }

  /** Adds @n slot keys from @first (a set's slot 1, as slotKeyNumber makes it) on: one count when
   *  the set held none (a plan adds every set's slots; per slot, 100,000 calls at 10,000 Services). */
  addSlots(first: number, n: number): void {
    const sg = setGen(first);
    if (n > 0 && slotOf(first) === 1 && !this.bySetGen.has(sg)) {
      this.bySetGen.set(sg, n);
      this.count += n;
      return;
    }
    for (let i = 0; i < n; i++) this.add(first + i);
  }

  delete(n: number): boolean {
    if (!this.has(n)) return false;
    const sg = setGen(n);
    const slot = slotOf(n);
    const v = this.bySetGen.get(sg)!;
    if (typeof v === 'number' && slot === v) this.bySetGen.set(sg, v - 1);
    else this.slotsOf(sg, v).delete(slot);
    const left = this.bySetGen.get(sg)!;
    if (left === 0 || (typeof left !== 'number' && left.size === 0)) this.bySetGen.delete(sg);
    this.count--;
    return true;
  }

  *[Symbol.iterator](): Generator<number> {
    for (const [sg, v] of this.bySetGen) {
      if (typeof v === 'number') for (let slot = 1; slot <= v; slot++) yield sg * 0x10000 + slot;
      else for (const slot of v) yield sg * 0x10000 + slot;
    }
  }

  /** The slots of @sg as a Set (@v: what it holds now), converted from a count if need be. */
  private slotsOf(sg: number, v: number | Set<number>): Set<number> {
    if (typeof v !== 'number') return v;
    const s = new Set<number>();
    for (let slot = 1; slot <= v; slot++) s.add(slot);
    this.bySetGen.set(sg, s);
    return s;
  }
}
