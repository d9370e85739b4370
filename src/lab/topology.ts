// A cluster made of network namespaces: an underlay (a bridge in its own namespace), nodes joined
// to it (node1 is the control-plane node: the API server listens on its address, as on a real
// cluster, so the `kubernetes` Service's endpoint is a node address), pods routed behind veths on
// each node, and an external client (with a server, for Services whose Endpoints point outside the
// cluster). Addresses:
//   underlay 10.250.0.0/24 — the bridge .254, node i .(10+i), external client .200
//   pods on node i: 10.244.i.0/24, addresses from .11 (placement.ts); all pods: POD_CIDR
//   Services: the examples' ClusterIPs, inside SERVICE_CIDR (the kubeadm default)
import { createNamespace, createNode, createPod, deleteNamespace, ip, listNamespaces, nsRun } from './namespaces.js';
import { placePod } from './placement.js';

export const UNDERLAY_PREFIX = '10.250.0';
export const BRIDGE_ADDRESS = `${UNDERLAY_PREFIX}.254`;
export const nodeAddress = (index: number) => `${UNDERLAY_PREFIX}.${10 + index}`;
/** The node whose namespace runs the API server, on its node address. */
export const CONTROL_PLANE_NODE = 'node1';
export const API_ADDRESS = nodeAddress(1);
export const EXTERNAL_ADDRESS = `${UNDERLAY_PREFIX}.200`;
export const POD_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/12';

/** zone: the node's topology.kubernetes.io/zone label (absent in labs made before zones). */
export interface NodeInfo {
  name: string;
  ns: string;
  address: string;
  podCidr: string;
  index: number;
  zone?: string;
}
export interface PodInfo {
  name: string;
  ns: string;
  node: string;
  ip: string;
  hostIf: string;
  index: number;
}

export interface Topology {
  /** Short and unique: every namespace and interface name starts with it. */
  prefix: string;
  underlayNs: string;
  externalNs: string;
  nodes: NodeInfo[];
  pods: PodInfo[];
}

const BRIDGE = 'br0';

export function namespacesOf(prefix: string): string[] {
  return listNamespaces().filter((n) => n.startsWith(`${prefix}-`));
}

/** Builds the underlay, the nodes and the external client. Pods come later. */
export function createTopology(prefix: string, nodeCount: number): Topology {
  if (prefix.length > 9) throw new Error(`topology prefix "${prefix}" is too long for interface names (max 9)`);
  const topo: Topology = {
    prefix,
    underlayNs: `${prefix}-underlay`,
    externalNs: `${prefix}-external`,
    nodes: [],
    pods: [],
  };
  createNamespace(topo.underlayNs);
  ip('-n', topo.underlayNs, 'link', 'add', BRIDGE, 'type', 'bridge');
  ip('-n', topo.underlayNs, 'addr', 'add', `${BRIDGE_ADDRESS}/24`, 'dev', BRIDGE);
  ip('-n', topo.underlayNs, 'link', 'set', BRIDGE, 'up');
  for (let i = 1; i <= nodeCount; i++) {
    const node: NodeInfo = {
      name: `node${i}`,
      ns: `${prefix}-node${i}`,
      address: nodeAddress(i),
      podCidr: `10.244.${i}.0/24`,
      index: i,
    };
    createNode(node.ns);
    joinUnderlay(topo, node.ns, `${prefix}u${i}`, node.address);
    topo.nodes.push(node);
  }
  for (const node of topo.nodes) {
    for (const other of topo.nodes) {
      if (other !== node) ip('-n', node.ns, 'route', 'add', other.podCidr, 'via', other.address, 'dev', 'eth0');
    }
  }
  createNamespace(topo.externalNs);
  joinUnderlay(topo, topo.externalNs, `${prefix}ux`, EXTERNAL_ADDRESS);
  // The external host routes the pod ranges to their nodes (as a router peering with the nodes
  // would), so a pod can reach a server there: the Endpoints example points a Service at it. It
  // does not change how the external client reaches Services: through a node's address.
  for (const node of topo.nodes)
    ip('-n', topo.externalNs, 'route', 'add', node.podCidr, 'via', node.address, 'dev', 'eth0');
  return topo;
}

function joinUnderlay(topo: Topology, ns: string, bridgePort: string, address: string): void {
  ip('-n', topo.underlayNs, 'link', 'add', bridgePort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  ip('-n', topo.underlayNs, 'link', 'set', bridgePort, 'master', BRIDGE);
  ip('-n', topo.underlayNs, 'link', 'set', bridgePort, 'up');
  ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
}

/** Adds a pod on a node; the pod's index is unique in the cluster and never reused. */
export function addPod(topo: Topology, nodeName: string, podName: string): PodInfo {
  const at = placePod(
    topo.nodes,
    topo.pods.map((p) => ({ node: p.node, ip: p.ip, active: true })),
    { node: nodeName },
  );
  const node = topo.nodes.find((n) => n.name === at.node)!;
  const index = Math.max(0, ...topo.pods.map((p) => p.index)) + 1;
  const pod: PodInfo = {
    name: podName,
    ns: `${topo.prefix}-${podName}`,
    node: at.node,
    ip: at.ip,
    hostIf: `${topo.prefix}p${index}`,
    index,
  };
  createPod(node.ns, pod.ns, pod.hostIf, pod.ip);
  topo.pods.push(pod);
  return pod;
}

export function removePod(topo: Topology, podName: string): void {
  const pod = topo.pods.find((p) => p.name === podName);
  if (!pod) throw new Error(`no pod "${podName}" in the lab`);
  deleteNamespace(pod.ns); // the veth pair dies with it
  topo.pods = topo.pods.filter((p) => p !== pod);
}

/** Removes every namespace with the prefix, including leftovers of a crashed run. */
export function destroyTopology(prefix: string): string[] {
  const gone = namespacesOf(prefix);
  for (const ns of gone) deleteNamespace(ns);
  return gone;
}

export { nsRun };
