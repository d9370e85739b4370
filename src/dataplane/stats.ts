// Per-service counters from the per-CPU `stats` map, summed over CPUs: read by /metrics and by
// `switchyard inspect`.
import type { Stats } from '../abi/index.js';

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
