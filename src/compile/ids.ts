// Stable small integer ids for service ports, backend sets and backends, by identity (see
// compile): a service port by its text (namespace/name:port/PROTO), a set by its service port's id
// and variant, a backend by its service port's id and endpoint (backend-ids.ts). The only state
// compile carries between runs.
//
// Lifetime: an id stays with its identity as long as every compile uses it. An identity that a
// compile did not use is released at the *start of the next* compile, never during the compile
// that dropped it: that compile's desired state is written (and the old use deleted from the
// maps) before any other identity can be handed the same number. Otherwise the reconciler,
// which upserts backends before it rewrites slots, would repoint a live slot at a new address.
// A set or backend is used only with its service port, so a svc id is never released while a
// set or backend keyed by it is still bound.

import { MAX_SERVICES } from '../abi/index.js';
import { BackendSpace } from './backend-ids.js';
import { KeyedSpace, WHAT, type IdNamespace } from './id-space.js';
import type { SetSlot } from './types.js';

export type { IdNamespace };

/** Highest id per namespace. svc ids index the stats array: svc_id < SY_MAX_SERVICES. */
export const ID_LIMITS: Readonly<Record<IdNamespace, number>> = {
  svc: MAX_SERVICES - 1,
  set: 0xffffffff,
  backend: 0xffffffff,
};

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

/** A set's key: its service port's id × 4 + its variant's index here; a reservation: −id. */
const SLOTS: readonly SetSlot[] = ['all', 'local', 'all6', 'local6'];
const exhausted = (ns: IdNamespace, limit: number) => new IdExhaustedError(ns, limit);

export class IdAllocator {
  private readonly svcs: KeyedSpace<string>;
  private readonly sets: KeyedSpace<number>;
  private readonly backends: BackendSpace;

  constructor(limits: Partial<Record<IdNamespace, number>> = {}) {
    const l = { ...ID_LIMITS, ...limits };
    this.svcs = new KeyedSpace('svc', l.svc, exhausted, (key) => key);
    const svcText = (id: number) => (this.svcs.has(id) ? this.svcs.text(id) : undefined);
    this.sets = new KeyedSpace('set', l.set, exhausted, (key) =>
      key < 0 ? `<pinned set ${-key}>` : `${svcText(Math.floor(key / 4)) ?? '?'}#${SLOTS[key % 4]}`,
    );
    this.backends = new BackendSpace(l.backend, exhausted, svcText);
  }

  /** The id of service port @identity, allocating the lowest free one (≥ 1) if it has none; marks
   *  it used. Throws IdExhaustedError when the namespace is full (likewise the two below). */
  svcId(identity: string): number {
    return this.svcs.take(identity);
  }

  /** The id of service port @svcId's set @slot. */
  setId(svcId: number, slot: SetSlot): number {
    return this.sets.take(svcId * 4 + SLOTS.indexOf(slot));
  }

  /** The id of service port @svcId's backend @addr:@port (@ip: addr as a number, when the caller
   *  has it already, and then @addr is read only when @ip is -1: IPv6). */
  backendId(svcId: number, addr: string, port: number, ip?: number): number {
    return this.backends.take(svcId, addr, port, ip);
  }

  /** The id of an identity given as text (as identityOf writes it), allocating as svcId() does.
   *  For tests and tools; compile uses the three above. */
  get(ns: IdNamespace, identity: string): number {
    if (ns === 'svc') return this.svcs.take(identity);
    const k = this.parse(ns, identity);
    if (k === undefined) throw new Error(`not a ${WHAT[ns]} identity, or its service port has no id: ${identity}`);
    if (ns === 'set') return this.sets.take(k.set);
    return this.backends.take(k.svc, k.addr, k.port);
  }

  /** The id of an identity given as text, if it has one; does not allocate or mark. */
  peek(ns: IdNamespace, identity: string): number | undefined {
    if (ns === 'svc') return this.svcs.find(identity);
    const k = this.parse(ns, identity);
    if (k === undefined) return undefined;
    return ns === 'set' ? this.sets.find(k.set) : this.backends.find(k.svc, k.addr, k.port);
  }

  /** The identity svc id @id is held under: the allocator's own string (undefined: free). */
  svcKey(id: number): string | undefined {
    return this.svcs.key(id);
  }

  /** The identity holding `id`, as text, if any. */
  identityOf(ns: IdNamespace, id: number): string | undefined {
    const space = this.space(ns);
    return space.has(id) ? space.text(id) : undefined;
  }

  /** The service port a set or backend id belongs to (undefined: free, or a reservation). */
  svcIdOf(ns: 'set' | 'backend', id: number): number | undefined {
    if (ns === 'backend') return this.backends.svcIdOf(id);
    const key = this.sets.key(id);
    return key === undefined || key < 0 ? undefined : Math.floor(key / 4);
  }

  /** Binds identity → id as found in the pinned maps after a restart. A seeded identity counts as
   *  used by the previous compile, so it survives the next compile's start even if unused there.
   *  Throws when the identity or the id is already bound otherwise, or a set's or backend's
   *  service port has no id. */
  seed(ns: IdNamespace, identity: string, id: number): void {
    if (ns === 'svc') {
      this.svcs.seed(identity, id);
      return;
    }
    const k = this.parse(ns, identity);
    if (k === undefined)
      throw new Error(`seed: not a ${WHAT[ns]} identity, or its service port has no id: ${identity}`);
    if (ns === 'set') this.sets.seed(k.set, id);
    else this.backends.seed(k.svc, k.addr, k.port, id);
  }

  /** Holds @id under a placeholder identity (`<pinned NS ID>`), used as a seed is: an id the
   *  pinned maps use and nothing matched, released by the compile after next. */
  reserve(ns: IdNamespace, id: number): void {
    if (ns === 'svc') this.svcs.seed(`<pinned svc ${id}>`, id);
    else if (ns === 'set') this.sets.seed(-id, id);
    else this.backends.reserve(id);
  }

  /** Called by compile at its start: releases the ids the previous compile (or the seeding) did
   *  not use, and starts tracking use afresh. Returns how many ids were released per namespace. */
  beginCompile(): Record<IdNamespace, number> {
    return { svc: this.svcs.endRound(), set: this.sets.endRound(), backend: this.backends.endRound() };
  }

  /** Keeps only the given identities (as text) of a namespace; releases the rest now. For callers
   *  that manage lifetimes themselves (tests, the restart path discarding stale seeds). */
  retainOnly(ns: IdNamespace, keep: Iterable<string>): void {
    const k = new Set(keep);
    const space = this.space(ns);
    for (const id of [...space.ids()]) if (!k.has(space.text(id))) space.release(id);
  }

  release(ns: IdNamespace, identity: string): void {
    const id = this.peek(ns, identity);
    if (id !== undefined) this.space(ns).release(id);
  }

  /** Releases @id now (no-op when it is free). */
  releaseId(ns: IdNamespace, id: number): void {
    this.space(ns).release(id);
  }

  /** identity → id of a namespace, ascending id, for the CLI and for tests. */
  entries(ns: IdNamespace): Array<[string, number]> {
    const space = this.space(ns);
    return [...space.ids()].map((id) => [space.text(id), id]);
  }

  size(ns: IdNamespace): number {
    return this.space(ns).size;
  }

  private space(ns: IdNamespace) {
    return ns === 'svc' ? this.svcs : ns === 'set' ? this.sets : this.backends;
  }

  /** A set's key, or a backend's service port and endpoint, from its text. */
  private parse(ns: 'set' | 'backend', text: string) {
    const at = text.lastIndexOf(ns === 'set' ? '#' : '@');
    const svc = at < 0 ? undefined : this.svcs.find(text.slice(0, at));
    if (svc === undefined) return undefined;
    const rest = text.slice(at + 1);
    if (ns === 'set') {
      const slot = SLOTS.indexOf(rest as SetSlot);
      return slot < 0 ? undefined : { set: svc * 4 + slot, svc, addr: '', port: 0 };
    }
    const colon = rest.lastIndexOf(':');
    const addr = rest.startsWith('[') ? rest.slice(1, rest.indexOf(']')) : rest.slice(0, colon);
    const port = Number(rest.slice(colon + 1));
    return colon < 0 || !Number.isInteger(port) ? undefined : { set: 0, svc, addr, port };
  }
}
