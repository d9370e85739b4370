// The ids a Service's ports hold in a desired state: the incremental compiler keeps only their
// svc ids per Service and reads the rest from the desired state (incremental.ts).
import type { IdNamespace } from './ids.js';
import type { DesiredState } from './types.js';

export type Ids = Record<IdNamespace, Set<number>>;

/** The svc ids @svcIds and the set and backend ids of their ports, as @desired holds them. */
export function idsOf(svcIds: number[], desired: DesiredState): Ids {
  const ids: Ids = { svc: new Set(svcIds), set: new Set(), backend: new Set() };
  for (const svcId of svcIds) {
    for (const setId of Object.values(desired.services.get(svcId)?.sets ?? {})) {
      if (setId === undefined) continue;
      ids.set.add(setId);
      for (const b of desired.sets.get(setId) ?? []) ids.backend.add(b);
    }
  }
  return ids;
}
