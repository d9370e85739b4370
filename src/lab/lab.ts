// The lab controller: brings the two-node cluster of namespaces up and down, runs the API server
// double and one agent per node as detached processes, and plays the Kubernetes controllers the
// lab needs — Deployments (pods placed over the nodes, replaced when killed, rolled on a new
// version) and the EndpointSlice controller (slices recomputed after every change). Every command
// is a fresh process: it loads the state file, does its work under the lab's lock, saves.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollUntil } from '../util/poll.js';
import { kubeconfigFor, DEFAULT_TOKEN, type KubeObject } from './apiserver.js';
import { LabApi, type LabKind } from './lab-api.js';
import {
  allocateService, desiredSlices, isManagedSlice, parseDeployment, podName, readManifests, sliceContent, stampTrigger,
  type ManifestDoc,
} from './lab-objects.js';
import {
  listening, metricValue, mountsUnder, nsHttpGet, sleep, spawnDetached, stopPid, tcAttached,
} from './lab-procs.js';
import { teardown } from './lab-teardown.js';
import {
  API_PORT, EXAMPLES_DIR, HEALTHZ, LabError, METRICS, NODE_BIN, POD_PORTS, REPO_ROOT, checkName, loadState, pidAlive,
  prefixOf, requireState, saveState, stateDirOf, withLock,
  type AgentState, type DeploymentState, type LabState, type PodState,
} from './lab-state.js';
import { createPod, deleteNamespace, mountBpffs } from './netns.js';
import { API_ADDRESS, EXTERNAL_ADDRESS, createTopology, namespacesOf } from './topology.js';

export type Say = (line: string) => void;
export const quiet: Say = () => {};

const PODSERVER = join(REPO_ROOT, 'dist/lab/podserver.js');
const PROBE = join(REPO_ROOT, 'dist/lab/probe.js');
const CLI = join(REPO_ROOT, 'dist/cli/main.js');
const API_MAIN = join(REPO_ROOT, 'dist/lab/apiserver-main.js');
const NODE_COUNT = 2;

const depKey = (namespace: string, name: string) => `${namespace}/${name}`;
const elapsed = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)}s`;


export class Lab {
  readonly api: LabApi;

  private constructor(readonly st: LabState, private readonly say: Say) {
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

  static async up(name: string, opts: { examples?: boolean; say?: Say } = {}): Promise<Lab> {
    checkName(name);
    const say = opts.say ?? quiet;
    const strays = namespacesOf(prefixOf(name));
    if (strays.length > 0 && !existsSync(stateDirOf(name))) {
      // No state dir, so no lab made them (up makes it first): they may be another tool's. Ask, don't delete.
      throw new LabError(`namespaces ${strays.join(' ')} exist but lab "${name}" has no state in ${stateDirOf(name)}; `
        + `use another --name, or remove them with \`switchyard lab down --name ${name}\` if they are a lab's`);
    }
    return withLock(name, async () => {
      const t0 = Date.now();
      const existing = loadState(name);
      if (existing && pidAlive(existing.apiServer.pid)) {
        // Up is where the user wants to be: say so and carry on (make lab may run twice).
        say(`lab "${name}" is already up (since ${existing.createdAt}, state in ${existing.stateDir}); \`switchyard lab down${name === 'lab' ? '' : ` --name ${name}`}\` first for a fresh one`);
        return new Lab(existing, say);
      }
      if (existing || mountsUnder(stateDirOf(name)).length > 0) {
        say(`cleaning up what a previous lab "${name}" left behind`);
        await teardown(name, quiet, { keepLock: true });
      }
      const prefix = prefixOf(name);
      const stateDir = stateDirOf(name);
      mkdirSync(join(stateDir, 'pods'), { recursive: true });
      const st: LabState = {
        version: 1, name, prefix, stateDir, createdAt: new Date().toISOString(),
        underlayNs: `${prefix}-underlay`, externalNs: `${prefix}-external`, externalAddress: EXTERNAL_ADDRESS, nodes: [],
        apiServer: {
          pid: 0, url: `http://${API_ADDRESS}:${API_PORT}`, socket: join(stateDir, 'api.sock'),
          kubeconfig: join(stateDir, 'kubeconfig'), log: join(stateDir, 'apiserver.log'), token: DEFAULT_TOKEN,
        },
        agents: {}, deployments: {}, pods: {}, nextPodIndex: 1, nextHost: {},
      };
      const lab = new Lab(st, say);
      try {
        lab.save(); // before the first namespace: down must find this lab even if up dies half way
        const topo = createTopology(prefix, NODE_COUNT);
        st.nodes = topo.nodes;
        for (const n of st.nodes) st.nextHost[n.name] = 11;
        lab.save();
        say(`namespaces: ${st.underlayNs} (bridge, API server ${API_ADDRESS}), ${st.nodes.map((n) => `${n.ns} (${n.address})`).join(', ')}, ${st.externalNs} (${EXTERNAL_ADDRESS})`);

        await lab.startApiServer();
        say(`API server: ${st.apiServer.url} (PID ${st.apiServer.pid}), admin socket ${st.apiServer.socket}`);
        writeFileSync(st.apiServer.kubeconfig, kubeconfigFor(st.apiServer.url, st.apiServer.token), { mode: 0o600 });
        for (const n of st.nodes) {
          await lab.api.apply({
            apiVersion: 'v1', kind: 'Node', metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name } },
            spec: { podCIDR: n.podCidr, podCIDRs: [n.podCidr] },
            status: { addresses: [{ type: 'InternalIP', address: n.address }, { type: 'Hostname', address: n.name }] },
          });
        }
        say(`nodes: ${st.nodes.map((n) => `${n.name} ${n.address} pods ${n.podCidr}`).join(', ')}`);

        for (const n of st.nodes) lab.startAgent(n.name);
        lab.save();
        for (const n of st.nodes) {
          const ok = await pollUntil(() => lab.agentHealth(n.name).healthy, 30_000, 200);
          if (!ok) throw new LabError(`agent on ${n.name} did not become healthy in 30 s; log: ${st.agents[n.name].log}`);
          say(`agent on ${n.name}: PID ${st.agents[n.name].pid}, healthy, pins in ${st.agents[n.name].pinDir}`);
        }
        if (opts.examples !== false) {
          say(`applying the examples in ${EXAMPLES_DIR}`);
          await lab.applyDocs(readManifests(EXAMPLES_DIR));
        }
        say(`lab "${name}" is up in ${elapsed(t0)}: ${Object.keys(st.pods).length} pods, state in ${st.stateDir}`);
        return lab;
      } catch (err) {
        say(`lab up failed: ${(err as Error).message}`);
        say(`logs are in ${stateDir}; \`switchyard lab down${name === 'lab' ? '' : ` --name ${name}`}\` removes what was made`);
        throw err;
      }
    }, { create: true });
  }

  private async startApiServer(): Promise<void> {
    const { st } = this;
    st.apiServer.pid = spawnDetached(st.underlayNs, [
      NODE_BIN, API_MAIN, '--host', API_ADDRESS, '--port', String(API_PORT), '--socket', st.apiServer.socket, '--token', st.apiServer.token,
    ], st.apiServer.log);
    this.save();
    if (!(await pollUntil(() => this.api.healthy(), 10_000))) {
      throw new LabError(`the API server did not answer on ${st.apiServer.socket} in 10 s; log: ${st.apiServer.log}`);
    }
  }

  private agentArgv(node: string, pinDir: string): string[] {
    return [
      NODE_BIN, CLI, 'agent',
      '--kubeconfig', this.st.apiServer.kubeconfig,
      '--hostname-override', node,
      '--pod-devices', `${this.st.prefix}p*`,
      '--devices', 'eth0',
      '--pin-dir', pinDir,
      '--healthz-bind-address', HEALTHZ,
      '--metrics-bind-address', METRICS,
    ];
  }

  private startAgent(node: string): AgentState {
    const info = this.node(node);
    const prev = this.st.agents[node];
    const pinDir = prev?.pinDir ?? join(this.st.stateDir, `bpf-${node}`);
    if (mountsUnder(pinDir).length === 0) mountBpffs(pinDir);
    const argv = prev?.argv ?? this.agentArgv(node, pinDir);
    const log = prev?.log ?? join(this.st.stateDir, `agent-${node}.log`);
    const agent: AgentState = { pid: spawnDetached(info.ns, argv, log), argv, pinDir, log, startedAt: new Date().toISOString() };
    this.st.agents[node] = agent;
    return agent;
  }

  node(name: string) {
    const n = this.st.nodes.find((x) => x.name === name);
    if (!n) throw new LabError(`no node "${name}" in lab "${this.st.name}" (nodes: ${this.st.nodes.map((x) => x.name).join(', ')})`);
    return n;
  }

  // ---- health and sync ----------------------------------------------------------------------------

  agentHealth(node: string): { running: boolean; healthy: boolean; status?: number; body?: Record<string, unknown> } {
    const agent = this.st.agents[node];
    const running = pidAlive(agent?.pid);
    if (!running) return { running, healthy: false };
    const r = nsHttpGet(this.node(node).ns, `http://${HEALTHZ}/healthz`);
    if (!r) return { running, healthy: false };
    let body: Record<string, unknown> | undefined;
    try { body = JSON.parse(r.body) as Record<string, unknown>; } catch { /* not JSON */ }
    return { running, healthy: r.status === 200, status: r.status, body };
  }

  agentMetrics(node: string): string | undefined {
    if (!pidAlive(this.st.agents[node]?.pid)) return undefined;
    const r = nsHttpGet(this.node(node).ns, `http://${METRICS}/metrics`);
    return r?.status === 200 ? r.body : undefined;
  }

  /**
   * Waits until every running agent took a change made at `sinceMs` into its maps: it queued a
   * sync after that time and finished one after the queueing (kube-proxy's two timestamps).
   */
  async waitAgentsSynced(sinceMs: number, timeoutMs = 5000): Promise<boolean> {
    const nodes = this.st.nodes.filter((n) => pidAlive(this.st.agents[n.name]?.pid)).map((n) => n.name);
    const synced = () => nodes.every((n) => {
      const text = this.agentMetrics(n);
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

  // ---- objects --------------------------------------------------------------------------------------

  /** `lab apply -f`: Deployments into the lab, the rest into the API server, then reconcile. */
  async applyDocs(docs: ManifestDoc[]): Promise<void> {
    const services = await this.api.list('Service');
    const deployments = docs.filter((d) => d.object.kind === 'Deployment').map(parseDeployment);
    for (const d of docs) {
      const o = d.object;
      if (o.kind === 'Deployment') continue;
      let out: KubeObject = o;
      if (o.kind === 'Service') {
        out = allocateService(o, services);
        services.push(out);
      }
      const stored = await this.api.apply(out);
      this.say(`${o.kind.toLowerCase()}/${o.metadata.name} configured${o.kind === 'Service' ? ` (${describeService(stored)})` : ''}`);
    }
    for (const dep of deployments) {
      const key = depKey(dep.namespace, dep.name);
      const prev = this.st.deployments[key];
      this.st.deployments[key] = dep;
      this.say(`deployment/${dep.name} ${prev ? (prev.templateHash !== dep.templateHash ? `updated to ${dep.version}` : 'configured') : 'created'} (${dep.replicas} replicas, ${dep.version})`);
    }
    this.save();
    await this.reconcile();
  }

  async deleteDocs(docs: ManifestDoc[]): Promise<void> {
    for (const d of docs) {
      const o = d.object;
      if (o.kind === 'Deployment') {
        const gone = delete this.st.deployments[depKey(o.metadata.namespace || 'default', o.metadata.name)];
        this.say(`deployment/${o.metadata.name} ${gone ? 'deleted' : 'not found'}`);
        continue;
      }
      const gone = await this.api.delete(o.kind as LabKind, o.metadata.namespace || 'default', o.metadata.name);
      this.say(`${o.kind.toLowerCase()}/${o.metadata.name} ${gone ? 'deleted' : 'not found'}`);
    }
    this.save();
    await this.reconcile();
  }

  deployment(name: string): DeploymentState {
    const matches = Object.values(this.st.deployments).filter((d) => d.name === name || depKey(d.namespace, d.name) === name);
    if (matches.length !== 1) {
      throw new LabError(matches.length ? `"${name}" names a Deployment in several namespaces; say NAMESPACE/NAME`
        : `no Deployment "${name}" in the lab (have: ${Object.values(this.st.deployments).map((d) => d.name).join(', ') || 'none'})`);
    }
    return matches[0];
  }

  async scale(name: string, replicas: number): Promise<void> {
    if (!Number.isInteger(replicas) || replicas < 0 || replicas > 50) throw new LabError(`--replicas: expected 0..50 (got ${replicas})`);
    const dep = this.deployment(name);
    this.say(`deployment/${dep.name} scaled from ${dep.replicas} to ${replicas}`);
    dep.replicas = replicas;
    this.save();
    await this.reconcile();
  }

  pod(name: string): PodState {
    const pod = this.st.pods[name];
    if (!pod) throw new LabError(`no pod "${name}" in the lab (\`switchyard lab status\` lists them)`);
    return pod;
  }

  /** Deletes a pod as `kubectl delete pod` does: it is taken out of the slices as terminating,
   *  the agents sync, then it stops; its Deployment gets a replacement meanwhile. `now` skips the
   *  grace: the pod vanishes at once, like a crash, and the slices follow. */
  async killPod(name: string, opts: { now?: boolean } = {}): Promise<void> {
    const pod = this.pod(name);
    pod.phase = 'Terminating';
    if (opts.now) {
      await this.destroyPod(pod);
      this.say(`pod/${name} killed`);
    } else {
      this.say(`pod/${name} terminating`);
    }
    this.save();
    await this.reconcile({ now: opts.now });
  }

  // ---- the controllers ----------------------------------------------------------------------------

  /**
   * Brings the pods to what the Deployments ask and the slices to what the pods are:
   * 1. pods whose process died are Failed; pods of a gone Deployment, surplus pods and Failed ones
   *    are to terminate; missing pods (of the Deployment's current template) are created;
   * 2. new pods become ready once they listen and the node's agent has a program on their veth;
   * 3. pods of an older template terminate once the new ones are all ready (a rolling update);
   * 4. terminating pods leave the slices (ready=false, terminating) → the agents sync → they stop.
   */
  async reconcile(opts: { now?: boolean } = {}): Promise<void> {
    const { st } = this;
    const pods = () => Object.values(st.pods);
    for (const p of pods()) {
      if ((p.phase === 'Running' || p.phase === 'Pending') && !pidAlive(p.pid)) {
        p.phase = 'Failed';
        p.ready = false;
        this.say(`pod/${p.name} has no process any more: Failed, to be replaced`);
      }
    }
    const terminate = (p: PodState, why: string) => {
      if (p.phase === 'Terminating') return;
      p.phase = 'Terminating';
      this.say(`pod/${p.name} terminating (${why})`);
    };
    const created: PodState[] = [];
    const t0 = Date.now();
    for (const p of pods()) {
      if (!st.deployments[depKey(p.namespace, p.deployment)]) terminate(p, 'its Deployment is gone');
      if (p.phase === 'Failed') terminate(p, 'failed');
    }
    for (const dep of Object.values(st.deployments)) {
      const live = pods().filter((p) => p.deployment === dep.name && p.namespace === dep.namespace && (p.phase === 'Running' || p.phase === 'Pending'));
      const current = live.filter((p) => p.templateHash === dep.templateHash);
      // Surplus: not ready first, then the newest (as a ReplicaSet picks).
      current.sort((a, b) => Number(a.ready) - Number(b.ready) || b.createdAt.localeCompare(a.createdAt));
      for (const p of current.slice(0, Math.max(0, current.length - dep.replicas))) terminate(p, `scaled to ${dep.replicas}`);
      for (let i = current.length; i < dep.replicas; i++) created.push(this.createPod(dep));
    }
    this.save();
    if (created.length) {
      await Promise.all(created.map((p) => this.waitPodReady(p)));
      for (const p of created) this.say(`pod/${p.name} ${p.ready ? 'ready' : 'NOT ready after 20 s'} on ${p.node}, ${p.ip}${p.ready ? '' : ` (log: ${p.log})`}`);
      this.say(`${created.length} pod(s) started in ${elapsed(t0)}`);
    }
    // Pods that were not ready at the last look (agent away, slow start) are looked at again.
    for (const p of pods()) if (p.phase === 'Running' && !p.ready) p.ready = this.podReady(p);
    for (const dep of Object.values(st.deployments)) {
      const live = pods().filter((p) => p.deployment === dep.name && p.namespace === dep.namespace && p.phase === 'Running');
      const current = live.filter((p) => p.templateHash === dep.templateHash);
      if (current.length >= dep.replicas && current.every((p) => p.ready)) {
        for (const p of live) if (p.templateHash !== dep.templateHash) terminate(p, `replaced by ${dep.version}`);
      }
    }
    this.save();
    const changedAt = await this.syncSlices();
    const leaving = pods().filter((p) => p.phase === 'Terminating');
    if (leaving.length) {
      if (changedAt !== undefined && !opts.now && !(await this.waitAgentsSynced(changedAt))) {
        this.say('warning: an agent did not confirm the endpoint change in 5 s; stopping the pods anyway');
      }
      for (const p of leaving) await this.destroyPod(p);
      this.save();
      await this.syncSlices();
      this.say(`${leaving.length} pod(s) gone: ${leaving.map((p) => p.name).join(', ')}`);
    }
    this.save();
  }

  private createPod(dep: DeploymentState): PodState {
    const { st } = this;
    const name = podName(dep, (n) => n in st.pods);
    const live = Object.values(st.pods).filter((p) => p.phase !== 'Terminating' && p.phase !== 'Failed');
    const count = (node: string, fn: (p: PodState) => boolean) => live.filter((p) => p.node === node && fn(p)).length;
    // Spread like the scheduler's topology spread: fewest of this Deployment, then fewest overall.
    const node = [...st.nodes].sort((a, b) =>
      count(a.name, (p) => p.deployment === dep.name) - count(b.name, (p) => p.deployment === dep.name)
      || count(a.name, () => true) - count(b.name, () => true) || a.index - b.index)[0];
    const used = new Set(Object.values(st.pods).filter((p) => p.node === node.name).map((p) => Number(p.ip.split('.')[3])));
    let host = st.nextHost[node.name] ?? 11;
    for (let tries = 0; used.has(host) || host > 250; tries++) {
      host = host > 250 ? 11 : host + 1;
      if (tries > 260) throw new LabError(`node ${node.name} has no pod address left`);
    }
    st.nextHost[node.name] = host + 1;
    const index = st.nextPodIndex++;
    const pod: PodState = {
      namespace: dep.namespace, name, deployment: dep.name, templateHash: dep.templateHash, labels: { ...dep.labels },
      version: dep.version, node: node.name, ip: `10.244.${node.index}.${host}`, netns: `${st.prefix}-${name}`,
      hostIf: `${st.prefix}p${index}`, index, log: join(st.stateDir, 'pods', `${name}.log`), ready: false, phase: 'Pending',
      createdAt: new Date().toISOString(),
    };
    st.pods[name] = pod;
    this.save(); // the namespace is about to exist: down must know it
    createPod(node.ns, pod.netns, pod.hostIf, pod.ip);
    pod.pid = spawnDetached(pod.netns, [NODE_BIN, PODSERVER, name, dep.version, '80', '5353'], pod.log);
    pod.phase = 'Running';
    return pod;
  }

  /** Ready: the pod serves HTTP and UDP, and its veth carries the data path (or replies to
   *  Service traffic would leave untranslated), which the agent attaches within a device scan. */
  private podReady(p: PodState): boolean {
    const http = POD_PORTS.find((x) => x.protocol === 'TCP')!.port;
    const udp = POD_PORTS.find((x) => x.protocol === 'UDP')!.port;
    return !!p.pid && pidAlive(p.pid) && listening(p.pid, http, udp) && tcAttached(this.node(p.node).ns, p.hostIf);
  }

  private async waitPodReady(p: PodState): Promise<void> {
    p.ready = await pollUntil(() => this.podReady(p), 20_000, 100);
  }

  private async destroyPod(p: PodState): Promise<void> {
    await stopPid(p.pid, 2000);
    deleteNamespace(p.netns);
    rmSync(p.log, { force: true });
    delete this.st.pods[p.name];
  }

  /** The EndpointSlice controller: writes the slices that changed, deletes orphans. Returns the
   *  time of the change (for waitAgentsSynced) or undefined when nothing changed. */
  async syncSlices(): Promise<number | undefined> {
    const [services, slices] = await Promise.all([this.api.list('Service'), this.api.list('EndpointSlice')]);
    const desired = desiredSlices(services, Object.values(this.st.pods));
    const at = Date.now();
    let changed = false;
    for (const s of desired) {
      const have = slices.find((x) => x.metadata.name === s.metadata.name && x.metadata.namespace === s.metadata.namespace);
      if (have && sliceContent(have) === sliceContent(s)) continue;
      await this.api.apply(stampTrigger(s, new Date(at)));
      changed = true;
    }
    for (const s of slices) {
      if (!isManagedSlice(s) || desired.some((d) => d.metadata.name === s.metadata.name && d.metadata.namespace === s.metadata.namespace)) continue;
      await this.api.delete('EndpointSlice', s.metadata.namespace, s.metadata.name);
      changed = true;
    }
    return changed ? at : undefined;
  }

  // ---- agents ------------------------------------------------------------------------------------

  /** SIGTERM, wait for it to exit, start it again with the same flags, wait for /healthz. The
   *  programs stay attached and the maps pinned meanwhile, so traffic keeps flowing. */
  async restartAgent(node: string): Promise<{ oldPid: number; newPid: number; downMs: number }> {
    this.node(node);
    const old = this.st.agents[node];
    if (!old) throw new LabError(`no agent recorded for ${node}`);
    const t0 = Date.now();
    this.say(`stopping agent on ${node} (PID ${old.pid}, SIGTERM)`);
    if (!(await stopPid(old.pid, 10_000))) throw new LabError(`agent PID ${old.pid} on ${node} would not stop`);
    this.say(`agent on ${node} stopped after ${elapsed(t0)}; programs stay attached, maps pinned in ${old.pinDir}`);
    const agent = this.startAgent(node);
    this.save();
    if (!(await pollUntil(() => this.agentHealth(node).healthy, 30_000, 100))) {
      throw new LabError(`agent on ${node} (PID ${agent.pid}) did not become healthy in 30 s; log: ${agent.log}`);
    }
    const downMs = Date.now() - t0;
    this.say(`agent on ${node} started again: PID ${agent.pid}, healthy after ${elapsed(t0)}`);
    return { oldPid: old.pid, newPid: agent.pid, downMs };
  }

  // ---- exec ------------------------------------------------------------------------------------------

  /** The namespace of a pod, a Deployment (its first ready pod), a node, "external" or "underlay". */
  namespaceOf(target: string): { ns: string; what: string } {
    const { st } = this;
    if (target === 'external' || target === 'client-external') return { ns: st.externalNs, what: `the external client ${st.externalAddress}` };
    if (target === 'underlay' || target === 'apiserver') return { ns: st.underlayNs, what: `the underlay (API server ${API_ADDRESS})` };
    const node = st.nodes.find((n) => n.name === target);
    if (node) return { ns: node.ns, what: `node ${node.name}` };
    const pod = st.pods[target];
    if (pod) return { ns: pod.netns, what: `pod ${pod.name}` };
    const byDep = Object.values(st.pods).filter((p) => p.deployment === target && p.phase === 'Running' && p.ready).sort((a, b) => a.name.localeCompare(b.name));
    if (byDep.length) return { ns: byDep[0].netns, what: `pod ${byDep[0].name}` };
    throw new LabError(`"${target}" is no pod, Deployment, node, "external" or "underlay" of lab "${st.name}"`);
  }

  /** Runs a command inside a target's namespace, with the terminal; "probe …" runs the lab's probe. */
  exec(target: string, argv: string[]): Promise<number> {
    const { ns } = this.namespaceOf(target);
    if (argv.length === 0) throw new LabError('nothing to run: lab exec NAME -- COMMAND [ARGS...]');
    const cmd = argv[0] === 'probe' ? [NODE_BIN, PROBE, ...argv.slice(1)] : argv;
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
  }
}

export function describeService(s: KubeObject): string {
  const spec = (s.spec ?? {}) as { type?: string; clusterIP?: string; externalName?: string; ports?: Array<{ port: number; nodePort?: number; protocol?: string }> };
  const type = spec.type ?? 'ClusterIP';
  if (type === 'ExternalName') return `ExternalName → ${spec.externalName}`;
  const ports = (spec.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
  return `${type} ${spec.clusterIP ?? '-'} ${ports}`;
}

export { listLabs, teardown, type TeardownReport } from './lab-teardown.js';
