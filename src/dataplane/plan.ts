// The diff: current map contents + desired state → an ordered list of write phases.
// Pure, so the hitless ordering is unit-tested without a kernel.
//
// Order (see docs/architecture.md, "Hitless updates"):
//   1. upsert backends          — before any slot names them
//   2. write slots of changed sets under the other generation
//   3. upsert frontends         — one atomic update per frontend flips {count, gen}
//   4. delete removed frontends
//   5. delete slots of the old generation and of removed sets
//   6. delete backends no slot names any more
import type { Backend, Frontend, FrontendKey, SlotKey } from '../abi/index.js';
import { frontendKeyString, type DesiredState } from '../compile/index.js';

/** What the maps hold now, as far as the reconciler is concerned. */
export interface CurrentState {
  frontends: Map<string, { key: FrontendKey; value: Frontend }>;
  /** set_id → active generation and its members in slot order. */
  sets: Map<number, { gen: number; members: number[] }>;
  /** Slot keys present in the map (any generation), to delete leftovers. */
  slotKeys: Map<string, SlotKey>;
  backends: Map<number, Backend>;
}

export interface WritePlan {
  upsertBackends: Array<[number, Backend]>;
  writeSlots: Array<[SlotKey, number]>;
  upsertFrontends: Array<[FrontendKey, Frontend]>;
  deleteFrontends: FrontendKey[];
  deleteSlots: SlotKey[];
  deleteBackends: number[];
  /** The state the maps hold once the plan is applied. */
  next: CurrentState;
}


export function slotKeyString(k: SlotKey): string {
  return `${k.setId}/${k.gen}/${k.slot}`;
}

export function emptyState(): CurrentState {
  return { frontends: new Map(), sets: new Map(), slotKeys: new Map(), backends: new Map() };
}

const sameMembers = (a: number[], b: number[]) => a.length === b.length && a.every((id, i) => id === b[i]);
const sameBackend = (a: Backend, b: Backend) => a.addr === b.addr && a.port === b.port && a.flags === b.flags;
const sameFrontend = (a: Frontend, b: Frontend) =>
  a.svcId === b.svcId && a.setId === b.setId && a.affinityTimeout === b.affinityTimeout &&
  a.count === b.count && a.gen === b.gen && a.flags === b.flags;

export function planWrites(current: CurrentState, desired: DesiredState): WritePlan {
  const next = emptyState();

  const upsertBackends: Array<[number, Backend]> = [];
  for (const [id, be] of desired.backends) {
    const have = current.backends.get(id);
    if (!have || !sameBackend(have, be)) upsertBackends.push([id, be]);
    next.backends.set(id, be);
  }

  // A changed set is written whole under the generation no frontend reads, then flipped.
  const writeSlots: Array<[SlotKey, number]> = [];
  for (const [setId, members] of desired.sets) {
    const have = current.sets.get(setId);
    if (have && sameMembers(have.members, members)) {
      next.sets.set(setId, have);
      continue;
    }
    const gen = have ? have.gen ^ 1 : 0;
    members.forEach((backendId, i) => writeSlots.push([{ setId, slot: i + 1, gen }, backendId]));
    next.sets.set(setId, { gen, members });
  }

  const upsertFrontends: Array<[FrontendKey, Frontend]> = [];
  for (const fe of desired.frontends) {
    const set = next.sets.get(fe.setId) ?? { gen: 0, members: [] };
    const value: Frontend = {
      svcId: fe.svcId, setId: fe.setId, affinityTimeout: fe.affinityTimeout,
      count: set.members.length, gen: set.gen, flags: fe.flags,
    };
    const ks = frontendKeyString(fe.key);
    const have = current.frontends.get(ks);
    if (!have || !sameFrontend(have.value, value)) upsertFrontends.push([fe.key, value]);
    next.frontends.set(ks, { key: fe.key, value });
  }
  const deleteFrontends = [...current.frontends].filter(([ks]) => !next.frontends.has(ks)).map(([, f]) => f.key);

  // Every slot key the next state needs; anything else in the map goes.
  for (const [setId, { gen, members }] of next.sets) {
    members.forEach((_, i) => {
      const key = { setId, slot: i + 1, gen };
      next.slotKeys.set(slotKeyString(key), key);
    });
  }
  const deleteSlots = [...current.slotKeys].filter(([ks]) => !next.slotKeys.has(ks)).map(([, k]) => k);

  const deleteBackends = [...current.backends.keys()].filter((id) => !next.backends.has(id));

  return { upsertBackends, writeSlots, upsertFrontends, deleteFrontends, deleteSlots, deleteBackends, next };
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

/** Rebuilds CurrentState from raw map contents (agent restart: the pinned maps are the truth). */
export function stateFromMaps(
  frontends: Array<[FrontendKey, Frontend]>,
  slots: Array<[SlotKey, number]>,
  backends: Array<[number, Backend]>,
): CurrentState {
  const state = emptyState();
  for (const [id, be] of backends) state.backends.set(id, be);
  const slotMap = new Map<string, number>();
  for (const [key, backendId] of slots) {
    const normalized = { setId: key.setId, slot: key.slot, gen: key.gen };
    state.slotKeys.set(slotKeyString(normalized), normalized);
    slotMap.set(slotKeyString(normalized), backendId);
  }
  for (const [key, value] of frontends) {
    state.frontends.set(frontendKeyString(key), { key, value });
    if (state.sets.has(value.setId)) continue;
    const members: number[] = [];
    for (let slot = 1; slot <= value.count; slot++) {
      const backendId = slotMap.get(slotKeyString({ setId: value.setId, slot, gen: value.gen }));
      if (backendId === undefined) break; // a torn set: the next sync rewrites it whole
      members.push(backendId);
    }
    state.sets.set(value.setId, { gen: value.gen, members });
  }
  return state;
}
