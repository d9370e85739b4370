// Per-service counters from the per-CPU `stats` map, summed over CPUs: read by /metrics and by
// `switchyard inspect`. And the conntrack tables' fill and pressure counters, for /metrics.
import {
  CNT_CT_COLLISION,
  CNT_CT_NEW_ADDED,
  CNT_CT_NEW_REMOVED,
  CNT_SNAT_EXHAUSTED,
  type Stats,
} from '../abi/index.js';

/** svc ids → their counters summed over CPUs; ids without an entry are left out. */
export type StatsReader = (svcIds: readonly number[]) => Map<number, Stats>;

export function sumStats(perCpu: readonly Stats[]): Stats {
  const sum: Stats = { packets: 0n, bytes: 0n, newFlows: 0n, noBackend: 0n };
  for (const s of perCpu) {
    sum.packets += s.packets;
    sum.bytes += s.bytes;
    sum.newFlows += s.newFlows;
    sum.noBackend += s.noBackend;
  }
  return sum;
}

/** A StatsReader over the per-CPU `stats` map (anything with get(id) → one Stats per CPU). */
export function percpuStatsReader(map: { get(id: number): Stats[] | undefined }): StatsReader {
  return (ids) => {
    const out = new Map<number, Stats>();
    for (const id of ids) {
      const perCpu = map.get(id);
      if (perCpu) out.set(id, sumStats(perCpu));
    }
    return out;
  };
}

/** The two conntrack tables (bpf/ct.h) as the metrics see them. */
export interface ConntrackSample {
  /** Entries in use: flows that have seen a reply (conntrack) and flows not replied to yet (ct_new). */
  entries: { conntrack: number; ctNew: number };
  capacity: { conntrack: number; ctNew: number };
  /** ct_new entries the LRU evicted: added - removed - present (CNT_CT_NEW_*), never below 0. */
  ctNewEvicted: bigint;
  /** New flows dropped: reply key held by another live flow, no free SNAT port. */
  refused: { replyKeyCollision: bigint; snatExhausted: bigint };
}

export type ConntrackReader = () => ConntrackSample;

interface CountedMap {
  countEntries(): number;
  readonly maxEntries: number;
}

/** A ConntrackReader over the data path's maps (counts both tables, sums the counters over CPUs). */
export function conntrackReader(maps: {
  conntrack: CountedMap;
  ctNew: CountedMap;
  counters: { get(i: number): bigint[] | undefined };
}): ConntrackReader {
  const counter = (i: number) => (maps.counters.get(i) ?? []).reduce((a, b) => a + b, 0n);
  return () => {
    // Counters first: an entry added after they are read is not yet counted as present either.
    const added = counter(CNT_CT_NEW_ADDED),
      removed = counter(CNT_CT_NEW_REMOVED);
    const entries = { conntrack: maps.conntrack.countEntries(), ctNew: maps.ctNew.countEntries() };
    const evicted = added - removed - BigInt(entries.ctNew);
    return {
      entries,
      capacity: { conntrack: maps.conntrack.maxEntries, ctNew: maps.ctNew.maxEntries },
      ctNewEvicted: evicted > 0n ? evicted : 0n,
      refused: { replyKeyCollision: counter(CNT_CT_COLLISION), snatExhausted: counter(CNT_SNAT_EXHAUSTED) },
    };
  };
}
