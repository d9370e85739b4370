// Socket-level load balancing (--socket-lb): bpf/sock.o, opened on the same pinned maps as the tc
// object, attached to a cgroup v2 through links pinned in the pin directory. A restarted agent
// updates those links in place (never a window without the hook, never two copies); only
// `switchyard agent --cleanup` detaches them. Which sockets are served is the sock_netns map: the
// node's own namespace cookie, written here before the programs are attached.
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { SOCK_NS_HOST, sockNetns } from '../abi/sock.js';
import { u64 } from '../abi/layouts.js';
import {
  attachCgroupPinned,
  BpfObject,
  type CgroupHook,
  currentNetnsCookie,
  detachCgroupPinned,
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
