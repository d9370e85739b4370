// The source_ranges map, planned like the rest (pure diff, then batched writes): the
// loadBalancerSourceRanges of every service port with a frontend flagged FE_SOURCE_RANGES, keyed
// {svc_id, network}. The reconciler adds entries before frontends are written and removes them
// after, so a change never denies a client the old and the new state both admit (a frontend gains
// its flag only once its ranges are in the trie, and loses it before they go).
import { FE_SOURCE_RANGES, type SourceRangeKey } from '../abi/index.js';
import type { DesiredFrontend, DesiredState } from '../compile/index.js';
import { intToIpv4, ipv4Network } from '../net/ipv4.js';
import { bytesToIpv6, ipv6Network } from '../net/ipv6.js';

export const sourceRangeKeyString = (k: SourceRangeKey) => `${k.svcId}/${k.addr}/${k.prefixlen}`;

/** "10.1.2.3/8" → the trie key of svc `svcId` for 10.0.0.0/8 (host bits cleared: the trie compares
 *  only the prefix, but a key read back keeps what was written). An IPv6 range ("2001:db8::/32")
 *  is a key of the same shape for source_ranges6; the svc_id's 32 bits count in the prefix. */
export function sourceRangeKey(svcId: number, cidr: string): SourceRangeKey | undefined {
  const n = ipv4Network(cidr);
  if (n) return { prefixlen: 32 + n.len, svcId, addr: intToIpv4(n.net) };
  const n6 = ipv6Network(cidr);
  return n6 && { prefixlen: 32 + n6.len, svcId, addr: bytesToIpv6(n6.bytes) };
}

/** svc_id → the families (true: IPv6) of its frontends flagged FE_SOURCE_RANGES: a range is
 *  written only where a frontend of its family reads it (an IPv4-only Service's IPv6 ranges would
 *  be dead entries). */
export function flaggedFamilies(frontends: Iterable<DesiredFrontend | undefined>): Map<number, Set<boolean>> {
  const families = new Map<number, Set<boolean>>();
  for (const f of frontends) {
    if (!f || !(f.flags & FE_SOURCE_RANGES)) continue;
    const set = families.get(f.svcId) ?? new Set<boolean>();
    set.add(f.key.addr.includes(':'));
    families.set(f.svcId, set);
  }
  return families;
}

/** The source_ranges entries of those svc ids, by key string. */
export function rangeKeysOf(desired: DesiredState, families: Map<number, Set<boolean>>): Map<string, SourceRangeKey> {
  const out = new Map<string, SourceRangeKey>();
  for (const [svcId, v6] of families) {
    for (const cidr of desired.services.get(svcId)?.sourceRanges ?? []) {
      const key = v6.has(cidr.includes(':')) ? sourceRangeKey(svcId, cidr) : undefined;
      if (key) out.set(sourceRangeKeyString(key), key);
    }
  }
  return out;
}

/** Every source_ranges entry the desired state needs, by key string. */
export function desiredSourceRanges(desired: DesiredState): Map<string, SourceRangeKey> {
  return rangeKeysOf(desired, flaggedFamilies(desired.frontends));
}

export interface SourceRangePlan {
  add: SourceRangeKey[];
  remove: SourceRangeKey[];
  /** What the trie holds once the plan is applied. */
  next: Map<string, SourceRangeKey>;
}

export function planSourceRanges(
  current: ReadonlyMap<string, SourceRangeKey>,
  desired: Map<string, SourceRangeKey>,
): SourceRangePlan {
  return {
    add: [...desired].filter(([ks]) => !current.has(ks)).map(([, k]) => k),
    remove: [...current].filter(([ks]) => !desired.has(ks)).map(([, k]) => k),
    next: desired,
  };
}

/** Rebuilds the view of the trie from its entries (agent restart). */
export function sourceRangesFromMap(
  entries: ReadonlyArray<readonly [SourceRangeKey, unknown]>,
): Map<string, SourceRangeKey> {
  return new Map(
    entries.map(([k]) => [sourceRangeKeyString(k), { prefixlen: k.prefixlen, svcId: k.svcId, addr: k.addr }]),
  );
}
