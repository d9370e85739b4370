// Socket-level load balancing (--socket-lb): bpf/sock.o, opened on the same pinned maps as the tc
// object, attached to a cgroup v2 through links pinned in the pin directory. A restarted agent
// updates those links in place (never a window without the hook, never two copies); only
// `switchyard agent --cleanup` detaches them. Which sockets are served is the sock_netns map: the
// node's own namespace cookie, written here before the programs are attached, and with
// --socket-lb all its pods' (pod-sockets.ts).
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { SOCK_NS_HOST, sockNetns, sockTarget, sockTarget6 } from '../abi/sock.js';
import { u8, u64 } from '../abi/layouts.js';
import {
  attachCgroupPinned,
  BpfObject,
  type CgroupHook,
  currentNetnsCookie,
  detachCgroupPinned,
  linkIterator,
  unifiedCgroupRoot,
} from '../bpf/index.js';
import { ConfigError } from './config-values.js';

export const SOCK_HOOKS: Readonly<Record<CgroupHook, string>> = {
  connect4: 'sock_connect4',
  sendmsg4: 'sock_sendmsg4',
  recvmsg4: 'sock_recvmsg4',
  getpeername4: 'sock_getpeername4',
  connect6: 'sock_connect6',
  sendmsg6: 'sock_sendmsg6',
  recvmsg6: 'sock_recvmsg6',
  getpeername6: 'sock_getpeername6',
};

/** The compiled socket-LB object: sock.o beside the tc object. */
export function sockObjectPath(bpfObject: string): string {
  return bpfObject.replace(/[^/]*$/, 'sock.o');
}

/**
 * sock.o's own pins the agent replaces at start when their key or value size is not the object's
 * (BpfObject.open's replaceStalePins), as NODE_SETTINGS_MAPS for the tc object: libbpf cannot reuse
 * such a pin, and without this an upgraded agent would not load. sock_netns: an agent before IPv6
 * socket LB pinned it with 8-byte values (no addr6). Dropping it loses nothing: every entry is the
 * agent's to write again (the node's in startSocketLb, its pods' in startPodSocketLb), and the
 * programs attached until their links are updated keep the old map, so the hooks never stop.
 * Each is marked replace-stale-pin in test/golden/pinned-maps.txt, which the pin-shape guard checks.
 */
export const SOCK_STALE_PINS = ['sock_netns'] as const;

export const sockLinkPin = (pinDir: string, hook: CgroupHook) => `${pinDir}/sock_link_${hook}`;

export interface SocketLbOptions {
  pinDir: string;
  bpfObject: string;
  cgroupRoot?: string;
  /** The tc object's run-time map sizes: a shared pin must be opened with its own size. */
  maxEntries: Readonly<Record<string, number>>;
  log: Logger;
}

/** Registers this namespace and attaches (or updates) the eight hooks (IPv4 and IPv6). */
export function startSocketLb(opts: SocketLbOptions): void {
  const cgroup = opts.cgroupRoot ?? unifiedCgroupRoot();
  if (!cgroup) throw new ConfigError('--socket-lb: no cgroup2 mount in /proc/mounts; give --cgroup-root');
  if (!existsSync(cgroup)) throw new ConfigError(`--cgroup-root "${cgroup}": no such directory`);
  const obj = BpfObject.open(sockObjectPath(opts.bpfObject), {
    pinDir: opts.pinDir,
    maxEntries: opts.maxEntries,
    replaceStalePins: SOCK_STALE_PINS,
  });
  try {
    if (obj.replacedPins.length)
      opts.log.info({ maps: obj.replacedPins }, 'socket LB: pinned maps of an older layout replaced');
    const cookie = currentNetnsCookie();
    // 0.0.0.0 and ::, the node is one ClientIP-affinity client per family unless a socket is bound.
    obj.map('sock_netns', u64, sockNetns).set(cookie, { addr: '0.0.0.0', flags: SOCK_NS_HOST, addr6: '::' });
    const done: Record<string, string> = {};
    for (const [hook, prog] of Object.entries(SOCK_HOOKS) as Array<[CgroupHook, string]>) {
      done[hook] = attachCgroupPinned(cgroup, hook, obj.program(prog), sockLinkPin(opts.pinDir, hook));
    }
    opts.log.info({ cgroup, netnsCookie: String(cookie), links: done }, 'socket LB attached');
  } finally {
    obj.close(); // the pinned links hold the programs, the pins hold the maps
  }
}

/** `agent --cleanup`: detaches the socket-LB links. Returns the hooks that had one. */
export function cleanupSocketLb(pinDir: string): CgroupHook[] {
  return (Object.keys(SOCK_HOOKS) as CgroupHook[]).filter((h) => detachCgroupPinned(sockLinkPin(pinDir, h)));
}

/** The sock_destroy object, beside the tc object. */
export const sockDestroyObjectPath = (bpfObject: string) => bpfObject.replace(/[^/]*$/, 'sock_destroy.o');

/**
 * Destroys the UDP sockets (IPv4 and IPv6) socket LB connected to one of `removed` (backends just
 * deleted), so their owners connect again and get a live backend. An iter/udp walks only the
 * namespace it is opened in, the calling thread's: the node's, the only one whose connected UDP
 * sockets socket LB translates (a pod's stay on the tc path: bpf/sock.c, sy_sock_tc_serves).
 * Needs Linux ≥ 6.5 (the bpf_sock_destroy kfunc): on an older kernel the object does not load,
 * and this logs a warning naming the requirement and returns false; such sockets then keep their
 * backend until the client reconnects.
 */
export function destroyUdpSocketsTo(
  opts: SocketLbOptions,
  removed: ReadonlyArray<{ addr: string; port: number }>,
): boolean {
  if (removed.length === 0) return true;
  let obj: BpfObject;
  try {
    // Only the sock_* maps, none of them sized by flags: passing the tc sizes would name maps
    // this object does not have (and be mistaken below for a kernel without bpf_sock_destroy).
    obj = BpfObject.open(sockDestroyObjectPath(opts.bpfObject), { pinDir: opts.pinDir });
  } catch (err) {
    opts.log.warn(
      { err: (err as Error).message },
      'cannot destroy connected UDP sockets of removed backends: needs Linux >= 6.5 (bpf_sock_destroy); they keep their backend until the client reconnects',
    );
    return false;
  }
  try {
    const targets = obj.map('sock_destroy_to', sockTarget, u8);
    const targets6 = obj.map('sock_destroy_to6', sockTarget6, u8);
    const entries = (v6: boolean) =>
      removed.filter((b) => b.addr.includes(':') === v6).map((b) => [{ addr: b.addr, port: b.port }, 1] as const);
    targets.setMany(entries(false));
    targets6.setMany(entries(true));
    try {
      const iter = linkIterator(obj.program('sock_destroy_udp'));
      try {
        iter.run();
      } finally {
        iter.close();
      }
    } finally {
      targets.clear();
      targets6.clear();
    }
    return true;
  } finally {
    obj.close();
  }
}
