// The diff: current map contents + desired state → an ordered list of write phases.
// Pure, so the hitless ordering is unit-tested without a kernel. Every map the agent writes is
// written here and only here; the reconciler executes the phases in order, one batch each.
//
// Order (see docs/architecture.md, "Hitless updates"):
//   1. config                   — the SNAT address, before any frontend may need it
//   2. upsert backends          — before any slot names them
//   3. write slots (and Maglev tables) of changed sets under the other generation
//   4. add source ranges        — before a frontend is flagged to check them
//      reset the stats of svc ids new to the maps — a reused id starts at zero, not at the
//      counters of the Service that had it before
//   5. upsert frontends         — one atomic update per frontend flips {count, gen}
//   6. delete removed frontends
//   7. prune affinity entries, when a set lost a member — after the flip, before the backends go
//      (PruneAffinityPhase in phases.ts says why)
//   8. delete source ranges     — after no frontend checks them any more
//   9. delete slots and Maglev tables of the old generation and of removed sets
//  10. delete backends no slot names any more
//  11. service_info upserts, then deletes (read only by `switchyard inspect`)
import {
  SERVICE_TYPE_CODES,
  SVC_CLUSTER_IP,
  type Backend,
  type Config,
  type Frontend,
  type FrontendKey,
  type ServiceInfo,
  type SlotKey,
  type SourceRangeKey,
} from '../abi/index.js';
import {
  BackendTable,
  copyBackends,
  desiredKeyString,
  IdMap,
  sameBackendAt,
  type DesiredState,
  type ServicePortInfo,
} from '../compile/index.js';
import { planConfig } from './node-config.js';
import { SlotKeys } from './slot-keys.js';
import type { SlotRun } from './slot-runs.js';
import { desiredSourceRanges, planSourceRanges } from './source-ranges.js';
import { phaseHasWork, pruneIf, type Phase } from './phases.js';

/** What the maps hold now, as far as the reconciler is concerned. */
export interface CurrentState {
  frontends: Map<string, { key: FrontendKey; value: Frontend }>;
  /** set_id → active generation and its members in slot order (a Maglev set: its lookup table). */
  sets: Map<number, { gen: number; members: number[]; maglev?: boolean }>;
  /** Slot keys present in the map (any generation), to delete leftovers; as slotKeyNumber, kept
   *  per set as a count where they run 1..n (slot-keys.ts). */
  slotKeys: SlotKeys;
  /** The same for the maglev map. */
  maglevKeys: SlotKeys;
  backends: Map<number, Backend>;
  /** source_ranges keys by sourceRangeKeyString. */
  sourceRanges: Map<string, SourceRangeKey>;
  serviceInfo: Map<number, ServiceInfo>;
  /** config[0]; undefined when never written (an ARRAY reads back zeros, which is 0.0.0.0). */
  config?: Config;
}

/** The addr:port of the removed backends that no remaining backend has. One pass over @after,
 *  with no string per backend (that was ~100 ms of garbage per change at 10,000 Services). */
export function goneEndpoints(
  before: ReadonlyMap<number, Backend>,
  removed: readonly number[],
  after: Iterable<Backend>,
): Array<{ addr: string; port: number }> {
  const gone = new Map<string, { addr: string; port: number }>();
  for (const id of removed) {
    const b = before.get(id);
    if (b) gone.set(`${b.addr}:${b.port}`, { addr: b.addr, port: b.port });
  }
  if (gone.size === 0) return [];
  const addrs = new Set([...gone.values()].map((g) => g.addr));
  for (const b of after) {
    if (addrs.has(b.addr) && gone.delete(`${b.addr}:${b.port}`) && gone.size === 0) break;
  }
  return [...gone.values()];
}

export interface WritePlan {
  /** In execution order; phases with nothing to do are left out. */
  phases: Phase[];
  /** The state the maps hold once the plan is applied. */
  next: CurrentState;
}

/** A slot key as one exact number: set id (u32), generation (0/1), slot (u16) < 2^49. */
export const slotKeyNumber = (k: SlotKey): number => (k.setId * 2 + k.gen) * 0x10000 + k.slot;

export function slotKeyOf(n: number): SlotKey {
  const hi = Math.floor(n / 0x10000);
  return { setId: Math.floor(hi / 2), gen: hi % 2, slot: n % 0x10000 };
}

export function emptyState(): CurrentState {
  return {
    frontends: new Map(),
    sets: new IdMap(),
    slotKeys: new SlotKeys(),
    maglevKeys: new SlotKeys(),
    backends: new BackendTable(),
    sourceRanges: new Map(),
    serviceInfo: new IdMap(),
  };
}

/** Equality of planned values: what the plan compares before it writes (also plan-scoped.ts). */
export const sameMembers = (a: number[], b: number[]) => a.length === b.length && a.every((id, i) => id === b[i]);
export const sameFrontend = (a: Frontend, b: Frontend) =>
  a.svcId === b.svcId &&
  a.setId === b.setId &&
  a.affinityTimeout === b.affinityTimeout &&
  a.count === b.count &&
  a.gen === b.gen &&
  a.flags === b.flags;

/** What a plan leaves out because nobody would run it. */
export interface PlanOptions {
  /** Plan the 'destroy sockets' phase (default true). The reconciler says false without socket
   *  LB: finding the endpoints no backend has any more walks every backend. */
  destroySockets?: boolean;
}

export function planWrites(current: CurrentState, desired: DesiredState, opts: PlanOptions = {}): WritePlan {
  const next = emptyState();
  const backends = planBackends(current, desired, next);
  const slots = planSlots(current, desired, next);
  const frontends = planFrontends(current, desired, next);
  const ranges = planSourceRanges(current.sourceRanges, desiredSourceRanges(desired));
  next.sourceRanges = ranges.next;
  const names = planServiceInfo(current.serviceInfo, desired.services);
  next.serviceInfo = names.next;
  // No config in the desired state (a caller that does not manage it): leave the map alone.
  const config = desired.config && planConfig(current.config, desired.config);
  next.config = desired.config ?? current.config;

  const phases: Phase[] = [
    { op: 'set', map: 'config', entries: config ? [[0, config]] : [] },
    { op: 'write', map: 'backends', ids: backends.upsert, from: desired.backends },
    { op: 'write', map: 'slots', runs: slots.write },
    { op: 'write', map: 'maglev', runs: slots.writeMaglev },
    { op: 'set', map: 'sourceRanges', entries: ranges.add.map((k): [SourceRangeKey, number] => [k, 1]) },
    { op: 'reset', map: 'stats', keys: [...desired.services.keys()].filter((id) => !current.serviceInfo.has(id)) },
    { op: 'set', map: 'frontends', entries: frontends.upsert },
    { op: 'delete', map: 'frontends', keys: frontends.remove },
    ...pruneIf(setsLostMembers(current, next), () => ({
      members: new Map([...next.sets].map(([setId, set]) => [setId, new Set(set.members)])),
    })),
    { op: 'delete', map: 'sourceRanges', keys: ranges.remove },
    { op: 'delete', map: 'slots', keys: slots.remove },
    { op: 'delete', map: 'maglev', keys: slots.removeMaglev },
    { op: 'delete', map: 'backends', keys: backends.remove },
    {
      op: 'destroy',
      map: 'sockets',
      endpoints:
        opts.destroySockets === false ? [] : goneEndpoints(current.backends, backends.remove, next.backends.values()),
    },
    { op: 'set', map: 'serviceInfo', entries: names.upsert },
    { op: 'delete', map: 'serviceInfo', keys: names.remove },
  ];
  return { phases: phases.filter(phaseHasWork), next };
}

function planBackends(current: CurrentState, desired: DesiredState, next: CurrentState) {
  const upsert: number[] = [];
  // Compared column to column (backend-table.ts), and written from the desired table: no object.
  for (const id of desired.backends.keys()) if (!sameBackendAt(current.backends, desired.backends, id)) upsert.push(id);
  next.backends = copyBackends(desired.backends);
  const remove = [...current.backends.keys()].filter((id) => !next.backends.has(id));
  return { upsert, remove };
}

/** A changed set is written whole under the generation no frontend reads, then flipped. A Maglev
 *  set's members are its lookup table and live in the maglev map instead of slots. */
function planSlots(current: CurrentState, desired: DesiredState, next: CurrentState) {
  const write: SlotRun[] = [];
  const writeMaglev: SlotRun[] = [];
  for (const [setId, members] of desired.sets) {
    const have = current.sets.get(setId);
    const maglev = desired.maglev?.sets.has(setId) ?? false;
    if (have && (have.maglev ?? false) === maglev && sameMembers(have.members, members)) {
      next.sets.set(setId, have);
      continue;
    }
    const gen = have ? have.gen ^ 1 : 0;
    if (members.length > 0) (maglev ? writeMaglev : write).push({ setId, gen, members });
    next.sets.set(setId, maglev ? { gen, members, maglev } : { gen, members });
  }
  // Every key the next state needs, in its map; anything else in either map goes.
  for (const [setId, { gen, members, maglev }] of next.sets)
    (maglev ? next.maglevKeys : next.slotKeys).addSlots(slotKeyNumber({ setId, slot: 1, gen }), members.length);
  const gone = (have: SlotKeys, keep: SlotKeys) => [...have].filter((n) => !keep.has(n)).map(slotKeyOf);
  return {
    write,
    remove: gone(current.slotKeys, next.slotKeys),
    writeMaglev,
    removeMaglev: gone(current.maglevKeys, next.maglevKeys),
  };
}

/** Frontends take count and gen from the planned sets: one update flips a frontend to its new set. */
function planFrontends(current: CurrentState, desired: DesiredState, next: CurrentState) {
  const upsert: Array<[FrontendKey, Frontend]> = [];
  for (const fe of desired.frontends) {
    const set = next.sets.get(fe.setId) ?? { gen: 0, members: [] };
    const value: Frontend = {
      svcId: fe.svcId,
      setId: fe.setId,
      affinityTimeout: fe.affinityTimeout,
      count: set.members.length,
      gen: set.gen,
      flags: fe.flags,
    };
    const ks = desiredKeyString(fe);
    const have = current.frontends.get(ks);
    if (!have || !sameFrontend(have.value, value)) upsert.push([fe.key, value]);
    next.frontends.set(ks, { key: fe.key, value });
  }
  const remove = [...current.frontends].filter(([ks]) => !next.frontends.has(ks)).map(([, f]) => f.key);
  return { upsert, remove };
}

/** service_info lets `switchyard inspect` name services from the pins alone. */
function planServiceInfo(current: ReadonlyMap<number, ServiceInfo>, services: ReadonlyMap<number, ServicePortInfo>) {
  const next = new IdMap<ServiceInfo>();
  for (const [id, svc] of services)
    next.set(id, { name: serviceInfoName(svc), type: SERVICE_TYPE_CODES[svc.type] ?? SVC_CLUSTER_IP });
  const upsert = [...next].filter(
    ([id, info]) => current.get(id)?.name !== info.name || current.get(id)?.type !== info.type,
  );
  const remove = [...current.keys()].filter((id) => !next.has(id));
  return { upsert, remove, next };
}

/** "default/web:http/TCP" (an unnamed port by its number), flat: the current state keeps one.
 *  A named port's is its identity (svcIdentity), that string itself rather than a copy. */
export function serviceInfoName(svc: ServicePortInfo): string {
  if (svc.portName) return svc.identity;
  return [svc.namespace, '/', svc.name, ':', svc.port, '/', svc.protocol].join('');
}

/** True when some backend set lost a member or went away: only then can an affinity entry point
 *  outside its set. A scale-up or a new service cannot strand one. */
export function setsLostMembers(current: CurrentState, next: CurrentState): boolean {
  for (const [setId, set] of current.sets) {
    const after = next.sets.get(setId);
    if (!after) return true;
    if (set.members === after.members) continue;
    const kept = new Set(after.members);
    if (set.members.some((id) => !kept.has(id))) return true;
  }
  return false;
}
