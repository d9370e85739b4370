// Endpoint selection for one service port: merge the Service's slices, resolve the backend port
// per slice, then choose which endpoints a backend set holds (kube-proxy's CategorizeEndpoints;
// the topology hints of the cluster set are applied in topology.ts).
import { ipv4ToInt } from '../net/ipv4.js';
import { compareIp } from '../net/ipv6.js';
import { resolvePort } from '../model/ports.js';
import type { EndpointSlice, ServicePort } from '../model/types.js';

export interface Candidate {
  addr: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  local: boolean;
  /** Topology hints as the slice gave them; absent: none. */
  zoneHints?: string[];
  nodeHints?: string[];
}

/** Every endpoint of the slices with a resolvable port for `sp`, one per addr:port (an endpoint
 *  listed in two slices, as during a slice split, counts once: the most usable copy, the first
 *  of those), in address then port order. Duplicates are found next to each other once sorted,
 *  rather than through a Map keyed by an "addr:port" string per endpoint. */
export function candidates(sp: ServicePort, slices: EndpointSlice[], nodeName: string): Candidate[] {
  const all: Candidate[] = [];
  for (const slice of slices) {
    const port = resolvePort(sp, slice);
    if (port === undefined) continue;
    for (const ep of slice.endpoints) {
      const c: Candidate = {
        addr: ep.address,
        port,
        ready: ep.ready,
        serving: ep.serving,
        terminating: ep.terminating,
        local: nodeName !== '' && ep.nodeName === nodeName,
      };
      if (ep.zoneHints) c.zoneHints = ep.zoneHints;
      if (ep.nodeHints) c.nodeHints = ep.nodeHints;
      all.push(c);
    }
  }
  const sorted = byAddress(all);
  const out: Candidate[] = [];
  for (const c of sorted) {
    const last = out[out.length - 1];
    if (!last || last.addr !== c.addr || last.port !== c.port) out.push(c);
    else if (rank(c) > rank(last)) out[out.length - 1] = c;
  }
  return out;
}

/** @cands in compareIp order, then by port; stable (equal endpoints keep their order). IPv4
 *  (the common case) is sorted on one number per candidate, address × 65,536 + port, instead of
 *  parsing both addresses at every comparison. */
function byAddress(cands: Candidate[]): Candidate[] {
  if (cands.some((c) => c.addr.includes(':')))
    return cands.sort((a, b) => compareIp(a.addr, b.addr) || a.port - b.port);
  const keys = new Float64Array(cands.length);
  for (let i = 0; i < cands.length; i++) keys[i] = ipv4ToInt(cands[i]!.addr) * 0x10000 + cands[i]!.port;
  const order = Array.from(keys, (_, i) => i).sort((a, b) => keys[a]! - keys[b]!);
  return order.map((i) => cands[i]!);
}

const rank = (c: Candidate) => (c.ready ? 4 : 0) + (c.serving ? 2 : 0) + (c.local ? 1 : 0);

/**
 * The endpoints a set holds: the ready ones; if none is ready, the serving-and-terminating ones
 * (KEP-1669: let connections drain to pods that are shutting down rather than refuse them);
 * with publishNotReadyAddresses, every endpoint. The local set applies the same rule to the local
 * endpoints alone, so a node whose local pods are all terminating still serves through them.
 */
export function select(cands: Candidate[], publishNotReady: boolean): Candidate[] {
  if (publishNotReady) return cands;
  const ready = cands.filter((c) => c.ready);
  if (ready.length > 0) return ready;
  return cands.filter((c) => c.serving && c.terminating);
}
