// One view over a map's IPv4 and IPv6 twins (frontends/frontends6, backends/backends6,
// source_ranges/source_ranges6): the planner diffs one desired state with addresses of both
// families, and each write lands in the map of its address's family. Backend ids are one space
// across both backends maps, so a delete by id goes to the IPv4 map, and what it did not hold to
// the IPv6 map.
//
// An object built without the IPv6 maps (an older data path) gets no IPv6 entry: they are dropped
// here and reported once through @onMissing, and IPv4 service goes on. The planner then believes
// them written; the periodic re-read (Reconciler.reread) finds them absent and plans them again,
// which drops them again: harmless, and gone once the data path has the maps.
import type { TypedMap } from '../bpf/index.js';

/** What the reconciler, the planner's readers and the tests use of a typed map. */
export type MapView<K, V> = Pick<
  TypedMap<K, V>,
  'name' | 'maxEntries' | 'get' | 'set' | 'delete' | 'setMany' | 'deleteMany' | 'entries' | 'clear'
>;

export interface FamilyRoute<K, V> {
  /** Whether this entry belongs to the IPv6 map. */
  isV6(key: K, value?: V): boolean;
  /** Deletes by key cannot tell the family (a backend id): send them to both maps. */
  deleteBoth?: boolean;
}

export class FamilyMap<K, V> implements MapView<K, V> {
  readonly name: string;
  readonly maxEntries: number;
  constructor(
    private readonly v4: TypedMap<K, V>,
    private readonly v6: TypedMap<K, V> | undefined,
    private readonly route: FamilyRoute<K, V>,
    private readonly onMissing: (map: string, entries: number) => void,
  ) {
    this.name = v4.name;
    this.maxEntries = v4.maxEntries;
  }

  private pick(key: K, value?: V): TypedMap<K, V> | undefined {
    if (!this.route.isV6(key, value)) return this.v4;
    if (!this.v6) this.onMissing(this.name, 1);
    return this.v6;
  }

  get(key: K): V | undefined {
    if (this.route.deleteBoth) return this.v4.get(key) ?? this.v6?.get(key);
    return this.pick(key)?.get(key);
  }

  set(key: K, value: V): void {
    this.pick(key, value)?.set(key, value);
  }

  delete(key: K): boolean {
    if (this.route.deleteBoth) return this.v4.delete(key) || (this.v6?.delete(key) ?? false);
    return this.pick(key)?.delete(key) ?? false;
  }

  setMany(entries: ReadonlyArray<readonly [K, V]>): void {
    // A plain loop, no copy while there is no IPv6 entry: backends are 100,000 at 10,000 Services.
    const six: Array<readonly [K, V]> = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (this.route.isV6(e[0], e[1])) six.push(e);
    }
    this.v4.setMany(six.length === 0 ? entries : entries.filter((e) => !this.route.isV6(e[0], e[1])));
    if (six.length === 0) return;
    if (this.v6) this.v6.setMany(six);
    else this.onMissing(this.name, six.length);
  }

  /** Entries encoded by @fill (map-base's setEachEncoded), every one of the IPv4 map's family. */
  setEncodedV4(total: number, fill: Parameters<TypedMap<K, V>['setEachEncoded']>[1]): void {
    this.v4.setEachEncoded(total, fill);
  }

  deleteMany(keys: readonly K[]): number {
    if (this.route.deleteBoth) {
      // Only what the IPv4 map did not hold goes to the IPv6 map: every key absent from a map costs
      // a call of its own, and sending all to both made each IPv4 backend delete cost one more
      // call (~20 µs through the FFI), most of a rolling update's write time.
      const absent: K[] = [];
      const n = this.v4.deleteMany(keys, absent);
      return n + (absent.length > 0 && this.v6 ? this.v6.deleteMany(absent) : 0);
    }
    const six = keys.filter((k) => this.route.isV6(k));
    const n = this.v4.deleteMany(six.length === 0 ? keys : keys.filter((k) => !this.route.isV6(k)));
    return n + (six.length > 0 && this.v6 ? this.v6.deleteMany(six) : 0);
  }

  entries(): Array<[K, V]> {
    return [...this.v4.entries(), ...(this.v6?.entries() ?? [])];
  }

  clear(): void {
    this.v4.clear();
    this.v6?.clear();
  }
}

/** An address in an entry: IPv6 text always holds a colon, IPv4 never. */
export const isV6Addr = (addr: string) => addr.includes(':');
