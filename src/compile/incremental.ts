import type { ClusterModel, Service, ValidationError } from '../model/types.js';
import {
  admitted,
  claimOrder,
  compileWithAsks,
  config6Entry,
  configEntry,
  dedupe,
  frontendsFor,
  keptWants,
  localReady,
  nodeTopology,
  programPort,
  type Ask,
  type Output,
} from './compile.js';
import { nodeAddresses, sameText, serviceAsks } from './claims.js';
import { candidates } from './endpoints.js';
import { addMaglevSets, dropMaglevSet } from './maglev-summary.js';
import type { IdAllocator, IdNamespace } from './ids.js';
import { idsOf, type Ids } from './held-ids.js';
import { copyBackendAt } from './backend-table.js';
import { Claimants } from './claimants.js';
import {
  desiredKeyString,
  frontendsWhenRead,
  svcIdentity,
  type DesiredFrontend,
  type CompileScope,
  type DesiredState,
  type HealthCheckService,
  type NodeConfig,
} from './types.js';

/** One Service's share of the desired state: the frontend keys it asks for and holds, and its
 *  svc ids. Its set and backend ids are read from the desired state (its ports' sets and their
 *  members) rather than kept a second time here. Arrays of their exact length: an array grown
 *  by push() from empty holds 17 slots, and there is one of each per Service. */
interface Entry {
  askKeys: string[];
  feKeys: string[];
  svcIds: number[];
}

const NS: IdNamespace[] = ['svc', 'set', 'backend'];

export class IncrementalCompiler {
  private desiredState?: DesiredState;
  private readonly entries = new Map<string, Entry>();
  private readonly claimants = new Claimants();
  private readonly frontendByKey = new Map<string, DesiredFrontend>();
  private readonly conflicts = new Map<string, ValidationError[]>();
  private readonly refused = new Map<string, ValidationError[]>();
  private readonly healthCheck = new Map<string, HealthCheckService>();
  private pendingRelease: Array<[IdNamespace, number]> = [];

  constructor(private readonly ids: IdAllocator) {}

  /** The state the last full() or update() produced. */
  get desired(): DesiredState | undefined {
    return this.desiredState;
  }

  /** A full compile (same result as compile()), indexed per Service for later updates. */
  full(model: ClusterModel, node: NodeConfig, previous?: DesiredState): DesiredState {
    this.releasePending();
    const { desired, asks, svcKeyOf } = compileWithAsks(model, node, this.ids, previous);
    this.index(model, desired, asks, svcKeyOf);
    return desired;
  }

  /** Recompiles the Services named in @dirty (and the claimants of their frontends) against
   *  @model; returns the new desired state and what changed. Needs a full() first. */
  update(
    model: ClusterModel,
    node: NodeConfig,
    dirty: Iterable<string>,
  ): { desired: DesiredState; scope: CompileScope } {
    const desired = this.desiredState;
    if (!desired) throw new Error('IncrementalCompiler.update: no full compile yet');
    this.releasePending();
    const nodeAddrs = nodeAddresses(node);
    const { keys, asks } = this.component(model, node, nodeAddrs, dirty);
    const scope: CompileScope = { frontends: new Map(), sets: new Set(), backends: new Set(), services: new Set() };
    const held = this.holders(asks, desired);
    const stale = idsOf([], desired);
    for (const key of keys) {
      this.remove(key, desired, scope, stale);
      if (!model.services.has(key)) this.entries.delete(key);
    }

    const winners = new Map<string, Ask>();
    for (const ask of asks) {
      const identity = svcIdentity(ask.svc.namespace, ask.svc.name, ask.sp.name, ask.sp.protocol);
      for (const w of ask.wants) {
        if (!winners.has(w.ks) || held.get(w.ks) === identity) winners.set(w.ks, ask);
      }
    }
    const asksOf = new Map<Service, Ask[]>();
    for (const ask of asks) asksOf.set(ask.svc, [...(asksOf.get(ask.svc) ?? []), ask]);
    for (const key of keys) {
      const svc = model.services.get(key);
      if (svc) this.add(svc, asksOf.get(svc) ?? [], winners, model, node, nodeAddrs, desired, scope);
    }
    const maps = { svc: desired.services, set: desired.sets, backend: desired.backends };
    // An identity and its id are bound one to one until released, so an old id no Service holds
    // now is an identity no Service uses now: released at the next compile's start.
    const now = idsOf(
      [...keys].flatMap((k) => this.entries.get(k)?.svcIds ?? []),
      desired,
    );
    for (const ns of NS) {
      for (const id of stale[ns]) {
        if (now[ns].has(id)) continue;
        this.pendingRelease.push([ns, id]);
        maps[ns].delete(id);
      }
    }
    // Keys remove() left in frontendByKey (V8 Maps keep deleted entries: issue 12) that no add() set.
    for (const [k, fe] of scope.frontends) if (fe === undefined) this.frontendByKey.delete(k);
    for (const k of scope.frontends.keys()) scope.frontends.set(k, this.frontendByKey.get(k));
    frontendsWhenRead(desired, this.frontendByKey);
    desired.conflicts = [...this.conflicts.values()].flat();
    desired.refused = [...this.refused.values()].flat();
    desired.healthCheck = [...this.healthCheck.values()];
    desired.config = configEntry(node);
    const config6 = config6Entry(node);
    if (config6) desired.config6 = config6;
    else delete desired.config6;
    return { desired, scope };
  }

  /** The dirty Services plus everyone who asks for a frontend key one of them asks or asked for,
   *  to a fixpoint; with their current asks in claim order. */
  private component(model: ClusterModel, node: NodeConfig, nodeAddrs: string[], dirty: Iterable<string>) {
    const keys = new Set<string>();
    const asksOf = new Map<string, { asks: Ask[]; askKeys: string[] }>();
    const queue = [...dirty];
    while (queue.length > 0) {
      const key = queue.pop()!;
      if (keys.has(key)) continue;
      keys.add(key);
      const svc = model.services.get(key);
      const asks = svc ? serviceAsks(svc, node, nodeAddrs) : [];
      const had = this.entries.get(key)?.askKeys ?? []; // its texts are kept (sameText)
      const askKeys = [...new Set(asks.flatMap((a) => a.wants.map((w) => w.ks)))].map((k) => sameText(had, k));
      asksOf.set(key, { asks, askKeys });
      for (const k of [...had, ...askKeys]) {
        for (const other of this.claimants.of(k)) if (!keys.has(other)) queue.push(other);
      }
    }
    const services = claimOrder(
      [...keys].map((k) => model.services.get(k)).filter((s): s is Service => s !== undefined),
    );
    const asks = services.flatMap((s) => asksOf.get(s.key)!.asks);
    // The claimants index now reflects the new asks; a key still asked for stays (see update()).
    for (const key of keys) {
      const entry = this.entries.get(key);
      const { askKeys } = asksOf.get(key)!;
      for (const k of entry?.askKeys ?? []) if (!askKeys.includes(k)) this.claimants.unclaim(k, key);
      for (const k of askKeys) this.claimants.claim(k, key);
      if (entry) entry.askKeys = askKeys;
      else if (model.services.has(key)) this.entries.set(key, { askKeys, feKeys: [], svcIds: [] });
    }
    return { keys, asks };
  }

  /** Who holds each key the component asks for, by svc identity, before anything is removed. */
  private holders(asks: Ask[], desired: DesiredState): Map<string, string> {
    const held = new Map<string, string>();
    for (const ask of asks) {
      for (const w of ask.wants) {
        const fe = this.frontendByKey.get(w.ks);
        const info = fe && desired.services.get(fe.svcId);
        if (info) held.set(w.ks, info.identity);
      }
    }
    return held;
  }

  /** Takes one Service's share out of the desired state, noting its ids in @stale. The ids stay in
   *  the desired maps until update() has re-added the component: most come back unchanged (one
   *  swapped endpoint keeps 9 of 10 backends), and a delete followed by a set of the same id in
   *  maps of 100,000 entries was most of a partial sync's compile time. */
  private remove(key: string, desired: DesiredState, scope: CompileScope, stale: Ids): void {
    const entry = this.entries.get(key);
    this.conflicts.delete(key);
    this.refused.delete(key);
    this.healthCheck.delete(key);
    if (!entry) return;
    for (const k of entry.feKeys) scope.frontends.set(k, undefined); // frontendByKey: see update()
    const ids = idsOf(entry.svcIds, desired);
    // Out of desired.maglev now, while desired.sets still has their sizes: add() puts back the
    // sets that come back, and one that does not leaves desired.sets once update() has re-added.
    for (const id of ids.set) dropMaglevSet(desired, id);
    const sc = { svc: scope.services, set: scope.sets, backend: scope.backends };
    for (const ns of NS) {
      for (const id of ids[ns]) {
        stale[ns].add(id);
        sc[ns].add(id);
      }
    }
    entry.feKeys = [];
    entry.svcIds = [];
  }

  /** Compiles one Service into the desired state (its ports that hold frontends). */
  private add(
    svc: Service,
    asks: Ask[],
    winners: Map<string, Ask>,
    model: ClusterModel,
    node: NodeConfig,
    nodeAddrs: string[],
    desired: DesiredState,
    scope: CompileScope,
  ): void {
    if (svc.headless || svc.type === 'ExternalName') return;
    const refused: ValidationError[] = [];
    for (const sp of svc.ports)
      for (const w of dedupe(frontendsFor(svc, sp, nodeAddrs))) admitted(w, svc, node, nodeAddrs, refused);
    if (refused.length > 0) this.refused.set(svc.key, refused);
    const hcPort = svc.externalTrafficPolicy === 'Local' ? svc.healthCheckNodePort : undefined;
    if (hcPort !== undefined) {
      this.healthCheck.set(svc.key, {
        namespace: svc.namespace,
        name: svc.name,
        nodePort: hcPort,
        localEndpoints: localReady(svc, model, node),
      });
    }
    const out: Output = {
      frontends: [],
      sets: new Map(),
      backends: new Map(),
      services: new Map(),
      conflicts: [],
      maglev: { sets: new Set(), entries: 0, bytes: 0, buildMs: 0 },
      node,
    };
    const where = nodeTopology(model, node);
    for (const ask of asks) {
      const kept = keptWants(ask, (k) => winners.get(k)!, out.conflicts);
      if (kept.length === 0) continue;
      programPort(
        out,
        this.ids,
        svc,
        ask.sp,
        kept,
        candidates(ask.sp, model.slicesByService.get(svc.key) ?? [], node.nodeName),
        where,
      );
    }
    if (out.conflicts.length > 0) this.conflicts.set(svc.key, out.conflicts);
    const entry = this.entries.get(svc.key)!;
    entry.feKeys = sameList(
      entry.askKeys,
      out.frontends.map((fe) => {
        const k = sameText(entry.askKeys, desiredKeyString(fe));
        this.frontendByKey.set(k, fe);
        scope.frontends.set(k, fe);
        return k;
      }),
    );
    for (const [id, v] of out.services) {
      desired.services.set(id, v);
      scope.services.add(id);
    }
    for (const [id, v] of out.sets) {
      desired.sets.set(id, v);
      scope.sets.add(id);
    }
    addMaglevSets(desired, out.maglev);
    for (const id of out.backends.keys()) {
      copyBackendAt(desired.backends, out.backends, id); // columns to columns (backend-table.ts)
      scope.backends.add(id);
    }
    entry.svcIds = [...out.services.keys()].slice(); // exact length (see Entry)
  }

  /** Records each Service's share of a full compile's result. */
  private index(model: ClusterModel, desired: DesiredState, asks: Ask[], svcKeyOf: string[]): void {
    this.desiredState = desired;
    for (const m of [this.entries, this.claimants, this.frontendByKey, this.conflicts, this.refused, this.healthCheck])
      m.clear();
    // A port's wants are unique (dedupe): a one-port Service's keys need no Set. Frontends share
    // their key object with their want, whose text is made already. An entry's lists are replaced,
    // never grown: the empty ones are shared.
    const keysOf = new Map<string, string[]>();
    for (const ask of asks) {
      const keys = ask.wants.map((w) => w.ks);
      const had = keysOf.get(ask.svc.key);
      keysOf.set(ask.svc.key, had ? [...new Set([...had, ...keys])] : keys);
    }
    const [none, noIds]: [string[], number[]] = [[], []];
    for (const svc of model.services.values()) {
      const askKeys = keysOf.get(svc.key) ?? none;
      for (const k of askKeys) this.claimants.claim(k, svc.key);
      this.entries.set(svc.key, { askKeys, feKeys: none, svcIds: noIds });
    }
    // By svc id, ascending (the order of desired.services): no "namespace/name" text per port.
    const ownerOf: Entry[] = [];
    svcKeyOf.forEach((key, svcId) => {
      const entry = this.entries.get(key)!;
      ownerOf[svcId] = entry;
      entry.svcIds = entry.svcIds.concat(svcId); // exact length (see Entry)
    });
    const grown: Entry[] = [];
    for (const fe of desired.frontends) {
      const k = desiredKeyString(fe);
      this.frontendByKey.set(k, fe);
      const entry = ownerOf[fe.svcId]!;
      if (entry.feKeys === none) entry.feKeys = [k];
      else if (entry.feKeys.push(k) === 2) grown.push(entry);
    }
    for (const entry of grown) entry.feKeys = entry.feKeys.slice(); // exact length (see Entry)
    for (const entry of this.entries.values()) entry.feKeys = sameList(entry.askKeys, entry.feKeys);
    const group = (errors: ValidationError[], into: Map<string, ValidationError[]>) => {
      for (const e of errors) {
        const k = `${e.namespace}/${e.name}`;
        into.set(k, [...(into.get(k) ?? []), e]);
      }
    };
    group(desired.conflicts, this.conflicts);
    group(desired.refused, this.refused);
    for (const hc of desired.healthCheck) this.healthCheck.set(`${hc.namespace}/${hc.name}`, hc);
  }

  private releasePending(): void {
    for (const [ns, id] of this.pendingRelease) this.ids.releaseId(ns, id);
    this.pendingRelease = [];
  }
}

/** @b, or @a when they hold the same keys in the same order: a Service's frontend keys are
 *  nearly always the keys it asked for, and one array serves both (56 bytes a Service). */
function sameList(a: string[], b: string[]): string[] {
  return a.length === b.length && a.every((k, i) => k === b[i]) ? a : b;
}
