// Restart: rebuild the id allocator from what the pinned maps hold, so the first compile after an
// agent restart gives every surviving service port, set and backend the id it already has (no
// frontend rewrite, no affinity or conntrack churn).
//
// The maps hold ids, not identities, so identities are recovered by matching: compile the
// current model with a scratch allocator, then pair each desired frontend with the pinned
// frontend of the same key (→ svc id and set id), and each desired backend with the pinned
// member of that set at the same addr:port (→ backend id). Every pinned id that matched nothing
// is reserved under a placeholder identity: the first compile cannot hand it out while the maps
// still use it, and the compile after that releases it (see IdAllocator).
import type { Backend, FrontendKey } from '../abi/index.js';
import type { ClusterModel } from '../model/types.js';
import { IdAllocator, type IdNamespace } from './ids.js';
import { compile } from './compile.js';
import { frontendKeyString, type NodeConfig } from './types.js';

/** The part of the reconciler's CurrentState this needs (it is structurally a CurrentState). */
export interface PinnedState {
  frontends: Map<string, { key: FrontendKey; value: { svcId: number; setId: number } }>;
  sets: Map<number, { members: number[] }>;
  backends: Map<number, Backend>;
}

export interface SeedResult {
  /** ids bound to their recovered identity. */
  matched: Record<IdNamespace, number>;
  /** pinned ids reserved under a placeholder until the second compile. */
  reserved: Record<IdNamespace, number>;
}

export function seedFromPinned(
  ids: IdAllocator,
  model: ClusterModel,
  node: NodeConfig,
  pinned: PinnedState,
): SeedResult {
  const matched = { svc: 0, set: 0, backend: 0 };
  const reserved = { svc: 0, set: 0, backend: 0 };
  const bind = (ns: IdNamespace, identity: string | undefined, id: number): boolean => {
    if (identity === undefined || ids.identityOf(ns, id) !== undefined || ids.peek(ns, identity) !== undefined)
      return false;
    try {
      ids.seed(ns, identity, id);
      matched[ns]++;
      return true;
    } catch {
      return false; // out of range or otherwise unusable: the id is simply not recovered
    }
  };

  // Nothing pinned to match (a first start): skip the scratch compile, which costs a full compile.
  const scratchIds = new IdAllocator();
  const scratch = pinned.frontends.size > 0 ? compile(model, node, scratchIds) : undefined;
  const pinnedByKey = new Map<string, { svcId: number; setId: number }>();
  for (const { key, value } of pinned.frontends.values()) pinnedByKey.set(frontendKeyString(key), value);

  const setPairs: Array<[number, number]> = []; // [scratch set id, pinned set id]
  for (const fe of scratch?.frontends ?? []) {
    const have = pinnedByKey.get(frontendKeyString(fe.key));
    if (!have) continue;
    bind('svc', scratchIds.identityOf('svc', fe.svcId), have.svcId);
    const setIdentity = scratchIds.identityOf('set', fe.setId);
    if (
      bind('set', setIdentity, have.setId) ||
      (setIdentity !== undefined && ids.peek('set', setIdentity) === have.setId)
    ) {
      setPairs.push([fe.setId, have.setId]);
    }
  }

  for (const [scratchSet, pinnedSet] of setPairs) {
    const pinnedByAddr = new Map<string, number>();
    for (const id of pinned.sets.get(pinnedSet)?.members ?? []) {
      const be = pinned.backends.get(id);
      if (be) pinnedByAddr.set(`${be.addr}:${be.port}`, id);
    }
    for (const id of scratch!.sets.get(scratchSet) ?? []) {
      const be = scratch!.backends.get(id)!;
      const pinnedId = pinnedByAddr.get(`${be.addr}:${be.port}`);
      if (pinnedId !== undefined) bind('backend', scratchIds.identityOf('backend', id), pinnedId);
    }
  }

  const reserve = (ns: IdNamespace, id: number) => {
    if (ids.identityOf(ns, id) !== undefined) return;
    try {
      ids.reserve(ns, id);
      reserved[ns]++;
    } catch {
      // outside this allocator's range: it can never be handed out anyway
    }
  };
  for (const { value } of pinned.frontends.values()) {
    reserve('svc', value.svcId);
    reserve('set', value.setId);
  }
  for (const setId of pinned.sets.keys()) reserve('set', setId);
  for (const id of pinned.backends.keys()) reserve('backend', id);
  return { matched, reserved };
}
