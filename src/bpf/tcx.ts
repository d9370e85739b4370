// tc programs through tcx (Linux ≥ 6.6): BPF_PROG_ATTACH with BPF_TCX_INGRESS/EGRESS on the
// interface, without the clsact qdisc and the cls_bpf classifier around each run. That layer cost
// ~100-150 ns a packet on a pod veth (both hooks), as much as the programs themselves (bench/README.md,
// "Pod socket LB"). Attachments stay when the agent exits and go with the interface, as a clsact
// filter's do; kernels without tcx get the clsact filter (attach.ts).
import { attachTc, detachTc, ifindexOf, queryTc, type TcDirection } from './attach.js';
import { BpfError, EINVAL, ENOENT } from './errors.js';
import * as ffi from './ffi.js';
import type { BpfProgram } from './object.js';

const TCX_ATTACH = { ingress: 46, egress: 47 } as const; // BPF_TCX_INGRESS, BPF_TCX_EGRESS
const BPF_F_REPLACE = 1 << 2;
/** More than any agent attaches; a longer list (someone else's programs) is read to here. */
const MAX_PROGS = 64;

export type TcMode = 'tcx' | 'clsact';

export interface TcProgram {
  progId: number;
  name: string;
  mode: TcMode;
}

/** The name of program `id`, or '' when it is gone. */
function programName(id: number): string {
  const fd = ffi.progGetFdById(id);
  if (fd < 0) return '';
  try {
    const info = Buffer.alloc(80); // struct bpf_prog_info up to name[16] at offset 64
    const len = Buffer.alloc(4);
    len.writeUInt32LE(info.length, 0);
    if (ffi.objGetInfoByFd(fd, info, len) < 0) return '';
    const name = info.subarray(64, 80);
    return name.subarray(0, name.indexOf(0) < 0 ? 16 : name.indexOf(0)).toString('latin1');
  } finally {
    ffi.closeFd(fd);
  }
}

/** The programs on the interface's tcx hook, in run order; undefined when the kernel has no tcx. */
export function listTcx(ifname: string, direction: TcDirection): TcProgram[] | undefined {
  const ifindex = ifindexOf(ifname);
  const flags = Buffer.alloc(4);
  const ids = Buffer.alloc(4 * MAX_PROGS);
  const count = Buffer.alloc(4);
  count.writeUInt32LE(MAX_PROGS, 0);
  const r = ffi.progQuery(ifindex, TCX_ATTACH[direction], flags, ids, count);
  if (r === -EINVAL) return undefined;
  if (r < 0 && r !== -ENOENT) throw new BpfError('bpf_prog_query', `interface '${ifname}' tcx ${direction}`, r);
  const n = r < 0 ? 0 : Math.min(count.readUInt32LE(0), MAX_PROGS);
  return Array.from({ length: n }, (_, i) => {
    const progId = ids.readUInt32LE(4 * i);
    return { progId, name: programName(progId), mode: 'tcx' as const };
  });
}

/** Removes program `progId` from the interface's tcx hook; false when it was not there. */
export function detachTcx(ifname: string, direction: TcDirection, progId: number): boolean {
  const fd = ffi.progGetFdById(progId);
  if (fd < 0) return false;
  try {
    const r = ffi.progDetach2(fd, ifindexOf(ifname), TCX_ATTACH[direction]);
    if (r === -ENOENT) return false;
    if (r < 0) throw new BpfError('bpf_prog_detach', `interface '${ifname}' tcx ${direction}, program ${progId}`, r);
    return true;
  } finally {
    ffi.closeFd(fd);
  }
}

/**
 * Puts `prog` on the hook, one program of its name there afterwards:
 * - tcx: a program of the same name already on the hook (a restarted agent's) is replaced in one
 *   BPF_F_REPLACE, so no packet passes unhooked and none is seen twice; else `prog` is appended.
 *   A clsact filter an agent before tcx left (handle 1, priority 1, same name) is removed after:
 *   tcx runs first, and a verdict other than TC_ACT_UNSPEC ends the hook there, so meanwhile
 *   nothing runs twice.
 * - clsact, on kernels without tcx (bpf_prog_query answers EINVAL): the filter at handle 1,
 *   priority 1, replaced in place (attach.ts).
 */
export function attachTcHook(ifname: string, direction: TcDirection, prog: BpfProgram): TcMode {
  const present = listTcx(ifname, direction);
  if (present === undefined) {
    attachTc(ifname, direction, prog);
    return 'clsact';
  }
  const what = `interface '${ifname}' tcx ${direction}, program '${prog.name}'`;
  const mine = present.filter((p) => p.name === prog.name);
  const opts = Buffer.alloc(16); // sz, flags, replace_prog_fd
  opts.writeBigUInt64LE(16n, 0);
  const oldFd = mine.length ? ffi.progGetFdById(mine[0].progId) : -ENOENT;
  try {
    if (oldFd >= 0) {
      opts.writeUInt32LE(BPF_F_REPLACE, 8);
      opts.writeInt32LE(oldFd, 12);
    }
    const r = ffi.progAttachOpts(prog.fd, ifindexOf(ifname), TCX_ATTACH[direction], opts);
    if (r < 0) throw new BpfError('bpf_prog_attach', what, r);
  } finally {
    if (oldFd >= 0) ffi.closeFd(oldFd);
  }
  for (const extra of mine.slice(oldFd >= 0 ? 1 : 0)) detachTcx(ifname, direction, extra.progId);
  const legacy = queryTc(ifname, direction);
  if (legacy !== undefined && programName(legacy) === prog.name) detachTc(ifname, direction);
  return 'tcx';
}

/** Every BPF program on the interface's tc hook, tcx's first (they run first), then clsact's at
 *  handle 1, priority 1: what `diagnose` and the lab check. */
export function tcPrograms(ifname: string, direction: TcDirection): TcProgram[] {
  const out = [...(listTcx(ifname, direction) ?? [])];
  const legacy = queryTc(ifname, direction);
  if (legacy !== undefined) out.push({ progId: legacy, name: programName(legacy), mode: 'clsact' });
  return out;
}
