// Conntrack metrics: entries in use per table, evictions from ct_new derived from the data path's
// added/removed counters, refused flows; from fake maps (the kernel is not needed for the metric code).
import { describe, expect, it } from 'vitest';
import { CNT_CT_COLLISION, CNT_CT_NEW_ADDED, CNT_CT_NEW_REMOVED, CNT_SNAT_EXHAUSTED } from '../../src/abi/index.js';
import { createObservers } from '../../src/agent/observers.js';
import { conntrackReader } from '../../src/dataplane/stats.js';

/** Fake maps: entry counts and per-CPU counters the test changes between scrapes. */
function fakeMaps() {
  const state = { conntrack: 2, ctNew: 65408, counters: new Map<number, bigint[]>() };
  return {
    state,
    maps: {
      conntrack: { countEntries: () => state.conntrack, maxEntries: 262144 },
      ctNew: { countEntries: () => state.ctNew, maxEntries: 65536 },
      counters: { get: (i: number) => state.counters.get(i) },
    },
  };
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('conntrack metrics', () => {
  it('derives ct_new evictions from entries added, removed and present, summed over CPUs', () => {
    const { state, maps } = fakeMaps();
    state.counters.set(CNT_CT_NEW_ADDED, [1_000_000n, 572_866n]);
    state.counters.set(CNT_CT_NEW_REMOVED, [1n, 1n]);
    state.counters.set(CNT_CT_COLLISION, [3n, 0n]);
    const s = conntrackReader(maps)();
    expect(s.entries).toEqual({ conntrack: 2, ctNew: 65408 });
    expect(s.ctNewEvicted).toBe(1_572_866n - 2n - 65408n);
    expect(s.refused).toEqual({ replyKeyCollision: 3n, snatExhausted: 0n });
  });

  it('never reports negative evictions (entries added between reading the counters and counting)', () => {
    const { state, maps } = fakeMaps();
    state.counters.set(CNT_CT_NEW_ADDED, [10n]);
    state.ctNew = 12;
    expect(conntrackReader(maps)().ctNewEvicted).toBe(0n);
  });

  it('exposes entries per table, capacity, evictions and refusals at each scrape', async () => {
    const { state, maps } = fakeMaps();
    const { metrics, attach } = createObservers({ minSyncPeriodMs: 1000, nodeName: 'n' });
    attach({ status: { failedSyncs: 0 } }, undefined, conntrackReader(maps));
    state.counters.set(CNT_CT_NEW_ADDED, [200_000n]);
    state.counters.set(CNT_SNAT_EXHAUSTED, [4n]);
    let text = await metrics.scrape();
    expect(value(text, 'switchyard_conntrack_entries{table="conntrack"}')).toBe(2);
    expect(value(text, 'switchyard_conntrack_entries{table="ct_new"}')).toBe(65408);
    expect(value(text, 'switchyard_conntrack_max_entries{table="ct_new"}')).toBe(65536);
    expect(value(text, 'switchyard_conntrack_evicted_entries_total{table="ct_new"}')).toBe(200_000 - 65408);
    expect(value(text, 'switchyard_conntrack_refused_flows_total{reason="snat_ports_exhausted"}')).toBe(4);
    expect(value(text, 'switchyard_conntrack_refused_flows_total{reason="reply_key_collision"}')).toBe(0);

    // The next scrape reads the maps again.
    await new Promise((r) => setImmediate(r));
    state.conntrack = 10;
    state.counters.set(CNT_CT_NEW_ADDED, [300_000n]);
    text = await metrics.scrape();
    expect(value(text, 'switchyard_conntrack_entries{table="conntrack"}')).toBe(10);
    expect(value(text, 'switchyard_conntrack_evicted_entries_total{table="ct_new"}')).toBe(300_000 - 65408);
  });
});
