// The phases a plan is made of (plan.ts, plan-scoped.ts): one batch against one map each, which
// the reconciler executes in order. The order itself, and why, is plan.ts's header.
import type { Backend, Config, Frontend, FrontendKey, ServiceInfo, SlotKey, SourceRangeKey } from '../abi/index.js';
import type { SlotRun } from './slot-runs.js';

/** Key and value types of each map the agent writes, by its DataplaneMaps name. */
export interface PlannedMaps {
  config: [number, Config];
  backends: [number, Backend];
  slots: [SlotKey, number];
  maglev: [SlotKey, number];
  sourceRanges: [SourceRangeKey, number];
  frontends: [FrontendKey, Frontend];
  serviceInfo: [number, ServiceInfo];
}

type SetPhase<M extends keyof PlannedMaps> = { op: 'set'; map: M; entries: Array<PlannedMaps[M]> };
type DeletePhase<M extends keyof PlannedMaps> = { op: 'delete'; map: M; keys: Array<PlannedMaps[M][0]> };
/** Zero the per-CPU stats of these svc ids (ids new to the maps, so no frontend counts on them yet). */
export interface ResetStatsPhase {
  op: 'reset';
  map: 'stats';
  keys: number[];
}
/**
 * Delete every affinity entry whose backend is not a member of its set (the reconciler reads the
 * data-path-owned map at execution time, so only the rule is planned).
 *
 * Where it runs is what keeps it from deleting a live entry. The data path rewrites an entry only
 * when it finds it expired or its backend gone from the backends map; otherwise it uses the entry
 * and only refreshes its time. The prune reads an entry, reads it again, then deletes it: if the
 * data path rewrote it in between (a fresh pick for that client), the delete would remove the
 * fresh pick and the client would pick again, perhaps a third backend. So the prune runs after the
 * frontends flipped to the sets without the member (new picks cannot choose it) and before the
 * backends no set names are deleted (an entry naming one still finds its backend, so the data
 * path does not rewrite it). Until session 13 it ran last, after those deletes, and a sticky client
 * hammering the Service lost its fresh pick about once in several thousand connections.
 * Left open: a packet that read a frontend just before its flip can still choose the leaving
 * backend and write its entry after the prune; that entry then finds its backend gone once the
 * backends are deleted, and the data path replaces it.
 */
export interface PruneAffinityPhase {
  op: 'prune';
  map: 'affinity';
  members: Map<number, Set<number>>;
  /** Only the sets in `members` are checked (a partial plan); otherwise a set not listed is gone. */
  only?: boolean;
}

/** Destroy this node's connected UDP sockets still pointing at these endpoints, which no backend
 *  names any more: after the backends are deleted, so a socket that connects again cannot get one
 *  of them (socket LB; the reconciler runs it only when it was given a way to). */
export interface DestroySocketsPhase {
  op: 'destroy';
  map: 'sockets';
  endpoints: Array<{ addr: string; port: number }>;
}

/** Write every run's slots into the slots or the maglev map. Planned as runs, not as an entry per
 *  slot: a cold start at 10,000 Services writes 100,000 slots, and an entry each (a key object and
 *  a pair, ~110 bytes) lived until written, so the scavenges copied and promoted ~11 MB of them. */
export interface WriteSlotsPhase {
  op: 'write';
  map: 'slots' | 'maglev';
  runs: SlotRun[];
}

/** Write these backends, read from @from as they are written. A full plan's backends: a cold
 *  start writes 100,000, and an entry each (a pair, a Backend and its address text) was garbage
 *  the writes then parsed back; from a BackendTable the reconciler encodes the columns as they are. */
export interface WriteBackendsPhase {
  op: 'write';
  map: 'backends';
  ids: number[];
  from: ReadonlyMap<number, Backend>;
}

/** The maps written entry by entry (slots and maglev are written as runs). */
type EntryMaps = Exclude<keyof PlannedMaps, WriteSlotsPhase['map']>;

/** One batch against one map. */
export type Phase =
  | { [M in EntryMaps]: SetPhase<M> }[EntryMaps]
  | { [M in keyof PlannedMaps]: DeletePhase<M> }[keyof PlannedMaps]
  | WriteSlotsPhase
  | WriteBackendsPhase
  | ResetStatsPhase
  | PruneAffinityPhase
  | DestroySocketsPhase;

/** The prune phase when @needed, in the place PruneAffinityPhase says: a list of zero or one. */
export function pruneIf(needed: boolean, rule: () => Omit<PruneAffinityPhase, 'op' | 'map'>): PruneAffinityPhase[] {
  return needed ? [{ op: 'prune', map: 'affinity', ...rule() }] : [];
}

/** Whether a phase has anything to do (the plans leave the others out). */
export function phaseHasWork(p: Phase): boolean {
  if (p.op === 'prune') return true;
  if (p.op === 'destroy') return p.endpoints.length > 0;
  if (p.op === 'write') return (p.map === 'backends' ? p.ids : p.runs).length > 0;
  return (p.op === 'set' ? p.entries : p.keys).length > 0;
}
