// The backends by id (desired and current), kept as columns rather than one object each. A
// backend value is three fields, {addr, port, flags}; as an object that is 48 bytes, plus its
// address string (32) and the table's 8-byte slot. At 10,000 Services × 10 endpoints that was
// 100,000 objects and strings (~8 MiB) alive for the agent's whole life. Here an IPv4 entry is
// its address as a u32 and port | flags << 16, in two typed arrays (8 bytes); an IPv6 one keeps
// its address text in a Map beside. The table answers as a Map<number, Backend>, so every reader
// stays as it was; get() and the iterators make a new object (and address text) each time, young
// garbage the scavenger takes for free. The compiler writes with put(), and the plan compares and
// copies tables column to column (sameAt, copyAt, clone): those make none. Ids outside the dense range (a pinned map read back may hold any u32) and values the
// columns cannot hold go to an ordinary Map, as in IdMap.
import type { Backend } from '../abi/index.js';
import { intToIpv4, ipv4ToInt } from '../net/ipv4.js';
import { dense } from './id-map.js';

/** portFlags of an id with no backend. */
const NONE = -1;

/** port (u16) and flags (u8) in one number; undefined when they do not fit the map's value. */
function pack(port: number, flags: number): number | undefined {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) return undefined;
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xff) return undefined;
  return port | (flags << 16);
}

export class BackendTable implements Map<number, Backend> {
  /** By id: the IPv4 address as a u32 (0 for an IPv6 one). */
  private ips = new Uint32Array(0);
  /** By id: port | flags << 16; NONE where there is no backend. */
  private portFlags = new Int32Array(0);
  /** IPv6 backends' address text, by id. */
  private v6?: Map<number, string>;
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
    if (!this.inColumns(key)) return this.other?.get(key);
    const pf = this.portFlags[key]!;
    return { addr: this.addrAt(key), port: pf & 0xffff, flags: pf >>> 16 };
  }

  has(key: number): boolean {
    return this.inColumns(key) || (this.other?.has(key) ?? false);
  }

  /** The IPv4 address (u32) of the backend at @key as the columns hold it; -1 when the columns
   *  hold none there, or an IPv6 one (get() has those). With portFlagsAt, an encoder reads a
   *  backend with no object or address text made. */
  ipv4At(key: number): number {
    if (!this.inColumns(key) || this.v6?.has(key)) return -1;
    return this.ips[key]!;
  }

  /** port | flags << 16 of the backend at @key in the columns (where ipv4At is not -1). */
  portFlagsAt(key: number): number {
    return this.portFlags[key]!;
  }

  /** Whether the backend at @key is @ip (u32; -1: IPv6 @v6)/@port/@flags, with no object made. */
  private holdsParts(key: number, ip: number, v6: string | undefined, port: number, flags: number): boolean {
    if (!this.inColumns(key)) {
      const have = this.other?.get(key);
      return have !== undefined && have.addr === (v6 ?? intToIpv4(ip)) && have.port === port && have.flags === flags;
    }
    if (this.portFlags[key] !== pack(port, flags)) return false;
    return ip >= 0 ? this.ips[key] === ip && !this.v6?.has(key) : this.v6?.get(key) === v6;
  }

  /** Whether the backend at @key is @be. */
  holds(key: number, be: Backend): boolean {
    const ip = ipv4ToInt(be.addr);
    return this.holdsParts(key, ip, ip < 0 ? be.addr : undefined, be.port, be.flags);
  }

  /** Whether this table and @other hold the same backend at @key (both none: true). */
  sameAt(key: number, other: BackendTable): boolean {
    if (!other.inColumns(key)) {
      const be = other.get(key);
      return be === undefined ? !this.has(key) : this.holds(key, be);
    }
    const ip = other.v6?.get(key);
    const pf = other.portFlags[key]!;
    return this.holdsParts(key, ip === undefined ? other.ips[key]! : -1, ip, pf & 0xffff, pf >>> 16);
  }

  set(key: number, value: Backend): this {
    if (value === undefined) throw new TypeError('BackendTable: undefined is not a value');
    const ip = ipv4ToInt(value.addr);
    return this.put(key, ip, ip < 0 ? value.addr : undefined, value.port, value.flags);
  }

  /** set() from the parts: @ip a u32, or -1 for the IPv6 address @v6. No object is made. */
  put(key: number, ip: number, v6: string | undefined, port: number, flags: number): this {
    const pf = pack(port, flags);
    if (!dense(key) || pf === undefined || (ip < 0 && v6 === undefined)) {
      if (dense(key)) this.delete(key);
      (this.other ??= new Map()).set(key, { addr: v6 ?? intToIpv4(ip), port, flags });
      return this;
    }
    this.other?.delete(key);
    if (key >= this.portFlags.length) this.grow(key);
    if (this.portFlags[key] === NONE) this.count++;
    this.portFlags[key] = pf;
    this.ips[key] = Math.max(ip, 0);
    if (ip < 0) (this.v6 ??= new Map()).set(key, v6!);
    else this.v6?.delete(key);
    return this;
  }

  /** Copies @other's backend at @key here (none: deletes it), with no object made. */
  copyAt(key: number, other: BackendTable): void {
    if (!other.inColumns(key)) {
      const be = other.get(key);
      if (be === undefined) this.delete(key);
      else this.set(key, be);
      return;
    }
    const ip = other.v6?.get(key);
    const pf = other.portFlags[key]!;
    this.put(key, ip === undefined ? other.ips[key]! : -1, ip, pf & 0xffff, pf >>> 16);
  }

  delete(key: number): boolean {
    if (this.inColumns(key)) {
      this.portFlags[key] = NONE;
      this.v6?.delete(key);
      this.count--;
      return true;
    }
    return this.other?.delete(key) ?? false;
  }

  clear(): void {
    this.ips = new Uint32Array(0);
    this.portFlags = new Int32Array(0);
    this.v6 = undefined;
    this.count = 0;
    this.other = undefined;
  }

  *entries(): MapIterator<[number, Backend]> {
    for (const k of this.keys()) yield [k, this.get(k)!];
  }

  *keys(): MapIterator<number> {
    const pf = this.portFlags;
    for (let k = 0; k < pf.length; k++) if (pf[k] !== NONE) yield k;
    if (this.other) yield* this.other.keys();
  }

  *values(): MapIterator<Backend> {
    for (const k of this.keys()) yield this.get(k)!;
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

  /** A copy (the columns copied whole: no object made per backend). */
  clone(): BackendTable {
    const t = new BackendTable();
    t.ips = this.ips.slice();
    t.portFlags = this.portFlags.slice();
    t.count = this.count;
    if (this.v6) t.v6 = new Map(this.v6);
    if (this.other) t.other = new Map(this.other);
    return t;
  }

  private inColumns(key: number): boolean {
    return dense(key) && key < this.portFlags.length && this.portFlags[key] !== NONE;
  }

  private addrAt(key: number): string {
    return this.v6?.get(key) ?? intToIpv4(this.ips[key]!);
  }

  private grow(key: number): void {
    const n = Math.max(key + 1, this.portFlags.length * 2, 64);
    const pf = new Int32Array(n).fill(NONE);
    pf.set(this.portFlags);
    const ips = new Uint32Array(n);
    ips.set(this.ips);
    this.portFlags = pf;
    this.ips = ips;
  }
}

/** Whether @a and @b hold the same backend at @id (neither holds one: true). Two tables compare
 *  their columns, making no object: the plan's compare of desired and current. */
export function sameBackendAt(a: ReadonlyMap<number, Backend>, b: ReadonlyMap<number, Backend>, id: number): boolean {
  if (a instanceof BackendTable && b instanceof BackendTable) return a.sameAt(id, b);
  const x = a.get(id);
  const y = b.get(id);
  return x === undefined || y === undefined ? x === y : x.addr === y.addr && x.port === y.port && x.flags === y.flags;
}

/** Sets @to's backend at @id to @from's (deletes it when @from has none). */
export function copyBackendAt(to: Map<number, Backend>, from: ReadonlyMap<number, Backend>, id: number): void {
  if (to instanceof BackendTable && from instanceof BackendTable) {
    to.copyAt(id, from);
    return;
  }
  const be = from.get(id);
  if (be === undefined) to.delete(id);
  else to.set(id, be);
}

/** A table of @from's backends (its columns copied when it is a table). */
export function copyBackends(from: ReadonlyMap<number, Backend>): BackendTable {
  return from instanceof BackendTable ? from.clone() : new BackendTable(from);
}
