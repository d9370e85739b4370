// Topology hints as Kubernetes' EndpointSlice controller writes them for spec.trafficDistribution
// (pkg/controller/endpointslice, the trafficdist package; KEP-4444 and KEP-3015):
//  - PreferClose / PreferSameZone: every endpoint hinted for its own zone;
//  - PreferSameNode: also for its own node (the zone hint stays as the proxy's fallback);
//  - any endpoint without a zone: no zone hints at all (a partial set would mislead the proxies);
//  - no trafficDistribution: no hints. The older topology-mode: Auto annotation (proportional
//    allocation by zone CPU) is not modelled: the lab has one node per zone.
type Raw = Record<string, unknown>;

export const TRAFFIC_DISTRIBUTIONS = ['PreferClose', 'PreferSameZone', 'PreferSameNode'] as const;

/** @endpoints with hints set (or removed) in place for @trafficDistribution; returns them. */
export function applyHints(endpoints: Raw[], trafficDistribution: unknown): Raw[] {
  for (const ep of endpoints) delete ep.hints;
  if (!(TRAFFIC_DISTRIBUTIONS as readonly unknown[]).includes(trafficDistribution)) return endpoints;
  const zoned = endpoints.every((ep) => typeof ep.zone === 'string' && ep.zone !== '');
  for (const ep of endpoints) {
    const hints: Raw = {};
    if (zoned) hints.forZones = [{ name: ep.zone }];
    if (trafficDistribution === 'PreferSameNode' && typeof ep.nodeName === 'string')
      hints.forNodes = [{ name: ep.nodeName }];
    if (Object.keys(hints).length > 0) ep.hints = hints;
  }
  return endpoints;
}

/** "10.244.1.11 zone-a→zone-a node→node1" style text of one endpoint's hints, '' without. */
export function describeHints(ep: {
  hints?: { forZones?: Array<{ name: string }>; forNodes?: Array<{ name: string }> };
}): string {
  const parts: string[] = [];
  const zones = ep.hints?.forZones?.map((z) => z.name) ?? [];
  const nodes = ep.hints?.forNodes?.map((n) => n.name) ?? [];
  if (zones.length) parts.push(`forZones=${zones.join(',')}`);
  if (nodes.length) parts.push(`forNodes=${nodes.join(',')}`);
  return parts.join(' ');
}
