// Which endpoint port a Service port sends to, per EndpointSlice. Shared by compile (to pick
// backends) and the model's targetPort check (to report ports that resolve nowhere), so the two
// can never disagree.
import type { EndpointSlice, ServicePort } from './types.js';

/**
 * The backend port for `sp` on the endpoints of `slice`, or undefined when the slice has none:
 *  1. the slice port named like the Service port (what the EndpointSlice controller writes);
 *  2. else, when targetPort is a name, the slice port of that name (hand-written slices often
 *     name ports after the container port);
 *  3. else, when targetPort is a number and the slice has at most one port of that protocol and it
 *     is unnamed, targetPort itself (hand-written slices that list no ports, or one unnamed port).
 * Only slice ports of the Service port's protocol take part.
 */
export function resolvePort(sp: ServicePort, slice: EndpointSlice): number | undefined {
  const candidates = slice.ports.filter((p) => p.protocol === sp.protocol);
  const byName = candidates.find((p) => p.name === sp.name);
  if (byName) return byName.port;
  if (typeof sp.targetPort === 'string') return candidates.find((p) => p.name === sp.targetPort)?.port;
  if (candidates.length === 0 || (candidates.length === 1 && candidates[0].name === '')) return sp.targetPort;
  return undefined;
}
