// Which addresses a Service may claim with spec.externalIPs or status.loadBalancer.ingress.
//
// Any user who can create a Service can name any address there, and kube-proxy programs it:
// a Service listing a pod's IP, a node's address or 127.0.0.1 intercepts that traffic for every
// pod on the node (CVE-2020-8554; KEP-5707 deprecates externalIPs for this reason). Switchyard
// closes it by default:
//  - never: unspecified (0.0.0.0/8, ::), loopback (127/8, ::1), link-local (169.254/16,
//    fe80::/10), multicast (224/4, ff00::/8), reserved and broadcast (240/4, 255.255.255.255),
//    IPv4-mapped IPv6 (::ffff:0:0/96, an IPv4 address in disguise): none is ever a Service address;
//  - by default not: the cluster's pod CIDRs (--cluster-cidr), the Service CIDRs
//    (--service-cluster-ip-range) and this node's own addresses;
//  - --allowed-external-ip-cidrs turns on an allow-list: only addresses inside it are accepted,
//    and inside it the cluster, Service and node refusals are lifted (an operator who lists a
//    range has said it is meant). The "never" classes stay refused.
// A refused address is left out of the Service's frontends; the rest of the Service is
// programmed.
import { cidrContains } from '../net/ipv6.js';

export interface ExternalAddressPolicy {
  /** Pod CIDRs of the cluster (--cluster-cidr). */
  clusterCidrs: string[];
  /** Service ClusterIP ranges (--service-cluster-ip-range). */
  serviceCidrs: string[];
  /** --allowed-external-ip-cidrs: when non-empty, the only ranges accepted. */
  allowedCidrs: string[];
}

export const OPEN_POLICY: ExternalAddressPolicy = { clusterCidrs: [], serviceCidrs: [], allowedCidrs: [] };

const NEVER: ReadonlyArray<readonly [string, string]> = [
  ['0.0.0.0/8', 'the unspecified range'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved or broadcast'],
  ['::/128', 'the unspecified address'],
  ['::1/128', 'loopback'],
  ['::ffff:0.0.0.0/96', 'IPv4-mapped'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
];

const inside = (addr: string, cidr: string) => cidrContains(cidr, addr);

/**
 * Why @addr may not be claimed as an external or load-balancer address on this node, or
 * undefined when it may. @nodeAddrs are this node's addresses.
 */
export function externalAddressRefusal(
  addr: string,
  policy: ExternalAddressPolicy,
  nodeAddrs: readonly string[],
): string | undefined {
  for (const [cidr, what] of NEVER) {
    if (inside(addr, cidr)) return `${addr} is ${what} (${cidr}), never a Service address`;
  }
  if (policy.allowedCidrs.length > 0) {
    return policy.allowedCidrs.some((c) => inside(addr, c))
      ? undefined
      : `${addr} is outside --allowed-external-ip-cidrs (${policy.allowedCidrs.join(', ')})`;
  }
  const pod = policy.clusterCidrs.find((c) => inside(addr, c));
  if (pod)
    return `${addr} is inside the cluster CIDR ${pod}: it would intercept traffic to pods; allow it with --allowed-external-ip-cidrs`;
  const svc = policy.serviceCidrs.find((c) => inside(addr, c));
  if (svc) return `${addr} is inside the Service CIDR ${svc}; allow it with --allowed-external-ip-cidrs`;
  if (nodeAddrs.includes(addr))
    return `${addr} is this node's address: it would intercept traffic to the node; allow it with --allowed-external-ip-cidrs`;
  return undefined;
}
