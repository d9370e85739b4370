// What the lab does in place of Kubernetes' controllers, as pure functions: reading manifests
// (Deployments are the lab's own kind; Services, EndpointSlices and Nodes go to the API server),
// allocating cluster IPs and node ports like the API server, naming pods like a ReplicaSet, and
// the EndpointSlice controller: pods (labels, readiness, node) → slices of every selecting Service.
import { applyHints } from './hints.js';
import { createHash, randomInt } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../fakeapi/server.js';
import { isApiKind } from '../model/kinds.js';
import { CLUSTER_DNS } from './pod-env.js';
import { LabError, POD_PORTS, type DeploymentState, type PodState } from './lab-state.js';

export interface ManifestDoc {
  file: string;
  index: number;
  object: KubeObject;
}

/** Every object of a file or of the *.yaml/*.yml/*.json files of a directory; Lists unfolded. */
export function readManifests(path: string): ManifestDoc[] {
  let files: string[];
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((f) => /\.(ya?ml|json)$/.test(f))
          .sort()
          .map((f) => join(path, f))
      : [path];
  } catch (err) {
    throw new LabError(
      `${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
    );
  }
  const out: ManifestDoc[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    docs.forEach((doc, index) => {
      if (doc.errors.length > 0)
        throw new LabError(`${file}: document ${index + 1}: ${doc.errors[0].message.split('\n')[0]}`);
      const value = doc.toJS() as unknown;
      if (value === null || value === undefined) return;
      const items =
        (value as { kind?: string }).kind === 'List' ? ((value as { items?: unknown[] }).items ?? []) : [value];
      for (const item of items) {
        if (!item || typeof item !== 'object' || typeof (item as KubeObject).kind !== 'string') {
          throw new LabError(`${file}: document ${index + 1}: not a Kubernetes object (no kind)`);
        }
        const obj = item as KubeObject;
        if (!obj.metadata || typeof obj.metadata.name !== 'string' || !obj.metadata.name) {
          throw new LabError(`${file}: document ${index + 1}: ${obj.kind} without metadata.name`);
        }
        if (obj.kind !== 'Deployment' && !isApiKind(obj.kind)) {
          throw new LabError(
            `${file}: ${obj.kind} ${obj.metadata.name}: the lab knows Deployment (its pods), Service, Endpoints, EndpointSlice and Node`,
          );
        }
        out.push({ file, index, object: obj });
      }
    });
  }
  return out;
}

// ---- Deployments and pods -------------------------------------------------------------------------

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});

function stringMap(v: unknown, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj(v))) {
    if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean')
      throw new LabError(`${where}.${k}: expected a string`);
    out[k] = String(val);
  }
  return out;
}

/**
 * An apps/v1 Deployment as the lab understands it: replicas, selector.matchLabels, the template's
 * labels, and a version — the `version` label of the template if any, else the tag of the first
 * container's image (ikubernetes/myapp:v1 → v1). Every pod runs dist/lab/podserver.js, which
 * serves the named ports http (80/TCP) and echo (5353/UDP) whatever the manifest says — except
 * the image switchyard/kube-dns, whose pods run the cluster DNS (dist/lab/dns/server.js).
 */
export function parseDeployment(doc: ManifestDoc): DeploymentState {
  const o = doc.object;
  const where = `${doc.file}: Deployment ${o.metadata.name}`;
  const spec = obj(o.spec);
  const template = obj(spec.template);
  const labels = stringMap(obj(template.metadata).labels, `${where}: spec.template.metadata.labels`);
  if (Object.keys(labels).length === 0)
    throw new LabError(`${where}: spec.template.metadata.labels: give the pods at least one label`);
  const selector = stringMap(obj(spec.selector).matchLabels, `${where}: spec.selector.matchLabels`);
  for (const [k, v] of Object.entries(selector)) {
    if (labels[k] !== v)
      throw new LabError(`${where}: spec.selector.matchLabels ${k}=${v} does not match the template's labels`);
  }
  const replicas = spec.replicas === undefined ? 1 : Number(spec.replicas);
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > 50)
    throw new LabError(`${where}: spec.replicas: expected 0..50 (got ${String(spec.replicas)})`);
  const containers = Array.isArray(obj(template.spec).containers) ? (obj(template.spec).containers as unknown[]) : [];
  const image = String(obj(containers[0]).image ?? '');
  const tag = /:([^:/@]+)$/.exec(image)?.[1];
  const version = labels.version ?? tag ?? 'v1';
  const namespace = o.metadata.namespace || 'default';
  const program = /^switchyard\/kube-dns(:|$)/.test(image) ? 'dns' : 'podserver';
  const args = (Array.isArray(obj(containers[0]).args) ? (obj(containers[0]).args as unknown[]) : []).map(String);
  const bind = /^--bind=(.+)$/.exec(args.find((a) => a.startsWith('--bind=')) ?? '')?.[1];
  const hostNetwork = parseHostNetwork(template, containers[0], where);
  if (hostNetwork && program !== 'podserver')
    throw new LabError(
      `${where}: spec.template.spec.hostNetwork: the lab runs only the pod server on the host network`,
    );
  const hostTag = hostNetwork ? `/host:${hostNetwork.tcp}/${hostNetwork.udp}` : '';
  return {
    namespace,
    name: o.metadata.name,
    replicas,
    selector: Object.keys(selector).length ? selector : labels,
    labels,
    version,
    program,
    ...(bind ? { bind } : {}),
    ...(hostNetwork ? { hostNetwork } : {}),
    templateHash: templateHash(
      labels,
      version + (program === 'dns' ? '/dns' : '') + (bind ? `@${bind}` : '') + hostTag,
    ),
  };
}

/** hostNetwork: true → the ports its pods take on the node: the first container's TCP
 *  containerPort (required: it is what the Service targets) and UDP one (default: the same number). */
function parseHostNetwork(template: Raw, container: unknown, where: string): DeploymentState['hostNetwork'] {
  const hostNetwork = obj(template.spec).hostNetwork;
  if (hostNetwork === undefined || hostNetwork === false) return undefined;
  if (hostNetwork !== true)
    throw new LabError(`${where}: spec.template.spec.hostNetwork: expected true or false (got ${String(hostNetwork)})`);
  const ports = (Array.isArray(obj(container).ports) ? (obj(container).ports as unknown[]) : []).map(obj);
  const portOf = (proto: string) =>
    ports.find((p) => String(p.protocol ?? 'TCP') === proto && p.containerPort !== undefined)?.containerPort;
  const tcp = Number(portOf('TCP'));
  if (!Number.isInteger(tcp) || tcp < 1 || tcp > 65535)
    throw new LabError(
      `${where}: spec.template.spec.containers[0].ports: a host-network pod needs a TCP containerPort (1..65535) to serve on the node address`,
    );
  const udpRaw = portOf('UDP');
  const udp = udpRaw === undefined ? tcp : Number(udpRaw);
  if (!Number.isInteger(udp) || udp < 1 || udp > 65535)
    throw new LabError(
      `${where}: spec.template.spec.containers[0].ports: UDP containerPort ${String(udpRaw)} is no port`,
    );
  return { tcp, udp };
}

// The alphabet Kubernetes uses for generated names (no vowels, no look-alikes).
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

export function templateHash(labels: Record<string, string>, version: string): string {
  const h = createHash('sha256')
    .update(JSON.stringify([Object.entries(labels).sort(), version]))
    .digest();
  return Array.from(h.subarray(0, 10), (b) => SAFE[b % SAFE.length]).join('');
}

export function randomSuffix(n = 5): string {
  return Array.from({ length: n }, () => SAFE[randomInt(SAFE.length)]).join('');
}

/** myapp-deploy-<template hash>-<5 random>, as a ReplicaSet names its pods. */
export function podName(dep: DeploymentState, taken: (name: string) => boolean): string {
  for (;;) {
    const name = `${dep.name}-${dep.templateHash}-${randomSuffix()}`;
    if (!taken(name)) return name;
  }
}

export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

// ---- the API server's allocators ------------------------------------------------------------------

const SERVICE_CIDR_BASE = [10, 96]; // 10.96.0.0/16, kubeadm's default service range
const NODE_PORT_RANGE = [30000, 32767];

/** Fills what the API server would: a cluster IP (unless headless or ExternalName), node ports
 *  for NodePort/LoadBalancer ports without one. Keeps what an existing object already has. */
export function allocateService(svc: KubeObject, existing: KubeObject[]): KubeObject {
  const out = structuredClone(svc);
  const spec = (out.spec ??= {}) as Raw;
  const type = (spec.type as string | undefined) ?? 'ClusterIP';
  const others = existing.filter(
    (e) =>
      !(
        e.metadata.name === out.metadata.name &&
        (e.metadata.namespace || 'default') === (out.metadata.namespace || 'default')
      ),
  );
  const previous = existing.find((e) => !others.includes(e));
  if (type !== 'ExternalName' && !spec.clusterIP && !(Array.isArray(spec.clusterIPs) && spec.clusterIPs.length)) {
    const prevIp = obj(previous?.spec).clusterIP as string | undefined;
    const used = new Set(others.map((e) => obj(e.spec).clusterIP as string | undefined));
    let ip = prevIp && prevIp !== 'None' ? prevIp : undefined;
    for (let n = 10; !ip && n < 65534; n++) {
      const candidate = `${SERVICE_CIDR_BASE[0]}.${SERVICE_CIDR_BASE[1]}.${n >> 8}.${n & 255}`;
      // 10.96.0.10 is the cluster DNS' (kube-dns.yaml asks for it), as in kubeadm's layout.
      if (!used.has(candidate) && candidate !== CLUSTER_DNS) ip = candidate;
    }
    spec.clusterIP = ip;
  }
  if (type === 'NodePort' || type === 'LoadBalancer') {
    const used = new Set<number>();
    for (const e of others)
      for (const p of (obj(e.spec).ports as Raw[] | undefined) ?? []) if (p.nodePort) used.add(Number(p.nodePort));
    const prevPorts = (obj(previous?.spec).ports as Raw[] | undefined) ?? [];
    const ports = (spec.ports as Raw[] | undefined) ?? [];
    // Ports the manifest names itself are taken before any is handed out, whatever their order.
    for (const p of ports) if (p.nodePort) used.add(Number(p.nodePort));
    for (const p of ports) {
      if (p.nodePort) continue;
      const same = prevPorts.find((q) => q.port === p.port && (q.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
      let port = same?.nodePort ? Number(same.nodePort) : 0;
      for (let n = NODE_PORT_RANGE[0]; !port && n <= NODE_PORT_RANGE[1]; n++) if (!used.has(n)) port = n;
      p.nodePort = port;
      used.add(port);
    }
  }
  return out;
}

// ---- the EndpointSlice controller -----------------------------------------------------------------

export const MANAGED_BY = 'switchyard-lab';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
const HEADLESS_LABEL = 'service.kubernetes.io/headless';
const TRIGGER_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

/** A Service port's targetPort on a lab pod: a number, a named pod port, or the port itself. */
export function resolveTargetPort(port: Raw): number | undefined {
  const target = port.targetPort;
  if (target === undefined || target === null || target === '') return Number(port.port);
  if (typeof target === 'number' || /^\d+$/.test(String(target))) return Number(target);
  const protocol = (port.protocol as string | undefined) ?? 'TCP';
  return POD_PORTS.find((p) => p.name === target && p.protocol === protocol)?.port;
}

export function sliceNameOf(service: string): string {
  const h = createHash('sha256').update(service).digest();
  return `${service}-${Array.from(h.subarray(0, 5), (b) => SAFE[b % SAFE.length]).join('')}`;
}

/**
 * The slices the lab keeps: one per Service with a selector (ExternalName has none), holding every
 * pod it selects that has an address — ready, or terminating with serving kept as Kubernetes does.
 * Ports are the Service's, with the targetPort resolved on the pods; a named targetPort no pod
 * has is left out, so that port has no endpoints. Headless Services get slices too (DNS would use
 * them) with the headless label, which kube-proxy's selector — and ours — skips.
 */
export function desiredSlices(
  services: KubeObject[],
  pods: PodState[],
  zones: Record<string, string> = {},
): KubeObject[] {
  const slices: KubeObject[] = [];
  for (const svc of services) {
    const spec = obj(svc.spec);
    if (spec.type === 'ExternalName') continue;
    const selector = spec.selector ? stringMap(spec.selector, 'selector') : undefined;
    if (!selector || Object.keys(selector).length === 0) continue; // endpoints are the user's to write
    const namespace = svc.metadata.namespace || 'default';
    const ports: Raw[] = [];
    for (const p of (spec.ports as Raw[] | undefined) ?? []) {
      const port = resolveTargetPort(p);
      if (port === undefined) continue;
      ports.push({
        name: (p.name as string | undefined) ?? '',
        port,
        protocol: (p.protocol as string | undefined) ?? 'TCP',
      });
    }
    const endpoints = pods
      .filter(
        (p) =>
          p.namespace === namespace && p.phase !== 'Failed' && p.phase !== 'Pending' && selects(selector, p.labels),
      )
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((p) => {
        const terminating = p.phase === 'Terminating';
        return {
          addresses: [p.ip],
          conditions: { ready: p.ready && !terminating, serving: p.ready, terminating },
          nodeName: p.node,
          ...(zones[p.node] ? { zone: zones[p.node] } : {}),
          targetRef: { kind: 'Pod', namespace: p.namespace, name: p.name },
        };
      });
    applyHints(endpoints, spec.trafficDistribution);
    const labels: Record<string, string> = { [SERVICE_NAME_LABEL]: svc.metadata.name, [MANAGED_BY_LABEL]: MANAGED_BY };
    if (spec.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: sliceNameOf(svc.metadata.name),
        namespace,
        labels,
        ownerReferences: [
          { apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, uid: svc.metadata.uid, controller: true },
        ],
      },
      addressType: 'IPv4',
      ports,
      endpoints,
    });
  }
  return slices;
}

/** Slice content that matters (not metadata the server stamps): to write only real changes. */
export function sliceContent(s: KubeObject): string {
  return JSON.stringify([s.metadata.labels ?? {}, s.ports ?? [], s.endpoints ?? []]);
}

export function stampTrigger(s: KubeObject, when: Date): KubeObject {
  s.metadata.annotations = {
    ...(s.metadata.annotations as Record<string, string> | undefined),
    [TRIGGER_ANNOTATION]: when.toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  return s;
}

export function isManagedSlice(s: KubeObject): boolean {
  return s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
}
