// Opens the data-path object with its maps pinned, and hands out the typed maps.
import type { BpfObject, TypedMap, PercpuMap } from '../bpf/index.js';
import * as layouts from '../abi/layouts.js';
import { MAPS6 } from '../abi/maps6.js';
import { CT_REPLY_SRC_SLOTS } from '../abi/constants.js';
import type { Codec } from '../bpf/codec.js';
import { FamilyMap, isV6Addr, type MapView } from './family-map.js';
import type {
  Affinity,
  AffinityKey,
  Backend,
  Config,
  Config6,
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
  /** frontends and frontends6, one view (family-map.ts); likewise backends and source ranges. */
  frontends: MapView<FrontendKey, Frontend>;
  slots: TypedMap<SlotKey, number>;
  /** Maglev lookup tables: the same key as slots, for sets of SY_FE_MAGLEV frontends. */
  maglev: TypedMap<SlotKey, number>;
  backends: FamilyMap<number, Backend>;
  /** Translated flows that have seen a reply (bpf/ct.h). */
  conntrack: TypedMap<CtKey, CtEntry>;
  /** Translated flows not replied to yet, until their first reply moves them to conntrack. */
  ctNew: TypedMap<CtKey, CtEntry>;
  /** affinity and affinity6 (the agent prunes both after set changes). */
  affinity: MapView<AffinityKey, Affinity>;
  stats: PercpuMap<number, Stats>;
  serviceInfo: TypedMap<number, ServiceInfo>;
  /** loadBalancerSourceRanges (LPM trie; the value is unused, 1). */
  sourceRanges: MapView<SourceRangeKey, number>;
  config: TypedMap<number, Config>;
  /** The node's IPv6 SNAT address (config6[0]); undefined when the data path has no IPv6 maps. */
  config6?: TypedMap<number, Config6>;
  /** Data-path event counters by CNT_*, per CPU. */
  counters: PercpuMap<number, bigint>;
  /** Ports of fragmented datagrams of translated flows (data path only). */
  frags: TypedMap<FragKey, Frag>;
  /** The reply-source filter: slot → non-zero once a flow's reply named an address of it (bpf/ct.h). */
  ctReplySrc: TypedMap<number, number>;
}

/** @onMissing hears of IPv6 entries dropped because the object has no IPv6 maps (family-map.ts). */
export function dataplaneMaps(
  obj: BpfObject,
  onMissing: (map: string, entries: number) => void = () => {},
): DataplaneMaps {
  const has6 = obj.mapNames().includes(MAPS6.frontends);
  const six = <K, V>(name: string, key: Codec<K>, value: Codec<V>) => (has6 ? obj.map(name, key, value) : undefined);
  return {
    frontends: new FamilyMap(
      obj.map('frontends', layouts.frontendKey, layouts.frontend),
      six(MAPS6.frontends, layouts.frontend6Key, layouts.frontend),
      { isV6: (k) => isV6Addr(k.addr) },
      onMissing,
    ),
    slots: obj.map('slots', layouts.slotKey, layouts.u32),
    maglev: obj.map('maglev', layouts.slotKey, layouts.u32),
    backends: new FamilyMap(
      obj.map('backends', layouts.u32, layouts.backend),
      six(MAPS6.backends, layouts.u32, layouts.backend6),
      { isV6: (_, v) => v !== undefined && isV6Addr(v.addr), deleteBoth: true },
      onMissing,
    ),
    conntrack: obj.map('conntrack', layouts.ctKey, layouts.ctEntry),
    ctNew: obj.map('ct_new', layouts.ctKey, layouts.ctEntry),
    affinity: new FamilyMap(
      obj.map('affinity', layouts.affinityKey, layouts.affinity),
      six('affinity6', layouts.affinity6Key, layouts.affinity),
      { isV6: (k) => isV6Addr(k.clientAddr) },
      onMissing,
    ),
    stats: obj.percpuMap('stats', layouts.u32, layouts.stats),
    serviceInfo: obj.map('service_info', layouts.u32, layouts.serviceInfo),
    sourceRanges: new FamilyMap(
      obj.map('source_ranges', layouts.sourceRangeKey, layouts.u8),
      six(MAPS6.sourceRanges, layouts.sourceRange6Key, layouts.u8),
      { isV6: (k) => isV6Addr(k.addr) },
      onMissing,
    ),
    config: obj.map('config', layouts.u32, layouts.config),
    ...(has6 ? { config6: obj.map(MAPS6.config, layouts.u32, layouts.config6) } : {}),
    counters: obj.percpuMap('counters', layouts.u32, layouts.u64),
    frags: obj.map('frags', layouts.fragKey, layouts.frag),
    ctReplySrc: obj.map('ct_reply_src', layouts.u32, layouts.u32),
  };
}

/**
 * Fills the reply-source filter (ct_reply_src, bpf/ct.h) when it is empty while flows are tracked:
 * an earlier agent's data path, built before the filter, never marked those flows' reply sources,
 * and a reply the filter turned away would leave the node untranslated. (This data path marks a
 * slot before writing any flow, so an empty filter beside flows can only mean that.) With every
 * slot set, every packet is looked up as a possible reply, as before the filter; slots are never
 * cleared. Call before any program is attached. Returns whether it filled.
 */
export function fillReplySourcesAfterUpgrade(maps: DataplaneMaps): boolean {
  if (maps.conntrack.isEmpty() && maps.ctNew.isEmpty()) return false;
  if (maps.ctReplySrc.entries().some(([, seen]) => seen !== 0)) return false;
  maps.ctReplySrc.setMany(Array.from({ length: CT_REPLY_SRC_SLOTS }, (_, slot): [number, number] => [slot, 1]));
  return true;
}
