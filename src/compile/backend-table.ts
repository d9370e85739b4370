// The backends by id (desired and current), kept as columns rather than one object each. A
// backend value is three fields, {addr, port, flags}; as an object that is 48 bytes, plus the
// table's 8-byte slot. At 10,000 Services × 10 endpoints that was 100,000 objects (~4.6 MiB)
// alive for the agent's whole life. Here an entry is its address (the endpoint's own string, not
// a copy: 8 bytes) and port | flags << 16 in an Int32Array (4 bytes). The table answers as a
// Map<number, Backend>, so every reader stays as it was; get() and the iterators hand out a new
// object each time, which is young garbage the scavenger takes for free. Ids outside the dense
// range (a pinned map read back may hold any u32) go to an ordinary Map, as in IdMap.
import type { Backend } from '../abi/index.js';

/** Ids below this are kept by index; the rest in the Map beside (as IdMap). */
const DENSE_LIMIT = 1 << 22;

const dense = (k: number) => Number.isInteger(k) && k >= 0 && k < DENSE_LIMIT;

/** port (u16) and flags (u8) in one number; undefined when they do not fit the map's value. */
function pack(be: Backend): number | undefined {
  const { port, flags } = be;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) return undefined;
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xff) return undefined;
  return port | (flags << 16);
}

export class BackendTable implements Map<number, Backend> {
  /** By id: the address, undefined where there is no backend. Kept packed (not holey). */
  private addrs: Array<string | undefined> = [];
  /** By id: port | flags << 16. */
  private portFlags = new Int32Array(0);
  private count = 0;
  /** Ids that are not dense, and values that do not fit the columns. */
  private other?: Map<number, Backend>;

  constructor(entries?: Iterable<readonly [number, Backend]>) {
    if (entries) for (const [k, v] of entries) this.set(k, v);
  }

  get size(): number {
    return this.count + (this.other?.size ?? 0);
  }

  get(key: number): Backend | undefined {
    if (!dense(key)) return this.other?.get(key);
    const addr = this.addrs[key];
    if (addr === undefined) return this.other?.get(key);
    const pf = this.portFlags[key]!;
    return { addr, port: pf & 0xffff, flags: pf >>> 16 };
  }

  has(key: number): boolean {
    return (dense(key) && this.addrs[key] !== undefined) || (this.other?.has(key) ?? false);
  }

  /** Whether the backend at @key is @be, without making an object for it (the plan's compare). */
  holds(key: number, be: Backend): boolean {
    if (dense(key) && this.addrs[key] !== undefined) {
      return this.addrs[key] === be.addr && this.portFlags[key] === pack(be);
    }
    const have = this.other?.get(key);
    return have !== undefined && sameBackend(have, be);
  }

  set(key: number, value: Backend): this {
    if (value === undefined) throw new TypeError('BackendTable: undefined is not a value');
    const pf = pack(value);
    if (!dense(key) || pf === undefined) {
      if (dense(key)) this.delete(key);
      (this.other ??= new Map()).set(key, value);
      return this;
    }
    this.other?.delete(key);
    if (key >= this.portFlags.length) this.grow(key);
    while (this.addrs.length < key) this.addrs.push(undefined); // stays packed, not holey
    if (this.addrs[key] === undefined) this.count++;
    this.addrs[key] = value.addr;
    this.portFlags[key] = pf;
    return this;
  }

  delete(key: number): boolean {
    if (dense(key) && this.addrs[key] !== undefined) {
      this.addrs[key] = undefined;
      this.count--;
      return true;
    }
    return this.other?.delete(key) ?? false;
  }

  clear(): void {
    this.addrs = [];
    this.portFlags = new Int32Array(0);
    this.count = 0;
    this.other = undefined;
  }

  *entries(): MapIterator<[number, Backend]> {
    const a = this.addrs;
    for (let k = 0; k < a.length; k++) {
      const addr = a[k];
      if (addr === undefined) continue;
      const pf = this.portFlags[k]!;
      yield [k, { addr, port: pf & 0xffff, flags: pf >>> 16 }];
    }
    if (this.other) yield* this.other.entries();
  }

  *keys(): MapIterator<number> {
    const a = this.addrs;
    for (let k = 0; k < a.length; k++) if (a[k] !== undefined) yield k;
    if (this.other) yield* this.other.keys();
  }

  *values(): MapIterator<Backend> {
    for (const [, v] of this.entries()) yield v;
  }

  forEach(fn: (value: Backend, key: number, map: Map<number, Backend>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  [Symbol.iterator](): MapIterator<[number, Backend]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'BackendTable';
  }

  private grow(key: number): void {
    const next = new Int32Array(Math.max(key + 1, this.portFlags.length * 2, 64));
    next.set(this.portFlags);
    this.portFlags = next;
  }
}

/** Whether @map holds @be at @id (the plan compares with it before a write): BackendTable.holds when it is one (no object made), else a
 *  lookup and a compare of the three fields. */
export function holdsBackend(map: ReadonlyMap<number, Backend>, id: number, be: Backend): boolean {
  if (map instanceof BackendTable) return map.holds(id, be);
  const have = map.get(id);
  return have !== undefined && sameBackend(have, be);
}

/** Two backend values that write the same map entry. */
const sameBackend = (a: Backend, b: Backend) => a.addr === b.addr && a.port === b.port && a.flags === b.flags;
