// compile: (model, node config, id allocator) → desired map state. Pure apart from the allocator,
// which is passed in and is the only thing carried between runs. What it encodes is kube-proxy's
// behaviour; the data path only looks things up.
//
// Per Service port (one svc_id per namespace/name + port name + protocol):
//  - two backend sets, "all" and "local" (endpoints on this node); a set exists only if a
//    frontend uses it;
//  - ClusterIP frontends (scope INTERNAL) use "local" with internalTrafficPolicy Local (flagged
//    LOCAL_ONLY: no local endpoint → drop, as kube-proxy does), else "all";
//  - NodePort (each node address × nodePort), externalIPs and LoadBalancer ingress IPs (× port)
//    each get two frontends: EXTERNAL (from outside: "local" + LOCAL_ONLY under
//    externalTrafficPolicy Local) and INTERNAL (from pods, and from the node's own sockets
//    through socket LB: always "all"). All are flagged NODEPORT (remote backends need SNAT); LB IPs also SOURCE_RANGES when ranges are set;
//  - headless and ExternalName Services program nothing.
// A frontend key wanted by two Services stays with the one that held it in the previous compile;
// a key nobody held goes to the older Service (metadata.creationTimestamp), then the first by
// namespace/name, ports in spec order. The other is reported in `conflicts`, naming both. External
// and load-balancer addresses go through the policy in external-ips.ts; refusals are reported in
// `refused` and leave the rest of the Service programmed.
import { FE_MAGLEV, BE_LOCAL, type Backend, type Config, type Config6 } from '../abi/index.js';
import { intToIpv4, ipv4Network, ipv4ToInt } from '../net/ipv4.js';
import { addrPort, bytesToIpv6, compareIp, ipv6Network, ipv6PrefixMask } from '../net/ipv6.js';
import { ValidationError, type ClusterModel, type Service, type ServicePort } from '../model/types.js';
import { candidateAddr, candidates, select, type Candidate } from './endpoints.js';
import { selectCluster, type NodeTopology } from './topology.js';
import { DEFAULT_MAGLEV_TABLE_SIZE, maglevTable } from './maglev.js';
import {
  admitted,
  admittedWants,
  claimOrder,
  dedupe,
  frontendKeyText,
  frontendsFor,
  keptWants,
  nodeAddresses,
  settleClaims,
  type Ask,
  type Want,
} from './claims.js';

export { admitted, claimOrder, dedupe, frontendKeyText, frontendsFor, keptWants, type Ask, type Want };
import { IdExhaustedError, type IdAllocator } from './ids.js';
import { IdMap } from './id-map.js';
import { BackendTable } from './backend-table.js';
import {
  svcIdentity,
  type DesiredFrontend,
  type DesiredState,
  type HealthCheckService,
  type MaglevSummary,
  type NodeConfig,
  type ServicePortInfo,
  setSlot,
} from './types.js';

/**
 * Compiles the model for this node. @previous, the last state this allocator compiled, lets a
 * Service keep the frontends it already holds when a newcomer claims them too.
 */
export function compile(
  model: ClusterModel,
  node: NodeConfig,
  ids: IdAllocator,
  previous?: DesiredState,
): DesiredState {
  return compileWithAsks(model, node, ids, previous).desired;
}

/** compile(), and the asks it settled (each service port's admitted frontends, in claim order)
 *  and the Service key of each svc id it programmed (by id): the incremental compiler indexes
 *  them rather than working them out a second time. */
export function compileWithAsks(
  model: ClusterModel,
  node: NodeConfig,
  ids: IdAllocator,
  previous?: DesiredState,
): { desired: DesiredState; asks: Ask[]; svcKeyOf: string[] } {
  ids.beginCompile();
  const nodeAddrs = nodeAddresses(node);
  const frontends: DesiredFrontend[] = [];
  // Keyed by id, so in ascending id order whatever order compile meets them in.
  const sets = new IdMap<number[]>();
  const backends = new BackendTable();
  const services = new IdMap<ServicePortInfo>();
  const healthCheck: HealthCheckService[] = [];
  const conflicts: ValidationError[] = [];
  const refused: ValidationError[] = [];

  const asks: Ask[] = [];
  for (const svc of claimOrder(model.services.values())) {
    if (svc.headless || svc.type === 'ExternalName') continue;
    const hcPort = svc.externalTrafficPolicy === 'Local' ? svc.healthCheckNodePort : undefined;
    if (hcPort !== undefined) {
      healthCheck.push({
        namespace: svc.namespace,
        name: svc.name,
        nodePort: hcPort,
        localEndpoints: localReady(svc, model, node),
      });
    }
    for (const sp of svc.ports) {
      const wants = admittedWants(dedupe(frontendsFor(svc, sp, nodeAddrs)), svc, node, nodeAddrs, refused);
      if (wants.length > 0) asks.push({ svc, sp, wants });
    }
  }
  const winners = settleClaims(asks, previous);
  // This node's zone: NodeConfig's, else its own Node object's label (the agent watches it).
  const where = nodeTopology(model, node);

  const maglev: MaglevSummary = { sets: new Set(), entries: 0, bytes: 0, buildMs: 0 };
  const out: Output = { frontends, sets, backends, services, conflicts, maglev, node };
  const svcKeyOf: string[] = [];
  for (const ask of asks) {
    const kept = keptWants(ask, (k) => winners.get(k)!, conflicts);
    if (kept.length === 0) continue;
    const { svc, sp } = ask;
    const svcId = programPort(
      out,
      ids,
      svc,
      sp,
      kept,
      candidates(sp, model.slicesByService.get(svc.key) ?? [], node.nodeName),
      where,
    );
    if (svcId !== undefined) svcKeyOf[svcId] = svc.key;
  }

  const config6 = config6Entry(node);
  const desired: DesiredState = {
    frontends: byKey(frontends),
    sets,
    backends,
    services,
    healthCheck,
    conflicts,
    refused,
    config: configEntry(node),
    ...(config6 ? { config6 } : {}),
    ...(maglev.sets.size > 0 ? { maglev } : {}),
  };
  return { desired, asks, svcKeyOf };
}

/** Where this node is, for topology hints: its name, and its zone (a flag, else its Node's label). */
/** config[0] for @node: its SNAT address, and the first IPv4 range of its pod CIDRs (network and
 *  mask; '0.0.0.0' for both when there is none: the data path then looks every packet up). */
export function configEntry(node: NodeConfig): Config {
  const pods = (node.podCidrs ?? []).map(ipv4Network).find((n) => n !== undefined && n.len > 0);
  return {
    snatAddr: node.snatAddress ?? '0.0.0.0',
    podNet: intToIpv4(pods?.net ?? 0),
    podMask: intToIpv4(pods?.mask ?? 0),
  };
}

/** config6[0] for @node, as configEntry: its IPv6 SNAT address ('::' without one) and the first
 *  IPv6 range of its pod CIDRs (network and mask, '::' for both when there is none). Undefined
 *  when it has neither: config6 is then left as it is (an IPv4-only node's is all '::'). */
export function config6Entry(node: NodeConfig): Config6 | undefined {
  const pods = (node.podCidrs ?? []).map(ipv6Network).find((n) => n !== undefined && n.len > 0);
  if (!node.snatAddress6 && !pods) return undefined;
  return {
    snatAddr: node.snatAddress6 ?? '::',
    hairpinAddr: '::',
    podNet: pods ? bytesToIpv6(pods.bytes) : '::',
    podMask: pods ? bytesToIpv6(ipv6PrefixMask(pods.len)) : '::',
  };
}

export function nodeTopology(model: ClusterModel, node: NodeConfig): NodeTopology {
  return { nodeName: node.nodeName, zone: node.zone ?? model.nodes.get(node.nodeName)?.zone ?? '' };
}

/** What compile accumulates while it programs service ports. */
export interface Output {
  frontends: DesiredFrontend[];
  sets: Map<number, number[]>;
  /** A BackendTable for a full compile; a Map for a partial one (a table sized by the highest id
   *  would be ~1 MiB of columns for the few backends of one Service). */
  backends: Map<number, Backend>;
  services: Map<number, ServicePortInfo>;
  conflicts: ValidationError[];
  maglev: MaglevSummary;
  node: NodeConfig;
}

/** One service port's svc_id, backend sets, frontends (the @kept ones) and description; returns
 *  its svc id (undefined: none left, reported in conflicts). */
export function programPort(
  out: Output,
  ids: IdAllocator,
  svc: Service,
  sp: ServicePort,
  kept: Want[],
  cands: Candidate[],
  where: NodeTopology,
): number | undefined {
  const identity = svcIdentity(svc.namespace, svc.name, sp.name, sp.protocol);
  let svcId: number;
  try {
    svcId = ids.svcId(identity);
  } catch (err) {
    if (!(err instanceof IdExhaustedError)) throw err;
    out.conflicts.push(
      new ValidationError(
        svc.origin,
        'Service',
        svc.namespace,
        svc.name,
        `spec.ports[${sp.index}]`,
        `${err.message}; this port is not programmed`,
        false,
      ),
    );
    return undefined;
  }

  const maglev = (svc.lbAlgorithm ?? out.node.lbAlgorithm ?? 'random') === 'maglev';
  // Backend sets, only the ones some frontend uses; a family's frontends read its endpoints only.
  const setIds: ServicePortInfo['sets'] = {};
  const unslotted: number[] = [];
  for (const w of kept) {
    const slot = setSlot(w.variant, w.key.addr);
    if (setIds[slot] !== undefined) continue;
    const v6 = slot.endsWith('6');
    const family = ofFamily(cands, v6);
    // Traffic policy first: the local set is the local endpoints, topology plays no part in it.
    const chosen =
      w.variant === 'local'
        ? select(
            family.filter((c) => c.local),
            svc.publishNotReadyAddresses,
          )
        : selectCluster(family, svc.publishNotReadyAddresses, where);
    const members = chosen.map((c) => backendId(ids, svcId, c, out.backends));
    const sid = ids.setId(svcId, slot);
    out.sets.set(sid, maglev ? maglevMembers(out, sid, chosen, members, unslotted) : members);
    setIds[slot] = sid;
  }
  if (unslotted.length > 0) dropUnslotted(out, setIds, unslotted);

  const affinityTimeout = svc.sessionAffinity === 'ClientIP' ? svc.sessionAffinityTimeout : 0;
  for (const w of kept) {
    const flags = w.flags | (maglev ? FE_MAGLEV : 0);
    const setId = setIds[setSlot(w.variant, w.key.addr)]!;
    out.frontends.push({ key: w.key, ks: w.ks, svcId, setId, affinityTimeout, flags });
  }
  const info: ServicePortInfo = {
    namespace: svc.namespace,
    name: svc.name,
    portName: sp.name,
    protocol: sp.protocol,
    port: sp.port,
    targetPort: sp.targetPort,
    type: svc.type,
    clusterIP: svc.clusterIPs[0] ?? '',
    affinityTimeout,
    externalTrafficPolicy: svc.externalTrafficPolicy,
    internalTrafficPolicy: svc.internalTrafficPolicy,
    sourceRanges: svc.loadBalancerSourceRanges,
    frontends:
      kept.length === 1 ? [frontendKeyText(kept[0]!.key)] : [...new Set(kept.map((w) => frontendKeyText(w.key)))],
    sets: setIds,
    identity: ids.svcKey(svcId) ?? identity, // the allocator's string: one copy, not one per compile
  };
  if (sp.nodePort !== undefined) info.nodePort = sp.nodePort;
  if (maglev) info.lbAlgorithm = 'maglev';
  out.services.set(svcId, info);
  return svcId;
}

/** @fes by address (numerically), port, protocol and scope. All IPv4 (the common case): on one
 *  number per frontend, not two addresses parsed at each of the ~140,000 comparisons that
 *  10,000 frontends take. */
function byKey(fes: DesiredFrontend[]): DesiredFrontend[] {
  const rest = (a: DesiredFrontend, b: DesiredFrontend) =>
    a.key.port - b.key.port || a.key.proto - b.key.proto || a.key.scope - b.key.scope;
  if (fes.some((f) => f.key.addr.includes(':')))
    return fes.sort((a, b) => compareIp(a.key.addr, b.key.addr) || rest(a, b));
  const ip = Float64Array.from(fes, (f) => ipv4ToInt(f.key.addr));
  const order = Array.from(ip, (_, i) => i).sort((a, b) => ip[a]! - ip[b]! || rest(fes[a]!, fes[b]!));
  return order.map((i) => fes[i]!);
}

/** A Maglev table entry in the map: sy_slot_key (8) + backend_id (4). */
export const MAGLEV_ENTRY_BYTES = 12;

/** A Maglev set's slots: its lookup table, built over the endpoints' addr:port (the same on every
 *  node) and written with this node's backend ids. An empty set stays empty (count 0: reject). */
function maglevMembers(
  out: Output,
  setId: number,
  chosen: Candidate[],
  members: number[],
  unslotted: number[],
): number[] {
  const started = performance.now();
  const size = out.node.maglevTableSize ?? DEFAULT_MAGLEV_TABLE_SIZE;
  const table = maglevTable(
    chosen.map((c) => addrPort(candidateAddr(c), c.port)),
    size,
  );
  const ids = table.map((i) => members[i]!);
  // More endpoints than entries: some get none, and are no desired backend (dropUnslotted).
  if (ids.length > 0 && members.length > ids.length) unslotted.push(...members);
  out.maglev.buildMs += performance.now() - started;
  out.maglev.sets.add(setId);
  out.maglev.entries += ids.length;
  out.maglev.bytes += ids.length * MAGLEV_ENTRY_BYTES;
  return ids;
}

/** Keeps the desired backends exactly those some set names (the incremental compiler finds a
 *  port's backends through its sets): drops those of @handed that no set of the port holds. */
function dropUnslotted(out: Output, setIds: ServicePortInfo['sets'], handed: number[]): void {
  const slotted = new Set(Object.values(setIds).flatMap((id) => (id === undefined ? [] : out.sets.get(id)!)));
  for (const b of handed) if (!slotted.has(b)) out.backends.delete(b);
}

/** @cands of one family: @cands itself when they all are (nearly always). */
function ofFamily(cands: Candidate[], v6: boolean): Candidate[] {
  for (const c of cands) if (c.ip < 0 !== v6) return cands.filter((x) => x.ip < 0 === v6);
  return cands;
}

function backendId(ids: IdAllocator, svcId: number, c: Candidate, backends: Map<number, Backend>): number {
  const id = ids.backendId(svcId, c.v6 ?? '', c.port, c.ip); // the text is read only for IPv6
  const flags = c.local ? BE_LOCAL : 0;
  if (backends instanceof BackendTable)
    backends.put(id, c.ip, c.v6, c.port, flags); // no text made
  else backends.set(id, { addr: candidateAddr(c), port: c.port, flags });
  return id;
}

/** Distinct addresses of this node's ready endpoints of the Service (all of them with
 *  publishNotReadyAddresses): what the health check node port reports. */
export function localReady(svc: Service, model: ClusterModel, node: NodeConfig): number {
  const addrs = new Set<string>();
  for (const slice of model.slicesByService.get(svc.key) ?? []) {
    const eps = slice.endpoints;
    for (let i = 0; i < eps.length; i++) {
      if (node.nodeName !== '' && eps.nodeName(i) === node.nodeName && (eps.ready(i) || svc.publishNotReadyAddresses))
        addrs.add(eps.address(i));
    }
  }
  return addrs.size;
}
