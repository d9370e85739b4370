// Pod socket LB (--socket-lb all): the cgroup programs serve a socket only when its netns cookie
// is a key of sock_netns, so each local pod's namespace is registered there while its pod device
// exists. The agent knows its pods only by their host-side veths (--pod-devices); the way from a
// veth to a namespace it can enter is the veth's peer nsid (link_netnsid) matched against the
// nsids of the named namespaces in /run/netns, where the lab and CNIs driven by containerd or
// CRI-O put them. A pod whose namespace is not named there (Docker's own, a bare `unshare`) is
// not found: it stays on the tc path, which serves it as before, and a warning names its device.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { SOCK_NS_POD, sockNetns, type SockNetns } from '../abi/sock.js';
import { u64 } from '../abi/layouts.js';
import { currentNetnsCookie, inNetns, openPinnedMap, type TypedMap } from '../bpf/index.js';
import { DeviceWatcher, globsToRegExp } from './devices.js';

/** One local pod as pod socket LB knows it. */
export interface PodNetns {
  device: string;
  /** Its name in /run/netns (for the logs: its cookie is read inside it when it is found). */
  netns: string;
  cookie: bigint;
  /** The pod's IPv4 address: the ClientIP-affinity client of its unbound sockets, as the tc
   *  path sees its packets' source. */
  addr: string;
  /** Its IPv6 address, the same for IPv6 sockets; '::' when the pod has none (IPv4 only). */
  addr6: string;
}

type Found = { pod: PodNetns } | { reason: string; retry: boolean };

interface IpLink {
  ifindex: number;
  link_index?: number;
  link_netnsid?: number;
  addr_info?: Array<{ family: string; local: string; scope: string }>;
}

const ipJson = <T>(args: string[]): T[] => {
  const out = execFileSync('ip', ['-j', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  return out ? (JSON.parse(out) as T[]) : [];
};

/** The namespace behind pod device `device`, or why there is none (and whether it may come). */
export function findPodNetns(device: string): Found {
  try {
    const [link] = ipJson<IpLink>(['link', 'show', 'dev', device]);
    if (link?.link_netnsid === undefined || link.link_index === undefined)
      return { reason: 'not a veth whose peer is in another network namespace', retry: false };
    const named = ipJson<{ name: string; id?: number }>(['netns', 'list']).find((n) => n.id === link.link_netnsid);
    if (!named)
      return { reason: `its peer's namespace (nsid ${link.link_netnsid}) is not named in /run/netns`, retry: true };
    const peer = ipJson<IpLink>(['-n', named.name, 'addr', 'show']).find((l) => l.ifindex === link.link_index);
    const global = (family: string) => peer?.addr_info?.find((a) => a.family === family && a.scope === 'global')?.local;
    const addr = global('inet');
    if (!addr) return { reason: `its peer in namespace ${named.name} has no IPv4 address yet`, retry: true };
    const cookie = inNetns(named.name, currentNetnsCookie);
    // '::' for an IPv4-only pod (its IPv6 sockets, if any, share one client), and for a dual-stack
    // pod whose IPv6 address is not there yet (PodSocketLb looks again: awaitIpv6).
    return { pod: { device, netns: named.name, cookie, addr, addr6: global('inet6') ?? '::' } };
  } catch (err) {
    return { reason: (err as Error).message.split('\n')[0] ?? 'unknown error', retry: true };
  }
}

/** Scans a device again this many times (250 ms apart) before giving up on it. */
const MAX_TRIES = 40;
const RETRY_MS = 250;

/** Keeps sock_netns holding exactly the namespaces of this node's pod devices. */
export class PodSocketLb {
  private readonly pods = new Map<string, PodNetns>();
  private readonly tries = new Map<string, number>();
  private readonly ipv6Timers = new Map<string, NodeJS.Timeout>();
  private readonly watcher: DeviceWatcher;

  /** @waitForIpv6: the cluster is dual-stack (an IPv6 --cluster-cidr), so a pod registered before
   *  its IPv6 address is there is looked at again until it has one. */
  constructor(
    podDevices: string,
    private readonly netnsMap: TypedMap<bigint, SockNetns>,
    private readonly log: Logger,
    private readonly waitForIpv6 = false,
  ) {
    this.watcher = new DeviceWatcher(
      globsToRegExp(podDevices),
      (d) => this.add(d),
      (d) => this.remove(d),
    );
  }

  /** Registers the pods there are now (synchronously), forgets those an earlier agent left. */
  start(): void {
    this.watcher.start();
    const live = new Set([...this.pods.values()].map((p) => p.cookie));
    const stale = this.netnsMap
      .entries()
      .filter(([cookie, v]) => v.flags & SOCK_NS_POD && !live.has(cookie))
      .map(([cookie]) => cookie);
    if (stale.length) this.netnsMap.deleteMany(stale);
    this.log.info({ pods: this.pods.size, forgotten: stale.length }, 'pod socket LB: pod namespaces registered');
  }

  stop(): void {
    this.watcher.stop();
    for (const t of this.ipv6Timers.values()) clearTimeout(t);
    this.netnsMap.close();
  }

  private register(device: string, pod: PodNetns): void {
    this.netnsMap.set(pod.cookie, { addr: pod.addr, flags: SOCK_NS_POD, addr6: pod.addr6 });
    this.pods.set(device, pod);
    this.tries.delete(device);
    this.log.info(
      { device, netns: pod.netns, netnsCookie: String(pod.cookie), addr: pod.addr, addr6: pod.addr6 },
      'pod socket LB: serving pod',
    );
  }

  /**
   * A dual-stack pod's IPv6 address can come after its IPv4 one (a CNI adding it second): the pod
   * is served at once (IPv4 and, with '::' as their affinity client, IPv6 sockets), and looked at
   * again until its IPv6 address is there, so its IPv6 affinity client becomes the source the tc
   * path sees. Apart from the device scan, so a device that goes meanwhile is still removed.
   */
  private awaitIpv6(device: string, tries = 1): void {
    if (!this.waitForIpv6 || tries >= MAX_TRIES) return;
    const timer = setTimeout(() => {
      this.ipv6Timers.delete(device);
      if (!this.pods.has(device)) return; // gone meanwhile
      const found = findPodNetns(device);
      if ('pod' in found && found.pod.addr6 !== '::') this.register(device, found.pod);
      else this.awaitIpv6(device, tries + 1);
    }, RETRY_MS);
    timer.unref();
    this.ipv6Timers.set(device, timer);
  }

  private add(device: string): void {
    const found = findPodNetns(device);
    if ('pod' in found) {
      this.register(device, found.pod);
      if (found.pod.addr6 === '::') this.awaitIpv6(device);
      return;
    }
    const tries = (this.tries.get(device) ?? 0) + 1;
    this.tries.set(device, tries);
    if (found.retry && tries < MAX_TRIES) {
      this.watcher.forget(device); // the next scan tries again (the address may come later)
      return;
    }
    this.log.warn(
      { device, reason: found.reason },
      'pod socket LB: no namespace found for this pod device; its pod stays on the tc path',
    );
  }

  private remove(device: string): void {
    this.tries.delete(device);
    clearTimeout(this.ipv6Timers.get(device));
    this.ipv6Timers.delete(device);
    const pod = this.pods.get(device);
    if (!pod) return;
    this.pods.delete(device);
    this.netnsMap.delete(pod.cookie);
    this.log.info({ device, netns: pod.netns, netnsCookie: String(pod.cookie) }, 'pod socket LB: pod gone');
  }
}

const openNetnsMap = (pinDir: string) => openPinnedMap(join(pinDir, 'sock_netns'), u64, sockNetns);

/** `--socket-lb all`: registers the pods and keeps doing so. Call after startSocketLb (it pins
 *  sock_netns). */
export function startPodSocketLb(pinDir: string, podDevices: string, log: Logger, waitForIpv6 = false): PodSocketLb {
  const pods = new PodSocketLb(podDevices, openNetnsMap(pinDir), log, waitForIpv6);
  pods.start();
  return pods;
}

/** `--socket-lb host`: pods an earlier `all` agent registered go back to the tc path. */
export function forgetPodNamespaces(pinDir: string, log: Logger): void {
  const map = openNetnsMap(pinDir);
  try {
    const pods = map
      .entries()
      .filter(([, v]) => v.flags & SOCK_NS_POD)
      .map(([cookie]) => cookie);
    if (pods.length === 0) return;
    map.deleteMany(pods);
    log.info({ forgotten: pods.length }, 'socket LB for the host only: pod namespaces no longer served');
  } finally {
    map.close();
  }
}
