// Topology-aware routing with kube-proxy's semantics (pkg/proxy/topology.go): which endpoints the
// "all" (cluster traffic policy) set of this node holds. The EndpointSlice controller writes hints
// for trafficDistribution PreferClose / PreferSameZone / PreferSameNode (and topology-mode Auto);
// the proxy only follows them, and only when they are complete: an endpoint without a hint means
// the controller did not (or could not) hint this Service, so every endpoint is used.
// The result is just a smaller backend set, so hints cost nothing per packet.
import { readyOf, type Candidate } from './endpoints.js';

export type TopologyMode = '' | 'node' | 'zone';

/** Where this node is: its name and its topology.kubernetes.io/zone label ('' when unlabeled). */
export interface NodeTopology {
  nodeName: string;
  zone: string;
}

/**
 * Node hints when every ready endpoint has one and some endpoint is hinted for this node; else zone
 * hints when every ready endpoint has one and some endpoint is hinted for this node's zone; else ''.
 * Node hints come first: PreferSameNode also writes zone hints as its fallback.
 */
export function topologyMode(ready: Candidate[], where: NodeTopology): TopologyMode {
  if (ready.length === 0) return '';
  const has = (hints: string[] | undefined, v: string) => v !== '' && hints !== undefined && hints.includes(v);
  if (ready.every((c) => c.nodeHints) && ready.some((c) => has(c.nodeHints, where.nodeName))) return 'node';
  if (ready.every((c) => c.zoneHints) && ready.some((c) => has(c.zoneHints, where.zone))) return 'zone';
  return '';
}

function available(c: Candidate, mode: TopologyMode, where: NodeTopology): boolean {
  if (mode === 'node') return c.nodeHints?.includes(where.nodeName) ?? false;
  if (mode === 'zone') return c.zoneHints?.includes(where.zone) ?? false;
  return true;
}

/**
 * The cluster-policy set: the ready endpoints this node's topology allows. With no ready endpoint
 * anywhere, the serving-and-terminating ones, hints ignored (KEP-1669: a best effort to let
 * connections drain rather than refuse them; kube-proxy does the same). publishNotReadyAddresses
 * makes every endpoint count as ready, hints included.
 */
export function selectCluster(cands: Candidate[], publishNotReady: boolean, where: NodeTopology): Candidate[] {
  const ready = publishNotReady ? cands : readyOf(cands);
  const mode = topologyMode(ready, where);
  // Without hints every ready endpoint is available: no copy of the list.
  const picked = mode === '' ? ready : ready.filter((c) => available(c, mode, where));
  if (picked.length > 0 || publishNotReady) return picked;
  return cands.filter((c) => c.serving && c.terminating);
}
