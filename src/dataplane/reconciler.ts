// Applies the desired state to the maps: planWrites() diffs it against what the maps hold and
// lays out every write in the hitless order; this file only executes those phases, one batch each.
import type { Logger } from 'pino';
import { layouts, type Backend, type Config6 } from '../abi/index.js';
import { encodeBackendParts } from '../abi/layouts.js';
import type { TypedMap } from '../bpf/index.js';
import { BackendTable, type CompileScope, type DesiredFrontend, type DesiredState } from '../compile/index.js';
import { admit, admitAll, scopeWithout, withoutPorts, type Capacity, type Overflow } from './capacity.js';
import type { DataplaneMaps } from './maps.js';
import { planConfig6 } from './node-config.js';
import { planScoped } from './plan-scoped.js';
import { type CurrentState, planWrites } from './plan.js';
import type { Phase, PruneAffinityPhase, ResetStatsPhase, WriteBackendsPhase, WriteSlotsPhase } from './phases.js';
import { slotRunReader } from './slot-runs.js';
import { readState } from './state-read.js';

export interface SyncResult {
  frontends: number;
  backends: number;
  sets: number;
  writes: number;
  deletes: number;
  durationMs: number;
  /** Set by the pipeline: a full sync, or a partial one (only the changed Services). */
  mode?: 'full' | 'partial';
  /** Service ports left out because a map had no room for them (capacity.ts): all of them, not
   *  only those this sync looked at. */
  overflow?: Overflow[];
}

export class Reconciler {
  private currentState: CurrentState;
  /** Service ports not programmed for want of room, by svc id. */
  private skipped = new Map<number, Overflow>();
  /** What config6[0] holds, as last written; undefined before the first write. */
  private config6: Config6 | undefined;

  /** Reads the maps back first: after an agent restart the pinned maps are the truth. */
  constructor(
    private readonly maps: DataplaneMaps,
    log: Logger,
    /** Runs the plan's 'destroy' phases (socket LB on): connected UDP sockets of gone endpoints. */
    private readonly destroySockets?: (endpoints: Array<{ addr: string; port: number }>) => void,
  ) {
    this.currentState = readState(maps);
    log.info(
      { frontends: this.currentState.frontends.size, backends: this.currentState.backends.size },
      'read existing map state',
    );
  }

  /** What the maps hold, as this reconciler last wrote or read them. */
  get current(): CurrentState {
    return this.currentState;
  }

  /** A full sync: every entry of the desired state diffed against the whole current state. */
  sync(desired: DesiredState): SyncResult {
    const started = performance.now();
    const overflow = admitAll(this.currentState, desired, this.capacity());
    const plan = planWrites(this.currentState, withoutPorts(desired, overflow), this.planOptions);
    this.writeConfig6(desired);
    const counts = this.run(plan.phases);
    this.currentState = plan.next;
    this.skipped = new Map(overflow.map((o) => [o.svcId, o]));
    return this.result(counts, started);
  }

  /** A partial sync: only what an incremental compile changed (see plan-scoped.ts). */
  syncScoped(desired: DesiredState, scope: CompileScope): SyncResult {
    const started = performance.now();
    const ports = new Map(
      [...scope.services].filter((id) => desired.services.has(id)).map((id) => [id, [] as DesiredFrontend[]]),
    );
    for (const fe of scope.frontends.values()) if (fe) ports.get(fe.svcId)?.push(fe);
    const overflow = admit(this.currentState, desired, ports, this.capacity());
    const plan = planScoped(this.currentState, desired, scopeWithout(scope, desired, overflow), this.planOptions);
    this.writeConfig6(desired);
    const counts = this.run(plan.phases);
    plan.commit(this.currentState);
    for (const id of scope.services) this.skipped.delete(id);
    for (const o of overflow) this.skipped.set(o.svcId, o);
    return this.result(counts, started);
  }

  /** config6[0], the IPv6 SNAT address and pod range: written before any phase, as config[0] is
   *  (plan.ts phase 1), so an IPv6 frontend never reads a stale one; only when it changed. */
  private writeConfig6(desired: DesiredState): void {
    const want = desired.config6 && planConfig6(this.config6, desired.config6);
    if (!want || !this.maps.config6) return;
    this.maps.config6.set(0, want);
    this.config6 = want;
  }

  /** No 'destroy sockets' phase without a way to run it (socket LB off). */
  private get planOptions() {
    return { destroySockets: this.destroySockets !== undefined };
  }

  private capacity(): Capacity {
    const { frontends, backends, slots } = this.maps;
    return { frontends: frontends.maxEntries, backends: backends.maxEntries, slots: slots.maxEntries };
  }

  /** Forgets what it believes and reads the maps again (the periodic check: the next full sync
   *  then rewrites whatever differs from the desired state). */
  reread(): void {
    this.currentState = readState(this.maps);
  }

  private run(phases: Phase[]): { writes: number; deletes: number } {
    let writes = 0,
      deletes = 0;
    try {
      for (const phase of phases) {
        const n = this.execute(phase);
        if (phase.op === 'set' || phase.op === 'write' || phase.op === 'reset') writes += n;
        else if (phase.op === 'destroy') continue;
        else deletes += n;
      }
    } catch (err) {
      // A phase threw (a full map): the earlier phases landed, the rest did not. Re-read the maps,
      // so the next sync plans from what they really hold and rewrites or removes the half done.
      this.currentState = readState(this.maps);
      throw err;
    }
    return { writes, deletes };
  }

  private result({ writes, deletes }: { writes: number; deletes: number }, started: number): SyncResult {
    const s = this.currentState;
    return {
      frontends: s.frontends.size,
      backends: s.backends.size,
      sets: s.sets.size,
      writes,
      deletes,
      durationMs: performance.now() - started,
      overflow: [...this.skipped.values()],
    };
  }

  /** One phase as one batch; returns how many entries it planned to write or delete. */
  private execute(phase: Phase): number {
    if (phase.op === 'prune') return this.pruneAffinity(phase);
    if (phase.op === 'reset') return this.resetStats(phase);
    if (phase.op === 'write') return phase.map === 'backends' ? this.writeBackends(phase) : this.writeSlots(phase);
    if (phase.op === 'destroy') {
      this.destroySockets?.(phase.endpoints);
      return 0;
    }
    // Every planned map name is a DataplaneMaps field with the key and value types PlannedMaps gives it.
    const map = this.maps[phase.map] as TypedMap<unknown, unknown>;
    if (phase.op === 'set') {
      map.setMany(phase.entries);
      return phase.entries.length;
    }
    map.deleteMany(phase.keys);
    return phase.keys.length;
  }

  /** Each run's slots 1..n, made as they are written (see WriteSlotsPhase). */
  private writeSlots({ map, runs }: WriteSlotsPhase): number {
    const total = runs.reduce((n, r) => n + r.members.length, 0);
    this.maps[map].setEach(total, slotRunReader(runs));
    return total;
  }

  /** The backends @ids from @from: a table's IPv4 columns encoded as they are, the rest (IPv6,
   *  and any other map) as entries. */
  private writeBackends({ ids, from }: WriteBackendsPhase): number {
    const table = from instanceof BackendTable ? from : undefined;
    const v4: number[] = [];
    const rest: Array<[number, Backend]> = [];
    for (const id of ids) {
      if (table && table.ipv4At(id) >= 0) v4.push(id);
      else rest.push([id, from.get(id)!]);
    }
    this.maps.backends.setEncodedV4(v4.length, (i, keys, keyOff, vals, valOff) => {
      const id = v4[i]!;
      const pf = table!.portFlagsAt(id);
      layouts.u32.encode(id, keys, keyOff);
      encodeBackendParts(table!.ipv4At(id), pf & 0xffff, pf >>> 16, vals, valOff);
    });
    if (rest.length > 0) this.maps.backends.setMany(rest);
    return ids.length;
  }

  /** A freed svc id keeps its counters in the stats array: zero them before a new Service uses it. */
  private resetStats({ keys }: ResetStatsPhase): number {
    this.maps.stats.zeroMany(keys);
    return keys.length;
  }

  /** An affinity entry is good only while its backend is a member of its own set. The data path
   *  checks that the backend still exists, but backend IDs are shared by a service port's "all"
   *  and "local" sets, so an endpoint can leave one set and stay in the other: prune here. Not
   *  counted as a write: the entries are the data path's. */
  private pruneAffinity({ members, only }: PruneAffinityPhase): number {
    const isStale = (setId: number, backendId: number) =>
      only ? members.get(setId)?.has(backendId) === false : !members.get(setId)?.has(backendId);
    // The data path rewrites entries while we read: look each candidate up again just before
    // deleting, so an entry it has just pointed at a live backend is kept (the few stale ones only).
    const stale = this.maps.affinity
      .entries()
      .filter(([key, value]) => isStale(key.setId, value.backendId))
      .filter(([key]) => {
        const now = this.maps.affinity.get(key);
        return now !== undefined && isStale(key.setId, now.backendId);
      })
      .map(([key]) => key);
    if (stale.length > 0) this.maps.affinity.deleteMany(stale);
    return 0;
  }
}
