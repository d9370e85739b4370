// What compile produces: the desired contents of the data-path maps (minus what only the
// reconciler knows: frontend count/gen and slot generations), plus enough description of each id
// for logs, metrics, the CLI and the restart path to map ids back to Kubernetes objects.
import type { Backend, Config, Config6, FrontendKey } from '../abi/index.js';
import { addrPort } from '../net/ipv6.js';
import type { ExternalAddressPolicy } from './external-ips.js';
import type { Protocol, ServiceType, TrafficPolicy, ValidationError } from '../model/types.js';

export interface NodeConfig {
  /** This node's name: endpoints with this nodeName are local. */
  nodeName: string;
  /** Backend selection for Services without the lb-algorithm annotation (default random). */
  lbAlgorithm?: LbAlgorithm;
  /** Entries of each Maglev table: a prime (default DEFAULT_MAGLEV_TABLE_SIZE). */
  maglevTableSize?: number;
  /** This node's topology.kubernetes.io/zone; undefined: read it from the model's Node named nodeName. */
  zone?: string;
  /** Node addresses NodePorts answer on, both families. */
  nodePortAddresses: string[];
  /** All of this node's addresses, which no externalIP may claim (default: nodePortAddresses). */
  nodeAddresses?: string[];
  /** Which external and load-balancer addresses a Service may claim (default: the "never"
   *  classes only; see external-ips.ts). */
  externalAddressPolicy?: ExternalAddressPolicy;
  /** Where external flows to remote backends are SNATed (the first uplink address); undefined:
   *  the data path uses the frontend address. */
  snatAddress?: string;
  /** The same for IPv6 flows (config6[0]); undefined: '::' (config6 is left as it is when there
   *  is no IPv6 pod range either). */
  snatAddress6?: string;
  /** --cluster-cidr: the pod ranges. The IPv4 one goes into config[0], the IPv6 one into
   *  config6[0], where from_pod uses them to skip Service lookups for pod-to-pod packets
   *  (bpf/switchyard.h, struct sy_config and sy_config6). */
  podCidrs?: string[];
}

/** A frontends-map entry without count/gen (those belong to the reconciler). */
export interface DesiredFrontend {
  key: FrontendKey;
  /** frontendKeyString(key), the claims' own string, when compile made it (read through
   *  desiredKeyString): the plan, the capacity check and the incremental index key by it, and
   *  made afresh for each it was three strings per frontend at a cold start. */
  ks?: string;
  svcId: number;
  setId: number;
  affinityTimeout: number;
  flags: number;
}

export interface ServicePortInfo {
  namespace: string;
  name: string;
  portName: string;
  protocol: Protocol;
  port: number;
  targetPort: number | string;
  type: ServiceType;
  /** Primary cluster IP (either family), '' if none. */
  clusterIP: string;
  nodePort?: number;
  affinityTimeout: number;
  externalTrafficPolicy: TrafficPolicy;
  internalTrafficPolicy: TrafficPolicy;
  /** loadBalancerSourceRanges, on frontends flagged FE_SOURCE_RANGES. */
  sourceRanges: string[];
  /** Every address this port answers on, e.g. '10.96.0.10:80/TCP', in frontend order, deduplicated. */
  frontends: string[];
  /** The backend sets its frontends use (IPv6 frontends: all6/local6). */
  sets: Partial<Record<SetSlot, number>>;
  /** The allocator identity of this svc_id (see svcIdentity). */
  identity: string;
  /** Set only for Maglev: its sets hold lookup tables and its frontends are flagged FE_MAGLEV. */
  lbAlgorithm?: 'maglev';
}

export type LbAlgorithm = 'random' | 'maglev';

/** What the Maglev tables of one compile cost, for the sync log. */
export interface MaglevSummary {
  /** The sets whose members are a Maglev lookup table (written to the maglev map, not slots). */
  sets: Set<number>;
  /** Table entries in all, and their size in the map (key + value bytes, before the kernel's
   *  per-element overhead); twice this while a changed table's two generations coexist. */
  entries: number;
  bytes: number;
  /** Time spent building the tables. */
  buildMs: number;
}

export interface HealthCheckService {
  namespace: string;
  name: string;
  nodePort: number;
  /** Ready endpoints of the Service on this node (distinct addresses). 0 → the health check fails
   *  so load balancers stop sending new traffic here. */
  localEndpoints: number;
}

export interface DesiredState {
  /** Sorted by address (numerically), port, protocol, scope. */
  frontends: DesiredFrontend[];
  /** set_id → backend ids in slot order (slot i+1 = ids[i]); ascending set_id. Only sets a
   *  frontend uses; a set may be empty (count 0: reject, or drop when FE_LOCAL_ONLY). */
  sets: Map<number, number[]>;
  /** backend_id → backend, ascending id; exactly the backends some set names. */
  backends: Map<number, Backend>;
  /** svc_id → description, ascending id. */
  services: Map<number, ServicePortInfo>;
  /** Services with externalTrafficPolicy Local and a healthCheckNodePort, sorted by namespace/name. */
  healthCheck: HealthCheckService[];
  /** Frontends claimed twice (the first Service by namespace/name keeps them) and service ports
   *  dropped for want of ids. */
  conflicts: ValidationError[];
  /** External and load-balancer addresses refused by the address policy, one per Service and
   *  field; the rest of each Service is programmed. */
  refused: ValidationError[];
  /** Present when some set is a Maglev table. */
  maglev?: MaglevSummary;
  /** config[0], from NodeConfig.snatAddress ('0.0.0.0' without one). Undefined: leave the map as it is. */
  config?: Config;
  /** config6[0], from NodeConfig.snatAddress6 and the IPv6 pod range (hairpin '::': the data
   *  path's default source); undefined: leave the map as it is. */
  config6?: Config6;
}

export type SetVariant = 'all' | 'local';
/** A backend set of one service port: its variant, per family (a set holds one family's
 *  endpoints, as the frontends reading it are of one family). */
export type SetSlot = SetVariant | 'all6' | 'local6';

/** The set a frontend of @addr with @variant reads. */
export const setSlot = (variant: SetVariant, addr: string): SetSlot =>
  addr.includes(':') ? (`${variant}6` as const) : variant;

/**
 * A service port's allocator identity; its sets and backends are identified by its id (ids.ts),
 * as "identity#variant" and "identity@addr:port" in text. Kubernetes names hold no '/', ':', '#'
 * or '@', so these never collide. Built with join(''), not a template literal: a template literal
 * makes a rope (a chain of V8 cons strings) that stays a rope as a Map key for the agent's life;
 * join('') makes one flat string.
 */
export function svcIdentity(namespace: string, name: string, portName: string, protocol: Protocol): string {
  return [namespace, '/', name, ':', portName, '/', protocol].join('');
}

/** The identity of a frontend map key, for Maps and diffs: compile, plan and restart recovery
 *  must agree on it byte for byte, so there is one. Flat, as the identities above. */
export const frontendKeyString = (k: FrontendKey) => [addrPort(k.addr, k.port), '/', k.proto, '/', k.scope].join('');

/** A desired frontend's frontendKeyString: the one compile made, else made now. */
export const desiredKeyString = (fe: DesiredFrontend) => fe.ks ?? frontendKeyString(fe.key);

/** What an update changed: every frontend key, set, backend and svc id it removed, added or
 *  rewrote (frontend keys with their new value, undefined when gone). The plan diffs only these. */
export interface CompileScope {
  frontends: Map<string, DesiredFrontend | undefined>;
  sets: Set<number>;
  backends: Set<number>;
  services: Set<number>;
}

/**
 * Gives @desired a `frontends` list built from @byKey when first read, not at every partial
 * compile: copying every frontend of the cluster per change was O(cluster) work, and the partial
 * path reads only its scope's frontends (the list is for the admin status and the next full sync).
 * The next update redefines it; assigning a list replaces it.
 */
export function frontendsWhenRead(desired: DesiredState, byKey: ReadonlyMap<string, DesiredFrontend>): void {
  let list: DesiredFrontend[] | undefined;
  Object.defineProperty(desired, 'frontends', {
    configurable: true,
    enumerable: true,
    get: () => (list ??= [...byKey.values()]),
    set: (v: DesiredFrontend[]) => {
      list = v;
    },
  });
}
