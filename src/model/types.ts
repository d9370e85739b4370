// The normalized model: what the rest of the control plane may trust. Every value here has been
// validated by src/model (addresses are canonical IPv4 or IPv6 text (RFC 5952), ports are integers in range, enums
// hold one of their listed values), so compile and the CLI never re-check input.
import type { EndpointList } from './endpoint-list.js';

export type Protocol = 'TCP' | 'UDP';
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
export type TrafficPolicy = 'Cluster' | 'Local';
export type SessionAffinity = 'None' | 'ClientIP';
export type IpFamily = 'IPv4' | 'IPv6';
export type IpFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';

/** kube-apiserver's default for sessionAffinityConfig.clientIP.timeoutSeconds (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT = 10800;
export const MAX_AFFINITY_TIMEOUT = 86400;

export interface ServicePort {
  /** Position in spec.ports, so later checks can name the field (spec.ports[i]...). */
  index: number;
  /** '' when the Service has a single unnamed port. */
  name: string;
  protocol: Protocol;
  port: number;
  /** A port number, or an IANA_SVC_NAME naming a container port (resolved through EndpointSlices). */
  targetPort: number | string;
  nodePort?: number;
}

export interface Service {
  origin: string;
  namespace: string;
  name: string;
  /** "namespace/name" */
  key: string;
  type: ServiceType;
  /** clusterIP "None": DNS only, nothing to program. */
  headless: boolean;
  /** Cluster IPs, primary first, at most one per family. Empty when headless, ExternalName, or
   *  not allocated. */
  clusterIPs: string[];
  /** spec.ipFamilies (or, when absent, the families of clusterIPs), primary first. */
  ipFamilies: IpFamily[];
  ipFamilyPolicy: IpFamilyPolicy;
  externalName?: string;
  ports: ServicePort[];
  sessionAffinity: SessionAffinity;
  /** Seconds; meaningful only with ClientIP affinity (defaults to 10800 either way). */
  sessionAffinityTimeout: number;
  externalTrafficPolicy: TrafficPolicy;
  internalTrafficPolicy: TrafficPolicy;
  externalIPs: string[];
  /** status.loadBalancer.ingress[].ip, either family. */
  loadBalancerIPs: string[];
  /** Validated CIDRs "addr/n", either family (IPv6 canonical). */
  loadBalancerSourceRanges: string[];
  healthCheckNodePort?: number;
  publishNotReadyAddresses: boolean;
  labels: Record<string, string>;
  /** Annotation switchyard.io/lb-algorithm (or service.cilium.io/lb-algorithm); absent: the agent's
   *  --lb-algorithm. */
  lbAlgorithm?: 'random' | 'maglev';
  /** metadata.creationTimestamp in ms since the epoch, when given: the older Service keeps a
   *  frontend two Services claim. Absent in most manifests. */
  createdAt?: number;
}

export interface EndpointPort {
  name: string;
  port: number;
  protocol: Protocol;
}

export interface Endpoint {
  /** addresses[0]: the only one kube-proxy uses. */
  address: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
  zone?: string;
  /** hints.forZones[].name and hints.forNodes[].name (topology-aware routing); absent: no hints. */
  zoneHints?: string[];
  nodeHints?: string[];
}

export interface EndpointSlice {
  origin: string;
  /** addressType: every endpoint address is of this family. */
  addressType: IpFamily;
  namespace: string;
  name: string;
  /** From label kubernetes.io/service-name. */
  serviceName: string;
  /** "namespace/serviceName": the Service this slice belongs to. */
  serviceKey: string;
  ports: EndpointPort[];
  /** Kept as columns (endpoint-list.ts); EndpointList.from makes one from Endpoint objects. */
  endpoints: EndpointList;
  /** Annotation endpoints.kubernetes.io/last-change-trigger-time, for sync-latency metrics. */
  lastChangeTriggerTime?: Date;
}

export interface NodeAddress {
  type: 'InternalIP' | 'ExternalIP';
  address: string;
}

export interface Node {
  origin: string;
  name: string;
  addresses: NodeAddress[];
  /** Label topology.kubernetes.io/zone, when set: the zone hints this node follows. */
  zone?: string;
}

export interface ClusterModel {
  /** "namespace/name" → Service. */
  services: Map<string, Service>;
  /** "namespace/serviceName" → the IPv4 and IPv6 slices of that Service, sorted by slice name. A Service's
   *  slices are merged by compile; slices whose Service is absent are kept (the Service may come). */
  slicesByService: Map<string, EndpointSlice[]>;
  nodes: Map<string, Node>;
  /** lastChangeTriggerTime of every slice that has one: the pipeline turns them into the
   *  "change seen → programmed" latency metric. */
  triggerTimes: Date[];
}

/** A problem with one object (or one field of it). `rejected` says whether the whole object was
 *  skipped (true) or kept with that one part not working (false, e.g. an unresolvable targetPort). */
export class ValidationError {
  constructor(
    readonly origin: string,
    readonly kind: string,
    readonly namespace: string,
    readonly name: string,
    readonly field: string,
    readonly message: string,
    readonly rejected: boolean = true,
  ) {}

  /** e.g. `manifests/web.yaml: Service default/web: spec.ports[1].port: must be an integer 1..65535 (got 0)` */
  describe(): string {
    const who = this.namespace ? `${this.namespace}/${this.name || '<unnamed>'}` : this.name || '<unnamed>';
    const field = this.field ? `${this.field}: ` : '';
    return `${this.origin}: ${this.kind} ${who}: ${field}${this.message}`;
  }

  toString(): string {
    return this.describe();
  }
}
