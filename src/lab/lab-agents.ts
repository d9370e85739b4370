// The lab's processes: the API server double and one agent per node, started detached inside
// their namespaces (they outlive the CLI command that started them), looked at through /healthz
// and /metrics on the node's loopback, and restarted with the flags they were first given.
import { pollUntil } from '../util/poll.js';
import { join } from 'node:path';
import { metricValue, mountsUnder, nsHttpGet, sleep, spawnDetached, stopPid } from './lab-procs.js';
import { API_PORT, HEALTHZ, LabError, METRICS, NODE_BIN, REPO_ROOT, pidAlive, type AgentState } from './lab-state.js';
import { mountBpffs } from './namespaces.js';
import { API_ADDRESS, CONTROL_PLANE_NODE, POD_CIDR, SERVICE_CIDR } from './topology.js';
import { cgroupOf } from './cgroups.js';
import { writeFileSync } from 'node:fs';
import { kubeconfigFor } from '../fakeapi/server.js';
import { KUBERNETES_CLUSTER_IP, KUBERNETES_PORT } from './kubernetes-svc.js';
import { POD_CIDR6, SERVICE_CIDR6, hasIpv6 } from './dualstack.js';
import type { Lab } from './lab.js';
import { AGENT_NODE_FLAGS } from '../util/agent-node-flags.js';

const CLI = join(REPO_ROOT, 'dist/cli/main.js');
const API_MAIN = join(REPO_ROOT, 'dist/fakeapi/main.js');

export const elapsed = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

/** Where the API server keeps its objects, so a restart keeps them as etcd would. */
export const apiStateFile = (lab: Lab) => join(lab.st.stateDir, 'api-state.json');

export async function startApiServer(lab: Lab): Promise<void> {
  const { st } = lab;
  st.apiServer.pid = spawnDetached(
    lab.node(CONTROL_PLANE_NODE).ns,
    [
      NODE_BIN,
      API_MAIN,
      '--host',
      API_ADDRESS,
      '--port',
      String(API_PORT),
      '--socket',
      st.apiServer.socket,
      '--token',
      st.apiServer.token,
      '--state',
      apiStateFile(lab),
    ],
    st.apiServer.log,
    undefined,
    cgroupOf(st, CONTROL_PLANE_NODE),
  );
  lab.save();
  if (!(await pollUntil(() => lab.api.healthy(), 10_000))) {
    throw new LabError(`the API server did not answer on ${st.apiServer.socket} in 10 s; log: ${st.apiServer.log}`);
  }
}

/**
 * How an agent reaches the API server. With socket LB (a lab with cgroups), as in a real cluster:
 * its kubeconfig names the `kubernetes` ClusterIP, --apiserver-host the API server's own address
 * for the bootstrap; the agent moves to the ClusterIP once it serves it (src/agent/api-route.ts).
 * Without, the API server's address directly.
 */
function apiArgs(lab: Lab): string[] {
  const { st } = lab;
  if (!st.cgroup) return ['--kubeconfig', st.apiServer.kubeconfig];
  const kubeconfig = join(st.stateDir, 'agent-kubeconfig');
  const viaService = `http://${KUBERNETES_CLUSTER_IP}:${KUBERNETES_PORT}`;
  writeFileSync(kubeconfig, kubeconfigFor(viaService, st.apiServer.token), { mode: 0o600 });
  return ['--kubeconfig', kubeconfig, '--apiserver-host', API_ADDRESS, '--apiserver-port', String(API_PORT)];
}

function agentArgv(lab: Lab, node: string, pinDir: string): string[] {
  return [
    NODE_BIN,
    ...AGENT_NODE_FLAGS,
    CLI,
    'agent',
    ...apiArgs(lab),
    '--hostname-override',
    node,
    '--pod-devices',
    `${lab.st.prefix}p*`,
    '--devices',
    'eth0',
    // No Service may claim a pod's, a Service's or a node's address as an externalIP.
    '--cluster-cidr',
    hasIpv6(lab.st.ipFamily) ? `${POD_CIDR},${POD_CIDR6}` : POD_CIDR,
    '--service-cluster-ip-range',
    hasIpv6(lab.st.ipFamily) ? `${SERVICE_CIDR},${SERVICE_CIDR6}` : SERVICE_CIDR,
    '--pin-dir',
    pinDir,
    '--healthz-bind-address',
    HEALTHZ,
    '--metrics-bind-address',
    METRICS,
    // The lab's cgroup, as the agent sees it from inside its namespace (cgroups.ts).
    // Socket LB for each node's own namespace (`lab exec NODE` and host-network pods reach
    // Services) and, with `all` (lab up's default), its pods' too. Both nodes attach to the one
    // lab cgroup; the netns cookies keep them apart.
    ...(lab.st.cgroup ? ['--cgroup-root', lab.st.cgroup.visible, '--socket-lb', lab.st.socketLb ?? 'host'] : []),
  ];
}

/** Starts the node's agent; a restarted one keeps its pins, its log and its exact command. */
export function startAgent(lab: Lab, node: string): AgentState {
  const info = lab.node(node);
  const prev = lab.st.agents[node];
  const pinDir = prev?.pinDir ?? join(lab.st.stateDir, `bpf-${node}`);
  if (mountsUnder(pinDir).length === 0) mountBpffs(pinDir);
  const argv = prev?.argv ?? agentArgv(lab, node, pinDir);
  const log = prev?.log ?? join(lab.st.stateDir, `agent-${node}.log`);
  const agent: AgentState = {
    pid: spawnDetached(info.ns, argv, log, undefined, cgroupOf(lab.st, node)),
    argv,
    pinDir,
    log,
    startedAt: new Date().toISOString(),
  };
  lab.st.agents[node] = agent;
  return agent;
}

export interface AgentHealth {
  running: boolean;
  healthy: boolean;
  status?: number;
  body?: Record<string, unknown>;
}

export function agentHealth(lab: Lab, node: string): AgentHealth {
  const agent = lab.st.agents[node];
  const running = pidAlive(agent?.pid);
  if (!running) return { running, healthy: false };
  const r = nsHttpGet(lab.node(node).ns, `http://${HEALTHZ}/healthz`);
  if (!r) return { running, healthy: false };
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(r.body) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return { running, healthy: r.status === 200, status: r.status, body };
}

export function agentMetrics(lab: Lab, node: string): string | undefined {
  if (!pidAlive(lab.st.agents[node]?.pid)) return undefined;
  const r = nsHttpGet(lab.node(node).ns, `http://${METRICS}/metrics`);
  return r?.status === 200 ? r.body : undefined;
}

/**
 * Waits until every running agent took a change made at `sinceMs` into its maps: it queued a
 * sync after that time and finished one after the queueing (kube-proxy's two timestamps).
 */
export async function waitAgentsSynced(lab: Lab, sinceMs: number, timeoutMs = 5000): Promise<boolean> {
  const nodes = lab.st.nodes.filter((n) => pidAlive(lab.st.agents[n.name]?.pid)).map((n) => n.name);
  const synced = () =>
    nodes.every((n) => {
      const text = agentMetrics(lab, n);
      const queued = text && metricValue(text, 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds');
      const done = text && metricValue(text, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds');
      return !!queued && !!done && queued * 1000 >= sinceMs - 1 && done >= queued;
    });
  if (!(await pollUntil(synced, timeoutMs, 50))) return false;
  // A sync already running when the change came in also ends after it: give the follow-up
  // sync (at most one min-sync-period later) its time, then check again.
  await sleep(150);
  return pollUntil(synced, timeoutMs, 50);
}

/** SIGTERM, wait for it to exit, start it again with the same flags, wait for /healthz. The
 *  programs stay attached and the maps pinned meanwhile, so traffic keeps flowing. */
export async function restartAgent(
  lab: Lab,
  node: string,
): Promise<{ oldPid: number; newPid: number; downMs: number }> {
  lab.node(node);
  const old = lab.st.agents[node];
  if (!old) throw new LabError(`no agent recorded for ${node}`);
  const t0 = Date.now();
  lab.say(`stopping agent on ${node} (PID ${old.pid}, SIGTERM)`);
  if (!(await stopPid(old.pid, 10_000))) throw new LabError(`agent PID ${old.pid} on ${node} would not stop`);
  lab.say(`agent on ${node} stopped after ${elapsed(t0)}; programs stay attached, maps pinned in ${old.pinDir}`);
  const agent = startAgent(lab, node);
  lab.save();
  if (!(await pollUntil(() => agentHealth(lab, node).healthy, 30_000, 100))) {
    throw new LabError(`agent on ${node} (PID ${agent.pid}) did not become healthy in 30 s; log: ${agent.log}`);
  }
  const downMs = Date.now() - t0;
  lab.say(`agent on ${node} started again: PID ${agent.pid}, healthy after ${elapsed(t0)}`);
  return { oldPid: old.pid, newPid: agent.pid, downMs };
}

/**
 * SIGTERM the API server, start it again on its state file. The agents' watches break and
 * relist: they resync to the same objects and rewrite nothing, while traffic flows from the
 * maps as it was.
 */
export async function restartApiServer(lab: Lab): Promise<{ oldPid: number; newPid: number; downMs: number }> {
  const oldPid = lab.st.apiServer.pid;
  const t0 = Date.now();
  lab.say(`stopping the API server (PID ${oldPid}, SIGTERM); its objects are in ${apiStateFile(lab)}`);
  if (!(await stopPid(oldPid, 10_000))) throw new LabError(`API server PID ${oldPid} would not stop`);
  await startApiServer(lab);
  const downMs = Date.now() - t0;
  lab.say(`API server started again: PID ${lab.st.apiServer.pid}, answering after ${elapsed(t0)}`);
  return { oldPid, newPid: lab.st.apiServer.pid, downMs };
}
