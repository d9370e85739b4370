// Applies the desired state to the maps: diff against what the maps hold, then write in
// the hitless order planWrites() lays out, each phase as one batch.
import type { Logger } from 'pino';
import type { DesiredState, ServicePortInfo } from '../compile/index.js';
import { SERVICE_TYPE_CODES, SVC_CLUSTER_IP, type ServiceInfo, type SourceRangeKey } from '../abi/index.js';
import type { DataplaneMaps } from './maps.js';
import { type CurrentState, planWrites, setsLostMembers, stateFromMaps } from './plan.js';
import { desiredSourceRanges, planSourceRanges, sourceRangeKeyString, sourceRangesFromMap } from './source-ranges.js';

export interface SyncResult {
  frontends: number;
  backends: number;
  sets: number;
  writes: number;
  deletes: number;
  durationMs: number;
}

export class Reconciler {
  private currentState: CurrentState;
  private names: Map<number, ServiceInfo>;
  private sourceRanges: Map<string, SourceRangeKey>;

  /** Reads the maps back first: after an agent restart the pinned maps are the truth. */
  constructor(private readonly maps: DataplaneMaps, log: Logger) {
    this.currentState = stateFromMaps(maps.frontends.entries(), maps.slots.entries(), maps.backends.entries());
    this.names = new Map(maps.serviceInfo.entries());
    this.sourceRanges = sourceRangesFromMap(maps.sourceRanges.entries());
    log.info({ frontends: this.currentState.frontends.size, backends: this.currentState.backends.size }, 'read existing map state');
  }

  /** What the maps hold, as this reconciler last wrote or read them. */
  get current(): CurrentState {
    return this.currentState;
  }

  sync(desired: DesiredState): SyncResult {
    const started = performance.now();
    const plan = planWrites(this.currentState, desired);
    const { maps } = this;
    // If a phase throws (a full map), currentState stays as it was: the next sync re-plans from
    // the old view and rewrites whatever the failed phase left half done.
    maps.backends.setMany(plan.upsertBackends);
    maps.slots.setMany(plan.writeSlots);
    // Source ranges around the frontends: in before a frontend is flagged to check them, out after.
    const ranges = planSourceRanges(this.sourceRanges, desiredSourceRanges(desired));
    maps.sourceRanges.setMany(ranges.add.map((k) => [k, 1] as const));
    // Should a later phase throw, the next sync must know these are in (to remove them if unwanted).
    for (const k of ranges.add) this.sourceRanges.set(sourceRangeKeyString(k), k);
    maps.frontends.setMany(plan.upsertFrontends);
    maps.frontends.deleteMany(plan.deleteFrontends);
    maps.sourceRanges.deleteMany(ranges.remove);
    this.sourceRanges = ranges.next;
    maps.slots.deleteMany(plan.deleteSlots);
    maps.backends.deleteMany(plan.deleteBackends);
    this.syncNames(desired.services);
    if (setsLostMembers(this.currentState, plan.next)) this.pruneAffinity(plan.next);
    this.currentState = plan.next;
    return {
      frontends: plan.next.frontends.size,
      backends: plan.next.backends.size,
      sets: plan.next.sets.size,
      writes: plan.upsertBackends.length + plan.writeSlots.length + plan.upsertFrontends.length + ranges.add.length,
      deletes: plan.deleteFrontends.length + plan.deleteSlots.length + plan.deleteBackends.length + ranges.remove.length,
      durationMs: performance.now() - started,
    };
  }

  /** service_info lets `switchyard inspect` name services from the pins alone. */
  private syncNames(services: Map<number, ServicePortInfo>): void {
    const next = new Map<number, ServiceInfo>();
    for (const [id, svc] of services) next.set(id, { name: serviceInfoName(svc), type: SERVICE_TYPE_CODES[svc.type] ?? SVC_CLUSTER_IP });
    const changed = [...next].filter(([id, info]) => this.names.get(id)?.name !== info.name || this.names.get(id)?.type !== info.type);
    const gone = [...this.names.keys()].filter((id) => !next.has(id));
    this.maps.serviceInfo.setMany(changed);
    this.maps.serviceInfo.deleteMany(gone);
    this.names = next;
  }

  /** An affinity entry is good only while its backend is a member of its own set. The data path
   *  checks that the backend still exists, but backend IDs are shared by a service port's "all"
   *  and "local" sets, so an endpoint can leave one set and stay in the other: prune here. */
  private pruneAffinity(next: CurrentState): void {
    const members = new Map([...next.sets].map(([setId, set]) => [setId, new Set(set.members)]));
    const isStale = (setId: number, backendId: number) => !members.get(setId)?.has(backendId);
    // The data path rewrites entries while we read: look each candidate up again just before
    // deleting, so an entry it has just pointed at a live backend is kept (the few stale ones only).
    const stale = this.maps.affinity.entries()
      .filter(([key, value]) => isStale(key.setId, value.backendId))
      .filter(([key]) => { const now = this.maps.affinity.get(key); return now !== undefined && isStale(key.setId, now.backendId); })
      .map(([key]) => key);
    if (stale.length > 0) this.maps.affinity.deleteMany(stale);
  }

}

/** "default/web:http/TCP"; an unnamed port goes by its number. */
export function serviceInfoName(svc: ServicePortInfo): string {
  return `${svc.namespace}/${svc.name}:${svc.portName || svc.port}/${svc.protocol}`;
}
