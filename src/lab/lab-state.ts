// The lab's memory between commands: every `switchyard lab …` is a new process, so what the lab
// made (namespaces, processes, pins, pods) is written to /run/switchyard-lab/NAME/state.json.
// `lab down` trusts it but does not need it: names are derived from the lab name, so leftovers of
// a crash are found by prefix (namespaces) and by directory (pins, files).
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { NodeInfo } from './topology.js';
import type { LabIpFamily } from './dualstack.js';

export const LAB_ROOT = process.env.SWITCHYARD_LAB_ROOT ?? '/run/switchyard-lab';
export const DEFAULT_LAB_NAME = 'lab';
/** Lower-case letter first, up to 7 characters: "sy" + name is the prefix of every namespace and
 *  interface, and interface names allow 15 characters ("<prefix>p<index>"). */
export const LAB_NAME = /^[a-z][a-z0-9]{0,6}$/;

export const REPO_ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const EXAMPLES_DIR = join(REPO_ROOT, 'src/lab/examples');
export const NODE_BIN = process.execPath;
export const API_PORT = 6443;
export const HEALTHZ = '127.0.0.1:10256';
export const METRICS = '127.0.0.1:10249';
/** The port the cluster DNS pods serve, UDP and TCP. */
export const DNS_PORT = 53;

export class LabError extends Error {
  override readonly name = 'LabError';
}

export function checkName(name: string): string {
  if (!LAB_NAME.test(name)) {
    throw new LabError(
      `lab name "${name}": use 1-7 lower-case letters and digits, starting with a letter (it prefixes interface names)`,
    );
  }
  return name;
}

export const prefixOf = (name: string) => `sy${name}`;
export const stateDirOf = (name: string) => join(LAB_ROOT, name);
export const stateFileOf = (name: string) => join(stateDirOf(name), 'state.json');

/** The ports every lab pod serves (dist/lab/podserver.js), by name for named targetPorts. */
export const POD_PORTS: ReadonlyArray<{ name: string; port: number; protocol: 'TCP' | 'UDP' }> = [
  { name: 'http', port: 80, protocol: 'TCP' },
  { name: 'echo', port: 5353, protocol: 'UDP' },
];

export interface AgentState {
  pid: number;
  /** The full command, kept so restart-agent starts the agent exactly as before. */
  argv: string[];
  pinDir: string;
  log: string;
  startedAt: string;
}

/** A lab-only Deployment: the controller keeps `replicas` pods with the template's labels. */
export interface DeploymentState {
  namespace: string;
  name: string;
  replicas: number;
  /** The selector's matchLabels (the template's labels when absent). */
  selector: Record<string, string>;
  labels: Record<string, string>;
  version: string;
  /** What its pods run: the pod server (default) or, for image switchyard/kube-dns, the cluster DNS. */
  program?: 'podserver' | 'dns';
  /** The address the pod server binds (container args --bind=ADDR; default all): 127.0.0.1 makes
   *  the classic "listens on localhost only" mistake for `diagnose` to find. */
  bind?: string;
  /** hostNetwork: true: its pods are processes in the node's namespace serving these ports on
   *  the node address (the container's TCP and UDP containerPorts), at most one per node. */
  hostNetwork?: { tcp: number; udp: number };
  /** Changes when labels or version change: a new ReplicaSet, in Kubernetes terms. */
  templateHash: string;
}

export type PodPhase = 'Pending' | 'Running' | 'Terminating' | 'Failed';

export interface PodState {
  namespace: string;
  name: string;
  deployment: string;
  templateHash: string;
  labels: Record<string, string>;
  version: string;
  program?: DeploymentState['program'];
  /** A host-network pod: `ip` is its node's address, `netns` the node's, no veth (hostIf ''). */
  hostNetwork?: DeploymentState['hostNetwork'];
  node: string;
  ip: string;
  /** The pod's network namespace and the host side of its veth on the node. */
  netns: string;
  hostIf: string;
  index: number;
  pid?: number;
  log: string;
  ready: boolean;
  phase: PodPhase;
  createdAt: string;
}

/** Which namespaces the agents' socket LB serves (the agent's --socket-lb values). */
export type LabSocketLb = 'disabled' | 'host' | 'all';

export interface LabState {
  version: 1;
  name: string;
  prefix: string;
  stateDir: string;
  createdAt: string;
  underlayNs: string;
  externalNs: string;
  externalAddress: string;
  nodes: NodeInfo[];
  apiServer: { pid: number; url: string; socket: string; kubeconfig: string; log: string; token: string };
  agents: Record<string, AgentState>;
  /** The lab's cgroup (cgroups.ts): `dir` as the CLI sees it, `visible` inside the namespaces. */
  cgroup?: { dir: string; visible: string };
  /** The pod server in the external namespace (10.250.0.200:80), outside the cluster. */
  externalServerPid?: number;
  /** `lab up --ip-family`; absent in labs made before IPv6: ipv4. */
  ipFamily?: LabIpFamily;
  /** `lab up --socket-lb`, the agents' --socket-lb; absent in labs made before pod socket LB: host. */
  socketLb?: LabSocketLb;
  deployments: Record<string, DeploymentState>;
  pods: Record<string, PodState>;
  /** Never reused: a veth name that comes back within one device scan would not be re-attached. */
  nextPodIndex: number;
  /** Next host number per node; pod addresses are not reused soon either (stale conntrack). */
  nextHost: Record<string, number>;
}

export function loadState(name: string): LabState | undefined {
  const file = stateFileOf(name);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LabState;
  } catch (err) {
    throw new LabError(
      `${file}: unreadable (${(err as Error).message}); \`switchyard lab down --name ${name}\` cleans up without it`,
    );
  }
}

export function requireState(name: string): LabState {
  const st = loadState(name);
  if (!st)
    throw new LabError(
      `no lab "${name}" is up (no ${stateFileOf(name)}); start one with \`switchyard lab up${name === DEFAULT_LAB_NAME ? '' : ` --name ${name}`}\``,
    );
  return st;
}

/** Written whole and renamed into place: a reader never sees half a file. */
export function saveState(st: LabState): void {
  mkdirSync(st.stateDir, { recursive: true });
  const file = join(st.stateDir, 'state.json');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(st, null, 2)}\n`);
  renameSync(tmp, file);
}

export function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped by a parent) is not alive for us.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * One mutating command at a time per lab: a lock file holding the owner's PID. A lock whose owner
 * died (a crashed or killed command) is taken over.
 */
export async function withLock<T>(
  name: string,
  fn: () => Promise<T>,
  opts: { create?: boolean; timeoutMs?: number } = {},
): Promise<T> {
  const dir = stateDirOf(name);
  if (!opts.create) requireState(name); // no lab, no lock file left behind either
  mkdirSync(dir, { recursive: true });
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const lock = join(dir, 'lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = 0;
      try {
        owner = Number(readFileSync(lock, 'utf8'));
      } catch {
        /* just released */
      }
      if (owner && !pidAlive(owner)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new LabError(`lab "${name}" is busy: another lab command (PID ${owner}) holds ${lock}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    try {
      if (Number(readFileSync(lock, 'utf8')) === process.pid) rmSync(lock, { force: true });
    } catch {
      /* the lab was torn down meanwhile */
    }
  }
}
