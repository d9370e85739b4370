// tc programs through tcx (Linux ≥ 6.6): a bpf_link on the interface's BPF_TCX_INGRESS/EGRESS hook,
// without the clsact qdisc and the cls_bpf classifier around each run. That layer cost ~100-250 ns
// a datagram across a pod veth's two hooks, as much as the programs themselves (bench/tc-hooks.mjs).
//
// The link is pinned, as the socket-LB links are (cgroup.ts), and for the same reasons: a restarted
// agent finds it at the pin and swaps its program in place (bpf_link_update), so the hook is never
// empty and never holds two copies; and it needs no CAP_SYS_ADMIN (finding a program by id would).
// The pin is what holds the attachment: removing it detaches the program. When the interface goes,
// the kernel detaches the link and only its pin is left (forgetTcLink). Kernels without tcx get the
// clsact filter (attach.ts), which the interface holds by itself.
import { existsSync, unlinkSync } from 'node:fs';
import { attachTc, detachTc, ifindexOf, queryTc, type TcDirection } from './attach.js';
import { BpfError, EINVAL, ENOENT } from './errors.js';
import * as ffi from './ffi.js';
import { detachPinnedLink, pinLink, updatePinnedLink } from './link-pin.js';
import type { BpfProgram } from './object.js';

const TCX_ATTACH = { ingress: 46, egress: 47 } as const; // BPF_TCX_INGRESS, BPF_TCX_EGRESS
/** More than any agent attaches; a longer list (someone else's programs) is read to here. */
const MAX_PROGS = 64;

export type TcMode = 'tcx' | 'clsact';

export interface TcProgram {
  progId: number;
  /** '' when it cannot be read (no CAP_SYS_ADMIN, or the program just went). */
  name: string;
  mode: TcMode;
}

/** The name of program `id`, or '' when it cannot be read. */
function programName(id: number): string {
  const fd = ffi.progGetFdById(id);
  if (fd < 0) return '';
  try {
    const info = Buffer.alloc(80); // struct bpf_prog_info up to name[16] at offset 64
    const len = Buffer.alloc(4);
    len.writeUInt32LE(info.length, 0);
    if (ffi.objGetInfoByFd(fd, info, len) < 0) return '';
    const name = info.subarray(64, 80);
    const end = name.indexOf(0);
    return name.subarray(0, end < 0 ? 16 : end).toString('latin1');
  } finally {
    ffi.closeFd(fd);
  }
}

/** The programs on the interface's tcx hook, in run order; undefined when the kernel has no tcx. */
export function listTcx(ifname: string, direction: TcDirection): TcProgram[] | undefined {
  const flags = Buffer.alloc(4);
  const ids = Buffer.alloc(4 * MAX_PROGS);
  const count = Buffer.alloc(4);
  count.writeUInt32LE(MAX_PROGS, 0);
  const r = ffi.progQuery(ifindexOf(ifname), TCX_ATTACH[direction], flags, ids, count);
  if (r === -EINVAL) return undefined;
  if (r < 0 && r !== -ENOENT) throw new BpfError('bpf_prog_query', `interface '${ifname}' tcx ${direction}`, r);
  const n = r < 0 ? 0 : Math.min(count.readUInt32LE(0), MAX_PROGS);
  return Array.from({ length: n }, (_, i) => {
    const progId = ids.readUInt32LE(4 * i);
    return { progId, name: programName(progId), mode: 'tcx' as const };
  });
}

/**
 * Puts `prog` on the interface's hook, one copy of it there afterwards:
 * - tcx: through the link pinned at `linkPin` (updated in place when it exists and its interface
 *   is still this one's, else created and pinned). A clsact filter an agent before tcx left at
 *   handle 1, priority 1 (the place that agent owned) is removed after: tcx runs first, and any
 *   verdict but TC_ACT_UNSPEC ends the hook there, so meanwhile nothing runs twice.
 * - clsact, on kernels without tcx (link creation answers EINVAL): the filter at handle 1,
 *   priority 1, replaced in place (attach.ts).
 */
export function attachTcHook(ifname: string, direction: TcDirection, prog: BpfProgram, linkPin: string): TcMode {
  if (updatePinnedLink(linkPin, prog) === 'updated') return 'tcx';
  const link = ffi.linkCreate(prog.fd, ifindexOf(ifname), TCX_ATTACH[direction]);
  if (link === -EINVAL) {
    attachTc(ifname, direction, prog);
    return 'clsact';
  }
  if (link < 0)
    throw new BpfError('bpf_link_create', `interface '${ifname}' tcx ${direction}, program '${prog.name}'`, link);
  pinLink(link, linkPin);
  if (queryTc(ifname, direction) !== undefined) detachTc(ifname, direction);
  return 'tcx';
}

/** Detaches the program linked at `linkPin` and removes the pin. False when there was no pin. */
export const detachTcHook = detachPinnedLink;

/** Removes the pin of a link whose interface is gone (the kernel detached it already). */
export function forgetTcLink(linkPin: string): void {
  if (existsSync(linkPin)) unlinkSync(linkPin);
}

/** Every BPF program on the interface's tc hook, tcx's first (they run first), then clsact's at
 *  handle 1, priority 1: what `diagnose` and the lab check. */
export function tcPrograms(ifname: string, direction: TcDirection): TcProgram[] {
  const out = [...(listTcx(ifname, direction) ?? [])];
  const legacy = queryTc(ifname, direction);
  if (legacy !== undefined) out.push({ progId: legacy, name: programName(legacy), mode: 'clsact' });
  return out;
}
