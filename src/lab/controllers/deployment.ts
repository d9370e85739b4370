// The lab's Deployment controller: keeps each Deployment's pods at its replicas (placed by
// placement.ts, replaced when their process dies), rolls them to a new template once the new
// pods are ready, and retires pods the way Kubernetes does: out of the slices first, agents
// synced, then stopped.
import { pollUntil } from '../../util/poll.js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { podName } from '../lab-objects.js';
import { listening, spawnDetached, stopPid, tcAttached } from '../lab-procs.js';
import type { KubeObject } from '../../fakeapi/server.js';
import { removePodEtc, serviceEnv, writePodEtc } from '../pod-env.js';
import {
  DNS_PORT,
  NODE_BIN,
  POD_PORTS,
  REPO_ROOT,
  pidAlive,
  type DeploymentState,
  type PodState,
} from '../lab-state.js';
import { createPod as createPodNetwork, deleteNamespace } from '../namespaces.js';
import { placeHostPod, placePod } from '../placement.js';
import { cgroupOf, createCgroup, podMember, removeCgroup } from '../cgroups.js';
import { addPodIpv6, hasIpv6, podIpv6 } from '../dualstack.js';
import { elapsed, waitAgentsSynced } from '../lab-agents.js';
import type { Lab } from '../lab.js';
import { syncSlices } from './endpointslice.js';

const PODSERVER = join(REPO_ROOT, 'dist/lab/podserver.js');
const DNS_SERVER = join(REPO_ROOT, 'dist/lab/dns/server.js');

export const depKey = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * Brings the pods to what the Deployments ask and the slices to what the pods are:
 * 1. pods whose process died are Failed; pods of a gone Deployment, surplus pods and Failed ones
 *    are to terminate; missing pods (of the Deployment's current template) are created;
 * 2. new pods become ready once they listen and the node's agent has a program on their veth;
 * 3. pods of an older template terminate once the new ones are all ready (a rolling update);
 * 4. terminating pods leave the slices (ready=false, terminating) → the agents sync → they stop.
 * `now` skips waiting for the agents in step 4 (a crash, not a graceful delete).
 */
export async function reconcile(lab: Lab, opts: { now?: boolean } = {}): Promise<void> {
  failDeadPods(lab);
  const t0 = Date.now();
  const services = await lab.api.list('Service'); // for the new pods' environment
  const created = scaleDeployments(lab, services);
  lab.save();
  if (created.length) {
    await Promise.all(
      created.map(async (p) => {
        p.ready = await pollUntil(() => podReady(lab, p), 20_000, 100);
      }),
    );
    for (const p of created)
      lab.say(
        `pod/${p.name} ${p.ready ? 'ready' : 'NOT ready after 20 s'} on ${p.node}, ${p.ip}${p.ready ? '' : ` (log: ${p.log})`}`,
      );
    lab.say(`${created.length} pod(s) started in ${elapsed(t0)}`);
  }
  // Pods that were not ready at the last look (agent away, slow start) are looked at again.
  for (const p of Object.values(lab.st.pods)) if (p.phase === 'Running' && !p.ready) p.ready = podReady(lab, p);
  rollOut(lab);
  lab.save();
  await retireLeaving(lab, await syncSlices(lab), opts.now);
  lab.save();
}

function terminate(lab: Lab, p: PodState, why: string): void {
  if (p.phase === 'Terminating') return;
  p.phase = 'Terminating';
  lab.say(`pod/${p.name} terminating (${why})`);
}

function failDeadPods(lab: Lab): void {
  for (const p of Object.values(lab.st.pods)) {
    if ((p.phase === 'Running' || p.phase === 'Pending') && !pidAlive(p.pid)) {
      p.phase = 'Failed';
      p.ready = false;
      lab.say(`pod/${p.name} has no process any more: Failed, to be replaced`);
    }
  }
}

/** Step 1: orphans, failed and surplus pods terminate; missing pods are created. */
function scaleDeployments(lab: Lab, services: KubeObject[]): PodState[] {
  const { st } = lab;
  const created: PodState[] = [];
  for (const p of Object.values(st.pods)) {
    if (!st.deployments[depKey(p.namespace, p.deployment)]) terminate(lab, p, 'its Deployment is gone');
    if (p.phase === 'Failed') terminate(lab, p, 'failed');
  }
  for (const dep of Object.values(st.deployments)) {
    const current = podsOf(lab, dep, ['Running', 'Pending']).filter((p) => p.templateHash === dep.templateHash);
    // Surplus: not ready first, then the newest (as a ReplicaSet picks).
    current.sort((a, b) => Number(a.ready) - Number(b.ready) || b.createdAt.localeCompare(a.createdAt));
    for (const p of current.slice(0, Math.max(0, current.length - dep.replicas)))
      terminate(lab, p, `scaled to ${dep.replicas}`);
    for (let i = current.length; i < dep.replicas; i++) {
      const pod = createPod(lab, dep, services);
      if (!pod) break;
      created.push(pod);
    }
  }
  return created;
}

/** Step 3: a Deployment whose current template has all its pods ready retires the older ones. */
function rollOut(lab: Lab): void {
  for (const dep of Object.values(lab.st.deployments)) {
    const live = podsOf(lab, dep, ['Running']);
    const current = live.filter((p) => p.templateHash === dep.templateHash);
    if (current.length >= dep.replicas && current.every((p) => p.ready)) {
      for (const p of live) if (p.templateHash !== dep.templateHash) terminate(lab, p, `replaced by ${dep.version}`);
    }
  }
}

/** Step 4: the slices no longer list terminating pods as ready (written at `changedAt`); once
 *  the agents have that in their maps, the pods stop, and their slice entries go. */
async function retireLeaving(lab: Lab, changedAt: number | undefined, now?: boolean): Promise<void> {
  const leaving = Object.values(lab.st.pods).filter((p) => p.phase === 'Terminating');
  if (!leaving.length) return;
  if (changedAt !== undefined && !now && !(await waitAgentsSynced(lab, changedAt))) {
    lab.say('warning: an agent did not confirm the endpoint change in 5 s; stopping the pods anyway');
  }
  for (const p of leaving) await destroyPod(lab, p);
  lab.save();
  await syncSlices(lab);
  lab.say(`${leaving.length} pod(s) gone: ${leaving.map((p) => p.name).join(', ')}`);
}

function podsOf(lab: Lab, dep: DeploymentState, phases: PodState['phase'][]): PodState[] {
  return Object.values(lab.st.pods).filter(
    (p) => p.deployment === dep.name && p.namespace === dep.namespace && phases.includes(p.phase),
  );
}

function createPod(lab: Lab, dep: DeploymentState, services: KubeObject[]): PodState | undefined {
  const { st } = lab;
  const name = podName(dep, (n) => n in st.pods);
  if (dep.hostNetwork) return createHostPod(lab, dep, name);
  const slots = Object.values(st.pods).map((p) => ({
    node: p.node,
    ip: p.ip,
    deployment: p.deployment,
    active: p.phase !== 'Terminating' && p.phase !== 'Failed',
  }));
  const at = placePod(st.nodes, slots, { deployment: dep.name, nextHost: st.nextHost });
  st.nextHost[at.node] = at.host + 1;
  const index = st.nextPodIndex++;
  const pod: PodState = {
    namespace: dep.namespace,
    name,
    deployment: dep.name,
    templateHash: dep.templateHash,
    labels: { ...dep.labels },
    version: dep.version,
    node: at.node,
    ip: at.ip,
    netns: `${st.prefix}-${name}`,
    hostIf: `${st.prefix}p${index}`,
    index,
    log: join(st.stateDir, 'pods', `${name}.log`),
    ready: false,
    phase: 'Pending',
    createdAt: new Date().toISOString(),
  };
  st.pods[name] = pod;
  lab.save(); // the namespace and cgroup are about to exist: down must know them
  createPodNetwork(lab.node(at.node).ns, pod.netns, pod.hostIf, pod.ip);
  const cgroup = cgroupOf(st, podMember(name));
  if (cgroup) createCgroup(cgroup);
  if (hasIpv6(st.ipFamily)) addPodIpv6(lab.node(at.node).ns, pod.netns, pod.hostIf, podIpv6(pod.ip));
  writePodEtc(pod.netns, pod.namespace);
  const argv =
    dep.program === 'dns'
      ? [
          NODE_BIN,
          DNS_SERVER,
          '--socket',
          st.apiServer.socket,
          '--token',
          st.apiServer.token,
          '--port',
          String(DNS_PORT),
        ]
      : [NODE_BIN, PODSERVER, name, dep.version, '80', '5353', dep.bind ?? '0.0.0.0'];
  pod.program = dep.program;
  // The kubelet's environment: a clean one (not the CLI's) with the Services' variables.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOSTNAME: name, ...serviceEnv(services, pod.namespace) };
  pod.pid = spawnDetached(pod.netns, argv, pod.log, env, cgroup);
  pod.phase = 'Running';
  return pod;
}

/** A host-network pod: the pod server in the node's namespace, on the node address, in a cgroup
 *  of its own. No veth, no address of its own, no resolv.conf: the node's. */
function createHostPod(lab: Lab, dep: DeploymentState, name: string): PodState | undefined {
  const { st } = lab;
  const ports = dep.hostNetwork!;
  const held = Object.values(st.pods).map((p) => ({
    node: p.node,
    ip: p.ip,
    deployment: p.deployment,
    active: p.phase !== 'Terminating' && p.phase !== 'Failed',
    hostPorts: p.hostNetwork && p.phase !== 'Failed' ? [p.hostNetwork.tcp, p.hostNetwork.udp] : [],
  }));
  const at = placeHostPod(st.nodes, held, dep.name, [ports.tcp, ports.udp]);
  if (!at) {
    lab.say(
      `deployment/${dep.name}: no node has ports ${ports.tcp}/TCP and ${ports.udp}/UDP free (host network: one pod per node per port); a pod stays unscheduled`,
    );
    return undefined;
  }
  const node = lab.node(at.name);
  const pod: PodState = {
    namespace: dep.namespace,
    name,
    deployment: dep.name,
    templateHash: dep.templateHash,
    labels: { ...dep.labels },
    version: dep.version,
    program: dep.program,
    hostNetwork: ports,
    node: node.name,
    ip: node.address,
    netns: node.ns,
    hostIf: '',
    index: st.nextPodIndex++,
    log: join(st.stateDir, 'pods', `${name}.log`),
    ready: false,
    phase: 'Pending',
    createdAt: new Date().toISOString(),
  };
  st.pods[name] = pod;
  lab.save();
  const cgroup = cgroupOf(st, podMember(name));
  if (cgroup) createCgroup(cgroup);
  const argv = [NODE_BIN, PODSERVER, name, dep.version, String(ports.tcp), String(ports.udp), node.address];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOSTNAME: node.name };
  pod.pid = spawnDetached(pod.netns, argv, pod.log, env, cgroup);
  pod.phase = 'Running';
  return pod;
}

/** Ready: the pod serves HTTP and UDP, and its veth carries the data path (or replies to
 *  Service traffic would leave untranslated), which the agent attaches within a device scan. */
function podReady(lab: Lab, p: PodState): boolean {
  if (p.hostNetwork) return !!p.pid && pidAlive(p.pid) && listening(p.pid, p.hostNetwork.tcp, p.hostNetwork.udp);
  if (p.program === 'dns')
    return (
      !!p.pid && pidAlive(p.pid) && listening(p.pid, DNS_PORT, DNS_PORT) && tcAttached(lab.node(p.node).ns, p.hostIf)
    );
  const http = POD_PORTS.find((x) => x.protocol === 'TCP')!.port;
  const udp = POD_PORTS.find((x) => x.protocol === 'UDP')!.port;
  return !!p.pid && pidAlive(p.pid) && listening(p.pid, http, udp) && tcAttached(lab.node(p.node).ns, p.hostIf);
}

export async function destroyPod(lab: Lab, p: PodState): Promise<void> {
  await stopPid(p.pid, 2000);
  const cgroup = cgroupOf(lab.st, podMember(p.name));
  if (cgroup) removeCgroup(cgroup);
  // A host-network pod's namespace is its node's.
  if (!p.hostNetwork) {
    deleteNamespace(p.netns);
    removePodEtc(p.netns);
  }
  rmSync(p.log, { force: true });
  delete lab.st.pods[p.name];
}
