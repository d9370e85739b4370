// A Map<number, V> for tables keyed by id (backend, set and svc ids: small integers from 1,
// handed out lowest first, so dense): the values sit in an array indexed by id. Per entry that
// is one array slot (8 bytes) against a hash table's ~28, and get/set are an index, not a hash
// lookup; at 10,000 Services the desired and current backends are two tables of 100,000. It
// iterates in ascending id order, which is the order the desired state promises anyway. Keys
// that are not small non-negative integers (a pinned map read back may hold any u32) go to an
// ordinary Map beside it, iterated after the dense ones.

/** Ids below this are kept by index; the rest in the Map beside (a hole costs a slot). */
const DENSE_LIMIT = 1 << 22;

/** Whether id @k is kept by index (IdMap, BackendTable) rather than in the Map beside. */
export const dense = (k: number) => Number.isInteger(k) && k >= 0 && k < DENSE_LIMIT;

export class IdMap<V> implements Map<number, V> {
  private slots: Array<V | undefined> = [];
  private count = 0;
  private other?: Map<number, V>;

  constructor(entries?: Iterable<readonly [number, V]>) {
    if (entries) for (const [k, v] of entries) this.set(k, v);
  }

  get size(): number {
    return this.count + (this.other?.size ?? 0);
  }

  get(key: number): V | undefined {
    return dense(key) ? this.slots[key] : this.other?.get(key);
  }

  has(key: number): boolean {
    return dense(key) ? this.slots[key] !== undefined : (this.other?.has(key) ?? false);
  }

  set(key: number, value: V): this {
    if (value === undefined) throw new TypeError('IdMap: undefined is not a value');
    if (!dense(key)) {
      (this.other ??= new Map()).set(key, value);
      return this;
    }
    while (this.slots.length < key) this.slots.push(undefined); // stays packed, not holey
    if (this.slots[key] === undefined) this.count++;
    this.slots[key] = value;
    return this;
  }

  delete(key: number): boolean {
    if (!dense(key)) return this.other?.delete(key) ?? false;
    if (this.slots[key] === undefined) return false;
    this.slots[key] = undefined;
    this.count--;
    return true;
  }

  clear(): void {
    this.slots = [];
    this.count = 0;
    this.other = undefined;
  }

  *entries(): MapIterator<[number, V]> {
    const s = this.slots;
    for (let k = 0; k < s.length; k++) {
      const v = s[k];
      if (v !== undefined) yield [k, v];
    }
    if (this.other) yield* this.other.entries();
  }

  *keys(): MapIterator<number> {
    // Not through entries(): that makes a pair per entry (a plan walks 20,000 set ids at 10,000
    // Services, and the profile had this at 30 ms).
    const s = this.slots;
    for (let k = 0; k < s.length; k++) if (s[k] !== undefined) yield k;
    if (this.other) yield* this.other.keys();
  }

  *values(): MapIterator<V> {
    const s = this.slots;
    for (let k = 0; k < s.length; k++) {
      const v = s[k];
      if (v !== undefined) yield v;
    }
    if (this.other) yield* this.other.values();
  }

  forEach(fn: (value: V, key: number, map: Map<number, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  [Symbol.iterator](): MapIterator<[number, V]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'IdMap';
  }
}
