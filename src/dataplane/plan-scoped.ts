// The partial plan: planWrites() over only what an incremental compile changed (CompileScope),
// in the same hitless phase order. Its cost follows the change, not the cluster: it looks at the
// scoped frontend keys, sets, backends and svc ids only, and its result is a delta that commit()
// applies to the reconciler's CurrentState once every phase has landed.
//
// It assumes the maps hold what CurrentState says (the steady state a full plan leaves); leftovers
// from a torn write are the full resync's job (after a failed sync, a relist, and periodically).
import {
  SERVICE_TYPE_CODES,
  SVC_CLUSTER_IP,
  type Backend,
  type Frontend,
  type FrontendKey,
  type ServiceInfo,
  type SlotKey,
  type SourceRangeKey,
} from '../abi/index.js';
import { sameBackendAt, type CompileScope, type DesiredState } from '../compile/index.js';
import { planConfig } from './node-config.js';
import {
  goneEndpoints,
  sameFrontend,
  sameMembers,
  serviceInfoName,
  slotKeyNumber,
  type CurrentState,
  type PlanOptions,
} from './plan.js';
import { phaseHasWork, pruneIf, type Phase } from './phases.js';
import type { SlotRun } from './slot-runs.js';
import { flaggedFamilies, rangeKeysOf, sourceRangeKeyString } from './source-ranges.js';

export interface ScopedPlan {
  /** In execution order; phases with nothing to do are left out. */
  phases: Phase[];
  /** Turns @state (the CurrentState the plan was made from) into the state after the phases. */
  commit(state: CurrentState): void;
}

type SetsAfter = Map<number, { gen: number; members: number[]; maglev?: boolean } | undefined>;

export function planScoped(
  current: CurrentState,
  desired: DesiredState,
  scope: CompileScope,
  opts: PlanOptions = {},
): ScopedPlan {
  const backendsUp: Array<[number, Backend]> = [];
  const backendsDel: number[] = [];
  for (const id of scope.backends) {
    if (sameBackendAt(current.backends, desired.backends, id)) continue;
    const want = desired.backends.get(id);
    if (want) backendsUp.push([id, want]);
    else backendsDel.push(id);
  }
  const slots = planScopedSlots(current, desired, scope);
  const fronts = planScopedFrontends(current, scope, slots.after);
  const ranges = planScopedRanges(current, desired, scope);
  const info = planScopedInfo(current, desired, scope);
  const config = desired.config && planConfig(current.config, desired.config);
  // Only sets some frontend uses (or used) with ClientIP affinity can have affinity entries: the
  // data path creates none for the others, so their shrinking costs no read of the affinity map.
  const withAffinity = new Set<number>();
  for (const [ks, fe] of scope.frontends) {
    if (fe && fe.affinityTimeout > 0) withAffinity.add(fe.setId);
    const had = current.frontends.get(ks)?.value;
    if (had && had.affinityTimeout > 0) withAffinity.add(had.setId);
  }
  const lost = new Map<number, Set<number>>();
  for (const [setId, after] of slots.after) {
    if (!withAffinity.has(setId)) continue;
    const before = current.sets.get(setId);
    if (!before || before.members === after?.members) continue;
    const kept = new Set(after?.members ?? []);
    if (before.members.some((id) => !kept.has(id))) lost.set(setId, kept);
  }

  const phases: Phase[] = [
    { op: 'set', map: 'config', entries: config ? [[0, config]] : [] },
    { op: 'set', map: 'backends', entries: backendsUp },
    { op: 'write', map: 'slots', runs: slots.write },
    { op: 'write', map: 'maglev', runs: slots.writeMaglev },
    { op: 'set', map: 'sourceRanges', entries: ranges.add.map((k): [SourceRangeKey, number] => [k, 1]) },
    {
      op: 'reset',
      map: 'stats',
      keys: [...scope.services].filter((id) => desired.services.has(id) && !current.serviceInfo.has(id)),
    },
    { op: 'set', map: 'frontends', entries: fronts.upsert },
    { op: 'delete', map: 'frontends', keys: fronts.remove },
    // Only the sets that lost a member are checked: entries of every other set are left alone.
    ...pruneIf(lost.size > 0, () => ({ members: lost, only: true })),
    { op: 'delete', map: 'sourceRanges', keys: ranges.remove },
    { op: 'delete', map: 'slots', keys: slots.remove },
    { op: 'delete', map: 'maglev', keys: slots.removeMaglev },
    { op: 'delete', map: 'backends', keys: backendsDel },
    {
      op: 'destroy',
      map: 'sockets',
      endpoints:
        opts.destroySockets === false
          ? []
          : goneEndpoints(current.backends, backendsDel, backendsAfter(current, backendsUp, backendsDel)),
    },
    { op: 'set', map: 'serviceInfo', entries: info.upsert },
    { op: 'delete', map: 'serviceInfo', keys: info.remove },
  ];

  const commit = (state: CurrentState) => {
    if (desired.config) state.config = desired.config;
    for (const [id, be] of backendsUp) state.backends.set(id, be);
    for (const id of backendsDel) state.backends.delete(id);
    for (const [setId, after] of slots.after) {
      if (after) state.sets.set(setId, after);
      else state.sets.delete(setId);
    }
    // Highest slot first, so a set's keys that run 1..n stay a count (slot-keys.ts).
    for (const k of [...slots.remove].reverse()) state.slotKeys.delete(slotKeyNumber(k));
    for (const r of slots.write) state.slotKeys.addSlots(firstSlot(r), r.members.length);
    for (const k of [...slots.removeMaglev].reverse()) state.maglevKeys.delete(slotKeyNumber(k));
    for (const r of slots.writeMaglev) state.maglevKeys.addSlots(firstSlot(r), r.members.length);
    for (const [k, value] of fronts.upsert) state.frontends.set(fronts.keyString.get(k)!, { key: k, value });
    for (const k of fronts.removeStrings) state.frontends.delete(k);
    for (const k of ranges.remove) state.sourceRanges.delete(sourceRangeKeyString(k));
    for (const k of ranges.add) state.sourceRanges.set(sourceRangeKeyString(k), k);
    for (const [id, v] of info.upsert) state.serviceInfo.set(id, v);
    for (const id of info.remove) state.serviceInfo.delete(id);
  };
  return { phases: phases.filter(phaseHasWork), commit };
}

/** Changed sets are written whole under the other generation; the old generation's slots go. A
 *  Maglev set's members are its lookup table, in the maglev map instead of slots (as planSlots). */
function planScopedSlots(current: CurrentState, desired: DesiredState, scope: CompileScope) {
  const write: SlotRun[] = [];
  const remove: SlotKey[] = [];
  const writeMaglev: SlotRun[] = [];
  const removeMaglev: SlotKey[] = [];
  const after: SetsAfter = new Map();
  for (const setId of scope.sets) {
    const want = desired.sets.get(setId);
    const maglev = desired.maglev?.sets.has(setId) ?? false;
    const have = current.sets.get(setId);
    // Unchanged: keeps gen and slots.
    if (want && have && (have.maglev ?? false) === maglev && sameMembers(have.members, want)) continue;
    const gen = have ? have.gen ^ 1 : 0;
    if (want && want.length > 0) (maglev ? writeMaglev : write).push({ setId, gen, members: want });
    after.set(setId, want ? { gen, members: want, ...(maglev ? { maglev } : {}) } : undefined);
    // Whatever keys either map holds for this set (either generation, contiguous from slot 1) and
    // the new set does not use there.
    const maps = [
      { keys: current.slotKeys, out: remove, used: !maglev },
      { keys: current.maglevKeys, out: removeMaglev, used: maglev },
    ];
    for (const { keys, out, used } of maps) {
      for (const g of [0, 1]) {
        for (let slot = 1; ; slot++) {
          const key = { setId, slot, gen: g };
          if (!keys.has(slotKeyNumber(key))) break;
          if (!want || !used || g !== gen || slot > want.length) out.push(key);
        }
      }
    }
  }
  return { write, remove, writeMaglev, removeMaglev, after };
}

/** The slot key number of a run's slot 1. */
const firstSlot = (r: SlotRun) => slotKeyNumber({ setId: r.setId, slot: 1, gen: r.gen });

/** Frontends take count and gen from the set as it will be. */
function planScopedFrontends(current: CurrentState, scope: CompileScope, after: SetsAfter) {
  const upsert: Array<[FrontendKey, Frontend]> = [];
  const keyString = new Map<FrontendKey, string>();
  const remove: FrontendKey[] = [];
  const removeStrings: string[] = [];
  for (const [ks, fe] of scope.frontends) {
    const have = current.frontends.get(ks);
    if (!fe) {
      if (have) {
        remove.push(have.key);
        removeStrings.push(ks);
      }
      continue;
    }
    const set = (after.has(fe.setId) ? after.get(fe.setId) : current.sets.get(fe.setId)) ?? { gen: 0, members: [] };
    const value: Frontend = {
      svcId: fe.svcId,
      setId: fe.setId,
      affinityTimeout: fe.affinityTimeout,
      count: set.members.length,
      gen: set.gen,
      flags: fe.flags,
    };
    if (!have || !sameFrontend(have.value, value)) {
      upsert.push([fe.key, value]);
      keyString.set(fe.key, ks);
    }
  }
  return { upsert, remove, removeStrings, keyString };
}

/** The source ranges of the scoped svc ids. The trie holds entries only for LoadBalancer ports
 *  with loadBalancerSourceRanges, so scanning its view for the scoped ids stays small. */
function planScopedRanges(current: CurrentState, desired: DesiredState, scope: CompileScope) {
  const want = rangeKeysOf(desired, flaggedFamilies(scope.frontends.values()));
  const add = [...want].filter(([ks]) => !current.sourceRanges.has(ks)).map(([, k]) => k);
  const remove = [...current.sourceRanges]
    .filter(([ks, k]) => scope.services.has(k.svcId) && !want.has(ks))
    .map(([, k]) => k);
  return { add, remove };
}

function planScopedInfo(current: CurrentState, desired: DesiredState, scope: CompileScope) {
  const upsert: Array<[number, ServiceInfo]> = [];
  const remove: number[] = [];
  for (const id of scope.services) {
    const svc = desired.services.get(id);
    const have = current.serviceInfo.get(id);
    if (!svc) {
      if (have) remove.push(id);
      continue;
    }
    const info = { name: serviceInfoName(svc), type: SERVICE_TYPE_CODES[svc.type] ?? SVC_CLUSTER_IP };
    if (have?.name !== info.name || have?.type !== info.type) upsert.push([id, info]);
  }
  return { upsert, remove };
}

/** The backends once a scoped plan's upserts and deletes have landed, walked without copying
 *  the map (only read when a delete leaves an endpoint that may be gone). */
function* backendsAfter(current: CurrentState, up: ReadonlyArray<[number, Backend]>, del: readonly number[]) {
  const changed = new Set([...del, ...up.map(([id]) => id)]);
  for (const [id, be] of current.backends) if (!changed.has(id)) yield be;
  for (const [, be] of up) yield be;
}
