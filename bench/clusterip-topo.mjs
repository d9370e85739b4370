// bench/clusterip.mjs's namespaces and load: a case's node with three backend pods and one
// client pod (IPv4, and IPv6 ULA addresses as the lab gives them when IPv6 is measured), the
// load client/server (bench/loadgen.c) and the clean-up of everything named after this run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { addPodIpv6, ipv6Sysctls, POD_CIDR6, podIpv6 } from '../dist/lab/dualstack.js';
import {
  createNode,
  createPod,
  deleteNamespace,
  ip,
  listNamespaces,
  nsRun,
  run,
  spawnIn,
  unmountBpffs,
} from '../dist/lab/namespaces.js';

export const ROOT = new URL('..', import.meta.url).pathname;
export const ID = `syb${(process.pid % 10000).toString(36)}${Math.random().toString(36).slice(2, 4)}`; // ≤ 9 chars
export const WORK = mkdtempSync(join(tmpdir(), `${ID}-`));
const BACKEND_NAMES = ['be1', 'be2', 'be3'];
/** The node's own IPv6 address (on lo, as 10.250.0.1): the lab's underlay range. */
const NODE_IP6 = 'fd00:250::1';
/** The agent's --cluster-cidr in the Switchyard and socket-LB cases, as a DaemonSet's config gives
 *  it: pod-to-pod packets skip the Service lookups. Both families: the pods have IPv6 addresses
 *  in the lab's range too (podIpv6). */
export const CLUSTER_CIDRS = `10.244.0.0/16,${POD_CIDR6}`;

/**
 * Where the load runs: the client on one CPU, the servers on another (the last two CPUs), in every
 * case and round alike, so that whether a client and its server share a CPU (which changes what a
 * connection costs more than anything measured here) is never the difference between two cases.
 * The rounds' rates still move by 40–60% on this VM. BENCH_NO_PIN=1 leaves placement alone.
 */
const CPUS = availableParallelism();
const CLIENT_CPU = CPUS >= 2 ? CPUS - 2 : undefined;
const SERVER_CPU = CPUS >= 2 ? CPUS - 1 : undefined;
const onCpu = (cpu) => (cpu === undefined || process.env.BENCH_NO_PIN ? [] : ['taskset', '-c', String(cpu)]);

/** The load client and server: bench/loadgen.c, built into the temp dir. */
export function buildLoadgen() {
  const bin = join(WORK, 'loadgen');
  run(process.env.CC ?? 'clang', ['-O2', '-Wall', '-o', bin, join(ROOT, 'bench/loadgen.c')]);
  return bin;
}

/** A case's namespaces: node, three backend pods, one client pod. */
class Topo {
  constructor(tag, ipv6) {
    this.prefix = `${ID}${tag}`; // ≤ 11 chars, so host veths `${prefix}h${n}` fit in 15
    this.nodeNs = `${this.prefix}-node`;
    this.ipv6 = ipv6;
    this.pods = [];
    this.procs = [];
    createNode(this.nodeNs, '10.250.0.1');
    if (ipv6) {
      ipv6Sysctls(this.nodeNs, true);
      ip('-n', this.nodeNs, 'addr', 'add', `${NODE_IP6}/128`, 'dev', 'lo', 'nodad');
    }
  }
  addPod(name) {
    const n = this.pods.length + 1;
    const pod = { name, ns: `${this.prefix}-${name}`, ip: `10.244.0.${10 + n}`, hostIf: `${this.prefix}h${n}` };
    createPod(this.nodeNs, pod.ns, pod.hostIf, pod.ip);
    if (this.ipv6) {
      pod.ip6 = podIpv6(pod.ip);
      addPodIpv6(this.nodeNs, pod.ns, pod.hostIf, pod.ip6);
    }
    this.pods.push(pod);
    return pod;
  }
  namespaces() {
    return [...this.pods.map((p) => p.ns), this.nodeNs];
  }
  destroy() {
    for (const p of this.procs) {
      try {
        p.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const ns of this.namespaces()) {
      try {
        deleteNamespace(ns);
      } catch (err) {
        console.error(`cleanup: ${err.message}`);
      }
    }
  }
}

/** Sets up node + pods (with IPv6 addresses when `ipv6`) and starts the servers. */
export function baseTopo(tag, loadgen, ipv6) {
  const t = new Topo(tag, ipv6);
  try {
    t.backends = BACKEND_NAMES.map((n) => t.addPod(n));
    t.client = t.addPod('client');
    nsRun(t.client.ns, ['sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65535']); // IPv6's too
    for (const b of t.backends) t.procs.push(spawnIn(b.ns, [...onCpu(SERVER_CPU), loadgen, 'serve', '80']));
    return t;
  } catch (err) {
    t.destroy();
    throw err;
  }
}

/** The agent's log as JSON objects, one a line (a line that does not parse is {}). */
export function logLines(file) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return {};
      }
    });
}

export function loadRun(t, loadgen, seconds, k, targets) {
  // A case may run its client elsewhere (the socket-LB case: in its own cgroup).
  const out = (t.runClient ?? nsRun)(t.client.ns, [
    ...onCpu(CLIENT_CPU),
    loadgen,
    'load',
    String(seconds),
    String(k),
    ...targets,
  ]);
  return JSON.parse(out);
}

export async function waitAnswer(t, loadgen, targets, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = loadRun(t, loadgen, 0.2, 1, targets);
    if (last.ok > 0 && last.failed === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: no clean answer within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

/** Busy share of all CPUs over `ms`, from /proc/stat (user+nice+system+irq+softirq+steal). */
async function cpuBusy(ms) {
  const sample = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const a = sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  const d = b.map((v, i) => v - a[i]);
  const total = d.reduce((x, y) => x + y, 0);
  return total ? 1 - (d[3] + d[4]) / total : 0; // idle + iowait
}

/** The kernel tears namespaces down in a worker after `ip netns del` returns (rules, conntrack,
 *  sockets): wait until the machine is quiet, so one case's teardown is not the next one's load. */
export async function settle() {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && (await cpuBusy(300)) > 0.05) {
    /* still busy */
  }
}

/** Topologies to tear down on any exit. */
export const live = new Set();

export function cleanupAll() {
  for (const t of [...live]) {
    try {
      t.destroy();
    } catch {
      /* best effort */
    }
    live.delete(t);
  }
  // Anything of ours a crash left behind (namespaces and pins are named after this run only).
  for (const ns of listNamespaces().filter((n) => n.startsWith(ID))) {
    try {
      deleteNamespace(ns);
    } catch {
      /* best effort */
    }
  }
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const dir = line.split(' ')[1];
    if (dir?.startsWith(`/run/${ID}`)) unmountBpffs(dir);
  }
  rmSync(WORK, { recursive: true, force: true });
}
