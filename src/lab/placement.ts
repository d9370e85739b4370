// Where a new pod goes: which node, and which address in that node's pod range. The one pod-IP
// allocator of the lab and of the tests' clusters (topology.addPod); pure, so it is tested alone.
//   node:    a given one, or spread like the scheduler's topology spread: fewest pods of the same
//            Deployment, then fewest pods overall, then the lower node index;
//   address: host numbers FIRST_HOST..LAST_HOST of the node's /24, the first free one from the
//            node's cursor on, wrapping around. The lab keeps a cursor so a freed address is not
//            handed out again at once: a stale conntrack or affinity entry would point at a new pod.

export const FIRST_HOST = 11;
export const LAST_HOST = 250;

/** What placement reads of a node. */
export interface NodeSlot {
  name: string;
  /** The node's pod range, a /24: 10.244.1.0/24. */
  podCidr: string;
  index: number;
}

/** What placement reads of a pod already on a node. */
export interface PodSlot {
  node: string;
  ip: string;
  deployment?: string;
  /** False for a pod that is leaving: it still holds its address but no longer counts for spreading. */
  active: boolean;
}

export interface PlacementRequest {
  /** Place on this node; otherwise spread. */
  node?: string;
  /** The new pod's Deployment, spread across the nodes. */
  deployment?: string;
  /** Per node, the host number to try first (the one after the last handed out). */
  nextHost?: Readonly<Record<string, number>>;
}

export interface Placement {
  node: string;
  ip: string;
  /** The address's last octet: the caller moves the node's cursor past it. */
  host: number;
}

export function placePod(nodes: readonly NodeSlot[], pods: readonly PodSlot[], req: PlacementRequest = {}): Placement {
  const node = req.node === undefined ? spread(nodes, pods, req.deployment) : nodes.find((n) => n.name === req.node);
  if (!node) {
    const have = nodes.map((n) => n.name).join(', ') || 'none';
    throw new Error(
      req.node === undefined ? 'no node to place a pod on' : `no node "${req.node}" to place a pod on (have ${have})`,
    );
  }
  const used = new Set(pods.filter((p) => p.node === node.name).map((p) => Number(p.ip.split('.')[3])));
  const start = clampHost(req.nextHost?.[node.name]);
  for (let i = 0; i <= LAST_HOST - FIRST_HOST; i++) {
    const host = FIRST_HOST + ((start - FIRST_HOST + i) % (LAST_HOST - FIRST_HOST + 1));
    if (!used.has(host)) return { node: node.name, ip: `${networkOf(node)}.${host}`, host };
  }
  throw new Error(
    `node ${node.name} has no pod address left in ${node.podCidr} (.${FIRST_HOST}-.${LAST_HOST} are all in use)`,
  );
}

function spread(nodes: readonly NodeSlot[], pods: readonly PodSlot[], deployment?: string): NodeSlot | undefined {
  const active = pods.filter((p) => p.active);
  const count = (node: NodeSlot, sameDeployment: boolean) =>
    active.filter((p) => p.node === node.name && (!sameDeployment || p.deployment === deployment)).length;
  return [...nodes].sort(
    (a, b) => count(a, true) - count(b, true) || count(a, false) - count(b, false) || a.index - b.index,
  )[0];
}

/** A cursor past the range (the last address was .250) starts again at the bottom. */
function clampHost(host: number | undefined): number {
  return host === undefined || host < FIRST_HOST || host > LAST_HOST ? FIRST_HOST : host;
}

/** The first three octets of a /24 pod range. */
function networkOf(node: NodeSlot): string {
  const m = /^(\d+\.\d+\.\d+)\.0\/24$/.exec(node.podCidr);
  if (!m) throw new Error(`node ${node.name}: podCidr "${node.podCidr}" is not a /24 (a.b.c.0/24)`);
  return m[1];
}

/** A pod already on a node, for host-network placement: the node ports it holds. */
export interface HostPortSlot extends PodSlot {
  hostPorts: readonly number[];
}

/**
 * The node for a host-network pod: one where none of `ports` is held by another host-network pod
 * (a leaving pod still listens, so it still holds them: the scheduler's NodePorts filter), spread
 * like placePod. Undefined when every node is taken: the pod stays unscheduled, as in Kubernetes.
 */
export function placeHostPod(
  nodes: readonly NodeSlot[],
  pods: readonly HostPortSlot[],
  deployment: string,
  ports: readonly number[],
): NodeSlot | undefined {
  const free = nodes.filter(
    (n) => !pods.some((p) => p.node === n.name && p.hostPorts.some((port) => ports.includes(port))),
  );
  return spread(free, pods, deployment);
}
