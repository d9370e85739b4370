// Opens the data-path object with its maps pinned, and hands out the typed maps.
import type { BpfObject, TypedMap, PercpuMap } from '../bpf/index.js';
import * as layouts from '../abi/layouts.js';
import type {
  Affinity,
  AffinityKey,
  Backend,
  Config,
  CtEntry,
  CtKey,
  Frag,
  FragKey,
  Frontend,
  FrontendKey,
  ServiceInfo,
  SlotKey,
  SourceRangeKey,
  Stats,
} from '../abi/index.js';

export interface DataplaneMaps {
  frontends: TypedMap<FrontendKey, Frontend>;
  slots: TypedMap<SlotKey, number>;
  /** Maglev lookup tables: the same key as slots, for sets of SY_FE_MAGLEV frontends. */
  maglev: TypedMap<SlotKey, number>;
  backends: TypedMap<number, Backend>;
  /** Translated flows that have seen a reply (bpf/ct.h). */
  conntrack: TypedMap<CtKey, CtEntry>;
  /** Translated flows not replied to yet, until their first reply moves them to conntrack. */
  ctNew: TypedMap<CtKey, CtEntry>;
  affinity: TypedMap<AffinityKey, Affinity>;
  stats: PercpuMap<number, Stats>;
  serviceInfo: TypedMap<number, ServiceInfo>;
  /** loadBalancerSourceRanges (LPM trie; the value is unused, 1). */
  sourceRanges: TypedMap<SourceRangeKey, number>;
  config: TypedMap<number, Config>;
  /** Data-path event counters by CNT_*, per CPU. */
  counters: PercpuMap<number, bigint>;
  /** Ports of fragmented datagrams of translated flows (data path only). */
  frags: TypedMap<FragKey, Frag>;
}

export function dataplaneMaps(obj: BpfObject): DataplaneMaps {
  return {
    frontends: obj.map('frontends', layouts.frontendKey, layouts.frontend),
    slots: obj.map('slots', layouts.slotKey, layouts.u32),
    maglev: obj.map('maglev', layouts.slotKey, layouts.u32),
    backends: obj.map('backends', layouts.u32, layouts.backend),
    conntrack: obj.map('conntrack', layouts.ctKey, layouts.ctEntry),
    ctNew: obj.map('ct_new', layouts.ctKey, layouts.ctEntry),
    affinity: obj.map('affinity', layouts.affinityKey, layouts.affinity),
    stats: obj.percpuMap('stats', layouts.u32, layouts.stats),
    serviceInfo: obj.map('service_info', layouts.u32, layouts.serviceInfo),
    sourceRanges: obj.map('source_ranges', layouts.sourceRangeKey, layouts.u8),
    config: obj.map('config', layouts.u32, layouts.config),
    counters: obj.percpuMap('counters', layouts.u32, layouts.u64),
    frags: obj.map('frags', layouts.fragKey, layouts.frag),
  };
}
