// `lab status`: everything a person or a script needs to drive the lab, in one object — nodes
// (namespace, address, agent PID and health, pin dir for `switchyard inspect`), pods, Services
// with their endpoints as the lab's slices hold them, the API server, the state dir.
import { describeHints } from './hints.js';
import { existsSync } from 'node:fs';
import type { Lab } from './lab.js';
import { describeService } from './lab-apply.js';
import { metricValue, tcAttached } from './lab-procs.js';
import { REPO_ROOT, pidAlive } from './lab-state.js';

/** The object the lab's agents load (their --bpf-object default). */
const DATA_PATH_OBJECT = `${REPO_ROOT}/build/bpf/switchyard.o`;
import { hasProgram } from './lab-elf.js';
import { addrPort } from '../net/ipv6.js';

interface SliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean };
}

export interface NodeStatus {
  name: string;
  namespace: string;
  address: string;
  podCidr: string;
  /** topology.kubernetes.io/zone ('' when the lab gave none). */
  zone: string;
  pinDir: string;
  agent: {
    pid: number;
    running: boolean;
    /** "ok", "unhealthy (HTTP 503)", "no answer" or "not running". */
    health: string;
    healthz?: Record<string, unknown>;
    /** Service ports the last sync programmed (switchyard_service_ports). */
    servicePorts?: number;
    /** Whether a program sits on eth0 (from_netdev: NodePort from outside). */
    uplinkAttached: boolean;
    log: string;
    argv: string[];
    startedAt: string;
  };
}

export interface PodStatus {
  name: string;
  namespace: string;
  deployment: string;
  node: string;
  ip: string;
  ready: boolean;
  phase: string;
  version: string;
  labels: Record<string, string>;
  netns: string;
  hostIf: string;
  /** A host-network pod: `ip` is its node's address, `netns` the node's; no veth. */
  hostNetwork?: boolean;
  pid?: number;
  createdAt: string;
  log: string;
}

export interface ServiceStatus {
  name: string;
  namespace: string;
  type: string;
  clusterIP: string;
  /** spec.clusterIPs: both families' in a dual-stack lab. */
  clusterIPs?: string[];
  /** Ready endpoints of the IPv6 slices, "[ip]:port" (endpoints holds the IPv4 ones). */
  endpoints6?: string[];
  externalName?: string;
  ports: Array<{ name: string; port: number; targetPort: string | number; protocol: string; nodePort?: number }>;
  selector?: Record<string, string>;
  sessionAffinity: string;
  /** Ready endpoints "ip:port" (first port), as the slices hold them. */
  endpoints: string[];
  /** spec.trafficDistribution, when set. */
  trafficDistribution?: string;
  /** "ip:port" → the endpoint's hints ("forZones=zone-a forNodes=node1"), for the hinted ones. */
  hints: Record<string, string>;
  summary: string;
}

export interface LabStatus {
  name: string;
  prefix: string;
  stateDir: string;
  stateFile: string;
  createdAt: string;
  apiServer: { pid: number; running: boolean; url: string; socket: string; kubeconfig: string; log: string };
  nodes: NodeStatus[];
  external: { namespace: string; address: string };
  underlay: { namespace: string };
  /** The lab's cgroup v2 (absent in labs made before cgroups): as the host and the agents see it. */
  cgroup?: { dir: string; visible: string };
  deployments: Array<{
    name: string;
    namespace: string;
    replicas: number;
    ready: number;
    version: string;
    selector: Record<string, string>;
  }>;
  pods: PodStatus[];
  services: ServiceStatus[];
  dataPath: { object: string; fromNetdev: boolean };
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: gathers each part of LabStatus in its field order
export async function labStatus(lab: Lab): Promise<LabStatus> {
  const { st } = lab;
  const apiUp = pidAlive(st.apiServer.pid);
  const [services, slices] = apiUp
    ? await Promise.all([lab.api.list('Service'), lab.api.list('EndpointSlice')]).catch(() => [[], []])
    : [[], []];
  const nodes: NodeStatus[] = st.nodes.map((n) => {
    const a = st.agents[n.name];
    const h = lab.agentHealth(n.name);
    const metrics = h.running ? lab.agentMetrics(n.name) : undefined;
    return {
      name: n.name,
      namespace: n.ns,
      address: n.address,
      podCidr: n.podCidr,
      zone: n.zone ?? '',
      pinDir: a?.pinDir ?? '',
      agent: {
        pid: a?.pid ?? 0,
        running: h.running,
        health: !h.running ? 'not running' : h.healthy ? 'ok' : h.status ? `unhealthy (HTTP ${h.status})` : 'no answer',
        healthz: h.body,
        servicePorts: metrics ? metricValue(metrics, 'switchyard_service_ports') : undefined,
        uplinkAttached: tcAttached(n.ns, 'eth0'),
        log: a?.log ?? '',
        argv: a?.argv ?? [],
        startedAt: a?.startedAt ?? '',
      },
    };
  });
  const pods: PodStatus[] = Object.values(st.pods)
    .sort(
      (a, b) =>
        a.deployment.localeCompare(b.deployment) || a.node.localeCompare(b.node) || a.name.localeCompare(b.name),
    )
    .map((p) => ({
      name: p.name,
      namespace: p.namespace,
      deployment: p.deployment,
      node: p.node,
      ip: p.ip,
      ready: p.ready && p.phase === 'Running' && pidAlive(p.pid),
      phase: p.phase === 'Running' && !pidAlive(p.pid) ? 'Failed' : p.phase,
      version: p.version,
      labels: p.labels,
      netns: p.netns,
      hostIf: p.hostIf,
      ...(p.hostNetwork ? { hostNetwork: true } : {}),
      pid: p.pid,
      createdAt: p.createdAt,
      log: p.log,
    }));
  const svcs: ServiceStatus[] = services.map((s) => {
    const spec = (s.spec ?? {}) as Record<string, unknown>;
    const ports = ((spec.ports as Array<Record<string, unknown>> | undefined) ?? []).map((p) => ({
      name: (p.name as string | undefined) ?? '',
      port: Number(p.port),
      targetPort: (p.targetPort as string | number | undefined) ?? Number(p.port),
      protocol: (p.protocol as string | undefined) ?? 'TCP',
      ...(p.nodePort ? { nodePort: Number(p.nodePort) } : {}),
    }));
    const mine = slices.filter(
      (x) =>
        x.metadata.namespace === s.metadata.namespace &&
        x.metadata.labels?.['kubernetes.io/service-name'] === s.metadata.name,
    );
    const endpoints: string[] = [];
    const endpoints6: string[] = [];
    const hints: Record<string, string> = {};
    for (const sl of mine) {
      const port = (sl.ports as Array<{ port: number }> | undefined)?.[0]?.port;
      for (const e of (sl.endpoints as Array<Parameters<typeof describeHints>[0] & SliceEndpoint> | undefined) ?? []) {
        if (e.conditions?.ready === false) continue;
        if (sl.addressType === 'IPv6') {
          endpoints6.push(port ? addrPort(e.addresses[0]!, port) : e.addresses[0]!);
          continue;
        }
        const at = `${e.addresses[0]}${port ? `:${port}` : ''}`;
        endpoints.push(at);
        if (describeHints(e)) hints[at] = describeHints(e);
      }
    }
    const ipKey = (e: string) =>
      e
        .split(/[.:]/)
        .map((x) => x.padStart(5, '0'))
        .join('.');
    endpoints.sort((a, b) => ipKey(a).localeCompare(ipKey(b)));
    return {
      name: s.metadata.name,
      namespace: s.metadata.namespace ?? 'default',
      type: (spec.type as string | undefined) ?? 'ClusterIP',
      clusterIP: (spec.clusterIP as string | undefined) ?? (spec.type === 'ExternalName' ? '' : 'None'),
      ...(Array.isArray(spec.clusterIPs) ? { clusterIPs: spec.clusterIPs as string[] } : {}),
      ...(endpoints6.length > 0 ? { endpoints6 } : {}),
      ...(spec.externalName ? { externalName: spec.externalName as string } : {}),
      ports,
      selector: spec.selector as Record<string, string> | undefined,
      sessionAffinity: (spec.sessionAffinity as string | undefined) ?? 'None',
      endpoints,
      hints,
      summary: describeService(s),
      ...(typeof spec.trafficDistribution === 'string' ? { trafficDistribution: spec.trafficDistribution } : {}),
    };
  });
  return {
    name: st.name,
    prefix: st.prefix,
    stateDir: st.stateDir,
    stateFile: `${st.stateDir}/state.json`,
    createdAt: st.createdAt,
    apiServer: {
      pid: st.apiServer.pid,
      running: apiUp,
      url: st.apiServer.url,
      socket: st.apiServer.socket,
      kubeconfig: st.apiServer.kubeconfig,
      log: st.apiServer.log,
    },
    nodes,
    external: { namespace: st.externalNs, address: st.externalAddress },
    underlay: { namespace: st.underlayNs },
    ...(st.cgroup ? { cgroup: st.cgroup } : {}),
    deployments: Object.values(st.deployments).map((d) => ({
      name: d.name,
      namespace: d.namespace,
      replicas: d.replicas,
      version: d.version,
      selector: d.selector,
      ready: pods.filter((p) => p.deployment === d.name && p.namespace === d.namespace && p.ready).length,
    })),
    pods,
    services: svcs,
    dataPath: {
      object: DATA_PATH_OBJECT,
      fromNetdev: existsSync(DATA_PATH_OBJECT) && hasProgram(DATA_PATH_OBJECT, 'from_netdev'),
    },
  };
}
