// Stable small integer ids for service ports, backend sets and backends, keyed by a string
// identity (see identities in compile). The only state compile carries between runs.
//
// Lifetime: an id stays with its identity as long as every compile uses it. An identity that a
// compile did not use is released at the *start of the next* compile, never during the compile
// that dropped it: that compile's desired state is written (and the old use deleted from the
// maps) before any other identity can be handed the same number. Otherwise the reconciler,
// which upserts backends before it rewrites slots, would repoint a live slot at a new address.

import { MAX_SERVICES } from '../abi/index.js';

export type IdNamespace = 'svc' | 'set' | 'backend';

/** Highest id per namespace. svc ids index the stats array: svc_id < SY_MAX_SERVICES. */
export const ID_LIMITS: Readonly<Record<IdNamespace, number>> = {
  svc: MAX_SERVICES - 1,
  set: 0xffffffff,
  backend: 0xffffffff,
};

const WHAT: Record<IdNamespace, string> = { svc: 'service port', set: 'backend set', backend: 'backend' };

export class IdExhaustedError extends Error {
  constructor(
    readonly namespace: IdNamespace,
    readonly limit: number,
  ) {
    super(
      `no free ${WHAT[namespace]} id: all ${limit} are in use` +
        (namespace === 'svc' && limit === ID_LIMITS.svc
          ? ` (SY_MAX_SERVICES: the stats map has ${MAX_SERVICES} entries, id 0 unused)`
          : ''),
    );
    this.name = 'IdExhaustedError';
  }
}

class Space {
  readonly byIdentity = new Map<string, number>();
  readonly byId = new Map<number, string>();
  /** Ids of the identities used since the current round began (seeds count as used): numbers
   *  rather than the identity strings, whose every lookup also reads the string's hash. */
  used = new Set<number>();
  /** Released ids below `fresh`, as a binary min-heap; may hold ids taken again by seed (skipped lazily). */
  private readonly free: number[] = [];
  /** Every id ≥ fresh is unallocated. */
  private fresh = 1;

  constructor(
    readonly ns: IdNamespace,
    readonly limit: number,
  ) {}

  take(identity: string): number {
    let id = this.byIdentity.get(identity);
    if (id === undefined) {
      id = this.lowestFree();
      this.bind(identity, id);
    }
    this.used.add(id);
    return id;
  }

  seed(identity: string, id: number): void {
    if (!Number.isInteger(id) || id < 1 || id > this.limit) {
      throw new RangeError(`seed: ${WHAT[this.ns]} id ${id} is outside 1..${this.limit}`);
    }
    const had = this.byIdentity.get(identity);
    const owner = this.byId.get(id);
    if (had === id) {
      this.used.add(id);
      return;
    }
    if (had !== undefined) throw new Error(`seed: ${WHAT[this.ns]} ${identity} already has id ${had}, not ${id}`);
    if (owner !== undefined) throw new Error(`seed: ${WHAT[this.ns]} id ${id} already belongs to ${owner}`);
    for (; this.fresh < id; this.fresh++) this.push(this.fresh);
    if (this.fresh === id) this.fresh++;
    this.bind(identity, id);
    this.used.add(id);
  }

  release(identity: string): void {
    const id = this.byIdentity.get(identity);
    if (id === undefined) return;
    this.byIdentity.delete(identity);
    this.byId.delete(id);
    this.used.delete(id);
    this.push(id);
  }

  /** Releases every identity not used since the last round began; starts a new round. */
  endRound(): number {
    let released = 0;
    for (const [identity, id] of [...this.byIdentity]) {
      if (!this.used.has(id)) {
        this.release(identity);
        released++;
      }
    }
    this.used = new Set();
    return released;
  }

  private bind(identity: string, id: number): void {
    this.byIdentity.set(identity, id);
    this.byId.set(id, identity);
  }

  private lowestFree(): number {
    while (this.free.length > 0) {
      const id = this.pop();
      if (!this.byId.has(id)) return id; // else: taken by a seed since its release
    }
    if (this.fresh > this.limit) throw new IdExhaustedError(this.ns, this.limit);
    return this.fresh++;
  }

  private push(id: number): void {
    const h = this.free;
    h.push(id);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (h[p] <= h[i]) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private pop(): number {
    const h = this.free;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < h.length && h[l] < h[m]) m = l;
        if (r < h.length && h[r] < h[m]) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}

export class IdAllocator {
  private readonly spaces: Record<IdNamespace, Space>;

  constructor(limits: Partial<Record<IdNamespace, number>> = {}) {
    const l = { ...ID_LIMITS, ...limits };
    this.spaces = {
      svc: new Space('svc', l.svc),
      set: new Space('set', l.set),
      backend: new Space('backend', l.backend),
    };
  }

  /** The id of `identity`, allocating the lowest free one (≥ 1) if it has none. Marks it used.
   *  Throws IdExhaustedError when the namespace is full. */
  get(ns: IdNamespace, identity: string): number {
    return this.spaces[ns].take(identity);
  }

  /** The id of `identity` if it has one; does not allocate or mark. */
  peek(ns: IdNamespace, identity: string): number | undefined {
    return this.spaces[ns].byIdentity.get(identity);
  }

  /** The identity holding `id`, if any. */
  identityOf(ns: IdNamespace, id: number): string | undefined {
    return this.spaces[ns].byId.get(id);
  }

  /** Binds identity → id as found in the pinned maps after a restart. A seeded identity counts as
   *  used by the previous compile, so it survives the next compile's start even if unused there.
   *  Throws when the identity or the id is already bound otherwise. */
  seed(ns: IdNamespace, identity: string, id: number): void {
    this.spaces[ns].seed(identity, id);
  }

  /** Called by compile at its start: releases the ids the previous compile (or the seeding) did
   *  not use, and starts tracking use afresh. Returns how many ids were released per namespace. */
  beginCompile(): Record<IdNamespace, number> {
    return {
      svc: this.spaces.svc.endRound(),
      set: this.spaces.set.endRound(),
      backend: this.spaces.backend.endRound(),
    };
  }

  /** Keeps only the given identities of a namespace; releases the rest now. For callers that
   *  manage lifetimes themselves (tests, the restart path discarding stale seeds). */
  retainOnly(ns: IdNamespace, keep: Iterable<string>): void {
    const k = new Set(keep);
    const space = this.spaces[ns];
    for (const identity of [...space.byIdentity.keys()]) if (!k.has(identity)) space.release(identity);
  }

  release(ns: IdNamespace, identity: string): void {
    this.spaces[ns].release(identity);
  }

  /** identity → id of a namespace, for the CLI and for tests. */
  entries(ns: IdNamespace): Array<[string, number]> {
    return [...this.spaces[ns].byIdentity];
  }

  size(ns: IdNamespace): number {
    return this.spaces[ns].byIdentity.size;
  }
}
