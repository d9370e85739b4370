// Socket-level load balancing (--socket-lb): bpf/sock.o, opened on the same pinned maps as the tc
// object, attached to a cgroup v2 through links pinned in the pin directory. A restarted agent
// updates those links in place (never a window without the hook, never two copies); only
// `switchyard agent --cleanup` detaches them. Which sockets are served is the sock_netns map: the
// node's own namespace cookie, written here before the programs are attached, and with
// --socket-lb all its pods' (pod-sockets.ts).
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { SOCK_NS_HOST, sockNetns, sockTarget } from '../abi/sock.js';
import { u8, u64 } from '../abi/layouts.js';
import {
  attachCgroupPinned,
  BpfObject,
  type CgroupHook,
  currentNetnsCookie,
  detachCgroupPinned,
  inNetns,
  linkIterator,
  unifiedCgroupRoot,
} from '../bpf/index.js';
import { ConfigError } from './config-values.js';

export const SOCK_HOOKS: Readonly<Record<CgroupHook, string>> = {
  connect4: 'sock_connect4',
  sendmsg4: 'sock_sendmsg4',
  recvmsg4: 'sock_recvmsg4',
  getpeername4: 'sock_getpeername4',
};

/** The compiled socket-LB object: sock.o beside the tc object. */
export function sockObjectPath(bpfObject: string): string {
  return bpfObject.replace(/[^/]*$/, 'sock.o');
}

export const sockLinkPin = (pinDir: string, hook: CgroupHook) => `${pinDir}/sock_link_${hook}`;

export interface SocketLbOptions {
  pinDir: string;
  bpfObject: string;
  cgroupRoot?: string;
  /** The tc object's run-time map sizes: a shared pin must be opened with its own size. */
  maxEntries: Readonly<Record<string, number>>;
  log: Logger;
}

/** Registers this namespace and attaches (or updates) the four hooks. */
export function startSocketLb(opts: SocketLbOptions): void {
  const cgroup = opts.cgroupRoot ?? unifiedCgroupRoot();
  if (!cgroup) throw new ConfigError('--socket-lb: no cgroup2 mount in /proc/mounts; give --cgroup-root');
  if (!existsSync(cgroup)) throw new ConfigError(`--cgroup-root "${cgroup}": no such directory`);
  const obj = BpfObject.open(sockObjectPath(opts.bpfObject), { pinDir: opts.pinDir, maxEntries: opts.maxEntries });
  try {
    const cookie = currentNetnsCookie();
    // addr 0.0.0.0: the node is one ClientIP-affinity client unless a socket is bound.
    obj.map('sock_netns', u64, sockNetns).set(cookie, { addr: '0.0.0.0', flags: SOCK_NS_HOST });
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
 * Destroys the connected UDP sockets of the registered namespaces whose peer is one of `removed`
 * (backends just deleted), so their owners connect again and get a live backend: the calling
 * thread's namespace (the node's) and each of `podNetns` (names in /run/netns; --socket-lb all),
 * since an iter/udp walks only the namespace it is opened in. Needs Linux ≥ 6.5
 * (the bpf_sock_destroy kfunc): on an older kernel the object does not load, and this logs a
 * warning naming the requirement and returns false; such sockets then keep their backend until
 * the client reconnects.
 */
export function destroyUdpSocketsTo(
  opts: SocketLbOptions,
  removedAny: ReadonlyArray<{ addr: string; port: number }>,
  podNetns: readonly string[] = [],
): boolean {
  // Socket LB is IPv4 only (cgroup connect4 …): an IPv6 backend has no socket of ours to move.
  const removed = removedAny.filter((b) => !b.addr.includes(':'));
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
    targets.setMany(removed.map((b) => [{ addr: b.addr, port: b.port }, 1] as const));
    try {
      const iter = linkIterator(obj.program('sock_destroy_udp'));
      try {
        iter.run();
        for (const netns of podNetns) {
          try {
            inNetns(netns, () => iter.run());
          } catch (err) {
            // A pod going at this moment takes its sockets with it: nothing left to move.
            opts.log.debug({ netns, err: (err as Error).message }, 'pod namespace not walked for UDP sockets');
          }
        }
      } finally {
        iter.close();
      }
    } finally {
      targets.clear();
    }
    return true;
  } finally {
    obj.close();
  }
}
