// The maps NodePort and external traffic add to the data path, planned like the rest (pure diff,
// then batched writes):
//  - source_ranges: loadBalancerSourceRanges of every service port with a frontend flagged
//    FE_SOURCE_RANGES, keyed {svc_id, network}. The reconciler adds entries before frontends are
//    written and removes them after, so a change never denies a client the old and the new
//    state both admit (a frontend gains its flag only once its ranges are in the trie, and loses
//    it before they go);
//  - config: node settings (the SNAT address), one ARRAY entry written when it changes.
import { FE_SOURCE_RANGES, type Config, type SourceRangeKey } from '../abi/index.js';
import type { TypedMap } from '../bpf/index.js';
import type { DesiredState } from '../compile/index.js';
import { intToIpv4, ipv4Network } from '../net/ipv4.js';

export const sourceRangeKeyString = (k: SourceRangeKey) => `${k.svcId}/${k.addr}/${k.prefixlen}`;

/** "10.1.2.3/8" → the trie key of svc `svcId` for 10.0.0.0/8 (host bits cleared: the trie compares
 *  only the prefix, but a key read back keeps what was written). undefined for IPv6. */
export function sourceRangeKey(svcId: number, cidr: string): SourceRangeKey | undefined {
  const n = ipv4Network(cidr);
  return n && { prefixlen: 32 + n.len, svcId, addr: intToIpv4(n.net) };
}

/** Every source_ranges entry the desired state needs, by key string. */
export function desiredSourceRanges(desired: DesiredState): Map<string, SourceRangeKey> {
  const out = new Map<string, SourceRangeKey>();
  const svcIds = new Set(desired.frontends.filter((f) => f.flags & FE_SOURCE_RANGES).map((f) => f.svcId));
  for (const svcId of svcIds) {
    for (const cidr of desired.services.get(svcId)?.sourceRanges ?? []) {
      const key = sourceRangeKey(svcId, cidr);
      if (key) out.set(sourceRangeKeyString(key), key);
    }
  }
  return out;
}

export interface SourceRangePlan {
  add: SourceRangeKey[];
  remove: SourceRangeKey[];
  /** What the trie holds once the plan is applied. */
  next: Map<string, SourceRangeKey>;
}

export function planSourceRanges(current: ReadonlyMap<string, SourceRangeKey>, desired: Map<string, SourceRangeKey>): SourceRangePlan {
  return {
    add: [...desired].filter(([ks]) => !current.has(ks)).map(([, k]) => k),
    remove: [...current].filter(([ks]) => !desired.has(ks)).map(([, k]) => k),
    next: desired,
  };
}

/** Rebuilds the view of the trie from its entries (agent restart). */
export function sourceRangesFromMap(entries: ReadonlyArray<readonly [SourceRangeKey, unknown]>): Map<string, SourceRangeKey> {
  return new Map(entries.map(([k]) => [sourceRangeKeyString(k), { prefixlen: k.prefixlen, svcId: k.svcId, addr: k.addr }]));
}

/** The config entry to write, or undefined when the map already holds it. */
export function planConfig(current: Config | undefined, desired: Config): Config | undefined {
  return current && current.snatAddr === desired.snatAddr ? undefined : desired;
}

/** config[0]. `snatAddress` undefined: 0.0.0.0, the data path then uses the frontend address. */
export function configFor(node: { snatAddress?: string }): Config {
  return { snatAddr: node.snatAddress ?? '0.0.0.0' };
}

/** Writes config[0] when it changes; reads the map back first (it survives agent restarts). */
export class ConfigWriter {
  private current: Config | undefined;

  constructor(private readonly map: TypedMap<number, Config>) {
    this.current = map.get(0);
  }

  /** true when it wrote. */
  apply(desired: Config): boolean {
    const write = planConfig(this.current, desired);
    if (!write) return false;
    this.map.set(0, write);
    this.current = write;
    return true;
  }
}
