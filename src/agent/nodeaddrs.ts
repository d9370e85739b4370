// This node's addresses as the data path needs them, from the uplink devices (--devices):
//  - the NodePort addresses: every IPv4 address of those devices, or with --nodeport-addresses
//    only those inside one of its IPv4 CIDRs (kube-proxy's rule: no IPv4 CIDR given, or 0.0.0.0/0,
//    means every address);
//  - the SNAT address, the source of NodePort / external traffic this node forwards to a backend
//    on another node: the first IPv4 address of the first device by name. It is not filtered by
//    --nodeport-addresses, which says where NodePorts answer, not how other nodes reach this one.
// Pure: the interface table comes in (os.networkInterfaces() in the agent).
import { ipv4Network, ipv4ToInt } from '../net/ipv4.js';

export interface InterfaceAddress {
  address: string;
  family: string | number;
}
export type InterfaceTable = Record<string, ReadonlyArray<InterfaceAddress> | undefined>;

export interface NodeAddresses {
  /** Where NodePorts answer, in device-name then kernel order, without duplicates. */
  nodePortAddresses: string[];
  /** The SNAT address; undefined when no device has an IPv4 address. */
  snatAddress?: string;
  /** Every IPv4 address of the devices: none may be claimed as an externalIP (external-ips.ts). */
  all: string[];
}

const isV4 = (a: InterfaceAddress) => a.family === 'IPv4' || a.family === 4;

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
    for (const a of ifaces[name] ?? []) if (isV4(a) && !all.includes(a.address)) all.push(a.address);
  }
  const nets = cidrs.map(ipv4Network).filter((n) => n !== undefined);
  const inRange = (addr: string) => nets.some(({ net, mask }) => (ipv4ToInt(addr) & mask) >>> 0 === net);
  const out: NodeAddresses = { nodePortAddresses: nets.length === 0 ? all : all.filter(inRange), all };
  if (all.length > 0) out.snatAddress = all[0];
  return out;
}

export function sameNodeAddresses(a: NodeAddresses, b: NodeAddresses): boolean {
  const same = (x: string[], y: string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.snatAddress === b.snatAddress && same(a.nodePortAddresses, b.nodePortAddresses) && same(a.all, b.all);
}
