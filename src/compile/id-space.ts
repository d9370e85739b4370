// The bookkeeping every id namespace shares (see ids.ts for the lifetime rules): which ids are
// bound to an identity, which the current round used, the released ids (a min-heap) and the
// first id never handed out. The flags are one byte per id rather than a Set of used ids: at
// 10,000 Services the backend namespace has 100,000 ids. How an identity is kept and found is
// the subclass's: a Map for the few service ports and sets, a table of numbers for backends.

export type IdNamespace = 'svc' | 'set' | 'backend';

export const WHAT: Record<IdNamespace, string> = { svc: 'service port', set: 'backend set', backend: 'backend' };

const BOUND = 1;
const USED = 2;

export abstract class IdSpace {
  private flags = new Uint8Array(256);
  /** Released ids below `fresh`, as a binary min-heap; may hold ids taken again by seed (skipped lazily). */
  private readonly free: number[] = [];
  /** Every id ≥ fresh is unallocated. */
  private fresh = 1;
  private bound = 0;

  constructor(
    readonly ns: IdNamespace,
    readonly limit: number,
    private readonly exhausted: (ns: IdNamespace, limit: number) => Error,
  ) {}

  /** The identity of bound @id, as text (logs, tests, the CLI). */
  abstract text(id: number): string;
  /** Forgets the identity bound to @id (the flags are the caller's). */
  protected abstract unbind(id: number): void;

  get size(): number {
    return this.bound;
  }

  has(id: number): boolean {
    return id > 0 && id < this.flags.length && (this.flags[id]! & BOUND) !== 0;
  }

  /** Every bound id, ascending. */
  *ids(): Generator<number> {
    for (let id = 1; id < this.fresh && id < this.flags.length; id++) if (this.flags[id]! & BOUND) yield id;
  }

  /** Marks bound @id used by the current round. */
  protected use(id: number): number {
    this.flags[id]! |= USED;
    return id;
  }

  /** The lowest free id, marked bound and used; the caller binds its identity to it. */
  protected allocate(): number {
    let id: number | undefined;
    while (this.free.length > 0) {
      const top = this.pop();
      if (!this.has(top)) {
        id = top; // else: taken by a seed since its release
        break;
      }
    }
    if (id === undefined) {
      if (this.fresh > this.limit) throw this.exhausted(this.ns, this.limit);
      id = this.fresh++;
    }
    this.mark(id);
    return id;
  }

  /** Checks that @id may be seeded for an identity that @had (its id, if it has one); true when
   *  it is already bound to that identity (then only marked used). */
  protected seedable(id: number, had: number | undefined, text: string): boolean {
    if (!Number.isInteger(id) || id < 1 || id > this.limit) {
      throw new RangeError(`seed: ${WHAT[this.ns]} id ${id} is outside 1..${this.limit}`);
    }
    if (had === id) {
      this.use(id);
      return true;
    }
    if (had !== undefined) throw new Error(`seed: ${WHAT[this.ns]} ${text} already has id ${had}, not ${id}`);
    if (this.has(id)) throw new Error(`seed: ${WHAT[this.ns]} id ${id} already belongs to ${this.text(id)}`);
    for (; this.fresh < id; this.fresh++) this.push(this.fresh);
    if (this.fresh === id) this.fresh++;
    this.mark(id);
    return false;
  }

  release(id: number): void {
    if (!this.has(id)) return;
    this.unbind(id);
    this.flags[id] = 0;
    this.bound--;
    this.push(id);
  }

  /** Releases every id not used since the last round began; starts a new round. */
  endRound(): number {
    let released = 0;
    const end = Math.min(this.fresh, this.flags.length);
    for (let id = 1; id < end; id++) {
      const f = this.flags[id]!;
      if (f & BOUND && !(f & USED)) {
        this.release(id);
        released++;
      }
      this.flags[id]! &= BOUND;
    }
    return released;
  }

  private mark(id: number): void {
    if (id >= this.flags.length) {
      const grown = new Uint8Array(Math.max(id + 1, this.flags.length * 2));
      grown.set(this.flags);
      this.flags = grown;
    }
    this.flags[id] = BOUND | USED;
    this.bound++;
  }

  private push(id: number): void {
    const h = this.free;
    h.push(id);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (h[p]! <= h[i]!) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): number {
    const h = this.free;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < h.length && h[l]! < h[m]!) m = l;
        if (r < h.length && h[r]! < h[m]!) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

/** A namespace whose identities are Map keys: service ports (their identity text) and backend
 *  sets (a number: svc id × 4 + variant). */
export class KeyedSpace<K extends string | number> extends IdSpace {
  private readonly byKey = new Map<K, number>();
  private readonly keyOf: Array<K | undefined> = [];

  constructor(
    ns: IdNamespace,
    limit: number,
    exhausted: (ns: IdNamespace, limit: number) => Error,
    private readonly show: (key: K, id: number) => string,
  ) {
    super(ns, limit, exhausted);
  }

  take(key: K): number {
    const id = this.byKey.get(key);
    if (id !== undefined) return this.use(id);
    const fresh = this.allocate();
    this.bind(key, fresh);
    return fresh;
  }

  find(key: K): number | undefined {
    return this.byKey.get(key);
  }

  key(id: number): K | undefined {
    return this.has(id) ? this.keyOf[id] : undefined;
  }

  seed(key: K, id: number): void {
    if (!this.seedable(id, this.byKey.get(key), this.show(key, id))) this.bind(key, id);
  }

  text(id: number): string {
    return this.show(this.keyOf[id]!, id);
  }

  protected unbind(id: number): void {
    this.byKey.delete(this.keyOf[id]!);
    this.keyOf[id] = undefined;
  }

  private bind(key: K, id: number): void {
    this.byKey.set(key, id);
    this.keyOf[id] = key;
  }
}
