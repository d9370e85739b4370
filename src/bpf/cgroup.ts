// Attaching programs to a cgroup v2 with a pinned bpf_link (link-pin.ts says why pinned). Only an
// explicit detach (detachCgroupPinned) removes it; an agent that exits leaves the link, and its
// program, attached.
import { readFileSync } from 'node:fs';
import { BpfError } from './errors.js';
import { detachPinnedLink, pinLink, updatePinnedLink } from './link-pin.js';
import * as ffi from './ffi.js';
import type { BpfProgram } from './object.js';

/** The kernel's enum bpf_attach_type values for the socket-address hooks used here. */
export const CGROUP_ATTACH = {
  connect4: 10,
  connect6: 11,
  sendmsg4: 14,
  sendmsg6: 15,
  recvmsg4: 19,
  recvmsg6: 20,
  getpeername4: 29,
  getpeername6: 30,
} as const;
export type CgroupHook = keyof typeof CGROUP_ATTACH;

const O_RDONLY_DIRECTORY = 0o200000;

/** The unified (cgroup v2) hierarchy's mount point, from /proc/mounts; undefined if none. */
export function unifiedCgroupRoot(mounts = readFileSync('/proc/mounts', 'utf8')): string | undefined {
  for (const line of mounts.split('\n')) {
    const [, dir, fstype] = line.split(' ');
    if (fstype === 'cgroup2' && dir) return dir.replace(/\\040/g, ' ');
  }
  return undefined;
}

/**
 * Attaches `prog` at `hook` of the cgroup at `cgroupPath` through the link pinned at `linkPin`:
 * updates that link's program when the pin exists, else creates and pins a new link.
 */
export function attachCgroupPinned(
  cgroupPath: string,
  hook: CgroupHook,
  prog: BpfProgram,
  linkPin: string,
): 'updated' | 'created' {
  if (updatePinnedLink(linkPin, prog) === 'updated') return 'updated';
  const cg = ffi.openPath(cgroupPath, O_RDONLY_DIRECTORY);
  if (cg < 0) throw new BpfError('open', `cgroup '${cgroupPath}'`, cg);
  try {
    const link = ffi.linkCreate(prog.fd, cg, CGROUP_ATTACH[hook]);
    if (link < 0) throw new BpfError('bpf_link_create', `cgroup '${cgroupPath}' ${hook}, program '${prog.name}'`, link);
    pinLink(link, linkPin);
  } finally {
    ffi.closeFd(cg);
  }
  return 'created';
}

/** Detaches the link pinned at `linkPin` and removes the pin. False when there was no pin. */
export const detachCgroupPinned = detachPinnedLink;

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOL_SOCKET = 1;
const SO_NETNS_COOKIE = 71;

/** The calling thread's network namespace cookie (SO_NETNS_COOKIE, Linux ≥ 5.14): what
 *  bpf_get_netns_cookie() returns for sockets of that namespace. */
export function currentNetnsCookie(): bigint {
  const fd = ffi.socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw new BpfError('socket', 'SO_NETNS_COOKIE probe', fd);
  try {
    const val = Buffer.alloc(8);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(8);
    const r = ffi.getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, val, len);
    if (r < 0) throw new BpfError('getsockopt', 'SO_NETNS_COOKIE', r);
    return val.readBigUInt64LE(0);
  } finally {
    ffi.closeFd(fd);
  }
}
