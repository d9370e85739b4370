// Conntrack metrics, read from the data path at scrape time (prom-client's collect()):
//   switchyard_conntrack_entries{table}            gauge: entries in use; table="conntrack" (flows a
//                                                  backend answered) or "ct_new" (not answered yet)
//   switchyard_conntrack_max_entries{table}        gauge: each table's capacity
//   switchyard_conntrack_evicted_entries_total{table="ct_new"}
//                                                  entries of unanswered flows the LRU evicted to make
//                                                  room (a flood, a scan): the flows pressure pushed out
//   switchyard_conntrack_refused_flows_total{reason}
//                                                  new flows dropped: "reply_key_collision" (another live
//                                                  flow holds the reply key), "snat_ports_exhausted"
// Two entries make one flow (one per direction). conntrack itself has no eviction count: a flood
// of new flows cannot reach it (bpf/ct.h); only more answered flows than it holds can.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConntrackReader, ConntrackSample } from '../dataplane/stats.js';

/** Registers the conntrack metrics in @registry, each reading @read's latest sample. */
export function registerConntrackMetrics(registry: Registry, read: ConntrackReader): void {
  const registers = [registry];
  // One read per scrape, shared by the four metrics: prom-client collects them one after another
  // in one turn of the event loop, and the sample is dropped at the next.
  let sample: ConntrackSample | undefined;
  const latest = (): ConntrackSample => {
    if (!sample) {
      sample = read();
      setImmediate(() => {
        sample = undefined;
      });
    }
    return sample;
  };
  new Gauge({
    name: 'switchyard_conntrack_entries',
    labelNames: ['table'],
    registers,
    help:
      'Conntrack entries in use (two per flow): table="conntrack" flows that saw a reply, ' +
      '"ct_new" flows not answered yet',
    collect() {
      const s = latest();
      this.set({ table: 'conntrack' }, s.entries.conntrack);
      this.set({ table: 'ct_new' }, s.entries.ctNew);
    },
  });
  new Gauge({
    name: 'switchyard_conntrack_max_entries',
    labelNames: ['table'],
    registers,
    help: 'Capacity of each conntrack table, in entries',
    collect() {
      const s = latest();
      this.set({ table: 'conntrack' }, s.capacity.conntrack);
      this.set({ table: 'ct_new' }, s.capacity.ctNew);
    },
  });
  new Counter({
    name: 'switchyard_conntrack_evicted_entries_total',
    labelNames: ['table'],
    registers,
    help:
      'Entries of unanswered flows evicted from a full ct_new table (a flood of new flows); ' +
      'answered flows are never evicted by new ones',
    collect() {
      this.reset();
      this.inc({ table: 'ct_new' }, Number(latest().ctNewEvicted));
    },
  });
  new Counter({
    name: 'switchyard_conntrack_refused_flows_total',
    labelNames: ['reason'],
    registers,
    help: 'New flows dropped by the data path: reply key held by another live flow, or no free SNAT port',
    collect() {
      const r = latest().refused;
      this.reset();
      this.inc({ reason: 'reply_key_collision' }, Number(r.replyKeyCollision));
      this.inc({ reason: 'snat_ports_exhausted' }, Number(r.snatExhausted));
    },
  });
}
