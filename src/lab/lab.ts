// The lab: a two-node cluster of namespaces with the API server double and one agent per node.
// This file is the handle every `switchyard lab …` command opens (its state, lookups, exec into a
// target) and the start of its lifecycle, `up`. The rest is split by role: lab-agents.ts (the
// processes), lab-apply.ts (apply/delete/scale/kill-pod), controllers/ (the Deployment and
// EndpointSlice controllers), lab-teardown.ts (down) and lab-status.ts (status). Every command is
// a fresh process: it loads the state file, does its work under the lab's lock, saves.
import { pollUntil } from '../util/poll.js';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubeconfigFor, DEFAULT_TOKEN } from '../fakeapi/server.js';
import { LabApi } from './lab-api.js';
import * as agents from './lab-agents.js';
import * as objects from './lab-apply.js';
import { readManifests, type ManifestDoc } from './lab-objects.js';
import { mountsUnder, spawnDetached } from './lab-procs.js';
import { teardown } from './lab-teardown.js';
import {
  API_PORT,
  EXAMPLES_DIR,
  LabError,
  NODE_BIN,
  REPO_ROOT,
  checkName,
  loadState,
  pidAlive,
  prefixOf,
  requireState,
  saveState,
  stateDirOf,
  withLock,
  type DeploymentState,
  type LabSocketLb,
  type LabState,
  type PodState,
} from './lab-state.js';
import { FIRST_HOST } from './placement.js';
import {
  API_ADDRESS,
  CONTROL_PLANE_NODE,
  EXTERNAL_ADDRESS,
  createTopology,
  namespacesOf,
  type NodeInfo,
} from './topology.js';
import { cgroupOf, createLabCgroups, inCgroup, podMember } from './cgroups.js';
import { kubernetesService, kubernetesSlice } from './kubernetes-svc.js';
import { ZONE_LABEL } from '../model/endpointslice.js';
import { DEFAULT_IP_FAMILY, addTopologyIpv6, hasIpv6, nodeIpv6, podCidr6, type LabIpFamily } from './dualstack.js';

export type Say = (line: string) => void;
export const quiet: Say = () => {};

const PROBE = join(REPO_ROOT, 'dist/lab/probe.js');
const PODSERVER = join(REPO_ROOT, 'dist/lab/podserver.js');
const NODE_COUNT = 2;
/** node1 zone-a, node2 zone-b: topology-aware routing has two zones to choose between. */
export const DEFAULT_ZONES = ['zone-a', 'zone-b'];

/** A new lab's state before anything exists: every name is derived from the lab's name. */
function newState(name: string): LabState {
  const prefix = prefixOf(name);
  const stateDir = stateDirOf(name);
  return {
    version: 1,
    name,
    prefix,
    stateDir,
    createdAt: new Date().toISOString(),
    underlayNs: `${prefix}-underlay`,
    externalNs: `${prefix}-external`,
    externalAddress: EXTERNAL_ADDRESS,
    nodes: [],
    apiServer: {
      pid: 0,
      url: `http://${API_ADDRESS}:${API_PORT}`,
      socket: join(stateDir, 'api.sock'),
      kubeconfig: join(stateDir, 'kubeconfig'),
      log: join(stateDir, 'apiserver.log'),
      token: DEFAULT_TOKEN,
    },
    agents: {},
    deployments: {},
    pods: {},
    nextPodIndex: 1,
    nextHost: {},
  };
}

export class Lab {
  readonly api: LabApi;

  private constructor(
    readonly st: LabState,
    readonly say: Say,
  ) {
    this.api = new LabApi(st.apiServer.socket, st.apiServer.token);
  }

  /** The lab NAME as it is now (its state file must exist). */
  static open(name: string, say: Say = quiet): Lab {
    return new Lab(requireState(checkName(name)), say);
  }

  save(): void {
    saveState(this.st);
  }

  // ---- up -------------------------------------------------------------------------------------

  static async up(
    name: string,
    opts: { examples?: boolean; zones?: string[]; ipFamily?: LabIpFamily; socketLb?: LabSocketLb; say?: Say } = {},
  ): Promise<Lab> {
    checkName(name);
    const say = opts.say ?? quiet;
    const strays = namespacesOf(prefixOf(name));
    if (strays.length > 0 && !existsSync(stateDirOf(name))) {
      // No state dir, so no lab made them (up makes it first): they may be another tool's. Ask, don't delete.
      throw new LabError(
        `namespaces ${strays.join(' ')} exist but lab "${name}" has no state in ${stateDirOf(name)}; ` +
          `use another --name, or remove them with \`switchyard lab down --name ${name}\` if they are a lab's`,
      );
    }
    return withLock(
      name,
      async () => {
        const t0 = Date.now();
        const existing = loadState(name);
        if (existing && pidAlive(existing.apiServer.pid)) {
          // Up is where the user wants to be: say so and carry on (make lab may run twice).
          say(
            `lab "${name}" is already up (since ${existing.createdAt}, state in ${existing.stateDir}); \`switchyard lab down${name === 'lab' ? '' : ` --name ${name}`}\` first for a fresh one`,
          );
          return new Lab(existing, say);
        }
        if (existing || mountsUnder(stateDirOf(name)).length > 0) {
          say(`cleaning up what a previous lab "${name}" left behind`);
          await teardown(name, quiet, { keepLock: true });
        }
        const stateDir = stateDirOf(name);
        mkdirSync(join(stateDir, 'pods'), { recursive: true });
        const st = newState(name);
        st.ipFamily = opts.ipFamily ?? DEFAULT_IP_FAMILY;
        st.socketLb = opts.socketLb ?? 'all';
        const lab = new Lab(st, say);
        try {
          await lab.start(opts.examples !== false, opts.zones ?? DEFAULT_ZONES);
          say(
            `lab "${name}" is up in ${agents.elapsed(t0)}: ${Object.keys(st.pods).length} pods, state in ${st.stateDir}`,
          );
          return lab;
        } catch (err) {
          say(`lab up failed: ${(err as Error).message}`);
          say(
            `logs are in ${stateDir}; \`switchyard lab down${name === 'lab' ? '' : ` --name ${name}`}\` removes what was made`,
          );
          throw err;
        }
      },
      { create: true },
    );
  }

  /** Up's work once the lab's state exists: namespaces, API server and Nodes, agents, examples. */
  private async start(examples: boolean, zones: string[]): Promise<void> {
    const { st } = this;
    this.save(); // before the first namespace: down must find this lab even if up dies half way
    const topo = createTopology(st.prefix, NODE_COUNT);
    st.cgroup = createLabCgroups(st.prefix, join(st.stateDir, 'cgroup2'), [
      ...topo.nodes.map((n) => n.name),
      'external',
    ]);
    this.save();
    this.say(`cgroups: ${st.cgroup.dir} (one per node, the external host and each pod)`);
    if (hasIpv6(st.ipFamily)) addTopologyIpv6(topo.nodes, topo.externalNs);
    // Node i is in zones[i-1]; with fewer zones than nodes the last one takes the rest.
    st.nodes = topo.nodes.map((n, i) => ({ ...n, zone: zones[Math.min(i, zones.length - 1)] ?? '' }));
    for (const n of st.nodes) st.nextHost[n.name] = FIRST_HOST;
    this.save();
    this.say(
      `namespaces: ${st.underlayNs} (bridge), ${st.nodes.map((n) => `${n.ns} (${n.address})`).join(', ')}, ${st.externalNs} (${EXTERNAL_ADDRESS})`,
    );

    await agents.startApiServer(this);
    this.say(`API server: ${st.apiServer.url} (PID ${st.apiServer.pid}), admin socket ${st.apiServer.socket}`);
    writeFileSync(st.apiServer.kubeconfig, kubeconfigFor(st.apiServer.url, st.apiServer.token), { mode: 0o600 });
    for (const n of st.nodes) {
      await this.api.apply({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: n.name,
          labels: { 'kubernetes.io/hostname': n.name, ...(n.zone ? { [ZONE_LABEL]: n.zone } : {}) },
        },
        spec: { podCIDR: n.podCidr, podCIDRs: [n.podCidr] },
        status: {
          addresses: [
            { type: 'InternalIP', address: n.address },
            ...(hasIpv6(st.ipFamily) ? [{ type: 'InternalIP', address: nodeIpv6(n.index) }] : []),
            { type: 'Hostname', address: n.name },
          ],
        },
      });
    }
    // As the API server does in a real cluster: the Service pods reach it through.
    await this.api.apply(kubernetesService(API_PORT));
    await this.api.apply(kubernetesSlice(CONTROL_PLANE_NODE, API_ADDRESS, API_PORT));
    const zoneOf = (n: NodeInfo) => (n.zone ? ` zone ${n.zone}` : '');
    const v6 = (n: NodeInfo) => (hasIpv6(st.ipFamily) ? ` ${nodeIpv6(n.index)} pods ${podCidr6(n.index)}` : '');
    this.say(
      `nodes (${st.ipFamily}): ${st.nodes.map((n) => `${n.name} ${n.address} pods ${n.podCidr}${v6(n)}${zoneOf(n)}`).join(', ')}`,
    );

    // A server outside the cluster (the pod server, named "external"): the Endpoints example's backend.
    st.externalServerPid = spawnDetached(
      st.externalNs,
      [NODE_BIN, PODSERVER, 'external', 'v1', '80', '5353'],
      join(st.stateDir, 'external-server.log'),
      undefined,
      cgroupOf(st, 'external'),
    );
    for (const n of st.nodes) agents.startAgent(this, n.name);
    this.save();
    for (const n of st.nodes) {
      const ok = await pollUntil(() => agents.agentHealth(this, n.name).healthy, 30_000, 200);
      if (!ok) throw new LabError(`agent on ${n.name} did not become healthy in 30 s; log: ${st.agents[n.name].log}`);
      this.say(`agent on ${n.name}: PID ${st.agents[n.name].pid}, healthy, pins in ${st.agents[n.name].pinDir}`);
    }
    if (examples) {
      this.say(`applying the examples in ${EXAMPLES_DIR}`);
      await this.applyDocs(readManifests(EXAMPLES_DIR));
    }
  }

  node(name: string) {
    const n = this.st.nodes.find((x) => x.name === name);
    if (!n)
      throw new LabError(
        `no node "${name}" in lab "${this.st.name}" (nodes: ${this.st.nodes.map((x) => x.name).join(', ')})`,
      );
    return n;
  }

  deployment(name: string): DeploymentState {
    const matches = Object.values(this.st.deployments).filter(
      (d) => d.name === name || `${d.namespace}/${d.name}` === name,
    );
    if (matches.length !== 1) {
      throw new LabError(
        matches.length
          ? `"${name}" names a Deployment in several namespaces; say NAMESPACE/NAME`
          : `no Deployment "${name}" in the lab (have: ${
              Object.values(this.st.deployments)
                .map((d) => d.name)
                .join(', ') || 'none'
            })`,
      );
    }
    return matches[0];
  }

  pod(name: string): PodState {
    const pod = this.st.pods[name];
    if (!pod) throw new LabError(`no pod "${name}" in the lab (\`switchyard lab status\` lists them)`);
    return pod;
  }

  // ---- the commands, each in the file of its role -------------------------------------------------

  applyDocs(docs: ManifestDoc[]): Promise<void> {
    return objects.applyDocs(this, docs);
  }
  deleteDocs(docs: ManifestDoc[]): Promise<void> {
    return objects.deleteDocs(this, docs);
  }
  scale(name: string, replicas: number): Promise<void> {
    return objects.scale(this, name, replicas);
  }
  killPod(name: string, opts: { now?: boolean } = {}): Promise<void> {
    return objects.killPod(this, name, opts);
  }
  restartAgent(node: string) {
    return agents.restartAgent(this, node);
  }
  restartApiServer() {
    return agents.restartApiServer(this);
  }
  agentHealth(node: string): agents.AgentHealth {
    return agents.agentHealth(this, node);
  }
  agentMetrics(node: string): string | undefined {
    return agents.agentMetrics(this, node);
  }

  // ---- exec ------------------------------------------------------------------------------------------

  /** The namespace (and cgroup) of a pod, a Deployment (its first ready pod), a node, "external" or
   *  "underlay"; "apiserver" is the control-plane node. */
  namespaceOf(target: string): { ns: string; what: string; cgroup?: string } {
    const { st } = this;
    if (target === 'external' || target === 'client-external')
      return { ns: st.externalNs, what: `the external client ${st.externalAddress}`, cgroup: cgroupOf(st, 'external') };
    if (target === 'underlay') return { ns: st.underlayNs, what: 'the underlay' };
    const node = st.nodes.find((n) => n.name === (target === 'apiserver' ? CONTROL_PLANE_NODE : target));
    if (node) return { ns: node.ns, what: `node ${node.name}`, cgroup: cgroupOf(st, node.name) };
    const pod = st.pods[target];
    if (pod) return { ns: pod.netns, what: `pod ${pod.name}`, cgroup: cgroupOf(st, podMember(pod.name)) };
    const byDep = Object.values(st.pods)
      .filter((p) => p.deployment === target && p.phase === 'Running' && p.ready)
      .sort((a, b) => a.name.localeCompare(b.name));
    if (byDep.length)
      return { ns: byDep[0].netns, what: `pod ${byDep[0].name}`, cgroup: cgroupOf(st, podMember(byDep[0].name)) };
    throw new LabError(`"${target}" is no pod, Deployment, node, "external" or "underlay" of lab "${st.name}"`);
  }

  /** Runs a command inside a target's namespace, with the terminal; "probe …" runs the lab's probe. */
  exec(target: string, argv: string[]): Promise<number> {
    const { ns, cgroup } = this.namespaceOf(target);
    if (argv.length === 0) throw new LabError('nothing to run: lab exec NAME -- COMMAND [ARGS...]');
    const cmd = argv[0] === 'probe' ? [NODE_BIN, PROBE, ...argv.slice(1)] : argv;
    // In the target's cgroup too, as a process of that node or pod would be.
    const full = ['ip', 'netns', 'exec', ns, ...cmd];
    const [bin, ...args] = cgroup && existsSync(cgroup) ? inCgroup(cgroup, full) : full;
    return new Promise((resolve, reject) => {
      const child = spawn(bin, args, { stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  }
}

export { listLabs, teardown, type TeardownReport } from './lab-teardown.js';
