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
  // One pass, no array: this runs for every slice of every service port, twice at a cold start.
  let ofProtocol = 0;
  let firstName: string | undefined;
  let byTarget: number | undefined;
  for (const p of slice.ports) {
    if (p.protocol !== sp.protocol) continue;
    if (p.name === sp.name) return p.port; // 1.
    if (ofProtocol++ === 0) firstName = p.name;
    if (byTarget === undefined && p.name === sp.targetPort) byTarget = p.port;
  }
  if (typeof sp.targetPort === 'string') return byTarget; // 2.
  if (ofProtocol === 0 || (ofProtocol === 1 && firstName === '')) return sp.targetPort; // 3.
  return undefined;
}
