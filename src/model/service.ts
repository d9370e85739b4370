// Service: raw JSON → validated, normalized Service. Mirrors the API server's own validation where
// it matters to a proxy, so a manifest accepted here would also be accepted by kubectl apply.
import { Checker, DNS_LABEL, exact, isIanaSvcName, isObject, show, type FieldProblem, type Raw } from './check.js';
import { sharedList } from '../util/shared-names.js';
import { readClusterIPs, sharedFamilies } from './cluster-ips.js';
import {
  DEFAULT_AFFINITY_TIMEOUT,
  MAX_AFFINITY_TIMEOUT,
  type Protocol,
  type Service,
  type ServicePort,
  type ServiceType,
  type SessionAffinity,
  type TrafficPolicy,
} from './types.js';

/** One object through a parser: the value when it is valid, and every problem found (by field). */
export interface ParseResult<T> {
  value?: T;
  namespace: string;
  name: string;
  problems: FieldProblem[];
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** A Service's name is a DNS-1035 label: it becomes a DNS name and environment variables. */
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

const SERVICE_TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const POLICIES: readonly TrafficPolicy[] = ['Cluster', 'Local'];
const AFFINITIES: readonly SessionAffinity[] = ['None', 'ClientIP'];
const SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';
/** Per-Service backend selection; Cilium's name is accepted too, so a migrated manifest keeps its meaning. */
export const LB_ALGORITHM_ANNOTATIONS = ['switchyard.io/lb-algorithm', 'service.cilium.io/lb-algorithm'] as const;
export const LB_ALGORITHMS = ['random', 'maglev'] as const;

/** metadata.name (required) and metadata.namespace (default "default", or '' when cluster-scoped). */
export function readMetadata(
  c: Checker,
  raw: Raw,
  namespaced: boolean,
): { namespace: string; name: string; meta: Raw } {
  const meta = c.object(raw.metadata, 'metadata') ?? {};
  let name = '';
  if (typeof meta.name === 'string' && meta.name !== '') name = meta.name;
  else c.fail('metadata.name', `is required: a non-empty string (got ${show(meta.name)})`);
  // The API server enforces these; a manifest directory does not, and a name out of shape would
  // not fit the pinned service_info name or a log line's object.
  if (name !== '' && (name.length > 253 || !DNS_SUBDOMAIN.test(name))) {
    c.fail(
      'metadata.name',
      `must be a lowercase DNS subdomain of at most 253 characters (got ${show(name.slice(0, 80))}${name.length > 80 ? '...' : ''})`,
    );
  }
  const namespace = namespaced ? c.string(meta.namespace, 'metadata.namespace', 'default') || 'default' : '';
  if (namespaced && !DNS_LABEL.test(namespace)) {
    c.fail(
      'metadata.namespace',
      `must be a lowercase DNS label of at most 63 characters (got ${show(namespace.slice(0, 80))})`,
    );
  }
  return { namespace, name, meta };
}

/** What every kind's parser starts with: an object, its metadata, labels and annotations. A
 *  non-object is rejected at once (`rejected`); otherwise the checker carries on collecting. */
export function readHead(
  input: unknown,
  namespaced: boolean,
):
  | {
      c: Checker;
      raw: Raw;
      namespace: string;
      name: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
    }
  | { rejected: ParseResult<never> } {
  const c = new Checker();
  if (!isObject(input)) {
    c.fail('', `must be an object (got ${show(input)})`);
    return { rejected: { namespace: '', name: '', problems: c.problems } };
  }
  const { namespace, name, meta } = readMetadata(c, input, namespaced);
  const labels = c.stringMap(meta.labels, 'metadata.labels') ?? {};
  const annotations = c.stringMap(meta.annotations, 'metadata.annotations') ?? {};
  return { c, raw: input, namespace, name, labels, annotations };
}

/** A protocol a proxy can program: TCP or UDP. SCTP is valid Kubernetes but not supported here. */
export function readProtocol(c: Checker, value: unknown, field: string): Protocol | undefined {
  if (value === undefined || value === null || value === '') return 'TCP';
  if (value === 'TCP' || value === 'UDP') return value;
  if (value === 'SCTP') return c.fail(field, 'SCTP is not supported (TCP or UDP)');
  return c.fail(field, `must be TCP or UDP (got ${show(value)})`);
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: reads the Service fields one after another in API order; each read is one to three lines
export function parseService(input: unknown, origin: string): ParseResult<Service> {
  const head = readHead(input, true);
  if ('rejected' in head) return head.rejected;
  const { c, raw, namespace, name, labels, annotations } = head;
  if (name !== '' && !DNS_1035_LABEL.test(name) && c.problems.every((p) => p.field !== 'metadata.name')) {
    c.fail(
      'metadata.name',
      `a Service name must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter, at most 63 characters (got ${show(name)})`,
    );
  }
  const spec = c.object(raw.spec, 'spec') ?? {};
  const status = c.object(raw.status, 'status') ?? {};
  const type = c.oneOf(spec.type, 'spec.type', SERVICE_TYPES, 'ClusterIP');

  const { headless, clusterIPs, externalName, ipFamilies, ipFamilyPolicy } = readClusterIPs(c, spec, type);
  const ports = readPorts(c, spec.ports, type);

  const sessionAffinity = c.oneOf(spec.sessionAffinity, 'spec.sessionAffinity', AFFINITIES, 'None');
  const affCfg = c.object(spec.sessionAffinityConfig, 'spec.sessionAffinityConfig') ?? {};
  const clientIP = c.object(affCfg.clientIP, 'spec.sessionAffinityConfig.clientIP') ?? {};
  const sessionAffinityTimeout =
    c.int(clientIP.timeoutSeconds, 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', 1, MAX_AFFINITY_TIMEOUT) ??
    DEFAULT_AFFINITY_TIMEOUT;

  const externalTrafficPolicy = c.oneOf(spec.externalTrafficPolicy, 'spec.externalTrafficPolicy', POLICIES, 'Cluster');
  const internalTrafficPolicy = c.oneOf(spec.internalTrafficPolicy, 'spec.internalTrafficPolicy', POLICIES, 'Cluster');

  const externalIPs: string[] = [];
  (c.array(spec.externalIPs, 'spec.externalIPs') ?? []).forEach((v, i) => {
    const ip = c.ip(v, `spec.externalIPs[${i}]`);
    if (ip && !externalIPs.includes(ip.addr)) externalIPs.push(ip.addr);
  });

  // status.loadBalancer.ingress[].ip; hostname-only entries and ipMode Proxy (the LB proxies to
  // the node itself, KEP-1860) are not programmed, as in kube-proxy.
  const loadBalancerIPs: string[] = [];
  const lb = c.object(status.loadBalancer, 'status.loadBalancer') ?? {};
  (c.array(lb.ingress, 'status.loadBalancer.ingress') ?? []).forEach((entry, i) => {
    const e = c.object(entry, `status.loadBalancer.ingress[${i}]`);
    if (!e || e.ip === undefined || e.ip === null || e.ip === '' || e.ipMode === 'Proxy') return;
    const ip = c.ip(e.ip, `status.loadBalancer.ingress[${i}].ip`);
    if (ip && !loadBalancerIPs.includes(ip.addr)) loadBalancerIPs.push(ip.addr);
  });

  // The field, or (like kube-proxy) the legacy annotation when the field is empty.
  const loadBalancerSourceRanges: string[] = [];
  let ranges = c.array(spec.loadBalancerSourceRanges, 'spec.loadBalancerSourceRanges') ?? [];
  let rangesField = 'spec.loadBalancerSourceRanges';
  if (ranges.length === 0 && annotations[SOURCE_RANGES_ANNOTATION]) {
    ranges = annotations[SOURCE_RANGES_ANNOTATION]
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    rangesField = `metadata.annotations[${SOURCE_RANGES_ANNOTATION}]`;
  }
  ranges.forEach((v, i) => {
    const r = c.cidr(v, `${rangesField}[${i}]`);
    if (r) loadBalancerSourceRanges.push(r.cidr);
  });

  const hc = c.int(
    spec.healthCheckNodePort === 0 ? undefined : spec.healthCheckNodePort,
    'spec.healthCheckNodePort',
    1,
    65535,
  );
  const publishNotReadyAddresses = c.bool(spec.publishNotReadyAddresses, 'spec.publishNotReadyAddresses') ?? false;
  const algoKey = LB_ALGORITHM_ANNOTATIONS.find((k) => annotations[k] !== undefined);
  const lbAlgorithm =
    algoKey && c.oneOf(annotations[algoKey], `metadata.annotations[${algoKey}]`, LB_ALGORITHMS, 'random');

  if (!c.ok || !type || !ports || !sessionAffinity || !externalTrafficPolicy || !internalTrafficPolicy) {
    return { namespace, name, problems: c.problems };
  }
  const service: Service = {
    origin,
    namespace,
    name,
    key: [namespace, '/', name].join(''), // flat, not a rope: see svcIdentity
    type,
    headless,
    clusterIPs: exact(clusterIPs),
    ipFamilies: sharedFamilies(ipFamilies),
    ipFamilyPolicy,
    // Shared with every Service of the same ports (frozen; util/shared-names.ts sharedList).
    ports: sharedList(JSON.stringify(ports), ports),
    sessionAffinity,
    sessionAffinityTimeout,
    externalTrafficPolicy,
    internalTrafficPolicy,
    externalIPs: exact(externalIPs),
    loadBalancerIPs: exact(loadBalancerIPs),
    loadBalancerSourceRanges: exact(loadBalancerSourceRanges),
    publishNotReadyAddresses,
    labels: sharedLabels(labels),
    // In the literal, even when undefined: a field added afterwards goes to a separate properties
    // array (~40 bytes more per Service), and the API server sets creationTimestamp on every one.
    createdAt: creationTime(raw),
  };
  if (externalName !== undefined) service.externalName = externalName;
  if (hc !== undefined) service.healthCheckNodePort = hc;
  if (lbAlgorithm) service.lbAlgorithm = lbAlgorithm;
  return { value: service, namespace, name, problems: [] };
}

/** metadata.creationTimestamp (RFC 3339, set by the API server), or undefined when absent or
 *  unreadable: it only orders claims, so a bad one is not worth rejecting the Service for. */
function creationTime(raw: Raw): number | undefined {
  const meta = isObject(raw.metadata) ? raw.metadata : {};
  const t = typeof meta.creationTimestamp === 'string' ? Date.parse(meta.creationTimestamp) : Number.NaN;
  return Number.isFinite(t) ? t : undefined;
}

function readPorts(c: Checker, value: unknown, type: ServiceType | undefined): ServicePort[] | undefined {
  const list = c.array(value, 'spec.ports');
  if (!list) return undefined;
  const ports: ServicePort[] = [];
  const before = c.problems.length;
  list.forEach((entry, i) => {
    const f = `spec.ports[${i}]`;
    const p = c.object(entry, f);
    if (!p) return;
    const name = c.string(p.name, `${f}.name`, '');
    if (name && !DNS_LABEL.test(name))
      c.fail(`${f}.name`, `must be a lowercase DNS label such as "http" (got ${show(name)})`);
    if (name === '' && list.length > 1) c.fail(`${f}.name`, 'is required when a Service has more than one port');
    const protocol = readProtocol(c, p.protocol, `${f}.protocol`);
    const port = c.int(p.port, `${f}.port`, 1, 65535, true);
    const targetPort = readTargetPort(c, p.targetPort, `${f}.targetPort`, port);
    // nodePort 0 means "allocate one": nothing to program until the API server has.
    const nodePort = c.int(p.nodePort === 0 ? undefined : p.nodePort, `${f}.nodePort`, 1, 65535);
    if (name === undefined || !protocol || port === undefined || targetPort === undefined) return;
    const sp: ServicePort = { index: i, name, protocol, port, targetPort };
    // Only NodePort and LoadBalancer Services open node ports; elsewhere the field is ignored.
    if (nodePort !== undefined && (type === 'NodePort' || type === 'LoadBalancer')) sp.nodePort = nodePort;
    ports.push(sp);
  });
  if (c.problems.length > before) return undefined;
  // The API server's uniqueness rules: names, (port, protocol) and (nodePort, protocol).
  for (let i = 0; i < ports.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = ports[j],
        b = ports[i],
        f = `spec.ports[${b.index}]`;
      if (a.name === b.name && a.name !== '')
        c.fail(`${f}.name`, `duplicates spec.ports[${a.index}].name ${show(a.name)}`);
      if (a.port === b.port && a.protocol === b.protocol) {
        c.fail(`${f}.port`, `duplicates spec.ports[${a.index}] (${a.port}/${a.protocol})`);
      }
      if (a.nodePort !== undefined && a.nodePort === b.nodePort && a.protocol === b.protocol) {
        c.fail(`${f}.nodePort`, `duplicates spec.ports[${a.index}].nodePort (${a.nodePort}/${a.protocol})`);
      }
    }
  }
  return c.problems.length > before ? undefined : ports;
}

/** IntOrString: absent, 0 or '' → the service port (API server defaulting). */
function readTargetPort(
  c: Checker,
  value: unknown,
  field: string,
  port: number | undefined,
): number | string | undefined {
  if (value === undefined || value === null || value === 0 || value === '') return port;
  if (typeof value === 'number') return c.int(value, field, 1, 65535);
  if (typeof value === 'string') {
    if (isIanaSvcName(value)) return value;
    if (/^\d+$/.test(value)) {
      return c.fail(
        field,
        `must be an integer 1..65535 or a port name (got ${show(value)}: write the number without quotes)`,
      );
    }
    return c.fail(field, `must be an integer 1..65535 or an IANA service name like "http" (got ${show(value)})`);
  }
  return c.fail(field, `must be an integer 1..65535 or a port name (got ${show(value)})`);
}

/** One frozen object for every Service without labels (most of a generated cluster's, and 56
 *  bytes each for its whole life), as exact() shares the empty list. */
const NO_LABELS: Record<string, string> = Object.freeze({});
const sharedLabels = (labels: Record<string, string>) => {
  for (const _ in labels) return labels;
  return NO_LABELS;
};
