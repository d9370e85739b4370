// The lab's IPv6 side (issue 15): `lab up --ip-family ipv4|ipv6|dual`. Addresses are ULA
// (fd00::/8), each derived from the IPv4 address the lab already has, so placement, state and
// the allocators stay as they are and a reader can tell which addresses belong together:
//   underlay fd00:250::/64: node i fd00:250::(10+i), external client fd00:250::200
//   pods on node i fd10:244:i::/64, pod 10.244.i.h is fd10:244:i::h; all pods POD_CIDR6
//   Service 10.a.b.c has the IPv6 cluster IP fd00:96::a:b:c, inside SERVICE_CIDR6
// The digits are read as hex by IPv6, which is fine: the mapping is one to one.
// Every address is added with `nodad`: duplicate address detection would hold it "tentative"
// for a second or two, and nothing else on these private links can hold it. Router
// solicitations are off: there is no router to answer them.
import { canonicalIpv6 } from '../net/ipv6.js';
import { ip, macOf, nsRun } from './namespaces.js';

export type LabIpFamily = 'ipv4' | 'ipv6' | 'dual';
export const LAB_IP_FAMILIES: readonly LabIpFamily[] = ['ipv4', 'ipv6', 'dual'];
/** Dual stack is the default: it exercises both families and IPv4 stays what it was. */
export const DEFAULT_IP_FAMILY: LabIpFamily = 'dual';

export const POD_CIDR6 = 'fd10:244::/32';
export const SERVICE_CIDR6 = 'fd00:96::/64';
export const EXTERNAL_ADDRESS6 = 'fd00:250::200';
/** The pods' IPv6 gateway: a link-local address answered by a static neighbour entry, as
 *  POD_GATEWAY is for IPv4. */
export const POD_GATEWAY6 = 'fe80::1';

export const hasIpv6 = (f: LabIpFamily | undefined) => f === 'ipv6' || f === 'dual';
const octets = (v4: string) => v4.split('.').map(Number);

export const nodeIpv6 = (index: number) => `fd00:250::${10 + index}`;
export const podCidr6 = (index: number) => `fd10:244:${index}::/64`;
/** 10.244.i.h → fd10:244:i::h */
export function podIpv6(v4: string): string {
  const [, , i, h] = octets(v4);
  return canonicalIpv6(`fd10:244:${i}::${h}`)!;
}
/** 10.a.b.c → fd00:96::a:b:c */
export function serviceIpv6(v4: string): string {
  const [, a, b, c] = octets(v4);
  return canonicalIpv6(`fd00:96::${a}:${b}:${c}`)!;
}

/** IPv6 on in a namespace, without DAD or router solicitation (a node forwards); also
 *  bench/clusterip.mjs's node, which has no uplink for addTopologyIpv6. */
export function ipv6Sysctls(ns: string, forwarding: boolean): void {
  const set = (k: string, v: string) => nsRun(ns, ['sysctl', '-qw', `${k}=${v}`]);
  for (const scope of ['all', 'default']) {
    set(`net.ipv6.conf.${scope}.disable_ipv6`, '0');
    set(`net.ipv6.conf.${scope}.accept_dad`, '0');
    set(`net.ipv6.conf.${scope}.router_solicitations`, '0');
    set(`net.ipv6.conf.${scope}.accept_ra`, '0');
  }
  if (forwarding) set('net.ipv6.conf.all.forwarding', '1');
}

interface V6Node {
  ns: string;
  index: number;
}

/** IPv6 on an existing IPv4 topology: node and external addresses on the underlay, routes
 *  to every other node's pods, and the external host's routes to the pods. */
export function addTopologyIpv6(nodes: V6Node[], externalNs: string): void {
  for (const n of nodes) {
    ipv6Sysctls(n.ns, true);
    ip('-n', n.ns, 'addr', 'add', `${nodeIpv6(n.index)}/64`, 'dev', 'eth0', 'nodad');
  }
  for (const n of nodes) {
    for (const o of nodes) {
      if (o !== n) ip('-n', n.ns, '-6', 'route', 'add', podCidr6(o.index), 'via', nodeIpv6(o.index), 'dev', 'eth0');
    }
  }
  ipv6Sysctls(externalNs, false);
  ip('-n', externalNs, 'addr', 'add', `${EXTERNAL_ADDRESS6}/64`, 'dev', 'eth0', 'nodad');
  for (const n of nodes) {
    ip('-n', externalNs, '-6', 'route', 'add', podCidr6(n.index), 'via', nodeIpv6(n.index), 'dev', 'eth0');
  }
}

/** A pod's IPv6 address, next to the IPv4 one createPod gave it: a /128 on eth0, the default
 *  route via POD_GATEWAY6 (the node's veth end by a static neighbour entry), and on the node a
 *  /128 route and static neighbour back. No NDP on the veth, as no ARP for IPv4. */
export function addPodIpv6(nodeNs: string, podNs: string, hostIf: string, podIp6: string): void {
  ipv6Sysctls(podNs, false);
  ip('-n', podNs, 'addr', 'add', `${podIp6}/128`, 'dev', 'eth0', 'nodad');
  ip(
    '-n',
    podNs,
    '-6',
    'neigh',
    'add',
    POD_GATEWAY6,
    'lladdr',
    macOf(nodeNs, hostIf),
    'dev',
    'eth0',
    'nud',
    'permanent',
  );
  ip('-n', podNs, '-6', 'route', 'add', 'default', 'via', POD_GATEWAY6, 'dev', 'eth0');
  ip('-n', nodeNs, '-6', 'route', 'add', `${podIp6}/128`, 'dev', hostIf);
  ip('-n', nodeNs, '-6', 'neigh', 'add', podIp6, 'lladdr', macOf(podNs, 'eth0'), 'dev', hostIf, 'nud', 'permanent');
}
