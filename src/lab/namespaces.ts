// Building blocks of a cluster made of network namespaces: nodes (a namespace that routes),
// pods (a namespace behind a veth, routed — no bridge), and processes started inside them.
// Nothing here touches the root namespace: every link and route lives in a namespace we made.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

export const ip = (...args: string[]) => run('ip', args);
export const nsRun = (ns: string, cmd: string[]) => run('ip', ['netns', 'exec', ns, ...cmd]);

export function listNamespaces(): string[] {
  return ip('-j', 'netns', 'list').trim()
    ? (JSON.parse(ip('-j', 'netns', 'list')) as Array<{ name: string }>).map((n) => n.name)
    : [];
}

export function createNamespace(name: string): void {
  ip('netns', 'add', name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
}

/** Kills what runs inside, then removes the namespace; absent namespaces are fine. */
export function deleteNamespace(name: string): void {
  if (!listNamespaces().includes(name)) return;
  const pids = ip('netns', 'pids', name).split('\n').filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  ip('netns', 'del', name);
}

function sysctl(ns: string, key: string, value: string): void {
  nsRun(ns, ['sysctl', '-qw', `${key}=${value}`]);
}

/** A node: forwards between its pods, with no route out of the namespace. A node with no
 *  uplink gets its address on lo, so ARP and ICMP have a source to use. */
export function createNode(ns: string, loopbackAddress?: string): void {
  createNamespace(ns);
  sysctl(ns, 'net.ipv4.ip_forward', '1');
  sysctl(ns, 'net.ipv4.conf.all.rp_filter', '0');
  sysctl(ns, 'net.ipv4.conf.default.rp_filter', '0');
  if (loopbackAddress) ip('-n', ns, 'addr', 'add', `${loopbackAddress}/32`, 'dev', 'lo');
}

export function macOf(ns: string, ifname: string): string {
  return (JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'dev', ifname)) as Array<{ address: string }>)[0].address;
}

/** The pod's gateway: a link-local address answered by a static neighbour entry, as Calico does. */
export const POD_GATEWAY = '169.254.1.1';

/** A pod: its own namespace, eth0 with a /32, default route via the node's end of the veth. */
export function createPod(nodeNs: string, podNs: string, hostIf: string, podIp: string): void {
  createNamespace(podNs);
  ip('-n', nodeNs, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs);
  ip('-n', podNs, 'addr', 'add', `${podIp}/32`, 'dev', 'eth0');
  ip('-n', podNs, 'link', 'set', 'eth0', 'up');
  ip('-n', nodeNs, 'link', 'set', hostIf, 'up');
  ip('-n', podNs, 'route', 'add', POD_GATEWAY, 'dev', 'eth0', 'scope', 'link');
  ip('-n', podNs, 'route', 'add', 'default', 'via', POD_GATEWAY, 'dev', 'eth0');
  ip('-n', podNs, 'neigh', 'add', POD_GATEWAY, 'lladdr', macOf(nodeNs, hostIf), 'dev', 'eth0', 'nud', 'permanent');
  ip('-n', nodeNs, 'route', 'add', `${podIp}/32`, 'dev', hostIf);
  ip('-n', nodeNs, 'neigh', 'add', podIp, 'lladdr', macOf(podNs, 'eth0'), 'dev', hostIf, 'nud', 'permanent');
}

/** Starts a long-running process inside a namespace; its output goes to `logFile` if given. */
export function spawnIn(
  ns: string,
  cmd: string[],
  opts: { logFd?: number; env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  const out = opts.logFd ?? 'ignore';
  return spawn('ip', ['netns', 'exec', ns, ...cmd], {
    stdio: ['ignore', out, out],
    env: opts.env ?? process.env,
    detached: false,
  });
}

/** Mounts a private bpffs for one node's pins (ip netns exec hides /sys/fs/bpf, not /run). */
export function mountBpffs(dir: string): void {
  run('mkdir', ['-p', dir]);
  run('mount', ['-t', 'bpf', 'bpf', dir]);
}

export function unmountBpffs(dir: string): void {
  try {
    run('umount', [dir]);
  } catch {
    /* not mounted */
  }
  try {
    run('rmdir', [dir]);
  } catch {
    /* gone */
  }
}
