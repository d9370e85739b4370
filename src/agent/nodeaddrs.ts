// This node's addresses as the data path needs them, from the uplink devices (--devices), per
// family (IPv4 and IPv6 alike, as kube-proxy runs one proxier per family):
//  - the NodePort addresses: every address of those devices, or with --nodeport-addresses only
//    those inside one of its CIDRs of their family (kube-proxy's rule, per family: no CIDR of
//    that family given, or 0.0.0.0/0 / ::/0, means every address of it). IPv6 link-local
//    addresses (fe80::/10) are left out: one is only meaningful with its interface, which a
//    frontend key does not hold;
//  - the SNAT addresses, the source of NodePort / external traffic this node forwards to a
//    backend on another node: the first address of each family of the first device by name. They
//    are not filtered by --nodeport-addresses, which says where NodePorts answer, not how other
//    nodes reach this one.
// Pure: the interface table comes in (os.networkInterfaces() in the agent; its IPv6 text is
// canonical already).
import { canonicalIp, cidrContains } from '../net/ipv6.js';

export interface InterfaceAddress {
  address: string;
  family: string | number;
}
export type InterfaceTable = Record<string, ReadonlyArray<InterfaceAddress> | undefined>;

export interface NodeAddresses {
  /** Where NodePorts answer, in device-name then kernel order, without duplicates. */
  nodePortAddresses: string[];
  /** The IPv4 SNAT address; undefined when no device has an IPv4 address. */
  snatAddress?: string;
  /** The IPv6 SNAT address; undefined when no device has a global IPv6 address. */
  snatAddress6?: string;
  /** Every address of the devices: none may be claimed as an externalIP (external-ips.ts). */
  all: string[];
}

const isV4 = (a: InterfaceAddress) => a.family === 'IPv4' || a.family === 4;
const isV6 = (a: InterfaceAddress) =>
  (a.family === 'IPv6' || a.family === 6) && !cidrContains('fe80::/10', a.address.split('%')[0] ?? '');

export function nodeAddresses(
  ifaces: InterfaceTable,
  devices: RegExp | undefined,
  cidrs: readonly string[],
): NodeAddresses {
  if (!devices) return { nodePortAddresses: [], all: [] };
  const names = Object.keys(ifaces)
    .filter((n) => devices.test(n))
    .sort();
  const all: string[] = [];
  for (const name of names) {
    for (const a of ifaces[name] ?? []) {
      const addr = (isV4(a) || isV6(a)) && canonicalIp(a.address);
      if (addr && !all.includes(addr)) all.push(addr);
    }
  }
  const v6 = (s: string) => s.includes(':');
  const inRange = (addr: string) => {
    const ofFamily = cidrs.filter((c) => v6(c) === v6(addr));
    return ofFamily.length === 0 || ofFamily.some((c) => cidrContains(c, addr));
  };
  const out: NodeAddresses = { nodePortAddresses: all.filter(inRange), all };
  const first4 = all.find((a) => !v6(a));
  const first6 = all.find(v6);
  if (first4) out.snatAddress = first4;
  if (first6) out.snatAddress6 = first6;
  return out;
}

export function sameNodeAddresses(a: NodeAddresses, b: NodeAddresses): boolean {
  const same = (x: string[], y: string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return (
    a.snatAddress === b.snatAddress &&
    a.snatAddress6 === b.snatAddress6 &&
    same(a.nodePortAddresses, b.nodePortAddresses) &&
    same(a.all, b.all)
  );
}
